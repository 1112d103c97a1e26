//! `Session::run`: plan once per fetch/feed/target signature, then run many times.

use crate::base::{DType, Error, Operation, Result, Shape, Tensor, Value};
use crate::graph::{Arg, Args, Attr, Graph, Kernel, LoopFailure, LoopFn, ManyFn, OneFn, Output, UpdateFn};
use crate::kernels::cpu::{self, FlushDenormals, Pool, Using, default_threads};
use crate::variable::Variable;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::sync::{Arc, Mutex};

/// Runs a graph's ops on ndarray kernels (TF `tf.Session`).
///
/// The first [`run`](Session::run) of a set of fetches and feeds plans once:
/// it keeps only the ops the fetches need, orders them, and notes when each
/// intermediate value is last used so that elementwise ops can work in place.
/// Later runs of the same signature reuse the plan. Runs are safe from several
/// threads at once. A step reads a variable when it runs, so it sees what an
/// assignment ordered before it by a control dependency stored, and a run
/// sees what was assigned or restored before it.
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
    plans: Mutex<FxHashMap<Box<[u64]>, Arc<Plan>>>,
    threads: usize,
    /// The workers large kernels share their work with; `None` for one thread.
    pool: Option<&'static Pool>,
}

/// How a [`Session`] runs (TF's `ConfigProto` for a session).
///
/// # Examples
///
/// ```
/// use scope_runtime::{Graph, Session, SessionOptions};
/// let graph = Graph::new();
/// // One thread: the same results, bit for bit, on any machine.
/// let session = Session::with_options(&graph, SessionOptions::default().num_threads(1));
/// assert_eq!(session.num_threads(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    num_threads: Option<usize>,
}

impl SessionOptions {
    /// How many threads a run's kernels may use (TF's
    /// `intra_op_parallelism_threads`). By default `SCOPEFLOW_NUM_THREADS`
    /// when it is set to a positive integer, else the machine's cores. One
    /// thread computes everything on the thread that calls `run`; with more,
    /// matrix products of 2^23 multiply-adds or more are cut into one block
    /// per thread of a pool the process keeps for that count, and results
    /// equal one thread's within float round-off (other kernels stay on the
    /// calling thread). 0 counts as 1.
    pub fn num_threads(mut self, threads: usize) -> SessionOptions {
        self.num_threads = Some(threads.max(1));
        self
    }
}

/// The steps one fetch/feed/target signature needs, in order.
struct Plan {
    steps: Vec<Step>,
    /// Slot of each fetch.
    fetches: Vec<usize>,
    /// Slot, static shape, dtype and name of each feed.
    feeds: Vec<(usize, Shape, DType, Arc<str>)>,
    slots: usize,
    /// What the last run left for the next: the slots' memory, and buffers
    /// for outputs. Runs at the same time each get a share (one of them all
    /// of it); the one leaving the most spares puts its own back.
    scratch: Mutex<Scratch>,
    /// Whether a step changes a variable (the run then holds the variables alone).
    updates: bool,
}

/// What one run leaves to the next run of its plan.
#[derive(Default)]
struct Scratch {
    /// Empty slots, with room for the plan's.
    slots: Vec<Slot>,
    /// Buffers for outputs, largest first.
    spares: Vec<Value>,
}

/// At most this many buffers are kept between runs of one plan.
const MAX_SPARES: usize = 32;

struct Step {
    compute: Compute,
    /// Input slots, each with whether this step is its last reader.
    inputs: SmallVec<[(usize, bool); 2]>,
    /// The slot of the first output; the others follow.
    out: usize,
    /// How many outputs the op has.
    outputs: usize,
    name: Arc<str>,
    op_type: &'static str,
    /// Whether its kernel may take its first input's buffer (the op's row says).
    in_place: bool,
}

enum Compute {
    Const(Arc<Value>),
    Variable(Variable),
    Nothing,
    One(OneFn, Attr),
    Many(ManyFn, Attr),
    Update(UpdateFn, Attr),
    Loop(LoopFn, Attr),
    Fused(Box<Fused>),
    #[cfg(feature = "mpi")]
    Collective(Arc<dyn crate::graph::Collective>),
}

/// A `MatMul` or `Conv2D`, the `BiasAdd` (or `Add` of a bias vector) that
/// alone reads it, and the `Relu` that alone reads that when there is one:
/// the chain TF1's dense and convolution layers build, as one step whose
/// kernel writes the output once (see [`fuse_bias_relu`]). Its inputs are
/// the first op's two and the bias.
struct Fused {
    /// The `MatMul` or `Conv2D`.
    first: Part,
    /// Its kernel with the bias and ReLU applied as it stores its output,
    /// which returns `None` for inputs it does not take.
    kernel: FusedFn,
    add: Part,
    /// Whether the bias is the add's first input.
    bias_first: bool,
    relu: Option<Part>,
}

/// One op of a fused step, run on its own when the fused kernel declines
/// the inputs, so that an error names the op it concerns.
struct Part {
    kernel: OneFn,
    attr: Attr,
    name: Arc<str>,
    op_type: &'static str,
}

impl Part {
    fn call(&self, args: Args<'_>, spares: &mut Vec<Value>) -> Result<Value> {
        (self.kernel)(&self.attr, args, spares).map_err(|reason| Error::Kernel {
            op: self.name.to_string(),
            op_type: self.op_type,
            reason,
        })
    }
}

/// A kernel of a fused step: the first op's attributes, its two inputs and
/// the bias, and whether a `Relu` follows.
type FusedFn = fn(&Attr, [&Value; 3], bool, &mut Vec<Value>) -> Option<Value>;

impl Fused {
    /// The fused kernel's value, or the three kernels' one after the other.
    fn run(&self, args: Args<'_>, spares: &mut Vec<Value>) -> Result<Value> {
        let [a, b, bias] = match &args[..] {
            [a, b, bias] => [a.value(), b.value(), bias.value()],
            _ => unreachable!("a fused step has three inputs"),
        };
        if let Some(value) = (self.kernel)(&self.first.attr, [a, b, bias], self.relu.is_some(), spares) {
            return Ok(value);
        }
        let mut product = Some(self.first.call([Arg::Shared(a), Arg::Shared(b)].into_iter().collect(), spares)?);
        let (product, bias) = (Arg::Owned(&mut product), Arg::Shared(bias));
        let pair = if self.bias_first { [bias, product] } else { [product, bias] };
        let sum = self.add.call(pair.into_iter().collect(), spares)?;
        match &self.relu {
            Some(relu) => relu.call([Arg::Owned(&mut Some(sum))].into_iter().collect(), spares),
            None => Ok(sum),
        }
    }
}

/// A value during a run.
enum Slot {
    Empty,
    /// The value of the run's feed at this index.
    Fed(usize),
    Shared(Arc<Value>),
    Owned(Value),
    /// A variable, read by each step that uses it, when it runs.
    Variable(Variable),
}

impl Session {
    /// A session on `graph`.
    ///
    /// Its kernels use `SCOPEFLOW_NUM_THREADS` threads, or the machine's
    /// cores (see [`SessionOptions::num_threads`]).
    pub fn new(graph: &Graph) -> Session {
        Session::with_options(graph, SessionOptions::default())
    }

    /// A session on `graph` that runs as `options` say.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{Graph, Session, SessionOptions};
    /// let graph = Graph::new();
    /// let session = Session::with_options(&graph, SessionOptions::default().num_threads(2));
    /// assert!(session.num_threads() <= 2); // 1 if the system would not start a thread
    /// ```
    pub fn with_options(graph: &Graph, options: SessionOptions) -> Session {
        let asked = options.num_threads.unwrap_or_else(default_threads);
        let pool = cpu::pool(asked);
        let threads = pool.map_or(1, |p| p.current_num_threads());
        Session { graph: graph.clone(), plans: Mutex::new(FxHashMap::default()), threads, pool }
    }

    /// How many threads its kernels use.
    pub fn num_threads(&self) -> usize {
        self.threads
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
    /// [`Error::StaleHandle`] for one a failed call took out of the graph;
    /// [`Error::ValueTooLarge`] for a variable too large to make;
    /// [`Error::FeedMissing`] when a fetch needs an unfed placeholder;
    /// [`Error::FeedMismatch`] for a feed of the wrong dtype or shape;
    /// [`Error::Kernel`] when shapes known only now do not fit an op;
    /// [`Error::LoopStep`] when they do not fit an op of a loop's body (a
    /// [`scan`](crate::scan), `dynamic_rnn`), with that op's error.
    pub fn run(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)]) -> Result<Vec<Value>> {
        self.run_with_targets(fetches, feeds, &[])
    }

    /// Runs `targets` for their effect (assignments, groups of them), fetching nothing (TF `sess.run(train_op)`).
    ///
    /// # Errors
    ///
    /// As for [`run`](Session::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{assign_add, constant, get_variable, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    /// let inc = assign_add(&v, &constant(vec![2.0f32])?)?;
    /// Session::new(&graph).run_targets(&[&inc.op()], &[])?;
    /// assert_eq!(v.value()?.to_f64_vec(), vec![2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn run_targets(&self, targets: &[&Operation], feeds: &[(&Tensor, &Value)]) -> Result<()> {
        self.run_with_targets(&[], feeds, targets).map(drop)
    }

    /// Computes `fetches` and runs `targets` in one run: what a training loop
    /// calls to take a step and read the loss (TF `sess.run([loss, train_op])`).
    ///
    /// # Errors
    ///
    /// As for [`run`](Session::run).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{assign_add, constant, get_variable, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    /// let loss = constant(0.5f32)?;
    /// let step = assign_add(&v, &constant(vec![1.0f32])?)?;
    /// let out = Session::new(&graph).run_with_targets(&[&loss], &[], &[&step.op()])?;
    /// assert_eq!((out[0].to_f64_vec(), v.value()?.to_f64_vec()), (vec![0.5], vec![1.0]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn run_with_targets(
        &self,
        fetches: &[&Tensor],
        feeds: &[(&Tensor, &Value)],
        targets: &[&Operation],
    ) -> Result<Vec<Value>> {
        let plan = self.plan(fetches, feeds, targets)?;
        // A run that updates variables is whole to every other run, save and restore.
        let (_shared, _alone) = match plan.updates {
            true => (None, Some(self.graph.variables_alone())),
            false => (Some(self.graph.variables_shared()), None),
        };
        // As TensorFlow's CPU kernels, compute with denormals flushed to zero:
        // the same numbers as TF, and no 100x slowdown when values get tiny.
        let _flush = FlushDenormals::new();
        let _pool = Using::new(self.pool);
        let Scratch { mut slots, mut spares } =
            std::mem::take(&mut *plan.scratch.lock().unwrap_or_else(|e| e.into_inner()));
        slots.resize_with(plan.slots, || Slot::Empty);
        for (index, ((slot, shape, dtype, name), (_, value))) in plan.feeds.iter().zip(feeds).enumerate() {
            if value.dtype() != *dtype || !shape.accepts(value.shape()) {
                return Err(Error::FeedMismatch {
                    tensor: name.to_string(),
                    expected_shape: Box::new(shape.clone()),
                    expected_dtype: *dtype,
                    shape: value.shape().to_vec(),
                    dtype: value.dtype(),
                });
            }
            slots[*slot] = Slot::Fed(index);
        }
        for step in &plan.steps {
            let kernel_error = |reason| Error::Kernel { op: step.name.to_string(), op_type: step.op_type, reason };
            match &step.compute {
                Compute::Const(v) => slots[step.out] = Slot::Shared(v.clone()),
                Compute::Variable(v) => slots[step.out] = Slot::Variable(v.clone()),
                Compute::Nothing => {}
                Compute::One(kernel, attr) => {
                    let reads = read_variables(&slots, &step.inputs)?;
                    let mut moved = None;
                    let args = take_args(&mut slots, feeds, &step.inputs, &reads, &mut moved);
                    let value = kernel(attr, args, &mut spares).map_err(kernel_error)?;
                    slots[step.out] = Slot::Owned(value);
                }
                Compute::Update(kernel, attr) => {
                    // The variables (the first inputs) are not read: the kernel changes them in place.
                    let (changed, vars) = match attr {
                        Attr::Apply { vars, .. } => (vars.len(), &vars[..]),
                        Attr::Variable(var) => (1, std::slice::from_ref(var)),
                        _ => (1, &[][..]),
                    };
                    let rest = step.inputs.get(changed..).unwrap_or_default();
                    let reads = read_variables(&slots, rest)?;
                    let mut moved = None;
                    let args = take_args(&mut slots, feeds, rest, &reads, &mut moved);
                    let value = kernel(attr, args).map_err(|reason| {
                        // A variable too large to make: the error that names it and its size.
                        match vars.iter().find_map(|v| v.check_can_make().err()) {
                            Some(too_large) if reason == crate::variable::handle::TOO_LARGE_TO_UPDATE => too_large,
                            _ => kernel_error(reason),
                        }
                    })?;
                    slots[step.out] = Slot::Shared(value);
                }
                Compute::Fused(fused) => {
                    let reads = read_variables(&slots, &step.inputs)?;
                    let mut moved = None;
                    let args = take_args(&mut slots, feeds, &step.inputs, &reads, &mut moved);
                    let value = fused.run(args, &mut spares)?;
                    slots[step.out] = Slot::Owned(value);
                }
                Compute::Many(..) | Compute::Loop(..) => {
                    let reads = read_variables(&slots, &step.inputs)?;
                    let mut moved = None;
                    let args = take_args(&mut slots, feeds, &step.inputs, &reads, &mut moved);
                    let values = match &step.compute {
                        Compute::Many(kernel, attr) => kernel(attr, args).map_err(kernel_error)?,
                        Compute::Loop(kernel, attr) => kernel(attr, args).map_err(|failure| match failure {
                            LoopFailure::Kernel(reason) => kernel_error(reason),
                            LoopFailure::Step { step: index, error } => {
                                Error::LoopStep { op: step.name.to_string(), step: index, source: error }
                            }
                        })?,
                        _ => unreachable!("matched above"),
                    };
                    if values.len() != step.outputs {
                        return Err(kernel_error("the kernel made another number of outputs than the op has"));
                    }
                    for (i, value) in values.into_iter().enumerate() {
                        slots[step.out + i] = Slot::Owned(value);
                    }
                }
                #[cfg(feature = "mpi")]
                Compute::Collective(kernel) => {
                    let reads = read_variables(&slots, &step.inputs)?;
                    let mut moved = None;
                    let args = take_args(&mut slots, feeds, &step.inputs, &reads, &mut moved);
                    let values = kernel.compute(&step.name, args)?;
                    if values.len() != step.outputs {
                        return Err(kernel_error("the kernel made another number of outputs than the op has"));
                    }
                    for (i, value) in values.into_iter().enumerate() {
                        slots[step.out + i] = Slot::Owned(value);
                    }
                }
            }
        }
        // Fetched values move out of their slots; a slot fetched twice is copied.
        let mut out: Vec<Value> = Vec::with_capacity(plan.fetches.len());
        for (k, &i) in plan.fetches.iter().enumerate() {
            let value = match std::mem::replace(&mut slots[i], Slot::Empty) {
                Slot::Owned(v) => v,
                Slot::Fed(f) => feeds[f].1.clone(),
                Slot::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
                Slot::Variable(v) => Arc::unwrap_or_clone(v.snapshot()?),
                Slot::Empty => match plan.fetches[..k].iter().position(|&j| j == i) {
                    Some(first) => out[first].clone(),
                    None => return Err(Error::Kernel { op: "fetch".into(), op_type: "", reason: "not computed" }),
                },
            };
            out.push(value);
        }
        // What was computed and not fetched is next run's spare memory.
        // (Taken slot by slot: draining every slot through a filter moved
        // each whole, and took 900 instructions of a batch-1 forward pass.)
        for slot in slots.iter_mut() {
            if matches!(slot, Slot::Owned(_))
                && let Slot::Owned(v) = std::mem::replace(slot, Slot::Empty)
            {
                spares.push(v);
            }
        }
        slots.clear();
        // The largest are worth keeping: reusing them saves the most.
        spares.sort_unstable_by_key(|v| std::cmp::Reverse(v.len()));
        spares.truncate(MAX_SPARES);
        let mut kept = plan.scratch.lock().unwrap_or_else(|e| e.into_inner());
        if kept.spares.len() <= spares.len() {
            *kept = Scratch { slots, spares };
        }
        drop(kept);
        Ok(out)
    }

    /// The cached plan for this signature, or a new one.
    fn plan(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)], targets: &[&Operation]) -> Result<Arc<Plan>> {
        let id = self.graph.id();
        // A loop per slice, not one over their chain: this runs on every
        // run, and iterating the chain cost more than the checks.
        let mismatch = |graph_id: u64, name: &str| match graph_id == id {
            true => Ok(()),
            false => Err(Error::GraphMismatch { name: name.to_string() }),
        };
        for t in fetches {
            mismatch(t.graph_id, &t.name)?;
        }
        for (t, _) in feeds {
            mismatch(t.graph_id, &t.name)?;
        }
        for op in targets {
            mismatch(op.graph_id, &op.name)?;
        }
        {
            // Every node the plan indexes is then one the graph holds.
            let state = self.graph.read();
            for t in fetches {
                state.check_tensor(t)?;
            }
            for (t, _) in feeds {
                state.check_tensor(t)?;
            }
            for op in targets {
                state.check_op(op)?;
            }
        }
        let key_of = |t: &Tensor| u64::from(t.node) << 32 | u64::from(t.output);
        // Built on the stack: a run of a known signature allocates nothing to find its plan.
        // Three exact-size pieces, not one chain: a chain's collect took as
        // many instructions as the rest of the lookup.
        let mut key: SmallVec<[u64; 16]> = SmallVec::with_capacity(fetches.len() + feeds.len() + targets.len() + 2);
        key.extend(fetches.iter().map(|t| key_of(t)));
        key.push(u64::MAX);
        key.extend(feeds.iter().map(|(t, _)| key_of(t)));
        key.push(u64::MAX);
        key.extend(targets.iter().map(|o| u64::from(o.node)));
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(key.as_slice()) {
            return Ok(plan.clone());
        }
        let plan = Arc::new(self.make_plan(fetches, feeds, targets)?);
        plans.insert(key.as_slice().into(), plan.clone());
        Ok(plan)
    }

    fn make_plan(&self, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)], targets: &[&Operation]) -> Result<Plan> {
        let state = self.graph.read();
        // Each fed tensor gets a slot of its own; each computed node, one slot per output.
        let mut fed: FxHashMap<Output, usize> = FxHashMap::default();
        let mut feed_specs = Vec::with_capacity(feeds.len());
        for (t, _) in feeds {
            let next = fed.len();
            let slot = *fed.entry(Output::of(t)).or_insert(next);
            let node = &state.nodes[t.node as usize];
            let (shape, dtype) = node.outputs[t.output as usize].clone();
            feed_specs.push((slot, shape, dtype, node.name.clone()));
        }
        let mut slots = fed.len();
        let mut base: FxHashMap<u32, usize> = FxHashMap::default();
        // A node is not computed when every output of it is fed; a target always runs.
        let is_fed = |n: u32| {
            let outputs = state.nodes[n as usize].outputs.len() as u32;
            outputs > 0
                && (0..outputs).all(|index| fed.contains_key(&Output { node: n, index }))
                && !targets.iter().any(|t| t.node == n)
        };
        // Whether running a node can change a variable: an update, or a node
        // that needs one (inputs are built before the nodes that read them).
        let mut effectful = vec![false; state.nodes.len()];
        for (i, n) in state.nodes.iter().enumerate() {
            effectful[i] = matches!(n.op.kernel, Kernel::Update(_))
                || n.inputs
                    .iter()
                    .map(|o| o.node)
                    .chain(n.control_inputs.iter().copied())
                    .any(|d| effectful[d as usize]);
        }
        // Which nodes run: depth-first from the fetches and targets, stopping
        // at feeds. A control input that changes nothing is not run (as TF's
        // graph optimizer drops it): such as the gradient of a layer's input
        // that `tf.tuple` gates on.
        let mut needed: FxHashSet<u32> = FxHashSet::default();
        let mut stack: Vec<u32> = fetches.iter().map(|t| t.node).chain(targets.iter().map(|o| o.node)).collect();
        while let Some(node) = stack.pop() {
            if is_fed(node) || !needed.insert(node) {
                continue;
            }
            let n = &state.nodes[node as usize];
            if matches!(n.op.kernel, Kernel::Placeholder) {
                return Err(Error::FeedMissing { placeholder: n.name.to_string() });
            }
            let controls = n.control_inputs.iter().copied().filter(|&c| effectful[c as usize]);
            stack.extend(n.inputs.iter().map(|o| o.node).chain(controls));
        }
        // In what order: creation order, which puts every input and control
        // input (kept for other reasons, such as a read fetched too) before
        // the nodes after it, so ordering edges hold even where they did not
        // decide what runs.
        let mut order: Vec<u32> = needed.into_iter().collect();
        order.sort_unstable();
        for &node in &order {
            base.insert(node, slots);
            slots += state.nodes[node as usize].outputs.len();
        }
        let slot_of = |o: Output| -> Result<usize> {
            match fed.get(&o) {
                Some(&s) => Ok(s),
                None => base.get(&o.node).map(|b| b + o.index as usize).ok_or_else(|| Error::FeedMissing {
                    placeholder: format!("{}:{}", state.nodes[o.node as usize].name, o.index),
                }),
            }
        };
        let mut steps = Vec::with_capacity(order.len());
        for &node in &order {
            let n = &state.nodes[node as usize];
            let compute = match (n.op.kernel, &n.attr) {
                (Kernel::Const, Attr::Const(v)) => Compute::Const(v.clone()),
                (Kernel::Variable | Kernel::Read, Attr::Variable(v)) => Compute::Variable(v.clone()),
                (Kernel::One(f), attr) => Compute::One(f, attr.clone()),
                (Kernel::Many(f), attr) => Compute::Many(f, attr.clone()),
                (Kernel::Update(f), attr) => Compute::Update(f, attr.clone()),
                (Kernel::Loop(f), attr) => Compute::Loop(f, attr.clone()),
                #[cfg(feature = "mpi")]
                (Kernel::Collective, Attr::Collective(kernel)) => Compute::Collective(kernel.clone()),
                _ => Compute::Nothing,
            };
            steps.push(Step {
                compute,
                inputs: n.inputs.iter().map(|&o| slot_of(o).map(|s| (s, false))).collect::<Result<_>>()?,
                out: base[&node],
                outputs: n.outputs.len(),
                name: n.name.clone(),
                op_type: n.op.type_name,
                in_place: n.op.in_place,
            });
        }
        let fetch_slots: Vec<usize> = fetches.iter().map(|t| slot_of(Output::of(t))).collect::<Result<_>>()?;
        let bias_is_vector = |step: usize, input: usize, n: usize| {
            let o = state.nodes[order[step] as usize].inputs[input];
            state.nodes[o.node as usize].outputs[o.index as usize].0.is(&[n])
        };
        let channels = |step: usize| match state.nodes[order[step] as usize].outputs[0].0.dims() {
            Some(&[_, .., Some(n)]) => Some(n),
            _ => None,
        };
        let mut steps = fuse_bias_relu(steps, slots, &fetch_slots, channels, bias_is_vector);
        // Mark each slot's last reader; fetched slots are read after every step.
        let mut seen = vec![false; slots];
        for &s in &fetch_slots {
            seen[s] = true;
        }
        for step in steps.iter_mut().rev() {
            let slots_read: SmallVec<[usize; 2]> = step.inputs.iter().map(|i| i.0).collect();
            // Only ops whose row allows it take a buffer, their first input's
            // (the one their kernels write in place); other inputs stay in
            // their slots and become spare buffers for the next run.
            let moves = step.in_place;
            for (i, input) in step.inputs.iter_mut().enumerate() {
                // A value read twice by one step is never moved: the other read needs it.
                let once = slots_read.iter().filter(|&&s| s == input.0).count() == 1;
                input.1 = moves && i == 0 && once && !seen[input.0];
            }
            for s in slots_read {
                seen[s] = true;
            }
        }
        let updates = steps.iter().any(|s| matches!(s.compute, Compute::Update(..)));
        Ok(Plan { steps, fetches: fetch_slots, feeds: feed_specs, slots, scratch: Mutex::default(), updates })
    }
}

/// Fuses each `MatMul` or `Conv2D` whose output only a `BiasAdd` (or an
/// `AddV2`) of a vector of one value per column (channel) reads, and that
/// sum's `Relu` when only it reads the sum, into one [`Fused`] step: TF
/// grappler's `_FusedMatMul` and `_FusedConv2D` remapping, done on the plan,
/// so that the graph and its names stay as built. The fused step takes the
/// place of the chain's last op; nothing that changes a variable may run
/// between the chain's ops (it would then be ordered differently). A
/// fetched value is never fused away.
///
/// `channels(i)` is the static size of the last axis of step `i`'s output,
/// and `vector(i, k, n)` whether input `k` of step `i` is statically `[n]`.
fn fuse_bias_relu(
    mut steps: Vec<Step>,
    slots: usize,
    fetches: &[usize],
    channels: impl Fn(usize) -> Option<usize>,
    vector: impl Fn(usize, usize, usize) -> bool,
) -> Vec<Step> {
    // How many times each slot is read (a fetch counts as two), and by which step last.
    let mut readers = vec![0u32; slots];
    let mut reader = vec![usize::MAX; slots];
    for (k, step) in steps.iter().enumerate() {
        for &(slot, _) in &step.inputs {
            readers[slot] += 1;
            reader[slot] = k;
        }
    }
    for &slot in fetches {
        readers[slot] += 2;
    }
    let sole_reader = |slot: usize| (readers[slot] == 1).then_some(reader[slot]);
    // A loop runs a graph of its own: counted as a possible update too, to be safe.
    let updates_within =
        |steps: &[Step]| steps.iter().any(|s| matches!(s.compute, Compute::Update(..) | Compute::Loop(..)));
    let mut gone = vec![false; steps.len()];
    for i in 0..steps.len() {
        let kernel: FusedFn = match steps[i].op_type {
            "MatMul" => crate::kernels::math::dense,
            "Conv2D" => crate::kernels::nn::conv2d_biased,
            _ => continue,
        };
        if !matches!(steps[i].compute, Compute::One(..)) {
            continue;
        }
        let Some(n) = channels(i) else { continue };
        let Some(j) = sole_reader(steps[i].out) else { continue };
        if !matches!(steps[j].op_type, "BiasAdd" | "AddV2") || steps[j].inputs.len() != 2 {
            continue;
        }
        let bias_first = steps[j].inputs[1].0 == steps[i].out;
        let bias = usize::from(!bias_first);
        if !vector(j, bias, n) || updates_within(&steps[i + 1..=j]) {
            continue;
        }
        let part = |k: usize| match &steps[k].compute {
            Compute::One(kernel, attr) => Some(Part {
                kernel: *kernel,
                attr: attr.clone(),
                name: steps[k].name.clone(),
                op_type: steps[k].op_type,
            }),
            _ => None,
        };
        let relu = sole_reader(steps[j].out)
            .filter(|&k| steps[k].op_type == "Relu" && !updates_within(&steps[j + 1..=k]))
            .and_then(|k| Some((k, part(k)?)));
        let (Some(first), Some(add)) = (part(i), part(j)) else { continue };
        let last = relu.as_ref().map_or(j, |r| r.0);
        let inputs = steps[i].inputs.iter().copied().chain([steps[j].inputs[bias]]).collect();
        let fused = Step {
            compute: Compute::Fused(Box::new(Fused { first, kernel, add, bias_first, relu: relu.map(|r| r.1) })),
            inputs,
            out: steps[last].out,
            outputs: 1,
            name: steps[i].name.clone(),
            op_type: steps[i].op_type,
            in_place: false,
        };
        steps[last] = fused;
        gone[i] = true;
        gone[j] |= last != j;
    }
    steps.into_iter().zip(gone).filter_map(|(step, gone)| (!gone).then_some(step)).collect()
}

/// The current values of the variables among a step's inputs, read now, so
/// that a read ordered after an assignment sees it; empty when the step
/// reads no variable (most steps).
fn read_variables(slots: &[Slot], inputs: &[(usize, bool)]) -> Result<SmallVec<[Option<Arc<Value>>; 8]>> {
    if !inputs.iter().any(|&(i, _)| matches!(slots[i], Slot::Variable(_))) {
        return Ok(SmallVec::new());
    }
    let mut reads = SmallVec::new();
    for &(i, _) in inputs {
        reads.push(match &slots[i] {
            Slot::Variable(v) => Some(v.snapshot()?),
            _ => None,
        });
    }
    Ok(reads)
}

/// A step's arguments: its first input, when read for the last time, moves
/// into `moved`, from which the kernel may take it and reuse it (the plan
/// marks no other input so); the others, and the variables in `reads`
/// (see [`read_variables`]), are borrowed.
fn take_args<'a>(
    slots: &'a mut [Slot],
    feeds: &'a [(&Tensor, &Value)],
    inputs: &[(usize, bool)],
    reads: &'a [Option<Arc<Value>>],
    moved: &'a mut Option<Value>,
) -> Args<'a> {
    debug_assert!(inputs.iter().skip(1).all(|&(_, last)| !last), "only a step's first input moves");
    if let Some(&(i, true)) = inputs.first()
        && matches!(slots[i], Slot::Owned(_))
        && let Slot::Owned(v) = std::mem::replace(&mut slots[i], Slot::Empty)
    {
        *moved = Some(v);
    }
    let slots: &'a [Slot] = slots;
    let mut moved = moved.is_some().then_some(moved);
    inputs
        .iter()
        .enumerate()
        .map(|(k, &(i, _))| match (moved.take(), reads.get(k)) {
            (Some(v), _) => Arg::Owned(v),
            (None, Some(Some(r))) => Arg::Shared(r),
            (None, _) => Arg::Shared(slots[i].value(feeds)),
        })
        .collect()
}

impl Slot {
    /// The value held, `feeds` being the run's.
    fn value<'a>(&'a self, feeds: &[(&Tensor, &'a Value)]) -> &'a Value {
        match self {
            Slot::Fed(f) => feeds[*f].1,
            Slot::Shared(v) => v,
            Slot::Owned(v) => v,
            Slot::Variable(_) | Slot::Empty => unreachable!("a plan computes every input before its readers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        DType, Init, add, assign_add, bias_add, control_dependencies, get_variable, matmul, placeholder, relu,
    };

    /// The op types of the steps a run of `fetches` takes, a fused step as `Fused(MatMul+…)`.
    fn steps(session: &Session, fetches: &[&Tensor], feeds: &[(&Tensor, &Value)]) -> Vec<String> {
        let plan = session.plan(fetches, feeds, &[]).expect("plan");
        plan.steps
            .iter()
            .filter(|s| !matches!(s.compute, Compute::Const(_) | Compute::Variable(_) | Compute::Nothing))
            .map(|s| match &s.compute {
                Compute::Fused(f) => {
                    let relu = f.relu.as_ref().map_or(String::new(), |r| format!("+{}", r.op_type));
                    format!("Fused({}+{}{relu})", f.first.op_type, f.add.op_type)
                }
                _ => s.op_type.to_owned(),
            })
            .collect()
    }

    #[test]
    fn product_bias_relu_chains_are_fused_unless_something_else_reads_their_values() -> Result<()> {
        let graph = Graph::new();
        let _g = graph.as_default();
        let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
        let w = get_variable("w", [3, 4]).get()?;
        let b = get_variable("b", [4]).initializer(Init::Zeros).get()?;
        let product = matmul(&x, &w)?;
        let sum = bias_add(&product, &b)?;
        let hidden = relu(&sum)?;
        let v = get_variable("v", [4, 4]).get()?;
        let logits = add(&b, &matmul(&hidden, &v)?)?;
        let session = Session::new(&graph);
        let feed = Value::from(ndarray::Array2::<f32>::zeros((2, 3)));
        let feeds = [(&x, &feed)];
        assert_eq!(steps(&session, &[&logits], &feeds), ["Fused(MatMul+BiasAdd+Relu)", "Fused(MatMul+AddV2)"]);
        // A fetched product or sum is kept, and computed apart.
        assert_eq!(steps(&session, &[&hidden, &sum], &feeds), ["Fused(MatMul+BiasAdd)", "Relu"]);
        assert_eq!(steps(&session, &[&hidden, &product], &feeds), ["MatMul", "BiasAdd", "Relu"]);
        // A product read twice is not fused.
        let twice = add(&bias_add(&product, &b)?, &product)?;
        assert_eq!(steps(&session, &[&twice], &feeds), ["MatMul", "BiasAdd", "AddV2"]);
        // Nor is a bias whose length is not known when planned.
        let bias = placeholder(DType::F32, Shape::from_dims([None]))?;
        let unknown = bias_add(&matmul(&x, &w)?, &bias)?;
        let both = [(&x, &feed), (&bias, &Value::from(vec![0.0f32; 4]))];
        assert_eq!(steps(&session, &[&unknown], &both), ["MatMul", "BiasAdd"]);
        // Nor a chain with an update between its ops: the product reads `w` before it.
        let before = matmul(&x, &w)?;
        let update = assign_add(&w, &crate::constant(ndarray::Array2::<f32>::ones((3, 4)))?)?;
        let after = control_dependencies(&[&update.op()]).with(|| bias_add(&before, &b))?;
        assert_eq!(steps(&session, &[&after], &feeds), ["MatMul", "AssignAdd", "BiasAdd"]);
        // A convolution's chain, over its channels.
        let image = placeholder(DType::F32, Shape::from_dims([None, Some(5), Some(5), Some(2)]))?;
        let filter = get_variable("f", [3, 3, 2, 4]).get()?;
        let conv = relu(&bias_add(&crate::conv2d(&image, &filter, [1, 1], crate::Padding::Same)?, &b)?)?;
        let images = Value::from(ndarray::Array4::<f32>::zeros((1, 5, 5, 2)));
        assert_eq!(steps(&session, &[&conv], &[(&image, &images)]), ["Fused(Conv2D+BiasAdd+Relu)"]);
        Ok(())
    }
}
