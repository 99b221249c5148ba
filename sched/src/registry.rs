//! The task registry: every live task of a runtime, in sharded intrusive lists.
//!
//! The registry holds one reference to each task from spawn until the task completes. It is
//! how shutdown finds every future to drop, whether the task is queued, idle or forgotten by
//! everyone else. Tasks are spread over shards by id *block*: a thread takes its task ids
//! in blocks of 1024, so one processor's spawns go to one shard (whose lock and counters
//! stay in that core's cache), and two processors spawning at once rarely share a shard.
//! Each shard is a doubly-linked list threaded through the tasks' headers, so insert and
//! remove never allocate.
//!
//! Each shard also counts tasks per spawn site (see `stats/sites.rs`) under the lock it takes
//! anyway, and keeps what is rare or the same for many tasks, so the task header need not:
//! the table of spawn sites, in which a task's record keeps the 4-byte index of its own, and
//! the names of the tasks that have one. Readers get both with the task ([`Spawn`]).

use crate::stats::sites::{SiteCount, SiteTable};
use crate::task::{Id, RawTask};
use crossbeam_utils::CachePadded;
use goro_stats::Site;
use parking_lot::Mutex;
use std::collections::HashMap;

pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    mask: usize,
}

struct Shard {
    head: Option<RawTask>,
    len: usize,
    closed: bool,
    sites: SiteTable,
    /// The names of the live tasks of this shard that have one.
    names: HashMap<Id, Box<str>>,
}

/// Where a task comes from, as the registry keeps it: its spawn site and name.
#[derive(Clone, Copy)]
pub(crate) struct Spawn<'a> {
    pub(crate) site: Site,
    pub(crate) name: Option<&'a str>,
}

impl Shard {
    fn spawn_of(&self, task: RawTask) -> Spawn<'_> {
        Spawn {
            site: self.sites.site(task.header().record.spawn_site()),
            name: self.names.get(&task.id()).map(|name| &**name),
        }
    }
}

// SAFETY: the tasks in a shard are only reached through the shard's lock.
unsafe impl Send for Shard {}

impl Registry {
    /// A registry with at least `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> Registry {
        let n = shards.max(1).next_power_of_two();
        Registry {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        head: None,
                        len: 0,
                        closed: false,
                        sites: SiteTable::default(),
                        names: HashMap::new(),
                    }))
                })
                .collect(),
            mask: n - 1,
        }
    }

    fn shard(&self, task: RawTask) -> &Mutex<Shard> {
        &self.shards[(task.id().as_u64() >> crate::task::BLOCK_SHIFT) as usize & self.mask]
    }

    /// Adds a task spawned at `site` (the registry takes over one of its references).
    /// Returns `false` if the registry is closed: the runtime is shutting down and the caller
    /// must cancel the task.
    pub(crate) fn insert(&self, task: RawTask, site: Site, name: Option<Box<str>>) -> bool {
        let mut shard = self.shard(task).lock();
        // Even a refused task gets its site, so that its record never names a wrong one.
        let index = shard.sites.index(site);
        task.header().record.set_spawn_site(index);
        if shard.closed {
            return false;
        }
        // SAFETY: the links are only touched under this shard's lock.
        let links = unsafe { &mut *task.header().registry_links.get() };
        links.prev = None;
        links.next = shard.head;
        if let Some(head) = shard.head {
            // SAFETY: as above; `head` is linked in this shard.
            unsafe { (*head.header().registry_links.get()).prev = Some(task) };
        }
        shard.head = Some(task);
        shard.len += 1;
        shard.sites.spawned(index);
        if let Some(name) = name {
            shard.names.insert(task.id(), name);
        }
        true
    }

    /// Removes a completed task, counting it (with its sampled lifetime, if any) for its
    /// spawn site. Returns whether it was present (and so whether the caller now owns the
    /// registry's reference).
    pub(crate) fn remove(&self, task: RawTask, lifetime: Option<u64>) -> bool {
        let mut shard = self.shard(task).lock();
        let removed = Self::unlink(&mut shard, task);
        if removed {
            shard
                .sites
                .completed(task.header().record.spawn_site(), lifetime);
        }
        removed
    }

    fn unlink(shard: &mut Shard, task: RawTask) -> bool {
        // SAFETY: the links are only touched under this shard's lock, which we hold.
        let links = unsafe { &mut *task.header().registry_links.get() };
        // Linked iff it has a predecessor or heads the shard.
        if links.prev.is_none() && shard.head != Some(task) {
            return false;
        }
        match links.prev {
            // SAFETY: neighbours are linked in the same shard.
            Some(prev) => unsafe { (*prev.header().registry_links.get()).next = links.next },
            None => shard.head = links.next,
        }
        if let Some(next) = links.next {
            // SAFETY: as above.
            unsafe { (*next.header().registry_links.get()).prev = links.prev };
        }
        links.prev = None;
        links.next = None;
        shard.len -= 1;
        if !shard.names.is_empty() {
            shard.names.remove(&task.id());
        }
        true
    }

    /// Closes the registry to new tasks and calls `f` on every task, handing over the
    /// registry's reference. `f` runs without any lock held, so it may drop futures whose
    /// destructors spawn or wake tasks.
    pub(crate) fn close_and_drain(&self, mut f: impl FnMut(RawTask)) {
        for shard in self.shards.iter() {
            shard.lock().closed = true;
        }
        for shard in self.shards.iter() {
            loop {
                let task = {
                    let mut shard = shard.lock();
                    let Some(head) = shard.head else { break };
                    Self::unlink(&mut shard, head);
                    head
                };
                f(task);
            }
        }
    }

    /// Calls `f` on every live task and where it comes from, one shard at a time, under
    /// that shard's lock: `f` must only read the task.
    pub(crate) fn for_each(&self, mut f: impl FnMut(RawTask, Spawn<'_>)) {
        for shard in self.shards.iter() {
            let shard = shard.lock();
            let mut next = shard.head;
            while let Some(task) = next {
                f(task, shard.spawn_of(task));
                // SAFETY: the links are only touched under this shard's lock, which we hold.
                next = unsafe { (*task.header().registry_links.get()).next };
            }
        }
    }

    /// Calls `f` with where `task` comes from, under its shard's lock. The task must have
    /// been offered to [`insert`](Self::insert); its name is gone once it is removed.
    pub(crate) fn with_spawn<R>(&self, task: RawTask, f: impl FnOnce(Spawn<'_>) -> R) -> R {
        f(self.shard(task).lock().spawn_of(task))
    }

    /// Per-site counts summed over shards (sites compared by value), and the live tasks
    /// counted in the same pass: each shard's length and site counts are read under one
    /// lock, so the live count is exactly the tasks spawned and not completed (or dropped
    /// at shutdown) as of the pass, never off by a task that completed in between.
    pub(crate) fn site_counts(&self) -> (Vec<SiteCount>, usize) {
        let mut merged: Vec<SiteCount> = Vec::new();
        let mut index: std::collections::HashMap<Site, usize> = Default::default();
        let mut live = 0;
        for shard in self.shards.iter() {
            let shard = shard.lock();
            live += shard.len;
            for count in shard.sites.counts() {
                match index.get(count.site) {
                    Some(&i) => {
                        merged[i].spawned += count.spawned;
                        merged[i].completed += count.completed;
                    }
                    None => {
                        index.insert(count.site, merged.len());
                        merged.push(*count);
                    }
                }
            }
        }
        (merged, live)
    }

    /// The sampled lifetimes queued since the last call.
    pub(crate) fn take_lifetimes(&self) -> Vec<(Site, u64)> {
        let mut lifetimes = Vec::new();
        for shard in self.shards.iter() {
            lifetimes.extend(shard.lock().sites.take_lifetimes());
        }
        lifetimes
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }
}
