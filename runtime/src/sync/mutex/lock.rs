//! The future of `Mutex::lock`: a goro leaf future over [`RawMutex`].
//!
//! Each poll first takes a unit of the cooperative budget. The first poll tries the lock
//! without waiting; if it is taken, the task queues ([`RawMutex::lock_or_queue`]) and, on
//! that first `Pending`:
//!
//! * lists its wait-for [`Edge`](super::super::edge::Edge) for the deadlock walk (in the
//!   edge map only, without the lock's side mutex: `track.rs` tells why a `Mutex` needs no
//!   more), which wakes nothing: the queue has the task's own waker;
//! * names the task's suspension point (`Mutex::lock` at the caller's line), which makes
//!   the scheduler call the deadlock walk once the task is idle.
//!
//! Later polls ask the queue whether the task holds the lock now
//! ([`RawMutex::poll_wait`]), telling it whether this wait has passed [`STARVATION`]. Once
//! it holds the lock, the edge is unlisted *before* the owner is recorded (a walk that
//! reads the lock in between finds no owner, which keeps no one waiting). Dropping a
//! waiting lock future leaves the queue (passing on a wake or a grant it had received) and
//! unlists its edge.

use super::super::edge::{Edge, EdgeId};
use super::super::track::{current_task, Track, Want};
use super::raw::{Arrival, RawMutex, Ticket, WaitPoll};
use goro_sched::{coop, task::note_suspension};
use goro_stats::{Site, WaitOp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

/// A waiter that has waited this long and loses the lock again switches the mutex to
/// starvation mode (`raw.rs`); Go's `starvationThresholdNs`.
pub(crate) const STARVATION: Duration = Duration::from_millis(1);

/// Where a lock future is.
enum Stage {
    /// Not polled yet.
    New,
    /// Queued since `since`, listed as `edge`.
    Queued {
        ticket: Ticket,
        since: Instant,
        edge: EdgeId,
    },
    /// Returned `Ready`.
    Done,
}

/// Locks `raw` (tracked by `track`) for the task that polls it; see the module docs.
pub(crate) struct Lock<'a> {
    raw: &'a RawMutex,
    track: &'a Arc<Track>,
    at: Site,
    stage: Stage,
}

impl<'a> Lock<'a> {
    pub(crate) fn new(raw: &'a RawMutex, track: &'a Arc<Track>, at: Site) -> Lock<'a> {
        Lock {
            raw,
            track,
            at,
            stage: Stage::New,
        }
    }

    /// The lock is this task's: unlist the edge (if any), then record the owner.
    fn locked(&mut self, edge: Option<EdgeId>) {
        if let Some(edge) = edge {
            self.track.unregister(None, edge);
        }
        self.track.set_owner(current_task(), self.at);
        self.stage = Stage::Done;
    }

    fn pending(&self) -> Poll<()> {
        note_suspension(WaitOp::MutexLock, self.at);
        Poll::Pending
    }
}

impl Future for Lock<'_> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let spent = ready!(coop::poll_proceed(cx));
        match this.stage {
            Stage::New => {
                if this.raw.try_lock() {
                    this.locked(None);
                } else {
                    match this.raw.lock_or_queue(cx.waker()) {
                        Arrival::Locked => this.locked(None),
                        Arrival::Queued(ticket) => {
                            let edge = Edge::new(
                                None,
                                this.track,
                                Want::Exclusive(1),
                                WaitOp::MutexLock,
                                this.at,
                            );
                            this.stage = Stage::Queued {
                                ticket,
                                since: Instant::now(),
                                edge: this.track.register(None, None, edge),
                            };
                            return this.pending();
                        }
                    }
                }
            }
            Stage::Queued {
                ticket,
                since,
                edge,
            } => {
                let starving = since.elapsed() > STARVATION;
                match this.raw.poll_wait(ticket, cx.waker(), starving) {
                    WaitPoll::Locked => this.locked(Some(edge)),
                    WaitPoll::Waiting => return this.pending(),
                }
            }
            Stage::Done => panic!("goro::sync: a Mutex::lock future polled after it completed"),
        }
        spent.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if let Stage::Queued { ticket, edge, .. } = self.stage {
            self.track.unregister(None, edge);
            self.raw.cancel(ticket);
        }
    }
}
