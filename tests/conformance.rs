//! Replays the TensorFlow conformance cases through scopeflow's public API.
//!
//! Cases come from `../shared/conformance/public/` and from every folder in
//! `SCOPE_CONFORMANCE_DIR` (colon-separated). Each case runs in a fresh graph;
//! a step kind, field or value this runner does not understand fails the case.
//! Prints `conformance: N passed, M failed` and, per failure, the case, the
//! step and expected vs actual; exits non-zero when any case fails.

use scopeflow::{
    DType, ErrorKind, Gradient, Graph, Init, NameScopeGuard, Partitioner, Regularizer, Reuse, Session, Shape,
    StridedSlice, Tensor, Value, Variable, VariableScope, VariableScopeGuard, current_variable_scope, get_variable,
    name_scope, named, placeholder, variable_scope,
};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
enum Bound {
    VarScope(VariableScope),
    NameScope(String),
    Variable(Variable),
    Tensor(Tensor),
    /// The outputs of an op with several (`split`, `unstack`).
    Tensors(Vec<Tensor>),
    /// The outputs (one per step for `static_rnn`) and flattened final state of an `rnn` step.
    Rnn(Vec<Tensor>, Vec<Tensor>),
}

type Labels = Arc<Mutex<HashMap<String, Bound>>>;

enum Guard {
    Var(VariableScopeGuard),
    Name(NameScopeGuard),
}

type Failure = String;

fn main() {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/public")];
    if let Ok(extra) = std::env::var("SCOPE_CONFORMANCE_DIR") {
        dirs.extend(extra.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    let mut files = Vec::new();
    for dir in &dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("cannot read conformance folder {}: {e}", dir.display());
                std::process::exit(1);
            }
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        found.sort();
        // A folder may list in REPLAYED the cases scopeflow replays so far
        // (tests/tf_gradients: those whose ops all have gradients); the
        // others are counted and named, never passed.
        if let Ok(list) = std::fs::read_to_string(dir.join("REPLAYED")) {
            let replayed: Vec<&str> =
                list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
            let (take, rest): (Vec<PathBuf>, Vec<PathBuf>) = found
                .into_iter()
                .partition(|p| p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| replayed.contains(&s)));
            if take.len() != replayed.len() {
                eprintln!("{}/REPLAYED names a case that is not there", dir.display());
                std::process::exit(1);
            }
            let rest: Vec<String> =
                rest.iter().filter_map(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()).collect();
            println!(
                "{}: {} of {} cases replayed; not yet: {}",
                dir.display(),
                take.len(),
                take.len() + rest.len(),
                rest.join(", ")
            );
            found = take;
        }
        files.extend(found);
    }
    let (mut passed, mut failed) = (0, 0);
    let mut report = Vec::new();
    for file in &files {
        // A panic is a failure of that case, never the end of the run.
        let outcome = std::panic::catch_unwind(|| run_case(file))
            .unwrap_or_else(|p| Err(format!("panicked: {}", p.downcast_ref::<String>().cloned().unwrap_or_default())));
        match outcome {
            Ok(()) => passed += 1,
            Err(why) => {
                failed += 1;
                report.push(format!("FAIL {}: {why}", file.display()));
            }
        }
    }
    for line in &report {
        println!("{line}");
    }
    println!("conformance: {passed} passed, {failed} failed");
    if failed > 0 || files.is_empty() {
        std::process::exit(1);
    }
}

fn run_case(file: &Path) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let case: Json = serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = case.as_object().ok_or("a case is an object")?;
    for key in obj.keys() {
        if !["name", "source", "steps"].contains(&key.as_str()) {
            return Err(format!("unknown case field `{key}`"));
        }
    }
    let steps = obj.get("steps").and_then(Json::as_array).ok_or("a case has `steps`")?.clone();
    let graph = Graph::new();
    let labels: Labels = Arc::default();
    let _g = graph.as_default();
    let mut guards = Vec::new();
    let result = run_steps(&graph, &steps, &labels, &mut guards, "");
    while let Some(g) = guards.pop() {
        drop(g);
    }
    result
}

fn run_steps(
    graph: &Graph,
    steps: &[Json],
    labels: &Labels,
    guards: &mut Vec<Guard>,
    path: &str,
) -> Result<(), Failure> {
    for (i, step) in steps.iter().enumerate() {
        let at = format!("{path}step {i}");
        run_step(graph, step, labels, guards, &at).map_err(|why| format!("{at} {step}: {why}"))?;
    }
    Ok(())
}

fn run_step(graph: &Graph, step: &Json, labels: &Labels, guards: &mut Vec<Guard>, at: &str) -> Result<(), Failure> {
    let step = step.as_object().ok_or("a step is an object")?;
    let kind = step.get("do").and_then(Json::as_str).ok_or("a step needs `do`")?;
    let allowed: &[&str] = match kind {
        "variable_scope" => &[
            "name",
            "scope",
            "default_name",
            "reuse",
            "initializer",
            "dtype",
            "auxiliary_name_scope",
            "regularizer",
            "partitioner",
            "bind",
        ],
        "name_scope" => &["name", "scope", "bind"],
        "exit" | "reuse_variables" => &[],
        "get_variable" => &["name", "shape", "dtype", "initializer", "trainable", "regularizer", "partitioner", "bind"],
        "variable" => &["name", "value", "dtype", "trainable", "bind"],
        "constant" => &["value", "name", "dtype", "bind"],
        "op" => &["type", "inputs", "name", "attrs", "bind"],
        "layer" => &["type", "inputs", "attrs", "bind"],
        "rnn" => &["driver", "cell", "inputs", "attrs", "bind"],
        "placeholder" => &["dtype", "shape", "name", "bind"],
        "graph_nodes" => &[],
        "gradients" => &["ys", "xs", "grad_ys", "name", "feeds", "bind", "expect_forward_nodes"],
        "current_scope" => &["bind"],
        "collection" => &["key", "scope", "bind"],
        "thread" => &["steps"],
        other => return Err(format!("unknown step kind `{other}`")),
    };
    for key in step.keys() {
        if !["do", "expect", "expect_error", "expect_message"].contains(&key.as_str())
            && !allowed.contains(&key.as_str())
        {
            return Err(format!("unknown field `{key}` for `{kind}`"));
        }
    }
    let expect_error = step.get("expect_error").map(|e| e.as_str().ok_or("expect_error is a string")).transpose()?;
    let expect = step.get("expect").map(|e| e.as_object().ok_or("expect is an object")).transpose()?;
    // A `layer` step also checks the variables it created: those after this many.
    let mut variables_before = None;

    let outcome: Result<Option<Bound>, scopeflow::Error> = match kind {
        "variable_scope" => enter_variable_scope(step, labels)?.map(|g| {
            let scope = g.scope().clone();
            guards.push(Guard::Var(g));
            Some(Bound::VarScope(scope))
        }),
        "name_scope" => {
            let name: Option<String> = match (step.get("name"), step.get("scope")) {
                (Some(n), None) => opt_str(n)?.map(str::to_owned),
                (None, Some(s)) => match lookup(labels, s)? {
                    Bound::NameScope(s) => Some(s),
                    Bound::VarScope(v) => Some(v.original_name_scope().to_owned()),
                    _ => return Err("name_scope `scope` must name a scope".into()),
                },
                _ => return Err("name_scope needs exactly one of `name` and `scope`".into()),
            };
            name_scope(name.as_deref()).enter().map(|g| {
                let s = g.name().to_owned();
                guards.push(Guard::Name(g));
                Some(Bound::NameScope(s))
            })
        }
        "exit" => {
            let g = guards.pop().ok_or("exit with no scope entered on this thread")?;
            match g {
                Guard::Var(g) => g.exit(),
                Guard::Name(g) => g.exit(),
            }
            .map_err(|e| format!("exit failed: {e}"))?;
            Ok(None)
        }
        "reuse_variables" => current_variable_scope().map(|s| {
            s.reuse_variables();
            None
        }),
        "current_scope" => current_variable_scope().map(|s| Some(Bound::VarScope(s))),
        "get_variable" => {
            let name = req_str(step, "name")?;
            let shape = match step.get("shape") {
                None | Some(Json::Null) => Shape::unknown(),
                Some(s) => Shape::from(usize_list(s)?),
            };
            let mut b = get_variable(name, shape);
            if let Some(d) = step.get("dtype") {
                b = b.dtype(parse_dtype(d)?);
            }
            if let Some(i) = step.get("initializer") {
                b = b.initializer(parse_init(i)?);
            }
            if let Some(t) = step.get("trainable") {
                b = b.trainable(t.as_bool().ok_or("trainable is a bool")?);
            }
            if let Some(r) = step.get("regularizer") {
                b = b.regularizer(parse_regularizer(r)?);
            }
            if let Some(p) = step.get("partitioner") {
                b = b.partitioner(parse_partitioner(p)?);
            }
            b.get().map(|v| Some(Bound::Variable(v)))
        }
        "variable" => {
            let (natural, inferred) = parse_value(step.get("value").ok_or("variable needs `value`")?)?;
            let mut b = match step.get("dtype").map(parse_dtype).transpose()? {
                Some(d) => Variable::new(natural).dtype(d),
                None => Variable::new(natural.cast(inferred)),
            };
            if let Some(n) = step.get("name") {
                b = b.name(n.as_str().ok_or("name is a string")?);
            }
            if let Some(t) = step.get("trainable") {
                b = b.trainable(t.as_bool().ok_or("trainable is a bool")?);
            }
            b.build().map(|v| Some(Bound::Variable(v)))
        }
        "constant" => {
            let (natural, inferred) = parse_value(step.get("value").ok_or("constant needs `value`")?)?;
            let dtype = step.get("dtype").map(parse_dtype).transpose()?.unwrap_or(inferred);
            let name = step.get("name").map(|n| n.as_str().ok_or("name is a string")).transpose()?;
            natural
                .convert(dtype)
                .and_then(|value| match name {
                    Some(n) => named(n).constant(value),
                    None => scopeflow::constant(value),
                })
                .map(|t| Some(Bound::Tensor(t)))
        }
        "placeholder" => {
            let dtype = parse_dtype(step.get("dtype").ok_or("placeholder needs `dtype`")?)?;
            let shape = parse_static_shape(step.get("shape").ok_or("placeholder needs `shape`")?)?;
            match step.get("name").map(|n| n.as_str().ok_or("name is a string")).transpose()? {
                Some(n) => named(n).placeholder(dtype, shape),
                None => placeholder(dtype, shape),
            }
            .map(|t| Some(Bound::Tensor(t)))
        }
        "op" => {
            let ty = req_str(step, "type")?;
            let inputs: Vec<Tensor> = step
                .get("inputs")
                .and_then(Json::as_array)
                .ok_or("op needs `inputs`")?
                .iter()
                .map(|l| {
                    match l.as_str().and_then(|t| t.strip_prefix('$')).map(|t| labels.lock().unwrap().get(t).cloned()) {
                        // A list bound whole (a collection) gives all its tensors.
                        Some(Some(Bound::Tensors(ts))) => Ok(ts),
                        _ => input(labels, l).map(|t| vec![t]),
                    }
                })
                .collect::<Result<Vec<_>, Failure>>()?
                .into_iter()
                .flatten()
                .collect();
            let name = step.get("name").map(|n| n.as_str().ok_or("name is a string")).transpose()?;
            let empty = Map::new();
            let attrs = match step.get("attrs") {
                Some(a) => a.as_object().ok_or("attrs is an object")?,
                None => &empty,
            };
            build_op(ty, &inputs, name, attrs)?
        }
        "gradients" => return gradients_step(graph, step, labels, expect),
        "layer" => {
            variables_before = Some(graph.global_variables(None).map_err(|e| e.to_string())?.len());
            build_layer(step, labels)?.map(|t| Some(Bound::Tensor(t)))
        }
        "rnn" => {
            variables_before = Some(graph.global_variables(None).map_err(|e| e.to_string())?.len());
            build_rnn(step, labels)?.map(|(outputs, state)| Some(Bound::Rnn(outputs, state)))
        }
        "graph_nodes" => {
            let e = expect.ok_or("graph_nodes needs expect.nodes")?;
            unknown_keys(e, &["nodes"])?;
            let want = e.get("nodes").and_then(Json::as_array).ok_or("nodes is a list")?;
            let got = graph.nodes();
            let line = |name: &str, op: &str, inputs: Vec<String>| format!("{name} {op} {inputs:?}");
            let want: Vec<String> = want
                .iter()
                .map(|n| {
                    let n = n.as_object().ok_or("a node is an object")?;
                    unknown_keys(n, &["name", "op_type", "inputs"])?;
                    let field = |k: &str| n.get(k).and_then(Json::as_str).ok_or(format!("a node has a string `{k}`"));
                    let inputs = n.get("inputs").and_then(Json::as_array).ok_or("a node has inputs")?;
                    let inputs = inputs
                        .iter()
                        .map(|i| i.as_str().map(str::to_owned).ok_or("inputs are strings"))
                        .collect::<Result<_, _>>()?;
                    Ok(line(field("name")?, field("op_type")?, inputs))
                })
                .collect::<Result<_, Failure>>()?;
            let got: Vec<String> = got
                .into_iter()
                .map(|n| {
                    let controls = n.control_inputs.iter().map(|c| format!("^{c}"));
                    line(&n.name, n.op_type, n.inputs.iter().cloned().chain(controls).collect())
                })
                .collect();
            return match want.iter().zip(&got).position(|(w, g)| w != g) {
                None if want.len() == got.len() => Ok(()),
                None => Err(format!(
                    "{} nodes expected, {} in the graph: {:?}",
                    want.len(),
                    got.len(),
                    got.get(want.len().min(got.len())..)
                )),
                Some(i) => Err(format!("node {i}: expected `{}`, got `{}`", want[i], got[i])),
            };
        }
        "collection" => {
            let key = req_str(step, "key")?;
            let scope = step.get("scope").map(|s| s.as_str().ok_or("scope is a string")).transpose()?;
            let key = match key {
                "global_variables" => scopeflow::GLOBAL_VARIABLES,
                "trainable_variables" => scopeflow::TRAINABLE_VARIABLES,
                "regularization_losses" => scopeflow::REGULARIZATION_LOSSES,
                "update_ops" => scopeflow::UPDATE_OPS,
                other => return Err(format!("unknown collection `{other}`")),
            };
            let items = graph.get_collection(key, scope).map_err(|e| format!("collection failed: {e}"))?;
            let names: Vec<&str> = items.iter().map(|i| i.name()).collect();
            let want = expect.and_then(|e| e.get("names")).ok_or("collection needs expect.names")?;
            let want: Vec<&str> = want.as_array().ok_or("names is a list")?.iter().filter_map(Json::as_str).collect();
            if let Some(e) = expect {
                unknown_keys(e, &["names"])?;
            }
            if names != want {
                return Err(format!("expected {want:?}, got {names:?}"));
            }
            if let Some(label) = step.get("bind") {
                // A collection bound to a label is used as tensors: TF 2.21 converts its
                // lazy regularization losses by building them again.
                let tensors = match key {
                    scopeflow::REGULARIZATION_LOSSES => scopeflow::losses::get_regularization_losses(scope)
                        .map_err(|e| format!("get_regularization_losses failed: {e}"))?,
                    _ => return Err(format!("binding collection `{key}` is not supported")),
                };
                let label = label.as_str().ok_or("bind is a string")?;
                labels.lock().unwrap().insert(label.to_owned(), Bound::Tensors(tensors));
            }
            return Ok(());
        }
        "thread" => {
            let steps = step.get("steps").and_then(Json::as_array).ok_or("thread needs `steps`")?.clone();
            let (graph, labels, at) = (graph.clone(), labels.clone(), format!("{at} thread "));
            return std::thread::spawn(move || {
                let _g = graph.as_default();
                let mut guards = Vec::new();
                let r = run_steps(&graph, &steps, &labels, &mut guards, &at);
                while let Some(g) = guards.pop() {
                    drop(g);
                }
                r
            })
            .join()
            .map_err(|_| "thread panicked".to_owned())?;
        }
        _ => unreachable!("checked above"),
    };

    match (outcome, expect_error) {
        (Ok(_), Some(kind)) => Err(format!("expected error `{kind}`, but the step succeeded")),
        (Err(e), None) => Err(format!("unexpected error: {e}")),
        (Err(e), Some(want)) => {
            let got = match e.kind() {
                ErrorKind::AlreadyExists => "already_exists",
                ErrorKind::NotFound => "not_found",
                ErrorKind::ShapeMismatch => "shape_mismatch",
                ErrorKind::DTypeMismatch => "dtype_mismatch",
                ErrorKind::InvalidName => "invalid_name",
                ErrorKind::PartitionMismatch => "partition_mismatch",
                ErrorKind::InvalidArgument => "invalid_argument",
                _ => "other",
            };
            if got != want {
                return Err(format!("expected error `{want}`, got `{got}`: {e}"));
            }
            if let Some(m) = step.get("expect_message") {
                let m = m.as_str().ok_or("expect_message is a string")?;
                if !e.to_string().contains(m) {
                    return Err(format!("error message does not contain {m:?}: {e}"));
                }
            }
            Ok(())
        }
        (Ok(bound), None) => {
            if let (Some(bound), Some(label)) = (&bound, step.get("bind")) {
                let label = label.as_str().ok_or("bind is a string")?;
                // An `rnn` step binds its last output, as the recorder does.
                let bound = match bound {
                    Bound::Rnn(outputs, _) => Bound::Tensor(outputs.last().ok_or("an rnn without outputs")?.clone()),
                    other => other.clone(),
                };
                labels.lock().unwrap().insert(label.to_owned(), bound);
            }
            match (bound, expect) {
                (_, None) => Ok(()),
                (Some(Bound::VarScope(s)), Some(e)) => check_scope(&s, e),
                (Some(Bound::NameScope(s)), Some(e)) => {
                    unknown_keys(e, &["name"])?;
                    check_eq("name", e.get("name"), &s)
                }
                (Some(Bound::Variable(v)), Some(e)) => check_variable(&v, e, labels),
                (Some(Bound::Tensor(t)), Some(e)) if variables_before.is_some() => {
                    let mut e = e.clone();
                    let want = e.remove("variables");
                    check_op(graph, std::slice::from_ref(&t), &e)?;
                    let all = graph.global_variables(None).map_err(|e| e.to_string())?;
                    check_layer_variables(&all[variables_before.unwrap_or_default()..], want.as_ref())
                }
                (Some(Bound::Tensor(t)), Some(e)) => check_op(graph, std::slice::from_ref(&t), e),
                (Some(Bound::Tensors(ts)), Some(e)) => check_op(graph, &ts, e),
                (Some(Bound::Rnn(outputs, state)), Some(e)) => {
                    unknown_keys(e, &["outputs", "state", "variables"])?;
                    for (what, got) in [("outputs", &outputs), ("state", &state)] {
                        let want = e.get(what).and_then(Json::as_array).ok_or(format!("rnn expects `{what}`"))?;
                        let want: Vec<Shape> = want.iter().map(parse_static_shape).collect::<Result<_, _>>()?;
                        let got: Vec<Shape> = got.iter().map(|t| t.shape().clone()).collect();
                        if want != got {
                            return Err(format!("{what}: expected shapes {want:?}, got {got:?}"));
                        }
                    }
                    let all = graph.global_variables(None).map_err(|e| e.to_string())?;
                    check_layer_variables(&all[variables_before.unwrap_or_default()..], e.get("variables"))
                }
                (None, Some(_)) => Err("this step has nothing to check".into()),
            }
        }
    }
}

fn enter_variable_scope(
    step: &Map<String, Json>,
    labels: &Labels,
) -> Result<Result<VariableScopeGuard, scopeflow::Error>, Failure> {
    let captured = match step.get("scope") {
        Some(l) => match lookup(labels, l)? {
            Bound::VarScope(s) => Some(s),
            _ => return Err("variable_scope `scope` must name a variable scope".into()),
        },
        None => None,
    };
    let name = match step.get("name") {
        Some(n) => opt_str(n)?,
        None => None,
    };
    let mut b = match (&captured, name) {
        (Some(s), None) => variable_scope(s),
        (None, name) => variable_scope(name),
        (Some(_), Some(_)) => return Err("both `name` and `scope`".into()),
    };
    if let Some(d) = step.get("default_name") {
        b = b.default_name(d.as_str().ok_or("default_name is a string")?);
    }
    if let Some(r) = step.get("reuse") {
        b = b.reuse(match r.as_str() {
            Some("inherit") => Reuse::Inherit,
            Some("true") => Reuse::True,
            Some("auto") => Reuse::Auto,
            _ => return Err(format!("unknown reuse {r}")),
        });
    }
    if let Some(i) = step.get("initializer") {
        b = b.initializer(parse_init(i)?);
    }
    if let Some(d) = step.get("dtype") {
        b = b.dtype(parse_dtype(d)?);
    }
    if let Some(a) = step.get("auxiliary_name_scope") {
        b = b.auxiliary_name_scope(a.as_bool().ok_or("auxiliary_name_scope is a bool")?);
    }
    if let Some(r) = step.get("regularizer") {
        b = b.regularizer(parse_regularizer(r)?);
    }
    if let Some(p) = step.get("partitioner") {
        b = b.partitioner(parse_partitioner(p)?);
    }
    Ok(b.enter())
}

/// An `op` step's input: `$x`, or `$x:N` for output N of the op bound to `x`
/// (element N of a list bound by `split` or `unstack`).
fn input(labels: &Labels, label: &Json) -> Result<Tensor, Failure> {
    let text = label.as_str().ok_or(format!("bad label {label}"))?;
    let bound = |l: &str| labels.lock().unwrap().get(l).cloned();
    let (found, index) = match text.strip_prefix('$').and_then(|l| bound(l).map(|b| (b, None))) {
        Some(hit) => hit,
        None => {
            let (l, n) = text.rsplit_once(':').ok_or(format!("unbound label {label}"))?;
            let n: usize = n.parse().map_err(|_| format!("bad output index in {label}"))?;
            let l = l.strip_prefix('$').ok_or(format!("bad label {label}"))?;
            (bound(l).ok_or(format!("unbound label {label}"))?, Some(n))
        }
    };
    match (found, index) {
        (Bound::Tensor(t), None | Some(0)) => Ok(t),
        (Bound::Variable(v), None | Some(0)) => Ok(v.tensor().clone()),
        (Bound::Tensors(ts), Some(n)) => ts.get(n).cloned().ok_or(format!("{label}: no output {n}")),
        _ => Err(format!("input {label} is not a tensor")),
    }
}

/// An axis that may count from the end (`-1`), for an input of known rank.
fn axis(attrs: &Map<String, Json>, key: &str, default: i64, x: &Tensor) -> Result<usize, Failure> {
    let a = match attrs.get(key) {
        Some(a) => a.as_i64().ok_or(format!("`{key}` is an integer"))?,
        None => default,
    };
    if a >= 0 {
        return Ok(a as usize);
    }
    let rank = x.shape().rank().ok_or(format!("`{key}` {a} needs an input of known rank"))?;
    usize::try_from(rank as i64 + a).map_err(|_| format!("`{key}` {a} is out of range"))
}

fn int_list(v: Option<&Json>, key: &str) -> Result<Vec<i64>, Failure> {
    v.and_then(Json::as_array)
        .ok_or(format!("`{key}` is a list"))?
        .iter()
        .map(|d| d.as_i64().ok_or(format!("`{key}` holds integers")))
        .collect()
}

fn nonneg_list(v: Option<&Json>, key: &str) -> Result<Vec<usize>, Failure> {
    int_list(v, key)?.into_iter().map(|d| usize::try_from(d).map_err(|_| format!("`{key}` holds sizes"))).collect()
}

/// An NHWC window attribute `[1, h, w, 1]` (`strides`, `ksize`) as `[h, w]`.
fn window_attr(attrs: &Map<String, Json>, key: &str) -> Result<[usize; 2], Failure> {
    match nonneg_list(attrs.get(key), key)?.as_slice() {
        &[1, h, w, 1] => Ok([h, w]),
        other => Err(format!("`{key}` {other:?} is not [1, h, w, 1]")),
    }
}

/// The `padding` attribute, `SAME` or `VALID`.
fn padding_attr(attrs: &Map<String, Json>) -> Result<scopeflow::Padding, Failure> {
    match attrs.get("padding").and_then(Json::as_str) {
        Some("SAME") => Ok(scopeflow::Padding::Same),
        Some("VALID") => Ok(scopeflow::Padding::Valid),
        other => Err(format!("padding {other:?} is not SAME or VALID")),
    }
}

/// Builds one `op` step through the public API.
fn build_op(
    ty: &str,
    inputs: &[Tensor],
    name: Option<&str>,
    attrs: &Map<String, Json>,
) -> Result<Result<Option<Bound>, scopeflow::Error>, Failure> {
    let known: &[&str] = match ty {
        "split" => &["num_or_size_splits", "axis"],
        "slice" => &["begin", "size"],
        "strided_slice" => &["begin", "end", "strides", "begin_mask", "end_mask", "shrink_axis_mask"],
        "unstack" => &["axis", "num"],
        "shape" => &["out_type"],
        "fill" => &["dims", "value", "dtype"],
        "zeros_like" | "ones_like" | "cast" => &["dtype"],
        "one_hot" => &["depth", "on_value", "off_value", "axis", "dtype"],
        "leaky_relu" => &["alpha"],
        "argmax" => &["axis", "output_type"],
        "pad" => &["paddings", "mode", "constant_values"],
        "tile" => &["multiples"],
        "reduce_sum" | "reduce_mean" | "reduce_max" | "reduce_prod" => &["axis", "keepdims"],
        "matmul" => &["transpose_a", "transpose_b"],
        "reshape" => &["shape"],
        "transpose" => &["perm"],
        "concat" => &["axis"],
        "conv2d" => &["strides", "padding"],
        "max_pool" | "avg_pool" => &["ksize", "strides", "padding"],
        "stack" | "gather" => &["axis"],
        _ => &[],
    };
    unknown_keys(attrs, known).map_err(|e| e.replace("expect", "attrs"))?;
    let arity = match ty {
        "concat" | "add_n" | "stack" => inputs.len().max(1),
        "fill" => 0,
        "Relu" | "Identity" | "neg" | "split" | "slice" | "strided_slice" | "unstack" | "shape" | "zeros_like"
        | "ones_like" | "one_hot" | "negative" | "abs" | "softplus" | "leaky_relu" | "argmax" | "pad" | "tile"
        | "cast" | "reduce_sum" | "reduce_mean" | "reduce_max" | "reduce_prod" | "sign" | "reciprocal" | "reshape"
        | "transpose" | "sigmoid" | "stop_gradient" | "relu6" | "tanh" | "softmax" | "log_softmax" | "square"
        | "sqrt" | "exp" | "log" | "l2_loss" | "max_pool" | "avg_pool" => 1,
        "where" | "where_v2" => 3,
        _ => 2,
    };
    if inputs.len() != arity {
        return Err(format!("{ty} takes {arity} inputs"));
    }
    if ["+", "-", "*", "/", "neg"].contains(&ty) && name.is_some() {
        return Err(format!("operator {ty} takes no name"));
    }
    // Calls `f` or `named(n).f` with the same arguments.
    macro_rules! call {
        ($f:ident($($arg:expr),*)) => {
            match name {
                Some(n) => named(n).$f($($arg),*),
                None => scopeflow::$f($($arg),*),
            }
        };
    }
    let x = inputs.first();
    let (a, b) = (x.ok_or("an input"), inputs.get(1).ok_or("a second input"));
    let one = |r: Result<Tensor, scopeflow::Error>| Ok(r.map(|t| Some(Bound::Tensor(t))));
    let many = |r: Result<Vec<Tensor>, scopeflow::Error>| Ok(r.map(|t| Some(Bound::Tensors(t))));
    let dtype_attr = |key: &str| attrs.get(key).map(parse_dtype).transpose();
    match ty {
        "Add" => one(call!(add(a?, b?))),
        "Sub" => one(call!(sub(a?, b?))),
        "Mul" => one(call!(mul(a?, b?))),
        "MatMul" => one(call!(matmul(a?, b?))),
        "Relu" => one(call!(relu(a?))),
        "Identity" => one(call!(identity(a?))),
        "sigmoid" => one(call!(sigmoid(a?))),
        "relu6" => one(call!(relu6(a?))),
        "tanh" => one(call!(tanh(a?))),
        "softmax" => one(call!(softmax(a?))),
        "log_softmax" => one(call!(log_softmax(a?))),
        "square" => one(call!(square(a?))),
        "sqrt" => one(call!(sqrt(a?))),
        "exp" => one(call!(exp(a?))),
        "log" => one(call!(log(a?))),
        "maximum" => one(call!(maximum(a?, b?))),
        "l2_loss" => one(call!(l2_loss(a?))),
        "add_n" => one(call!(add_n(&inputs.iter().collect::<Vec<_>>()))),
        "sparse_softmax_cross_entropy_with_logits" => one(call!(sparse_softmax_cross_entropy_with_logits(a?, b?))),
        "sigmoid_cross_entropy_with_logits" => one(call!(sigmoid_cross_entropy_with_logits(a?, b?))),
        "pow" => one(call!(pow(a?, b?))),
        "sign" => one(call!(sign(a?))),
        "reciprocal" => one(call!(reciprocal(a?))),
        "conv2d" => {
            let (strides, padding) = (window_attr(attrs, "strides")?, padding_attr(attrs)?);
            one(call!(conv2d(a?, b?, strides, padding)))
        }
        "max_pool" => {
            one(call!(max_pool(a?, window_attr(attrs, "ksize")?, window_attr(attrs, "strides")?, padding_attr(attrs)?)))
        }
        "avg_pool" => {
            one(call!(avg_pool(a?, window_attr(attrs, "ksize")?, window_attr(attrs, "strides")?, padding_attr(attrs)?)))
        }
        "softmax_cross_entropy_with_logits_v2" => one(call!(softmax_cross_entropy_with_logits_v2(a?, b?))),
        "mean_squared_error" => one(match name {
            Some(n) => named(n).mean_squared_error(a?, b?),
            None => scopeflow::losses::mean_squared_error(a?, b?),
        }),
        "stop_gradient" => one(call!(stop_gradient(a?))),
        "bias_add" => one(call!(bias_add(a?, b?))),
        "matmul" => {
            let flag = |k: &str| attrs.get(k).map_or(Ok(false), |v| v.as_bool().ok_or(format!("`{k}` is a bool")));
            one(call!(matmul_transposed(a?, b?, flag("transpose_a")?, flag("transpose_b")?)))
        }
        "+" => one(a? + b?),
        "-" => one(a? - b?),
        "*" => one(a? * b?),
        "/" => one(a? / b?),
        "neg" => {
            let a: &Tensor = a?;
            one(-a)
        }
        "negative" => one(call!(neg(a?))),
        "abs" => one(call!(abs(a?))),
        "softplus" => one(call!(softplus(a?))),
        "leaky_relu" => {
            let alpha = attrs.get("alpha").map(|v| v.as_f64().ok_or("alpha is a number")).transpose()?;
            one(call!(leaky_relu(a?, alpha.unwrap_or(0.2))))
        }
        "equal" => one(call!(equal(a?, b?))),
        "less" => one(call!(less(a?, b?))),
        "greater" => one(call!(greater(a?, b?))),
        "where" => one(call!(select(a?, b?, &inputs[2]))),
        "where_v2" => one(call!(where_v2(a?, b?, &inputs[2]))),
        "cast" => one(call!(cast(a?, dtype_attr("dtype")?.ok_or("cast needs `dtype`")?))),
        "split" => {
            let ax = axis(attrs, "axis", 0, a?)?;
            match attrs.get("num_or_size_splits") {
                Some(Json::Array(_)) => {
                    let sizes = int_list(attrs.get("num_or_size_splits"), "num_or_size_splits")?;
                    many(call!(split_sizes(a?, &sizes, ax)))
                }
                Some(n) => many(call!(split(a?, n.as_u64().ok_or("a part count")? as usize, ax))),
                None => Err("split needs `num_or_size_splits`".into()),
            }
        }
        "unstack" => {
            let num = attrs.get("num").map(|n| n.as_u64().map(|n| n as usize).ok_or("num is a count")).transpose()?;
            many(call!(unstack(a?, num, axis(attrs, "axis", 0, a?)?)))
        }
        "slice" => {
            let begin = nonneg_list(attrs.get("begin"), "begin")?;
            one(call!(slice(a?, &begin, &int_list(attrs.get("size"), "size")?)))
        }
        "strided_slice" => {
            let mut spec =
                StridedSlice::new(int_list(attrs.get("begin"), "begin")?, int_list(attrs.get("end"), "end")?);
            if attrs.contains_key("strides") {
                spec = spec.strides(int_list(attrs.get("strides"), "strides")?);
            }
            let mask = |k: &str| attrs.get(k).map_or(Ok(0), |m| m.as_u64().ok_or(format!("`{k}` is a bit mask")));
            spec = spec.begin_mask(mask("begin_mask")?).end_mask(mask("end_mask")?);
            spec = spec.shrink_axis_mask(mask("shrink_axis_mask")?);
            one(call!(strided_slice(a?, &spec)))
        }
        "shape" => match dtype_attr("out_type")? {
            Some(d) => one(call!(shape_as(a?, d))),
            None => one(call!(shape(a?))),
        },
        "fill" => {
            let dims = nonneg_list(attrs.get("dims"), "dims")?;
            let (natural, inferred) = parse_value(attrs.get("value").ok_or("fill needs `value`")?)?;
            let value = natural.convert(dtype_attr("dtype")?.unwrap_or(inferred)).map_err(|e| e.to_string())?;
            one(call!(fill(&dims, value)))
        }
        "zeros_like" => match dtype_attr("dtype")? {
            Some(d) => one(call!(zeros_like_as(a?, d))),
            None => one(call!(zeros_like(a?))),
        },
        "ones_like" => match dtype_attr("dtype")? {
            Some(_) => Err("ones_like with a dtype is not in scopeflow's API".into()),
            None => one(call!(ones_like(a?))),
        },
        "one_hot" => {
            let depth = attrs.get("depth").and_then(Json::as_u64).ok_or("one_hot needs `depth`")? as usize;
            let num = |k: &str, d: f64| attrs.get(k).map_or(Ok(d), |v| v.as_f64().ok_or(format!("`{k}` is a number")));
            let ax = match attrs.get("axis").map(|v| v.as_i64().ok_or("axis is an integer")).transpose()? {
                None | Some(-1) => None,
                Some(ax) => Some(usize::try_from(ax).map_err(|_| "axis is -1 or more")?),
            };
            let dtype = dtype_attr("dtype")?.unwrap_or(DType::F32);
            one(call!(one_hot_with(a?, depth, num("on_value", 1.0)?, num("off_value", 0.0)?, ax, dtype)))
        }
        "argmax" => {
            let ax = axis(attrs, "axis", 0, a?)?;
            one(call!(argmax_as(a?, ax, dtype_attr("output_type")?.unwrap_or(DType::I64))))
        }
        "pad" => {
            if attrs.get("mode").is_some_and(|m| m.as_str() != Some("CONSTANT")) {
                return Err("only the CONSTANT mode of pad is in scopeflow's API".into());
            }
            let paddings: Vec<[usize; 2]> = attrs
                .get("paddings")
                .and_then(Json::as_array)
                .ok_or("pad needs `paddings`")?
                .iter()
                .map(|p| match nonneg_list(Some(p), "paddings")?.as_slice() {
                    &[before, after] => Ok([before, after]),
                    _ => Err("paddings are pairs".to_owned()),
                })
                .collect::<Result<_, Failure>>()?;
            let value = attrs.get("constant_values").map_or(Ok(0.0), |v| v.as_f64().ok_or("a number"))?;
            one(call!(pad_with(a?, &paddings, value)))
        }
        "tile" => one(call!(tile(a?, &nonneg_list(attrs.get("multiples"), "multiples")?))),
        "reduce_sum" | "reduce_mean" | "reduce_max" | "reduce_prod" => {
            let keep =
                attrs.get("keepdims").map(|k| k.as_bool().ok_or("keepdims is a bool")).transpose()?.unwrap_or(false);
            // TF's `axis`: a scalar or a list, negative from the end.
            let along = match attrs.get("axis") {
                Some(Json::Number(n)) => Some(scopeflow::Axes::One(n.as_i64().ok_or("`axis` is an integer")?)),
                Some(_) => Some(scopeflow::Axes::List(int_list(attrs.get("axis"), "axis")?)),
                None => None,
            };
            if let Some(axes) = along {
                return match ty {
                    "reduce_sum" => one(call!(reduce_sum_axes(a?, axes, keep))),
                    "reduce_mean" => one(call!(reduce_mean_axes(a?, axes, keep))),
                    "reduce_prod" => one(call!(reduce_prod_axes(a?, axes, keep))),
                    _ => one(call!(reduce_max_axes(a?, axes, keep))),
                };
            }
            let axes = None;
            match ty {
                "reduce_sum" => one(call!(reduce_sum(a?, axes, keep))),
                "reduce_mean" => one(call!(reduce_mean(a?, axes, keep))),
                "reduce_prod" => one(call!(reduce_prod(a?, axes, keep))),
                _ => one(call!(reduce_max(a?, axes, keep))),
            }
        }
        "reshape" => one(call!(reshape(a?, &int_list(attrs.get("shape"), "shape")?))),
        "transpose" => {
            let perm = attrs.get("perm").map(|_| nonneg_list(attrs.get("perm"), "perm")).transpose()?;
            one(call!(transpose(a?, perm.as_deref())))
        }
        "concat" => {
            let ax = attrs.get("axis").and_then(Json::as_u64).ok_or("concat needs a non-negative `axis`")? as usize;
            let values: Vec<&Tensor> = inputs.iter().collect();
            one(call!(concat(&values, ax)))
        }
        "gather" => match attrs.get("axis").map_or(Some(0), Json::as_i64) {
            Some(0) => one(call!(gather(a?, b?))),
            Some(ax) => one(call!(gather_axis(a?, b?, ax))),
            None => Err("the axis of gather is an integer".into()),
        },
        "embedding_lookup" => one(call!(embedding_lookup(a?, b?))),
        "stack" => {
            let ax =
                attrs.get("axis").map_or(Some(0), Json::as_u64).ok_or("stack needs a non-negative `axis`")? as usize;
            let values: Vec<&Tensor> = inputs.iter().collect();
            one(call!(stack(&values, ax)))
        }
        other => Err(format!("unknown op type `{other}`")),
    }
}

/// A static shape as the cases write it: a list of sizes and `null`s, or `null` for an unknown rank.
fn parse_static_shape(v: &Json) -> Result<Shape, Failure> {
    match v {
        Json::Null => Ok(Shape::unknown()),
        Json::Array(dims) => Ok(Shape::from_dims(
            dims.iter()
                .map(|d| match d {
                    Json::Null => Ok(None),
                    d => d.as_u64().map(|d| Some(d as usize)).ok_or(format!("bad dimension {d}")),
                })
                .collect::<Result<Vec<_>, Failure>>()?,
        )),
        _ => Err(format!("bad shape {v}")),
    }
}

/// Checks an op's result: its name, TF type, every output's static shape and
/// dtype, and, computed by a `Session`, the values of the outputs fetched.
fn check_op(graph: &Graph, tensors: &[Tensor], e: &Map<String, Json>) -> Result<(), Failure> {
    unknown_keys(e, &["name", "op_type", "outputs", "values", "run_shapes"])?;
    let first = tensors.first().ok_or("an op with no outputs")?;
    check_eq("name", e.get("name"), first.name())?;
    let node = graph.nodes().into_iter().find(|n| n.name == first.name()).ok_or("the op is not in the graph")?;
    check_eq("op_type", e.get("op_type"), node.op_type)?;
    if let Some(outputs) = e.get("outputs") {
        let want = outputs.as_array().ok_or("outputs is a list")?;
        if want.len() != node.outputs.len() {
            return Err(format!("outputs: expected {}, got {}", want.len(), node.outputs.len()));
        }
        for (i, (w, (shape, dtype))) in want.iter().zip(&node.outputs).enumerate() {
            let w = w.as_object().ok_or("an output is an object")?;
            unknown_keys(w, &["shape", "dtype"])?;
            check_eq(&format!("output {i} dtype"), w.get("dtype"), dtype.name())?;
            let want_shape = parse_static_shape(w.get("shape").ok_or("an output has a shape")?)?;
            if &want_shape != shape {
                return Err(format!("output {i} shape: expected {want_shape}, got {shape}"));
            }
        }
    }
    if e.contains_key("values") || e.contains_key("run_shapes") {
        // TF recorded every output of the op: fetch those this step did not bind too.
        let mut all = tensors.to_vec();
        if let [one] = tensors {
            all = (0..node.outputs.len())
                .map(|i| graph.tensor(&format!("{}:{i}", node.name)).ok_or("an output of the op"))
                .collect::<Result<_, _>>()?;
            all[0] = one.clone();
        }
        let fetches: Vec<&Tensor> = all.iter().collect();
        let got = Session::new(graph).run(&fetches, &[]).map_err(|err| format!("run failed: {err}"))?;
        if let Some(shapes) = e.get("run_shapes") {
            let want = shapes.as_array().ok_or("run_shapes is a list")?;
            let got_shapes: Vec<Vec<usize>> = got.iter().map(|v| v.shape().to_vec()).collect();
            let want: Vec<Vec<usize>> = want.iter().map(usize_list).collect::<Result<_, _>>()?;
            if want != got_shapes {
                return Err(format!("run_shapes: expected {want:?}, got {got_shapes:?}"));
            }
        }
        if let Some(values) = e.get("values") {
            let want = values.as_array().ok_or("values is a list")?;
            if want.len() != got.len() {
                return Err(format!("values: expected {} outputs, got {}", want.len(), got.len()));
            }
            for (i, (w, v)) in want.iter().zip(&got).enumerate() {
                check_values(i, w, v)?;
            }
        }
    }
    Ok(())
}

/// Compares computed elements with TensorFlow's: exactly for integers and
/// bools, within one part in 10⁶ for floats (TensorFlow's kernels may round
/// transcendental functions differently in the last bit).
fn check_values(output: usize, want: &Json, got: &Value) -> Result<(), Failure> {
    let want = want.as_array().ok_or("values are flat lists")?;
    let got_flat = got.to_f64_vec();
    let mismatch = || format!("output {output} values: expected {want:?}, got {got_flat:?}");
    if want.len() != got_flat.len() {
        return Err(mismatch());
    }
    for (w, &g) in want.iter().zip(&got_flat) {
        let ok = match (w, got.dtype()) {
            (Json::Bool(b), DType::Bool) => (g != 0.0) == *b,
            (Json::Number(n), DType::F32 | DType::F64) => {
                let n = n.as_f64().ok_or("a number")?;
                (n - g).abs() <= 1e-6 * n.abs().max(1.0)
            }
            (Json::Number(n), DType::I32 | DType::I64) => n.as_i64().is_some_and(|n| n as f64 == g),
            _ => false,
        };
        if !ok {
            return Err(mismatch());
        }
    }
    Ok(())
}

fn check_scope(s: &VariableScope, e: &Map<String, Json>) -> Result<(), Failure> {
    unknown_keys(e, &["name", "original_name_scope", "reuse"])?;
    check_eq("name", e.get("name"), s.name())?;
    check_eq("original_name_scope", e.get("original_name_scope"), s.original_name_scope())?;
    check_eq("reuse", e.get("reuse"), s.reuse().as_str())
}

fn check_variable(v: &Variable, e: &Map<String, Json>, labels: &Labels) -> Result<(), Failure> {
    unknown_keys(e, &["name", "shape", "dtype", "same_as", "not_same_as", "value"])?;
    check_eq("name", e.get("name"), v.name())?;
    check_eq("dtype", e.get("dtype"), v.dtype().name())?;
    if let Some(s) = e.get("shape") {
        let want = usize_list(s)?;
        if want != v.shape() {
            return Err(format!("shape: expected {want:?}, got {:?}", v.shape()));
        }
    }
    for (key, same) in [("same_as", true), ("not_same_as", false)] {
        if let Some(l) = e.get(key) {
            let Bound::Variable(other) = lookup(labels, l)? else {
                return Err(format!("{key} must name a variable"));
            };
            if (other == *v) != same {
                return Err(format!("{key} {l} does not hold"));
            }
        }
    }
    if let Some(want) = e.get("value") {
        let want = want.as_array().ok_or("value is a flat list")?;
        let got = v.value().map_err(|e| format!("reading the value failed: {e}"))?;
        let got_f = got.to_f64_vec();
        if want.len() != got_f.len() {
            return Err(format!("value: expected {} elements, got {}", want.len(), got_f.len()));
        }
        for (w, g) in want.iter().zip(&got_f) {
            let w = match w {
                Json::Bool(b) => f64::from(u8::from(*b)),
                Json::Number(n) => n.as_f64().ok_or("a number")?,
                _ => return Err(format!("value element {w} is not a number or bool")),
            };
            let equal = match got.dtype() {
                DType::F32 => (w as f32) == (*g as f32),
                _ => w == *g,
            };
            if !equal {
                return Err(format!("value: expected {want:?}, got {got_f:?}"));
            }
        }
    }
    Ok(())
}

fn check_eq(field: &str, want: Option<&Json>, got: &str) -> Result<(), Failure> {
    match want {
        None => Ok(()),
        Some(w) if w.as_str() == Some(got) => Ok(()),
        Some(w) => Err(format!("{field}: expected {w}, got {got:?}")),
    }
}

fn unknown_keys(e: &Map<String, Json>, known: &[&str]) -> Result<(), Failure> {
    match e.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown expect field `{k}`")),
        None => Ok(()),
    }
}

fn lookup(labels: &Labels, label: &Json) -> Result<Bound, Failure> {
    let l = label.as_str().and_then(|s| s.strip_prefix('$')).ok_or(format!("bad label {label}"))?;
    labels.lock().unwrap().get(l).cloned().ok_or(format!("unbound label {label}"))
}

fn opt_str(v: &Json) -> Result<Option<&str>, Failure> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s)),
        _ => Err(format!("expected a string or null, got {v}")),
    }
}

fn req_str<'a>(step: &'a Map<String, Json>, key: &str) -> Result<&'a str, Failure> {
    step.get(key).and_then(Json::as_str).ok_or(format!("`{key}` must be a string"))
}

fn usize_list(v: &Json) -> Result<Vec<usize>, Failure> {
    v.as_array()
        .ok_or(format!("expected a list, got {v}"))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or(format!("bad dimension {d}")))
        .collect()
}

fn parse_dtype(v: &Json) -> Result<DType, Failure> {
    v.as_str().and_then(DType::from_name).ok_or(format!("unknown dtype {v}"))
}

fn num(m: &Map<String, Json>, key: &str) -> Result<f64, Failure> {
    m.get(key).and_then(Json::as_f64).ok_or(format!("initializer needs `{key}`"))
}

fn parse_init(v: &Json) -> Result<Init, Failure> {
    let m = v.as_object().filter(|m| m.len() == 1).ok_or(format!("bad initializer {v}"))?;
    let (name, args) = m.iter().next().expect("one entry");
    let empty = || args.as_object().is_some_and(Map::is_empty);
    let params = |keys: &[&str]| -> Result<&Map<String, Json>, Failure> {
        let m = args.as_object().ok_or(format!("bad initializer {v}"))?;
        unknown_keys(m, keys).map(|()| m)
    };
    Ok(match name.as_str() {
        "zeros" if empty() => Init::Zeros,
        "ones" if empty() => Init::Ones,
        "constant" => Init::Constant(args.as_f64().ok_or(format!("bad constant {args}"))?),
        "random_normal" => {
            let p = params(&["mean", "stddev"])?;
            Init::RandomNormal { mean: num(p, "mean")?, stddev: num(p, "stddev")? }
        }
        "truncated_normal" => {
            let p = params(&["mean", "stddev"])?;
            Init::TruncatedNormal { mean: num(p, "mean")?, stddev: num(p, "stddev")? }
        }
        "random_uniform" => {
            let p = params(&["minval", "maxval"])?;
            Init::RandomUniform { minval: num(p, "minval")?, maxval: num(p, "maxval")? }
        }
        "glorot_uniform" if empty() => Init::GlorotUniform,
        "glorot_normal" if empty() => Init::GlorotNormal,
        "he_normal" if empty() => Init::HeNormal,
        "he_uniform" if empty() => Init::HeUniform,
        _ => return Err(format!("unknown initializer {v}")),
    })
}

fn parse_regularizer(v: &Json) -> Result<Regularizer, Failure> {
    let m = v.as_object().filter(|m| m.len() == 1).ok_or(format!("bad regularizer {v}"))?;
    match m.iter().next().expect("one entry") {
        (k, s) if k == "l2" => Ok(Regularizer::L2(s.as_f64().ok_or(format!("bad l2 scale {s}"))?)),
        (k, a) if k == "none" && a.as_object().is_some_and(Map::is_empty) => Ok(Regularizer::None),
        _ => Err(format!("unknown regularizer {v}")),
    }
}

fn parse_partitioner(v: &Json) -> Result<Partitioner, Failure> {
    let m = v.as_object().filter(|m| m.len() == 1).ok_or(format!("bad partitioner {v}"))?;
    match m.iter().next().expect("one entry") {
        (k, n) if k == "fixed" => Ok(Partitioner::fixed(n.as_u64().ok_or(format!("bad shard count {n}"))? as usize)),
        _ => Err(format!("unknown partitioner {v}")),
    }
}

/// A scalar or nested list as a value of its natural dtype (bool, int64 or
/// float64, as Python would hold it) and the dtype TensorFlow infers for it
/// (bool, int32 or float32).
fn parse_value(v: &Json) -> Result<(Value, DType), Failure> {
    fn walk(
        v: &Json,
        depth: usize,
        shape: &mut Vec<usize>,
        flat: &mut Vec<f64>,
        kinds: &mut [bool; 3],
    ) -> Result<(), Failure> {
        match v {
            Json::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len());
                } else if shape[depth] != items.len() {
                    return Err("ragged value".into());
                }
                items.iter().try_for_each(|i| walk(i, depth + 1, shape, flat, kinds))
            }
            Json::Bool(b) => {
                kinds[0] = true;
                flat.push(f64::from(u8::from(*b)));
                Ok(())
            }
            Json::Number(n) => {
                kinds[if n.is_f64() { 1 } else { 2 }] = true;
                flat.push(n.as_f64().ok_or("a number")?);
                Ok(())
            }
            _ => Err(format!("bad value element {v}")),
        }
    }
    let (mut shape, mut flat, mut kinds) = (Vec::new(), Vec::new(), [false; 3]);
    walk(v, 0, &mut shape, &mut flat, &mut kinds)?;
    let (natural, inferred) = match kinds {
        [true, false, false] => (DType::Bool, DType::Bool),
        [_, false, true] => (DType::I64, DType::I32),
        _ => (DType::F64, DType::F32),
    };
    Ok((Value::from_f64_data(natural, &shape, flat).map_err(|e| e.to_string())?, inferred))
}

/// A `gradients` step (tests/tf_gradients/README.md): builds TF's `tf.gradients`
/// through `gradients_with`, then checks every node it added, in order, the
/// returned gradients and, computed by a `Session`, their values.
fn gradients_step(
    graph: &Graph,
    step: &Map<String, Json>,
    labels: &Labels,
    expect: Option<&Map<String, Json>>,
) -> Result<(), Failure> {
    let list = |key: &str| -> Result<Vec<Option<Tensor>>, Failure> {
        match step.get(key) {
            None => Ok(Vec::new()),
            Some(v) => v
                .as_array()
                .ok_or(format!("`{key}` is a list"))?
                .iter()
                .map(|l| if l.is_null() { Ok(None) } else { input(labels, l).map(Some) })
                .collect(),
        }
    };
    let ys: Vec<Tensor> = list("ys")?.into_iter().collect::<Option<_>>().ok_or("ys are labels")?;
    let xs: Vec<Tensor> = list("xs")?.into_iter().collect::<Option<_>>().ok_or("xs are labels")?;
    let grad_ys = list("grad_ys")?;
    let name = step.get("name").map(|n| n.as_str().ok_or("name is a string")).transpose()?;
    let before = graph.nodes().len();
    if let Some(want) = step.get("expect_forward_nodes") {
        let want = want.as_array().ok_or("expect_forward_nodes is a list")?;
        // scopeflow initializes variables without ops (their values are made
        // when first read): TF's `<var>/Initializer/…` and `<var>/Assign`
        // nodes have their names reserved but no nodes, so they are skipped.
        let variables: Vec<&str> = want
            .iter()
            .filter(|n| n.get("op_type").and_then(Json::as_str) == Some("VariableV2"))
            .filter_map(|n| n.get("name").and_then(Json::as_str))
            .collect();
        let initializes = |n: &&Json| {
            let name = n.get("name").and_then(Json::as_str).unwrap_or_default();
            variables.iter().any(|v| {
                name.strip_prefix(v).is_some_and(|rest| rest == "/Assign" || rest.starts_with("/Initializer/"))
            })
        };
        let want: Vec<Json> = want.iter().filter(|n| !initializes(n)).cloned().collect();
        check_nodes(&graph.nodes(), &want).map_err(|e| format!("forward nodes: {e}"))?;
    }
    let (y_refs, x_refs): (Vec<&Tensor>, Vec<&Tensor>) = (ys.iter().collect(), xs.iter().collect());
    let grad_ys: Vec<Option<&Tensor>> = grad_ys.iter().map(Option::as_ref).collect();
    let grads = scopeflow::gradients_indexed_with(&y_refs, &x_refs, &grad_ys, name)
        .map_err(|e| format!("gradients failed: {e}"))?;
    let e = expect.ok_or("gradients needs expect")?;
    unknown_keys(e, &["nodes", "grads", "values", "run_shapes"])?;
    // Every node added, in order: name, op type, inputs and static outputs
    // (`attrs` are TF's node attributes, kept for reading, not compared).
    let want = e.get("nodes").and_then(Json::as_array).ok_or("expect.nodes is a list")?;
    check_nodes(&graph.nodes()[before..], want)?;
    let want_grads = e.get("grads").and_then(Json::as_array).ok_or("expect.grads is a list")?;
    if want_grads.len() != grads.len() {
        return Err(format!("{} gradients expected, got {}", want_grads.len(), grads.len()));
    }
    for (w, g) in want_grads.iter().zip(&grads) {
        let same = |key: &str, t: &Tensor| w.get(key).and_then(Json::as_str) == Some(&t.tensor_name());
        match (w, g) {
            (Json::Null, None) => {}
            (Json::String(w), Some(Gradient::Dense(g))) if *w == g.tensor_name() => {}
            // TF's IndexedSlices: {indices, values, dense_shape}.
            (Json::Object(m), Some(Gradient::Indexed(s)))
                if m.len() == 3
                    && same("indices", s.indices())
                    && same("values", s.values())
                    && same("dense_shape", s.dense_shape()) => {}
            _ => return Err(format!("gradient: expected {w}, got {g:?}")),
        }
    }
    if e.contains_key("values") || e.contains_key("run_shapes") {
        let feeds_json = step.get("feeds").map(|f| f.as_object().ok_or("feeds is an object")).transpose()?;
        let mut feeds: Vec<(Tensor, Value)> = Vec::new();
        for (label, v) in feeds_json.into_iter().flatten() {
            let t = input(labels, &Json::String(label.clone()))?;
            let (natural, _) = parse_value(v)?;
            feeds.push((t.clone(), natural.convert(t.dtype()).map_err(|e| e.to_string())?));
        }
        // An IndexedSlices is fetched as its three tensors and made dense here,
        // adding no node to the graph.
        let fetched: Vec<&Tensor> = grads
            .iter()
            .flatten()
            .flat_map(|g| match g {
                Gradient::Dense(t) => vec![t],
                Gradient::Indexed(s) => vec![s.values(), s.indices(), s.dense_shape()],
            })
            .collect();
        let feed_refs: Vec<(&Tensor, &Value)> = feeds.iter().map(|(t, v)| (t, v)).collect();
        let got = Session::new(graph).run(&fetched, &feed_refs).map_err(|e| format!("run failed: {e}"))?;
        // Values and run shapes list one entry per x, null where TF returned no gradient.
        let per_x = |key: &str| -> Result<Vec<Json>, Failure> {
            Ok(e.get(key)
                .map(|v| v.as_array().cloned().ok_or(format!("{key} is a list")))
                .transpose()?
                .unwrap_or_default())
        };
        let (values, shapes) = (per_x("values")?, per_x("run_shapes")?);
        let mut got = got.iter();
        for (i, g) in grads.iter().enumerate() {
            let (w, s) = (values.get(i).unwrap_or(&Json::Null), shapes.get(i).unwrap_or(&Json::Null));
            match g {
                None if w.is_null() && s.is_null() => {}
                None => return Err(format!("gradient {i}: TF has a value, scopeflow no gradient")),
                Some(g) => {
                    let v = match g {
                        Gradient::Dense(_) => got.next().ok_or("a value")?.clone(),
                        Gradient::Indexed(_) => {
                            let (values, indices, shape) = (got.next(), got.next(), got.next());
                            let (Some(values), Some(indices), Some(shape)) = (values, indices, shape) else {
                                return Err("three values".into());
                            };
                            dense_rows(values, indices, shape)?
                        }
                    };
                    let v = &v;
                    if !w.is_null() {
                        check_values(i, w, v)?;
                    }
                    if !s.is_null() && usize_list(s)? != v.shape() {
                        return Err(format!("gradient {i} run shape: expected {s}, got {:?}", v.shape()));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The dense value of an IndexedSlices: `values[i]` added into row `indices[i]`.
fn dense_rows(values: &Value, indices: &Value, shape: &Value) -> Result<Value, Failure> {
    let shape: Vec<usize> = shape.to_f64_vec().iter().map(|&d| d as usize).collect();
    let width: usize = shape[1..].iter().product();
    let mut dense = vec![0.0; shape.iter().product()];
    for (i, &row) in indices.to_f64_vec().iter().enumerate() {
        let (row, vals) = (row as usize, values.to_f64_vec());
        for k in 0..width {
            dense[row * width + k] += vals[i * width + k];
        }
    }
    Value::from_f64_data(values.dtype(), &shape, dense).map_err(|e| e.to_string())
}

/// Checks nodes against TF's, in order: name, op type, inputs (control
/// inputs as `^name`) and static outputs; `attrs` are kept for reading only.
fn check_nodes(added: &[scopeflow::NodeInfo], want: &[Json]) -> Result<(), Failure> {
    for (i, w) in want.iter().enumerate() {
        let w = w.as_object().ok_or("a node is an object")?;
        unknown_keys(w, &["name", "op_type", "inputs", "outputs", "attrs"])?;
        let got = added.get(i).ok_or(format!("node {i} ({}) was not added", w.get("name").unwrap_or(&Json::Null)))?;
        check_eq(&format!("node {i} name"), w.get("name"), &got.name)?;
        check_eq(&format!("node {} op_type", got.name), w.get("op_type"), got.op_type)?;
        let inputs: Vec<String> =
            got.inputs.iter().cloned().chain(got.control_inputs.iter().map(|c| format!("^{c}"))).collect();
        let want_inputs: Vec<&str> = w
            .get("inputs")
            .and_then(Json::as_array)
            .ok_or("inputs is a list")?
            .iter()
            .filter_map(Json::as_str)
            .collect();
        if want_inputs != inputs {
            return Err(format!("node {} inputs: expected {want_inputs:?}, got {inputs:?}", got.name));
        }
        for (k, (o, (shape, dtype))) in
            w.get("outputs").and_then(Json::as_array).ok_or("outputs")?.iter().zip(&got.outputs).enumerate()
        {
            check_eq(&format!("node {} output {k} dtype", got.name), o.get("dtype"), dtype.name())?;
            let want_shape = parse_static_shape(o.get("shape").ok_or("an output has a shape")?)?;
            if &want_shape != shape {
                return Err(format!("node {} output {k} shape: expected {want_shape}, got {shape}", got.name));
            }
        }
    }
    if added.len() != want.len() {
        return Err(format!(
            "{} nodes, TF has {}: extra {:?}",
            added.len(),
            want.len(),
            added.get(want.len()..).map(|n| n.iter().map(|n| &n.name).collect::<Vec<_>>())
        ));
    }
    Ok(())
}

/// Builds a `layer` step's `tf.compat.v1.layers` function through `scopeflow::layers`.
fn build_layer(step: &Map<String, Json>, labels: &Labels) -> Result<scopeflow::Result<Tensor>, Failure> {
    use scopeflow::layers::{self, Pair};
    let ty = req_str(step, "type")?;
    let inputs = step.get("inputs").and_then(Json::as_array).ok_or("layer needs `inputs`")?;
    let [x] = inputs.as_slice() else { return Err("a layer takes one input".into()) };
    let x = input(labels, x)?;
    let empty = Map::new();
    let attrs = match step.get("attrs") {
        Some(a) => a.as_object().ok_or("attrs is an object")?,
        None => &empty,
    };
    const WEIGHTS: [&str; 4] = ["kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer"];
    let allowed: Vec<&str> =
        match ty {
            "dense" => [&["units", "activation", "use_bias", "trainable", "name", "reuse"][..], &WEIGHTS].concat(),
            "conv2d" => [
                &[
                    "filters",
                    "kernel_size",
                    "strides",
                    "padding",
                    "dilation_rate",
                    "activation",
                    "use_bias",
                    "trainable",
                ][..],
                &["name", "reuse"],
                &WEIGHTS,
            ]
            .concat(),
            "conv2d_transpose" => [
                &["filters", "kernel_size", "strides", "padding", "activation", "use_bias", "trainable", "name"][..],
                &["reuse"],
                &WEIGHTS,
            ]
            .concat(),
            "flatten" => vec!["name"],
            "max_pooling2d" | "average_pooling2d" => vec!["pool_size", "strides", "padding", "name"],
            "dropout" => vec!["rate", "noise_shape", "seed", "training", "name"],
            "batch_normalization" => vec![
                "axis",
                "momentum",
                "epsilon",
                "center",
                "scale",
                "beta_initializer",
                "gamma_initializer",
                "moving_mean_initializer",
                "moving_variance_initializer",
                "training",
                "trainable",
                "name",
                "reuse",
                "fused",
            ],
            other => return Err(format!("unknown layer `{other}`")),
        };
    if let Some(k) = attrs.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown attr `{k}` for layer `{ty}`"));
    }
    let usize_of = |key: &str| -> Result<usize, Failure> {
        attrs.get(key).and_then(Json::as_u64).map(|n| n as usize).ok_or(format!("`{key}` is a size"))
    };
    let pair = |key: &str| -> Result<Option<Pair>, Failure> {
        match attrs.get(key) {
            None => Ok(None),
            Some(Json::Number(n)) => Ok(Some(Pair::from(n.as_u64().ok_or("a size")? as usize))),
            Some(v) => match usize_list(v)?.as_slice() {
                &[a, b] => Ok(Some(Pair([a, b]))),
                _ => Err(format!("`{key}` is a size or two")),
            },
        }
    };
    let text = |key: &str| attrs.get(key).map(|v| v.as_str().ok_or(format!("`{key}` is a string"))).transpose();
    let flag = |key: &str| attrs.get(key).map(|v| v.as_bool().ok_or(format!("`{key}` is a bool"))).transpose();
    type Act = fn(&Tensor) -> scopeflow::Result<Tensor>;
    let activation = match text("activation")? {
        None => None,
        Some("relu") => Some(scopeflow::relu as Act),
        Some("sigmoid") => Some(scopeflow::sigmoid as Act),
        Some("tanh") => Some(scopeflow::tanh as Act),
        Some(other) => return Err(format!("unknown activation `{other}`")),
    };
    let reuse = match text("reuse")? {
        None | Some("inherit") => None,
        Some("true") => Some(Reuse::True),
        Some("auto") => Some(Reuse::Auto),
        Some(other) => return Err(format!("unknown reuse `{other}`")),
    };
    let init = |key: &str| attrs.get(key).map(parse_init).transpose();
    let reg = |key: &str| -> Result<Option<Regularizer>, Failure> {
        match attrs.get(key) {
            None => Ok(None),
            Some(v) => match v.get("l2").and_then(Json::as_f64) {
                Some(scale) => Ok(Some(Regularizer::L2(scale))),
                None => Err(format!("unknown regularizer {v}")),
            },
        }
    };
    // The options dense and conv2d share, set on builder `$b` when the step gives them.
    macro_rules! weighted {
        ($b:ident) => {{
            let mut b = $b;
            if let Some(f) = activation {
                b = b.activation(f);
            }
            if let Some(u) = flag("use_bias")? {
                b = b.use_bias(u);
            }
            if let Some(t) = flag("trainable")? {
                b = b.trainable(t);
            }
            if let Some(n) = text("name")? {
                b = b.name(n);
            }
            if let Some(r) = reuse {
                b = b.reuse(r);
            }
            if let Some(i) = init("kernel_initializer")? {
                b = b.kernel_initializer(i);
            }
            if let Some(i) = init("bias_initializer")? {
                b = b.bias_initializer(i);
            }
            if let Some(r) = reg("kernel_regularizer")? {
                b = b.kernel_regularizer(r);
            }
            if let Some(r) = reg("bias_regularizer")? {
                b = b.bias_regularizer(r);
            }
            b
        }};
    }
    macro_rules! named_and_padded {
        ($b:expr) => {{
            let mut b = $b;
            if let Some(n) = text("name")? {
                b = b.name(n);
            }
            if let Some(p) = text("padding")? {
                b = b.padding(p);
            }
            b
        }};
    }
    Ok(match ty {
        "dense" => {
            let b = layers::dense(&x, usize_of("units")?);
            weighted!(b).build()
        }
        "conv2d" => {
            let mut b =
                layers::conv2d(&x, usize_of("filters")?, pair("kernel_size")?.ok_or("conv2d needs kernel_size")?);
            if let Some(s) = pair("strides")? {
                b = b.strides(s);
            }
            if let Some(d) = pair("dilation_rate")? {
                b = b.dilation_rate(d);
            }
            if let Some(p) = text("padding")? {
                b = b.padding(p);
            }
            weighted!(b).build()
        }
        "conv2d_transpose" => {
            let mut b =
                layers::conv2d_transpose(&x, usize_of("filters")?, pair("kernel_size")?.ok_or("needs kernel_size")?);
            if let Some(s) = pair("strides")? {
                b = b.strides(s);
            }
            if let Some(p) = text("padding")? {
                b = b.padding(p);
            }
            weighted!(b).build()
        }
        "flatten" => {
            let mut b = layers::flatten(&x);
            if let Some(n) = text("name")? {
                b = b.name(n);
            }
            b.build()
        }
        "max_pooling2d" => {
            let (size, strides) =
                (pair("pool_size")?.ok_or("needs pool_size")?, pair("strides")?.ok_or("needs strides")?);
            named_and_padded!(layers::max_pooling2d(&x, size, strides)).build()
        }
        "average_pooling2d" => {
            let (size, strides) =
                (pair("pool_size")?.ok_or("needs pool_size")?, pair("strides")?.ok_or("needs strides")?);
            named_and_padded!(layers::average_pooling2d(&x, size, strides)).build()
        }
        "dropout" => {
            let mut b = layers::dropout(&x);
            if let Some(r) = attrs.get("rate") {
                b = b.rate(r.as_f64().ok_or("rate is a number")?);
            }
            if let Some(n) = attrs.get("noise_shape") {
                let entries = n.as_array().ok_or("noise_shape is a list")?;
                let dims: Vec<Option<usize>> = entries
                    .iter()
                    .map(|d| match d {
                        Json::Null => Ok(None),
                        d => d.as_u64().map(|d| Some(d as usize)).ok_or("noise_shape holds sizes and nulls"),
                    })
                    .collect::<Result<_, _>>()?;
                b = b.noise_shape(dims);
            }
            if let Some(s) = attrs.get("seed") {
                b = b.seed(s.as_u64().ok_or("seed is a non-negative integer")?);
            }
            match attrs.get("training") {
                None => {}
                Some(Json::Bool(t)) => b = b.training(*t),
                Some(l) => b = b.training(&input(labels, l)?),
            }
            if let Some(n) = text("name")? {
                b = b.name(n);
            }
            b.build()
        }
        "batch_normalization" => {
            let mut b = layers::batch_normalization(&x);
            let number =
                |key: &str| attrs.get(key).map(|v| v.as_f64().ok_or(format!("`{key}` is a number"))).transpose();
            if let Some(a) = attrs.get("axis") {
                b = b.axis(a.as_i64().ok_or("axis is an integer")?);
            }
            if let Some(m) = number("momentum")? {
                b = b.momentum(m);
            }
            if let Some(e) = number("epsilon")? {
                b = b.epsilon(e);
            }
            if let Some(c) = flag("center")? {
                b = b.center(c);
            }
            if let Some(s) = flag("scale")? {
                b = b.scale(s);
            }
            if let Some(f) = flag("fused")? {
                b = b.fused(f);
            }
            if let Some(t) = flag("trainable")? {
                b = b.trainable(t);
            }
            if let Some(n) = text("name")? {
                b = b.name(n);
            }
            if let Some(r) = reuse {
                b = b.reuse(r);
            }
            if let Some(i) = init("beta_initializer")? {
                b = b.beta_initializer(i);
            }
            if let Some(i) = init("gamma_initializer")? {
                b = b.gamma_initializer(i);
            }
            if let Some(i) = init("moving_mean_initializer")? {
                b = b.moving_mean_initializer(i);
            }
            if let Some(i) = init("moving_variance_initializer")? {
                b = b.moving_variance_initializer(i);
            }
            match attrs.get("training") {
                None => {}
                Some(Json::Bool(t)) => b = b.training(*t),
                Some(l) => b = b.training(&input(labels, l)?),
            }
            b.build()
        }
        _ => unreachable!("checked above"),
    })
}

/// Checks the variables a `layer` step created against the recorded ones:
/// names, shapes, dtypes, trainable, and values where recorded.
fn check_layer_variables(got: &[Variable], want: Option<&Json>) -> Result<(), Failure> {
    let Some(want) = want else { return Ok(()) };
    let want = want.as_array().ok_or("variables is a list")?;
    let names = |vs: &[Variable]| vs.iter().map(|v| v.name().to_owned()).collect::<Vec<_>>();
    if want.len() != got.len() {
        return Err(format!("variables: expected {want:?}, got {:?}", names(got)));
    }
    for (w, v) in want.iter().zip(got) {
        let mut w = w.as_object().ok_or("a variable is an object")?.clone();
        if let Some(t) = w.remove("trainable")
            && t.as_bool() != Some(v.trainable())
        {
            return Err(format!("variable `{}`: trainable expected {t}, got {}", v.name(), v.trainable()));
        }
        check_variable(v, &w, &Labels::default()).map_err(|e| format!("variable `{}`: {e}", v.name()))?;
    }
    Ok(())
}

/// A cell of an `rnn` step from its spec (`{"type": "lstm", "num_units": 4, …}`).
fn build_cell(spec: &Json) -> Result<Box<dyn scopeflow::rnn::RnnCell>, Failure> {
    use scopeflow::rnn::{BasicLSTMCell, BasicRNNCell, DropoutWrapper, GRUCell, LSTMCell, MultiRNNCell};
    let spec = spec.as_object().ok_or("a cell is an object")?;
    let ty = req_str(spec, "type")?;
    let allowed: &[&str] = match ty {
        "basic_rnn" => &["num_units", "name"],
        "basic_lstm" => &["num_units", "forget_bias", "name"],
        "lstm" => {
            &["num_units", "use_peepholes", "cell_clip", "num_proj", "proj_clip", "forget_bias", "name", "initializer"]
        }
        "gru" => &["num_units", "name", "kernel_initializer", "bias_initializer"],
        "multi" => &["cells"],
        "dropout" => &["cell", "input_keep_prob", "output_keep_prob", "state_keep_prob"],
        other => return Err(format!("unknown cell `{other}`")),
    };
    if let Some(k) = spec.keys().find(|k| k.as_str() != "type" && !allowed.contains(&k.as_str())) {
        return Err(format!("unknown attr `{k}` for cell `{ty}`"));
    }
    let units = || spec.get("num_units").and_then(Json::as_u64).map(|n| n as usize).ok_or("`num_units` is a size");
    let float = |k: &str| spec.get(k).map(|v| v.as_f64().ok_or(format!("`{k}` is a number"))).transpose();
    let name = spec.get("name").map(|n| n.as_str().ok_or("`name` is a string")).transpose()?;
    Ok(match ty {
        "basic_rnn" => {
            let mut c = BasicRNNCell::new(units()?);
            if let Some(n) = name {
                c = c.name(n);
            }
            Box::new(c)
        }
        "basic_lstm" => {
            let mut c = BasicLSTMCell::new(units()?);
            if let Some(f) = float("forget_bias")? {
                c = c.forget_bias(f);
            }
            if let Some(n) = name {
                c = c.name(n);
            }
            Box::new(c)
        }
        "lstm" => {
            let mut c = LSTMCell::new(units()?);
            if let Some(p) = spec.get("use_peepholes") {
                c = c.use_peepholes(p.as_bool().ok_or("`use_peepholes` is a bool")?);
            }
            if let Some(f) = float("cell_clip")? {
                c = c.cell_clip(f);
            }
            if let Some(p) = spec.get("num_proj") {
                c = c.num_proj(p.as_u64().ok_or("`num_proj` is a size")? as usize);
            }
            if let Some(f) = float("proj_clip")? {
                c = c.proj_clip(f);
            }
            if let Some(f) = float("forget_bias")? {
                c = c.forget_bias(f);
            }
            if let Some(i) = spec.get("initializer") {
                c = c.initializer(parse_init(i)?);
            }
            if let Some(n) = name {
                c = c.name(n);
            }
            Box::new(c)
        }
        "gru" => {
            let mut c = GRUCell::new(units()?);
            if let Some(i) = spec.get("kernel_initializer") {
                c = c.kernel_initializer(parse_init(i)?);
            }
            if let Some(i) = spec.get("bias_initializer") {
                c = c.bias_initializer(parse_init(i)?);
            }
            if let Some(n) = name {
                c = c.name(n);
            }
            Box::new(c)
        }
        "multi" => {
            let cells = spec.get("cells").and_then(Json::as_array).ok_or("`cells` is a list")?;
            Box::new(MultiRNNCell::new(cells.iter().map(build_cell).collect::<Result<_, _>>()?))
        }
        "dropout" => {
            let mut c = DropoutWrapper::new(build_cell(spec.get("cell").ok_or("dropout needs `cell`")?)?);
            if let Some(p) = float("input_keep_prob")? {
                c = c.input_keep_prob(p);
            }
            if let Some(p) = float("output_keep_prob")? {
                c = c.output_keep_prob(p);
            }
            if let Some(p) = float("state_keep_prob")? {
                c = c.state_keep_prob(p);
            }
            Box::new(c)
        }
        _ => unreachable!("checked above"),
    })
}

/// An `rnn` step: `dynamic_rnn` or `static_rnn` of a cell; its outputs and flattened final state.
#[allow(clippy::type_complexity)] // the two results of a step that may fail in two ways
fn build_rnn(
    step: &Map<String, Json>,
    labels: &Labels,
) -> Result<scopeflow::Result<(Vec<Tensor>, Vec<Tensor>)>, Failure> {
    use scopeflow::rnn;
    let cell = build_cell(step.get("cell").ok_or("rnn needs `cell`")?)?;
    let inputs: Vec<Tensor> = step
        .get("inputs")
        .and_then(Json::as_array)
        .ok_or("rnn needs `inputs`")?
        .iter()
        .map(|l| input(labels, l))
        .collect::<Result<_, _>>()?;
    let empty = Map::new();
    let attrs = match step.get("attrs") {
        Some(a) => a.as_object().ok_or("attrs is an object")?,
        None => &empty,
    };
    if let Some(k) = attrs.keys().find(|k| !["sequence_length", "scope", "time_major"].contains(&k.as_str())) {
        return Err(format!("unknown attr `{k}` for rnn"));
    }
    let lengths = attrs.get("sequence_length").map(|l| input(labels, l)).transpose()?;
    let scope = attrs.get("scope").map(|s| s.as_str().ok_or("`scope` is a string")).transpose()?;
    Ok(match req_str(step, "driver")? {
        "dynamic_rnn" => {
            let [x] = inputs.as_slice() else { return Err("dynamic_rnn takes one input".into()) };
            let mut b = rnn::dynamic_rnn(cell.as_ref(), x);
            if let Some(l) = &lengths {
                b = b.sequence_length(l);
            }
            if let Some(s) = scope {
                b = b.scope(s);
            }
            if let Some(t) = attrs.get("time_major") {
                b = b.time_major(t.as_bool().ok_or("`time_major` is a bool")?);
            }
            b.build().map(|(out, state)| (vec![out], state.flatten()))
        }
        "static_rnn" => {
            let mut b = rnn::static_rnn(cell.as_ref(), &inputs);
            if let Some(l) = &lengths {
                b = b.sequence_length(l);
            }
            if let Some(s) = scope {
                b = b.scope(s);
            }
            b.build().map(|(outs, state)| (outs, state.flatten()))
        }
        other => return Err(format!("unknown rnn driver `{other}`")),
    })
}
