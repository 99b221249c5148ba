//! What a task waits on: the goro leaf future that last returned `Pending`.
//!
//! Every awaitable goro constructor (`sleep`, `TcpStream::read`, `JoinHandle`, ...) is
//! `#[track_caller]` and tags its future with a [`WaitOp`]. When that future returns
//! `Pending`, the scheduler stores the caller's location and the op in the task's record: the
//! task's *suspension point*. The op's [`WaitKind`] is what the leak detector needs to know:
//! a task parked on a timer or a socket can still be woken by the outside world, a task
//! parked on anything in-process (a channel, a lock, another task) only by this program.

use serde::Serialize;

/// Who can wake a task suspended on an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// A goro timer: it fires by itself.
    Timer,
    /// A goro socket: the peer or the network can wake it.
    Socket,
    /// Something in this process (a `JoinHandle`, a yield, a channel or lock that is not
    /// goro's): only this program can wake it.
    InProcess,
}

macro_rules! wait_ops {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $kind:ident;)*) => {
        /// A goro leaf future that can suspend a task (ordered as declared).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[repr(u8)]
        pub enum WaitOp {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl WaitOp {
            const ALL: &'static [WaitOp] = &[$(WaitOp::$variant,)*];

            /// The op as users write it, e.g. `"TcpStream::read"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(WaitOp::$variant => $name,)*
                }
            }

            /// Who can wake a task suspended on this op.
            pub fn kind(self) -> WaitKind {
                match self {
                    $(WaitOp::$variant => WaitKind::$kind,)*
                }
            }
        }
    };
}

wait_ops! {
    /// `time::sleep`, `time::sleep_until`.
    Sleep = "sleep", Timer;
    /// The timer of `time::timeout` (the inner future did not suspend on a goro op).
    Timeout = "timeout", Timer;
    /// `Interval::tick`.
    Interval = "Interval::tick", Timer;
    /// `TcpListener::accept`.
    TcpAccept = "TcpListener::accept", Socket;
    /// `TcpStream::connect`.
    TcpConnect = "TcpStream::connect", Socket;
    /// A read on a TCP stream or its read half.
    TcpRead = "TcpStream::read", Socket;
    /// A write on a TCP stream or its write half.
    TcpWrite = "TcpStream::write", Socket;
    /// A receive on a UDP socket.
    UdpRecv = "UdpSocket::recv", Socket;
    /// A send on a UDP socket.
    UdpSend = "UdpSocket::send", Socket;
    /// `UnixListener::accept`.
    UnixAccept = "UnixListener::accept", Socket;
    /// A read on a Unix stream.
    UnixRead = "UnixStream::read", Socket;
    /// A write on a Unix stream.
    UnixWrite = "UnixStream::write", Socket;
    /// Awaiting a `JoinHandle`.
    Join = "JoinHandle", InProcess;
    /// `task::yield_now`.
    Yield = "yield_now", InProcess;
    /// `signal::ctrl_c`, `Signal::recv`: the outside world (a signal) wakes it.
    Signal = "Signal::recv", Socket;
    /// `process::Child::wait`: the child's exit wakes it.
    ChildWait = "Child::wait", Socket;
    /// `sync::Mutex::lock` (and `lock_owned`).
    MutexLock = "Mutex::lock", InProcess;
    /// `sync::RwLock::read` (and `read_owned`).
    RwLockRead = "RwLock::read", InProcess;
    /// `sync::RwLock::write` (and `write_owned`).
    RwLockWrite = "RwLock::write", InProcess;
    /// `sync::Semaphore::acquire` (and `acquire_many`, the owned forms).
    SemaphoreAcquire = "Semaphore::acquire", InProcess;
    /// `sync::Notify::notified`.
    NotifyNotified = "Notify::notified", InProcess;
    /// `sync::Barrier::wait`.
    BarrierWait = "Barrier::wait", InProcess;
    /// `sync::mpsc::Sender::send` (and `reserve`) on a full channel.
    MpscSend = "mpsc::Sender::send", InProcess;
    /// `sync::mpsc::Receiver::recv` (bounded or unbounded).
    MpscRecv = "mpsc::Receiver::recv", InProcess;
    /// Waiting for the other half of a `sync::mpsc` channel to close.
    MpscClosed = "mpsc::Sender::closed", InProcess;
    /// Awaiting a `sync::oneshot::Receiver`.
    OneshotRecv = "oneshot::Receiver", InProcess;
    /// `sync::oneshot::Sender::closed`.
    OneshotClosed = "oneshot::Sender::closed", InProcess;
    /// `sync::watch::Receiver::changed` (and `wait_for`).
    WatchChanged = "watch::Receiver::changed", InProcess;
    /// `sync::watch::Sender::closed`.
    WatchClosed = "watch::Sender::closed", InProcess;
    /// `sync::broadcast::Receiver::recv`.
    BroadcastRecv = "broadcast::Receiver::recv", InProcess;
    /// `sync::broadcast::Sender::closed`.
    BroadcastClosed = "broadcast::Sender::closed", InProcess;
    /// `sync::OnceCell::get_or_init` (and `get_or_try_init`) while another task
    /// initializes the cell.
    OnceCellInit = "OnceCell::get_or_init", InProcess;
    /// `sync::SetOnce::wait` while the cell is not set.
    SetOnceWait = "SetOnce::wait", InProcess;
    /// A task `goro::hyper` runs for a connection (the connection itself, an HTTP/2 stream,
    /// a client connection) that waits on something other than a goro future: the
    /// service's response body, a request handed to a pooled client connection, hyper's
    /// own channels. Closing the connection ends it, so the peer can wake it.
    HyperConnection = "hyper connection", Socket;
    /// `io::Stdin` reads: the terminal or the process at the pipe's other end wakes it.
    StdinRead = "Stdin::read", Socket;
}

impl WaitOp {
    /// The op's compact code, for storing in an atomic.
    pub fn code(self) -> u8 {
        self as u8 + 1
    }

    /// The op of a code from [`WaitOp::code`]; `None` for 0 (no op) or an unknown code.
    pub fn from_code(code: u8) -> Option<WaitOp> {
        code.checked_sub(1)
            .and_then(|i| WaitOp::ALL.get(i as usize).copied())
    }
}

impl WaitOp {
    /// Whether a task waiting on this op waits for a lock or semaphore that other tasks hold:
    /// the ops the deadlock walk follows (`Mutex::lock`, `RwLock::read`, `RwLock::write`,
    /// `Semaphore::acquire`).
    pub fn is_lock(self) -> bool {
        matches!(
            self,
            WaitOp::MutexLock | WaitOp::RwLockRead | WaitOp::RwLockWrite | WaitOp::SemaphoreAcquire
        )
    }
}

impl std::fmt::Display for WaitOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_zero_is_none() {
        assert_eq!(WaitOp::from_code(0), None);
        for &op in WaitOp::ALL {
            assert_eq!(WaitOp::from_code(op.code()), Some(op));
        }
        assert_eq!(WaitOp::from_code(200), None);
        assert_eq!(WaitOp::Sleep.kind(), WaitKind::Timer);
        assert_eq!(WaitOp::TcpRead.kind(), WaitKind::Socket);
        assert_eq!(WaitOp::Join.kind(), WaitKind::InProcess);
        assert_eq!(WaitOp::TcpRead.to_string(), "TcpStream::read");
        assert!(WaitOp::MutexLock.is_lock() && WaitOp::SemaphoreAcquire.is_lock());
        assert!(!WaitOp::MpscRecv.is_lock() && !WaitOp::Join.is_lock());
    }
}
