//! One generator thread: its share of the connections, one mio poll, one precise timer.
//!
//! The loop waits in `poll` for socket readiness or for the [`Timer`], which is armed for
//! the earliest pending wake-up: a connection's next intended send, a reconnect after a
//! failure's back-off, the end of the window. Wake-ups live in a min-heap of (instant,
//! connection); an entry whose connection has since been given another wake-up is stale and
//! skipped. Nothing is sent before the schedule's start nor after the window ends; requests
//! already in flight then have [`DRAIN`] to complete.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::args::Protocol;
use super::conn::{Conn, Failure, Step};
use super::report::Tally;
use super::schedule::Schedule;
use super::timer::Timer;

/// Wait before reopening a connection that failed (keeps a dead server from spinning us).
pub const BACKOFF: Duration = Duration::from_millis(10);
/// How long requests in flight at the end of the window may still complete.
pub const DRAIN: Duration = Duration::from_secs(2);

const TIMER: Token = Token(usize::MAX);

/// What every thread of a run shares.
pub struct Plan {
    /// The server.
    pub addr: SocketAddr,
    /// The bytes of one request.
    pub request: Arc<[u8]>,
    /// What a request is.
    pub protocol: Protocol,
    /// When requests go out.
    pub schedule: Schedule,
    /// No request goes out before this.
    pub start: Instant,
    /// Requests intended (open loop) or sent (closed loop) from here on are recorded.
    pub window_start: Instant,
    /// No request goes out after this.
    pub end: Instant,
}

/// A thread's loop; `ids` are its connections' indices in the whole run.
pub struct Driver<'a> {
    plan: &'a Plan,
    poll: Poll,
    timer: Timer,
    ids: Vec<usize>,
    conns: Vec<Conn>,
    wakes: BinaryHeap<Reverse<(Instant, usize)>>,
    wake_at: Vec<Option<Instant>>,
    tally: Tally,
}

impl<'a> Driver<'a> {
    /// A driver for the connections `ids` of `plan`.
    pub fn new(plan: &'a Plan, ids: Vec<usize>) -> io::Result<Driver<'a>> {
        let poll = Poll::new()?;
        let timer = Timer::new()?;
        timer.register(poll.registry(), TIMER)?;
        Ok(Driver {
            plan,
            poll,
            timer,
            conns: ids
                .iter()
                .map(|_| Conn::new(plan.request.clone(), plan.protocol))
                .collect(),
            wake_at: vec![None; ids.len()],
            ids,
            wakes: BinaryHeap::new(),
            tally: Tally::default(),
        })
    }

    /// Runs until the window has ended and the requests in flight completed (or [`DRAIN`]
    /// ran out), and returns what it counted.
    pub fn run(mut self) -> io::Result<Tally> {
        let started = Instant::now();
        let mut events = Events::with_capacity(1024);
        for i in 0..self.conns.len() {
            self.connect(i, Instant::now());
        }
        let drain_end = self.plan.end + DRAIN;
        // The instant the timer is set for (it fires once; fired means disarmed).
        let mut armed = None;
        loop {
            let now = Instant::now();
            let ended = now >= self.plan.end;
            if now >= drain_end || (ended && !self.conns.iter().any(Conn::is_busy)) {
                break;
            }
            self.fire_due(now);
            let deadline = if now < self.plan.end {
                self.plan.end
            } else {
                drain_end
            };
            let next = self.wakes.peek().map_or(deadline, |w| w.0 .0.min(deadline));
            if armed != Some(next) {
                self.timer.arm(next)?;
                armed = Some(next);
            }
            match self.poll.poll(&mut events, Some(Duration::from_secs(1))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                match event.token() {
                    TIMER => {
                        self.timer.clear();
                        armed = None;
                    }
                    Token(i) => {
                        let step = self.conns[i].on_event(event);
                        self.settle(i, step);
                    }
                }
            }
        }
        self.count_leftovers();
        self.tally.wall = started.elapsed();
        self.tally.cpu = thread_cpu_time();
        Ok(self.tally)
    }

    /// Acts on every wake-up that is due.
    fn fire_due(&mut self, now: Instant) {
        while let Some(&Reverse((at, i))) = self.wakes.peek() {
            if at > now {
                break;
            }
            self.wakes.pop();
            if self.wake_at[i] != Some(at) {
                continue; // stale
            }
            self.wake_at[i] = None;
            if self.conns[i].is_down() {
                self.connect(i, now);
            } else if self.conns[i].is_idle() {
                self.send_when_due(i, now);
            }
        }
    }

    fn wake(&mut self, i: usize, at: Instant) {
        self.wake_at[i] = Some(at);
        self.wakes.push(Reverse((at, i)));
    }

    fn connect(&mut self, i: usize, now: Instant) {
        if now >= self.plan.end {
            return;
        }
        let step = self.conns[i].connect(self.plan.addr, self.poll.registry(), Token(i));
        self.settle(i, step);
    }

    /// Sends connection `i`'s next request if it is due, else sets a wake-up for it.
    fn send_when_due(&mut self, i: usize, now: Instant) {
        let intended = self.plan.schedule.intended(self.ids[i], self.conns[i].next);
        let due = intended.unwrap_or(now).max(self.plan.start);
        if due >= self.plan.end {
            return;
        }
        if due > now {
            self.wake(i, due);
            return;
        }
        let step = self.conns[i].send(intended, now);
        self.settle(i, step);
    }

    /// Acts on what a connection reported.
    fn settle(&mut self, i: usize, step: Step) {
        let now = Instant::now();
        match step {
            Step::Nothing => {}
            Step::Connected => self.send_when_due(i, now),
            Step::Completed {
                intended,
                sent,
                done,
                closed,
            } => {
                if intended.unwrap_or(sent) >= self.plan.window_start {
                    self.tally.record(Schedule::latency(intended, sent, done));
                }
                if closed {
                    self.connect(i, now);
                } else {
                    self.send_when_due(i, now);
                }
            }
            Step::Failed(why) => {
                self.fail(why, now);
                self.wake(i, now + BACKOFF);
            }
            Step::Closed => self.connect(i, now),
        }
    }

    fn fail(&mut self, why: Failure, now: Instant) {
        if now >= self.plan.window_start {
            self.tally.fail(why);
        }
    }

    /// Counts the window's requests that were never sent or never answered.
    fn count_leftovers(&mut self) {
        let plan = self.plan;
        for (conn, &id) in self.conns.iter().zip(&self.ids) {
            let first = plan.schedule.slots_before(id, plan.window_start);
            let last = plan.schedule.slots_before(id, plan.end);
            self.tally.unsent += last.saturating_sub(conn.next.max(first));
            if conn.is_busy() {
                self.tally.unfinished += 1;
            }
        }
    }
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, which lives across the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
