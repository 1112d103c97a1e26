//! The thread's default graph: a stack of graphs made current with `as_default`.

use super::Graph;
use crate::base::{Error, Result};
use std::cell::RefCell;
use std::marker::PhantomData;

thread_local! {
    static DEFAULTS: RefCell<Defaults> = RefCell::new(Defaults::default());
}

#[derive(Default)]
struct Defaults {
    stack: Vec<(u64, Graph)>,
    next_token: u64,
}

/// Runs `f` with the thread's default graph; `None` when there is none.
/// `f` must not make another graph the default (it runs inside the thread-local borrow).
#[inline]
pub(crate) fn with_default_graph<R>(f: impl FnOnce(&Graph) -> R) -> Option<R> {
    with_default_graph_or(|g| Some(f(g)), || None)
}

/// Runs `f` with the thread's default graph, or `none` when there is none,
/// and returns their result as they made it. Both run inside the borrow of
/// the thread's default graphs: neither may make a graph the default.
///
/// (Not through `LocalKey::with`, which moves a closure's result out of a
/// `Result` it wraps it in: a large result, a `Result` with an [`Error`],
/// was copied 16 bytes at a time just after being written 8 at a time, and
/// the loads waited for the stores to reach the cache.)
#[inline]
pub(crate) fn with_default_graph_or<R>(f: impl FnOnce(&Graph) -> R, none: impl FnOnce() -> R) -> R {
    let defaults: *const RefCell<Defaults> = DEFAULTS.with(std::ptr::from_ref);
    // SAFETY: `with` handed out a live value (it refuses a local being or
    // already destroyed), and only this thread's exit-time destructors can
    // end it, which cannot start while this frame runs. The reference does
    // not outlive this call: `f` and `none` return nothing borrowed from it.
    let defaults = unsafe { &*defaults };
    match defaults.borrow().stack.last() {
        Some((_, g)) => f(g),
        None => none(),
    }
}

pub(crate) fn push_default(graph: &Graph) -> DefaultGraphGuard {
    DEFAULTS.with(|d| {
        let mut d = d.borrow_mut();
        d.next_token += 1;
        let token = d.next_token;
        d.stack.push((token, graph.clone()));
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
        let _ = DEFAULTS.try_with(|d| {
            if let Ok(mut d) = d.try_borrow_mut()
                && let Some(i) = d.stack.iter().rposition(|(tok, _)| *tok == self.token)
            {
                d.stack.remove(i);
            }
        });
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
    with_default_graph(Graph::clone).ok_or(Error::NoDefaultGraph)
}
