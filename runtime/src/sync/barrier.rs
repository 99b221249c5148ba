//! [`Barrier`]: tokio's barrier, with the wait named `Barrier::wait`.

use super::leaf::{leaf, Leaf};
use goro_stats::WaitOp;
use std::future::Future;

pub use tokio::sync::BarrierWaitResult;

/// Lets `n` tasks wait until all of them have arrived (tokio's `Barrier`).
///
/// ```
/// use goro::sync::Barrier;
/// use std::sync::Arc;
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let barrier = Arc::new(Barrier::new(3));
/// let tasks: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         goro::spawn(async move { b.wait().await.is_leader() })
///     })
///     .collect();
/// let mut leaders = 0;
/// for t in tasks {
///     leaders += t.await.unwrap() as u32;
/// }
/// assert_eq!(leaders, 1);
/// # });
/// ```
#[derive(Debug)]
pub struct Barrier {
    inner: tokio::sync::Barrier,
}

impl Barrier {
    /// A barrier for `n` tasks (`n == 0` acts like 1).
    pub fn new(n: usize) -> Barrier {
        Barrier {
            inner: tokio::sync::Barrier::new(n),
        }
    }

    /// Waits (as `Barrier::wait`) until `n` tasks wait; one of them is the leader.
    #[track_caller]
    pub fn wait(&self) -> Leaf<impl Future<Output = BarrierWaitResult> + '_> {
        leaf(WaitOp::BarrierWait, self.inner.wait())
    }
}
