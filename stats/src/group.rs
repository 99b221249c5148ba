//! Grouping tasks like a goroutine dump: by spawn site, suspension point and wait op.
//!
//! Every report that shows tasks in groups (the task dump, the orphans of a leak report, the
//! idle groups the stats cycle hands to the leak detector, the suspects it ranks) groups them
//! by the same [`GroupKey`] and ranks them by the same rule: heaviest group first, ties in
//! [`GroupKey`] order (spawn site, then suspension point with "never suspended" first, then
//! wait op; a site orders by file, line, column). The order is deterministic: the same tasks
//! always print in the same order, whatever order they were found in.

use crate::leaks::IdleGroup;
use crate::report::{Site, Suspect, TaskGroup, TaskInfo};
use crate::wait::WaitOp;
use std::cmp::Reverse;
use std::collections::HashMap;

/// What the tasks of one group share: where they were spawned, where they last suspended on
/// a goro future, and which future that was.
///
/// ```
/// use goro_stats::{GroupKey, WaitOp};
/// use std::panic::Location;
///
/// let site = Location::caller();
/// let never = GroupKey { spawned_at: site, suspended_at: None, wait_op: None };
/// let read = GroupKey { suspended_at: Some(site), wait_op: Some(WaitOp::TcpRead), ..never };
/// assert!(never < read, "a task that never suspended orders first");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Where the group's tasks were spawned.
    pub spawned_at: Site,
    /// Where they last suspended on a goro future; `None` if they never did.
    pub suspended_at: Option<Site>,
    /// Which goro future that was.
    pub wait_op: Option<WaitOp>,
}

impl GroupKey {
    /// The group `task` belongs to.
    pub fn of(task: &TaskInfo) -> GroupKey {
        GroupKey {
            spawned_at: task.spawned_at,
            suspended_at: task.suspended_at,
            wait_op: task.wait_op,
        }
    }
}

/// `key()` for the report types that carry a group's three fields.
macro_rules! keyed {
    ($($t:ty),*) => {$(
        impl $t {
            /// The group's key.
            pub fn key(&self) -> GroupKey {
                GroupKey {
                    spawned_at: self.spawned_at,
                    suspended_at: self.suspended_at,
                    wait_op: self.wait_op,
                }
            }
        }
    )*};
}

keyed!(IdleGroup, Suspect, TaskGroup);

impl TaskGroup {
    /// A group of `key` with no tasks yet.
    pub fn empty(key: GroupKey) -> TaskGroup {
        TaskGroup {
            spawned_at: key.spawned_at,
            suspended_at: key.suspended_at,
            wait_op: key.wait_op,
            tasks: Vec::new(),
        }
    }
}

/// Values gathered per [`GroupKey`], then ranked.
///
/// ```
/// use goro_stats::{GroupKey, Grouping};
/// use std::panic::Location;
///
/// let (a, b) = (Location::caller(), Location::caller());
/// let key = |site| GroupKey { spawned_at: site, suspended_at: None, wait_op: None };
/// let mut idle = Grouping::new();
/// for site in [a, b, b] {
///     *idle.entry(key(site), || 0u64) += 1;
/// }
/// let ranked = idle.ranked(|&n| n);
/// assert_eq!(ranked, vec![(key(b), 2), (key(a), 1)]);
/// ```
#[derive(Debug, Clone)]
pub struct Grouping<V> {
    groups: HashMap<GroupKey, V>,
}

impl<V> Default for Grouping<V> {
    fn default() -> Self {
        Grouping {
            groups: HashMap::new(),
        }
    }
}

impl<V> Grouping<V> {
    /// No groups yet.
    pub fn new() -> Grouping<V> {
        Grouping::default()
    }

    /// The value of `key`'s group, made by `new` if the group is new.
    pub fn entry(&mut self, key: GroupKey, new: impl FnOnce() -> V) -> &mut V {
        self.groups.entry(key).or_insert_with(new)
    }

    /// The groups, heaviest first by `weight`, ties in key order (see the module docs).
    pub fn ranked<W: Ord>(self, weight: impl Fn(&V) -> W) -> Vec<(GroupKey, V)> {
        let mut groups: Vec<(GroupKey, V)> = self.groups.into_iter().collect();
        rank(&mut groups, |(key, _)| *key, |(_, v)| weight(v));
        groups
    }
}

/// Sorts `items` heaviest first by `weight`, ties in [`GroupKey`] order: the one ranking
/// rule of every grouped report.
///
/// ```
/// use goro_stats::{rank, GroupKey};
/// use std::panic::Location;
///
/// let (a, b) = (Location::caller(), Location::caller());
/// let key = |site| GroupKey { spawned_at: site, suspended_at: None, wait_op: None };
/// let mut groups = vec![(key(b), 1), (key(a), 1), (key(b), 5)];
/// rank(&mut groups, |g| g.0, |g| g.1);
/// assert_eq!(groups, vec![(key(b), 5), (key(a), 1), (key(b), 1)]);
/// ```
pub fn rank<T, W: Ord>(items: &mut [T], key: impl Fn(&T) -> GroupKey, weight: impl Fn(&T) -> W) {
    items.sort_by_cached_key(|item| (Reverse(weight(item)), key(item)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    #[test]
    fn ties_rank_in_key_order_whatever_the_insertion_order() {
        let (a, b) = (Location::caller(), Location::caller());
        let keys = [
            GroupKey {
                spawned_at: b,
                suspended_at: Some(a),
                wait_op: Some(WaitOp::Sleep),
            },
            GroupKey {
                spawned_at: b,
                suspended_at: Some(a),
                wait_op: None,
            },
            GroupKey {
                spawned_at: b,
                suspended_at: None,
                wait_op: None,
            },
            GroupKey {
                spawned_at: a,
                suspended_at: Some(b),
                wait_op: None,
            },
        ];
        for rotation in 0..keys.len() {
            let mut g = Grouping::new();
            for k in keys.iter().cycle().skip(rotation).take(keys.len()) {
                *g.entry(*k, || 0) += 1;
            }
            let order: Vec<GroupKey> = g.ranked(|&n: &u32| n).into_iter().map(|(k, _)| k).collect();
            assert_eq!(order, vec![keys[3], keys[2], keys[1], keys[0]]);
        }
    }
}
