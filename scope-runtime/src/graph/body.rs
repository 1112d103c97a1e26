//! A loop op's body as its kernel and gradient see it: a subgraph run once per step.

use crate::base::{DType, Result, Shape, Value};

/// How a loop op's inputs and one step's values divide: the step's time
/// index (implicit), `states` carried from step to step, one slice of each
/// of `sequences` per step, `captures` the same at every step; a step makes
/// the new states and `outputs`, stacked over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LoopSignature {
    pub(crate) states: usize,
    pub(crate) sequences: usize,
    pub(crate) captures: usize,
    pub(crate) outputs: usize,
}

/// A loop op's body (the `Scan` op's attribute). Implemented above the
/// graph layer (the body runs in a session); the kernels call it through this trait.
pub(crate) trait LoopBody: Send + Sync + std::fmt::Debug {
    /// How the op's inputs and outputs divide.
    fn signature(&self) -> LoopSignature;

    /// The static shape and dtype of what one step makes: the new states, then the outputs.
    fn step_outputs(&self) -> &[(Shape, DType)];

    /// One step: from the time index, the states, one slice of each
    /// sequence and the captures, the new states then the outputs.
    fn step(&self, time: &Value, inputs: &[&Value]) -> Result<Vec<Value>>;

    /// Adds the body's gradient to its subgraph, once (when the loop op's
    /// gradient is built, so that its errors show then).
    fn prepare_gradient(&self) -> Result<()>;

    /// One step backwards: from the time index, the step's states, sequence
    /// slices and captures, and the gradients of its new states and outputs,
    /// the gradients of its states, sequence slices and captures.
    fn gradient_step(&self, time: &Value, inputs: &[&Value]) -> Result<Vec<Value>>;
}
