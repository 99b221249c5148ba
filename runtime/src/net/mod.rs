//! Networking: TCP, UDP and Unix-domain sockets on the processors' pollers.
//!
//! ## How a socket operation runs: readiness → operation → clear
//!
//! Every socket is a nonblocking `mio` socket registered, edge-triggered, with one
//! processor's poller, and it stays there for its whole life. A socket a task creates
//! (`bind`, `connect`) goes to the poller of the processor that created it
//! (`goro_sched::io::current_poller`; from `block_on` or a blocking thread, one picked
//! round-robin); an accepted one goes to the poller with the fewest registrations
//! (`goro_sched::io::least_loaded_poller`), so connections spread over the processors
//! although one task accepts them all. The task serving a connection runs where its
//! socket's events are dispatched, on its first wake at the latest. An operation
//! (`read`, `write`, `accept`, `recv_from`, ...) polled by a task:
//!
//! 1. takes one unit of the task's cooperative budget (`goro_sched::coop::poll_proceed`);
//!    with the budget gone it returns `Pending` after waking the task, which goes to the back
//!    of the run queue, so a socket that is always ready cannot starve the processor;
//! 2. asks the registration for readiness in its direction ([`Registration::poll_ready`]:
//!    reads, accepts and receives wait for *read* readiness; writes, connects and sends for
//!    *write* readiness; each direction has its own waker slot, so a reader and a writer in
//!    two tasks never steal each other's wake-ups). Not ready: the task's waker is stored and
//!    the operation returns `Pending`; whoever polls the poller (the owning processor, an idle
//!    one stealing the poll, or the monitor) dispatches the event and wakes the task;
//! 3. runs the system call. `WouldBlock` means the readiness it acted on is used up: it
//!    clears exactly that readiness (the event's tick; newer readiness that arrived in the
//!    meantime survives) and goes back to 2. Any other result completes the operation and
//!    keeps the budget unit spent. A short stream read or write also clears the readiness
//!    (the kernel buffer was drained or filled, so the next call would only say
//!    `WouldBlock`), except when the event also reported a hang-up or an error, which must
//!    stay visible to the next call.
//!
//! Dropping a socket deregisters it from its poller before its file descriptor closes. When
//! the runtime shuts down, every pending operation fails with an error ("goro runtime is
//! shutting down") instead of hanging, and new sockets cannot be registered.
//!
//! ## Addresses
//!
//! Constructors take any [`ToSocketAddrs`]: socket addresses, `(ip, port)` pairs, and
//! strings like `"127.0.0.1:8080"` or `"localhost:8080"`. Literal addresses are parsed on
//! the spot; host names are resolved on the blocking pool, so DNS never stalls a processor.
//! Like std, a constructor tries each resolved address in turn and returns the last error if
//! none works.
//!
//! ## Needing a runtime
//!
//! Sockets register with a processor's poller, so they need a goro runtime: the `async`
//! constructors (`TcpListener::bind`, `TcpStream::connect`, `UdpSocket::bind`,
//! `UnixStream::connect`) panic when first polled outside one, the synchronous ones
//! (`from_std`, `UnixListener::bind`) when called outside one. `rt.block_on(TcpStream::connect(addr))`
//! works: the future is polled inside the runtime.
//!
//! ```
//! use goro::net::{TcpListener, TcpStream};
//!
//! # goro::Runtime::new().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = goro::spawn(async move {
//!     let (mut conn, _peer) = listener.accept().await?;
//!     let mut buf = [0; 5];
//!     conn.read_exact(&mut buf).await?;
//!     conn.write_all(&buf).await?;
//!     Ok::<_, std::io::Error>(())
//! });
//! let mut client = TcpStream::connect(addr).await?;
//! client.write_all(b"hello").await?;
//! let mut echo = [0; 5];
//! client.read_exact(&mut echo).await?;
//! assert_eq!(&echo, b"hello");
//! server.await.unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! [`Registration::poll_ready`]: goro_netpoll::Registration::poll_ready

mod accept;
mod addr;
pub(crate) mod source;
mod split;
pub mod tcp;
pub(crate) mod trace;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use addr::ToSocketAddrs;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

use goro_netpoll::Poller;
use std::sync::Arc;

const NO_RUNTIME: &str = "goro sockets need a runtime: create, bind and connect sockets \
     (`TcpListener`, `TcpStream`, `UdpSocket`, `UnixListener`, `UnixStream`) inside a goro \
     task, `Runtime::block_on`, or a goro blocking thread";

/// The poller a socket created here registers with.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub(crate) fn current_poller() -> Arc<Poller> {
    match goro_sched::io::current_poller() {
        Some(poller) => poller,
        None => panic!("{NO_RUNTIME}"),
    }
}
