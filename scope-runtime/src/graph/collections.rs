//! Collections: named lists of variables and tensors (TF `GraphKeys`), filtered by scope.

use super::{Graph, GraphState};
use crate::base::{Error, Operation, Result, Tensor};
use crate::variable::Variable;

/// The collection of every variable (TF `GraphKeys.GLOBAL_VARIABLES`).
pub const GLOBAL_VARIABLES: &str = "global_variables";
/// The collection of trainable variables (TF `GraphKeys.TRAINABLE_VARIABLES`).
pub const TRAINABLE_VARIABLES: &str = "trainable_variables";
/// The collection of losses `tf.losses` functions made (TF `GraphKeys.LOSSES`).
pub const LOSSES: &str = "losses";
/// The collection of ops a training step runs besides the optimizer's, such
/// as batch normalization's moving-average updates (TF `GraphKeys.UPDATE_OPS`).
pub const UPDATE_OPS: &str = "update_ops";
/// The collection of regularization losses (TF `GraphKeys.REGULARIZATION_LOSSES`).
pub const REGULARIZATION_LOSSES: &str = "regularization_losses";

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

    /// The variable, when the item is one. With it, TF1's
    /// `var_list=tf.get_collection(TRAINABLE_VARIABLES, scope="generator")`
    /// is a `filter_map` over the collection.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, variable_scope, CollectionItem, Graph, TRAINABLE_VARIABLES};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// variable_scope("generator").with(|_| get_variable("w", [2]).get())?;
    /// get_variable("d", [2]).get()?;
    /// let items = graph.get_collection(TRAINABLE_VARIABLES, Some("generator"))?;
    /// let vars: Vec<_> = items.iter().filter_map(CollectionItem::variable).cloned().collect();
    /// assert_eq!(vars, [graph.variable("generator/w").unwrap()]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn variable(&self) -> Option<&Variable> {
        match self {
            CollectionItem::Variable(v) => Some(v),
            CollectionItem::Tensor(_) => None,
        }
    }

    /// The item's op: the variable's `VariableV2` node, or the op making the
    /// tensor. With it, TF1's `tf.control_dependencies(tf.get_collection(UPDATE_OPS))`
    /// is a map over the collection.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{assign_add, constant, get_variable, CollectionItem, Graph, Init};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    /// let update = assign_add(&v, &constant(vec![1.0f32])?)?;
    /// graph.add_to_collection("update_ops", CollectionItem::Tensor(update));
    /// let ops: Vec<String> = graph.get_collection("update_ops", None)?.iter().map(|i| i.op().name().to_owned()).collect();
    /// assert_eq!(ops, ["AssignAdd"]);
    /// assert_eq!(CollectionItem::Variable(v).op().name(), "v");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn op(&self) -> Operation {
        match self {
            CollectionItem::Variable(v) => v.variable_tensor().op(),
            CollectionItem::Tensor(t) => t.op(),
        }
    }
}

impl Graph {
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
        self.tensors_in(REGULARIZATION_LOSSES, scope)
    }

    /// The tensors of a collection, filtered as by [`get_collection`](Graph::get_collection).
    pub(crate) fn tensors_in(&self, key: &str, scope: Option<&str>) -> Result<Vec<Tensor>> {
        Ok(self
            .get_collection(key, scope)?
            .into_iter()
            .filter_map(|i| match i {
                CollectionItem::Tensor(t) => Some(t),
                CollectionItem::Variable(_) => None,
            })
            .collect())
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
