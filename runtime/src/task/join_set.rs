//! [`JoinSet`]: a set of tasks, joined in the order they finish.
//!
//! The set owns the `JoinHandle`s of its tasks. Each handle is polled with a waker of its
//! own (an *entry waker*) that remembers the handle's key: when a task finishes, its entry
//! waker pushes the key onto the set's ready list and wakes the task waiting in
//! [`JoinSet::join_next`], if one is. `join_next` then polls only the handles whose keys are
//! on the list, so joining `n` tasks costs O(n) polls in all, not O(n) per wake-up.
//!
//! A new entry starts on the ready list, so its first `join_next` gives its handle the
//! entry waker. A handle polled when the task's cooperative budget is spent wakes its entry
//! waker at once (the budget's way of saying "try again later"); `join_next` therefore works
//! on the keys that were ready when it started and leaves keys pushed meanwhile for its next
//! poll, waking itself if there are any, so it never loops within one poll.
//!
//! While `join_next` waits, the waiting task keeps its own waker in the ready list, so the
//! leak detector sees it as wakeable; its suspension point is the `join_next` call
//! (`JoinHandle`). Dropping the set aborts every task still in it (as tokio's does).

use crate::stats::WaitOp;
use crate::task::{AbortHandle, Id, JoinError, JoinHandle};
use crate::Handle;
use goro_sched::task::traced;
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

/// A set of tasks spawned on the runtime, awaited in the order they complete.
///
/// Dropping the set aborts the tasks still in it.
///
/// ```
/// # goro::Runtime::builder().processors(2).build().unwrap().block_on(async {
/// use goro::task::JoinSet;
/// use std::time::Duration;
///
/// let mut set = JoinSet::new();
/// for ms in [30u64, 10, 20] {
///     set.spawn(async move {
///         goro::time::sleep(Duration::from_millis(ms)).await;
///         ms
///     });
/// }
/// let mut order = Vec::new();
/// while let Some(res) = set.join_next().await {
///     order.push(res.unwrap());
/// }
/// assert_eq!(order, [10, 20, 30]);
/// # })
/// ```
pub struct JoinSet<T> {
    entries: HashMap<u64, Entry<T>>,
    ready: Arc<ReadyList>,
    next_key: u64,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    /// The entry waker given to `handle`'s polls.
    waker: Waker,
}

/// The keys of entries to poll, and the task waiting in `join_next`.
#[derive(Default)]
struct ReadyList {
    state: Mutex<ReadyState>,
}

#[derive(Default)]
struct ReadyState {
    keys: Vec<u64>,
    waiter: Option<Waker>,
}

impl ReadyList {
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        // The critical sections only push, pop and swap; a panic cannot leave them torn.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, key: u64) {
        let waiter = {
            let mut state = self.lock();
            state.keys.push(key);
            state.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

/// The waker of `try_join_next`, which does not wait.
struct NoWake;

impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// The waker of one entry: marks the entry ready.
struct EntryWaker {
    key: u64,
    ready: Arc<ReadyList>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.key);
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: HashMap::new(),
            ready: Arc::default(),
            next_key: 0,
        }
    }

    /// The number of tasks in the set (running, or finished and not yet joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no tasks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Aborts every task in the set. They stay in it: `join_next` yields each one, most
    /// with a cancelled [`JoinError`] (a task that finished first yields its output).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let mut set = goro::task::JoinSet::new();
    /// set.spawn(std::future::pending::<()>());
    /// set.abort_all();
    /// assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// assert!(set.join_next().await.is_none());
    /// # })
    /// ```
    pub fn abort_all(&mut self) {
        for entry in self.entries.values() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.ready.lock().keys.clear();
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let key = self.next_key;
        self.next_key += 1;
        let abort = handle.abort_handle();
        let waker = Waker::from(Arc::new(EntryWaker {
            key,
            ready: self.ready.clone(),
        }));
        self.entries.insert(key, Entry { handle, waker });
        self.ready.push(key);
        abort
    }

    /// Waits for the next task to complete and returns its output, or `None` if the set is
    /// empty. Cancel-safe: dropping the future loses no output.
    #[track_caller]
    pub fn join_next(&mut self) -> impl Future<Output = Option<Result<T, JoinError>>> + '_ {
        traced(
            WaitOp::Join,
            Location::caller(),
            poll_fn(move |cx| self.poll_join_next(cx)),
        )
    }

    /// Like [`JoinSet::join_next`], with the task's id next to its output (a failed task's
    /// id is in its [`JoinError`]).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let mut set = goro::task::JoinSet::new();
    /// let id = set.spawn(async { 3 }).id();
    /// assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, 3));
    /// # })
    /// ```
    #[track_caller]
    pub fn join_next_with_id(
        &mut self,
    ) -> impl Future<Output = Option<Result<(Id, T), JoinError>>> + '_ {
        traced(
            WaitOp::Join,
            Location::caller(),
            poll_fn(move |cx| self.poll_join_next_with_id(cx)),
        )
    }

    /// Polls for the next completed task: `Ready(None)` if the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|res| res.map(|(_, output)| output)))
    }

    /// Like [`JoinSet::poll_join_next`], with the task's id next to its output.
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let mut keys = std::mem::take(&mut self.ready.lock().keys);
        while let Some(key) = keys.pop() {
            let Some(entry) = self.entries.get_mut(&key) else {
                continue; // already joined (a key can be pushed more than once)
            };
            let mut entry_cx = Context::from_waker(&entry.waker);
            if let Poll::Ready(res) = Pin::new(&mut entry.handle).poll(&mut entry_cx) {
                let id = entry.handle.id();
                self.entries.remove(&key);
                self.ready.lock().keys.append(&mut keys);
                return Poll::Ready(Some(res.map(|output| (id, output))));
            }
        }
        let mut state = self.ready.lock();
        if state.keys.is_empty() {
            state.waiter = Some(cx.waker().clone());
        } else {
            // Keys pushed while we polled (a spent budget wakes at once): next poll.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// The output of a task that has completed, if one has, without waiting; `None` if
    /// none has (or the set is empty).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let mut set = goro::task::JoinSet::new();
    /// assert!(set.try_join_next().is_none());
    /// set.spawn(async { 5 });
    /// while set.len() == 1 {
    ///     if let Some(res) = set.try_join_next() {
    ///         assert_eq!(res.unwrap(), 5);
    ///     } else {
    ///         goro::task::yield_now().await;
    ///     }
    /// }
    /// # })
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|res| res.map(|(_, output)| output))
    }

    /// Like [`JoinSet::try_join_next`], with the task's id next to its output.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        let waker = Waker::from(Arc::new(NoWake));
        match self.poll_join_next_with_id(&mut Context::from_waker(&waker)) {
            Poll::Ready(res) => res,
            Poll::Pending => None,
        }
    }

    /// Aborts every task and waits until all of them have stopped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they completed (as
    /// tokio's `join_all`).
    ///
    /// # Panics
    /// If a task failed: a task's panic is resumed here, and a cancelled task panics with
    /// its [`JoinError`]. The tasks still in the set are aborted first (the set is dropped).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let set: goro::task::JoinSet<u32> = (1..=3).map(|i| async move { i * 10 }).collect();
    /// let mut outputs = set.join_all().await;
    /// outputs.sort();
    /// assert_eq!(outputs, [10, 20, 30]);
    /// # })
    /// ```
    #[track_caller]
    pub fn join_all(mut self) -> impl Future<Output = Vec<T>> {
        let at = Location::caller();
        async move {
            let mut outputs = Vec::with_capacity(self.len());
            while let Some(res) = traced(WaitOp::Join, at, self.join_next()).await {
                match res {
                    Ok(output) => outputs.push(output),
                    Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                    Err(err) => panic!("{err}"),
                }
            }
            outputs
        }
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime and adds it to the set; returns an
    /// [`AbortHandle`] that cancels this one task (as tokio's `JoinSet::spawn` does). The
    /// aborted task stays in the set: `join_next` yields its cancelled [`JoinError`]. The
    /// task's spawn site is the caller's line.
    ///
    /// # Panics
    /// Outside a goro runtime.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let mut set = goro::task::JoinSet::new();
    /// let stuck = set.spawn(std::future::pending::<u32>());
    /// set.spawn(async { 7 });
    /// stuck.abort();
    /// let mut outputs = Vec::new();
    /// while let Some(res) = set.join_next().await {
    ///     outputs.push(res.map_err(|e| e.id()));
    /// }
    /// outputs.sort();
    /// assert_eq!(outputs, [Ok(7), Err(stuck.id())]);
    /// # })
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::spawn(task))
    }

    /// Spawns `task` on the runtime of `handle` and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(task))
    }

    /// Runs `f` on the blocking pool and adds it to the set.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::task::spawn_blocking(f))
    }
}

/// Spawns each future of the iterator into a new set (tokio's `collect::<JoinSet<_>>()`).
/// `collect` does not pass its caller's line on, so these tasks' spawn site is this impl;
/// [`JoinSet::spawn`] and `extend` name the caller's line.
///
/// # Panics
/// Outside a goro runtime.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future of the iterator into the set, with the caller's line as their spawn
/// site.
///
/// # Panics
/// Outside a goro runtime.
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        let handle = Handle::current();
        for task in iter {
            self.insert(handle.spawn(task));
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}
