//! Per-spawn-site task counts, kept in each registry shard.
//!
//! The registry already takes a shard lock to link a task in at spawn and out at
//! completion; counting the task's spawn site under that same lock costs a lookup and an
//! add, and no extra synchronization. The lookup first checks the site of the shard's
//! previous update, which is the common case (a server spawns from the same line over and
//! over), and only then the hash map.
//!
//! Sampled lifetimes (see `task/record.rs`) are queued in the shard too and drained into
//! per-site histograms by the stats cycle, so no histogram is touched under a shard lock.

use goro_stats::Site;
use std::collections::HashMap;

/// How many sampled lifetimes a shard keeps between two stats cycles.
const LIFETIME_QUEUE_MAX: usize = 4096;

#[derive(Clone, Copy)]
pub(crate) struct SiteCount {
    pub(crate) site: Site,
    pub(crate) spawned: u64,
    pub(crate) completed: u64,
}

#[derive(Default)]
pub(crate) struct SiteTable {
    index: HashMap<usize, usize>,
    entries: Vec<SiteCount>,
    last: Option<(usize, usize)>,
    lifetimes: Vec<(Site, u64)>,
}

fn key(site: Site) -> usize {
    std::ptr::from_ref(site) as usize
}

impl SiteTable {
    /// The index of `site` in the table, which it joins if it is new. Indices are stable:
    /// a task's record keeps its spawn site's.
    pub(crate) fn index(&mut self, site: Site) -> u32 {
        let key = key(site);
        let idx = match self.last {
            Some((k, idx)) if k == key => idx,
            _ => {
                let entries = &mut self.entries;
                let idx = *self.index.entry(key).or_insert_with(|| {
                    entries.push(SiteCount {
                        site,
                        spawned: 0,
                        completed: 0,
                    });
                    entries.len() - 1
                });
                self.last = Some((key, idx));
                idx
            }
        };
        u32::try_from(idx).expect("fewer than 2^32 spawn sites: they are lines of code")
    }

    /// The site at `index` (from [`index`](Self::index)).
    pub(crate) fn site(&self, index: u32) -> Site {
        self.entries[index as usize].site
    }

    pub(crate) fn spawned(&mut self, index: u32) {
        self.entries[index as usize].spawned += 1;
    }

    pub(crate) fn completed(&mut self, index: u32, lifetime: Option<u64>) {
        let entry = &mut self.entries[index as usize];
        entry.completed += 1;
        if let Some(nanos) = lifetime {
            if self.lifetimes.len() < LIFETIME_QUEUE_MAX {
                self.lifetimes.push((entry.site, nanos));
            }
        }
    }

    pub(crate) fn counts(&self) -> &[SiteCount] {
        &self.entries
    }

    /// Takes the queued sampled lifetimes.
    pub(crate) fn take_lifetimes(&mut self) -> Vec<(Site, u64)> {
        std::mem::take(&mut self.lifetimes)
    }
}
