//! The thread's default-name counts: how often each variable scope name was opened.

use crate::base::names::{NameMap, SuffixedBases, join_into, split_suffix, write_suffix};
use std::collections::BTreeSet;

/// TensorFlow's per-thread `variable_scopes_count`: how often each variable
/// scope name was opened, which `default_name` scopes consult to pick
/// `layer`, `layer_1`, …
///
/// Unlike TensorFlow, choosing a default name is O(1) amortized (each base
/// name remembers the lowest suffix that may still be free), leaving a scope
/// touches only the counts below it (a sorted set of the names below some
/// scope keeps them together), and
/// leaving a captured re-entry undoes the changes made since entry instead of
/// copying every count on entry. As TensorFlow only asks whether a count is
/// zero, a name `base_i` with `1 <= i < next_free` of its base is opened
/// without an entry of its own: opening `dense`, `dense_1`, … in turn stores
/// one entry.
#[derive(Default)]
pub(crate) struct ScopeCounts {
    map: NameMap<Count>,
    log: Vec<(Box<str>, Option<Count>)>,
    logging: usize,
    /// The keys of `map` below some scope (holding a `/`), sorted.
    below: BTreeSet<Box<str>>,
    /// The bases of the names that ever had an entry: only past those
    /// bases' runs can a name be opened already.
    suffixed: SuffixedBases,
    /// Scratch space for candidate names.
    scratch: String,
    scratch_high: String,
    scratch_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Count {
    opened: u32,
    /// Every `name_i` with `1 <= i < next_free` has been opened.
    next_free: u32,
}

/// The count of a name not opened (kept as an entry once it was).
const ZERO: Count = Count { opened: 0, next_free: 1 };

impl ScopeCounts {
    /// How often `name` was opened; a name in its base's run counts 1.
    #[cfg(test)]
    fn count(&self, name: &str) -> u32 {
        self.entry(name).map_or(0, |c| c.opened)
    }

    /// The entry of `name`, or for a name in its base's run, the one it would have.
    fn entry(&self, name: &str) -> Option<Count> {
        if let Some(c) = self.map.get(name).filter(|c| c.opened > 0) {
            return Some(*c);
        }
        let (base, i) = split_suffix(name)?;
        self.map.get(base).filter(|c| c.opened > 0 && i < c.next_free).map(|_| Count { opened: 1, next_free: 1 })
    }

    fn set(&mut self, name: &str, new: Option<Count>) {
        let old = match new {
            Some(c) => match self.map.get_mut(name) {
                Some(slot) => Some(std::mem::replace(slot, c)),
                None => {
                    self.suffixed.note(name);
                    self.map.insert(name.into(), c)
                }
            },
            None => self.map.remove(name),
        };
        self.track(name, old.is_some(), new.is_some());
        if self.logging > 0 && old != new {
            self.log.push((name.into(), old));
        }
    }

    /// Keeps `below` in step with `map` when `name` gains or loses its entry.
    fn track(&mut self, name: &str, had: bool, has: bool) {
        if had != has && name.contains('/') {
            if has {
                self.below.insert(name.into());
            } else {
                self.below.remove(name);
            }
        }
    }

    /// `open_variable_scope`: counts one more opening of `name`.
    pub(crate) fn open(&mut self, name: &str) {
        if self.logging == 0
            && let Some(c) = self.map.get_mut(name)
        {
            c.opened += 1;
            return;
        }
        if let Some(c) = self.map.get(name).copied() {
            self.set(name, Some(Count { opened: c.opened + 1, ..c }));
            return;
        }
        if let Some((base, i)) = split_suffix(name)
            && let Some(c) = self.map.get(base).copied().filter(|c| c.opened > 0 && i <= c.next_free)
        {
            // In the run (opened already, and only "not zero" matters), or next to it.
            if i == c.next_free {
                self.set(base, Some(Count { next_free: i + 1, ..c }));
            }
            return;
        }
        self.set(name, Some(Count { opened: 1, next_free: 1 }));
    }

    /// `close_variable_subscopes`: forgets the counts of every scope below `name`.
    pub(crate) fn close_subscopes(&mut self, name: &str) {
        use std::ops::Bound;
        if self.below.is_empty() {
            return;
        }
        // The keys below `name/` are exactly those in [`name/`, `name0`): `0` follows `/`.
        let mut low = std::mem::take(&mut self.scratch);
        let mut high = std::mem::take(&mut self.scratch_high);
        low.clear();
        low.push_str(name);
        low.push('/');
        high.clear();
        high.push_str(name);
        high.push('0');
        // TensorFlow deletes the counts. Here a count is first zeroed, its
        // entry kept for the next time the name is opened (a scope re-entered
        // inside a re-entered scope allocates nothing), and deleted when a
        // scope above it is left with the count still zero: each entry is
        // visited at most twice however deep the nesting.
        let mut after = std::mem::take(&mut self.scratch_key);
        let mut first = true;
        loop {
            let from = if first { Bound::Included(low.as_str()) } else { Bound::Excluded(after.as_str()) };
            let Some(k) = self.below.range::<str, _>((from, Bound::Excluded(high.as_str()))).next() else { break };
            first = false;
            after.clear();
            after.push_str(k);
            match self.map.get_mut(after.as_str()) {
                Some(c) if *c != ZERO => {
                    if self.logging > 0 {
                        self.log.push((after.as_str().into(), Some(*c)));
                    }
                    *c = ZERO;
                }
                // A zero count and no entry mean the same.
                _ => {
                    self.map.remove(after.as_str());
                    self.below.remove(after.as_str());
                }
            }
        }
        self.scratch_key = after;
        self.scratch = low;
        self.scratch_high = high;
    }

    /// `_get_unique_variable_scope`: `prefix`, or `prefix_N` with the lowest
    /// N whose full name was not opened, below the variable scope `parent`.
    #[cfg(test)]
    pub(crate) fn unique(&mut self, parent: &str, prefix: &str) -> String {
        let mut out = prefix.to_owned();
        if let Some(i) = self.unique_suffix(parent, prefix) {
            write_suffix(&mut out, i);
        }
        out
    }

    /// The suffix N that [`unique`](Self::unique) adds to `prefix` (`None`: none).
    #[cfg(test)]
    fn unique_suffix(&mut self, parent: &str, prefix: &str) -> Option<u32> {
        let mut key = std::mem::take(&mut self.scratch);
        join_into(&mut key, parent, prefix);
        let found = self.entry(&key).filter(|c| c.opened > 0);
        let mut suffix = None;
        if let Some(c) = found {
            let base = key.len();
            let mut i = c.next_free.max(1);
            loop {
                key.truncate(base);
                write_suffix(&mut key, i);
                if self.count(&key) == 0 {
                    break;
                }
                i += 1;
            }
            key.truncate(base);
            if i != c.next_free {
                self.set(&key, Some(Count { next_free: i, ..c }));
            }
            suffix = Some(i);
        }
        self.scratch = key;
        suffix
    }

    /// [`unique_suffix`](Self::unique_suffix) and [`open`](Self::open) of
    /// the name it picks, in one: a default name's entry, not the full name
    /// made with the suffix. Returns the suffix (`None`: none).
    pub(crate) fn open_unique(&mut self, parent: &str, prefix: &str) -> Option<u32> {
        let mut key = std::mem::take(&mut self.scratch);
        join_into(&mut key, parent, prefix);
        // The common case in one lookup: an opened base of its own entry,
        // no suffixed names to skip, no change log to keep.
        if self.logging == 0
            && !self.suffixed.contains(&key)
            && let Some(c) = self.map.get_mut(key.as_str()).filter(|c| c.opened > 0)
        {
            let i = c.next_free.max(1);
            c.next_free = i + 1;
            self.scratch = key;
            return Some(i);
        }
        let suffix = match self.entry(&key).filter(|c| c.opened > 0) {
            None => {
                self.open(&key);
                None
            }
            Some(c) => {
                let base = key.len();
                // Below `next_free` every suffix is opened; above, only names
                // with an entry are, and only a suffixed base has any.
                let mut i = c.next_free.max(1);
                if self.suffixed.contains(&key) {
                    loop {
                        key.truncate(base);
                        write_suffix(&mut key, i);
                        if self.map.get(key.as_str()).is_none_or(|c| c.opened == 0) {
                            break;
                        }
                        i += 1;
                    }
                    key.truncate(base);
                }
                // Every suffix below `i` is opened, and `i` is opened now.
                self.set(&key, Some(Count { next_free: i + 1, ..c }));
                Some(i)
            }
        };
        self.scratch = key;
        suffix
    }

    /// Starts recording changes, to be undone by [`undo_to`](Self::undo_to).
    pub(crate) fn mark(&mut self) -> usize {
        self.logging += 1;
        self.log.len()
    }

    /// Restores the counts as they were at `mark`.
    pub(crate) fn undo_to(&mut self, mark: usize) {
        while self.log.len() > mark {
            let (name, old) = self.log.pop().expect("longer than mark");
            let had = match old {
                Some(c) => self.map.insert(name.clone(), c),
                None => self.map.remove(&name),
            };
            self.track(&name, had.is_some(), old.is_some());
        }
        self.logging -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::ScopeCounts;

    #[test]
    fn default_names_count_up_and_reset_below_closed_scopes() {
        let mut c = ScopeCounts::default();
        assert_eq!(c.unique("a", "x"), "x");
        c.open("a/x");
        assert_eq!(c.unique("a", "x"), "x_1");
        c.open("a/x_1");
        c.open("a/x_3");
        assert_eq!(c.unique("a", "x"), "x_2");
        c.open("a/x_2");
        assert_eq!(c.unique("a", "x"), "x_4");
        c.close_subscopes("a");
        assert_eq!(c.unique("a", "x"), "x");
        assert_eq!(c.unique("", "a"), "a");
    }

    #[test]
    fn names_opened_in_a_row_share_their_base_entry() {
        let mut c = ScopeCounts::default();
        c.open("p/d");
        for i in 1..100 {
            let name = c.unique("p", "d");
            assert_eq!(name, format!("d_{i}"));
            c.open(&format!("p/{name}"));
        }
        assert_eq!(c.map.len(), 1);
        // A generated name used as a base counts as opened.
        assert_eq!(c.unique("p", "d_7"), "d_7_1");
        assert_eq!(c.unique("p/d_7", "x"), "x");
        c.open("p/d_150");
        assert_eq!(c.unique("p", "d"), "d_100");
        c.close_subscopes("p");
        assert_eq!(c.unique("p", "d"), "d");
        assert_eq!(c.unique("p", "d_7"), "d_7");
        assert!(c.map.iter().all(|(_, &count)| count == super::ZERO), "closing zeroes the counts below");
        assert_eq!(c.below.len(), c.map.len());
    }

    #[test]
    fn open_unique_picks_and_opens_as_unique_then_open() {
        let (mut a, mut b) = (ScopeCounts::default(), ScopeCounts::default());
        for c in [&mut a, &mut b] {
            c.open("p/d_2");
            c.open("p/d_4");
        }
        for _ in 0..6 {
            let picked = a.open_unique("p", "d");
            let name = b.unique("p", "d");
            b.open(&format!("p/{name}"));
            assert_eq!(picked.map_or("d".to_owned(), |i| format!("d_{i}")), name);
        }
        for name in ["p/d", "p/d_1", "p/d_3", "p/d_5", "p/d_6", "p/d_7"] {
            assert_eq!((a.count(name) > 0, b.count(name) > 0), (true, true), "{name}");
        }
        assert_eq!((a.count("p/d_8"), b.count("p/d_8")), (0, 0));
        // Without explicit suffixes (no name past the run is looked up),
        // and with one opened after the base's run started.
        let (mut a, mut b) = (ScopeCounts::default(), ScopeCounts::default());
        for step in 0..8 {
            if step == 4 {
                a.open("q/e_5");
                b.open("q/e_5");
            }
            let picked = a.open_unique("q", "e");
            let name = b.unique("q", "e");
            b.open(&format!("q/{name}"));
            assert_eq!(picked.map_or("e".to_owned(), |i| format!("e_{i}")), name, "step {step}");
        }
        assert_eq!(b.unique("q", "e"), "e_9", "e_5 was skipped");
    }

    #[test]
    fn undo_restores_counts_at_mark() {
        let mut c = ScopeCounts::default();
        c.open("foo");
        c.open("foo/bar");
        let m = c.mark();
        assert_eq!(c.unique("foo", "bar"), "bar_1");
        c.open("foo/bar_1");
        c.close_subscopes("foo");
        c.undo_to(m);
        assert_eq!(c.unique("foo", "bar"), "bar_1");
        c.open("foo/bar_1");
        assert_eq!(c.unique("foo", "bar"), "bar_2");
        let mut nested: Vec<_> = c.map.iter().map(|(k, _)| k).filter(|k| k.contains('/')).map(Box::from).collect();
        nested.sort();
        assert_eq!(nested, c.below.iter().cloned().collect::<Vec<_>>());
    }
}
