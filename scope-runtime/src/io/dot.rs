//! Pictures of a graph grouped by scope: Graphviz DOT.

use crate::graph::Graph;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A scope in the picture: its ops and its sub-scopes.
#[derive(Default)]
struct Cluster {
    nodes: Vec<usize>,
    children: BTreeMap<String, Cluster>,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

impl Graph {
    /// The graph in Graphviz DOT: one node per op (labelled with its short
    /// name and op type), one edge per input (labelled with the output index
    /// when it is not 0), a dashed edge per control input, and one nested
    /// cluster per scope, as TensorBoard groups TF1 graphs.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{add, constant, variable_scope, Graph};
    /// let graph = Graph::new();
    /// graph.with_default(|| variable_scope("layer").with(|_| add(&constant(1.0f32)?, &constant(2.0f32)?)))?;
    /// let dot = graph.to_dot();
    /// assert!(dot.contains("subgraph \"cluster_layer\""));
    /// assert!(dot.contains("\"layer/Const\" -> \"layer/Add\""));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn to_dot(&self) -> String {
        let nodes = self.nodes();
        let mut root = Cluster::default();
        for (i, n) in nodes.iter().enumerate() {
            let mut cluster = &mut root;
            let mut parts: Vec<&str> = n.name.split('/').collect();
            parts.pop();
            for part in parts {
                cluster = cluster.children.entry(part.to_owned()).or_default();
            }
            cluster.nodes.push(i);
        }
        let mut out = String::from(
            "digraph G {\n  compound=true;\n  rankdir=BT;\n  node [shape=box, style=rounded, fontsize=10];\n",
        );
        fn emit(out: &mut String, c: &Cluster, path: &str, depth: usize, nodes: &[crate::graph::NodeInfo]) {
            let pad = "  ".repeat(depth);
            for &i in &c.nodes {
                let n = &nodes[i];
                let short = n.name.rsplit('/').next().unwrap_or(&n.name);
                let shape = if n.variable.is_some() { ", shape=ellipse" } else { "" };
                let label = format!("\"{}\\n{}\"", escape(short), escape(n.op_type));
                let _ = writeln!(out, "{pad}{} [label={label}{shape}];", quote(&n.name));
            }
            for (name, child) in &c.children {
                let full = if path.is_empty() { name.clone() } else { format!("{path}/{name}") };
                let _ = writeln!(out, "{pad}subgraph {} {{", quote(&format!("cluster_{full}")));
                let _ = writeln!(out, "{pad}  label={};", quote(name));
                emit(out, child, &full, depth + 1, nodes);
                let _ = writeln!(out, "{pad}}}");
            }
        }
        emit(&mut out, &root, "", 1, &nodes);
        for n in &nodes {
            for input in &n.inputs {
                // `split:1` is output 1 of node `split` (names never hold `:`).
                let (node, label) = match input.split_once(':') {
                    Some((node, index)) => (node, format!(" [label={}]", quote(index))),
                    None => (input.as_str(), String::new()),
                };
                let _ = writeln!(out, "  {} -> {}{label};", quote(node), quote(&n.name));
            }
            for control in &n.control_inputs {
                let _ = writeln!(out, "  {} -> {} [style=dashed];", quote(control), quote(&n.name));
            }
        }
        out.push_str("}\n");
        out
    }
}
