//! The loom models; see the crate docs.

mod idle;
mod lock_owner;
mod ownership;
mod park;
mod poller;
mod probe;
mod raw_mutex;
mod readiness;
mod runnext;
mod task_state;
mod timer;

/// Runs `f` under loom with the given preemption bound, set here so that no environment
/// variable is needed (a `LOOM_MAX_PREEMPTIONS` in the environment is overridden).
pub(crate) fn check<F>(preemption_bound: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    builder.check(f);
}
