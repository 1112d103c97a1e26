//! TensorFlow's naming rules: valid names, and `unique_name` with `_1` suffixes.

use hashbrown::HashTable;
use std::hash::BuildHasher;

pub use super::lexicon::{is_valid_name, is_valid_op_name, is_valid_scope_name};

/// The largest size of the strings [`NamesInUse`] keeps names in (a longer
/// name has one of its own).
const CHUNK: usize = 16 * 1024;

/// The text of the name `key` (as bytes: comparing them needs no check of
/// where characters start).
#[inline]
fn name_of<'a>(names: &'a [String], key: &Key) -> &'a [u8] {
    &names[key.chunk as usize].as_bytes()[key.start as usize..key.end as usize]
}

/// Whether two names are the same bytes: compared inline up to 16 bytes,
/// where a call to `memcmp` cost more than the comparison (names are short,
/// and every scope entered compares one or two).
#[inline]
pub(crate) fn same_text(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let half = |s: &[u8], at: usize| u32::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]]);
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    match n {
        0 => true,
        // The first, middle and last bytes are all of them.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        // Two overlapping words cover the name.
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// A map from names to `V` whose lookups compare names with [`same_text`]
/// (a map keyed by `Box<str>` compares them with `memcmp`).
#[derive(Clone, Debug)]
pub(crate) struct NameMap<V>(hashbrown::HashMap<Box<str>, V, rustc_hash::FxBuildHasher>);

/// A name looked up in a [`NameMap`].
struct Text<'a>(&'a str);

impl std::hash::Hash for Text<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As its key, a `Box<str>`, hashes.
        self.0.hash(state);
    }
}

impl hashbrown::Equivalent<Box<str>> for Text<'_> {
    #[inline]
    fn equivalent(&self, key: &Box<str>) -> bool {
        same_text(self.0.as_bytes(), key.as_bytes())
    }
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap(hashbrown::HashMap::with_hasher(rustc_hash::FxBuildHasher))
    }
}

impl<V> NameMap<V> {
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        self.0.get(&Text(name))
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        self.0.get_mut(&Text(name))
    }

    pub(crate) fn insert(&mut self, name: Box<str>, value: V) -> Option<V> {
        self.0.insert(name, value)
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<V> {
        self.0.remove(&Text(name))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

/// The hash a name is found by in [`NamesInUse`].
#[inline]
fn hash(name: &str) -> u32 {
    // Both halves folded: FxHasher mixes best into the bits it rotates to
    // the low end, and a table reads its tag from the top.
    let h = rustc_hash::FxBuildHasher.hash_one(name);
    (h ^ h >> 32) as u32
}

/// A 32-bit hash as the table reads it: the bucket from the low bits, a
/// tag from the top seven.
#[inline]
fn spread(hash: u32) -> u64 {
    u64::from(hash) << 32 | u64::from(hash)
}

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
///
/// TensorFlow keeps a count per name, `layer_1`, `layer_2`, … each marked
/// with 1 when generated. Here the names a base generated in a row are not
/// stored one by one: a base's entry says that every `base_i` with
/// `1 <= i < run` is in use (with count 1, unless an entry of its own says
/// otherwise), so opening `layer` for the ten-thousandth time stores nothing
/// new and allocates nothing.
///
/// The names are kept one after the other in strings of up to [`CHUNK`] bytes,
/// found through a table of keys that say where each lies: a new name costs
/// no allocation of its own. (One string for all would be reallocated as it
/// grows, at sizes glibc maps from the system and faults in page by page
/// for every graph built: 30% slower than an allocation per name.)
#[derive(Default, Clone)]
pub(crate) struct NamesInUse {
    /// Each lowercased name's entry, by the name's hash.
    table: HashTable<Key>,
    uses: Vec<Use>,
    /// The lowercased names with an entry, where their keys say.
    names: Vec<String>,
    /// The bases of the names with an entry of their own: only for those
    /// can a name past a base's run be in use.
    suffixed: SuffixedBases,
    /// Scratch space for lowercased keys, so lookups do not allocate.
    key: String,
    /// The suffix written last, counted up for the next.
    text: SuffixText,
}

/// A name in [`NamesInUse::table`]: where its text lies in
/// [`NamesInUse::names`], and its entry's index in [`NamesInUse::uses`].
#[derive(Clone, Copy, Debug)]
struct Key {
    /// The name's [`hash`], kept so that growing the table hashes no name again.
    hash: u32,
    chunk: u32,
    start: u32,
    end: u32,
    index: u32,
}

/// What [`NamesInUse::find_or_insert`] did: the index of the entry it found or made.
enum Lookup {
    Found(u32),
    Inserted(u32),
}

/// Appends a lowercased name to the last of `names` (or a new one) and its
/// entry, with count 0, to `uses`; returns the key that finds them.
fn new_entry(
    names: &mut Vec<String>,
    uses: &mut Vec<Use>,
    suffixed: &SuffixedBases,
    lowercase: &str,
    hash: u32,
) -> Key {
    let index = u32::try_from(uses.len()).expect("fewer than 2^32 names");
    if names.last().is_none_or(|last| last.capacity() - last.len() < lowercase.len()) {
        // A small graph's names take a small string: chunks double up to CHUNK.
        let size = names.last().map_or(256, |last| (last.capacity() * 2).min(CHUNK));
        names.push(String::with_capacity(lowercase.len().max(size)));
    }
    let chunk = u32::try_from(names.len() - 1).expect("fewer than 2^32 chunks");
    let text = names.last_mut().expect("pushed above");
    let start = u32::try_from(text.len()).expect("a chunk shorter than 4 GB");
    text.push_str(lowercase);
    let end = u32::try_from(text.len()).expect("a chunk shorter than 4 GB");
    uses.push(Use { count: 0, run: 1, suffixed: suffixed.contains(lowercase) });
    Key { hash, chunk, start, end, index }
}

/// One name's entry: TensorFlow's count, and the run of `name_i` in use.
#[derive(Clone, Copy, Debug)]
struct Use {
    count: u32,
    /// Every `name_i` with `1 <= i < run` is in use.
    run: u32,
    /// Whether some `name_i` has an entry of its own (the name is in `suffixed`).
    suffixed: bool,
}

/// The bases `b` of the names `b_i` (`i >= 1`) that ever had an entry of
/// their own. Only for those can a name past a base's generated run
/// (`b_1` … `b_{run-1}`) be taken already, so for any other base the run's
/// end is the next free suffix, with nothing formatted or looked up. It
/// never forgets a base: conservative, so undoing or closing needs no care.
#[derive(Default, Debug, Clone)]
pub(crate) struct SuffixedBases(rustc_hash::FxHashSet<Box<str>>);

impl SuffixedBases {
    /// Notes the base of `name` when `name` ends in a suffix, and returns it.
    #[inline]
    pub(crate) fn note<'a>(&mut self, name: &'a str) -> Option<&'a str> {
        let (base, _) = split_suffix(name)?;
        if !self.0.contains(base) {
            self.0.insert(base.into());
        }
        Some(base)
    }

    /// Whether `base` ever had a suffixed name (nothing is hashed while none has).
    #[inline]
    pub(crate) fn contains(&self, base: &str) -> bool {
        !self.0.is_empty() && self.0.contains(base)
    }
}

/// `name` as `(base, i)` when it ends in a suffix `_i` that [`write_suffix`]
/// could have written (`i >= 1`, no leading zero).
pub(crate) fn split_suffix(name: &str) -> Option<(&str, u32)> {
    // Most names end in a letter. The others are read from the end over
    // their digits only: a name such as `layer12` has no `_` to search for.
    let b = name.as_bytes();
    if !b.last().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 || digits == b.len() {
        return None;
    }
    let cut = b.len() - digits;
    if b[cut - 1] != b'_' || b[cut] == b'0' {
        return None;
    }
    name[cut..].parse::<u32>().ok().map(|i| (&name[..cut - 1], i))
}

impl NamesInUse {
    /// The index of a lowercased name's entry.
    #[inline]
    fn find(&self, lowercase: &str) -> Option<u32> {
        let is = |key: &Key| same_text(name_of(&self.names, key), lowercase.as_bytes());
        self.table.find(spread(hash(lowercase)), is).map(|key| key.index)
    }

    /// The entry of a lowercased name.
    fn get(&self, lowercase: &str) -> Option<Use> {
        self.find(lowercase).map(|i| self.uses[i as usize])
    }

    /// The count of a lowercased name: its own entry's, or 1 inside its base's run.
    fn count_of(&self, lowercase: &str) -> u32 {
        match self.get(lowercase) {
            Some(u) => u.count,
            None => self.in_run(lowercase),
        }
    }

    /// 1 when a lowercased name without an entry is inside its base's run, else 0.
    fn in_run(&self, lowercase: &str) -> u32 {
        match split_suffix(lowercase) {
            Some((base, i)) if self.get(base).is_some_and(|u| i < u.run) => 1,
            _ => 0,
        }
    }

    /// Where `unique` starts for a lowercased name: TensorFlow's count (0:
    /// not in use, no suffix), the run of generated suffixes, whether names
    /// past the run may have entries of their own, and the name's entry.
    fn start(&self, lowercase: &str) -> (u32, u32, bool, Option<u32>) {
        match self.find(lowercase) {
            Some(index) => self.start_at(index),
            None => {
                let start = self.in_run(lowercase);
                (start, 1, start > 0 && self.suffixed.contains(lowercase), None)
            }
        }
    }

    /// [`start`](Self::start) for the name whose entry is at `index`.
    fn start_at(&self, index: u32) -> (u32, u32, bool, Option<u32>) {
        let u = self.uses[index as usize];
        (u.count, u.run, u.suffixed, Some(index))
    }

    /// Appends to `key` (a lowercased name in use, from `start` on with
    /// `run`) the first free suffix, written by `write`, and returns it.
    fn first_free(
        &self,
        key: &mut String,
        start: u32,
        run: u32,
        suffixed: bool,
        mut write: impl FnMut(&mut String, u32),
    ) -> u32 {
        let base = key.len();
        // Every `name_i` below the run is in use; past it, only those with
        // an entry of their own, and there are none when `!suffixed`.
        let mut i = start.max(run);
        loop {
            write(key, i);
            if !suffixed || self.find(key).is_none() {
                return i;
            }
            key.truncate(base);
            i += 1;
        }
    }

    /// What [`unique`](Self::unique) would return, without marking anything.
    pub(crate) fn peek(&mut self, name: &str) -> String {
        let mut out = String::new();
        self.peek_into(name, &mut out);
        out
    }

    /// [`peek`](Self::peek) into `out`, replacing its contents.
    pub(crate) fn peek_into(&mut self, name: &str, out: &mut String) {
        out.clear();
        out.push_str(name);
        self.with_key(out, |names, key| {
            let (start, run, suffixed, _) = names.start(key);
            if start > 0 {
                names.first_free(key, start, run, suffixed, write_suffix);
            }
        });
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
        self.with_key(name, Self::mark);
    }

    /// Runs `f` on `name` lowercased, which may append a suffix to it, and
    /// appends that suffix to `name`, in the name's spelling.
    fn with_key(&mut self, name: &mut String, f: impl FnOnce(&mut Self, &mut String)) {
        // A fold, not `any`: it vectorizes, so a long name costs no more
        // than lowering it would.
        if name.bytes().fold(false, |upper, b| upper | b.is_ascii_uppercase()) {
            let mut key = std::mem::take(&mut self.key);
            key.clear();
            key.push_str(name);
            key.make_ascii_lowercase();
            f(self, &mut key);
            name.push_str(&key[name.len()..]);
            self.key = key;
        } else {
            // Already lowercase: the name is its own key, and the suffix is
            // written once, in place (copying it to a key and back was two
            // calls to `memcpy` per name).
            f(self, name);
        }
    }

    /// Marks the lowercased name in `key` used, appending its suffix, if any.
    fn mark(&mut self, key: &mut String) {
        let base = key.len();
        let (start, run, suffixed, entry) = match split_suffix(key) {
            // A name without a suffix cannot be inside a run: one probe
            // finds its entry, or the place of a new one.
            None => match self.find_or_insert(key) {
                Lookup::Found(index) => self.start_at(index),
                Lookup::Inserted(index) => {
                    self.uses[index as usize].count = 1;
                    return;
                }
            },
            Some(_) => self.start(key),
        };
        let suffix = (start > 0).then(|| {
            if suffixed {
                self.first_free(key, start, run, true, write_suffix)
            } else {
                // The run's end is free (see `first_free`). Written in place:
                // a copy of `text` changed and copied back waited on its stores.
                let i = start.max(run);
                self.text.write(key, i);
                i
            }
        });
        let index = entry.unwrap_or_else(|| self.insert(&key[..base]));
        let entry = &mut self.uses[index as usize];
        entry.count = start + 1;
        if let Some(i) = suffix {
            // `first_free` found every `name_j` with `start <= j < i` in use:
            // when that meets the run, `name_i` extends it instead of taking an entry.
            if start <= entry.run {
                entry.run = entry.run.max(i + 1);
            } else {
                let new = self.insert(key);
                self.uses[new as usize].count = 1;
            }
        }
    }

    /// The index of the entry of a lowercased name without a suffix (see
    /// [`split_suffix`]), or of a new one made for it, with count 0.
    fn find_or_insert(&mut self, lowercase: &str) -> Lookup {
        // A suffixed name's base would need its `suffixed` flag set (see `insert`).
        debug_assert!(split_suffix(lowercase).is_none(), "{lowercase} ends in a suffix");
        let hash = hash(lowercase);
        let names = &self.names;
        let is = |key: &Key| same_text(name_of(names, key), lowercase.as_bytes());
        match self.table.entry(spread(hash), is, |key| spread(key.hash)) {
            hashbrown::hash_table::Entry::Occupied(found) => Lookup::Found(found.get().index),
            hashbrown::hash_table::Entry::Vacant(place) => {
                let key = new_entry(&mut self.names, &mut self.uses, &self.suffixed, lowercase, hash);
                place.insert(key);
                Lookup::Inserted(key.index)
            }
        }
    }

    /// A new entry for a lowercased name, with count 0; returns its index.
    fn insert(&mut self, lowercase: &str) -> u32 {
        let key = new_entry(&mut self.names, &mut self.uses, &self.suffixed, lowercase, hash(lowercase));
        self.table.insert_unique(spread(key.hash), key, |key| spread(key.hash));
        let index = key.index;
        if let Some(base) = self.suffixed.note(lowercase)
            && let Some(b) = self.find(base)
        {
            self.uses[b as usize].suffixed = true;
        }
        index
    }

    /// Whether `name` is in use (case-insensitive).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.count_of(&name.to_ascii_lowercase()) > 0
    }
}

/// The text of the suffix `_i` written last, so that the next one, most
/// often `_{i+1}` (a scope entered in a loop, the next op of a kind), is
/// counted up in place from it instead of formatted: a carry past the last
/// digit one time in ten, where formatting divides by ten once per digit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SuffixText {
    i: u32,
    /// `_` and the digits of `i` in the first `len` bytes (little-endian),
    /// the rest zeros: 8 or 16 bytes are copied, where copying `len` called
    /// `memcpy`. Counted up in a register, not byte by byte: a 16-byte load
    /// of bytes just stored one by one waits for the stores to reach the
    /// cache (two thirds of the time spent writing a suffix went there).
    text: u128,
    len: u8,
}

impl Default for SuffixText {
    fn default() -> Self {
        SuffixText { i: 0, text: u128::from_le_bytes(*b"_0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), len: 2 }
    }
}

impl SuffixText {
    /// Appends `_i` to `s`, as [`write_suffix`] does.
    #[inline]
    pub(crate) fn write(&mut self, s: &mut String, i: u32) {
        if i == self.i.wrapping_add(1) && i != 0 {
            self.count_up();
        } else if i != self.i {
            self.set(i);
        }
        s.reserve(16);
        // The text as it was stored, 8 bytes at a time: one 16-byte load of
        // it would wait as above. (The second store is made conditional, so
        // that the compiler does not merge the two into that load.)
        let (low, high) = (self.text as u64, (self.text >> 64) as u64);
        // SAFETY: the 16 bytes fit in the capacity just reserved, and the
        // `len` of them that the string takes are `_` and ASCII digits.
        unsafe {
            let bytes = s.as_mut_vec();
            let end = bytes.len();
            let at = bytes.as_mut_ptr().add(end);
            at.cast::<[u8; 8]>().write_unaligned(low.to_le_bytes());
            if self.len > 8 {
                at.add(8).cast::<[u8; 8]>().write_unaligned(high.to_le_bytes());
            }
            bytes.set_len(end + usize::from(self.len));
        }
    }

    /// Adds one to the digits.
    #[inline]
    fn count_up(&mut self) {
        self.i += 1;
        let byte = |text: u128, at: u32| (text >> (8 * at)) as u8;
        let mut d = u32::from(self.len) - 1;
        while byte(self.text, d) == b'9' {
            self.text -= 9 << (8 * d);
            d -= 1;
        }
        if d == 0 {
            // One more digit: `_99` became `_00`, and becomes `_100`.
            self.text += 1 << 8;
            self.text |= u128::from(b'0') << (8 * u32::from(self.len));
            self.len += 1;
        } else {
            self.text += 1 << (8 * d);
        }
    }

    #[cold]
    fn set(&mut self, i: u32) {
        let mut right = [b'_'; 11];
        let at = digits_of(i, &mut right) - 1;
        let len = right.len() - at;
        let mut text = [0; 16];
        text[..len].copy_from_slice(&right[at..]);
        self.text = u128::from_le_bytes(text);
        self.len = len as u8;
        self.i = i;
    }
}

/// Writes the digits of `i` right-aligned in `text`, `_` before them, and
/// returns where the digits start.
fn digits_of(i: u32, text: &mut [u8; 11]) -> usize {
    let mut n = i;
    let mut at = text.len();
    loop {
        at -= 1;
        text[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    text[at - 1] = b'_';
    at
}

/// Appends `_i` (without the formatting machinery: this runs for every new name).
pub(crate) fn write_suffix(s: &mut String, i: u32) {
    // `_` and up to ten digits, written from the end. (Two digits at a time
    // from a table took fewer instructions and no less time.)
    let mut text = [b'_'; 11];
    let at = digits_of(i, &mut text);
    // SAFETY: `text[at - 1..]` is `_` and ASCII digits, so UTF-8 (checking
    // it took half of this function's time on the scope-entry path).
    s.push_str(unsafe { std::str::from_utf8_unchecked(&text[at - 1..]) });
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

    #[test]
    fn generated_names_in_a_run_count_as_used() {
        let mut names = NamesInUse::default();
        for expected in ["l", "l_1", "l_2", "l_3"] {
            assert_eq!(names.unique("l"), expected);
        }
        assert!(names.contains("L_2") && !names.contains("l_4") && !names.contains("l_02"));
        // An explicit use of a generated name counts it up from 1.
        assert_eq!(names.unique("l_2"), "l_2_1");
        assert_eq!(names.unique("l_2"), "l_2_2");
        // An explicit name ahead of the run is skipped, and the run goes on past it.
        assert_eq!(names.unique("l_5"), "l_5");
        assert_eq!(names.unique("l"), "l_4");
        assert_eq!(names.unique("l"), "l_6");
        assert_eq!(names.unique("l"), "l_7");
        assert_eq!(names.uses.len(), 3, "l, l_2 and l_5 have entries; l_1 .. l_7 do not");
    }

    #[test]
    fn names_across_chunks_and_longer_than_one_are_found() {
        let mut names = NamesInUse::default();
        let long = "x".repeat(3 * CHUNK);
        let all: Vec<String> = (0..5000).map(|i| format!("layer{i}/Kernel/Initializer/mul")).collect();
        for (i, name) in all.iter().enumerate() {
            assert_eq!(names.unique(name), *name);
            if i == 2500 {
                assert_eq!(names.unique(&long), long);
            }
        }
        assert!(names.names.len() > 2, "the names took several chunks");
        let saved = names.clone();
        for name in &all {
            assert_eq!(names.unique(name), format!("{name}_1"));
        }
        assert_eq!(names.unique(&long), format!("{long}_1"));
        assert_eq!(names.unique("after/the/copy"), "after/the/copy");
        // A copy (an undo savepoint) is unchanged by later uses, and takes new names.
        let mut restored = saved;
        assert!(!restored.contains("after/the/copy") && !restored.contains(&format!("{long}_1")));
        assert_eq!(restored.unique(&all[4999].to_uppercase()), format!("{}_1", all[4999].to_uppercase()));
        assert_eq!(restored.unique(&long), format!("{long}_1"));
        assert_eq!(restored.unique("after/the/copy"), "after/the/copy");
    }

    #[test]
    fn a_suffixed_name_taken_before_its_base_is_skipped() {
        let mut names = NamesInUse::default();
        assert_eq!(names.unique("d_2"), "d_2");
        assert_eq!(names.unique("E_1"), "E_1");
        for expected in ["d", "d_1", "d_3", "d_4"] {
            assert_eq!(names.unique("d"), expected);
        }
        assert_eq!(names.unique("e"), "e");
        assert_eq!(names.unique("e"), "e_2", "E_1 is in use, whatever its case");
        // A suffixed name of a suffixed name: `d_3` is in d's run.
        assert_eq!(names.unique("d_3_1"), "d_3_1");
        assert_eq!(names.unique("d_3"), "d_3_2");
    }

    #[test]
    fn suffixes_are_written_as_format_writes_them() {
        let edges = [9_999, 10_000, 99_999, 100_000, 1_000_000_000, u32::MAX - 1, u32::MAX];
        for i in (0..=1_000).chain(edges) {
            let mut s = String::from("n");
            write_suffix(&mut s, i);
            assert_eq!(s, format!("n_{i}"));
            assert_eq!(split_suffix(&s), (i > 0).then_some(("n", i)));
        }
    }

    #[test]
    fn same_text_is_equality() {
        let text = b"abcdefghijklmnopqrstuvwxyz";
        for n in 0..=text.len() {
            let a = &text[..n];
            assert!(same_text(a, a));
            assert!(!same_text(a, &text[..n.saturating_sub(1)]) || n == 0);
            // Every single differing byte is seen.
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] = b'_';
                assert!(!same_text(a, &b), "{n} bytes, differing at {at}");
            }
        }
    }

    #[test]
    fn counted_up_suffixes_match_formatted_ones() {
        let mut text = SuffixText::default();
        // Counting up through every carry to five digits, then jumps, repeats and edges.
        let jumps = [7, 7, 3, 0, 1, 99_999, 100_000, 100_001, 1, 999_999_999, 1_000_000_000, u32::MAX - 1, u32::MAX, 2];
        for i in (1..=12_000).chain(jumps) {
            let mut s = String::from("n");
            text.write(&mut s, i);
            assert_eq!(s, format!("n_{i}"));
        }
    }

    #[test]
    fn split_suffix_reads_only_written_suffixes() {
        assert_eq!(split_suffix("a_12"), Some(("a", 12)));
        assert_eq!(split_suffix("a_1_2"), Some(("a_1", 2)));
        assert_eq!(split_suffix("_5"), Some(("", 5)));
        assert_eq!(split_suffix("a_4294967295"), Some(("a", u32::MAX)));
        for name in ["a", "a_", "a_0", "a_01", "a_x", "a_99999999999", "a_4294967296", "a12", "12", "a_b_3x", "a_3_"] {
            assert_eq!(split_suffix(name), None, "{name}");
        }
    }
}
