//! Telling a machine asleep in the kernel from one running on a CPU, from another thread.
//!
//! The monitor has no system-call hook (Go's `entersyscall`): a task that calls
//! `std::thread::sleep`, a blocking `read` or a synchronous DNS lookup inside its poll looks,
//! from outside, just like one computing. Two things tell them apart on Linux:
//!
//! * the thread's **CPU clock** (`pthread_getcpuclockid` + `clock_gettime`), which another
//!   thread of the process may read and which stops while the thread is off every CPU. One
//!   `clock_gettime` costs a system call (the vDSO does not serve other threads' clocks), so
//!   the monitor reads it only for a processor it sees in a poll;
//! * the thread's **scheduler state** in `/proc/self/task/<tid>/stat`: `S` or `D` when it is
//!   asleep in the kernel, `R` when it runs or waits for a CPU. A stopped clock alone does not
//!   prove the thread is blocked: on a busy machine a running thread is preempted for
//!   milliseconds. The monitor reads the state only to confirm a clock that stood still.
//!
//! [`MachineClock`] is what a machine publishes about itself when it acquires a processor
//! (packed in one word, so the monitor reads it with one load); [`MachineClock::cpu_time`]
//! and [`MachineClock::kernel_state`] are the monitor's two reads. The `stat` file stays
//! open between reads ([`StatFile`]): opening it costs a path walk on every read, and a
//! `pread` of an open one is about four times cheaper (measured on this project's VM: about
//! 9 µs against 39 µs under load; a thread clock read costs about 1-2 µs). Where the clock is
//! unavailable (another OS, a seccomp filter), [`MachineClock::current`] returns `None` and
//! the monitor falls back to the plain `handoff_after` threshold.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// A machine thread's CPU clock and kernel thread id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MachineClock {
    clock: libc::clockid_t,
    tid: libc::pid_t,
}

/// [`MachineClock::pack`] of no clock.
pub(crate) const NO_CLOCK: u64 = 0;

impl MachineClock {
    /// The calling thread's clock, or `None` where it cannot be read.
    pub(crate) fn current() -> Option<MachineClock> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `pthread_self` is always valid for the calling thread and `clock` is a valid
        // out-pointer for the duration of the call.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        if rc != 0 {
            return None;
        }
        // SAFETY: `gettid` has no preconditions.
        let tid = unsafe { libc::gettid() };
        let me = MachineClock { clock, tid };
        me.cpu_time().map(|_| me)
    }

    /// One word for an atomic: never [`NO_CLOCK`] (thread ids are positive).
    pub(crate) fn pack(self) -> u64 {
        (self.tid as u32 as u64) << 32 | self.clock as u32 as u64
    }

    /// The clock packed by [`MachineClock::pack`], or `None` for [`NO_CLOCK`].
    pub(crate) fn unpack(word: u64) -> Option<MachineClock> {
        (word != NO_CLOCK).then_some(MachineClock {
            tid: (word >> 32) as u32 as libc::pid_t,
            clock: word as u32 as libc::clockid_t,
        })
    }

    /// CPU time the thread has used so far, or `None` if the clock cannot be read (the thread
    /// exited).
    pub(crate) fn cpu_time(self) -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer; an invalid clock id only makes the call fail.
        let rc = unsafe { libc::clock_gettime(self.clock, &mut ts) };
        (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    /// What the thread is doing in the kernel right now, from the state letter of its
    /// `stat`, read through `file`, which keeps the thread's `stat` open between calls.
    pub(crate) fn kernel_state(self, file: &mut StatFile) -> KernelState {
        let mut buf = [0u8; 512];
        let Some(len) = file.read(self.tid, &mut buf) else {
            return KernelState::Unknown;
        };
        match state_of(&buf[..len]) {
            Some(b'S' | b'D') => KernelState::Asleep,
            Some(b'R') => KernelState::Runnable,
            _ => KernelState::Unknown,
        }
    }
}

/// A thread's state in the kernel, as [`MachineClock::kernel_state`] read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelState {
    /// Sleeping (`S`) or in an uninterruptible wait (`D`): blocked in a system call.
    Asleep,
    /// Running or waiting for a CPU (`R`).
    Runnable,
    /// Stopped, traced, a zombie, or its `stat` could not be read.
    Unknown,
}

/// A thread's `/proc/self/task/<tid>/stat`, kept open for repeated reads.
#[derive(Default)]
pub(crate) struct StatFile {
    open: Option<(libc::pid_t, File)>,
}

impl StatFile {
    /// Reads thread `tid`'s `stat` into `buf`; the length read, or `None` if it cannot be
    /// read (the thread exited). Reopens when `tid` changes or the open file went stale (a
    /// file of an exited thread fails to read, even if its id was reused since).
    fn read(&mut self, tid: libc::pid_t, buf: &mut [u8]) -> Option<usize> {
        if let Some((open_tid, file)) = &self.open {
            if *open_tid == tid {
                if let Ok(len) = file.read_at(buf, 0) {
                    return Some(len);
                }
            }
        }
        let file = File::open(format!("/proc/self/task/{tid}/stat")).ok()?;
        let len = file.read_at(buf, 0).ok()?;
        self.open = Some((tid, file));
        Some(len)
    }
}

/// The state letter of a `/proc/<pid>/task/<tid>/stat` line: the field after the command
/// name, which is in parentheses and may itself hold spaces and parentheses.
fn state_of(stat: &[u8]) -> Option<u8> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn state_letter_after_a_command_with_parentheses() {
        assert_eq!(state_of(b"42 (goro) worker) S 1 2 3"), Some(b'S'));
        assert_eq!(state_of(b"42 (x) R 1"), Some(b'R'));
        assert_eq!(state_of(b"garbage"), None);
    }

    #[test]
    fn pack_round_trips() {
        let clock = MachineClock::current().expect("Linux has thread CPU clocks");
        assert_ne!(clock.pack(), NO_CLOCK);
        assert_eq!(MachineClock::unpack(clock.pack()), Some(clock));
        assert_eq!(MachineClock::unpack(NO_CLOCK), None);
    }

    /// A sleeping thread's clock stands still and its state says so; a spinning one's runs.
    #[test]
    fn tells_a_sleeping_thread_from_a_spinning_one() {
        let (tx, rx) = mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            tx.send(MachineClock::current().unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        let clock = rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let before = clock.cpu_time().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let ran = clock.cpu_time().unwrap() - before;
        assert!(
            ran < Duration::from_millis(5),
            "a sleeping thread ran {ran:?}"
        );
        assert_eq!(
            clock.kernel_state(&mut StatFile::default()),
            KernelState::Asleep
        );
        sleeper.join().unwrap();

        let (tx, rx) = mpsc::channel();
        let spinner = std::thread::spawn(move || {
            tx.send(MachineClock::current().unwrap()).unwrap();
            let end = std::time::Instant::now() + Duration::from_millis(300);
            while std::time::Instant::now() < end {
                std::hint::spin_loop();
            }
        });
        let clock = rx.recv().unwrap();
        let before = clock.cpu_time().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let ran = clock.cpu_time().unwrap() - before;
        assert!(
            ran > Duration::from_millis(5),
            "a spinning thread ran only {ran:?}"
        );
        let mut file = StatFile::default();
        assert_eq!(clock.kernel_state(&mut file), KernelState::Runnable);
        assert_eq!(
            clock.kernel_state(&mut file),
            KernelState::Runnable,
            "read again through the open file"
        );
        spinner.join().unwrap();
    }
}
