//! Firing timers: a processor's own, before each task, and other processors' overdue ones
//! when it searches for work (their owners are busy or stuck in a poll).

use super::Processor;
use crate::time::clock;

impl Processor {
    /// Fires this processor's due timers. Costs two relaxed loads (the earliest deadline
    /// and the coarse clock) unless the earliest timer is within
    /// [`clock::COARSE_HORIZON`] of the coarse clock; only then is the real clock read.
    #[inline]
    pub(crate) fn fire_timers(&self) {
        let timers = &self.proc_shared().timers;
        if let Some(now) = clock::now_if_due(timers.next_deadline()) {
            timers.fire_due(now);
        }
    }

    /// Fires other processors' overdue timers (their owners are busy or stuck). The woken
    /// tasks land here. Returns how many fired. Like [`Processor::fire_timers`], reads the
    /// clock only for a processor whose earliest timer is near.
    pub(super) fn steal_timers(&self) -> usize {
        let mut fired = 0;
        for (i, p) in self.shared().procs.iter().enumerate() {
            if i == self.index {
                continue;
            }
            if let Some(now) = clock::now_if_due(p.timers.next_deadline()) {
                fired += p.timers.try_fire_due(now);
            }
        }
        fired
    }
}
