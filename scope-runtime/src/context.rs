//! Per-thread state: the default graph stack and, per graph, the scope stack.

use crate::error::{Error, Result};
use crate::graph::{Graph, GraphInner};
use crate::scope::VariableScope;
use crate::variable::Variable;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

thread_local! {
    static THREAD: RefCell<ThreadState> = RefCell::new(ThreadState::default());
}

#[derive(Default)]
struct ThreadState {
    defaults: Vec<(u64, Graph)>,
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
/// `f` must not call back into this module (it runs inside the thread-local borrow).
pub(crate) fn with_ctx<R>(f: impl FnOnce(Ctx<'_>) -> Result<R>) -> Result<R> {
    THREAD.with(|t| {
        let mut t = t.borrow_mut();
        let t = &mut *t;
        let graph = &t.defaults.last().ok_or(Error::NoDefaultGraph)?.1;
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
}

/// Like [`with_ctx`] for a fast path that may give up: `None` when there is
/// no default graph or `f` gives up.
#[inline]
pub(crate) fn try_with_ctx<R>(f: impl FnOnce(Ctx<'_>) -> Option<R>) -> Option<R> {
    THREAD.with(|t| {
        let mut t = t.borrow_mut();
        let t = &mut *t;
        let graph = &t.defaults.last()?.1;
        let stack = t.stacks.iter_mut().find(|s| s.graph_id == graph.id())?;
        f(Ctx { graph, stack, next_token: &mut t.next_token })
    })
}

/// The thread's default graph, if any.
pub(crate) fn default_graph() -> Option<Graph> {
    THREAD.with(|t| t.borrow().defaults.last().map(|(_, g)| g.clone()))
}

pub(crate) fn push_default(graph: &Graph) -> DefaultGraphGuard {
    THREAD.with(|t| {
        let mut t = t.borrow_mut();
        t.next_token += 1;
        let token = t.next_token;
        t.defaults.push((token, graph.clone()));
        DefaultGraphGuard { token, _not_send: PhantomData }
    })
}

/// Keeps a graph the default of this thread until dropped
/// (see [`Graph::as_default`](crate::Graph::as_default)).
#[must_use = "the graph stops being the default when the guard is dropped"]
pub struct DefaultGraphGuard {
    token: u64,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for DefaultGraphGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultGraphGuard").finish_non_exhaustive()
    }
}

impl Drop for DefaultGraphGuard {
    fn drop(&mut self) {
        let _ = THREAD.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut()
                && let Some(i) = t.defaults.iter().rposition(|(tok, _)| *tok == self.token)
            {
                t.defaults.remove(i);
            }
        });
    }
}

/// One thread's scopes in one graph.
pub(crate) struct ScopeStack {
    pub(crate) graph_id: u64,
    graph: Weak<GraphInner>,
    /// The current variable scope.
    pub(crate) current: VariableScope,
    /// The current name scope as TensorFlow yields it: `outer/inner_1/`, `""` at the root.
    pub(crate) name_scope: Arc<str>,
    /// Variables this thread already found in the store. The store never
    /// forgets a variable, so an entry never goes stale; hits skip the lock.
    pub(crate) found: FxHashMap<Box<str>, Variable>,
    pub(crate) counts: ScopeCounts,
    frames: Vec<Frame>,
    /// Scratch space for full names on the lookup path.
    pub(crate) buf: String,
}

impl ScopeStack {
    fn new(graph: &Graph) -> ScopeStack {
        ScopeStack {
            graph_id: graph.id(),
            graph: Arc::downgrade(&graph.inner),
            current: VariableScope::root(graph),
            name_scope: Arc::from(""),
            found: FxHashMap::default(),
            counts: ScopeCounts::default(),
            frames: Vec::new(),
            buf: String::new(),
        }
    }

    /// The current name scope without its trailing `/`: the prefix of op names.
    pub(crate) fn name_stack(&self) -> &str {
        crate::names::name_from_scope_name(&self.name_scope)
    }

    /// Records an entered scope; its guard exits it by `token`.
    pub(crate) fn push_frame(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    fn restore(&mut self, frame: Frame) {
        if let Some(var) = frame.var {
            match var.restore {
                Restore::CloseSubscopes(name) => self.counts.close_subscopes(&name),
                Restore::Undo(mark) => self.counts.undo_to(mark),
            }
            self.current = var.prev;
        }
        if let Some(ns) = frame.prev_name_scope {
            self.name_scope = ns;
        }
    }
}

/// An entered scope, as remembered until its guard exits it.
pub(crate) struct Frame {
    pub(crate) token: u64,
    pub(crate) label: Arc<str>,
    pub(crate) closed: bool,
    /// The name scope to restore, when this scope changed it.
    pub(crate) prev_name_scope: Option<Arc<str>>,
    pub(crate) var: Option<VarFrame>,
}

pub(crate) struct VarFrame {
    pub(crate) prev: VariableScope,
    pub(crate) restore: Restore,
}

/// How leaving a variable scope restores the default-name counts.
pub(crate) enum Restore {
    /// Leaving a scope opened by name zeroes the counts below it.
    CloseSubscopes(Arc<str>),
    /// Leaving a captured re-entry restores the counts copied on entry.
    Undo(usize),
}

/// Exits the scope entered with `token`. Exiting a scope that is not the
/// innermost marks it closed (it is left when the scopes inside it are) and,
/// when `strict`, reports the misuse.
pub(crate) fn exit(graph_id: u64, token: u64, strict: bool) -> Result<()> {
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
                if strict {
                    return Err(Error::ScopeExitOrder {
                        scope: stack.frames[pos].label.to_string(),
                        innermost: stack.frames.last().map(|f| f.label.to_string()).unwrap_or_default(),
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
        exit(self.graph_id, token, true)
    }
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        if self.token != 0 {
            let _ = exit(self.graph_id, self.token, false);
        }
    }
}

/// TensorFlow's per-thread `variable_scopes_count`: how often each variable
/// scope name was opened, which `default_name` scopes consult to pick
/// `layer`, `layer_1`, …
///
/// Unlike TensorFlow, choosing a default name is O(1) amortized (each base
/// name remembers the lowest suffix that may still be free), leaving a scope
/// touches only the counts below it (a sorted map keeps them together), and
/// leaving a captured re-entry undoes the changes made since entry instead of
/// copying every count on entry.
#[derive(Default)]
pub(crate) struct ScopeCounts {
    map: BTreeMap<Box<str>, Count>,
    log: Vec<(Box<str>, Option<Count>)>,
    logging: usize,
    /// Scratch space for candidate names.
    scratch: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Count {
    opened: u32,
    /// Every `name_i` with `1 <= i < next_free` has been opened.
    next_free: u32,
}

impl ScopeCounts {
    fn count(&self, name: &str) -> u32 {
        self.map.get(name).map_or(0, |c| c.opened)
    }

    fn set(&mut self, name: &str, new: Option<Count>) {
        let old = match new {
            Some(c) => match self.map.get_mut(name) {
                Some(slot) => Some(std::mem::replace(slot, c)),
                None => self.map.insert(name.into(), c),
            },
            None => self.map.remove(name),
        };
        if self.logging > 0 && old != new {
            self.log.push((name.into(), old));
        }
    }

    /// `open_variable_scope`: counts one more opening of `name`.
    pub(crate) fn open(&mut self, name: &str) {
        let c = self.map.get(name).copied().unwrap_or(Count { opened: 0, next_free: 1 });
        self.set(name, Some(Count { opened: c.opened + 1, ..c }));
    }

    /// `close_variable_subscopes`: forgets the counts of every scope below `name`.
    pub(crate) fn close_subscopes(&mut self, name: &str) {
        use std::ops::Bound;
        // The keys below `name/` are exactly those in [`name/`, `name0`): `0` follows `/`.
        let mut low = std::mem::take(&mut self.scratch);
        low.clear();
        low.push_str(name);
        low.push('/');
        let mut high = low.clone();
        high.pop();
        high.push('0');
        while let Some(k) = self
            .map
            .range::<str, _>((Bound::Included(low.as_str()), Bound::Excluded(high.as_str())))
            .next()
            .map(|(k, _)| k.clone())
        {
            self.set(&k, None);
        }
        self.scratch = low;
    }

    /// `_get_unique_variable_scope`: `prefix`, or `prefix_N` with the lowest
    /// N whose full name was not opened, below the variable scope `parent`.
    pub(crate) fn unique(&mut self, parent: &str, prefix: &str) -> String {
        let mut key = std::mem::take(&mut self.scratch);
        crate::names::join_into(&mut key, parent, prefix);
        let found = self.map.get(key.as_str()).copied().filter(|c| c.opened > 0);
        let mut out = prefix.to_owned();
        if let Some(c) = found {
            let base = key.len();
            let mut i = c.next_free.max(1);
            loop {
                key.truncate(base);
                crate::names::write_suffix(&mut key, i);
                if self.count(&key) == 0 {
                    break;
                }
                i += 1;
            }
            key.truncate(base);
            if i != c.next_free {
                self.set(&key, Some(Count { next_free: i, ..c }));
            }
            crate::names::write_suffix(&mut out, i);
        }
        self.scratch = key;
        out
    }

    /// Starts recording changes, to be undone by [`undo_to`](Self::undo_to).
    pub(crate) fn mark(&mut self) -> usize {
        self.logging += 1;
        self.log.len()
    }

    /// Restores the counts as they were at `mark`.
    pub(crate) fn undo_to(&mut self, mark: usize) {
        while self.log.len() > mark {
            let (name, old) = self.log.pop().expect("longer than mark");
            match old {
                Some(c) => self.map.insert(name, c),
                None => self.map.remove(&name),
            };
        }
        self.logging -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::ScopeCounts;

    #[test]
    fn default_names_count_up_and_reset_below_closed_scopes() {
        let mut c = ScopeCounts::default();
        assert_eq!(c.unique("a", "x"), "x");
        c.open("a/x");
        assert_eq!(c.unique("a", "x"), "x_1");
        c.open("a/x_1");
        c.open("a/x_3");
        assert_eq!(c.unique("a", "x"), "x_2");
        c.open("a/x_2");
        assert_eq!(c.unique("a", "x"), "x_4");
        c.close_subscopes("a");
        assert_eq!(c.unique("a", "x"), "x");
        assert_eq!(c.unique("", "a"), "a");
    }

    #[test]
    fn undo_restores_counts_at_mark() {
        let mut c = ScopeCounts::default();
        c.open("foo");
        c.open("foo/bar");
        let m = c.mark();
        assert_eq!(c.unique("foo", "bar"), "bar_1");
        c.open("foo/bar_1");
        c.close_subscopes("foo");
        c.undo_to(m);
        assert_eq!(c.unique("foo", "bar"), "bar_1");
        c.open("foo/bar_1");
        assert_eq!(c.unique("foo", "bar"), "bar_2");
    }
}
