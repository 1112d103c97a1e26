//! `Reuse`: whether `get_variable` creates or shares variables in a scope.

/// Whether `get_variable` creates or shares variables in a scope.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph, Reuse};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let shared = |x| -> scope_runtime::Result<_> {
///     let _s = variable_scope("encoder").reuse(Reuse::Auto).enter()?;
///     get_variable("kernel", [x, 4]).get()
/// };
/// assert_eq!(shared(3)?, shared(3)?); // one variable, `encoder/kernel`
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Reuse {
    /// Take the enclosing scope's mode (TF `None`/`False`); at the root, create only.
    #[default]
    Inherit,
    /// Only share existing variables (TF `True`); sticky for every sub-scope.
    True,
    /// Share when it exists, create otherwise (TF `AUTO_REUSE`).
    Auto,
}

impl Reuse {
    pub(crate) fn to_u8(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_u8(x: u8) -> Reuse {
        match x {
            1 => Reuse::True,
            2 => Reuse::Auto,
            _ => Reuse::Inherit,
        }
    }

    /// The spelling used in messages and the macros: `inherit`, `true`, `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reuse::Inherit => "inherit",
            Reuse::True => "true",
            Reuse::Auto => "auto",
        }
    }
}

impl std::fmt::Display for Reuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
