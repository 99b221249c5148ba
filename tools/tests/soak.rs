//! A short soak at 2 processors: every task accounted for, goro's stats agree. (CI runs
//! `goro-soak` for 60 s at 1 and 2 processors; this keeps the soak itself from rotting.)

use goro_tools::soak::{self, ledger::Kind, Config};

#[test]
fn a_three_second_soak_balances_its_books() {
    let report = soak::run(Config {
        seconds: 3,
        processors: 2,
    })
    .unwrap();
    assert!(report.problems.is_empty(), "{report}");
    for (kind, counts) in &report.counts {
        assert!(counts.started > 0, "no {kind:?} task ran: {report}");
    }
    let churn = report
        .counts
        .iter()
        .find(|(k, _)| *k == Kind::Churn)
        .unwrap()
        .1;
    assert!(churn.completed >= 1000, "{report}");
    assert_eq!(report.goro_tasks.2, 0, "{report}");
}
