//! The gradient of the loop op `Scan`: one `ScanGrad` op, backpropagation
//! through time with the body's own gradient.

use super::{OpKind, build_op};
use crate::base::{Result, Tensor};
use crate::graph::{Attr, GradOp};

/// From the gradients of a `Scan`'s final states and stacked outputs (its
/// stacked states are internal: their gradients are ignored), the gradients
/// of its initial states, sequences and captures; none for integer inputs.
pub(super) fn scan(op: &GradOp<'_>, grad: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
    let Attr::Loop(body) = op.attr else { unreachable!("a Scan op carries its body") };
    body.prepare_gradient()?;
    let s = body.signature();
    let (states, rest) = op.inputs.split_at(s.states);
    let (sequences, captures) = rest.split_at(s.sequences);
    let history = &op.outputs[s.states + s.outputs..];
    let inputs: Vec<&Tensor> =
        sequences.iter().chain(captures).chain(history).chain(&grad[..s.states + s.outputs]).collect();
    let built = build_op(OpKind::ScanGrad, None, &inputs, &[], op.attr.clone())?;
    let mut grads: Vec<Tensor> = built.outputs.into_vec();
    // ScanGrad's outputs: states, then sequences and captures; the op's inputs: states, sequences, captures.
    let d_states: Vec<Tensor> = grads.drain(..s.states).collect();
    Ok(d_states
        .into_iter()
        .chain(grads)
        .zip(states.iter().chain(sequences).chain(captures))
        .map(|(g, x)| x.dtype.is_floating().then_some(g))
        .collect())
}
