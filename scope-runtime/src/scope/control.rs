//! `control_dependencies`: ops built inside run only after the given ops.

use super::stack::{ControlContext, Frame, FrameGuard, with_ctx};
use crate::base::{Error, Operation, Result};
use std::marker::PhantomData;

/// Makes every op built inside run after `ops` (TF `tf.control_dependencies`):
/// each gets them as control inputs, but for those it already takes as inputs.
/// Contexts nest, adding their ops to the outer ones'.
///
/// # Examples
///
/// ```
/// use scope_runtime::{assign_add, constant, control_dependencies, get_variable, identity, Graph, Init, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let step = get_variable("step", [1]).initializer(Init::Zeros).get()?;
/// let inc = assign_add(&step, &constant(vec![1.0f32])?)?;
/// let read = control_dependencies(&[&inc.op()]).with(|| identity(&step))?;
/// let node = graph.nodes().into_iter().find(|n| n.name == "Identity").unwrap();
/// assert_eq!(node.control_inputs, ["AssignAdd"]);
/// assert_eq!(Session::new(&graph).run(&[&read], &[])?[0].to_f64_vec(), vec![1.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn control_dependencies<'a>(ops: &'a [&'a Operation]) -> ControlDependencies<'a> {
    ControlDependencies { ops }
}

/// A `control_dependencies` context about to be entered; see [`control_dependencies`].
#[must_use = "the context applies only once entered with `.enter()` or `.with(…)`"]
pub struct ControlDependencies<'a> {
    ops: &'a [&'a Operation],
}

impl ControlDependencies<'_> {
    /// Enters the context until the guard is dropped or exited.
    ///
    /// # Errors
    ///
    /// [`Error::GraphMismatch`] for an op of another graph; [`Error::NoDefaultGraph`].
    pub fn enter(self) -> Result<ControlDependenciesGuard> {
        let (graph_id, token) = with_ctx(|mut ctx| {
            let graph_id = ctx.graph.id();
            if let Some(op) = self.ops.iter().find(|o| o.graph_id != graph_id) {
                return Err(Error::GraphMismatch { name: op.name.to_string() });
            }
            {
                let state = ctx.graph.read();
                // A gradient's stand-in is checked when an op waits on it (its values' op).
                let real = self.ops.iter().filter(|o| o.node < crate::base::tensor::STAND_IN_BASE);
                real.into_iter().try_for_each(|o| state.check_op(o))?;
            }
            let token = ctx.token();
            ctx.stack
                .control_inputs
                .push(ControlContext { ops: self.ops.iter().map(|o| o.node).collect(), seen: Default::default() });
            ctx.stack.push_frame(Frame { token, closed: false, prev_name_scope: None, control: true, var: None });
            Ok((graph_id, token))
        })?;
        Ok(ControlDependenciesGuard { frame: FrameGuard { graph_id, token, _default: None, _not_send: PhantomData } })
    }

    /// Runs `f` inside the context, leaving it afterwards.
    ///
    /// # Errors
    ///
    /// Those of [`enter`](Self::enter), and whatever `f` returns.
    pub fn with<T, E: From<Error>>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let _guard = self.enter()?;
        f()
    }
}

/// An open `control_dependencies` context; leaving it (drop or [`exit`](Self::exit)) closes it.
pub struct ControlDependenciesGuard {
    frame: FrameGuard,
}

impl ControlDependenciesGuard {
    /// Leaves the context.
    ///
    /// # Errors
    ///
    /// [`Error::ScopeExitOrder`] when scopes entered after it are still open.
    pub fn exit(self) -> Result<()> {
        self.frame.exit()
    }
}

impl std::fmt::Debug for ControlDependenciesGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlDependenciesGuard").finish_non_exhaustive()
    }
}
