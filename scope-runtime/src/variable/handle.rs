//! `Variable`: a named, shared value whose contents materialize on first read.

use crate::base::{CallSite, DType, Error, Result, Shape, Tensor, Value};
use crate::variable::{Constraint, Init};
use std::panic::Location;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// A variable: a named value in the graph, shared by every `get_variable`
/// that finds it, and usable as a [`Tensor`] (it dereferences to its output).
///
/// Equality is identity: two handles are equal when they are the same variable.
/// The value is computed from the initializer no later than the first read.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph, Init, Reuse};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = variable_scope("layer").with(|_| get_variable("w", [2]).initializer(Init::Ones).get())?;
/// assert_eq!((w.name(), w.shape(), w.trainable()), ("layer/w", &[2][..], true));
/// assert_eq!(w.value()?.to_f64_vec(), vec![1.0, 1.0]);
/// w.assign(vec![3.0f32, 4.0])?;
/// assert_eq!(w.value()?.to_f64_vec(), vec![3.0, 4.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Variable(pub(crate) Arc<VarInner>);

pub(crate) struct VarInner {
    /// The name `get_variable` stores it under (its base name when partitioned).
    pub(crate) key: Arc<str>,
    /// The variable's own node (`VariableV2`): what assignments take.
    pub(crate) node: Tensor,
    /// What ops read it through (TF's `v/read`); for a partitioned variable,
    /// the concatenation of its shards.
    pub(crate) tensor: Tensor,
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: DType,
    pub(crate) trainable: bool,
    /// What optimizers apply after each update (TF `Variable.constraint`).
    pub(crate) constraint: Option<Constraint>,
    pub(crate) storage: Storage,
    pub(crate) created_at: CallSite,
    reuse_sites: Mutex<Vec<CallSite>>,
    last_reuse: AtomicPtr<Location<'static>>,
}

pub(crate) enum Storage {
    Single {
        init: Init,
        /// Shape of the whole variable when this is a shard (initializers' fans use it).
        full_shape: Vec<usize>,
        /// The seeds of its initializer's random op (TF `seed`, `seed2`).
        seed: super::philox::Seeds,
        /// Shared, so that a session reads it without copying.
        value: RwLock<Option<Arc<Value>>>,
    },
    Partitioned {
        shards: Vec<Variable>,
        partitions: Vec<usize>,
        axis: usize,
    },
}

impl Variable {
    #[allow(clippy::too_many_arguments)] // the parts of a variable, each given once by the store
    pub(crate) fn from_parts(
        key: Arc<str>,
        node: Tensor,
        tensor: Tensor,
        shape: Vec<usize>,
        trainable: bool,
        constraint: Option<Constraint>,
        storage: Storage,
        created_at: CallSite,
    ) -> Variable {
        Variable(Arc::new(VarInner {
            key,
            dtype: node.dtype,
            node,
            tensor,
            shape,
            trainable,
            constraint,
            storage,
            created_at,
            reuse_sites: Mutex::new(Vec::new()),
            last_reuse: AtomicPtr::new(std::ptr::null_mut()),
        }))
    }

    /// The name of the variable's op (`foo/v`), which TensorFlow also uses in
    /// collections and checkpoints; for a partitioned variable, its base name.
    pub fn name(&self) -> &str {
        match self.0.storage {
            Storage::Single { .. } => self.0.node.name(),
            Storage::Partitioned { .. } => &self.0.key,
        }
    }

    /// The name `get_variable` looks it up by. It differs from [`name`](Self::name)
    /// only when another op already had that name (TF: `w` stored, op `w_1`).
    pub fn store_name(&self) -> &str {
        &self.0.key
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// Whether it is in the `trainable_variables` collection.
    pub fn trainable(&self) -> bool {
        self.0.trainable
    }

    /// The constraint optimizers apply after each update, if it was created
    /// with one (TF `Variable.constraint`); see [`Constraint`].
    pub fn constraint(&self) -> Option<&Constraint> {
        self.0.constraint.as_ref()
    }

    /// The shards of a partitioned variable (`v/part_0`, …); empty otherwise.
    pub fn shards(&self) -> &[Variable] {
        match &self.0.storage {
            Storage::Partitioned { shards, .. } => shards,
            Storage::Single { .. } => &[],
        }
    }

    /// The number of shards along each axis, for a partitioned variable.
    pub fn partitions(&self) -> Option<&[usize]> {
        match &self.0.storage {
            Storage::Partitioned { partitions, .. } => Some(partitions),
            Storage::Single { .. } => None,
        }
    }

    /// The tensor ops read the variable through (TF's `v/read:0`, `v.value()`);
    /// it is also what `&v` gives where a tensor is expected.
    pub fn tensor(&self) -> &Tensor {
        &self.0.tensor
    }

    /// The variable's own node (`VariableV2`), which assignments take (TF's ref tensor).
    pub(crate) fn variable_tensor(&self) -> &Tensor {
        &self.0.node
    }

    /// Where the variable was created.
    pub fn created_at(&self) -> CallSite {
        self.0.created_at
    }

    /// The call sites that shared it after creation, in first-seen order.
    pub fn reused_at(&self) -> Vec<CallSite> {
        self.0.reuse_sites.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Remembers a call site that shared the variable. The common case, the
    /// same site as last time, costs one atomic load.
    pub(crate) fn note_reuse(&self, site: CallSite) {
        let ptr = site as *const Location<'static> as *mut Location<'static>;
        if self.0.last_reuse.load(Ordering::Relaxed) == ptr {
            return;
        }
        let mut sites = self.0.reuse_sites.lock().unwrap_or_else(|e| e.into_inner());
        if !sites.iter().any(|s| std::ptr::eq(*s, site)) {
            sites.push(site);
        }
        self.0.last_reuse.store(ptr, Ordering::Relaxed);
    }

    /// The current value, computed from the initializer on first read.
    ///
    /// # Errors
    ///
    /// None today for variables built by this crate; the `Result` leaves room
    /// for values that live elsewhere.
    pub fn value(&self) -> Result<Value> {
        self.read(Value::clone)
    }

    /// Runs `f` on the current value without copying it (for a partitioned
    /// variable, on the concatenation of its shards).
    ///
    /// # Errors
    ///
    /// As for [`value`](Self::value).
    pub fn read<R>(&self, f: impl FnOnce(&Value) -> R) -> Result<R> {
        Ok(f(&*self.snapshot()?))
    }

    /// The current value, shared rather than copied: later assignments
    /// replace the variable's value and leave this one as it was.
    ///
    /// # Errors
    ///
    /// As for [`value`](Self::value).
    pub fn snapshot(&self) -> Result<Arc<Value>> {
        match &self.0.storage {
            Storage::Single { init, full_shape, seed, value } => {
                if let Some(v) = value.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    return Ok(v.clone());
                }
                let mut guard = value.write().unwrap_or_else(|e| e.into_inner());
                if guard.is_none() {
                    self.check_size(init)?;
                }
                let v = guard
                    .get_or_insert_with(|| Arc::new(init.materialize(&self.0.shape, full_shape, self.0.dtype, *seed)));
                Ok(v.clone())
            }
            Storage::Partitioned { shards, axis, .. } => {
                let parts = shards.iter().map(Variable::value).collect::<Result<Vec<_>>>()?;
                Ok(Arc::new(Value::concat(*axis, &parts).expect("shards of one dtype and fitting shapes")))
            }
        }
    }

    /// Whether the value has been computed or assigned yet.
    pub fn is_materialized(&self) -> bool {
        match &self.0.storage {
            Storage::Single { value, .. } => value.read().unwrap_or_else(|e| e.into_inner()).is_some(),
            Storage::Partitioned { shards, .. } => shards.iter().all(Variable::is_materialized),
        }
    }

    /// Replaces the value. Nothing changes unless shape and dtype match.
    ///
    /// # Errors
    ///
    /// [`Error::AssignMismatch`] when the value's shape or dtype differ from the variable's.
    pub fn assign(&self, value: impl Into<Value>) -> Result<()> {
        let value = value.into();
        if value.shape() != self.shape() || value.dtype() != self.dtype() {
            return Err(Error::AssignMismatch {
                name: self.name().to_owned(),
                expected_shape: self.shape().to_vec(),
                expected_dtype: self.dtype(),
                shape: value.shape().to_vec(),
                dtype: value.dtype(),
            });
        }
        match &self.0.storage {
            Storage::Single { value: slot, .. } => {
                *slot.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(value));
            }
            Storage::Partitioned { shards, axis, .. } => {
                let mut offset = vec![0; self.shape().len()];
                for shard in shards {
                    shard.assign(value.slice(&offset, shard.shape()))?;
                    offset[*axis] += shard.shape()[*axis];
                }
            }
        }
        Ok(())
    }

    /// Changes the value in place by `f`, holding the variable's lock
    /// throughout, so concurrent updates and restores never interleave (what
    /// assignment ops run). The value is copied only when a run still holds
    /// the previous one; `f` must leave it unchanged when it fails. Returns
    /// the new value, shared.
    pub(crate) fn update_in_place(
        &self,
        f: impl FnOnce(&mut Value) -> std::result::Result<(), &'static str>,
    ) -> std::result::Result<Arc<Value>, &'static str> {
        let Storage::Single { init, full_shape, seed, value } = &self.0.storage else {
            return Err("a partitioned variable is assigned through its shards");
        };
        let mut slot = value.write().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() && self.check_size(init).is_err() {
            // The session turns it into the `Error::ValueTooLarge` of `check_can_make`.
            return Err(TOO_LARGE_TO_UPDATE);
        }
        let current =
            slot.get_or_insert_with(|| Arc::new(init.materialize(&self.0.shape, full_shape, self.0.dtype, *seed)));
        f(Arc::make_mut(current))?;
        Ok(current.clone())
    }

    /// Fails as a read would when the value is not made yet and would be
    /// larger than [`max_value_bytes`]: [`Error::ValueTooLarge`] naming the
    /// variable, for an update that failed with [`TOO_LARGE_TO_UPDATE`].
    pub(crate) fn check_can_make(&self) -> Result<()> {
        match &self.0.storage {
            Storage::Single { init, value, .. } if value.read().unwrap_or_else(|e| e.into_inner()).is_none() => {
                self.check_size(init)
            }
            _ => Ok(()),
        }
    }

    /// Refuses to make a value larger than [`max_value_bytes`]: an error
    /// naming the variable and its size instead of an allocation that
    /// aborts the process.
    fn check_size(&self, init: &Init) -> Result<()> {
        let elements = self.0.shape.iter().try_fold(1u128, |n, &d| n.checked_mul(d as u128)).unwrap_or(u128::MAX);
        // Random initializers hold their draws beside the value they make from them.
        let per_element = if init.is_random() { 2 * self.0.dtype.size() } else { self.0.dtype.size() };
        let bytes = u64::try_from(elements.saturating_mul(per_element as u128)).unwrap_or(u64::MAX);
        let limit = max_value_bytes();
        if bytes > limit {
            return Err(Error::ValueTooLarge {
                name: self.name().to_owned(),
                shape: Box::new(Shape::from(self.0.shape.as_slice())),
                dtype: self.0.dtype,
                bytes,
                limit,
            });
        }
        Ok(())
    }

    /// Stores a copy of `new`, into the current buffer when no run or
    /// reader holds it (a training step's assignment then allocates
    /// nothing), else into a new one; the output is the new value.
    pub(crate) fn assign_from(&self, new: &Value) -> std::result::Result<Arc<Value>, &'static str> {
        if new.shape() != self.shape() || new.dtype() != self.dtype() {
            return Err("the value assigned has another shape or dtype than the variable");
        }
        let Storage::Single { value, .. } = &self.0.storage else {
            return Err("a partitioned variable is assigned through its shards");
        };
        let mut slot = value.write().unwrap_or_else(|e| e.into_inner());
        if let Some(current) = slot.as_mut()
            && let Some(buffer) = Arc::get_mut(current)
            && buffer.copy_from(new)
        {
            return Ok(current.clone());
        }
        let new = Arc::new(new.clone());
        *slot = Some(new.clone());
        Ok(new)
    }

    /// Forgets the value so that the next read runs the initializer again
    /// (with the same seed, so a seeded graph gets the same value back).
    /// A variable made from a value gets that value back.
    pub fn reinitialize(&self) {
        match &self.0.storage {
            Storage::Single { init: Init::Value(v), value, .. } => {
                *value.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(v.cast(self.dtype())));
            }
            Storage::Single { value, .. } => *value.write().unwrap_or_else(|e| e.into_inner()) = None,
            Storage::Partitioned { shards, .. } => shards.iter().for_each(Variable::reinitialize),
        }
    }
}

impl std::ops::Deref for Variable {
    type Target = Tensor;
    fn deref(&self) -> &Tensor {
        &self.0.tensor
    }
}

impl AsRef<Tensor> for Variable {
    fn as_ref(&self) -> &Tensor {
        &self.0.tensor
    }
}

impl PartialEq for Variable {
    fn eq(&self, other: &Variable) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Variable {}

impl std::fmt::Debug for Variable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Variable({:?}, shape={}, dtype={})", self.name(), Shape::from(self.shape()), self.dtype())
    }
}

/// Why [`Variable::update_in_place`] refused to make a value too large to hold.
pub(crate) const TOO_LARGE_TO_UPDATE: &str = "the variable's value is too large to hold in memory";

/// The most bytes a variable's value may take: `SCOPEFLOW_MAX_VALUE_BYTES`,
/// else the machine's memory (Linux's `MemTotal`), else 1 TiB. Kernels
/// hold their outputs to it too.
pub(crate) fn max_value_bytes() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let set = std::env::var("SCOPEFLOW_MAX_VALUE_BYTES").ok().and_then(|v| v.trim().parse().ok());
        let memory = || {
            let info = std::fs::read_to_string("/proc/meminfo").ok()?;
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        };
        set.or_else(memory).unwrap_or(1 << 40)
    })
}
