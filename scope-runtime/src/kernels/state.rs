//! Kernels with effects: assignments to variables.

use super::Inputs;
use crate::base::Value;
use crate::graph::{Arg, Attr, KernelResult};
use crate::variable::Variable;

fn variable(attr: &Attr) -> KernelResult<&Variable> {
    match attr {
        Attr::Variable(v) => Ok(v),
        _ => Err("missing variable"),
    }
}

/// The value of the second input stored in the variable; the output is the new value.
pub(crate) fn assign_kernel(attr: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    let var = variable(attr)?;
    let mut inputs = Inputs::new(args);
    inputs.next()?; // the variable's own value
    let value = inputs.next()?.into_value();
    var.update(|_| Ok(value))
}

/// The variable plus the second input, atomically; the output is the new value.
pub(crate) fn assign_add_kernel(attr: &Attr, args: Vec<Arg<'_>>, spares: &mut Vec<Value>) -> KernelResult {
    accumulate(attr, args, spares, super::math::add_kernel)
}

/// The variable minus the second input, atomically; the output is the new value.
pub(crate) fn assign_sub_kernel(attr: &Attr, args: Vec<Arg<'_>>, spares: &mut Vec<Value>) -> KernelResult {
    accumulate(attr, args, spares, super::math::sub_kernel)
}

fn accumulate(attr: &Attr, args: Vec<Arg<'_>>, spares: &mut Vec<Value>, op: crate::graph::OneFn) -> KernelResult {
    let var = variable(attr)?;
    let mut inputs = Inputs::new(args);
    inputs.next()?; // the variable's own value, read again under its lock below
    let delta = inputs.next()?;
    var.update(|old| op(&Attr::None, vec![Arg::Shared(old), Arg::Shared(delta.value())], spares))
}
