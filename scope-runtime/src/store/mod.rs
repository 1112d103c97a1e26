//! The variable store: `get_variable` with TensorFlow's reuse rules, sharing
//! checks, partitions, regularizers and custom getters.

mod new_variable;

pub use new_variable::NewVariable;
use new_variable::{Helper, mark_helper_names};

use crate::base::error::PartitionProblem;
use crate::base::names::{is_valid_op_name, join, join_into, name_from_scope_name};
use crate::base::{CallSite, DType, Error, NameKind, Result, Reuse, Shape, Tensor, Value};
use crate::graph::{
    Attr, CollectionItem, GLOBAL_VARIABLES, GraphSeed, GraphState, LazyL2Loss, NewNode, REGULARIZATION_LOSSES,
    TRAINABLE_VARIABLES,
};
use crate::ops::OpKind;
use crate::scope::{ReuseOrigin, try_with_ctx, with_ctx};
use crate::variable::{Constraint, CustomGetter, Init, Partitioner, Regularizer, Storage, Variable, VariableRequest};
use std::panic::Location;
use std::sync::{Arc, RwLock};

/// Gets or creates a variable in the current variable scope (TF `tf.get_variable`);
/// finish with [`get`](GetVariable::get).
///
/// The full name is the variable scope's name and `name`; the current name
/// scope does not apply. Whether an existing variable is shared depends on the
/// scope's [`Reuse`] mode; options not given come from the scope.
/// Pass [`Shape::unknown()`] to share a variable without restating its shape.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph, Init, Reuse, Shape};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let m = variable_scope("text_embedding").with(|_| get_variable("matrix", [100, 8]).get())?;
/// let again = variable_scope("text_embedding")
///     .reuse(Reuse::True)
///     .with(|_| get_variable("matrix", Shape::unknown()).get())?;
/// assert_eq!(m, again);
/// assert_eq!(again.name(), "text_embedding/matrix");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn get_variable(name: &str, shape: impl Into<Shape>) -> GetVariable<'_> {
    GetVariable {
        name,
        shape: shape.into(),
        dtype: None,
        initializer: None,
        regularizer: None,
        partitioner: None,
        constraint: None,
        custom_getter: None,
        trainable: true,
        reuse: Reuse::Inherit,
    }
}

/// Options of a `get_variable` call; see [`get_variable`].
#[must_use = "the variable is fetched or created by `.get()`"]
pub struct GetVariable<'a> {
    name: &'a str,
    shape: Shape,
    dtype: Option<DType>,
    initializer: Option<Init>,
    regularizer: Option<Regularizer>,
    partitioner: Option<Partitioner>,
    constraint: Option<Constraint>,
    custom_getter: Option<CustomGetter>,
    trainable: bool,
    reuse: Reuse,
}

impl GetVariable<'_> {
    crate::base::setters! {
        /// The dtype (default: the scope's, float32 unless set).
        dtype: DType => Some;
        /// The initializer of a new variable (default: the scope's, else glorot_uniform for floats, zeros otherwise).
        initializer: Init => Some;
        /// The regularizer of a new variable (default: the scope's).
        regularizer: Regularizer => Some;
        /// The partitioner of a new variable (default: the scope's).
        partitioner: Partitioner => Some;
        /// The constraint of a new variable, applied by optimizers after each
        /// update (default: the scope's); see [`Constraint`].
        constraint: Constraint => Some;
        /// A custom getter for this call, in place of the scope's (TF
        /// `get_variable(custom_getter=…)`); see [`CustomGetter`].
        custom_getter: CustomGetter => Some;
        /// Whether a new variable joins `trainable_variables` (default `true`).
        trainable: bool;
        /// Overrides the scope's reuse mode for this call.
        reuse: Reuse;
    }

    /// Shares the existing variable or creates a new one, as the reuse mode says.
    ///
    /// Sharing an existing variable takes a read lock, one hash lookup of the
    /// full name built in a reused buffer, and no allocation.
    ///
    /// # Errors
    ///
    /// [`Error::VariableExists`], [`Error::VariableNotFound`],
    /// [`Error::ShapeMismatch`], [`Error::DTypeMismatch`],
    /// [`Error::PartitionMismatch`], [`Error::InvalidName`],
    /// [`Error::MissingShape`], [`Error::ShapeWithValue`],
    /// [`Error::InitializerDType`], [`Error::PartitionShape`],
    /// [`Error::NoDefaultGraph`]. A failed call changes nothing.
    #[track_caller]
    #[inline]
    pub fn get(self) -> Result<Variable> {
        let caller = Location::caller();
        match self.shared(caller) {
            Some(var) => Ok(var),
            None => self.get_or_create(caller),
        }
    }

    /// The fast path: an existing variable that the reuse mode shares and that
    /// fits the request, found without allocating (and, once this thread has
    /// seen it, without locking). Small in and out, so nothing large is moved.
    fn shared(&self, caller: CallSite) -> Option<Variable> {
        let plain = self.partitioner.is_none()
            && self.custom_getter.is_none()
            && !matches!(self.initializer, Some(Init::Value(_)));
        if !plain {
            return None;
        }
        try_with_ctx(|ctx| {
            let (scope, buf, found) = ctx.stack.lookup_parts();
            let reuse = if self.reuse == Reuse::Inherit { scope.reuse() } else { self.reuse };
            let defaults = &scope.defaults;
            if reuse == Reuse::Inherit || defaults.partitioner.is_some() || defaults.custom_getter.is_some() {
                return None;
            }
            let dtype = self.dtype.or(defaults.dtype).unwrap_or(DType::F32);
            join_into(buf, &scope.name, self.name);
            // Variables this thread found before need no lock: the store never drops one.
            let var = match found.get(buf.as_str()) {
                Some(var) => var.clone(),
                None => {
                    let state = ctx.graph.read();
                    let var = state.variables.single.get(buf.as_str())?.clone();
                    // TF refuses `v` without a partitioner when `v/part_0` exists: the slow path says so.
                    let len = buf.len();
                    buf.push_str("/part_0");
                    let partitioned = state.variables.single.contains_key(buf.as_str());
                    buf.truncate(len);
                    if partitioned {
                        return None;
                    }
                    found.insert(buf.as_str().into(), var.clone());
                    var
                }
            };
            if var.dtype() != dtype || !self.shape.accepts(var.shape()) {
                return None;
            }
            var.note_reuse(caller);
            Some(var)
        })
    }

    /// The general path: TF's `get_variable` with every check and the
    /// creation, through the custom getter when there is one.
    fn get_or_create(self, caller: CallSite) -> Result<Variable> {
        let (request, getter, graph) = with_ctx(|ctx| {
            let origin = match self.reuse {
                Reuse::Inherit => Origin::Scope(ReuseOrigin::of_current(&ctx)),
                _ => Origin::Call,
            };
            let scope = ctx.stack.current();
            let reuse = if self.reuse == Reuse::Inherit { scope.reuse() } else { self.reuse };
            let defaults = &scope.defaults;
            let dtype = self.dtype.or(defaults.dtype).unwrap_or(DType::F32);
            let name = join(&scope.name, self.name);
            if let (Some(d), Some(Init::Value(v))) = (self.dtype, &self.initializer)
                && v.dtype() != d
            {
                return Err(Error::InitializerDType {
                    name: name.clone(),
                    initializer: "value",
                    dtype: d,
                    hint: "give a value of that dtype, or no dtype",
                });
            }
            let request = Request {
                name,
                shape: self.shape,
                dtype,
                initializer: self.initializer.or_else(|| defaults.initializer.clone()),
                regularizer: self.regularizer.or_else(|| defaults.regularizer.clone()),
                partitioner: self.partitioner.or_else(|| defaults.partitioner.clone()),
                constraint: self.constraint.or_else(|| defaults.constraint.clone()),
                reuse,
                origin,
                trainable: self.trainable,
                caller,
                graph_id: ctx.graph.id(),
                seed: ctx.graph.graph_seed(),
                partitions: None,
            };
            let getter = self.custom_getter.or_else(|| defaults.custom_getter.clone());
            Ok((request, getter, ctx.graph.clone()))
        })?;
        // A custom getter is user code, which may call get_variable: it runs
        // holding no lock and no thread state.
        let Some(getter) = getter else { return true_getter(&graph, request) };
        getter.call(&|asked: &VariableRequest| true_getter(&graph, request.asked(asked)), &request.public())
    }
}

/// TF `_true_getter`: shares or creates the variable `request` names.
fn true_getter(graph: &crate::graph::Graph, mut request: Request) -> Result<Variable> {
    // A custom partitioner is user code: run it holding no lock and no thread state.
    if let Some(Partitioner::Custom(f)) = &request.partitioner {
        let shape = match &request.initializer {
            Some(Init::Value(v)) if request.shape.rank().is_none() => v.shape().to_vec(),
            _ => request.shape.to_vec().unwrap_or_default(),
        };
        if !shape.is_empty() {
            request.partitions = Some(f(&shape, request.dtype));
        }
    }
    graph.write().get_variable(&request)
}

/// Whether `req` may share the existing variable `var` stored under `name`
/// (TF `_get_single_variable` / `_get_partitioned_variable`): reuse allowed,
/// a compatible shape, the same dtype.
fn check_shared(req: &Request, name: &str, shape: &Shape, var: &Variable) -> Result<()> {
    if req.reuse == Reuse::Inherit {
        return Err(Error::VariableExists {
            name: name.to_owned(),
            reuse: req.reuse,
            origin: req.origin.describe(),
            created_at: var.created_at(),
        });
    }
    if !shape.accepts(var.shape()) {
        return Err(Error::ShapeMismatch {
            name: name.to_owned(),
            requested: Box::new(shape.clone()),
            found: Box::new(Shape::from(var.shape())),
            created_at: var.created_at(),
        });
    }
    if req.dtype != var.dtype() {
        return Err(Error::DTypeMismatch {
            name: name.to_owned(),
            requested: req.dtype,
            found: var.dtype(),
            created_at: var.created_at(),
        });
    }
    Ok(())
}

/// Where a request's reuse mode came from: put in words only for a message
/// (formatting it for every `get_variable` call cost an allocation).
#[derive(Clone)]
enum Origin {
    /// The scope the call was made in, from the scope that set its mode.
    Scope(ReuseOrigin),
    /// The call itself.
    Call,
    /// A custom getter, which changed the mode.
    Getter,
}

impl Origin {
    fn describe(&self) -> String {
        match self {
            Origin::Scope(origin) => origin.describe(),
            Origin::Call => "this get_variable call".to_owned(),
            Origin::Getter => "a custom getter".to_owned(),
        }
    }
}

/// A `get_variable` call with the scope's defaults applied.
#[derive(Clone)]
struct Request {
    name: String,
    shape: Shape,
    dtype: DType,
    initializer: Option<Init>,
    regularizer: Option<Regularizer>,
    partitioner: Option<Partitioner>,
    constraint: Option<Constraint>,
    reuse: Reuse,
    origin: Origin,
    trainable: bool,
    caller: CallSite,
    graph_id: u64,
    /// The graph-level seed, when the graph has one (TF `tf.set_random_seed`).
    seed: GraphSeed,
    /// What a custom partitioner returned, computed before the graph was locked.
    partitions: Option<Vec<usize>>,
}

impl Request {
    /// What a custom getter is shown.
    fn public(&self) -> VariableRequest {
        VariableRequest {
            name: self.name.clone(),
            shape: self.shape.clone(),
            dtype: self.dtype,
            initializer: self.initializer.clone(),
            regularizer: self.regularizer.clone(),
            partitioner: self.partitioner.clone(),
            constraint: self.constraint.clone(),
            trainable: self.trainable,
            reuse: self.reuse,
        }
    }

    /// This call as a custom getter passed it on, maybe changed.
    fn asked(&self, asked: &VariableRequest) -> Request {
        let origin = if asked.reuse == self.reuse { self.origin.clone() } else { Origin::Getter };
        Request {
            name: asked.name.clone(),
            shape: asked.shape.clone(),
            dtype: asked.dtype,
            initializer: asked.initializer.clone(),
            regularizer: asked.regularizer.clone(),
            partitioner: asked.partitioner.clone(),
            constraint: asked.constraint.clone(),
            reuse: asked.reuse,
            origin,
            trainable: asked.trainable,
            partitions: None,
            ..self.clone()
        }
    }
}

/// What a single (unpartitioned) `get_variable` will do, decided before anything changes.
enum Single {
    Existing(Variable),
    New(Plan),
}

struct Plan {
    name: String,
    shape: Vec<usize>,
    dtype: DType,
    init: Init,
    full_shape: Option<Vec<usize>>,
}

/// `name/part_0`, the name of a partitioned variable's first shard.
fn part_0(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 7);
    s.push_str(name);
    s.push_str("/part_0");
    s
}

impl GraphState {
    /// TF `_VariableStore.get_variable`: picks the partitioned or single path.
    fn get_variable(&mut self, req: &Request) -> Result<Variable> {
        let is_scalar = req.shape.rank() == Some(0);
        if let Some(p) = req.partitioner.as_ref().filter(|_| !is_scalar) {
            return self.get_partitioned(req, Some(p));
        }
        if req.reuse == Reuse::True && self.variables.partitioned.contains_key(req.name.as_str()) {
            return self.get_partitioned(req, None);
        }
        if self.variables.single.contains_key(part_0(&req.name).as_str()) {
            return Err(Error::PartitionMismatch {
                name: req.name.clone(),
                problem: PartitionProblem::ExistsPartitioned,
            });
        }
        match self.plan_single(req, &req.name, &req.shape, req.initializer.clone(), None)? {
            Single::Existing(v) => {
                v.note_reuse(req.caller);
                Ok(v)
            }
            Single::New(plan) => {
                self.check_named(&plan)?;
                Ok(self.commit_single(req, plan))
            }
        }
    }

    /// The checks TensorFlow makes after it has named the variable's op (the
    /// initializer's dtype, a clash with an existing node): as there, a
    /// failure still uses the name.
    fn check_named(&mut self, plan: &Plan) -> Result<()> {
        let result = plan.init.check(&plan.name, plan.dtype).and_then(|()| {
            let mut op = std::mem::take(&mut self.scratch);
            match plan.name.strip_suffix('/') {
                Some(as_is) => {
                    op.clear();
                    op.push_str(as_is);
                }
                None => self.names.peek_into(op_base(&plan.name), &mut op),
            }
            let clash = self.node_names.contains(op.as_str());
            let result = if clash { Err(Error::DuplicateNode { name: op.clone() }) } else { Ok(()) };
            self.scratch = op;
            result
        });
        if result.is_err() && !plan.name.ends_with('/') {
            self.names.unique(op_base(&plan.name));
        }
        result
    }

    /// TF `_get_single_variable` up to the point of creating anything.
    fn plan_single(
        &self,
        req: &Request,
        name: &str,
        shape: &Shape,
        init: Option<Init>,
        full_shape: Option<Vec<usize>>,
    ) -> Result<Single> {
        let from_value = match &init {
            Some(Init::Value(v)) => Some(v.clone()),
            _ => None,
        };
        if from_value.is_some() && shape.rank().is_some() {
            return Err(Error::ShapeWithValue { name: name.to_owned() });
        }
        if let Some(var) = self.variables.single.get(name) {
            check_shared(req, name, shape, var)?;
            return Ok(Single::Existing(var.clone()));
        }
        if req.reuse == Reuse::True {
            return Err(Error::VariableNotFound { name: name.to_owned(), origin: req.origin.describe() });
        }
        let (shape, dtype, init) = match from_value {
            Some(v) => (v.shape().to_vec(), v.dtype(), Init::Value(v)),
            None => {
                let dims = shape
                    .to_vec()
                    .ok_or_else(|| Error::MissingShape { name: name.to_owned(), shape: shape.clone() })?;
                let init = init.unwrap_or_else(|| Init::default_for(req.dtype));
                (dims, req.dtype, init)
            }
        };
        // Every size counts, a 0 as 1: arrays must index all of them (`[0, 2^40, 2^40]` cannot be made).
        if shape
            .iter()
            .try_fold(dtype.size(), |n, &d| n.checked_mul(d.max(1)))
            .is_none_or(|bytes| bytes > isize::MAX as usize)
        {
            return Err(Error::MissingShape { name: name.to_owned(), shape: Shape::from(shape.as_slice()) });
        }
        if !name.is_empty() && !is_valid_op_name(name_from_scope_name(name)) {
            return Err(Error::InvalidName { name: name.to_owned(), kind: NameKind::Variable, nested: false });
        }
        if matches!(req.regularizer, Some(Regularizer::L2(_))) && !dtype.is_floating() {
            return Err(Error::RegularizerDType { name: name.to_owned(), dtype });
        }
        Ok(Single::New(Plan { name: name.to_owned(), shape, dtype, init, full_shape }))
    }

    /// Creates a planned variable: its node (named uniquely at the root), its
    /// store entry, collections and regularization loss.
    fn commit_single(&mut self, req: &Request, plan: Plan) -> Variable {
        let op_name = self.claim_node_name(op_base(&plan.name)).expect("check_named found no clash");
        let first = plan.init.op_name().map(Helper::Initializer);
        let read_name = mark_helper_names(&mut self.names, &mut self.scratch, &op_name, first);
        // The op is most often named as the variable is stored: one string for both.
        let key = if *op_name == *plan.name { op_name.clone() } else { Arc::from(plan.name.as_str()) };
        // TF calls the initializer, and `get_seed` counts a random op, only for a random initializer.
        let seed =
            if plan.init.is_random() { self.random_seeds(req.seed, plan.init.op_seed()) } else { Default::default() };
        let storage = Storage::Single {
            full_shape: plan.full_shape.unwrap_or_else(|| plan.shape.clone()),
            init: plan.init,
            seed,
            value: RwLock::new(None),
        };
        let var = self.commit_variable(
            read_name,
            req.graph_id,
            op_name,
            key,
            plan.shape,
            plan.dtype,
            storage,
            req.trainable,
            req.constraint.clone(),
            req.caller,
        );
        if let Some(Regularizer::L2(scale)) = req.regularizer {
            // plan_single refused regularizers on anything but floats: the three nodes fit.
            self.add_l2_loss(req.graph_id, &plan.name, &var, scale).expect("a scalar times L2Loss of a float variable");
        }
        // The plan's name, made to measure, becomes the key without a copy.
        self.variables.single.insert(plan.name.into_boxed_str(), var.clone());
        var
    }

    /// TF `l2_regularizer(scale)(v)` under name scope `<name>/Regularizer/`:
    /// `<name>/Regularizer/l2_regularizer = scale * L2Loss(v)`, each node
    /// made by the graph's builder like any other.
    fn add_l2_loss(&mut self, graph_id: u64, name: &str, var: &Variable, scale: f64) -> Result<()> {
        // TensorFlow first calls the regularizer once at the root, only to see
        // whether it returns a loss: that call's nodes are made too.
        self.add_l2_nodes(graph_id, "l2_regularizer", var, scale)?;
        let loss = self.add_l2_nodes(graph_id, &format!("{name}/Regularizer/l2_regularizer"), var, scale)?;
        let lazy = LazyL2Loss { variable: Tensor::clone(var), scale, scope: Arc::from(format!("{name}/Regularizer/")) };
        self.regularizers.insert(loss.node, lazy);
        self.add_to_collection(REGULARIZATION_LOSSES, CollectionItem::Tensor(loss));
        Ok(())
    }

    /// `<base> = <base>/scale * <base>/L2Loss(var)`, `base` made unique.
    fn add_l2_nodes(&mut self, graph_id: u64, base: &str, var: &Variable, scale: f64) -> Result<Tensor> {
        let loss_name = self.names.unique(base);
        let scale_name = self.names.unique(&format!("{loss_name}/scale"));
        let scale = Arc::new(Value::filled(var.dtype(), &[], scale));
        let scale = self.add_op(graph_id, scale_name, OpKind::Const, &[], Attr::Const(scale))?;
        let l2_name = self.names.unique(&format!("{loss_name}/L2Loss"));
        let l2 = self.add_op(graph_id, l2_name, OpKind::L2Loss, &[var], Attr::None)?;
        self.add_op(graph_id, loss_name, OpKind::Mul, &[&scale, &l2], Attr::None)
    }

    /// Records a node of one output under a name already made unique.
    fn add_op(&mut self, graph_id: u64, name: String, kind: OpKind, inputs: &[&Tensor], attr: Attr) -> Result<Tensor> {
        let name = Arc::from(name);
        let node =
            self.add_node(graph_id, NewNode { name, op: kind.def(), inputs, control_inputs: Vec::new(), attr })?;
        Ok(self.output(graph_id, node, 0))
    }

    /// Records a new variable's node and adds it to the variable collections.
    #[allow(clippy::too_many_arguments)] // the parts of a variable, all needed once here
    pub(crate) fn commit_variable(
        &mut self,
        read_name: Arc<str>,
        graph_id: u64,
        name: Arc<str>,
        key: Arc<str>,
        shape: Vec<usize>,
        dtype: DType,
        storage: Storage,
        trainable: bool,
        constraint: Option<Constraint>,
        caller: CallSite,
    ) -> Variable {
        // The variable's node and, right after it, its `read` Identity, as TF builds them.
        let node = u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes");
        let tensor = Tensor { graph_id, node, output: 0, name: name.clone(), shape: Shape::from(&shape), dtype };
        let read = Tensor { node: node + 1, name: read_name.clone(), ..tensor.clone() };
        let var = Variable::from_parts(key, tensor, read, shape, trainable, constraint, storage, caller);
        let attr = Attr::Variable(var.clone());
        let new = NewNode { name, op: OpKind::Variable.def(), inputs: &[], control_inputs: Vec::new(), attr };
        self.add_node(graph_id, new).expect("a variable node has no inputs to check");
        let inputs = [var.variable_tensor()];
        let attr = Attr::Variable(var.clone());
        let new = NewNode {
            name: read_name,
            op: OpKind::VariableRead.def(),
            inputs: &inputs,
            control_inputs: Vec::new(),
            attr,
        };
        self.add_node(graph_id, new).expect("a variable's read takes its one input");
        self.add_to_collection(GLOBAL_VARIABLES, CollectionItem::Variable(var.clone()));
        if trainable {
            self.add_to_collection(TRAINABLE_VARIABLES, CollectionItem::Variable(var.clone()));
        }
        var
    }

    /// TF `_get_partitioned_variable`.
    fn get_partitioned(&mut self, req: &Request, partitioner: Option<&Partitioner>) -> Result<Variable> {
        let name = req.name.as_str();
        if self.variables.single.contains_key(name) {
            return Err(Error::PartitionMismatch {
                name: name.to_owned(),
                problem: PartitionProblem::ExistsUnpartitioned,
            });
        }
        let value = match &req.initializer {
            Some(Init::Value(v)) => Some(v.clone()),
            _ => None,
        };
        let shape = match &value {
            Some(v) if req.shape.rank().is_none() => Shape::from(v.shape()),
            _ => req.shape.clone(),
        };
        let partitions =
            partitioner.map(|p| call_partitioner(p, name, &shape, req.dtype, req.partitions.as_deref())).transpose()?;

        if let Some(existing) = self.variables.partitioned.get(name) {
            check_shared(req, name, &shape, existing)?;
            if let Some(p) = partitions
                && Some(p.as_slice()) != existing.partitions()
            {
                return Err(Error::PartitionMismatch {
                    name: name.to_owned(),
                    problem: PartitionProblem::Partitions {
                        requested: p,
                        found: existing.partitions().unwrap_or_default().to_vec(),
                    },
                });
            }
            let existing = existing.clone();
            existing.note_reuse(req.caller);
            return Ok(existing);
        }
        if req.reuse == Reuse::True {
            return Err(Error::VariableNotFound { name: name.to_owned(), origin: req.origin.describe() });
        }
        let partitions = partitions.expect("a partitioner is given whenever reuse is not true");
        let (axis, count) = partitions.iter().enumerate().find(|(_, n)| **n > 1).map_or((0, 1), |(a, n)| (a, *n));
        let has = |i: usize| self.variables.single.contains_key(format!("{name}/part_{i}").as_str());
        if has(0) && (!has(count - 1) || has(count)) {
            return Err(Error::PartitionMismatch {
                name: name.to_owned(),
                problem: PartitionProblem::Shards { requested: count },
            });
        }
        if !is_valid_op_name(name) {
            return Err(Error::InvalidName { name: name.to_owned(), kind: NameKind::Variable, nested: false });
        }
        let full_shape = shape.to_vec().expect("the partitioner checked the shape");
        let init = req.initializer.clone().unwrap_or_else(|| Init::default_for(req.dtype));
        if value.is_none()
            && let Err(e) = init.check(name, req.dtype)
        {
            self.names.unique(&format!("{name}/part_0"));
            return Err(e);
        }

        // Plan every shard before creating any, so that a failure changes nothing.
        let mut plans = Vec::with_capacity(count);
        let mut offset = vec![0; full_shape.len()];
        // `call_partitioner` checked one count per axis, none 0: `axis` < rank and `count` >= 1.
        let (base_len, extra) = (full_shape[axis] / count, full_shape[axis] % count);
        for i in 0..count {
            let mut shard_shape = full_shape.clone();
            shard_shape[axis] = base_len + usize::from(i < extra);
            let (shard_init, requested_shape) = match &value {
                Some(v) => (Init::Value(Arc::new(v.slice(&offset, &shard_shape))), Shape::unknown()),
                None => (init.clone(), Shape::from(&shard_shape)),
            };
            let shard_name = format!("{name}/part_{i}");
            let plan =
                self.plan_single(req, &shard_name, &requested_shape, Some(shard_init), Some(full_shape.clone()))?;
            if let Single::New(p) = &plan {
                self.check_named(p)?;
            }
            plans.push(plan);
            offset[axis] += shard_shape[axis];
        }

        let mut shards = Vec::with_capacity(count);
        for (i, plan) in plans.into_iter().enumerate() {
            self.names.unique(&format!("{name}/part_{i}/PartitionedInitializer"));
            shards.push(match plan {
                Single::Existing(v) => v,
                Single::New(plan) => self.commit_single(req, plan),
            });
        }
        // TensorFlow builds the concatenation only when the variable is first
        // read as a tensor, so its name is neither marked used nor a known node here.
        let concat_name = self.names.peek(&format!("{name}/ConcatPartitions/concat"));
        let inputs: Vec<&Tensor> = shards.iter().map(|s| s.tensor()).collect();
        let tensor = self.add_op(req.graph_id, concat_name, OpKind::ConcatPartitions, &inputs, Attr::Axis(axis))?;
        self.node_names.remove(tensor.name());
        let storage = Storage::Partitioned { shards, partitions, axis };
        let var = Variable::from_parts(
            Arc::from(name),
            tensor.clone(),
            tensor,
            full_shape,
            req.trainable,
            req.constraint.clone(),
            storage,
            req.caller,
        );
        self.variables.partitioned.insert(name.into(), var.clone());
        Ok(var)
    }
}

/// What a variable's op name is made from: its full name, or for the empty
/// name (possible at the root) the op type, as TensorFlow names it.
fn op_base(name: &str) -> &str {
    if name.is_empty() { OpKind::Variable.def().type_name } else { name }
}

/// TF `_call_partitioner`: the partitions of a fully defined shape of rank ≥ 1.
fn call_partitioner(
    p: &Partitioner,
    name: &str,
    shape: &Shape,
    dtype: DType,
    precomputed: Option<&[usize]>,
) -> Result<Vec<usize>> {
    let err = |hint| Error::PartitionShape { name: name.to_owned(), shape: shape.clone(), hint };
    let dims = shape.to_vec().ok_or_else(|| err("pass the full shape, also when reusing under a partitioner"))?;
    if dims.is_empty() {
        return Err(err("scalars cannot be partitioned"));
    }
    let partitions = match (p, precomputed) {
        (Partitioner::Custom(_), Some(done)) => done.to_vec(),
        _ => p.partitions(&dims, dtype),
    };
    if partitions.len() != dims.len()
        || partitions.contains(&0)
        || partitions.iter().filter(|&&n| n > 1).count() > 1
        || partitions.iter().zip(&dims).any(|(n, d)| n > d && *n > 1)
    {
        return Err(err("the partitioner must give one count per axis, at most one of them above 1"));
    }
    Ok(partitions)
}
