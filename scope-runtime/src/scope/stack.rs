//! The thread's scopes: per graph, the current variable and name scope and
//! the stack of entered scopes that guards exit.

use super::counts::ScopeCounts;
use super::{ScopeData, VariableScope};
use crate::base::names::SuffixText;
use crate::base::{Error, Result};
use crate::graph::{DefaultGraphGuard, Graph, GraphInner, with_default_graph};
use crate::variable::Variable;
use rustc_hash::FxHashMap;
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
    with_default_graph(|graph| {
        THREAD.with(|t| {
            let mut t = t.borrow_mut();
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
        })
    })
    .unwrap_or_else(|| Err(Error::NoDefaultGraph))
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
    /// The current variable scope.
    pub(crate) current: VariableScope,
    /// The current name scope as TensorFlow yields it: `outer/inner_1/`, `""` at the root.
    pub(crate) name_scope: Rc<String>,
    /// Variables this thread already found in the store. The store never
    /// forgets a variable, so an entry never goes stale; hits skip the lock.
    pub(crate) found: FxHashMap<Box<str>, Variable>,
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
    /// their scope was left, kept for the next entries: entering and leaving
    /// a scope that is not captured then allocates nothing.
    spare_scopes: Vec<Arc<ScopeData>>,
    spare_names: Vec<Rc<String>>,
}

/// How many spare scope objects and names a stack keeps (the depth of
/// nesting that allocates nothing when entered again).
const SPARES: usize = 16;

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
        ScopeStack {
            graph_id: graph.id(),
            graph: Arc::downgrade(&graph.inner),
            current: VariableScope::root(graph),
            name_scope: empty.clone(),
            empty,
            spare_scopes: Vec::new(),
            spare_names: Vec::new(),
            found: FxHashMap::default(),
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

    /// A scope object to fill in, when a spare one is at hand.
    pub(crate) fn spare_scope(&mut self) -> Option<Arc<ScopeData>> {
        self.spare_scopes.pop()
    }

    /// Keeps `name` for a later entry when nobody else holds it.
    fn recycle_name(&mut self, mut name: Rc<String>) {
        if self.spare_names.len() < SPARES && Rc::get_mut(&mut name).is_some() {
            self.spare_names.push(name);
        }
    }

    /// Keeps the object of a scope just left for a later entry when nobody
    /// captured it, letting go of what it holds.
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
        if let Some(VarFrame { prev, restore }) = var {
            // The scope being left is the current one: those entered later are left.
            match restore {
                Restore::CloseSubscopes => self.counts.close_subscopes(self.current.name()),
                Restore::Undo(mark) => self.counts.undo_to(mark),
            }
            let left = std::mem::replace(&mut self.current, prev);
            self.recycle_scope(left);
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
    pub(crate) var: Option<VarFrame>,
}

impl ScopeStack {
    /// The variable scope that the frame at `index` entered: the one current
    /// before the next variable scope entered after it, or the current one.
    fn scope_of(&self, index: usize) -> &VariableScope {
        self.frames[index + 1..].iter().find_map(|f| f.var.as_ref()).map_or(&self.current, |v| &v.prev)
    }

    /// The name scope that the frame at `index` entered, like [`scope_of`](Self::scope_of).
    fn name_scope_of(&self, index: usize) -> &str {
        self.frames[index + 1..].iter().find_map(|f| f.prev_name_scope.as_deref()).unwrap_or(&self.name_scope)
    }

    /// What messages call the scope of the frame at `index`.
    fn label(&self, index: usize) -> String {
        let frame = &self.frames[index];
        match (&frame.var, &frame.prev_name_scope) {
            (Some(_), _) => self.scope_of(index).name().to_owned(),
            (None, Some(_)) => self.name_scope_of(index).to_owned(),
            (None, None) if frame.control => "control_dependencies".to_owned(),
            (None, None) => String::new(),
        }
    }
}

/// The scope object of the variable scope entered with `token` and not yet left.
pub(crate) fn entered_scope(graph_id: u64, token: u64) -> Option<VariableScope> {
    THREAD.with(|t| {
        let t = t.try_borrow().ok()?;
        let stack = t.stacks.iter().find(|s| s.graph_id == graph_id)?;
        let index = stack.frames.iter().rposition(|f| f.token == token && f.var.is_some())?;
        Some(stack.scope_of(index).clone())
    })
}

pub(crate) struct VarFrame {
    /// The scope current before.
    pub(crate) prev: VariableScope,
    pub(crate) restore: Restore,
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
