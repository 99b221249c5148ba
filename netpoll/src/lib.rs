//! # goro-netpoll: one poller per processor
//!
//! Go and tokio share one epoll instance among all worker threads. goro gives every processor
//! (P) its own [`Poller`], a `mio::Poll` plus a `mio::Waker`:
//!
//! * **Parking is polling.** A lone idle P blocks in its own poller (`epoll_wait`) with a
//!   timeout equal to its next timer. Another thread that has work for it calls
//!   [`Poller::wake`], which writes the poller's eventfd. So one blocking call waits for I/O,
//!   timers and new tasks at once.
//! * **One waiter for many pollers.** With several P, a [`PollerWatch`] nests every P's
//!   poller in one epoll set; one idle P at a time blocks there and polls the pollers it
//!   reports, so a burst of I/O wakes one thread, not one per poller (see `watch.rs`).
//! * **Locality.** A socket stays registered with one P's poller for its life (the P that
//!   created it, or for an accepted connection the P with the fewest registrations; the
//!   scheduler picks, see `goro_sched::io`), and its readiness is delivered by whoever polls
//!   that P's poller. With one P every event, wake and poll happen on one core.
//! * **Ownership.** The `mio::Poll` sits behind a mutex that only the owning P normally takes,
//!   so the lock is uncontended; an idle P may `try_lock` a busy P's poller to poll it on its
//!   behalf ("poll stealing", what the P in the watch does), and the monitor polls pollers
//!   nobody polled for a while.
//!
//! This crate knows nothing about tasks: it stores and calls plain `std::task::Waker`s.
//!
//! ## Readiness
//!
//! A source is registered on one poller with [`Registration::new`] (any thread). Its
//! readiness is one atomic word, readiness bits plus a tick that counts dispatches, and one
//! read and one write waker slot ([`Readiness`], see `readiness.rs`). Registration is
//! edge-triggered and no wake-up is lost when readiness races a task that is about to wait;
//! a task that saw `WouldBlock` clears only the readiness of the tick it acted on, never newer
//! readiness. Whoever polls a poller ([`Poller::wait`], or [`Poller::try_poll_now`] when
//! stealing a poll) dispatches its events and so runs the wakers: the woken task lands on the
//! polling processor. [`Poller::shutdown_all`] wakes every waiter at runtime shutdown.
//!
//! ```
//! use goro_netpoll::{Direction, Readiness, Ready};
//!
//! let r = Readiness::new();
//! r.dispatch(Ready::READABLE | Ready::WRITABLE); // what the poller does for an event
//! let seen = r.current(Direction::Read);
//! assert_eq!(seen.ready(), Ready::READABLE);
//! r.dispatch(Ready::READABLE); // newer readiness: tick + 1
//! r.clear_readiness(seen); // stale: clears nothing
//! assert!(r.current(Direction::Read).ready().is_readable());
//! assert!(r.current(Direction::Write).ready().is_writable());
//! ```
//!
//! `readiness.rs` takes its atomics and lock from the private `sync` module, so a loom model
//! can compile it unchanged. The crate has no `unsafe` code.

#![forbid(unsafe_code)]

mod poller;
mod readiness;
mod registration;
mod sync;
mod watch;

#[cfg(test)]
mod readiness_tests;
#[cfg(test)]
mod test_util;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_tests;

pub use poller::{Poller, WaitOutcome};
pub use readiness::{Direction, Readiness, Ready, ReadyEvent};
pub use registration::Registration;
pub use watch::{PollerWatch, WatchGuard};
