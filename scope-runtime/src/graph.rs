//! `Graph`: nodes, names in use, the variable store and collections, shared by threads.

use crate::context::{self, DefaultGraphGuard};
use crate::error::{Error, Result};
use crate::names::NamesInUse;
use crate::ops::OpKind;
use crate::shape::Shape;
use crate::store::Store;
use crate::tensor::Tensor;
use crate::variable::Variable;
use crate::{dtype::DType, value::Value};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The collection of every variable (TF `GraphKeys.GLOBAL_VARIABLES`).
pub const GLOBAL_VARIABLES: &str = "global_variables";
/// The collection of trainable variables (TF `GraphKeys.TRAINABLE_VARIABLES`).
pub const TRAINABLE_VARIABLES: &str = "trainable_variables";
/// The collection of regularization losses (TF `GraphKeys.REGULARIZATION_LOSSES`).
pub const REGULARIZATION_LOSSES: &str = "regularization_losses";

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
    pub(crate) state: RwLock<GraphState>,
}

/// Everything a graph holds, behind one lock so that a failed call can leave it untouched.
#[derive(Default)]
pub(crate) struct GraphState {
    pub(crate) names: NamesInUse,
    pub(crate) nodes: Vec<Node>,
    /// Node names, exactly as spelled (TensorFlow rejects a second node of one name).
    pub(crate) node_names: rustc_hash::FxHashSet<Arc<str>>,
    pub(crate) store: Store,
    pub(crate) collections: FxHashMap<String, Vec<CollectionItem>>,
    pub(crate) warnings: Vec<String>,
}

/// A node of the graph.
pub(crate) struct Node {
    pub(crate) name: Arc<str>,
    pub(crate) op: OpKind,
    pub(crate) inputs: SmallVec<[u32; 2]>,
    pub(crate) shape: Shape,
    pub(crate) dtype: DType,
    pub(crate) attr: Attr,
}

/// Data an op carries besides its inputs.
#[derive(Clone, Debug)]
pub(crate) enum Attr {
    None,
    Const(Arc<Value>),
    Variable(Variable),
    /// Concatenation or stacking axis.
    Axis(usize),
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// Reduction axes (`None`: all) and whether reduced axes stay as size 1.
    Reduce {
        axes: Option<Vec<usize>>,
        keep_dims: bool,
    },
    /// A reshape target; `-1` stands for the one dimension inferred from the element count.
    Reshape(Vec<i64>),
    Perm(Vec<usize>),
    Cast(DType),
    Conv(crate::ops::Conv),
    Pool(crate::ops::Pool),
}

/// A graph node as seen from outside: its name, op type, inputs and output.
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
    /// Names of the input nodes.
    pub inputs: Vec<String>,
    /// Static shape of the output.
    pub shape: Shape,
    /// Dtype of the output.
    pub dtype: DType,
    /// The value of a `Const` node.
    pub constant: Option<Arc<Value>>,
    /// The variable of a `VariableV2` node.
    pub variable: Option<Variable>,
    /// The axis of a concatenation.
    pub axis: Option<usize>,
}

/// An item of a collection: a variable, or a tensor such as a loss.
#[derive(Clone, Debug)]
pub enum CollectionItem {
    /// A variable.
    Variable(Variable),
    /// A tensor.
    Tensor(Tensor),
}

impl CollectionItem {
    /// The name of the variable or tensor's op.
    pub fn name(&self) -> &str {
        match self {
            CollectionItem::Variable(v) => v.name(),
            CollectionItem::Tensor(t) => t.name(),
        }
    }
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
        Graph::with_seed(RandomState::new().hash_one(NEXT_GRAPH_ID.load(Ordering::Relaxed)))
    }

    /// An empty graph with a graph-level seed (TF `tf.set_random_seed`): random
    /// initial values then depend only on the seed and each variable's name.
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
        Graph {
            inner: Arc::new(GraphInner {
                id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
                seed,
                state: RwLock::new(GraphState::default()),
            }),
        }
    }

    /// The graph-level seed.
    pub fn seed(&self) -> u64 {
        self.inner.seed
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
        context::push_default(self)
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

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, GraphState> {
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every node, in creation order.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        let state = self.read();
        state
            .nodes
            .iter()
            .map(|n| NodeInfo {
                name: n.name.to_string(),
                op_type: n.op.def().type_name,
                inputs: n.inputs.iter().map(|&i| state.nodes[i as usize].name.to_string()).collect(),
                shape: n.shape.clone(),
                dtype: n.dtype,
                constant: match &n.attr {
                    Attr::Const(v) => Some(v.clone()),
                    _ => None,
                },
                variable: match &n.attr {
                    Attr::Variable(v) => Some(v.clone()),
                    _ => None,
                },
                axis: match n.attr {
                    Attr::Axis(a) => Some(a),
                    _ => None,
                },
            })
            .collect()
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

    /// The variable stored under `name` by `get_variable` (the base name for a partitioned one).
    pub fn variable(&self, name: &str) -> Option<Variable> {
        self.read().store.lookup(name).cloned()
    }

    /// TF `get_collection(key, scope)`: the items of a collection in insertion
    /// order, kept when `scope` (a regular expression) matches at the start of
    /// the item's tensor name (`foo` keeps `foo/v` and `foobar/v`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `scope` is not a valid regular expression.
    pub fn get_collection(&self, key: &str, scope: Option<&str>) -> Result<Vec<CollectionItem>> {
        let filter = match scope {
            Some(s) if !s.is_empty() => Some(
                regex_lite::Regex::new(&format!("^(?:{s})"))
                    .map_err(|source| Error::InvalidFilter { pattern: s.to_owned(), source })?,
            ),
            _ => None,
        };
        let state = self.read();
        let items = state.collections.get(key).map(Vec::as_slice).unwrap_or_default();
        Ok(items
            .iter()
            .filter(|item| filter.as_ref().is_none_or(|re| re.is_match(&format!("{}:0", item.name()))))
            .cloned()
            .collect())
    }

    /// Adds an item to a collection (user keys are allowed).
    pub fn add_to_collection(&self, key: &str, item: CollectionItem) {
        self.write().collections.entry(key.to_owned()).or_default().push(item);
    }

    fn variables_in(&self, key: &str, scope: Option<&str>) -> Result<Vec<Variable>> {
        Ok(self
            .get_collection(key, scope)?
            .into_iter()
            .filter_map(|i| match i {
                CollectionItem::Variable(v) => Some(v),
                CollectionItem::Tensor(_) => None,
            })
            .collect())
    }

    /// The `global_variables` collection, filtered as by [`get_collection`](Graph::get_collection).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `scope` is not a valid regular expression.
    pub fn global_variables(&self, scope: Option<&str>) -> Result<Vec<Variable>> {
        self.variables_in(GLOBAL_VARIABLES, scope)
    }

    /// The `trainable_variables` collection, filtered as by [`get_collection`](Graph::get_collection).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `scope` is not a valid regular expression.
    pub fn trainable_variables(&self, scope: Option<&str>) -> Result<Vec<Variable>> {
        self.variables_in(TRAINABLE_VARIABLES, scope)
    }

    /// The `regularization_losses` collection, filtered as by [`get_collection`](Graph::get_collection).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] when `scope` is not a valid regular expression.
    pub fn regularization_losses(&self, scope: Option<&str>) -> Result<Vec<Tensor>> {
        Ok(self
            .get_collection(REGULARIZATION_LOSSES, scope)?
            .into_iter()
            .filter_map(|i| match i {
                CollectionItem::Tensor(t) => Some(t),
                CollectionItem::Variable(_) => None,
            })
            .collect())
    }

    /// Warnings recorded while building (such as a `default_name` scope inside a `reuse = auto` scope).
    pub fn warnings(&self) -> Vec<String> {
        self.read().warnings.clone()
    }
}

impl GraphState {
    pub(crate) fn add_to_collection(&mut self, key: &str, item: CollectionItem) {
        match self.collections.get_mut(key) {
            Some(items) => items.push(item),
            None => {
                self.collections.insert(key.to_owned(), vec![item]);
            }
        }
    }
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph").field("id", &self.inner.id).finish_non_exhaustive()
    }
}

/// The current thread's default graph.
///
/// # Errors
///
/// [`Error::NoDefaultGraph`] when no graph is the default of this thread.
///
/// # Examples
///
/// ```
/// let graph = scope_runtime::Graph::new();
/// let _g = graph.as_default();
/// assert!(scope_runtime::get_default_graph()?.ptr_eq(&graph));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn get_default_graph() -> Result<Graph> {
    context::default_graph().ok_or(Error::NoDefaultGraph)
}
