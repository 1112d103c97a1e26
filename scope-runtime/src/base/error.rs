//! The one error type: every message names the full variable or scope and says what to do.

use crate::base::dtype::DType;
use crate::base::reuse::Reuse;
use crate::base::shape::Shape;
use std::panic::Location;

/// Result with scopeflow's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A source location recorded with `#[track_caller]`.
pub type CallSite = &'static Location<'static>;

/// Everything that can go wrong while building or running a scoped graph.
///
/// Messages name the full variable or scope, the reuse mode in force and the
/// scope it came from, and where a variable was first created.
/// [`Error::kind`] groups the variants as TensorFlow's errors are grouped.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, ErrorKind, Graph, Reuse};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let _s = variable_scope("foo").reuse(Reuse::True).enter()?;
/// let err = get_variable("v", [1]).get().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(err.to_string().contains("`foo/v` does not exist"));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No graph is the default on this thread.
    #[error(
        "no default graph on this thread; make one current with `graph.as_default()` or `graph.with_default(|| …)`"
    )]
    NoDefaultGraph,

    /// A scope, tensor or variable of one graph was used with another.
    #[error(
        "`{name}` belongs to another graph than the default graph of this thread; make its graph the default first"
    )]
    GraphMismatch {
        /// The scope, tensor or variable.
        name: String,
    },

    /// A tensor or op handle whose node is no longer in its graph: a call
    /// that failed (an optimizer's `minimize`, `gradients`) took out the
    /// nodes it had made, this one among them.
    #[error(
        "`{name}` was made by a call that failed and was undone, so its graph no longer holds it; build it again after fixing that call"
    )]
    StaleHandle {
        /// The tensor or op.
        name: String,
    },

    /// `get_variable` without reuse on a name that exists.
    #[error(
        "variable `{name}` already exists, disallowed: reuse is `{reuse}` (set by {origin}) and it was created at {created_at}; \
         set `reuse = true` or `reuse = auto` on the scope to share it"
    )]
    VariableExists {
        /// Full name of the variable.
        name: String,
        /// The reuse mode in force.
        reuse: Reuse,
        /// Where that reuse mode came from (`scope \`a\``, or `the root scope`).
        origin: String,
        /// Where the existing variable was created.
        created_at: CallSite,
    },

    /// `get_variable` under `reuse = true` on a name that does not exist.
    #[error(
        "variable `{name}` does not exist, or was not created with get_variable: reuse is `true` (set by {origin}), \
         which only shares variables created earlier; use `reuse = auto` to create it when missing"
    )]
    VariableNotFound {
        /// Full name of the variable.
        name: String,
        /// Where `reuse = true` came from.
        origin: String,
    },

    /// A shared variable requested with another shape.
    #[error(
        "trying to share variable `{name}`, but the requested shape {requested} differs from its shape {found} \
         (created at {created_at}); request the same shape, or none"
    )]
    ShapeMismatch {
        /// Full name of the variable.
        name: String,
        /// The shape asked for (boxed to keep `Error` small).
        requested: Box<Shape>,
        /// The variable's shape.
        found: Box<Shape>,
        /// Where the variable was created.
        created_at: CallSite,
    },

    /// A shared variable requested with another dtype (possibly the scope's dtype).
    #[error(
        "trying to share variable `{name}`, but the requested dtype {requested} differs from its dtype {found} \
         (created at {created_at}); request {found}, also where a scope sets a dtype"
    )]
    DTypeMismatch {
        /// Full name of the variable.
        name: String,
        /// The dtype asked for.
        requested: DType,
        /// The variable's dtype.
        found: DType,
        /// Where the variable was created.
        created_at: CallSite,
    },

    /// Partitioning asked for disagrees with the stored variable.
    #[error("{}", partition_message(name, problem))]
    PartitionMismatch {
        /// Full name of the variable.
        name: String,
        /// What disagrees.
        problem: PartitionProblem,
    },

    /// A name that TensorFlow would reject.
    #[error(
        "`{name}` is not a valid {kind} name{}: names must match [A-Za-z0-9.][A-Za-z0-9_.\\\\/>-]* \
         (inside a name scope they may also start with `_`, `-`, `\\` or `/`)",
        if *nested { "" } else { " at the root" }
    )]
    InvalidName {
        /// The rejected name (for variables, the full name).
        name: String,
        /// What was being named.
        kind: NameKind,
        /// Whether the name was checked inside a name scope.
        nested: bool,
    },

    /// A scope nested so deep that its name passes the length scopeflow allows.
    #[error(
        "a scope name of {len} bytes (more than {limit}), inside `{start}…`: scopes are nested too deep; \
         leave scopes you are done with, or nest fewer"
    )]
    ScopeTooDeep {
        /// The beginning of the enclosing scope's name.
        start: String,
        /// The length the name would have.
        len: usize,
        /// The longest allowed.
        limit: usize,
    },

    /// `variable_scope` with neither a name, a captured scope nor a default name.
    #[error("variable_scope needs a name, a captured VariableScope or a default_name (inside scope `{current}`)")]
    MissingScopeName {
        /// The variable scope current at the call.
        current: String,
    },

    /// `reuse = true | auto` together with a default name.
    #[error(
        "`reuse = {reuse}` cannot be used with default name `{default_name}`: every call opens a fresh scope \
         (`{default_name}`, `{default_name}_1`, …) so nothing would be shared; give the scope a fixed name instead"
    )]
    DefaultNameWithReuse {
        /// The default name.
        default_name: String,
        /// The reuse mode that was asked for.
        reuse: Reuse,
    },

    /// A new variable without a fully defined shape and without a value initializer.
    #[error(
        "the shape of new variable `{name}` must be fully defined, but it is {shape}; pass a shape, or an initializer value"
    )]
    MissingShape {
        /// Full name of the variable.
        name: String,
        /// The shape given.
        shape: Shape,
    },

    /// A shape given together with a value initializer.
    #[error(
        "variable `{name}` is initialized from a value, so its shape comes from the value; do not pass a shape too"
    )]
    ShapeWithValue {
        /// Full name of the variable.
        name: String,
    },

    /// An initializer that cannot produce the variable's dtype.
    #[error("initializer `{initializer}` cannot initialize variable `{name}` of dtype {dtype}; {hint}")]
    InitializerDType {
        /// Full name of the variable.
        name: String,
        /// The initializer.
        initializer: &'static str,
        /// The variable's dtype.
        dtype: DType,
        /// What would work.
        hint: &'static str,
    },

    /// An L2 regularizer on a variable that is not a float (TF's `L2Loss` takes floats only).
    #[error(
        "the L2 regularizer of new variable `{name}` takes a float variable, but it is {dtype}; \
         give this variable `Regularizer::None` (a scope's regularizer applies to every variable inside)"
    )]
    RegularizerDType {
        /// Full name of the variable.
        name: String,
        /// Its dtype.
        dtype: DType,
    },

    /// A variable assigned as a whole that is partitioned.
    #[error("variable `{name}` is partitioned: assign to each of its shards (`Variable::shards`) instead")]
    PartitionedAssign {
        /// Base name of the variable.
        name: String,
    },

    /// An optimizer given a loss, variables or gradients it cannot train with.
    #[error("optimizer `{optimizer}`: {problem}")]
    Optimizer {
        /// The optimizer's name (`GradientDescent`, …).
        optimizer: String,
        /// What is wrong and what to do, naming the tensor or variable.
        problem: String,
    },

    /// A learning rate or a learning-rate schedule that cannot be built.
    #[error("learning rate `{name}`: {problem}")]
    LearningRate {
        /// The tensor or schedule.
        name: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A layer (`layers::dense`, …) given options or inputs it cannot build with.
    #[error("layer `{layer}`: {problem}")]
    Layer {
        /// The layer's scope (`dense_1`) or, before it has one, its kind.
        layer: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A variable's value too large to hold in memory.
    #[error(
        "variable `{name}` of shape {shape} and dtype {dtype} needs {bytes} bytes, more than the {limit} a value may take (the machine's memory; set SCOPEFLOW_MAX_VALUE_BYTES to change the limit)"
    )]
    ValueTooLarge {
        /// The variable's name.
        name: String,
        /// Its shape.
        shape: Box<Shape>,
        /// Its dtype.
        dtype: DType,
        /// The bytes it needs while being made (`u64::MAX`: more than that).
        bytes: u64,
        /// The limit.
        limit: u64,
    },

    /// A total loss asked of a graph that holds no loss.
    #[error(
        "no losses in the graph: make one with a `losses::` function (`losses::mean_squared_error`), or add a loss tensor to the `losses` collection"
    )]
    NoLosses,

    /// Gradients asked of a tensor that is not a float.
    #[error(
        "gradients of `{tensor}`, a {dtype} tensor: gradients flow through float tensors only; cast it to a float first"
    )]
    GradientDType {
        /// The tensor's name.
        tensor: String,
        /// Its dtype.
        dtype: DType,
    },

    /// A gradient asked through an op that has none in scopeflow.
    #[error(
        "no gradient for op `{op}` ({op_type}): {reason}; keep it off the path from the xs to the ys (stop_gradient)"
    )]
    NoGradient {
        /// The op.
        op: String,
        /// Its type.
        op_type: &'static str,
        /// Why.
        reason: &'static str,
    },

    /// A partitioner that cannot split the requested shape.
    #[error(
        "partitioned variable `{name}` needs a fully defined shape of rank 1 or more, but its shape is {shape}; {hint}"
    )]
    PartitionShape {
        /// Full name of the variable.
        name: String,
        /// The shape given.
        shape: Shape,
        /// What would work.
        hint: &'static str,
    },

    /// A scope guard dropped or exited while scopes entered after it were still open.
    #[error(
        "scope `{scope}` was exited while `{innermost}`, entered after it, is still open; exit scopes in reverse order"
    )]
    ScopeExitOrder {
        /// The scope exited.
        scope: String,
        /// The innermost open scope.
        innermost: String,
    },

    /// An op whose inputs' shapes do not fit together.
    #[error("op `{op}` ({op_type}) cannot take inputs of shapes {}: {rule}", shape_list(shapes))]
    OpShape {
        /// Full name the op would have had.
        op: String,
        /// The op type.
        op_type: &'static str,
        /// The input shapes.
        shapes: Vec<Shape>,
        /// The rule they break.
        rule: &'static str,
    },

    /// An op whose inputs have different or unsupported dtypes.
    #[error("op `{op}` ({op_type}) cannot take inputs of dtypes {dtypes:?}; cast them to one dtype first")]
    OpDType {
        /// Full name the op would have had.
        op: String,
        /// The op type.
        op_type: &'static str,
        /// The input dtypes.
        dtypes: Vec<DType>,
    },

    /// A collection filter that is not a valid regular expression.
    #[error("collection filter `{pattern}` is not a valid regular expression: {source}")]
    InvalidFilter {
        /// The filter.
        pattern: String,
        /// Why it is invalid.
        source: regex_lite::Error,
    },

    /// Data whose length does not match the shape it is given.
    #[error("{elements} elements cannot fill shape {}", Shape::from(shape))]
    ValueShape {
        /// The shape.
        shape: Vec<usize>,
        /// The number of elements given.
        elements: usize,
    },

    /// A node name that another node already has (a name ending in `/` is not made unique).
    #[error(
        "a node named `{name}` already exists in the graph; names ending in `/` are used as is, so give this one another name"
    )]
    DuplicateNode {
        /// The node name.
        name: String,
    },

    /// A value that TensorFlow would not convert to the requested dtype.
    #[error(
        "cannot convert a {from} value to {to}{}; convert it explicitly (`Value::cast`) if that is meant",
        for_name(name)
    )]
    ValueConversion {
        /// The variable or op the value was for, if known.
        name: Option<String>,
        /// The value's dtype.
        from: DType,
        /// The requested dtype.
        to: DType,
    },

    /// A fetch needs a placeholder that was not fed.
    #[error("placeholder `{placeholder}` must be fed: the fetches depend on it; pass it in `feeds`")]
    FeedMissing {
        /// The placeholder's name.
        placeholder: String,
    },

    /// A fed value of the wrong dtype or shape.
    #[error(
        "cannot feed a {dtype} value of shape {} to `{tensor}`, which takes {expected_dtype} values of shape {expected_shape}",
        Shape::from(shape)
    )]
    FeedMismatch {
        /// The fed tensor.
        tensor: String,
        /// Its static shape (boxed to keep `Error` small).
        expected_shape: Box<Shape>,
        /// Its dtype.
        expected_dtype: DType,
        /// The value's shape.
        shape: Vec<usize>,
        /// The value's dtype.
        dtype: DType,
    },

    /// An op whose inputs, known only at run time, do not fit.
    #[error("op `{op}` ({op_type}) failed at run time: {reason}")]
    Kernel {
        /// The op's name.
        op: String,
        /// Its type.
        op_type: &'static str,
        /// What did not fit.
        reason: &'static str,
    },

    /// A step of a loop op's body (`Scan`: `dynamic_rnn`'s loop, or its
    /// gradient) that failed when the graph ran.
    #[error("loop `{op}` failed at step {step}: {source}")]
    LoopStep {
        /// The loop op's name (`rnn/scan`).
        op: String,
        /// The step, counting from 0 (for a gradient, backwards from the last).
        step: usize,
        /// The body's error.
        source: Box<Error>,
    },

    /// The processes of an MPI job hold different tensors where they must
    /// hold the same: they built different graphs.
    #[cfg(feature = "mpi")]
    #[error(
        "the ranks of the MPI job disagree on {what}: `{name}` is {}; every rank must build the same graph \
         (the same variable names, dtypes and shapes) and run the same ops in the same order",
        ranks_list(found)
    )]
    RankMismatch {
        /// What the ranks compared (the gradients of an op, the variables broadcast).
        what: String,
        /// The first variable, by name, that differs.
        name: String,
        /// Each description of it (`float32 of shape (3, 2)`, `missing`) and the ranks that hold it.
        found: Vec<(String, Vec<usize>)>,
    },

    /// MPI cannot be started or used as scopeflow needs it.
    #[cfg(feature = "mpi")]
    #[error("MPI: {problem}")]
    Mpi {
        /// What is wrong and what to do.
        problem: String,
    },

    /// A file that cannot be read or written: a checkpoint, a manifest or an events file.
    #[error("cannot read or write {what} file `{path}`: {source}")]
    Io {
        /// What the file holds.
        what: FileKind,
        /// The file or directory.
        path: String,
        /// What the file system said.
        source: std::io::Error,
    },

    /// A file that is not valid in the format it was read as.
    #[error("`{path}` is not a valid {format} file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// The format it was read as.
        format: FileKind,
        /// What is wrong with it.
        reason: String,
    },

    /// A saved value whose dtype or shape differs from the variable's.
    #[error(
        "checkpoint value `{checkpoint_name}` has {what} {found} but variable `{name}` has {what} {expected}; \
         nothing was restored (rename with RestoreOptions::remap, or build the variable with the saved {what})"
    )]
    CheckpointMismatch {
        /// The variable.
        name: String,
        /// The checkpoint's name for it.
        checkpoint_name: String,
        /// What differs.
        what: Mismatch,
        /// The variable's dtype or shape (`float32`, `(2, 3)`).
        expected: String,
        /// The saved dtype (TensorFlow's name when scopeflow has no such dtype) or shape.
        found: String,
    },

    /// A strict restore with missing or unexpected names.
    #[error(
        "strict restore from `{path}` failed, nothing was restored: missing {:?}, unexpected {:?}",
        missing.iter().map(|(m, hint)| match hint { Some(h) => format!("{m} (did you mean {h}?)"), None => m.clone() }).collect::<Vec<_>>(),
        unexpected
    )]
    CheckpointIncomplete {
        /// The checkpoint.
        path: String,
        /// Variables without a value, each with the closest unused checkpoint name.
        missing: Vec<(String, Option<String>)>,
        /// Checkpoint names no variable took.
        unexpected: Vec<String>,
    },

    /// A dimension asked for that is not known statically.
    #[error("dimension {axis} of `{tensor}` (shape {shape}) is not known; give it a fixed size")]
    UnknownDim {
        /// Name of the tensor.
        tensor: String,
        /// The axis asked for.
        axis: usize,
        /// The tensor's static shape.
        shape: Shape,
    },

    /// A value assigned to a variable of another shape or dtype.
    #[error(
        "cannot assign a {dtype} value of shape {} to variable `{name}` of dtype {expected_dtype} and shape {}",
        Shape::from(shape),
        Shape::from(expected_shape)
    )]
    AssignMismatch {
        /// Full name of the variable.
        name: String,
        /// The variable's shape.
        expected_shape: Vec<usize>,
        /// The variable's dtype.
        expected_dtype: DType,
        /// The value's shape.
        shape: Vec<usize>,
        /// The value's dtype.
        dtype: DType,
    },

    /// A variable's constraint that built a value of another shape or dtype.
    #[error(
        "the constraint of variable `{name}` returned a {dtype} tensor of shape {shape}, but the variable is {expected_dtype} \
         of shape {}; a constraint must return a value of the variable's shape and dtype",
        Shape::from(expected_shape)
    )]
    ConstraintOutput {
        /// Full name of the variable.
        name: String,
        /// The variable's shape.
        expected_shape: Vec<usize>,
        /// The variable's dtype.
        expected_dtype: DType,
        /// The shape the constraint returned.
        shape: Box<Shape>,
        /// The dtype the constraint returned.
        dtype: DType,
    },
}

/// What a [`Error::PartitionMismatch`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionProblem {
    /// No partitioner given, but the variable is partitioned.
    ExistsPartitioned,
    /// A partitioner given, but the variable is not partitioned.
    ExistsUnpartitioned,
    /// Different partitions than the stored ones.
    Partitions {
        /// Partitions asked for.
        requested: Vec<usize>,
        /// Partitions stored.
        found: Vec<usize>,
    },
    /// Shards `name/part_*` exist that do not form the requested partitioning.
    Shards {
        /// Number of shards asked for.
        requested: usize,
    },
}

fn partition_message(name: &str, problem: &PartitionProblem) -> String {
    match problem {
        PartitionProblem::ExistsPartitioned => format!(
            "no partitioner was given, but a partitioned version of variable `{name}` exists (`{name}/part_0`, …); \
             pass the same partitioner, or reuse it with `reuse = true`"
        ),
        PartitionProblem::ExistsUnpartitioned => format!(
            "a partitioner was given, but variable `{name}` exists unpartitioned; drop the partitioner to share it"
        ),
        PartitionProblem::Partitions { requested, found } => format!(
            "trying to reuse partitioned variable `{name}` with partitions {requested:?}, but it has partitions {found:?}; \
             use the same partitioner"
        ),
        PartitionProblem::Shards { requested } => format!(
            "variable `{name}` already has shards `{name}/part_*` that do not form {requested} partitions; \
             use the partitioning it was created with"
        ),
    }
}

/// `float32 of shape (3, 3) on ranks 0 and 2, missing on rank 1`.
#[cfg(feature = "mpi")]
fn ranks_list(found: &[(String, Vec<usize>)]) -> String {
    let on = |ranks: &[usize]| match ranks {
        [one] => format!("rank {one}"),
        [most @ .., last] => {
            format!("ranks {} and {last}", most.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
        }
        [] => "no rank".to_owned(),
    };
    found.iter().map(|(what, ranks)| format!("{what} on {}", on(ranks))).collect::<Vec<_>>().join(", ")
}

fn for_name(name: &Option<String>) -> String {
    name.as_ref().map(|n| format!(" for `{n}`")).unwrap_or_default()
}

fn shape_list(shapes: &[Shape]) -> String {
    shapes.iter().map(Shape::to_string).collect::<Vec<_>>().join(" and ")
}

/// What a name was given to, for [`Error::InvalidName`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A variable or name scope.
    Scope,
    /// An op or `Variable::new`.
    Op,
    /// A variable created by `get_variable` (checked as a full name at the root).
    Variable,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Scope => "scope",
            NameKind::Op => "op",
            NameKind::Variable => "variable",
        })
    }
}

/// Coarse classes of [`Error`], matching the kinds of error TensorFlow raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A variable exists and reuse is not on.
    AlreadyExists,
    /// A variable does not exist and `reuse = true`.
    NotFound,
    /// A shape disagrees.
    ShapeMismatch,
    /// A dtype disagrees.
    DTypeMismatch,
    /// A name is not valid.
    InvalidName,
    /// Partitioning disagrees.
    PartitionMismatch,
    /// An argument or combination of arguments is not valid.
    InvalidArgument,
    /// Graph, thread or scope-nesting misuse.
    Usage,
    /// A file could not be read or written.
    Io,
}

/// What differs in an [`Error::CheckpointMismatch`].
///
/// # Examples
///
/// ```
/// use scope_runtime::{ErrorKind, Error, Mismatch};
/// let err = Error::CheckpointMismatch {
///     name: "w".into(),
///     checkpoint_name: "w".into(),
///     what: Mismatch::DType,
///     expected: "float32".into(),
///     found: "int32".into(),
/// };
/// assert_eq!(err.kind(), ErrorKind::DTypeMismatch);
/// assert!(err.to_string().contains("has dtype int32 but variable `w` has dtype float32"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mismatch {
    /// The dtype.
    DType,
    /// The shape.
    Shape,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mismatch::DType => "dtype",
            Mismatch::Shape => "shape",
        })
    }
}

/// What a file read or written holds, for [`Error::Io`] and [`Error::Format`].
///
/// # Examples
///
/// ```
/// let err = scope_runtime::read_safetensors("no/such/file.safetensors").unwrap_err();
/// assert_eq!(err.kind(), scope_runtime::ErrorKind::Io);
/// assert!(err.to_string().starts_with("cannot read or write safetensors file `no/such/file.safetensors`"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A safetensors checkpoint.
    Safetensors,
    /// A TF1 checkpoint (a tensor bundle: `.index` and `.data-*` files).
    Tf1Bundle,
    /// A model manifest (`Manifest`'s text).
    Manifest,
    /// A TensorBoard events file.
    Events,
    /// TF1's `checkpoint` state file, naming a directory's latest checkpoint.
    CheckpointState,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Safetensors => "safetensors",
            FileKind::Tf1Bundle => "TF1 checkpoint (tensor bundle)",
            FileKind::Manifest => "manifest",
            FileKind::Events => "TensorBoard events",
            FileKind::CheckpointState => "checkpoint state",
        })
    }
}

impl Error {
    /// The class of this error.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{Error, ErrorKind};
    /// assert_eq!(Error::NoDefaultGraph.kind(), ErrorKind::Usage);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::VariableExists { .. } => ErrorKind::AlreadyExists,
            Error::VariableNotFound { .. } => ErrorKind::NotFound,
            Error::ShapeMismatch { .. } | Error::OpShape { .. } | Error::AssignMismatch { .. } => {
                ErrorKind::ShapeMismatch
            }
            Error::DTypeMismatch { .. } => ErrorKind::DTypeMismatch,
            Error::InvalidName { .. } => ErrorKind::InvalidName,
            Error::PartitionMismatch { .. } => ErrorKind::PartitionMismatch,
            Error::MissingScopeName { .. }
            | Error::DefaultNameWithReuse { .. }
            | Error::MissingShape { .. }
            | Error::ShapeWithValue { .. }
            | Error::InitializerDType { .. }
            | Error::RegularizerDType { .. }
            | Error::NoGradient { .. }
            | Error::GradientDType { .. }
            | Error::Optimizer { .. }
            | Error::NoLosses
            | Error::ScopeTooDeep { .. }
            | Error::ValueTooLarge { .. }
            | Error::LearningRate { .. }
            | Error::Layer { .. }
            | Error::PartitionedAssign { .. }
            | Error::PartitionShape { .. }
            | Error::InvalidFilter { .. }
            | Error::ValueShape { .. }
            | Error::UnknownDim { .. }
            | Error::DuplicateNode { .. }
            // TensorFlow raises a TypeError for op input dtypes, as for other bad arguments.
            | Error::OpDType { .. }
            | Error::ValueConversion { .. }
            | Error::FeedMissing { .. }
            | Error::FeedMismatch { .. }
            | Error::Kernel { .. }
            | Error::LoopStep { .. }
            | Error::Format { .. }
            | Error::CheckpointIncomplete { .. }
            | Error::ConstraintOutput { .. } => ErrorKind::InvalidArgument,
            Error::Io { .. } => ErrorKind::Io,
            Error::CheckpointMismatch { what: Mismatch::Shape, .. } => ErrorKind::ShapeMismatch,
            Error::CheckpointMismatch { what: Mismatch::DType, .. } => ErrorKind::DTypeMismatch,
            Error::NoDefaultGraph
            | Error::GraphMismatch { .. }
            | Error::StaleHandle { .. }
            | Error::ScopeExitOrder { .. } => ErrorKind::Usage,
            #[cfg(feature = "mpi")]
            Error::RankMismatch { .. } | Error::Mpi { .. } => ErrorKind::Usage,
        }
    }
}
