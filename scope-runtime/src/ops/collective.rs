//! Ops computed together with the other processes of an MPI job.

use super::{OpKind, build_op};
use crate::base::{Result, Tensor};
use crate::graph::{Attr, Collective};
use std::sync::Arc;

/// `MpiAllreduce`: one op over `tensors`, each output the mean of its input
/// over the job's processes as `kernel` computes it (the kernel knows their
/// names and how to fuse them). Named `MpiAllreduce` in the current name scope.
pub(crate) fn mpi_allreduce(kernel: Arc<dyn Collective>, tensors: &[&Tensor]) -> Result<Vec<Tensor>> {
    Ok(build_op(OpKind::MpiAllreduce, None, tensors, &[], Attr::Collective(kernel))?.outputs.into_vec())
}
