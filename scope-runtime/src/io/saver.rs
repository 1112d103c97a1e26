//! Saving and restoring variables by their scoped names, in TF1 checkpoints
//! or safetensors files.

use super::atomic::write_all;
use super::bundle::{Stored, read_tf1_checkpoint};
use super::bundle_writer::{Tf1Tensor, with_suffix, write_bundle};
use super::wire::tensor_bytes::{decode, encode as to_bytes};
use crate::base::error::{FileKind, Mismatch};
use crate::base::lexicon::closest;
use crate::base::{DType, Error, Result, Shape, Value};
use crate::graph::Graph;
use crate::variable::Variable;
use safetensors::{Dtype as StDtype, SafeTensors, tensor::TensorView};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Saves and restores a graph's variables by name (TF `tf.train.Saver`).
///
/// The path picks the format, as TensorFlow's paths do: a TF1 checkpoint
/// (tensor bundle) at a prefix such as `dir/model.ckpt`, written as
/// `dir/model.ckpt.index` and `dir/model.ckpt.data-00000-of-00001` and
/// recorded in `dir/checkpoint`, which TensorFlow's own `Saver.restore`,
/// `tf.train.load_checkpoint` and `tf.train.latest_checkpoint` read; or a
/// safetensors file, which Python's `safetensors` package reads and writes,
/// for a path ending in `.safetensors`.
///
/// A partitioned variable is saved under its base name, as TensorFlow saves
/// it: in slices in a TF1 checkpoint, whole in safetensors. Files are written
/// to temporary files that are renamed into place once complete, so a crash
/// never leaves half a checkpoint in place of a good one.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, latest_checkpoint, variable_scope, Graph, Saver};
/// let dir = std::env::temp_dir().join(format!("saver-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
///
/// let graph = Graph::with_seed(1);
/// let w = graph.with_default(|| variable_scope("dense").with(|_| get_variable("kernel", [2, 2]).get()))?;
/// let prefix = Saver::new(&graph).save(dir.join("model.ckpt"))?; // TF: saver.save(sess, "dir/model.ckpt")
/// assert!(dir.join("model.ckpt.index").exists() && dir.join("model.ckpt.data-00000-of-00001").exists());
/// assert_eq!(latest_checkpoint(&dir)?, Some(prefix.clone()));
///
/// let other = Graph::new();
/// let w2 = other.with_default(|| variable_scope("dense").with(|_| get_variable("kernel", [2, 2]).get()))?;
/// let report = Saver::new(&other).restore(&prefix)?;
/// assert_eq!(report.applied, ["dense/kernel"]);
/// assert_eq!(w2.value()?, w.value()?);
///
/// Saver::new(&graph).save(dir.join("model.safetensors"))?; // the same values in safetensors
/// Saver::new(&other).restore(dir.join("model.safetensors"))?;
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub struct Saver {
    graph: Graph,
    scope: Option<String>,
    var_list: Option<Vec<Variable>>,
}

/// How [`Saver::save_with`] names and records a checkpoint (TF `Saver.save`'s
/// arguments).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, Graph, SaveOptions, Saver};
/// let dir = std::env::temp_dir().join(format!("save-options-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let graph = Graph::new();
/// graph.with_default(|| get_variable("w", [2]).get())?;
/// let step = SaveOptions { global_step: Some(100), ..Default::default() };
/// let prefix = Saver::new(&graph).save_with(dir.join("model.ckpt"), &step)?;
/// assert_eq!(prefix, dir.join("model.ckpt-100"));
/// assert!(dir.join("model.ckpt-100.index").exists() && dir.join("checkpoint").exists());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveOptions {
    /// Appended to the path as `-<step>` (TF `global_step=`): `model.ckpt-100`,
    /// or `model-100.safetensors` for safetensors.
    pub global_step: Option<i64>,
    /// Record a TF1 checkpoint in its directory's `checkpoint` state file as
    /// the latest one (TF `write_state=True`, the default). The file lists,
    /// relative to the directory, the checkpoints it listed before whose
    /// `.index` still exists, then this one; no checkpoint is ever deleted
    /// (TF's `max_to_keep` is left to the caller).
    pub write_state: bool,
}

impl Default for SaveOptions {
    fn default() -> SaveOptions {
        SaveOptions { global_step: None, write_state: true }
    }
}

/// How a restore matches checkpoint names to variables.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Prefix renames applied to checkpoint names before matching, like
    /// `tf.train.init_from_checkpoint`'s assignment map: `("old/", "new/")`
    /// restores checkpoint `old/w` into variable `new/w`.
    pub remap: Vec<(String, String)>,
    /// Fail, changing nothing, when a variable has no value in the
    /// checkpoint or the checkpoint has values no variable takes.
    pub strict: bool,
}

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RestoreReport {
    /// Variables that got a value, sorted.
    pub applied: Vec<String>,
    /// Variables the checkpoint has no value for, each with the closest unused checkpoint name.
    pub missing: Vec<(String, Option<String>)>,
    /// Checkpoint names no variable took.
    pub unexpected: Vec<String>,
    /// Checkpoint names this restore leaves alone on purpose, which a strict
    /// restore accepts: for a saver of a scope or a var_list, every name
    /// outside its selection; for a saver of the whole graph, the training
    /// state TF1's `Saver` writes beside a model (`global_step`,
    /// `beta1_power`, `beta2_power` in any name scope, and the slots
    /// `<variable>/Adam`, `…/Momentum`, `…/RMSProp_1`, … of a variable
    /// restored), as when an inference model restores a training checkpoint.
    pub not_needed: Vec<String>,
}

impl Saver {
    /// A saver of every variable of `graph`.
    pub fn new(graph: &Graph) -> Saver {
        Saver { graph: graph.clone(), scope: None, var_list: None }
    }

    /// A saver of the variables whose names start with `scope` (a regular
    /// expression matched at the start, as collections are filtered).
    pub fn scope(graph: &Graph, scope: &str) -> Saver {
        Saver { graph: graph.clone(), scope: Some(scope.to_owned()), var_list: None }
    }

    /// A saver of exactly `vars` (TF `Saver(var_list=[…])`), such as the
    /// trainable variables, to restore a model's weights into a graph that
    /// also holds an optimizer's slots.
    ///
    /// ```
    /// use scope_runtime::{get_variable, Graph, Init, Saver};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let w = get_variable("w", [1]).get()?;
    /// let step = get_variable("step", [1]).initializer(Init::Zeros).trainable(false).get()?;
    /// let path = std::env::temp_dir().join(format!("var-list-doc-{}.safetensors", std::process::id()));
    /// Saver::for_variables(&graph, &graph.trainable_variables(None)?).save(&path)?;
    /// let report = Saver::new(&graph).restore(&path)?;
    /// assert_eq!((report.applied, report.missing.len()), (vec!["w".to_owned()], 1));
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn for_variables(graph: &Graph, vars: &[Variable]) -> Saver {
        Saver { graph: graph.clone(), scope: None, var_list: Some(vars.to_vec()) }
    }

    /// The variables saved and restored, by checkpoint name: partitioned
    /// variables whole, under their base names.
    fn variables(&self) -> Result<BTreeMap<String, Variable>> {
        let mut out = BTreeMap::new();
        let vars = match &self.var_list {
            Some(vars) => vars.clone(),
            None => self.graph.global_variables(self.scope.as_deref())?,
        };
        for v in vars {
            let whole = v
                .store_name()
                .rsplit_once("/part_")
                .and_then(|(base, _)| self.graph.variable(base))
                .filter(|p| p.shards().contains(&v));
            let v = whole.unwrap_or(v);
            out.insert(v.name().to_owned(), v);
        }
        Ok(out)
    }

    /// Writes every selected variable's value to `path`, atomically: a TF1
    /// checkpoint at the prefix `path`, recorded in the directory's
    /// `checkpoint` file, or a safetensors file when `path` ends in
    /// `.safetensors`. Returns the path written (TF `Saver.save`'s return value).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be written; the previous checkpoint, if any, stays.
    ///
    /// # Examples
    ///
    /// See [`Saver`] and [`save_with`](Self::save_with).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        self.save_with(path, &SaveOptions::default())
    }

    /// Writes every selected variable's value to `path` as [`save`](Self::save)
    /// does, named and recorded as `options` say. Returns the path written.
    ///
    /// # Errors
    ///
    /// As for [`save`](Self::save).
    ///
    /// # Examples
    ///
    /// See [`SaveOptions`].
    pub fn save_with(&self, path: impl AsRef<Path>, options: &SaveOptions) -> Result<PathBuf> {
        let path = path.as_ref();
        let safetensors = is_safetensors(path);
        let path = match options.global_step {
            None => path.to_owned(),
            Some(step) if safetensors => {
                path.with_file_name(format!("{}-{step}.safetensors", path.file_stem().unwrap_or_default().display()))
            }
            Some(step) => with_suffix(path, &format!("-{step}")),
        };
        let variables = self.variables()?;
        // Every value from one moment: no training step or restore in between.
        let _shared = self.graph.variables_shared();
        if safetensors {
            let values: BTreeMap<String, Value> =
                variables.iter().map(|(name, v)| Ok((name.clone(), v.value()?))).collect::<Result<_>>()?;
            write_safetensors(&path, &values)?;
        } else {
            let tensors =
                variables.iter().map(|(name, v)| Ok((name.clone(), tf1_tensor(v)?))).collect::<Result<Vec<_>>>()?;
            write_bundle(&path, &tensors, options.write_state)?;
        }
        Ok(path)
    }

    /// Restores the selected variables from `path` by name; see [`restore_with`](Self::restore_with).
    ///
    /// # Errors
    ///
    /// As for [`restore_with`](Self::restore_with).
    pub fn restore(&self, path: impl AsRef<Path>) -> Result<RestoreReport> {
        self.restore_with(path, &RestoreOptions::default())
    }

    /// Restores the selected variables from `path`, after applying the
    /// options' renames to checkpoint names. Nothing changes unless the whole
    /// restore succeeds. `path` is a TF1 checkpoint prefix (as TensorFlow's
    /// or [`save`](Self::save) wrote it, or [`latest_checkpoint`](crate::latest_checkpoint)
    /// gives it) or its `.index` file, or a safetensors file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] or [`Error::Format`] for an unreadable,
    /// truncated or corrupt file; [`Error::CheckpointMismatch`] naming the
    /// variable whose saved shape or dtype differs; [`Error::CheckpointIncomplete`]
    /// in strict mode when names are missing or unexpected.
    pub fn restore_with(&self, path: impl AsRef<Path>, options: &RestoreOptions) -> Result<RestoreReport> {
        let path = path.as_ref();
        self.restore_tensors(&path.display().to_string(), read_checkpoint(path)?, options)
    }

    /// Restores the selected variables from a TensorFlow 1 checkpoint written
    /// by `tf.train.Saver` or [`save`](Self::save) (`prefix.index` and
    /// `prefix.data-*`), by name, as [`restore_with`](Self::restore_with) does.
    ///
    /// # Errors
    ///
    /// As for [`restore_with`](Self::restore_with), and those of
    /// [`read_tf1_checkpoint`].
    pub fn restore_tf1(&self, prefix: impl AsRef<Path>, options: &RestoreOptions) -> Result<RestoreReport> {
        let prefix = prefix.as_ref();
        let tensors = read_tf1_checkpoint(prefix)?;
        self.restore_tensors(&prefix.display().to_string(), tensors, options)
    }

    /// Matches checkpoint tensors to variables, then assigns all or nothing.
    fn restore_tensors(
        &self,
        path: &str,
        tensors: BTreeMap<String, Stored>,
        options: &RestoreOptions,
    ) -> Result<RestoreReport> {
        let variables = self.variables()?;
        let renamed = |name: &str| -> String {
            for (old, new) in &options.remap {
                if let Some(rest) = name.strip_prefix(old.as_str()) {
                    return format!("{new}{rest}");
                }
            }
            name.to_owned()
        };
        let by_target: BTreeMap<String, &String> = tensors.keys().map(|n| (renamed(n), n)).collect();
        // Plan every assignment before making any.
        let mut staged: Vec<(&Variable, &Value)> = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        let mut report = RestoreReport::default();
        for (name, var) in &variables {
            let Some(&source) = by_target.get(name) else {
                report.missing.push((name.clone(), None));
                continue;
            };
            used.insert(source.as_str());
            let mismatch = |what, expected: String, found: String| Error::CheckpointMismatch {
                name: name.clone(),
                checkpoint_name: source.clone(),
                what,
                expected,
                found,
            };
            match &tensors[source] {
                Stored::Value(v) if v.dtype() != var.dtype() => {
                    return Err(mismatch(Mismatch::DType, var.dtype().to_string(), v.dtype().to_string()));
                }
                Stored::Value(v) if v.shape() != var.shape() => {
                    let (expected, found) = (Shape::from(var.shape()), Shape::from(v.shape()));
                    return Err(mismatch(Mismatch::Shape, expected.to_string(), found.to_string()));
                }
                Stored::Value(v) => staged.push((var, v)),
                Stored::Unsupported { dtype, .. } => {
                    return Err(mismatch(Mismatch::DType, var.dtype().to_string(), dtype.clone()));
                }
            }
            report.applied.push(name.clone());
        }
        let selection = self.scope.is_some() || self.var_list.is_some();
        // `<base>` or `<base>_<n>`, as TF makes names unique.
        let without_count = |name: &str| -> String {
            name.rsplit_once('_').filter(|(_, n)| n.parse::<u32>().is_ok()).map_or(name, |(b, _)| b).to_owned()
        };
        let training_state = |name: &str| {
            let (scope, last) = name.rsplit_once('/').unwrap_or(("", name));
            let last = without_count(last);
            // Non-slot state, in whatever name scope the optimizer was built.
            let counter = matches!(last.as_str(), "global_step" | "beta1_power" | "beta2_power");
            // A slot: `<restored variable>/<TF optimizer's slot name>[_n]`.
            let slot = matches!(
                last.as_str(),
                "Adam" | "Momentum" | "RMSProp" | "Adagrad" | "Adadelta" | "Ftrl" | "ProximalAdagrad" | "AdagradDA"
            ) && report.applied.iter().any(|a| a == scope);
            counter || slot
        };
        let (not_needed, unexpected): (Vec<String>, Vec<String>) = tensors
            .keys()
            .filter(|n| !used.contains(n.as_str()))
            .cloned()
            .partition(|n| selection || training_state(&renamed(n)));
        report.unexpected = unexpected;
        report.not_needed = not_needed;
        for (name, hint) in &mut report.missing {
            *hint = closest(name, report.unexpected.iter().chain(&report.not_needed).map(|u| renamed(u)));
        }
        if options.strict && (!report.missing.is_empty() || !report.unexpected.is_empty()) {
            return Err(Error::CheckpointIncomplete {
                path: path.to_owned(),
                missing: report.missing,
                unexpected: report.unexpected,
            });
        }
        // All at once for every run and save: none sees half a restore.
        let _alone = self.graph.variables_alone();
        for (var, value) in staged {
            var.assign(value.clone())?;
        }
        Ok(report)
    }
}

/// Writes named values to a safetensors file, atomically: to a uniquely
/// named temporary file beside it, flushed to disk and renamed over `path`.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be written; the previous file, if any, stays.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// let path = std::env::temp_dir().join(format!("write-doc-{}.safetensors", std::process::id()));
/// let values = BTreeMap::from([("w".to_owned(), scope_runtime::Value::from(vec![1.0f32, 2.0]))]);
/// scope_runtime::write_safetensors(&path, &values)?;
/// assert_eq!(scope_runtime::read_safetensors(&path)?.len(), 1);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn write_safetensors(path: impl AsRef<Path>, values: &BTreeMap<String, Value>) -> Result<()> {
    let path = path.as_ref();
    let bytes: Vec<(&str, Encoded)> =
        values.iter().map(|(n, v)| (n.as_str(), (st_dtype(v.dtype()), v.shape().to_vec(), to_bytes(v)))).collect();
    let format = |e: safetensors::SafeTensorError| Error::Format {
        path: path.display().to_string(),
        format: FileKind::Safetensors,
        reason: e.to_string(),
    };
    let views = bytes
        .iter()
        .map(|(n, (d, s, b))| TensorView::new(*d, s.clone(), b).map(|t| (*n, t)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(format)?;
    let data = safetensors::serialize(views, None).map_err(format)?;
    write_all(FileKind::Safetensors, &[(path.to_owned(), data)], || Ok(None))
}

/// Every tensor of a safetensors file.
///
/// # Errors
///
/// [`Error::Io`], [`Error::Format`].
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Stored>> {
    let path = path.as_ref();
    let shown = || path.display().to_string();
    let data =
        std::fs::read(path).map_err(|source| Error::Io { what: FileKind::Safetensors, path: shown(), source })?;
    let file = SafeTensors::deserialize(&data).map_err(|e| Error::Format {
        path: shown(),
        format: FileKind::Safetensors,
        reason: e.to_string(),
    })?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        let stored = match from_st_dtype(view.dtype()) {
            Some(dtype) => Stored::Value(decode(dtype, view.shape(), view.data()).ok_or_else(|| Error::Format {
                path: shown(),
                format: FileKind::Safetensors,
                reason: format!("`{name}` has malformed data"),
            })?),
            None => Stored::Unsupported { dtype: format!("{:?}", view.dtype()), shape: view.shape().to_vec() },
        };
        tensors.insert(name, stored);
    }
    Ok(tensors)
}

/// Every tensor of a checkpoint: a safetensors file, or a TF1 checkpoint
/// given by its prefix (`model.ckpt`) or its `.index` file.
///
/// # Errors
///
/// As for [`read_safetensors`] and [`read_tf1_checkpoint`].
///
/// # Examples
///
/// ```no_run
/// for (name, tensor) in scope_runtime::read_checkpoint("model.ckpt")? {
///     println!("{name} {tensor:?}");
/// }
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn read_checkpoint(path: impl AsRef<Path>) -> Result<BTreeMap<String, Stored>> {
    let path = path.as_ref();
    let text = path.to_string_lossy();
    if let Some(prefix) = text.strip_suffix(".index") {
        return read_tf1_checkpoint(prefix);
    }
    let tf1 = with_suffix(path, ".index").exists();
    if tf1 && path.is_file() && !is_safetensors(path) {
        return Err(Error::Format {
            path: text.into_owned(),
            format: FileKind::Tf1Bundle,
            reason: "it is both a file and the prefix of a TF1 checkpoint: name the `.index` file to read the \
                     checkpoint, or give the file a `.safetensors` name"
                .to_owned(),
        });
    }
    // A path that is neither a safetensors file nor a file at all is a TF1 prefix.
    if is_safetensors(path) || (!tf1 && path.is_file()) { read_safetensors(path) } else { read_tf1_checkpoint(path) }
}

/// Whether `path` names a safetensors file rather than a TF1 checkpoint prefix.
fn is_safetensors(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "safetensors")
}

/// A variable as a TF1 checkpoint holds it: whole, or a partitioned one in
/// its shards' slices, each shard's offset along the partitioned axis.
fn tf1_tensor(v: &Variable) -> Result<Tf1Tensor> {
    if v.shards().is_empty() {
        return Ok(Tf1Tensor::Whole(v.value()?));
    }
    let axis = v.partitions().and_then(|p| p.iter().position(|n| *n > 1)).unwrap_or(0);
    let mut offset = 0;
    let mut slices = Vec::new();
    for shard in v.shards() {
        let extents: Vec<(usize, usize)> = (0..v.shape().len())
            .map(|d| if d == axis { (offset, shard.shape()[d]) } else { (0, v.shape()[d]) })
            .collect();
        offset += shard.shape().get(axis).copied().unwrap_or(0);
        slices.push((extents, shard.value()?));
    }
    Ok(Tf1Tensor::Sliced { dtype: v.dtype(), shape: v.shape().to_vec(), slices })
}

/// A tensor as safetensors stores it: dtype, shape, little-endian bytes.
type Encoded = (StDtype, Vec<usize>, Vec<u8>);

fn st_dtype(d: DType) -> StDtype {
    match d {
        DType::F32 => StDtype::F32,
        DType::F64 => StDtype::F64,
        DType::I32 => StDtype::I32,
        DType::I64 => StDtype::I64,
        DType::Bool => StDtype::BOOL,
    }
}

fn from_st_dtype(d: StDtype) -> Option<DType> {
    Some(match d {
        StDtype::F32 => DType::F32,
        StDtype::F64 => DType::F64,
        StDtype::I32 => DType::I32,
        StDtype::I64 => DType::I64,
        StDtype::BOOL => DType::Bool,
        _ => return None,
    })
}
