//! TensorFlow's naming rules: valid names, and `unique_name` with `_1` suffixes.

use rustc_hash::FxHashMap;

pub use super::lexicon::{is_valid_name, is_valid_op_name, is_valid_scope_name};

/// `name` without one trailing `/` (TensorFlow's `name_from_scope_name`).
pub(crate) fn name_from_scope_name(name: &str) -> &str {
    name.strip_suffix('/').unwrap_or(name)
}

/// Joins a prefix and a name with `/`, or returns the name at the root.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 1 + name.len());
    join_into(&mut s, prefix, name);
    s
}

/// [`join`] into a reused buffer, replacing its contents.
pub(crate) fn join_into(buf: &mut String, prefix: &str, name: &str) {
    buf.clear();
    if !prefix.is_empty() {
        buf.push_str(prefix);
        buf.push('/');
    }
    buf.push_str(name);
}

/// The names in use in one graph, compared case-insensitively as TensorFlow does.
#[derive(Default, Debug, Clone)]
pub(crate) struct NamesInUse {
    counts: FxHashMap<Box<str>, u32>,
    /// Scratch space for lowercased keys, so lookups do not allocate.
    key: String,
}

impl NamesInUse {
    fn count_of(&self, lowercase: &str) -> u32 {
        self.counts.get(lowercase).copied().unwrap_or(0)
    }

    /// The suffix [`unique`](Self::unique) would add to `name` (`None`: none),
    /// leaving the lowercased result in `key`.
    fn suffix(&self, name: &str, key: &mut String) -> Option<u32> {
        key.clear();
        key.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        let mut i = self.count_of(key);
        if i == 0 {
            return None;
        }
        let base = key.len();
        loop {
            key.truncate(base);
            write_suffix(key, i);
            if self.count_of(key) == 0 {
                return Some(i);
            }
            i += 1;
        }
    }

    /// What [`unique`](Self::unique) would return, without marking anything.
    pub(crate) fn peek(&self, name: &str) -> String {
        let mut out = name.to_owned();
        if let Some(i) = self.suffix(name, &mut String::new()) {
            write_suffix(&mut out, i);
        }
        out
    }

    /// TensorFlow's `Graph.unique_name` on an already prefixed `name`: the
    /// first use keeps the name, later uses get `_1`, `_2`, … skipping names
    /// taken explicitly; the result is marked used.
    pub(crate) fn unique(&mut self, name: &str) -> String {
        let mut out = name.to_owned();
        self.unique_into(&mut out);
        out
    }

    /// [`unique`](Self::unique) in place: appends the suffix, if any, to `name`.
    pub(crate) fn unique_into(&mut self, name: &mut String) {
        let mut key = std::mem::take(&mut self.key);
        let suffix = self.suffix(name, &mut key);
        let base = name.len();
        match self.counts.get_mut(&key[..base]) {
            Some(n) => *n += 1,
            None => {
                self.counts.insert(key[..base].into(), 1);
            }
        }
        if let Some(i) = suffix {
            self.counts.insert(key.as_str().into(), 1);
            write_suffix(name, i);
        }
        self.key = key;
    }

    /// Whether `name` is in use (case-insensitive).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.counts.contains_key(name.to_ascii_lowercase().as_str())
    }
}

/// Appends `_i` (without the formatting machinery: this runs for every new name).
pub(crate) fn write_suffix(s: &mut String, i: u32) {
    let mut digits = [0u8; 10];
    let mut n = i;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.push('_');
    s.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_suffix_after_generated_suffix_gets_another() {
        let mut names = NamesInUse::default();
        assert_eq!(names.unique("c"), "c");
        assert_eq!(names.unique("c"), "c_1");
        assert_eq!(names.unique("c_1"), "c_1_1");
        assert_eq!(names.unique("c"), "c_2");
        assert_eq!(names.unique("c_3"), "c_3");
        assert_eq!(names.unique("c"), "c_4");
    }

    #[test]
    fn uniquification_ignores_case_but_keeps_spelling() {
        let mut names = NamesInUse::default();
        assert_eq!(names.unique("W"), "W");
        assert_eq!(names.unique("w"), "w_1");
        assert!(names.contains("W_1"));
        assert_eq!(names.peek("x"), "x");
        assert!(!names.contains("x"));
    }
}
