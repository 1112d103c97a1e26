//! `Graph`: nodes, names in use, stored variables and collections, shared by
//! threads, and the one builder every node goes through.

mod attr;
mod body;
mod collections;
mod default;
mod op;
mod variables;

pub(crate) use attr::{Attr, Conv, OneHot, Pool, Random};
pub use attr::{Padding, StridedSlice};
pub(crate) use body::{LoopBody, LoopSignature};
pub use collections::CollectionItem;
pub use collections::{GLOBAL_VARIABLES, LOSSES, REGULARIZATION_LOSSES, TRAINABLE_VARIABLES, UPDATE_OPS};
pub use default::DefaultGraphGuard;
pub use default::get_default_graph;
pub(crate) use default::{push_default, with_default_graph, with_default_graph_or};
#[cfg(feature = "mpi")]
pub(crate) use op::Collective;
pub(crate) use op::{
    Arg, Args, Arity, Consts, DTypes, Fail, Grad, GradOp, Held, Kernel, KernelResult, LoopFailure, LoopFn, ManyFn,
    OneFn, OpDef, Outputs, UpdateFn, Values,
};
pub(crate) use variables::VariableTable;

use crate::base::names::NamesInUse;
use crate::base::{DType, Error, Operation, Result, Shape, Tensor, Value};
use crate::variable::Variable;
use crate::variable::philox::Seeds;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A graph of named ops with its variable store and collections.
///
/// Cheap to clone (a shared handle), `Send + Sync`. Each thread makes a graph
/// its default with [`as_default`](Graph::as_default) or
/// [`with_default`](Graph::with_default); scope stacks are per thread, while
/// names in use, nodes, variables and collections are shared by all threads.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph};
/// let graph = Graph::new();
/// graph.with_default(|| {
///     let _s = variable_scope("layer1").enter()?;
///     get_variable("kernel", [2, 3]).get()
/// })?;
/// let names: Vec<String> = graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
/// assert_eq!(names, ["layer1/kernel"]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Graph {
    pub(crate) inner: Arc<GraphInner>,
}

pub(crate) struct GraphInner {
    pub(crate) id: u64,
    pub(crate) seed: u64,
    /// Whether the seed was given (TF `tf.set_random_seed`) rather than drawn.
    pub(crate) seeded: bool,
    pub(crate) state: RwLock<GraphState>,
    /// Orders what reads and writes the variables as a whole: runs that only
    /// read and saves share it; runs that update variables and restores hold
    /// it alone, so each is all-or-nothing to every other (see `Graph::variables_gate`).
    pub(crate) variables: RwLock<()>,
}

/// Everything a graph holds, behind one lock so that a failed call can leave it untouched.
#[derive(Default)]
pub(crate) struct GraphState {
    pub(crate) names: NamesInUse,
    pub(crate) nodes: Nodes,
    /// Node names, exactly as spelled (TensorFlow rejects a second node of one name).
    pub(crate) node_names: FxHashSet<Arc<str>>,
    /// Variables by the name `get_variable` stores them under.
    pub(crate) variables: VariableTable,
    pub(crate) collections: FxHashMap<String, Vec<CollectionItem>>,
    pub(crate) warnings: Vec<String>,
    /// The (input shape, axes) pairs whose reduction gradient was built once
    /// (TF's `graph._reduced_shape_cache`: later ones skip a few nodes).
    pub(crate) reduced_shape_cache: FxHashSet<(Vec<usize>, Vec<i64>)>,
    /// The L2 regularization losses `get_variable` made, by loss node: how to
    /// make each again (TF 2.21 keeps them as lazy tensors that build a fresh
    /// copy each time they are summed).
    pub(crate) regularizers: FxHashMap<u32, LazyL2Loss>,
    /// How many random ops (and random initializers) took their op seed from
    /// the graph (TF's per-graph count in `random_seed.get_seed`).
    pub(crate) random_ops: u64,
    /// How many times the graph was locked for writing, by any thread.
    writes: u64,
    /// Scratch space for names on the build path, so that checks allocate nothing.
    pub(crate) scratch: String,
}

/// TF's `DEFAULT_GRAPH_SEED`, paired with an op-level seed in a graph without a seed.
const DEFAULT_GRAPH_SEED: u64 = 87_654_321;

/// A graph's seed: given (TF `tf.set_random_seed`), or drawn when the graph was made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GraphSeed {
    pub(crate) seed: u64,
    pub(crate) seeded: bool,
}

impl GraphState {
    /// TF's `random_seed.get_seed(op_seed)`: the seeds of a new random op.
    /// With a graph seed and no op seed, the op seed is the number of random
    /// ops that took theirs from the graph before (a graph without a seed
    /// uses its drawn seed the same way, where TF draws at random); an op
    /// seed without a graph seed pairs with `DEFAULT_GRAPH_SEED`. Both are
    /// taken modulo 2^31 - 1, and (0, 0), which TF's kernels read as "draw
    /// at random", becomes (0, 2^31 - 1).
    pub(crate) fn random_seeds(&mut self, graph: GraphSeed, op_seed: Option<u64>) -> Seeds {
        const MAXINT32: u64 = (1 << 31) - 1;
        let (seed, seed2) = match op_seed {
            Some(op) => (if graph.seeded { graph.seed } else { DEFAULT_GRAPH_SEED }, op),
            None => {
                self.random_ops += 1;
                (graph.seed, self.random_ops - 1)
            }
        };
        match (seed % MAXINT32, seed2 % MAXINT32) {
            (0, 0) => Seeds { seed: 0, seed2: MAXINT32 },
            (seed, seed2) => Seeds { seed, seed2 },
        }
    }
}

thread_local! {
    /// How many times this thread locked each graph for writing, by graph id
    /// (see `Graph::undo_on_error`); a thread writes to few graphs.
    static OWN_WRITES: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

/// Adds `more` to this thread's count of writes to graph `id`, and returns the count.
#[inline]
fn own_writes(id: u64, more: u64) -> u64 {
    OWN_WRITES.with(|counts| {
        let mut counts = counts.borrow_mut();
        // The graph written last is kept last: a thread building one graph finds it at once.
        let last = match counts.last_mut() {
            Some(last) if last.0 == id => last,
            _ => move_last(&mut counts, id),
        };
        last.1 += more;
        last.1
    })
}

/// Moves graph `id`'s count of writes to the end of `counts` (adding one
/// when it has none) and returns it.
#[cold]
fn move_last(counts: &mut Vec<(u64, u64)>, id: u64) -> &mut (u64, u64) {
    match counts.iter().position(|&(g, _)| g == id) {
        Some(index) => {
            let entry = counts.remove(index);
            counts.push(entry);
        }
        None => counts.push((id, 0)),
    }
    counts.last_mut().expect("pushed above")
}

impl Drop for GraphInner {
    fn drop(&mut self) {
        // This thread's count of writes goes with the graph (other threads'
        // stay, a few bytes each, until they end).
        let _ = OWN_WRITES.try_with(|counts| {
            if let Ok(mut counts) = counts.try_borrow_mut() {
                counts.retain(|&(g, _)| g != self.id);
            }
        });
    }
}

/// What [`GraphState::restore`] puts back: the number of nodes (those
/// added since are dropped), the names, variables and collections.
struct Savepoint {
    nodes: usize,
    names: NamesInUse,
    variables: VariableTable,
    collections: FxHashMap<String, Vec<CollectionItem>>,
    warnings: usize,
    reduced_shape_cache: FxHashSet<(Vec<usize>, Vec<i64>)>,
    regularizers: FxHashMap<u32, LazyL2Loss>,
    writes: u64,
    own_writes: u64,
}

impl GraphState {
    fn savepoint(&self, graph_id: u64) -> Savepoint {
        Savepoint {
            nodes: self.nodes.len(),
            names: self.names.clone(),
            variables: self.variables.clone(),
            collections: self.collections.clone(),
            warnings: self.warnings.len(),
            reduced_shape_cache: self.reduced_shape_cache.clone(),
            regularizers: self.regularizers.clone(),
            writes: self.writes,
            own_writes: own_writes(graph_id, 0),
        }
    }

    fn restore(&mut self, saved: Savepoint) {
        let node_names = &mut self.node_names;
        self.nodes.truncate(saved.nodes, |node| {
            node_names.remove(&node.name);
        });
        self.names = saved.names;
        self.variables = saved.variables;
        self.collections = saved.collections;
        self.warnings.truncate(saved.warnings);
        self.reduced_shape_cache = saved.reduced_shape_cache;
        self.regularizers = saved.regularizers;
    }
}

/// What a variable's L2 regularization loss is made of, to make it again.
#[derive(Clone)]
pub(crate) struct LazyL2Loss {
    /// The variable's value.
    pub(crate) variable: Tensor,
    pub(crate) scale: f64,
    /// The name scope it is made in: `<variable>/Regularizer/`.
    pub(crate) scope: Arc<str>,
}

/// The nodes of a graph, by index: in chunks, so that adding one never
/// moves the others. (A vector doubled as it grew copied every node, 240
/// bytes each, at each doubling: 3% of the instructions of building a
/// 500-layer MLP.)
pub(crate) type Nodes = Chunked<Node, NODE_CHUNK>;

/// Nodes per chunk of [`Nodes`]: 60 KB, below the size from which glibc
/// maps memory from the system (and faults it in page by page).
const NODE_CHUNK: usize = 256;

/// A vector of `T`s kept in chunks of `N`: indexed as one, grown without
/// moving what it holds.
pub(crate) struct Chunked<T, const N: usize> {
    /// Chunks of `N` items, but the last, which holds 1 to `N` (none at all
    /// when empty): item `i` is item `i % N` of chunk `i / N`.
    chunks: Vec<Vec<T>>,
}

impl<T, const N: usize> Default for Chunked<T, N> {
    fn default() -> Self {
        Chunked { chunks: Vec::new() }
    }
}

impl<T, const N: usize> Chunked<T, N> {
    pub(crate) fn len(&self) -> usize {
        self.chunks.last().map_or(0, |last| (self.chunks.len() - 1) * N + last.len())
    }

    pub(crate) fn push(&mut self, item: T) {
        const { assert!(N > 0, "chunks hold items") };
        match self.chunks.last_mut() {
            Some(last) if last.len() < N => last.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(N);
                chunk.push(item);
                self.chunks.push(chunk);
            }
        }
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / N)?.get(index % N)
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / N)?.get_mut(index % N)
    }

    /// The items in order of their indices.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Removes the items from index `len` on, the last first, passing each to `removed`.
    fn truncate(&mut self, len: usize, mut removed: impl FnMut(T)) {
        for _ in len..self.len() {
            let chunk = self.chunks.last_mut().expect("an item is in a chunk");
            removed(chunk.pop().expect("chunks hold items"));
            if chunk.is_empty() {
                self.chunks.pop();
            }
        }
    }
}

impl<T, const N: usize> std::ops::Index<usize> for Chunked<T, N> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index / N][index % N]
    }
}

impl<T, const N: usize> std::ops::IndexMut<usize> for Chunked<T, N> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / N][index % N]
    }
}

/// A node of the graph.
pub(crate) struct Node {
    pub(crate) name: Arc<str>,
    pub(crate) op: &'static OpDef,
    pub(crate) inputs: SmallVec<[Output; 2]>,
    /// Nodes that must run before this one (TF control inputs).
    pub(crate) control_inputs: Vec<u32>,
    /// The static shape and dtype of each output.
    pub(crate) outputs: Outputs,
    pub(crate) attr: Attr,
    /// The values of the outputs, when computed at build time (see `GraphState::fold`).
    pub(crate) folded: Vec<Arc<Value>>,
}

/// One output of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Output {
    pub(crate) node: u32,
    pub(crate) index: u32,
}

impl Output {
    pub(crate) fn of(t: &Tensor) -> Output {
        Output { node: t.node, index: t.output }
    }
}

/// A graph node as seen from outside: its name, op type, inputs and outputs.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, Graph};
/// let graph = Graph::new();
/// graph.with_default(|| constant(1.0f32))?;
/// let node = &graph.nodes()[0];
/// assert_eq!((node.name.as_str(), node.op_type), ("Const", "Const"));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    /// Full name (`foo_1/Add`).
    pub name: String,
    /// TensorFlow op type (`AddV2`, `MatMul`, `VariableV2`, …).
    pub op_type: &'static str,
    /// The input tensors, as TensorFlow lists them: the op name for output 0
    /// (`MatMul`), with the index for others (`split:1`).
    pub inputs: Vec<String>,
    /// Names of the ops that must run first (TF control inputs, `^name` in a GraphDef).
    pub control_inputs: Vec<String>,
    /// Static shape of the first output (unknown for an op without outputs).
    pub shape: Shape,
    /// Dtype of the first output.
    pub dtype: DType,
    /// Static shape and dtype of every output.
    pub outputs: Vec<(Shape, DType)>,
    /// The value of a `Const` node.
    pub constant: Option<Arc<Value>>,
    /// The variable of a `VariableV2` node.
    pub variable: Option<Variable>,
    /// The axis of a concatenation.
    pub axis: Option<usize>,
}

static NEXT_GRAPH_ID: AtomicU64 = AtomicU64::new(1);

impl Default for Graph {
    fn default() -> Self {
        Graph::new()
    }
}

impl Graph {
    /// An empty graph whose random initializers draw a fresh seed.
    pub fn new() -> Graph {
        use std::hash::{BuildHasher, RandomState};
        Graph::build(RandomState::new().hash_one(NEXT_GRAPH_ID.load(Ordering::Relaxed)), false)
    }

    /// An empty graph with a graph-level seed (TF `tf.set_random_seed`): random
    /// initial values and random ops then draw TensorFlow's values, bit for
    /// bit, from the seed and the order in which random initializers and ops
    /// are made (TF's `get_seed` counts them per graph).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, Graph};
    /// let value = |seed| {
    ///     let graph = Graph::with_seed(seed);
    ///     graph.with_default(|| get_variable("w", [3, 3]).get()?.value())
    /// };
    /// assert_eq!(value(1)?, value(1)?);
    /// assert_ne!(value(1)?, value(2)?);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn with_seed(seed: u64) -> Graph {
        Graph::build(seed, true)
    }

    fn build(seed: u64, seeded: bool) -> Graph {
        Graph {
            inner: Arc::new(GraphInner {
                id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
                seed,
                seeded,
                state: RwLock::new(GraphState::default()),
                variables: RwLock::new(()),
            }),
        }
    }

    /// The graph-level seed.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The graph-level seed and whether it was given.
    pub(crate) fn graph_seed(&self) -> GraphSeed {
        GraphSeed { seed: self.inner.seed, seeded: self.inner.seeded }
    }

    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// Makes this graph the default of the current thread until the guard drops.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_default_graph, Graph};
    /// let graph = Graph::new();
    /// {
    ///     let _g = graph.as_default();
    ///     assert!(get_default_graph()?.ptr_eq(&graph));
    /// }
    /// assert!(get_default_graph().is_err());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn as_default(&self) -> DefaultGraphGuard {
        push_default(self)
    }

    /// Runs `f` with this graph as the default of the current thread.
    pub fn with_default<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.as_default();
        f()
    }

    /// Whether both handles refer to the same graph.
    pub fn ptr_eq(&self, other: &Graph) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, GraphState> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Shared access to the graph's variables as a whole: a run that only
    /// reads them, a save.
    pub(crate) fn variables_shared(&self) -> RwLockReadGuard<'_, ()> {
        self.inner.variables.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sole access to the graph's variables as a whole: a run that updates
    /// them, a restore. Other runs see all of its writes or none.
    pub(crate) fn variables_alone(&self) -> RwLockWriteGuard<'_, ()> {
        self.inner.variables.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, GraphState> {
        let mut state = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
        state.writes += 1;
        own_writes(self.id(), 1);
        state
    }

    /// Runs `build`, and when it fails, takes out of the graph everything it
    /// added (nodes, names, variables, collection items), so that a failed
    /// call leaves the graph as it was. When another thread wrote to the graph
    /// in the meantime, what was added stays (those writes are not undone).
    pub(crate) fn undo_on_error<T>(&self, build: impl FnOnce() -> Result<T>) -> Result<T> {
        let saved = self.read().savepoint(self.id());
        let result = build();
        if result.is_err() {
            let mut state = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
            let own = own_writes(self.id(), 0) - saved.own_writes;
            if state.writes - saved.writes == own {
                state.restore(saved);
            }
        }
        result
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        let state = self.read();
        state.nodes.iter().map(|n| state.node_info(n)).collect()
    }

    /// Whether a name (of an op or a name scope) is in use, compared case-insensitively.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{name_scope, Graph};
    /// let graph = Graph::new();
    /// graph.with_default(|| name_scope("Block").enter().map(drop))?;
    /// assert!(graph.is_name_used("block"));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn is_name_used(&self, name: &str) -> bool {
        self.read().names.contains(name)
    }

    /// The tensor named `op:index`, or output 0 of `op` for a bare op name
    /// (TF `Graph.get_tensor_by_name`, which always wants the index); `None`
    /// when there is no such op or output.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{constant, split, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// split(&constant(vec![1.0f32, 2.0])?, 2, 0)?;
    /// assert_eq!(graph.tensor("split:1").map(|t| t.tensor_name()), Some("split:1".to_string()));
    /// assert!(graph.tensor("split:2").is_none());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn tensor(&self, name: &str) -> Option<Tensor> {
        let (op, index) = match name.rsplit_once(':') {
            Some((op, i)) => (op, i.parse::<u32>().ok()?),
            None => (name, 0),
        };
        let state = self.read();
        let node = state.nodes.iter().position(|n| &*n.name == op)?;
        if index as usize >= state.nodes[node].outputs.len() {
            return None;
        }
        Some(state.output(self.id(), node as u32, index))
    }

    /// The variable stored under `name` by `get_variable` (the base name for
    /// a partitioned one; for a variable made by `get_variable("")` in scope
    /// `s`, such as an optimizer's slot, TF stores `s/` and names it `s`:
    /// either finds it).
    pub fn variable(&self, name: &str) -> Option<Variable> {
        let state = self.read();
        state.variables.lookup(name).or_else(|| state.variables.lookup(&format!("{name}/"))).cloned()
    }

    /// Warnings recorded while building (such as a `default_name` scope inside a `reuse = auto` scope).
    pub fn warnings(&self) -> Vec<String> {
        self.read().warnings.clone()
    }
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph").field("id", &self.inner.id).finish_non_exhaustive()
    }
}

/// A node about to be recorded: its name, already unique, its op, inputs and attributes.
pub(crate) struct NewNode<'a> {
    pub(crate) name: Arc<str>,
    pub(crate) op: &'static OpDef,
    pub(crate) inputs: &'a [&'a Tensor],
    pub(crate) control_inputs: Vec<u32>,
    pub(crate) attr: Attr,
}

impl GraphState {
    /// TensorFlow's naming of a new node from a full name: made unique and
    /// marked used, or, ending in `/`, used as is without marking. As in
    /// TensorFlow, a name that is already a node's is an error, and the
    /// name it was made from stays used.
    pub(crate) fn claim_node_name(&mut self, full: &str) -> Result<Arc<str>> {
        // Made in the scratch buffer: a `String` turned into an `Arc<str>`
        // would be allocated twice.
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        name.push_str(full);
        let claimed = self.claim_node_name_into(&mut name).map(|()| Arc::from(name.as_str()));
        self.scratch = name;
        claimed
    }

    /// [`claim_node_name`](Self::claim_node_name) in place: `full` becomes the node's name.
    pub(crate) fn claim_node_name_into(&mut self, full: &mut String) -> Result<()> {
        match full.strip_suffix('/') {
            Some(as_is) => full.truncate(as_is.len()),
            None => self.names.unique_into(full),
        }
        if self.node_names.contains(full.as_str()) {
            return Err(Error::DuplicateNode { name: full.clone() });
        }
        Ok(())
    }

    /// The one way a node enters a graph: checks its inputs against its op's
    /// row (arity, dtypes, shape function), then records it. Returns the node's index.
    pub(crate) fn add_node(&mut self, graph_id: u64, new: NewNode<'_>) -> Result<u32> {
        let def = new.op;
        if let Some(t) = new.inputs.iter().find(|t| t.graph_id != graph_id) {
            return Err(Error::GraphMismatch { name: t.name.to_string() });
        }
        // A node number this graph does not hold (a gradient's stand-in that
        // escaped) would make every later run of the graph index out of bounds.
        let known = |node: u32| (node as usize) < self.nodes.len();
        if let Some(t) = new.inputs.iter().find(|t| !known(t.node)) {
            return Err(Error::GraphMismatch { name: t.name.to_string() });
        }
        if !new.control_inputs.iter().all(|&n| known(n)) {
            return Err(Error::GraphMismatch { name: new.name.to_string() });
        }
        let shape_error = |rule| Error::OpShape {
            op: new.name.to_string(),
            op_type: def.type_name,
            shapes: new.inputs.iter().map(|t| t.shape.clone()).collect(),
            rule,
        };
        if !def.arity.accepts(new.inputs.len()) {
            return Err(shape_error("wrong number of inputs"));
        }
        let dtype_error = || Error::OpDType {
            op: new.name.to_string(),
            op_type: def.type_name,
            dtypes: new.inputs.iter().map(|t| t.dtype).collect(),
        };
        if def.dtypes != DTypes::Mixed
            && let Some(first) = new.inputs.first()
            && new.inputs.iter().any(|t| t.dtype != first.dtype || !def.dtypes.admits(t.dtype))
        {
            return Err(dtype_error());
        }
        // Inputs that are constants tell shape functions their values (shapes and axes given as tensors).
        let outputs = (def.infer)(new.inputs, &new.attr, Consts::new(self, new.inputs)).map_err(|fail| match fail {
            Fail::DType => dtype_error(),
            Fail::Shape(rule) => shape_error(rule),
        })?;
        let index = u32::try_from(self.nodes.len()).map_err(|_| shape_error("a graph holds fewer than 2^32 nodes"))?;
        let folded = self.fold(def, new.inputs, &new.attr, &outputs);
        self.node_names.insert(new.name.clone());
        self.nodes.push(Node {
            name: new.name,
            op: def,
            inputs: new.inputs.iter().map(|t| Output::of(t)).collect(),
            control_inputs: new.control_inputs,
            outputs,
            attr: new.attr,
            folded,
        });
        Ok(index)
    }

    /// For `t` the output of a `Shape` or `ShapeN`, the static shape of the
    /// tensor it measures (TF's shape functions read a shape tensor that far).
    pub(crate) fn shape_of_shape(&self, t: &Tensor) -> Option<&Shape> {
        let node = self.nodes.get(t.node as usize)?;
        let measured = match node.op.values {
            Values::ShapesOfInputs => node.inputs.get(t.output as usize)?,
            Values::Computed => return None,
        };
        Some(&self.nodes.get(measured.node as usize)?.outputs.get(measured.index as usize)?.0)
    }

    /// The value of `t` when it is known at build time: a constant's, or a folded one.
    pub(crate) fn known_value(&self, t: &Tensor) -> Option<&Value> {
        self.known_output(Output::of(t)).map(|v| &**v)
    }

    /// The value of output `o` when it is known at build time (TF
    /// `constant_value`): a constant's, or a folded one (a `Range` of
    /// constants, a shape computed from constants, …).
    pub(crate) fn known_output(&self, o: Output) -> Option<&Arc<Value>> {
        let node = self.nodes.get(o.node as usize)?;
        match &node.attr {
            Attr::Const(v) => Some(v),
            _ => node.folded.get(o.index as usize),
        }
    }

    /// TF's shape refiner evaluates small constant subgraphs of integers
    /// (shapes, axes, offsets) when a shape function asks for an input's
    /// value: here an op of integers whose inputs are all known is computed
    /// as it is built, so later shape functions see its outputs.
    fn fold(&self, def: &OpDef, inputs: &[&Tensor], attr: &Attr, outputs: &Outputs) -> Vec<Arc<Value>> {
        const MAX_ELEMENTS: usize = 1024;
        let int = |d: DType| matches!(d, DType::I32 | DType::I64);
        if inputs.is_empty() || !inputs.iter().all(|t| int(t.dtype)) || !outputs.iter().all(|(_, d)| int(*d)) {
            return Vec::new();
        }
        // Small outputs only (`Fill` or `Range` of known sizes can be huge).
        // An output of unknown size from known inputs (`ListDiff`) is no
        // larger than they are.
        let small = |shape: &Shape| {
            shape.to_vec().is_none_or(|dims| {
                dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_some_and(|n| n <= MAX_ELEMENTS)
            })
        };
        if !outputs.iter().all(|(shape, _)| small(shape)) {
            return Vec::new();
        }
        let Some(args) = inputs
            .iter()
            .map(|t| self.known_value(t).filter(|v| v.len() <= MAX_ELEMENTS).map(Arg::Shared))
            .collect::<Option<Args<'_>>>()
        else {
            return Vec::new();
        };
        let values = match def.kernel {
            Kernel::One(f) => f(attr, args, &mut Vec::new()).map(|v| vec![v]),
            Kernel::Many(f) => f(attr, args),
            _ => return Vec::new(),
        };
        values.map(|v| v.into_iter().map(Arc::new).collect()).unwrap_or_default()
    }

    /// Checks that `t` is an output of the node this graph holds under its
    /// number: [`Error::StaleHandle`] when a failed call's undo took that
    /// node out (a later node may have taken its number). Each node's name
    /// is its own allocation, which every handle to it shares and keeps
    /// alive, so a handle is its node's exactly when their names are one.
    pub(crate) fn check_tensor(&self, t: &Tensor) -> Result<()> {
        match self.nodes.get(t.node as usize) {
            Some(n) if Arc::ptr_eq(&n.name, &t.name) && (t.output as usize) < n.outputs.len() => Ok(()),
            _ => Err(Error::StaleHandle { name: t.tensor_name() }),
        }
    }

    /// [`check_tensor`](Self::check_tensor) for an op handle.
    pub(crate) fn check_op(&self, o: &Operation) -> Result<()> {
        match self.nodes.get(o.node as usize) {
            Some(n) if Arc::ptr_eq(&n.name, &o.name) => Ok(()),
            _ => Err(Error::StaleHandle { name: o.name.to_string() }),
        }
    }

    /// The handle of output `index` of `node`.
    pub(crate) fn output(&self, graph_id: u64, node: u32, index: u32) -> Tensor {
        let n = &self.nodes[node as usize];
        let (shape, dtype) = n.outputs[index as usize].clone();
        Tensor { graph_id, node, output: index, name: n.name.clone(), shape, dtype }
    }

    /// How TensorFlow names an input: `op` for output 0, `op:1` for others.
    fn input_name(&self, o: Output) -> String {
        let name = &self.nodes[o.node as usize].name;
        if o.index == 0 { name.to_string() } else { format!("{name}:{}", o.index) }
    }

    pub(crate) fn node_info(&self, n: &Node) -> NodeInfo {
        let (shape, dtype) = n.outputs.first().cloned().unwrap_or((Shape::unknown(), DType::F32));
        NodeInfo {
            name: n.name.to_string(),
            op_type: n.op.type_name,
            inputs: n.inputs.iter().map(|&o| self.input_name(o)).collect(),
            control_inputs: n.control_inputs.iter().map(|&c| self.nodes[c as usize].name.to_string()).collect(),
            shape,
            dtype,
            outputs: n.outputs.to_vec(),
            constant: match &n.attr {
                Attr::Const(v) => Some(v.clone()),
                _ => None,
            },
            variable: match (&n.attr, n.op.kernel) {
                (Attr::Variable(v), Kernel::Variable) => Some(v.clone()),
                _ => None,
            },
            axis: match n.attr {
                Attr::Axis(a) => Some(a),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_items_keep_their_indices_across_chunks_and_truncation() {
        const N: usize = 4;
        let mut items = Chunked::<usize, N>::default();
        assert_eq!((items.len(), items.get(0)), (0, None));
        let count = 2 * N + 3;
        (0..count).for_each(|i| items.push(i));
        assert_eq!(items.len(), count);
        assert_eq!((items[N - 1], items[N], items.get(count - 1)), (N - 1, N, Some(&(count - 1))));
        assert!(items.get(count).is_none() && items.get_mut(count).is_none());
        assert!(items.iter().copied().eq(0..count));
        items[3] += 100;
        *items.get_mut(5).expect("item 5") += 100;
        assert_eq!((items[3], items[5]), (103, 105));
        // Back to a chunk boundary, then inside a chunk: the last ones first.
        let mut removed = Vec::new();
        items.truncate(N, |i| removed.push(i));
        assert_eq!(removed, [10, 9, 8, 7, 6, 105, 4]);
        items.truncate(2, |_| {});
        assert_eq!(items.len(), 2);
        items.push(42);
        assert!(items.iter().copied().eq([0, 1, 42]));
    }
}
