//! # goro-netpoll: one poller per processor
//!
//! Go and tokio share one epoll instance among all worker threads. goro gives every processor
//! (P) its own [`Poller`], a `mio::Poll` plus a `mio::Waker`:
//!
//! * **Parking is polling.** An idle P blocks in its own poller (`epoll_wait`) with a timeout
//!   equal to its next timer. Another thread that has work for it calls [`Poller::wake`], which
//!   writes the poller's eventfd. So one blocking call waits for I/O, timers and new tasks at
//!   once, and there is no second sleeping primitive to keep in sync.
//! * **Locality.** A socket stays registered with the P that created it and its readiness is
//!   delivered by whoever polls that P's poller. With one P every event, wake and poll happen
//!   on one core.
//! * **Ownership.** The `mio::Poll` sits behind a mutex that only the owning P normally takes,
//!   so the lock is uncontended; an idle P may `try_lock` a busy P's poller to poll it on its
//!   behalf ("poll stealing"), and the monitor polls pollers nobody polled for a while.
//!
//! This crate knows nothing about tasks: it stores and calls plain `std::task::Waker`s.

mod poller;

pub use poller::{Poller, WaitOutcome};
