//! The thread's scopes: per graph, the current variable and name scope and
//! the stack of entered scopes that guards exit.

use super::counts::ScopeCounts;
use super::{Inherited, SET_HERE, ScopeData, VariableScope};
use crate::base::Reuse;
use crate::base::names::{NameMap, SuffixText};
use crate::base::{Error, Result};
use crate::graph::{DefaultGraphGuard, Graph, GraphInner, with_default_graph, with_default_graph_or};
use crate::variable::Variable;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{Arc, Weak};

thread_local! {
    static THREAD: RefCell<ThreadState> = RefCell::new(ThreadState::default());
}

#[derive(Default)]
struct ThreadState {
    stacks: Vec<ScopeStack>,
    next_token: u64,
}

/// What a closure run by [`with_ctx`] sees: the default graph and this
/// thread's scope stack for it.
pub(crate) struct Ctx<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) stack: &'a mut ScopeStack,
    next_token: &'a mut u64,
}

impl Ctx<'_> {
    pub(crate) fn token(&mut self) -> u64 {
        *self.next_token += 1;
        *self.next_token
    }
}

/// Runs `f` with the thread's default graph and its scope stack.
///
/// `f` must not call back into this module or make another graph the
/// default (it runs inside the thread-local borrows).
pub(crate) fn with_ctx<R>(f: impl FnOnce(Ctx<'_>) -> Result<R>) -> Result<R> {
    with_default_graph_or(
        |graph| {
            // Not through `LocalKey::with`: see `with_default_graph_or`.
            let thread: *const RefCell<ThreadState> = THREAD.with(std::ptr::from_ref);
            // SAFETY: as in `with_default_graph_or`.
            let mut t = unsafe { &*thread }.borrow_mut();
            let t = &mut *t;
            let index = match t.stacks.iter().position(|s| s.graph_id == graph.id()) {
                Some(i) => i,
                None => {
                    t.stacks.retain(|s| s.graph.strong_count() > 0 || !s.frames.is_empty());
                    t.stacks.push(ScopeStack::new(graph));
                    t.stacks.len() - 1
                }
            };
            f(Ctx { graph, stack: &mut t.stacks[index], next_token: &mut t.next_token })
        },
        || Err(Error::NoDefaultGraph),
    )
}

/// Like [`with_ctx`] for a fast path that may give up: `None` when there is
/// no default graph or `f` gives up.
#[inline]
pub(crate) fn try_with_ctx<R>(f: impl FnOnce(Ctx<'_>) -> Option<R>) -> Option<R> {
    with_default_graph(|graph| {
        THREAD.with(|t| {
            let mut t = t.borrow_mut();
            let t = &mut *t;
            let stack = t.stacks.iter_mut().find(|s| s.graph_id == graph.id())?;
            f(Ctx { graph, stack, next_token: &mut t.next_token })
        })
    })
    .flatten()
}

/// One thread's scopes in one graph.
pub(crate) struct ScopeStack {
    pub(crate) graph_id: u64,
    graph: Weak<GraphInner>,
    /// The variable scopes entered, the root first: the first `depth` are
    /// open, the last of them the current one; those past `depth` keep
    /// their buffers for the next entries (up to [`KEPT_LEVELS`]).
    levels: Vec<Level>,
    depth: usize,
    /// The current name scope as TensorFlow yields it: `outer/inner_1/`, `""` at the root.
    pub(crate) name_scope: Rc<String>,
    /// Variables this thread already found in the store. The store never
    /// forgets a variable, so an entry never goes stale; hits skip the lock.
    pub(crate) found: NameMap<Variable>,
    pub(crate) counts: ScopeCounts,
    frames: Vec<Frame>,
    /// Scratch space for full names on the lookup path.
    pub(crate) buf: String,
    /// The default-name suffix written last, counted up for the next.
    pub(crate) suffix: SuffixText,
    /// The open `control_dependencies` contexts, outermost first.
    pub(crate) control_inputs: Vec<ControlContext>,
    /// The name scope `""`, shared.
    empty: Rc<String>,
    /// Scope objects and name scope strings that nobody held any more when
    /// their scope was left, kept for later: the strings for the next
    /// entries, the objects for the next scopes captured. (A scope entered
    /// and left makes no object unless captured, and allocates nothing.)
    spare_scopes: Vec<Arc<ScopeData>>,
    spare_names: Vec<Rc<String>>,
}

/// How many spare scope objects and names a stack keeps (the depth of
/// nesting that allocates nothing when entered again).
const SPARES: usize = 16;

/// How many levels keep their name's buffer once left: nesting deeper than
/// that is rare, and a deep level's full name is long, so a stack that was
/// once nested deep does not keep megabytes of names.
const KEPT_LEVELS: usize = 64;

/// An open `control_dependencies` context: its ops, and the nodes this thread
/// built inside it (TF's `_seen_nodes`: an op with such an input is already
/// ordered after the context's ops and gets no control inputs from it).
pub(crate) struct ControlContext {
    pub(crate) ops: Vec<u32>,
    /// A set: every op built inside a context is checked against it.
    pub(crate) seen: rustc_hash::FxHashSet<u32>,
}

impl ScopeStack {
    fn new(graph: &Graph) -> ScopeStack {
        let empty = Rc::new(String::new());
        let root =
            Level { name_scope: Some(empty.clone()), object: Some(VariableScope::root(graph)), ..Level::empty() };
        ScopeStack {
            graph_id: graph.id(),
            graph: Arc::downgrade(&graph.inner),
            levels: vec![root],
            depth: 1,
            name_scope: empty.clone(),
            empty,
            spare_scopes: Vec::new(),
            spare_names: Vec::new(),
            found: NameMap::default(),
            counts: ScopeCounts::default(),
            frames: Vec::new(),
            buf: String::new(),
            suffix: SuffixText::default(),
            control_inputs: Vec::new(),
        }
    }

    /// The current name scope without its trailing `/`: the prefix of op names.
    pub(crate) fn name_stack(&self) -> &str {
        crate::base::names::name_from_scope_name(&self.name_scope)
    }

    /// Records an entered scope; its guard exits it by `token`.
    pub(crate) fn push_frame(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    /// A name scope string holding `name`, made from a spare one when there is one.
    pub(crate) fn new_name(&mut self, name: &str) -> Rc<String> {
        if name.is_empty() {
            return self.empty.clone();
        }
        let mut returned = self.spare_name();
        Rc::get_mut(&mut returned).expect("a spare name is held by nobody else").push_str(name);
        returned
    }

    /// An empty name scope string that nobody else holds, to be written: a
    /// spare one when there is one.
    pub(crate) fn spare_name(&mut self) -> Rc<String> {
        match self.spare_names.pop() {
            Some(mut spare) => {
                Rc::get_mut(&mut spare).expect("spare names are held by nobody else").clear();
                spare
            }
            None => Rc::new(String::new()),
        }
    }

    /// The current variable scope.
    pub(crate) fn current(&self) -> &Level {
        &self.levels[self.depth - 1]
    }

    /// What a variable lookup uses: the current variable scope, the scratch
    /// buffer and the variables found before.
    pub(crate) fn lookup_parts(&mut self) -> (&Level, &mut String, &mut NameMap<Variable>) {
        (&self.levels[self.depth - 1], &mut self.buf, &mut self.found)
    }

    /// The current variable scope's object, made now if it has none yet.
    pub(crate) fn current_object(&mut self) -> VariableScope {
        self.object(self.depth - 1)
    }

    /// The object of the open variable scope at `level`, made now (from a
    /// spare one when there is one) if it has none yet.
    fn object(&mut self, level: usize) -> VariableScope {
        if let Some(object) = &self.levels[level].object {
            return object.clone();
        }
        let origin = match &self.levels[level].origin {
            Source::Nobody => None,
            Source::Level(enclosing) => Some(self.object(*enclosing)),
            Source::Scope(scope) => Some(scope.clone()),
        };
        let spare = self.spare_scopes.pop();
        let name_scope = match &self.levels[level].name_scope {
            Some(own) => own.as_str(),
            None => self.name_scope_of(self.frame_of(level)),
        };
        let graph = (self.graph_id, &self.graph);
        let object = self.levels[level].make_object(name_scope, origin, graph, spare);
        self.levels[level].object = Some(object.clone());
        object
    }

    /// Where the current variable scope's reuse mode came from.
    pub(crate) fn current_source(&self) -> Source {
        self.current().source(self.depth - 1)
    }

    /// Opens a variable scope inside the current one, as `fill` writes it
    /// (given the current scope and the new one, its buffers emptied).
    /// Returns what `fill` returns.
    pub(crate) fn push_level<R>(&mut self, fill: impl FnOnce(&Level, &mut Level, &mut Parts<'_>) -> R) -> R {
        if self.levels.len() == self.depth {
            self.levels.push(Level::empty());
        }
        let (open, free) = self.levels.split_at_mut(self.depth);
        let parent = &open[self.depth - 1];
        let new = &mut free[0];
        new.name.clear();
        let mut parts = Parts { parent: self.depth - 1, counts: &mut self.counts, suffix: &mut self.suffix };
        let returned = fill(parent, new, &mut parts);
        self.depth += 1;
        returned
    }

    /// Closes the current variable scope, keeping its buffers (but for a
    /// deep one) and, when nobody captured it, its object and name scope
    /// string for later.
    fn pop_level(&mut self) {
        self.depth -= 1;
        let level = &mut self.levels[self.depth];
        let object = level.object.take();
        let name_scope = level.name_scope.take();
        level.origin = Source::Nobody;
        level.defaults = Inherited::default();
        if self.depth >= KEPT_LEVELS {
            level.name = String::new();
        }
        if let Some(object) = object {
            self.recycle_scope(object);
        }
        if let Some(name_scope) = name_scope {
            self.recycle_name(name_scope);
        }
    }

    /// Keeps `name` for a later entry when nobody else holds it.
    #[inline]
    fn recycle_name(&mut self, mut name: Rc<String>) {
        if self.spare_names.len() < SPARES && Rc::get_mut(&mut name).is_some() {
            self.spare_names.push(name);
        }
    }

    /// Keeps the object of a scope just left for the next object made when
    /// nobody captured it, letting go of what it holds.
    fn recycle_scope(&mut self, mut scope: VariableScope) {
        if self.spare_scopes.len() >= SPARES {
            return;
        }
        if let Some(data) = Arc::get_mut(&mut scope.0) {
            data.clear();
            self.spare_scopes.push(scope.0);
        }
    }

    fn restore(&mut self, frame: Frame) {
        let Frame { prev_name_scope, control, var, .. } = frame;
        if let Some(restore) = var {
            // The scope being left is the current one: those entered later are left.
            match restore {
                Restore::CloseSubscopes => self.counts.close_subscopes(&self.levels[self.depth - 1].name),
                Restore::Undo(mark) => self.counts.undo_to(mark),
            }
            self.pop_level();
        }
        if let Some(ns) = prev_name_scope {
            let left = std::mem::replace(&mut self.name_scope, ns);
            self.recycle_name(left);
        }
        if control {
            self.control_inputs.pop();
        }
    }
}

/// An entered scope, as remembered until its guard exits it.
pub(crate) struct Frame {
    pub(crate) token: u64,
    pub(crate) closed: bool,
    /// The name scope to restore, when this scope changed it.
    pub(crate) prev_name_scope: Option<Rc<String>>,
    /// Whether leaving it closes a `control_dependencies` context.
    pub(crate) control: bool,
    /// For a variable scope, how leaving it restores the default-name counts.
    pub(crate) var: Option<Restore>,
}

impl ScopeStack {
    /// The index of the frame of the variable scope open at `level` (not the root).
    fn frame_of(&self, level: usize) -> usize {
        let mut frames = self.frames.iter().enumerate().filter(|(_, f)| f.var.is_some());
        frames.nth(level - 1).map(|(index, _)| index).expect("an open level has a frame")
    }

    /// The level of the variable scope that the frame at `index` entered:
    /// each variable scope's frame opened one level.
    fn level_of(&self, index: usize) -> usize {
        self.frames[..index].iter().filter(|f| f.var.is_some()).count() + 1
    }

    /// The name scope that the frame at `index` entered: the one current
    /// before the next name scope entered after it, or the current one.
    fn name_scope_of(&self, index: usize) -> &str {
        self.frames[index + 1..].iter().find_map(|f| f.prev_name_scope.as_deref()).unwrap_or(&self.name_scope)
    }

    /// What messages call the scope of the frame at `index`.
    fn label(&self, index: usize) -> String {
        let frame = &self.frames[index];
        match (&frame.var, &frame.prev_name_scope) {
            (Some(_), _) => self.levels[self.level_of(index)].name.clone(),
            (None, Some(_)) => self.name_scope_of(index).to_owned(),
            (None, None) if frame.control => "control_dependencies".to_owned(),
            (None, None) => String::new(),
        }
    }
}

/// The scope object of the variable scope entered with `token` and not yet left.
/// Made now if it has none yet.
pub(crate) fn entered_scope(graph_id: u64, token: u64) -> Option<VariableScope> {
    THREAD.with(|t| {
        let mut t = t.try_borrow_mut().ok()?;
        let stack = t.stacks.iter_mut().find(|s| s.graph_id == graph_id)?;
        let index = stack.frames.iter().rposition(|f| f.token == token && f.var.is_some())?;
        let level = stack.level_of(index);
        Some(stack.object(level))
    })
}

/// The name of the variable scope open at `level` on this thread's stack
/// for graph `graph_id`, if it is open.
pub(crate) fn level_name(graph_id: u64, level: usize) -> Option<String> {
    THREAD.with(|t| {
        let t = t.try_borrow().ok()?;
        let stack = t.stacks.iter().find(|s| s.graph_id == graph_id)?;
        (level < stack.depth).then(|| stack.levels[level].name.clone())
    })
}

/// An open variable scope as its thread keeps it: its fields, and the
/// object they were copied into once someone asked for one (captured the
/// scope). Entering and leaving a scope that nobody captures makes no object.
pub(crate) struct Level {
    /// The full name (`foo/bar`; `""` for the root).
    pub(crate) name: String,
    /// The name scope opened when the scope was first entered (`foo_1/bar/`),
    /// unless it is the one its frame opened (`None`).
    pub(crate) name_scope: Option<Rc<String>>,
    /// The reuse mode, with [`SET_HERE`] when this entry set it.
    pub(crate) reuse: u8,
    /// Unless this entry set its reuse mode, the scope whose setting it came from.
    pub(crate) origin: Source,
    pub(crate) defaults: Inherited,
    /// The scope's object, once made: its reuse flag, which
    /// [`VariableScope::reuse_variables`] may change, is then the scope's.
    object: Option<VariableScope>,
}

/// The scope a reuse mode came from.
#[derive(Clone)]
pub(crate) enum Source {
    /// Nobody set the mode.
    Nobody,
    /// The open scope at this level: one enclosing the scope whose mode
    /// it set, or that scope itself.
    Level(usize),
    /// A scope object (one captured and entered again, or its origin).
    Scope(VariableScope),
}

/// The parts of a stack that filling in a new level may write.
pub(crate) struct Parts<'a> {
    /// The level of the scope the new one is entered in.
    pub(crate) parent: usize,
    pub(crate) counts: &'a mut ScopeCounts,
    pub(crate) suffix: &'a mut SuffixText,
}

impl Level {
    fn empty() -> Level {
        Level {
            name: String::new(),
            name_scope: None,
            reuse: Reuse::Inherit.to_u8(),
            origin: Source::Nobody,
            defaults: Inherited::default(),
            object: None,
        }
    }

    /// The reuse mode, with [`SET_HERE`] when the scope set it itself.
    fn reuse_bits(&self) -> u8 {
        match &self.object {
            Some(object) => object.reuse_bits(),
            None => self.reuse,
        }
    }

    /// The reuse mode.
    pub(crate) fn reuse(&self) -> Reuse {
        Reuse::from_u8(self.reuse_bits() & !SET_HERE)
    }

    /// Where the reuse mode of the scope at level `index` (this one) came
    /// from, as a scope entered inside it inherits it.
    pub(crate) fn source(&self, index: usize) -> Source {
        if self.reuse_bits() & SET_HERE != 0 { Source::Level(index) } else { self.origin.clone() }
    }

    /// A new object holding this scope's fields, its original name scope
    /// `name_scope` and its reuse mode's `origin`, made in `spare` when given.
    fn make_object(
        &self,
        name_scope: &str,
        origin: Option<VariableScope>,
        (graph_id, graph): (u64, &Weak<GraphInner>),
        spare: Option<Arc<ScopeData>>,
    ) -> VariableScope {
        if let Some(mut spare) = spare
            && let Some(data) = Arc::get_mut(&mut spare)
        {
            data.name.clear();
            data.name.push_str(&self.name);
            data.name_scope.clear();
            data.name_scope.push_str(name_scope);
            *data.reuse.get_mut() = self.reuse;
            data.reuse_origin = origin;
            data.defaults = self.defaults.clone();
            return VariableScope(spare);
        }
        VariableScope(Arc::new(ScopeData {
            graph_id,
            graph: graph.clone(),
            name: self.name.clone(),
            name_scope: name_scope.to_owned(),
            reuse: self.reuse.into(),
            reuse_origin: origin,
            defaults: self.defaults.clone(),
        }))
    }
}

/// How leaving a variable scope restores the default-name counts.
pub(crate) enum Restore {
    /// Leaving a scope opened by name zeroes the counts below it.
    CloseSubscopes,
    /// Leaving a captured re-entry restores the counts copied on entry.
    Undo(usize),
}

/// Exits the scope entered with `token`. Exiting a scope that is not the
/// innermost marks it closed (it is left when the scopes inside it are) and,
/// when `STRICT`, reports the misuse. (A constant, so that a guard's drop,
/// which is not strict, has no error to drop: 1.5% of a name scope's
/// instructions.)
pub(crate) fn exit<const STRICT: bool>(graph_id: u64, token: u64) -> Result<()> {
    THREAD
        .try_with(|t| {
            let Ok(mut t) = t.try_borrow_mut() else {
                return Ok(());
            };
            let Some(stack) = t.stacks.iter_mut().find(|s| s.graph_id == graph_id) else {
                return Ok(());
            };
            let Some(pos) = stack.frames.iter().rposition(|f| f.token == token) else {
                return Ok(());
            };
            if pos + 1 != stack.frames.len() {
                stack.frames[pos].closed = true;
                if STRICT {
                    return Err(Error::ScopeExitOrder {
                        scope: stack.label(pos),
                        innermost: stack.label(stack.frames.len() - 1),
                    });
                }
                return Ok(());
            }
            while let Some(frame) = stack.frames.pop_if(|f| f.token == token || f.closed) {
                stack.restore(frame);
            }
            Ok(())
        })
        .unwrap_or(Ok(()))
}

/// Exits a scope when dropped; what scope guards hold.
pub(crate) struct FrameGuard {
    pub(crate) graph_id: u64,
    pub(crate) token: u64,
    pub(crate) _default: Option<DefaultGraphGuard>,
    pub(crate) _not_send: PhantomData<*const ()>,
}

impl FrameGuard {
    pub(crate) fn exit(mut self) -> Result<()> {
        let token = std::mem::take(&mut self.token);
        exit::<true>(self.graph_id, token)
    }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        if self.token != 0 {
            let _ = exit::<false>(self.graph_id, self.token);
        }
    }
}
