//! Variable scopes and name scopes: the capturable `VariableScope`, builders and guards.

mod control;
mod counts;
mod stack;

pub use control::{ControlDependencies, ControlDependenciesGuard, control_dependencies};

pub(crate) use stack::{Ctx, try_with_ctx, with_ctx};

use crate::base::names::{is_valid_name, join_into};
use crate::base::{CallSite, DType, Error, NameKind, Result, Reuse};
use crate::graph::{DefaultGraphGuard, Graph, GraphInner};
use crate::variable::{Constraint, CustomGetter, Init, Partitioner, Regularizer};
use stack::{Frame, FrameGuard, Restore, Source};
use std::cell::OnceCell;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};

/// A variable scope: its name, original name scope, reuse mode, the defaults
/// (initializer, regularizer, partitioner, constraint, dtype) its variables
/// inherit, and its custom getter.
///
/// A `VariableScope` is a value: capture it ([`current_variable_scope`], or the
/// guard from entering it) and re-enter it later, from anywhere or from
/// another thread, with `variable_scope(&captured)`. Clones share the reuse
/// flag, so [`reuse_variables`](VariableScope::reuse_variables) on one is seen
/// by all, as in TensorFlow.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph, Reuse};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let tower = variable_scope("tower").enter()?;
/// let v = get_variable("v", [1]).get()?;
/// let captured = tower.scope().clone();
/// tower.exit()?;
/// let _again = variable_scope(&captured).reuse(Reuse::True).enter()?;
/// assert_eq!(get_variable("v", [1]).get()?, v);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct VariableScope(pub(crate) Arc<ScopeData>);

pub(crate) struct ScopeData {
    graph_id: u64,
    graph: Weak<GraphInner>,
    pub(crate) name: String,
    name_scope: String,
    /// The reuse mode, with [`SET_HERE`] when this scope set it.
    reuse: AtomicU8,
    /// Unless this scope set its reuse mode, the scope whose setting it
    /// came from (`None`: nobody set it).
    reuse_origin: Option<VariableScope>,
    defaults: Inherited,
}

/// What a variable scope's new variables inherit (and what a builder sets).
pub(crate) struct Defaults {
    pub(crate) initializer: Option<Init>,
    pub(crate) regularizer: Option<Regularizer>,
    pub(crate) partitioner: Option<Partitioner>,
    pub(crate) constraint: Option<Constraint>,
    /// The scope's getter, already wrapping the enclosing ones'.
    pub(crate) custom_getter: Option<CustomGetter>,
    pub(crate) dtype: Option<DType>,
}

impl Defaults {
    /// No defaults.
    const NONE: Defaults = Defaults {
        initializer: None,
        regularizer: None,
        partitioner: None,
        constraint: None,
        custom_getter: None,
        dtype: None,
    };

    /// Whether any default is set.
    fn any(&self) -> bool {
        self.initializer.is_some()
            || self.regularizer.is_some()
            || self.partitioner.is_some()
            || self.constraint.is_some()
            || self.custom_getter.is_some()
            || self.dtype.is_some()
    }
}

/// A variable scope's [`Defaults`], shared with the scopes entered inside
/// it that set none of their own (`None`: no defaults at all), so that
/// entering a scope copies one pointer, most often null, not six fields.
#[derive(Clone, Default)]
pub(crate) struct Inherited(Option<Arc<Defaults>>);

impl std::ops::Deref for Inherited {
    type Target = Defaults;
    fn deref(&self) -> &Defaults {
        static NONE: Defaults = Defaults::NONE;
        self.0.as_deref().unwrap_or(&NONE)
    }
}

impl Inherited {
    /// The defaults of a scope entered with defaults `b` (a builder's) in
    /// a scope whose defaults are `base`: those of `b` that are set, else the base's.
    fn derive(base: &Inherited, b: &Defaults) -> Inherited {
        if !b.any() {
            return base.clone();
        }
        Inherited(Some(Arc::new(Defaults {
            initializer: b.initializer.clone().or_else(|| base.initializer.clone()),
            regularizer: b.regularizer.clone().or_else(|| base.regularizer.clone()),
            partitioner: b.partitioner.clone().or_else(|| base.partitioner.clone()),
            constraint: b.constraint.clone().or_else(|| base.constraint.clone()),
            // TF `_maybe_wrap_custom_getter(new, base.custom_getter)`.
            custom_getter: match (&b.custom_getter, &base.custom_getter) {
                (Some(inner), Some(outer)) => Some(CustomGetter::wrapping(inner, outer)),
                (inner, outer) => inner.clone().or_else(|| outer.clone()),
            },
            dtype: b.dtype.or(base.dtype),
        })))
    }
}

/// The bit of a reuse mode ([`ScopeData::reuse`], a level's on the thread's
/// stack) saying that the scope set its reuse mode itself.
pub(crate) const SET_HERE: u8 = 0x80;

impl ScopeData {
    /// Lets go of what a scope object left for reuse holds.
    pub(crate) fn clear(&mut self) {
        self.reuse_origin = None;
        self.defaults = Inherited::default();
    }
}

impl VariableScope {
    pub(crate) fn root(graph: &Graph) -> VariableScope {
        VariableScope(Arc::new(ScopeData {
            graph_id: graph.id(),
            graph: Arc::downgrade(&graph.inner),
            name: String::new(),
            name_scope: String::new(),
            reuse: AtomicU8::new(Reuse::Inherit.to_u8()),
            reuse_origin: None,
            defaults: Inherited::default(),
        }))
    }

    /// The reuse mode, with [`SET_HERE`] when this scope set it itself.
    pub(crate) fn reuse_bits(&self) -> u8 {
        self.0.reuse.load(Ordering::Relaxed)
    }

    /// The full name (`foo/bar`; `""` for the root).
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The name scope opened when the scope was first entered (`foo_1/bar/`).
    pub fn original_name_scope(&self) -> &str {
        &self.0.name_scope
    }

    /// The reuse mode.
    pub fn reuse(&self) -> Reuse {
        Reuse::from_u8(self.reuse_bits() & !SET_HERE)
    }

    /// Makes this scope share variables from now on (TF `scope.reuse_variables()`):
    /// later `get_variable` calls in it, in its sub-scopes, and in re-entries of
    /// this scope value require existing variables.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{current_variable_scope, get_variable, variable_scope, Graph, Reuse};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let _s = variable_scope("foo").enter()?;
    /// let v = get_variable("v", [1]).get()?;
    /// current_variable_scope()?.reuse_variables();
    /// assert_eq!(get_variable("v", [1]).get()?, v);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn reuse_variables(&self) {
        self.0.reuse.store(Reuse::True.to_u8() | SET_HERE, Ordering::Relaxed);
    }

    /// The initializer its new variables default to, if set.
    pub fn initializer(&self) -> Option<&Init> {
        self.0.defaults.initializer.as_ref()
    }

    /// The regularizer its new variables default to, if set.
    pub fn regularizer(&self) -> Option<&Regularizer> {
        self.0.defaults.regularizer.as_ref()
    }

    /// The partitioner its new variables default to, if set.
    pub fn partitioner(&self) -> Option<&Partitioner> {
        self.0.defaults.partitioner.as_ref()
    }

    /// The constraint its new variables default to, if set.
    pub fn constraint(&self) -> Option<&Constraint> {
        self.0.defaults.constraint.as_ref()
    }

    /// The custom getter its `get_variable` calls go through, if any (it
    /// wraps those of the scopes it is nested in).
    pub fn custom_getter(&self) -> Option<&CustomGetter> {
        self.0.defaults.custom_getter.as_ref()
    }

    /// The dtype its variables default to (float32 unless set).
    pub fn dtype(&self) -> DType {
        self.0.defaults.dtype.unwrap_or(DType::F32)
    }

    /// The scope whose setting the reuse mode came from (`None`: nobody set it).
    pub(crate) fn origin(&self) -> Option<VariableScope> {
        if self.reuse_bits() & SET_HERE != 0 { Some(self.clone()) } else { self.0.reuse_origin.clone() }
    }

    /// The graph this scope belongs to.
    ///
    /// # Errors
    ///
    /// [`Error::GraphMismatch`] when that graph has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{variable_scope, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let s = variable_scope("a").enter()?;
    /// assert!(s.graph()?.ptr_eq(&graph));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn graph(&self) -> Result<Graph> {
        self.0
            .graph
            .upgrade()
            .map(|inner| Graph { inner })
            .ok_or_else(|| Error::GraphMismatch { name: format!("variable scope {}", self.name()) })
    }

    /// Whether both handles are the same scope object.
    pub fn ptr_eq(&self, other: &VariableScope) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for VariableScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VariableScope")
            .field("name", &self.name())
            .field("original_name_scope", &self.original_name_scope())
            .field("reuse", &self.reuse())
            .finish_non_exhaustive()
    }
}

/// The scope that set the reuse mode a `get_variable` call inherits, kept
/// as cheaply as the thread's stack allows and put in words only for a
/// message ([`describe`](Self::describe)).
#[derive(Clone)]
pub(crate) struct ReuseOrigin {
    graph_id: u64,
    source: Source,
}

impl ReuseOrigin {
    /// Where the current variable scope's reuse mode came from.
    pub(crate) fn of_current(ctx: &Ctx<'_>) -> ReuseOrigin {
        ReuseOrigin { graph_id: ctx.graph.id(), source: ctx.stack.current_source() }
    }

    /// Where the reuse mode was set, for messages.
    pub(crate) fn describe(&self) -> String {
        let name = match &self.source {
            Source::Nobody => return "no enclosing scope".to_owned(),
            Source::Scope(scope) => scope.name().to_owned(),
            // Still open: the call is made inside it.
            Source::Level(level) => match stack::level_name(self.graph_id, *level) {
                Some(name) => name,
                None => return "an enclosing scope".to_owned(),
            },
        };
        if name.is_empty() { "the root scope".to_owned() } else { format!("scope `{name}`") }
    }
}

/// What a variable scope is entered by: a name, a captured scope, or nothing
/// (then [`VariableScopeBuilder::default_name`] is required).
#[derive(Clone, Copy, Debug)]
pub enum ScopeArg<'a> {
    /// A name, appended to the current variable scope's name.
    Name(&'a str),
    /// A captured scope, re-entered as it was.
    Scope(&'a VariableScope),
    /// No name: a unique default name is picked.
    Unnamed,
}

impl<'a> From<&'a str> for ScopeArg<'a> {
    fn from(name: &'a str) -> Self {
        ScopeArg::Name(name)
    }
}

impl<'a> From<&'a String> for ScopeArg<'a> {
    fn from(name: &'a String) -> Self {
        ScopeArg::Name(name)
    }
}

impl<'a> From<&'a VariableScope> for ScopeArg<'a> {
    fn from(scope: &'a VariableScope) -> Self {
        ScopeArg::Scope(scope)
    }
}

impl<'a> From<Option<&'a str>> for ScopeArg<'a> {
    fn from(name: Option<&'a str>) -> Self {
        name.map_or(ScopeArg::Unnamed, ScopeArg::Name)
    }
}

/// Anything a scope can be named by, borrowed: `&str`, `String`, a captured
/// [`VariableScope`], or an `Option` of one (`None`: use the default name).
/// `#[scoped(scope = param)]` accepts a parameter of any of these types.
///
/// # Examples
///
/// ```
/// use scope_runtime::{AsScopeArg, ScopeArg};
/// assert!(matches!("enc".as_scope_arg(), ScopeArg::Name("enc")));
/// assert!(matches!(None::<&str>.as_scope_arg(), ScopeArg::Unnamed));
/// assert!(matches!(Some(String::from("a")).as_scope_arg(), ScopeArg::Name("a")));
/// ```
pub trait AsScopeArg {
    /// The scope argument this value names.
    fn as_scope_arg(&self) -> ScopeArg<'_>;
}

impl AsScopeArg for str {
    fn as_scope_arg(&self) -> ScopeArg<'_> {
        ScopeArg::Name(self)
    }
}

impl AsScopeArg for String {
    fn as_scope_arg(&self) -> ScopeArg<'_> {
        ScopeArg::Name(self)
    }
}

impl AsScopeArg for VariableScope {
    fn as_scope_arg(&self) -> ScopeArg<'_> {
        ScopeArg::Scope(self)
    }
}

impl<T: AsScopeArg + ?Sized> AsScopeArg for &T {
    fn as_scope_arg(&self) -> ScopeArg<'_> {
        (**self).as_scope_arg()
    }
}

impl<T: AsScopeArg> AsScopeArg for Option<T> {
    fn as_scope_arg(&self) -> ScopeArg<'_> {
        self.as_ref().map_or(ScopeArg::Unnamed, AsScopeArg::as_scope_arg)
    }
}

/// Opens a variable scope (TF `tf.variable_scope`); finish with
/// [`enter`](VariableScopeBuilder::enter) or [`with`](VariableScopeBuilder::with).
///
/// Variables created inside are named `scope/name`; ops go under a name scope
/// of the same name, made unique (`foo`, then `foo_1`, …).
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, get_variable, variable_scope, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// for _ in 0..2 {
///     let s = variable_scope(None).default_name("dense").enter()?;
///     get_variable("kernel", [2, 2]).get()?;
/// }
/// let v = variable_scope("foo").with(|_| get_variable("v", [1]).get())?;
/// let c = variable_scope("foo").with(|_| constant(1.0f32))?;
/// assert_eq!((v.name(), c.name()), ("foo/v", "foo_1/Const"));
/// assert!(graph.variable("dense_1/kernel").is_some());
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn variable_scope<'a>(scope: impl Into<ScopeArg<'a>>) -> VariableScopeBuilder<'a> {
    VariableScopeBuilder {
        arg: scope.into(),
        default_name: None,
        reuse: Reuse::Inherit,
        defaults: Defaults::NONE,
        auxiliary_name_scope: true,
    }
}

/// Options of a variable scope being opened; see [`variable_scope`].
#[must_use = "a scope is opened only by `.enter()` or `.with(…)`"]
pub struct VariableScopeBuilder<'a> {
    arg: ScopeArg<'a>,
    default_name: Option<&'a str>,
    reuse: Reuse,
    defaults: Defaults,
    auxiliary_name_scope: bool,
}

impl<'a> VariableScopeBuilder<'a> {
    crate::base::setters! {
        /// The base of a unique name (`layer`, `layer_1`, …) used when no name is given.
        default_name: &'a str => Some;
        /// The reuse mode (default: inherit the enclosing scope's).
        reuse: Reuse;
        /// The default initializer for new variables inside.
        initializer in defaults: Init => Some;
        /// The default regularizer for new variables inside.
        regularizer in defaults: Regularizer => Some;
        /// The default partitioner for new variables inside.
        partitioner in defaults: Partitioner => Some;
        /// The default constraint for new variables inside, applied by
        /// optimizers after each update; see [`Constraint`].
        constraint in defaults: Constraint => Some;
        /// Code every `get_variable` inside goes through; it wraps the
        /// enclosing scope's getter (see [`CustomGetter`]).
        custom_getter in defaults: CustomGetter => Some;
        /// The default dtype of variables inside (also checked on reuse).
        dtype in defaults: DType => Some;
        /// Whether to open a name scope for ops too (default `true`). With
        /// `false`, ops stay in the current name scope, which also becomes the
        /// scope's `original_name_scope` (a re-entered scope keeps its own).
        auxiliary_name_scope: bool;
    }

    /// Enters the scope until the returned guard is dropped or exited.
    ///
    /// A captured scope may be entered on a thread whose default graph is not
    /// set: its graph becomes the default for the guard's life.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::MissingScopeName`],
    /// [`Error::DefaultNameWithReuse`], [`Error::NoDefaultGraph`],
    /// [`Error::GraphMismatch`]. On error nothing is entered.
    #[track_caller]
    #[inline]
    pub fn enter(self) -> Result<VariableScopeGuard> {
        // The guard is put together here, in the caller: made in `enter_frame`
        // and moved out of its result, it was read back 16 bytes at a time
        // just after being written 8 at a time, a wait of its own.
        let (graph_id, token, default_guard) = self.enter_frame(Location::caller())?;
        Ok(VariableScopeGuard {
            scope: OnceCell::new(),
            frame: FrameGuard { graph_id, token, _default: default_guard, _not_send: PhantomData },
        })
    }

    /// Enters the scope; returns the graph's id, the frame's token and the
    /// default-graph guard that a captured scope may need.
    fn enter_frame(&self, caller: CallSite) -> Result<(u64, u64, Option<DefaultGraphGuard>)> {
        let default_guard = match self.arg {
            ScopeArg::Scope(s) => graph_for_captured(s)?,
            _ => None,
        };
        let (graph_id, token) = with_ctx(|mut ctx| enter_variable_scope(&mut ctx, self, caller))?;
        Ok((graph_id, token, default_guard))
    }

    /// Runs `f` inside the scope, leaving it afterwards (also on error or panic).
    ///
    /// # Errors
    ///
    /// Those of [`enter`](Self::enter), and whatever `f` returns.
    #[track_caller]
    pub fn with<T, E: From<Error>>(self, f: impl FnOnce(&VariableScope) -> Result<T, E>) -> Result<T, E> {
        let guard = self.enter()?;
        f(guard.scope())
    }
}

/// Makes a captured scope's graph the default when the thread has none, and
/// rejects a scope of another graph than the default.
fn graph_for_captured(scope: &VariableScope) -> Result<Option<DefaultGraphGuard>> {
    match crate::graph::get_default_graph().ok() {
        Some(g) if g.id() == scope.0.graph_id => Ok(None),
        Some(_) => Err(Error::GraphMismatch { name: format!("variable scope {}", scope.name()) }),
        None => match scope.0.graph.upgrade() {
            Some(inner) => Ok(Some(Graph { inner }.as_default())),
            None => Err(Error::GraphMismatch { name: format!("variable scope {}", scope.name()) }),
        },
    }
}

/// Checks a name scope name as TensorFlow does: at the root it must be a valid
/// op name, inside a name scope a valid scope name.
#[inline]
fn check_scope_name(name: &str, nested: bool) -> Result<()> {
    if is_valid_name(name, nested) { Ok(()) } else { Err(invalid_scope_name(name, nested)) }
}

/// The error of [`check_scope_name`], apart (see [`too_deep`]).
#[cold]
#[inline(never)]
fn invalid_scope_name(name: &str, nested: bool) -> Error {
    Error::InvalidName { name: name.to_owned(), kind: NameKind::Scope, nested }
}

/// The longest scope name scopeflow makes: each nested scope keeps its full
/// name, so unbounded nesting would take memory quadratic in the depth.
pub(crate) const MAX_SCOPE_NAME: usize = 8192;

/// Refuses a scope `name` inside `parent` whose full name would pass [`MAX_SCOPE_NAME`].
#[inline]
fn check_depth(parent: &str, name: &str) -> Result<()> {
    let len = parent.len() + name.len() + 1;
    if len > MAX_SCOPE_NAME {
        return Err(too_deep(parent, len));
    }
    Ok(())
}

/// The error of [`check_depth`], apart: building it inline kept the check
/// from being inlined, a call and its register saves on every scope entry.
#[cold]
#[inline(never)]
fn too_deep(parent: &str, len: usize) -> Error {
    let start: String = parent.chars().take(64).collect();
    Error::ScopeTooDeep { start, len, limit: MAX_SCOPE_NAME }
}

/// TF `Graph.name_scope(name)`: the scope string it yields (`foo_1/`, or `""`),
/// which becomes the current name scope. Marks the name used. `name` must
/// have been checked.
fn open_name_scope(ctx: &mut Ctx<'_>, name: &str) -> Rc<String> {
    if name.is_empty() || name.ends_with('/') {
        ctx.stack.new_name(name)
    } else {
        // Written in place in the string it returns: moving a scratch buffer
        // out of the stack and back cost a stalled load on every entry.
        let mut returned = ctx.stack.spare_name();
        let s = Rc::get_mut(&mut returned).expect("a spare name is held by nobody else");
        s.push_str(&ctx.stack.name_scope);
        s.push_str(name);
        ctx.graph.write().names.unique_into(s);
        s.push('/');
        returned
    }
}

/// TensorFlow's `variable_scope.__enter__` followed by `_pure_variable_scope.__enter__`.
/// Returns the graph's id and the frame's token.
fn enter_variable_scope(ctx: &mut Ctx<'_>, b: &VariableScopeBuilder<'_>, caller: CallSite) -> Result<(u64, u64)> {
    let nested = !ctx.stack.name_scope.is_empty();
    // With auxiliary_name_scope = false the current name scope is re-entered as is.
    let reentered = (!b.auxiliary_name_scope).then(|| ctx.stack.name_scope.clone());

    // Everything that can fail is checked before anything changes.
    let parent_name = ctx.stack.current().name.as_str();
    let (scope_name, name_scope_name): (Option<&str>, Option<&str>) = match b.arg {
        ScopeArg::Name(s) => (Some(s), Some(s)),
        ScopeArg::Scope(s) => (None, Some(s.name().rsplit('/').next().unwrap_or(""))),
        ScopeArg::Unnamed => {
            let Some(default) = b.default_name else {
                return Err(Error::MissingScopeName { current: parent_name.to_owned() });
            };
            if b.reuse != Reuse::Inherit {
                return Err(Error::DefaultNameWithReuse { default_name: default.to_owned(), reuse: b.reuse });
            }
            (None, Some(default))
        }
    };
    let ns_to_open: Option<&str> = match (&reentered, name_scope_name) {
        (Some(r), _) => Some(r.as_str()),
        (None, Some(n)) if !n.is_empty() => Some(n),
        _ => None,
    };
    if let Some(n) = ns_to_open {
        check_scope_name(n, nested)?;
        check_depth(&ctx.stack.name_scope, n)?;
    }
    if let Some(s) = scope_name {
        check_depth(parent_name, s)?;
    }

    let opened = ns_to_open.map(|n| open_name_scope(ctx, n));
    // The scope's original name scope when it is not the one it opens (which
    // its frame keeps): a captured scope's, or, when it opens none, its name
    // (written below).
    let own_name_scope = match (b.arg, &opened) {
        (ScopeArg::Scope(captured), _) => Some(ctx.stack.new_name(captured.original_name_scope())),
        (_, Some(_)) => None,
        (_, None) => Some(ctx.stack.spare_name()),
    };
    let graph = ctx.graph;
    let stack = &mut *ctx.stack;
    let restore = stack.push_level(|parent, level, parts| match b.arg {
        ScopeArg::Scope(captured) => {
            (level.reuse, level.origin) = match b.reuse {
                Reuse::Inherit => (captured.reuse().to_u8(), captured.origin().map_or(Source::Nobody, Source::Scope)),
                set => set_here(set),
            };
            level.name.push_str(captured.name());
            level.name_scope = own_name_scope;
            level.defaults = Inherited::derive(&captured.0.defaults, &b.defaults);
            parts.counts.open(captured.name());
            Restore::Undo(parts.counts.mark())
        }
        ScopeArg::Name(_) | ScopeArg::Unnamed => {
            let full = &mut level.name;
            match scope_name {
                Some(s) => join_into(full, &parent.name, s),
                None => {
                    let default = b.default_name.expect("checked above");
                    let suffix = parts.counts.open_unique(&parent.name, default);
                    join_into(full, &parent.name, default);
                    if let Some(i) = suffix {
                        parts.suffix.write(full, i);
                        if parent.reuse() == Reuse::Auto {
                            warn_default_in_auto(graph, caller, &parent.name, default, full);
                        }
                    }
                }
            }
            if let Some(mut own) = own_name_scope {
                let relative = match scope_name {
                    Some(s) => &full[full.len() - s.len()..],
                    None => &full[parent_len(&parent.name)..],
                };
                Rc::get_mut(&mut own).expect("a spare name is held by nobody else").push_str(relative);
                level.name_scope = Some(own);
            }
            // (A default-named scope has no reuse mode of its own: checked above.)
            (level.reuse, level.origin) = match b.reuse {
                Reuse::Inherit => (parent.reuse().to_u8(), parent.source(parts.parent)),
                set => set_here(set),
            };
            level.defaults = Inherited::derive(&parent.defaults, &b.defaults);
            if scope_name.is_some() {
                parts.counts.open(&level.name);
            }
            Restore::CloseSubscopes
        }
    });
    let prev_name_scope = opened.map(|opened| std::mem::replace(&mut stack.name_scope, opened));
    let token = ctx.token();
    ctx.stack.push_frame(Frame { token, closed: false, prev_name_scope, control: false, var: Some(restore) });
    Ok((ctx.graph.id(), token))
}

/// A level's reuse bits and origin when its entry set the mode `reuse`.
fn set_here(reuse: Reuse) -> (u8, Source) {
    (reuse.to_u8() | SET_HERE, Source::Nobody)
}

/// The length of the prefix `parent/` that names below the scope `parent` start with.
fn parent_len(parent: &str) -> usize {
    if parent.is_empty() { 0 } else { parent.len() + 1 }
}

/// Warns, once per call site and scope, that a default-named scope inside a
/// `reuse = auto` scope got a suffix, so its variables are not shared.
fn warn_default_in_auto(graph: &Graph, caller: CallSite, parent: &str, default: &str, full: &str) {
    let head = format!("{caller}: default-named scope `{default}` inside `reuse = auto` scope `{parent}`");
    let mut state = graph.write();
    if !state.warnings.iter().any(|w| w.starts_with(&head)) {
        let unique = &full[parent_len(parent)..];
        state.warnings.push(format!(
            "{head} became `{parent}/{unique}`, so its variables are not shared with \
             `{parent}/{default}`; give the scope a fixed name to share them"
        ));
    }
}

/// Keeps a variable scope entered until dropped or [`exit`](Self::exit)ed.
#[must_use = "the scope is left when the guard is dropped"]
pub struct VariableScopeGuard {
    /// The scope object, fetched from the thread's stack when first asked for.
    scope: OnceCell<VariableScope>,
    frame: FrameGuard,
}

impl VariableScopeGuard {
    /// The scope entered (capture it by cloning).
    pub fn scope(&self) -> &VariableScope {
        self.scope.get_or_init(|| {
            stack::entered_scope(self.frame.graph_id, self.frame.token)
                .expect("a guard's scope stays on its thread's stack while the guard lives")
        })
    }

    /// Leaves the scope now.
    ///
    /// # Errors
    ///
    /// [`Error::ScopeExitOrder`] when a scope entered after this one is still
    /// open; this scope is then left as soon as those are.
    pub fn exit(self) -> Result<()> {
        self.frame.exit()
    }
}

impl std::fmt::Debug for VariableScopeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("VariableScopeGuard").field(self.scope()).finish()
    }
}

impl std::fmt::Debug for NameScopeGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("NameScopeGuard").field(&self.name).finish()
    }
}

impl std::ops::Deref for VariableScopeGuard {
    type Target = VariableScope;
    fn deref(&self) -> &VariableScope {
        self.scope()
    }
}

/// The current variable scope of this thread (TF `tf.get_variable_scope()`).
///
/// # Errors
///
/// [`Error::NoDefaultGraph`].
///
/// # Examples
///
/// ```
/// use scope_runtime::{current_variable_scope, variable_scope, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// assert_eq!(current_variable_scope()?.name(), "");
/// let _s = variable_scope("a").enter()?;
/// assert_eq!(current_variable_scope()?.name(), "a");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn current_variable_scope() -> Result<VariableScope> {
    with_ctx(|ctx| Ok(ctx.stack.current_object()))
}

/// The current name scope of this thread, without a trailing `/` (TF `get_name_scope()`).
///
/// # Errors
///
/// [`Error::NoDefaultGraph`].
pub fn current_name_scope() -> Result<String> {
    with_ctx(|ctx| Ok(ctx.stack.name_stack().to_owned()))
}

/// Opens a name scope for ops and `Variable::new` (TF `tf.name_scope`); it
/// does not change `get_variable` names. `""` or `None` resets to the root; a
/// name ending in `/` (such as a scope string captured earlier) is entered as is.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, name_scope, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let first = name_scope("s1").enter()?;
/// assert_eq!(first.name(), "s1/");
/// let captured = first.name().to_owned();
/// first.exit()?;
/// assert_eq!(name_scope("s1").enter()?.name(), "s1_1/");
/// let _again = name_scope(captured.as_str()).enter()?;
/// assert_eq!(constant(1.0f32)?.name(), "s1/Const");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn name_scope<'a>(name: impl Into<Option<&'a str>>) -> NameScopeBuilder<'a> {
    NameScopeBuilder { name: name.into() }
}

/// A name scope being opened; see [`name_scope`].
#[must_use = "a scope is opened only by `.enter()` or `.with(…)`"]
pub struct NameScopeBuilder<'a> {
    name: Option<&'a str>,
}

impl NameScopeBuilder<'_> {
    /// Enters the name scope until the guard is dropped or exited.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::NoDefaultGraph`]. On error nothing is entered.
    #[inline]
    pub fn enter(self) -> Result<NameScopeGuard> {
        // Put together here for the reason given at `VariableScopeBuilder::enter`.
        let (returned, graph_id, token) = self.enter_frame()?;
        Ok(NameScopeGuard {
            name: returned,
            frame: FrameGuard { graph_id, token, _default: None, _not_send: PhantomData },
        })
    }

    /// Enters the scope; returns its name, the graph's id and the frame's token.
    fn enter_frame(&self) -> Result<(Rc<String>, u64, u64)> {
        let name = self.name.unwrap_or("");
        with_ctx(|mut ctx| {
            check_scope_name(name, !ctx.stack.name_scope.is_empty())?;
            check_depth(&ctx.stack.name_scope, name)?;
            let returned = open_name_scope(&mut ctx, name);
            let prev = std::mem::replace(&mut ctx.stack.name_scope, returned.clone());
            let token = ctx.token();
            ctx.stack.push_frame(Frame {
                token,
                closed: false,
                prev_name_scope: Some(prev),
                control: false,
                var: None,
            });
            Ok((returned, ctx.graph.id(), token))
        })
    }

    /// Runs `f` inside the name scope (given its scope string), leaving it afterwards.
    ///
    /// # Errors
    ///
    /// Those of [`enter`](Self::enter), and whatever `f` returns.
    pub fn with<T, E: From<Error>>(self, f: impl FnOnce(&str) -> Result<T, E>) -> Result<T, E> {
        let guard = self.enter()?;
        f(guard.name())
    }
}

/// Keeps a name scope entered until dropped or [`exit`](Self::exit)ed.
#[must_use = "the scope is left when the guard is dropped"]
pub struct NameScopeGuard {
    name: Rc<String>,
    frame: FrameGuard,
}

impl NameScopeGuard {
    /// The scope string TensorFlow yields: `outer/inner_1/`, or `""` at the root.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Leaves the scope now.
    ///
    /// # Errors
    ///
    /// [`Error::ScopeExitOrder`] when a scope entered after this one is still open.
    pub fn exit(self) -> Result<()> {
        self.frame.exit()
    }
}

/// Uses up `base` under the current name scope, as an op of that name would,
/// without making a node: for the helper ops TensorFlow's Python builds that
/// scopeflow has no need of, so that later names still match TensorFlow's.
pub(crate) fn claim_name(base: &str) -> Result<String> {
    with_ctx(|ctx| {
        let full = crate::base::names::join(ctx.stack.name_stack(), base);
        Ok(ctx.graph.write().names.unique(&full))
    })
}
