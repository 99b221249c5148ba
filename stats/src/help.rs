//! What each reported number means, in one place: [`help!`] expands to the sentence that is
//! both the doc of the report field (`#[doc = help!(uptime)]` in `report.rs`) and the
//! `# HELP` text of its Prometheus metric (`prometheus.rs`), so the two cannot drift apart.
//! (Scheduler counters carry their help in `counters.rs`, next to their names.)

/// The description of a reported number, as a string literal; see the module docs.
macro_rules! help {
    (uptime) => {
        "Time since the runtime started."
    };
    (processors) => {
        "Processors (P)."
    };
    (idle_processors) => {
        "Processors parked (in their poller, the poller watch, or their sleeper)."
    };
    (spinning) => {
        "Processors searching for work."
    };
    (threads) => {
        "Machine threads (running a processor or parked spare)."
    };
    (idle_threads) => {
        "Spare machine threads parked for reuse."
    };
    (injector) => {
        "Tasks in the global injector queue."
    };
    (stats_enabled) => {
        "Whether timing and histograms are on (Builder::stats)."
    };
    (runqueue) => {
        "Tasks in a processor's local run queue and runnext slot."
    };
    (live) => {
        "Tasks alive now (spawned, not complete)."
    };
    (spawned) => {
        "Tasks spawned."
    };
    (completed) => {
        "Tasks completed."
    };
    (orphaned) => {
        "Tasks found orphaned: idle while no waker for them exists."
    };
    (reclaimed) => {
        "Orphaned tasks cancelled by reclaim_orphans."
    };
    (deadlocked) => {
        "Tasks found deadlocked: in a cycle of tasks that each hold a lock the next waits on \
         (each counted once, in the deadlock that closed on it)."
    };
    (poll_duration) => {
        "How long one poll of a task ran (sampled)."
    };
    (scheduling_latency) => {
        "From a wake to the start of the poll it caused (sampled)."
    };
    (netpoll_block) => {
        "How long a processor blocked when it parked (in its poller, the poller watch, or its \
         sleeper)."
    };
    (task_lifetime) => {
        "From spawn to completion (sampled)."
    };
    (num_cycles) => {
        "Stats cycles run."
    };
    (pause_total) => {
        "Sum of every stats cycle's pause: the longest time a processor had runnable work and \
         did not start a poll."
    };
    (stall_alarms) => {
        "Times the stall alarm fired: the p95 pause of the recent cycles exceeded the running \
         baseline times the alarm factor."
    };
    (pause_baseline) => {
        "The baseline pause the stall alarm compares against."
    };
    (recent_pauses) => {
        "Pauses of the recent stats cycles, newest first (at most 256)."
    };
    (site_live) => {
        "Live tasks spawned at a source location."
    };
    (site_spawned) => {
        "Tasks spawned at a source location."
    };
    (site_completed) => {
        "Tasks spawned at a source location that completed."
    };
}
