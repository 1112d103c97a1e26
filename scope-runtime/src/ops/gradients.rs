//! `gradients(ys, xs)`: TF's `tf.gradients` as a graph transformation. It adds
//! the ops that compute d(sum of ys)/d(each x) to the graph, under the name
//! scope `gradients` (`gradients_1`, … for later calls), each op's gradient
//! under `<op name>_grad/`, in TensorFlow's order, so the nodes get
//! TensorFlow's names.

use super::indexed::{StandIns, is_stand_in, lookup};
use super::{Gradient, OpKind, build, named, scoped_op, shape};
use crate::base::{Error, Operation, Result, Tensor, Value};
use crate::graph::{Attr, Grad, GradOp, Graph, Output};
use crate::scope::{claim_name, name_scope};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::sync::Arc;

/// The gradients of the sum of `ys` with respect to each of `xs` (TF
/// `tf.gradients(ys, xs)`): `None` for an `x` that no `y` depends on.
///
/// # Errors
///
/// [`Error::GraphMismatch`] for a tensor of another graph,
/// [`Error::NoGradient`] when a path from an `x` to a `y` runs through an op
/// scopeflow has no gradient for, and the errors of the ops it builds.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, gradients, mul, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let (a, b) = (constant(vec![1.0f32, 2.0])?, constant(vec![3.0f32, 4.0])?);
/// let y = mul(&a, &b)?;
/// let grads = gradients(&[&y], &[&a, &b])?;
/// let da = grads[0].as_ref().unwrap();
/// assert_eq!(da.name(), "gradients/Mul_grad/Mul");
/// assert_eq!(Session::new(&graph).run(&[da], &[])?[0].to_f64_vec(), vec![3.0, 4.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn gradients(ys: &[&Tensor], xs: &[&Tensor]) -> Result<Vec<Option<Tensor>>> {
    gradients_with(ys, xs, &[], None)
}

/// [`gradients`] with TF's `grad_ys` (the gradient of each `y`, `None` for
/// ones; missing entries are `None`) and `name` (the scope, default `gradients`).
///
/// # Errors
///
/// As for [`gradients`].
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, gradients_with, identity, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(vec![1.0f32, 2.0])?;
/// let y = identity(&x)?;
/// let dy = constant(vec![10.0f32, 20.0])?;
/// let grads = gradients_with(&[&y], &[&x], &[Some(&dy)], Some("my_grads"))?;
/// let dx = grads[0].as_ref().unwrap();
/// assert_eq!(dx.name(), "my_grads/grad_ys_0");
/// assert_eq!(Session::new(&graph).run(&[dx], &[])?[0].to_f64_vec(), vec![10.0, 20.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn gradients_with(
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: &[Option<&Tensor>],
    name: Option<&str>,
) -> Result<Vec<Option<Tensor>>> {
    gradients_gated(ys, xs, grad_ys, name, false)
}

/// [`gradients_with`], each gradient as TF returns it: a tensor, or for a
/// gather's params an [`IndexedSlices`](crate::IndexedSlices) of the rows gathered (which
/// [`gradients_with`] converts to a tensor).
///
/// # Errors
///
/// As for [`gradients`].
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, embedding_lookup, gradients_indexed_with, Gradient, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let table = constant(ndarray::Array2::<f32>::zeros((5, 2)))?;
/// let rows = embedding_lookup(&table, &constant(vec![4i32, 1])?)?;
/// match gradients_indexed_with(&[&rows], &[&table], &[], None)?.remove(0) {
///     Some(Gradient::Indexed(g)) => assert_eq!(g.indices().name(), "gradients/embedding_lookup_grad/Reshape_1"),
///     other => panic!("expected rows, got {other:?}"),
/// }
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn gradients_indexed_with(
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: &[Option<&Tensor>],
    name: Option<&str>,
) -> Result<Vec<Option<Gradient>>> {
    let _stand_ins = StandIns::new();
    let graph = crate::graph::get_default_graph()?;
    let (grads, _scope) = graph.undo_on_error(|| gradients_in_scope(ys, xs, grad_ys, name, false))?;
    Ok(grads
        .into_iter()
        .map(|g| {
            g.map(|g| match lookup(&g) {
                Some(rows) => Gradient::Indexed(Box::new(rows)),
                None => Gradient::Dense(g),
            })
        })
        .collect())
}

/// [`gradients_with`] with TF's `gate_gradients`: when an op passes
/// gradients to several inputs, they are released together, after all of
/// them are computed (`<op>_grad/tuple/group_deps` and one
/// `tuple/control_dependency` identity each), as optimizers ask by default.
pub(crate) fn gradients_gated(
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: &[Option<&Tensor>],
    name: Option<&str>,
    gate: bool,
) -> Result<Vec<Option<Tensor>>> {
    let _stand_ins = StandIns::new();
    // A call that fails (an op without a gradient on the way) adds nothing.
    crate::graph::get_default_graph()?.undo_on_error(|| {
        let (grads, _scope) = gradients_in_scope(ys, xs, grad_ys, name, gate)?;
        // An `IndexedSlices` becomes a tensor here, in the gradients' scope.
        grads.into_iter().map(|g| g.map(|g| lookup(&g).map_or(Ok(g), |rows| rows.to_dense())).transpose()).collect()
    })
}

/// The driver: the gradients (stand-ins for `IndexedSlices`, valid while
/// the caller's [`StandIns`] lives), and the guard of the gradients' scope.
fn gradients_in_scope(
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: &[Option<&Tensor>],
    name: Option<&str>,
    gate: bool,
) -> Result<(Vec<Option<Tensor>>, crate::scope::NameScopeGuard)> {
    let graph = &crate::graph::get_default_graph()?;
    if let Some(t) = ys.iter().chain(xs).find(|t| t.graph_id != graph.id()) {
        return Err(Error::GraphMismatch { name: t.name.to_string() });
    }
    {
        // The walk below indexes the graph's nodes by the ys' and xs' numbers.
        let state = graph.read();
        ys.iter().chain(xs).filter(|t| !is_stand_in(t)).try_for_each(|t| state.check_tensor(t))?;
    }
    if let Some(y) = ys.iter().find(|y| !y.dtype.is_floating()) {
        return Err(Error::GradientDType { tensor: y.name().to_owned(), dtype: y.dtype });
    }
    let scope = name_scope(name.unwrap_or("gradients")).enter()?;
    claim_name("uid")?;
    let mut grads: FxHashMap<u32, Vec<Vec<Tensor>>> = FxHashMap::default();
    let views = Views { graph };
    for (i, y) in ys.iter().enumerate() {
        let grad_y = match grad_ys.get(i).copied().flatten() {
            Some(g) => named(&format!("grad_ys_{i}")).identity(g)?,
            None => ones_like_y(y, i)?,
        };
        views.add_grad(&mut grads, y, grad_y);
    }
    let between = Between::new(graph, ys, xs);
    let mut pending = between.pending.clone();
    let from: FxHashSet<u32> = xs.iter().map(|x| x.node).collect();
    // TF `_StopOps`: the xs' ops with no input on a path from another x.
    let stop: FxHashSet<u32> = from
        .iter()
        .copied()
        .filter(|&n| views.inputs(n).iter().all(|i| pending.get(&i.node).copied().unwrap_or(0) == 0))
        .collect();
    let mut queue: VecDeque<u32> = VecDeque::new();
    let mut queued: FxHashSet<u32> = FxHashSet::default();
    for y in ys {
        if pending.get(&y.node).copied().unwrap_or(0) == 0 && between.reached.contains(&y.node) && queued.insert(y.node)
        {
            queue.push_back(y.node);
        }
    }
    let mut aggregated: FxHashMap<u32, Vec<Option<Tensor>>> = FxHashMap::default();
    while let Some(node) = queue.pop_front() {
        let op = views.op(node);
        // TF `_AggregatedGrads`: several contributions to one output become an AddN.
        let contributions = grads.remove(&node).unwrap_or_default();
        let mut out_grads: Vec<Option<Tensor>> = Vec::with_capacity(op.outputs.len());
        for i in 0..op.outputs.len() {
            out_grads.push(match contributions.get(i).map(Vec::as_slice).unwrap_or_default() {
                [] => None,
                [one] => Some(one.clone()),
                many => Some(build(OpKind::AddN, None, &many.iter().collect::<Vec<_>>(), Attr::None)?),
            });
        }
        let has_grads = out_grads.iter().any(Option::is_some);
        let grad_fn = match (has_grads && !stop.contains(&node), op.def_grad) {
            (true, Grad::Of(f)) => Some(f),
            (true, Grad::Undefined) => {
                return Err(Error::NoGradient {
                    op: op.name.clone(),
                    op_type: op.type_name,
                    reason: "scopeflow has no gradient for this op yet",
                });
            }
            _ => None,
        };
        let in_grads = match grad_fn {
            Some(f) => {
                // Outputs no gradient reached get zeros, as in TF (`zeros_like`).
                let mut filled = Vec::with_capacity(out_grads.len());
                for (i, g) in out_grads.iter().enumerate() {
                    filled.push(match g {
                        Some(g) => g.clone(),
                        None => build(OpKind::ZerosLike, Some("zeros_like"), &[&op.outputs[i]], Attr::None)?,
                    });
                }
                let _grad_scope = name_scope(format!("{}_grad", op.name).as_str()).enter()?;
                let grad_op = GradOp {
                    name: &op.name,
                    type_name: op.type_name,
                    inputs: &op.inputs,
                    outputs: &op.outputs,
                    attr: &op.attr,
                    consts: &op.consts,
                };
                let in_grads = f(&grad_op, &filled)?;
                if gate && in_grads.iter().flatten().count() > 1 { gate_together(in_grads)? } else { in_grads }
            }
            None => vec![None; op.inputs.len()],
        };
        for (input, g) in op.inputs.iter().zip(in_grads) {
            if let Some(g) = g {
                let g = views.refine_shape(g, input);
                views.add_grad(&mut grads, input, g);
            }
        }
        aggregated.insert(node, out_grads);
        // TF `_UpdatePendingAndEnqueueReady`.
        for input in views.inputs(node) {
            if let Some(count) = pending.get_mut(&input.node) {
                *count -= 1;
                if *count == 0 {
                    queue.push_back(input.node);
                }
            }
        }
    }
    let grads =
        xs.iter().map(|x| aggregated.get(&x.node).and_then(|g| g.get(x.output as usize).cloned().flatten())).collect();
    Ok((grads, scope))
}

/// TF `control_flow_ops.tuple`: each gradient behind one `group_deps` of all of them.
fn gate_together(grads: Vec<Option<Tensor>>) -> Result<Vec<Option<Tensor>>> {
    let _tuple = name_scope("tuple").enter()?;
    let ops: Vec<Operation> = grads.iter().flatten().map(Tensor::op).collect();
    let gate = super::group(&ops.iter().collect::<Vec<_>>())?;
    grads.into_iter().map(|g| g.map(|g| super::with_dependencies(&[&gate], &g)).transpose()).collect()
}

/// TF `_DefaultGradYs`: ones of `y`'s shape, `grad_ys_<i>` (a `Fill` of `Shape`
/// and a `Const` one), the shape a constant when it is known.
fn ones_like_y(y: &Tensor, i: usize) -> Result<Tensor> {
    let dims = shape(y)?;
    scoped_op(None, &format!("grad_ys_{i}"), |op| {
        let one = super::constant(Value::filled(y.dtype, &[], 1.0))?;
        build(OpKind::Fill, Some(op), &[&dims, &one], Attr::Fill(Box::new(y.shape.clone())))
    })
}

/// A forward op as the driver needs it.
struct OpView {
    name: String,
    type_name: &'static str,
    def_grad: Grad,
    inputs: Vec<Tensor>,
    outputs: Vec<Tensor>,
    attr: Attr,
    consts: Vec<Option<Arc<Value>>>,
}

/// Reads forward ops from the graph (which the driver grows as it goes).
struct Views<'a> {
    graph: &'a Graph,
}

impl Views<'_> {
    fn op(&self, node: u32) -> OpView {
        let state = self.graph.read();
        let n = &state.nodes[node as usize];
        let id = self.graph.id();
        OpView {
            name: n.name.to_string(),
            type_name: n.op.type_name,
            def_grad: n.op.grad,
            inputs: n.inputs.iter().map(|o| state.output(id, o.node, o.index)).collect(),
            outputs: (0..n.outputs.len() as u32).map(|i| state.output(id, node, i)).collect(),
            attr: n.attr.clone(),
            consts: n.inputs.iter().map(|&o| state.known_output(o).cloned()).collect(),
        }
    }

    fn inputs(&self, node: u32) -> Vec<Output> {
        self.graph.read().nodes[node as usize].inputs.to_vec()
    }

    fn add_grad(&self, grads: &mut FxHashMap<u32, Vec<Vec<Tensor>>>, t: &Tensor, g: Tensor) {
        let outputs = self.graph.read().nodes[t.node as usize].outputs.len();
        let per_output = grads.entry(t.node).or_insert_with(|| vec![Vec::new(); outputs]);
        if let Some(list) = per_output.get_mut(t.output as usize) {
            list.push(g);
        }
    }

    /// TF's `in_grad.set_shape(t_in.get_shape())`: what the input's static
    /// shape knows, the gradient's learns (its node, and the handle returned).
    fn refine_shape(&self, mut g: Tensor, input: &Tensor) -> Tensor {
        if is_stand_in(&g) {
            return g;
        }
        let mut state = self.graph.write();
        if let Some((shape, _)) = state.nodes[g.node as usize].outputs.get_mut(g.output as usize)
            && let Some(merged) = shape.merge(&input.shape)
        {
            *shape = merged;
            g.shape = shape.clone();
        }
        g
    }
}

/// The ops on a path from an x to a y (TF `_PendingCount`).
struct Between {
    /// Ops reached forward from the xs.
    reached: FxHashSet<u32>,
    /// For each op between, how many gradients it waits for.
    pending: FxHashMap<u32, usize>,
}

impl Between {
    fn new(graph: &Graph, ys: &[&Tensor], xs: &[&Tensor]) -> Between {
        let state = graph.read();
        // TF `_MarkReachedOps`: reached through float tensors only (a
        // `Shape` of a reached tensor does not carry a gradient onward).
        let mut consumers: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for (i, n) in state.nodes.iter().enumerate() {
            for input in &n.inputs {
                if state.nodes[input.node as usize].outputs[input.index as usize].1.is_floating() {
                    consumers.entry(input.node).or_default().push(i as u32);
                }
            }
        }
        let mut reached: FxHashSet<u32> = FxHashSet::default();
        let mut stack: Vec<u32> = xs.iter().map(|x| x.node).collect();
        while let Some(n) = stack.pop() {
            if reached.insert(n) {
                stack.extend(consumers.get(&n).into_iter().flatten().copied());
            }
        }
        let mut remaining = reached.clone();
        let mut between: Vec<u32> = Vec::new();
        let mut queue: VecDeque<u32> = ys.iter().map(|y| y.node).collect();
        while let Some(n) = queue.pop_front() {
            if remaining.remove(&n) {
                between.push(n);
                queue.extend(state.nodes[n as usize].inputs.iter().map(|i| i.node));
            }
        }
        let in_between: FxHashSet<u32> = between.iter().copied().collect();
        let mut pending: FxHashMap<u32, usize> = FxHashMap::default();
        for &n in &between {
            for input in &state.nodes[n as usize].inputs {
                if in_between.contains(&input.node) {
                    *pending.entry(input.node).or_default() += 1;
                }
            }
        }
        Between { reached, pending }
    }
}
