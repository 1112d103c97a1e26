//! The manifest: every variable's name, shape, dtype, collections and call
//! sites, sorted, for reviews and snapshot tests.

use crate::base::DType;
use crate::base::Shape;
use crate::base::error::FileKind;
use crate::base::{Error, Result};
use crate::graph::{CollectionItem, Graph};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Every variable of a graph with what a checkpoint or a reviewer cares about,
/// sorted by name; plus the warnings recorded while building.
///
/// `Display` prints one line per variable followed by its call sites;
/// [`summary`](Manifest::summary) leaves the call sites out, so that a test
/// can snapshot the names a model produces and a rename fails CI instead of
/// breaking a checkpoint.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// variable_scope("mlp").with(|_| get_variable("w", [2, 3]).trainable(false).get())?;
/// assert_eq!(
///     graph.manifest().summary(),
///     "mlp/w (2, 3) float32 global_variables\n"
/// );
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Manifest {
    /// One entry per variable, sorted by name.
    pub entries: Vec<ManifestEntry>,
    /// Warnings about the graph (such as default-named scopes inside `reuse = auto`).
    pub warnings: Vec<String>,
}

/// One variable of a [`Manifest`].
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestEntry {
    /// The variable's name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
    /// Its dtype.
    pub dtype: DType,
    /// The collections it is in.
    pub collections: Vec<String>,
    /// Where it was created (`file:line:column`).
    pub created_at: String,
    /// Where it was shared afterwards, in first-seen order.
    pub reused_at: Vec<String>,
}

impl Graph {
    /// The manifest of every variable of the graph; see [`Manifest`].
    pub fn manifest(&self) -> Manifest {
        let state = self.read();
        let mut keys: Vec<&String> = state.collections.keys().collect();
        keys.sort();
        let variables = state.collections.get(crate::graph::GLOBAL_VARIABLES).map(Vec::as_slice).unwrap_or_default();
        let mut entries: Vec<ManifestEntry> = variables
            .iter()
            .filter_map(|item| match item {
                CollectionItem::Variable(v) => Some(v),
                CollectionItem::Tensor(_) => None,
            })
            .map(|v| {
                let mut reused: Vec<_> = v.reused_at().iter().map(ToString::to_string).collect();
                // Shards are shared through their partitioned variable.
                if let Some((base, _)) = v.store_name().rsplit_once("/part_")
                    && let Some(whole) = state.variables.partitioned.get(base)
                {
                    reused.extend(whole.reused_at().iter().map(ToString::to_string));
                }
                ManifestEntry {
                    name: v.name().to_owned(),
                    shape: Shape::from(v.shape()),
                    dtype: v.dtype(),
                    collections: keys
                        .iter()
                        .filter(|k| {
                            state.collections[k.as_str()]
                                .iter()
                                .any(|i| matches!(i, CollectionItem::Variable(x) if x == v))
                        })
                        .map(|k| k.to_string())
                        .collect(),
                    created_at: v.created_at().to_string(),
                    reused_at: reused,
                }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Manifest { entries, warnings: state.warnings.clone() }
    }
}

impl Manifest {
    /// One line per variable (`name shape dtype collections`), without call sites.
    pub fn summary(&self) -> String {
        self.entries
            .iter()
            .map(|e| format!("{} {} {} {}\n", e.name, e.shape, e.dtype, e.collections.join(",")))
            .collect()
    }
}

impl fmt::Display for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{} {} {} {}", e.name, e.shape, e.dtype, e.collections.join(","))?;
            writeln!(f, "    created at {}", e.created_at)?;
            for site in &e.reused_at {
                writeln!(f, "    reused at {site}")?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Reads a manifest's text, `name (d0, d1) dtype collections` lines as
/// [`Manifest::summary`] writes them: each variable's dtype and shape by name.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the
/// first line that is not a manifest line.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, read_manifest, Graph};
/// let graph = Graph::new();
/// graph.with_default(|| get_variable("w", [2, 3]).get())?;
/// let path = std::env::temp_dir().join(format!("manifest-doc-{}.txt", std::process::id()));
/// std::fs::write(&path, graph.manifest().summary()).unwrap();
/// assert_eq!(read_manifest(&path)?["w"], ("float32".to_owned(), vec![2, 3]));
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn read_manifest(path: impl AsRef<Path>) -> Result<BTreeMap<String, (String, Vec<usize>)>> {
    let path = path.as_ref().display().to_string();
    let path = path.as_str();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: FileKind::Manifest,
        path: path.to_owned(),
        source,
    })?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let parsed = (|| {
            let (name, rest) = line.split_once(" (")?;
            let (dims, rest) = rest.split_once(") ")?;
            let dtype = rest.split_whitespace().next()?;
            let shape: Option<Vec<usize>> =
                dims.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().ok()).collect();
            Some((name.to_owned(), (dtype.to_owned(), shape?)))
        })();
        let (name, info) = parsed.ok_or_else(|| Error::Format {
            path: path.to_owned(),
            format: FileKind::Manifest,
            reason: format!("not a manifest line (`name (shape) dtype collections`): {line:?}"),
        })?;
        out.insert(name, info);
    }
    Ok(out)
}
