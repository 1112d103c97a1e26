//! Data-parallel training on MPI, as Horovod does it for TF1: every process
//! builds the same graph, rank 0's variables are broadcast to all, and each
//! step averages the gradients over the processes by variable name before
//! the update.

use super::{GradAndVar, Optimizer};
use crate::base::{Error, Operation, Result, Tensor};
use crate::graph::{Graph, get_default_graph};
use crate::kernels::collective::{Allreduce, Comm, Entry, agree, value_bytes, value_from_bytes};
use crate::ops::mpi_allreduce;
use crate::scope::name_scope;
use crate::variable::Variable;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// Horovod's default fusion threshold (`HOROVOD_FUSION_THRESHOLD`, 64 MiB).
pub const DEFAULT_FUSION_THRESHOLD: usize = 64 << 20;

/// The processes of an MPI job: this one's `rank` among `size` (Horovod's
/// `hvd.rank()`, `hvd.size()`).
///
/// A program started by a launcher (`mpirun -np 4 prog`, or `srun` with
/// PMIx) starts MPI at the first [`World::init`]; one started alone is a
/// job of one process (rank 0 of 1) and starts nothing. MPI is finalized
/// when the last handle drops (the `World` and the ops built with it):
/// keep the first `World` in `main`.
///
/// # Examples
///
/// ```
/// use scope_runtime::mpi::World;
/// let world = World::init()?; // run without mpirun: one process
/// assert_eq!((world.rank(), world.size()), (0, 1));
/// assert!(world.is_root());
/// assert_eq!(world.shard(10), 0..10);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct World(Arc<Comm>);

/// What the gradient averaging of a process has cost so far (see
/// [`World::allreduce_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllreduceStats {
    /// How many `MpiAllreduce` runs.
    pub runs: u64,
    /// The bytes of gradients they averaged.
    pub bytes: u64,
    /// Their wall time in all: the check that ranks agree, packing, MPI, unpacking.
    pub total: Duration,
    /// The last run's wall time.
    pub last: Duration,
}

impl World {
    /// The job this process belongs to, MPI started on the first call when
    /// a launcher started the process.
    ///
    /// # Errors
    ///
    /// [`Error::Mpi`] when MPI was finalized already (every earlier `World`
    /// dropped) or offers no thread support.
    pub fn init() -> Result<World> {
        Comm::world().map(World)
    }

    /// This process's rank, 0 to `size - 1`.
    pub fn rank(&self) -> usize {
        self.0.rank()
    }

    /// How many processes the job has.
    pub fn size(&self) -> usize {
        self.0.size()
    }

    /// Whether this is rank 0, the one that writes checkpoints and events.
    pub fn is_root(&self) -> bool {
        self.rank() == 0
    }

    /// This rank's share of `n` items: contiguous, sizes differing by at
    /// most one, earlier ranks taking the larger ones.
    ///
    /// # Examples
    ///
    /// ```
    /// # use scope_runtime::mpi::World;
    /// let world = World::init()?;
    /// let rows: Vec<usize> = (0..32).collect();
    /// let mine = &rows[world.shard(rows.len())]; // all 32 alone; 16 each on 2 ranks
    /// assert_eq!(mine.len(), 32 / world.size());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn shard(&self, n: usize) -> Range<usize> {
        shard(n, self.rank(), self.size())
    }

    /// Gives every rank rank 0's values of the graph's global variables
    /// (trainable or not: optimizer slots and the global step too), by name:
    /// run it once before the first step, after rank 0 restored a
    /// checkpoint if there is one (Horovod's `broadcast_global_variables(0)`).
    /// The other ranks never compute their own initial values.
    ///
    /// # Errors
    ///
    /// [`Error::RankMismatch`] naming the first variable whose name, dtype
    /// or shape differs between ranks (then nothing changed on any rank).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, mpi::World, Graph, Init};
    /// let world = World::init()?;
    /// let graph = Graph::with_seed(world.rank() as u64); // different seeds…
    /// let _g = graph.as_default();
    /// let w = get_variable("w", [2, 2]).get()?;
    /// world.broadcast_variables(&graph)?; // …rank 0's values on every rank
    /// assert_eq!(w.value()?.shape(), &[2, 2]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn broadcast_variables(&self, graph: &Graph) -> Result<()> {
        let mut vars = graph.global_variables(None)?;
        vars.sort_by(|a, b| a.name().cmp(b.name()));
        vars.dedup_by(|a, b| a.name() == b.name());
        let entries: Vec<Entry<'_>> =
            vars.iter().map(|v| Entry { name: v.name(), dtype: v.dtype(), shape: v.shape() }).collect();
        agree(&self.0, "the global variables broadcast from rank 0", &entries, 0)?;
        if self.size() == 1 {
            return Ok(());
        }
        // No run sees the variables half replaced.
        let _alone = graph.variables_alone();
        let mut bytes = Vec::new();
        if self.is_root() {
            for v in &vars {
                value_bytes(&*v.snapshot()?, &mut bytes);
            }
        }
        self.0.broadcast_bytes(&mut bytes);
        if self.is_root() {
            return Ok(());
        }
        let mut at = 0;
        for v in &vars {
            let Some((value, used)) = value_from_bytes(v.dtype(), v.shape(), &bytes[at..]) else {
                return Err(Error::Mpi {
                    problem: format!("rank 0 sent too few bytes for variable `{}`: it holds other variables", v.name()),
                });
            };
            at += used;
            v.assign(value)?;
        }
        Ok(())
    }

    /// Replaces each of `values` by its mean over the ranks (one plain MPI
    /// allreduce): for metrics such as a loss summed over an epoch, or to
    /// time MPI itself.
    ///
    /// # Examples
    ///
    /// ```
    /// # use scope_runtime::mpi::World;
    /// let world = World::init()?;
    /// let mut loss = [0.25, 1.0];
    /// world.average(&mut loss);
    /// assert_eq!(loss, [0.25, 1.0]); // alone: unchanged
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn average(&self, values: &mut [f64]) {
        if self.size() > 1 {
            self.0.all_reduce_sum(values);
            let n = self.size() as f64;
            values.iter_mut().for_each(|v| *v /= n);
        }
    }

    /// As [`average`](Self::average), for `f32` values (the gradients' dtype).
    pub fn average_f32(&self, values: &mut [f32]) {
        if self.size() > 1 {
            self.0.all_reduce_sum(values);
            let scale = 1.0 / self.size() as f32;
            values.iter_mut().for_each(|v| *v *= scale);
        }
    }

    /// Waits until every rank calls it.
    pub fn barrier(&self) {
        self.0.barrier();
    }

    /// What averaging gradients has cost this process so far.
    pub fn allreduce_stats(&self) -> AllreduceStats {
        let [runs, bytes, total, last] = self.0.stats();
        AllreduceStats { runs, bytes, total: Duration::from_nanos(total), last: Duration::from_nanos(last) }
    }
}

/// An optimizer whose gradients are averaged over the ranks of an MPI job
/// before its update (Horovod's `hvd.DistributedOptimizer`).
///
/// [`compute_gradients`](Optimizer::compute_gradients) asks the wrapped
/// optimizer for the gradients, then adds one `MpiAllreduce` op over them,
/// under `Distributed<name>_Allreduce/`, whose outputs are their means over
/// the ranks; the updates are the wrapped optimizer's, named as without MPI
/// (`Adam/update_w/ApplyAdam`, slots `w/Adam`), so checkpoints are the same.
/// A training step stays one `Session::run` of the op `minimize` returns.
///
/// The op matches gradients across ranks by their variable's name, in name
/// order, so ranks may create variables in any order. Each run first checks
/// that every rank averages the same names, dtypes and shapes (one 8-byte
/// allgather), and fails on all ranks with [`Error::RankMismatch`] naming
/// the variable and the ranks when not. Gradients of one dtype travel in
/// buffers of up to [`fusion_threshold`](Self::fusion_threshold) bytes.
///
/// Collectives pair up by order: every rank runs the same train ops in the
/// same order, each from one thread at a time (as under Horovod); a rank
/// that runs none while the others wait stalls them, as any MPI program.
///
/// # Examples
///
/// ```
/// use scope_runtime::mpi::{DistributedOptimizer, World};
/// use scope_runtime::{get_variable, mul, reduce_sum, AdamOptimizer, Graph, Init, Optimizer, Session};
/// let world = World::init()?;
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
/// let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
/// let opt = DistributedOptimizer::new(&world, AdamOptimizer::new(0.1));
/// let grads = opt.compute_gradients(&loss, None)?;
/// assert_eq!(grads[0].0.as_ref().unwrap().name(), "DistributedAdam_Allreduce/MpiAllreduce");
/// let train = opt.apply_gradients(&grads, None)?;
/// world.broadcast_variables(&graph)?;
/// Session::new(&graph).run_targets(&[&train], &[])?;
/// assert!((w.value()?.to_f64_vec()[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct DistributedOptimizer<O> {
    inner: O,
    world: World,
    fusion_threshold: usize,
}

impl<O: Optimizer> DistributedOptimizer<O> {
    /// `optimizer`, its gradients averaged over `world`.
    pub fn new(world: &World, optimizer: O) -> DistributedOptimizer<O> {
        DistributedOptimizer { inner: optimizer, world: world.clone(), fusion_threshold: DEFAULT_FUSION_THRESHOLD }
    }

    /// The most bytes of gradients one MPI call carries (default 64 MiB, as
    /// Horovod): gradients of one dtype are packed in name order into
    /// buffers up to this size; a larger gradient goes alone. Every rank
    /// must use the same threshold (checked at each step).
    #[must_use]
    pub fn fusion_threshold(mut self, bytes: usize) -> DistributedOptimizer<O> {
        self.fusion_threshold = bytes;
        self
    }

    /// The wrapped optimizer (for its slots).
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// The pairs with each gradient replaced by its mean over the ranks,
    /// by one `MpiAllreduce` op in the current name scope (what
    /// `compute_gradients` adds, for gradients computed or changed otherwise,
    /// such as clipped ones).
    ///
    /// # Errors
    ///
    /// [`Error::Optimizer`] when a variable is listed twice; those of the op's
    /// construction ([`Error::OpDType`] for a gradient that is not a float).
    pub fn average_gradients(&self, grads_and_vars: Vec<GradAndVar>) -> Result<Vec<GradAndVar>> {
        // By variable name: every rank reduces the same gradients in the same order.
        let mut order: Vec<usize> = (0..grads_and_vars.len()).filter(|&i| grads_and_vars[i].0.is_some()).collect();
        order.sort_by(|&a, &b| grads_and_vars[a].1.name().cmp(grads_and_vars[b].1.name()));
        if let Some(w) = order.windows(2).find(|w| grads_and_vars[w[0]].1.name() == grads_and_vars[w[1]].1.name()) {
            return Err(Error::Optimizer {
                optimizer: self.inner.name().to_owned(),
                problem: format!(
                    "variable `{}` is listed twice; its gradients would be averaged by one name",
                    grads_and_vars[w[0]].1.name()
                ),
            });
        }
        if order.is_empty() {
            return Ok(grads_and_vars);
        }
        let grads: Vec<&Tensor> = order.iter().filter_map(|&i| grads_and_vars[i].0.as_ref()).collect();
        let names = order.iter().map(|&i| grads_and_vars[i].1.name().to_owned()).collect();
        let kernel = Allreduce::new(self.world.0.clone(), names, self.fusion_threshold);
        let averaged = mpi_allreduce(Arc::new(kernel), &grads)?;
        let mut out = grads_and_vars;
        for (i, g) in order.into_iter().zip(averaged) {
            out[i].0 = Some(g);
        }
        Ok(out)
    }
}

impl<O: Optimizer> Optimizer for DistributedOptimizer<O> {
    type Prepared = O::Prepared;

    /// The wrapped optimizer's: updates and slots are named as without MPI.
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        self.inner.create_slots(vars)
    }

    fn prepare(&self) -> Result<O::Prepared> {
        self.inner.prepare()
    }

    fn apply_dense(&self, prepared: &O::Prepared, grad: &Tensor, var: &Variable) -> Result<Operation> {
        self.inner.apply_dense(prepared, grad, var)
    }

    fn finish(&self, prepared: &O::Prepared, updates: &[Operation], name: &str) -> Result<Operation> {
        self.inner.finish(prepared, updates, name)
    }

    /// The wrapped optimizer's gradients, averaged over the ranks under
    /// `Distributed<name>_Allreduce/` (Horovod's scope, with the optimizer's
    /// name where Horovod puts its class name).
    fn compute_gradients(&self, loss: &Tensor, var_list: Option<&[Variable]>) -> Result<Vec<GradAndVar>> {
        get_default_graph()?.undo_on_error(|| {
            let grads = self.inner.compute_gradients(loss, var_list)?;
            let _scope = name_scope(format!("Distributed{}_Allreduce", self.inner.name()).as_str()).enter()?;
            self.average_gradients(grads)
        })
    }
}

/// Rank `rank`'s share of `n` items among `size` ranks (see [`World::shard`]).
fn shard(n: usize, rank: usize, size: usize) -> Range<usize> {
    let (base, extra) = (n / size, n % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shards_cover_every_item_once_sizes_differing_by_at_most_one() {
        assert_eq!((0..3).map(|r| super::shard(8, r, 3)).collect::<Vec<_>>(), [0..3, 3..6, 6..8]);
        assert_eq!((0..4).map(|r| super::shard(2, r, 4)).collect::<Vec<_>>(), [0..1, 1..2, 2..2, 2..2]);
        assert_eq!(super::shard(32, 1, 2), 16..32);
    }
}
