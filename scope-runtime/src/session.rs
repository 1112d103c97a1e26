//! `Session::run`: plan once per fetch/feed signature, then run many times.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::graph::{Attr, Graph};
use crate::kernels::{self, Arg};
use crate::ops::OpKind;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::value::Value;
use crate::variable::Variable;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::{Arc, Mutex};

/// Runs a graph's ops on ndarray kernels (TF `tf.Session`).
///
/// The first [`run`](Session::run) of a set of fetches and feeds plans once:
/// it keeps only the ops the fetches need, orders them, and notes when each
/// intermediate value is last used so that elementwise ops can work in place.
/// Later runs of the same signature reuse the plan. Runs are safe from several
/// threads at once; variables are read from the store at each run, so an
/// assigned or restored value is seen by the next run.
///
/// # Examples
///
/// ```
/// use scope_runtime::{add, constant, placeholder, DType, Graph, Session, Shape, Value};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None]))?;
/// let y = add(&x, &constant(1.0f32)?)?;
/// let session = Session::new(&graph);
/// let out = session.run(&[&y], &[(&x, &Value::from(vec![1.0f32, 2.0]))])?;
/// assert_eq!(out[0].to_f64_vec(), vec![2.0, 3.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub struct Session {
    graph: Graph,
    plans: Mutex<FxHashMap<Box<[u32]>, Arc<Plan>>>,
}

/// The ops one fetch/feed signature needs, in order.
struct Plan {
    steps: Vec<Step>,
    /// Slot of each fetch.
    fetches: Vec<usize>,
    /// Slot, static shape, dtype and name of each feed.
    feeds: Vec<(usize, Shape, DType, Arc<str>)>,
    slots: usize,
    /// Buffers left over from earlier runs, for the next run's outputs.
    spares: Mutex<Vec<Value>>,
}

/// At most this many buffers are kept between runs of one plan.
const MAX_SPARES: usize = 32;

struct Step {
    source: Source,
    /// Input slots, each with whether this step is its last reader.
    inputs: SmallVec<[(usize, bool); 2]>,
    out: usize,
    name: Arc<str>,
}

enum Source {
    Op(OpKind, Attr),
    Const(Arc<Value>),
    Variable(Variable),
}

/// A value during a run.
enum Slot<'a> {
    Empty,
    Fed(&'a Value),
    Shared(Arc<Value>),
    Owned(Value),
}

impl Session {
    /// A session on `graph`.
    pub fn new(graph: &Graph) -> Session {
        Session { graph: graph.clone(), plans: Mutex::new(FxHashMap::default()) }
    }

    /// The graph it runs.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Computes `fetches`, with `feeds` standing in for their tensors
    /// (placeholders, or any tensor to override).
    ///
    /// # Errors
    ///
    /// [`Error::GraphMismatch`] for a tensor of another graph;
    /// [`Error::FeedMissing`] when a fetch needs an unfed placeholder;
    /// [`Error::FeedMismatch`] for a feed of the wrong dtype or shape;
    /// [`Error::Kernel`] when shapes known only now do not fit an op.
    pub fn run(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)]) -> Result<Vec<Value>> {
        let plan = self.plan(fetches, feeds)?;
        // Runs at the same time each get what is spare; the last to finish refills.
        let mut spares = std::mem::take(&mut *plan.spares.lock().unwrap_or_else(|e| e.into_inner()));
        let mut slots: Vec<Slot<'_>> = (0..plan.slots).map(|_| Slot::Empty).collect();
        for ((slot, shape, dtype, name), (_, value)) in plan.feeds.iter().zip(feeds) {
            if value.dtype() != *dtype || !shape.accepts(value.shape()) {
                return Err(Error::FeedMismatch {
                    tensor: name.to_string(),
                    expected_shape: Box::new(shape.clone()),
                    expected_dtype: *dtype,
                    shape: value.shape().to_vec(),
                    dtype: value.dtype(),
                });
            }
            slots[*slot] = Slot::Fed(value);
        }
        for step in &plan.steps {
            let out = match &step.source {
                Source::Const(v) => Slot::Shared(v.clone()),
                Source::Variable(v) => Slot::Shared(v.snapshot()?),
                Source::Op(op, attr) => {
                    // Inputs read for the last time move into the kernel, which may reuse them.
                    let mut moved: SmallVec<[Option<Value>; 2]> = step
                        .inputs
                        .iter()
                        .map(|&(i, last)| match (last, &slots[i]) {
                            (true, Slot::Owned(_)) => match std::mem::replace(&mut slots[i], Slot::Empty) {
                                Slot::Owned(v) => Some(v),
                                _ => None,
                            },
                            _ => None,
                        })
                        .collect();
                    let args: Vec<Arg<'_>> = step
                        .inputs
                        .iter()
                        .zip(moved.iter_mut())
                        .map(|(&(i, _), m)| match m.take() {
                            Some(v) => Arg::Owned(v),
                            None => Arg::Shared(slots[i].value()),
                        })
                        .collect();
                    let value = kernels::compute(*op, attr, args, &mut spares).map_err(|reason| Error::Kernel {
                        op: step.name.to_string(),
                        op_type: op.def().type_name,
                        reason,
                    })?;
                    Slot::Owned(value)
                }
            };
            slots[step.out] = out;
        }
        // Fetched values move out of their slots; a slot fetched twice is copied.
        let mut out: Vec<Value> = Vec::with_capacity(plan.fetches.len());
        for (k, &i) in plan.fetches.iter().enumerate() {
            let value = match std::mem::replace(&mut slots[i], Slot::Empty) {
                Slot::Owned(v) => v,
                Slot::Fed(v) => v.clone(),
                Slot::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
                Slot::Empty => {
                    let first = plan.fetches[..k].iter().position(|&j| j == i).expect("fetched before");
                    out[first].clone()
                }
            };
            out.push(value);
        }
        // What was computed and not fetched is next run's spare memory.
        spares.extend(slots.into_iter().filter_map(|s| match s {
            Slot::Owned(v) => Some(v),
            _ => None,
        }));
        spares.truncate(MAX_SPARES);
        let mut kept = plan.spares.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() < spares.len() {
            *kept = spares;
        }
        drop(kept);
        Ok(out)
    }

    /// The cached plan for this signature, or a new one.
    fn plan(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)]) -> Result<Arc<Plan>> {
        let id = self.graph.id();
        if let Some(t) = fetches.iter().copied().chain(feeds.iter().map(|(t, _)| *t)).find(|t| t.graph_id != id) {
            return Err(Error::GraphMismatch { name: t.name.to_string() });
        }
        let key: Box<[u32]> =
            fetches.iter().map(|t| t.node).chain([u32::MAX]).chain(feeds.iter().map(|(t, _)| t.node)).collect();
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(&key) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(self.make_plan(fetches, feeds)?);
        plans.insert(key, plan.clone());
        Ok(plan)
    }

    fn make_plan(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)]) -> Result<Plan> {
        let state = self.graph.read();
        let mut slot_of: FxHashMap<u32, usize> = FxHashMap::default();
        let mut feed_specs = Vec::with_capacity(feeds.len());
        for (t, _) in feeds {
            let next = slot_of.len();
            let slot = *slot_of.entry(t.node).or_insert(next);
            let node = &state.nodes[t.node as usize];
            feed_specs.push((slot, node.shape.clone(), node.dtype, node.name.clone()));
        }
        // Depth-first from the fetches, stopping at feeds: post-order is a valid order.
        let mut order: Vec<u32> = Vec::new();
        let mut stack: Vec<(u32, bool)> = fetches.iter().rev().map(|t| (t.node, false)).collect();
        while let Some((node, expanded)) = stack.pop() {
            if slot_of.contains_key(&node) {
                continue;
            }
            let n = &state.nodes[node as usize];
            if expanded {
                slot_of.insert(node, slot_of.len());
                order.push(node);
                continue;
            }
            if n.op == OpKind::Placeholder {
                return Err(Error::FeedMissing { placeholder: n.name.to_string() });
            }
            stack.push((node, true));
            stack.extend(n.inputs.iter().rev().filter(|i| !slot_of.contains_key(i)).map(|&i| (i, false)));
        }
        let mut steps: Vec<Step> = order
            .iter()
            .map(|&node| {
                let n = &state.nodes[node as usize];
                let source = match (&n.op, &n.attr) {
                    (OpKind::Const, Attr::Const(v)) => Source::Const(v.clone()),
                    (OpKind::Variable, Attr::Variable(v)) => Source::Variable(v.clone()),
                    (op, attr) => Source::Op(*op, attr.clone()),
                };
                Step {
                    source,
                    inputs: n.inputs.iter().map(|i| (slot_of[i], false)).collect(),
                    out: slot_of[&node],
                    name: n.name.clone(),
                }
            })
            .collect();
        // Mark each slot's last reader; fetched slots are read after every step.
        let fetch_slots: Vec<usize> = fetches.iter().map(|t| slot_of[&t.node]).collect();
        let mut seen = vec![false; slot_of.len()];
        for &s in &fetch_slots {
            seen[s] = true;
        }
        for step in steps.iter_mut().rev() {
            let slots_read: SmallVec<[usize; 2]> = step.inputs.iter().map(|i| i.0).collect();
            // A matrix product never works in place: its inputs stay in their
            // slots and become spare buffers for the next run's products.
            let moves = !matches!(step.source, Source::Op(OpKind::MatMul, _));
            for input in step.inputs.iter_mut() {
                // A value read twice by one step is never moved: the other read needs it.
                let once = slots_read.iter().filter(|&&s| s == input.0).count() == 1;
                input.1 = moves && once && !seen[input.0];
            }
            for s in slots_read {
                seen[s] = true;
            }
        }
        Ok(Plan { steps, fetches: fetch_slots, feeds: feed_specs, slots: slot_of.len(), spares: Mutex::default() })
    }
}

impl Slot<'_> {
    fn value(&self) -> &Value {
        match self {
            Slot::Fed(v) => v,
            Slot::Shared(v) => v,
            Slot::Owned(v) => v,
            Slot::Empty => unreachable!("a plan computes every input before its readers"),
        }
    }
}
