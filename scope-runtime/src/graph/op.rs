//! What a node's op is: the shape of one row of the op table. The rows
//! themselves live in `ops`; a node points at its row, so nothing below `ops`
//! needs to know which ops exist.

use super::Attr;
use crate::base::{DType, Result, Shape, Tensor, Value};
use smallvec::SmallVec;

/// One row of the op table: everything about one op type.
pub(crate) struct OpDef {
    /// TensorFlow's op type, as a GraphDef spells it (`AddV2`).
    pub(crate) type_name: &'static str,
    /// The name TensorFlow's Python API gives it by default (`Add`).
    pub(crate) default_name: &'static str,
    /// How many inputs it takes.
    pub(crate) arity: Arity,
    /// Which dtypes its inputs may have.
    pub(crate) dtypes: DTypes,
    /// Its outputs' static shapes and dtypes, from its inputs and attributes.
    pub(crate) infer: InferFn,
    /// How it computes.
    pub(crate) kernel: Kernel,
    /// Whether its kernel may take an input's buffer for its output.
    pub(crate) in_place: bool,
    /// Its gradient: how the gradients of its outputs flow to its inputs.
    pub(crate) grad: Grad,
    /// What the graph may know of its outputs' values before a run.
    pub(crate) values: Values,
}

/// What the graph knows of an op's output values while it is built (read by
/// shape functions and gradients, as TF's shape refiner and `constant_value`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Values {
    /// Nothing beyond constant folding.
    Computed,
    /// Output `i` is the shape of input `i` (`Shape`, `ShapeN`): as much of
    /// it as that input's static shape knows.
    ShapesOfInputs,
}

impl std::fmt::Debug for OpDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.type_name)
    }
}

/// How many inputs an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// One or more (concatenations, stacks).
    Many,
}

impl Arity {
    pub(crate) fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::Many => n >= 1,
        }
    }
}

/// Which dtypes an op's inputs may have. All but `Mixed` ask every input to
/// have one dtype; `Mixed` ops check their inputs in their shape function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DTypes {
    /// Any dtype.
    Any,
    /// Numbers: not bool.
    Numeric,
    /// Floats only.
    Float,
    /// Inputs of different roles (indices, conditions): the shape function checks them.
    Mixed,
}

impl DTypes {
    pub(crate) fn admits(self, d: DType) -> bool {
        match self {
            DTypes::Any | DTypes::Mixed => true,
            DTypes::Numeric => d != DType::Bool,
            DTypes::Float => d.is_floating(),
        }
    }
}

/// The static shape and dtype of each output.
pub(crate) type Outputs = SmallVec<[(Shape, DType); 1]>;

/// Why inputs do not fit an op at build time.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    /// The inputs' dtypes.
    DType,
    /// The shape rule they break.
    Shape(&'static str),
}

/// What the graph knows of an op's inputs' values, which a shape function
/// may read: shapes, axes and sizes given as tensors. Looked up when asked
/// (most shape functions ask nothing).
#[derive(Clone, Copy)]
pub(crate) struct Consts<'a> {
    state: &'a super::GraphState,
    inputs: &'a [&'a Tensor],
}

impl<'a> Consts<'a> {
    /// What `state` knows of the values of `inputs`.
    pub(crate) fn new(state: &'a super::GraphState, inputs: &'a [&'a Tensor]) -> Consts<'a> {
        Consts { state, inputs }
    }

    /// Input `i`'s value, when the graph knows it (a constant's, or a folded one).
    pub(crate) fn get(&self, i: usize) -> Option<&'a Value> {
        self.state.known_value(self.inputs.get(i)?)
    }

    /// What is known of input `i`'s value as a shape: for an input that is
    /// the shape of another tensor (`Shape`, `ShapeN`), that tensor's
    /// static shape.
    pub(crate) fn shape_value(&self, i: usize) -> Option<&'a Shape> {
        self.state.shape_of_shape(self.inputs.get(i)?)
    }
}

/// An op's shape function.
pub(crate) type InferFn = fn(&[&Tensor], &Attr, Consts<'_>) -> std::result::Result<Outputs, Fail>;

/// An input as the session holds it: borrowed, or owned when no later step
/// needs it, so that kernels may work in place.
///
/// An owned input stays where the session keeps it and the kernel takes it
/// from there ([`into_value`](Arg::into_value)), so that an `Arg` is two
/// words and a step's arguments are cheap to build and pass.
pub(crate) enum Arg<'a> {
    Shared(&'a Value),
    /// Always `Some` while the `Arg` lives.
    Owned(&'a mut Option<Value>),
}

impl Arg<'_> {
    pub(crate) fn value(&self) -> &Value {
        match self {
            Arg::Shared(v) => v,
            Arg::Owned(v) => v.as_ref().expect("an owned input is taken only with its `Arg`"),
        }
    }

    /// The value, copied only when borrowed.
    pub(crate) fn into_value(self) -> Value {
        Held::from(self).into_value()
    }
}

/// An input taken from its [`Arg`]: borrowed, or owned and moved out of
/// the session's hands. What kernels match on by element type.
pub(crate) enum Held<'a> {
    Shared(&'a Value),
    Owned(Value),
}

impl<'a> From<Arg<'a>> for Held<'a> {
    fn from(arg: Arg<'a>) -> Held<'a> {
        match arg {
            Arg::Shared(v) => Held::Shared(v),
            Arg::Owned(v) => Held::Owned(v.take().expect("an owned input is taken only with its `Arg`")),
        }
    }
}

impl Held<'_> {
    pub(crate) fn value(&self) -> &Value {
        match self {
            Held::Shared(v) => v,
            Held::Owned(v) => v,
        }
    }

    /// The value, copied only when borrowed.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Held::Shared(v) => v.clone(),
            Held::Owned(v) => v,
        }
    }
}

/// A kernel's failure: inputs, known only at run time, that do not fit.
pub(crate) type KernelResult<T = Value> = std::result::Result<T, &'static str>;

/// A kernel's inputs, on the stack up to eight (ApplyAdam's seven fit;
/// ops with more, such as a long AddN or Concat, spill to the heap).
pub(crate) type Args<'a> = smallvec::SmallVec<[Arg<'a>; 8]>;

/// A kernel with one output. `spares` holds buffers of earlier runs that an
/// output may take instead of allocating.
pub(crate) type OneFn = fn(&Attr, Args<'_>, &mut Vec<Value>) -> KernelResult;

/// A kernel with several outputs.
pub(crate) type ManyFn = fn(&Attr, Args<'_>) -> KernelResult<Vec<Value>>;

/// A kernel that changes the variable of its attributes and outputs its new
/// value, shared with the variable. It is handed its inputs after the first,
/// the variable itself, which it changes under the variable's lock.
pub(crate) type UpdateFn = fn(&Attr, Args<'_>) -> KernelResult<std::sync::Arc<Value>>;

/// Why a loop kernel failed: its own inputs, or a step of its body (with the body's error).
#[derive(Debug)]
pub(crate) enum LoopFailure {
    /// The loop's inputs do not fit.
    Kernel(&'static str),
    /// Step `step` of the body failed.
    Step { step: usize, error: Box<crate::base::Error> },
}

impl From<&'static str> for LoopFailure {
    fn from(reason: &'static str) -> LoopFailure {
        LoopFailure::Kernel(reason)
    }
}

/// A loop kernel (`Scan`): it runs a body subgraph once per step, so a run
/// of it is never folded at build time, and a failed step keeps its error.
pub(crate) type LoopFn = fn(&Attr, Args<'_>) -> std::result::Result<Vec<Value>, LoopFailure>;

/// How an op computes.
#[derive(Clone, Copy)]
pub(crate) enum Kernel {
    /// Its value is the constant in its attributes.
    Const,
    /// Its value is fed to each run.
    Placeholder,
    /// Its value is its variable's, read when a step uses it.
    Variable,
    /// Its value is its input variable's, read when a step uses it (TF's `v/read`, an Identity).
    Read,
    /// Nothing: it exists for its control dependencies.
    NoOp,
    /// A function of its inputs with one output.
    One(OneFn),
    /// A function of its inputs with several outputs.
    Many(ManyFn),
    /// An update of the variable in its attributes.
    Update(UpdateFn),
    /// A loop over a body subgraph, with several outputs.
    Loop(LoopFn),
    /// A computation shared with the other processes of a job, the
    /// [`Collective`] in its attributes.
    #[cfg(feature = "mpi")]
    Collective,
}

/// A kernel that computes together with the other processes of an MPI job
/// (a collective such as an allreduce). Unlike the table's function kernels
/// it carries state (the communicator, the names of what it reduces) and
/// fails with a full [`Error`](crate::base::Error): which variable, which ranks.
#[cfg(feature = "mpi")]
pub(crate) trait Collective: Send + Sync + std::fmt::Debug {
    /// Computes the outputs of the op named `op` from its inputs; every
    /// process of the job runs it with inputs of the same names, dtypes and shapes.
    fn compute(&self, op: &str, inputs: Args<'_>) -> Result<Vec<Value>>;
}

impl Kernel {
    /// Whether the op has no inputs and brings a value of its own (`Const`, `Placeholder`, `VariableV2`).
    pub(crate) fn is_source(self) -> bool {
        matches!(self, Kernel::Const | Kernel::Placeholder | Kernel::Variable)
    }
}

/// An op as its gradient sees it: its inputs, outputs and attributes.
pub(crate) struct GradOp<'a> {
    pub(crate) name: &'a str,
    pub(crate) type_name: &'static str,
    pub(crate) inputs: &'a [Tensor],
    pub(crate) outputs: &'a [Tensor],
    pub(crate) attr: &'a Attr,
    /// The value of each input that is a constant (axes, shapes).
    pub(crate) consts: &'a [Option<std::sync::Arc<crate::base::Value>>],
}

/// An op's gradient function: from the op and the gradients of its outputs
/// (one per output, zeros where none flowed), the gradients of its inputs
/// (`None`: none flows), built as ordinary ops in the op's `<name>_grad` scope.
pub(crate) type GradFn = fn(&GradOp<'_>, &[Tensor]) -> Result<Vec<Option<Tensor>>>;

/// How gradients flow through an op.
#[derive(Clone, Copy)]
pub(crate) enum Grad {
    /// Through this function.
    Of(GradFn),
    /// Not at all (TF's `NotDifferentiable`: comparisons, shapes, constants).
    NotDifferentiable,
    /// Not yet: scopeflow has no gradient for it (TF would); `gradients` says so.
    Undefined,
}
