//! The words the macros and the runtime must agree on, written once.
//!
//! TensorFlow's rules for valid names, the initializers and dtypes known by
//! name, and the edit distance behind "did you mean" hints. `scope-macros`
//! compiles this same file (`#[path = "../../scope-runtime/src/base/lexicon.rs"]
//! mod lexicon;`), so what the macros accept at compile time is what the
//! runtime means at run time. Hence the file stands alone: std only, no paths
//! into either crate, and no doc-test code (each crate sees it at another path);
//! the unit tests at the end run in both crates.

/// Whether `c` may appear in a TensorFlow name after its first character:
/// `[A-Za-z0-9_.\\/>-]`, the body of both name patterns below.
pub const fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '\\' | '/' | '>' | '-')
}

/// [`is_name_char`] of each byte, as a table: every scope entered checks its
/// name, and one load per byte takes a third of the instructions of the
/// comparisons it replaces. (A byte past ASCII starts or continues a
/// character that is not a name character.)
const NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = is_name_char(b as u8 as char);
        b += 1;
    }
    table
};

/// Whether the byte `b` may appear in a name after its first character.
#[inline]
fn is_name_byte(b: u8) -> bool {
    NAME_BYTES[b as usize]
}

/// TensorFlow's `_VALID_OP_NAME_REGEX`: `[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*`.
/// Names at the root (ops, root scopes, full variable names) must match it,
/// so `a`, `.hidden` and `1st/_x` are valid and `""`, `_`, `-a` and `a b` are not.
pub fn is_valid_op_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'.') && bytes.all(is_name_byte)
}

/// TensorFlow's `_VALID_SCOPE_NAME_REGEX`: `[A-Za-z0-9_.\\/>-]*`.
/// Scope names inside a name scope must match it, so `_` and `-x` are valid
/// there (and so is `""`); `a b` is not.
pub fn is_valid_scope_name(name: &str) -> bool {
    name.bytes().all(is_name_byte)
}

/// Whether `name` passes TensorFlow's check where a name scope is opened:
/// `""` always does (it resets to the root); otherwise a name opened inside a
/// name scope (`nested`) must be a valid scope name, and one opened at the root
/// a valid op name.
pub fn is_valid_name(name: &str, nested: bool) -> bool {
    name.is_empty() || if nested { is_valid_scope_name(name) } else { is_valid_op_name(name) }
}

/// An initializer known by its TensorFlow name (`initializer = he_normal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitializerName {
    /// TensorFlow's name, as written: `he_normal`, `random_uniform`.
    pub name: &'static str,
    /// Its arguments, in order. With one, it is the tuple field of the runtime
    /// constructor (`Init::Constant(value)`); with more, they are the names of
    /// its fields (`Init::RandomUniform { minval, maxval }`).
    pub params: &'static [&'static str],
    /// The runtime constructor, a variant or associated constant of `Init`:
    /// `HeNormal` stands for `Init::HeNormal`.
    pub init: &'static str,
}

impl InitializerName {
    /// How many arguments it takes: 0 for `zeros`, 2 for `random_normal`.
    pub fn arity(&self) -> usize {
        self.params.len()
    }
}

/// The initializers known by name, in the order messages list them.
pub const INITIALIZERS: &[InitializerName] = &[
    InitializerName { name: "zeros", params: &[], init: "Zeros" },
    InitializerName { name: "ones", params: &[], init: "Ones" },
    InitializerName { name: "glorot_uniform", params: &[], init: "GlorotUniform" },
    InitializerName { name: "glorot_normal", params: &[], init: "GlorotNormal" },
    InitializerName { name: "he_normal", params: &[], init: "HeNormal" },
    InitializerName { name: "he_uniform", params: &[], init: "HeUniform" },
    InitializerName { name: "constant", params: &["value"], init: "Constant" },
    InitializerName { name: "random_normal", params: &["mean", "stddev"], init: "RandomNormal" },
    InitializerName { name: "truncated_normal", params: &["mean", "stddev"], init: "TruncatedNormal" },
    InitializerName { name: "random_uniform", params: &["minval", "maxval"], init: "RandomUniform" },
];

/// The initializer TensorFlow calls `name`, if it is one of [`INITIALIZERS`].
pub fn initializer(name: &str) -> Option<&'static InitializerName> {
    INITIALIZERS.iter().find(|i| i.name == name)
}

/// A dtype and its two accepted spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DTypeName {
    /// The variant of the runtime's `DType`: `F32` stands for `DType::F32`.
    pub variant: &'static str,
    /// Rust's name of the element type: `f32`.
    pub rust: &'static str,
    /// TensorFlow's name (`tf.float32.name`), the one messages and files use: `float32`.
    pub tf: &'static str,
}

/// Every dtype, in the order messages list them.
pub const DTYPES: &[DTypeName] = &[
    DTypeName { variant: "F32", rust: "f32", tf: "float32" },
    DTypeName { variant: "F64", rust: "f64", tf: "float64" },
    DTypeName { variant: "I32", rust: "i32", tf: "int32" },
    DTypeName { variant: "I64", rust: "i64", tf: "int64" },
    DTypeName { variant: "Bool", rust: "bool", tf: "bool" },
];

/// The dtype spelled `name`, in Rust's spelling (`f32`) or TensorFlow's (`float32`).
pub fn dtype(name: &str) -> Option<&'static DTypeName> {
    DTYPES.iter().find(|d| d.rust == name || d.tf == name)
}

/// The Levenshtein distance between `a` and `b`, counted in characters: the
/// fewest insertions, deletions and substitutions that turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The candidate nearest to `target` by [`edit_distance`], when close enough
/// to suggest: at most a third of `target`'s length in bytes, and at least 2,
/// edits away. Of equally near candidates the smallest string wins.
pub fn closest<S: AsRef<str>>(target: &str, candidates: impl IntoIterator<Item = S>) -> Option<S> {
    let limit = (target.len() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(target, c.as_ref()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|(da, a), (db, b)| da.cmp(db).then_with(|| a.as_ref().cmp(b.as_ref())))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_and_scope_names_follow_tensorflow() {
        assert!(is_valid_op_name("a"));
        assert!(is_valid_op_name(".hidden"));
        assert!(is_valid_op_name("1st/_x"));
        assert!(is_valid_op_name("a/b.c-d>e\\f"));
        assert!(!is_valid_op_name("_"));
        assert!(!is_valid_op_name("-a"));
        assert!(!is_valid_op_name("a b"));
        assert!(!is_valid_op_name(""));
        assert!(!is_valid_op_name("größe"));
        assert!(is_valid_scope_name("_"));
        assert!(is_valid_scope_name("-x"));
        assert!(is_valid_scope_name(""));
        assert!(!is_valid_scope_name("a b"));
        assert!(!is_valid_scope_name("é"));
    }

    #[test]
    fn the_byte_table_is_the_character_rule() {
        for b in 0..=u8::MAX {
            assert_eq!(is_name_byte(b), b.is_ascii() && is_name_char(char::from(b)), "byte {b}");
        }
    }

    #[test]
    fn empty_names_pass_and_nesting_relaxes_the_first_character() {
        assert!(is_valid_name("", false));
        assert!(is_valid_name("", true));
        assert!(!is_valid_name("_x", false));
        assert!(is_valid_name("_x", true));
        assert!(!is_valid_name("a b", true));
    }

    #[test]
    fn tables_name_each_spelling_once() {
        assert_eq!(initializer("random_uniform").map(InitializerName::arity), Some(2));
        assert_eq!(initializer("constant").map(|i| i.init), Some("Constant"));
        assert_eq!(initializer("xavier"), None);
        assert_eq!(dtype("float64").map(|d| d.variant), Some("F64"));
        assert_eq!(dtype("i64").map(|d| d.tf), Some("int64"));
        assert_eq!(dtype("float16"), None);
        for (i, a) in INITIALIZERS.iter().enumerate() {
            assert!(INITIALIZERS[i + 1..].iter().all(|b| a.name != b.name && a.init != b.init));
        }
        for (i, a) in DTYPES.iter().enumerate() {
            assert!(DTYPES[i + 1..].iter().all(|b| a.variant != b.variant && a.rust != b.rust && a.tf != b.tf));
        }
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("bias", "bais"), 2);
        assert_eq!(edit_distance("größe", "grosse"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
    }

    #[test]
    fn closest_suggests_near_names_only() {
        assert_eq!(closest("MLP/layer1/bais", ["MLP/layer1/bias", "MLP/layer2/kernel"]), Some("MLP/layer1/bias"));
        assert_eq!(closest("emb", ["MLP/layer1/bias"]), None);
        assert_eq!(closest("ab", ["b".to_owned(), "a".to_owned()]), Some("a".to_owned()));
    }
}
