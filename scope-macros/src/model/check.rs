//! Rules across a whole `model!` input: each `fn check_…` catches one mistake
//! that TensorFlow would only report at run time.

use super::parse::{Block, Dim, Item, Model, Options, Var};
use crate::common::{Errors, ReuseMode, camel_case, invalid_scope_name, name_of};
use crate::lexicon::closest;
use std::collections::{HashMap, HashSet};

pub(crate) fn all(errors: &Errors, models: &[Model]) {
    for m in models {
        check_scope_name(errors, m);
        check_reuse_needs_a_name(errors, m);
        check_params(errors, m);
        check_block(errors, m, &m.block, &full_prefix(m));
        check_struct_names(errors, m, &m.block, &name_of(&m.name), &mut HashMap::new());
    }
    check_sharing(errors, models);
}

fn full_prefix(m: &Model) -> String {
    m.scope.as_ref().map_or_else(|| crate::common::snake_case(&name_of(&m.name)), |s| s.value())
}

/// `struct Mlp in "a b"`, `in ""`: names TensorFlow would reject.
fn check_scope_name(errors: &Errors, m: &Model) {
    if let Some(lit) = &m.scope
        && let Some(why) = invalid_scope_name(&lit.value())
    {
        errors.at(lit, why);
    }
}

/// `struct Tower (reuse = auto) { … }` without `in "name"`: each build opens a
/// fresh default-named scope, so nothing would be shared.
fn check_reuse_needs_a_name(errors: &Errors, m: &Model) {
    if m.scope.is_some() {
        return;
    }
    if let Some(r) = m.options.reuse.as_ref().filter(|r| r.mode != ReuseMode::Inherit) {
        let mode = if r.mode == ReuseMode::Auto { "auto" } else { "true" };
        let snake = crate::common::snake_case(&name_of(&m.name));
        errors.at_span(
            r.span,
            format!(
                "`reuse = {mode}` needs a fixed scope name: without `in \"…\"` every build opens a fresh scope \
                 (`{snake}`, `{snake}_1`, …) so nothing would be shared; write `struct {} in \"{snake}\" (reuse = {mode})`",
                m.name
            ),
        );
    }
}

/// `kernel: [inputs, unit]` in `struct Dense(inputs, units)`: every named
/// dimension must be a parameter, and parameters are distinct.
fn check_params(errors: &Errors, m: &Model) {
    let mut seen = HashSet::new();
    for p in &m.params {
        if !seen.insert(p.to_string()) {
            errors.at(p, format!("parameter `{p}` of `{}` is declared twice", m.name));
        }
    }
    let params: Vec<String> = m.params.iter().map(ToString::to_string).collect();
    visit_vars(&m.block, &mut |v| {
        for d in &v.shape {
            if let Dim::Param(p) = d
                && !params.iter().any(|q| p == q)
            {
                let hint = match closest(&p.to_string(), params.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("declare it: `struct {}({p})`", m.name),
                };
                errors.at(p, format!("`{p}` is not a parameter of `{}`; {hint}", m.name));
            }
        }
    });
}

fn visit_vars<'a>(block: &'a Block, f: &mut impl FnMut(&'a Var)) {
    for item in &block.items {
        match item {
            Item::Var(v) => f(v),
            Item::Scope { block, .. } => visit_vars(block, f),
            Item::Model { .. } => {}
        }
    }
}

/// `layer1 { kernel: [2, 2], kernel: [2, 2] }`: a name declared twice in one scope
/// (TensorFlow: "Variable … already exists").
fn check_block(errors: &Errors, m: &Model, block: &Block, prefix: &str) {
    let mut seen: HashMap<String, &Item> = HashMap::new();
    for item in &block.items {
        let name = name_of(item.name());
        let full = format!("{prefix}/{name}");
        if let Some(why) = invalid_scope_name(&name) {
            errors.at(item.name(), why);
        }
        if let Some(first) = seen.get(&name) {
            match (first, item) {
                (Item::Var(_), Item::Var(_)) => {
                    errors.at(item.name(), format!("variable `{full}` is declared twice in this scope"))
                }
                _ => errors.at(
                    item.name(),
                    format!(
                        "`{name}` is declared twice in scope `{prefix}`; each field of `{}` needs its own name",
                        m.name
                    ),
                ),
            }
        } else {
            seen.insert(name, item);
        }
        if let Item::Scope { block, .. } = item {
            check_block(errors, m, block, &full);
        }
    }
}

/// `layer_1 { … }` and `layer1 { … }` in one model: both would be struct `MlpLayer1`.
fn check_struct_names(errors: &Errors, m: &Model, block: &Block, parent: &str, seen: &mut HashMap<String, String>) {
    for item in &block.items {
        if let Item::Scope { name, block, .. } = item {
            let child = format!("{parent}{}", camel_case(&name_of(name)));
            if let Some(first) = seen.insert(child.clone(), name_of(name)) {
                errors.at(
                    name,
                    format!(
                        "scope blocks `{first}` and `{}` of `{}` would both be struct `{child}`; rename one",
                        name_of(name),
                        m.name
                    ),
                );
            }
            check_struct_names(errors, m, block, &child, seen);
        }
    }
}

/// One declaration of a variable, with what it inherits.
struct Decl<'a> {
    var: &'a Var,
    reuse: ReuseMode,
    dtype: &'static str,
}

/// `struct Eval in "MLP" (reuse = true) { layer1 { kernal: [784, 64] } }`:
/// a shared variable that this input never creates (TensorFlow: "does not
/// exist"), or one shared with another shape or dtype (TensorFlow: "Trying to
/// share variable …"). Only scopes this input creates variables in are
/// checked: others may come from elsewhere.
fn check_sharing(errors: &Errors, models: &[Model]) {
    let mut decls: Vec<(String, Decl<'_>)> = Vec::new();
    for m in models.iter().filter(|m| m.scope.is_some()) {
        collect(&m.block, &full_prefix(m), ReuseMode::Inherit, "F32", &m.options, &mut decls);
    }
    let mut created: HashMap<&str, &Decl<'_>> = HashMap::new();
    let mut created_roots: HashSet<&str> = HashSet::new();
    for (name, d) in &decls {
        if d.reuse != ReuseMode::True {
            created.entry(name.as_str()).or_insert(d);
            created_roots.insert(name.split('/').next().unwrap_or(""));
        }
    }
    for (name, d) in &decls {
        let first = match created.get(name.as_str()) {
            Some(first) if std::ptr::eq(first.var, d.var) => continue,
            Some(first) => first,
            None if d.reuse == ReuseMode::True && created_roots.contains(name.split('/').next().unwrap_or("")) => {
                let hint = match closest(name, created.keys().copied()) {
                    Some(close) => format!("did you mean `{close}`? "),
                    None => String::new(),
                };
                errors.at(
                    &d.var.name,
                    format!(
                        "`reuse = true` shares `{name}`, but this `model!` input never creates it \
                         (TensorFlow: variable does not exist); {hint}use `reuse = auto` to create it when missing"
                    ),
                );
                continue;
            }
            None => continue,
        };
        // A declaration that did not parse in full has its own error; comparing it would add a false one.
        if d.reuse == ReuseMode::Inherit || !(first.var.complete && d.var.complete) {
            continue;
        }
        let (a, b) = (&first.var.shape, &d.var.shape);
        let lits = |s: &[Dim]| {
            s.iter()
                .map(|x| match x {
                    Dim::Lit(l) => l.base10_parse::<u64>().ok(),
                    Dim::Param(_) => None,
                })
                .collect::<Vec<_>>()
        };
        let (la, lb) = (lits(a), lits(b));
        let differs =
            la.len() != lb.len() || la.iter().zip(&lb).any(|(x, y)| matches!((x, y), (Some(x), Some(y)) if x != y));
        if differs {
            errors.at_span(
                d.var.shape_span,
                format!(
                    "`{name}` is shared with shape {} but was declared with shape {} (TensorFlow: \"Trying to share \
                     variable {name}, but specified shape …\"); use the same shape",
                    show(&lb),
                    show(&la)
                ),
            );
        }
        if first.dtype != d.dtype {
            let span = d.var.dtype.as_ref().map_or(d.var.name.span(), |x| x.span);
            errors.at_span(
                span,
                format!(
                    "`{name}` is shared as {} but was declared as {} (TensorFlow: \"Trying to share variable {name}, \
                     but specified dtype …\"); use the same dtype",
                    d.dtype.to_lowercase(),
                    first.dtype.to_lowercase()
                ),
            );
        }
    }
}

fn show(dims: &[Option<u64>]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.map_or_else(|| "_".to_owned(), |d| d.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

fn collect<'a>(
    block: &'a Block,
    prefix: &str,
    parent: ReuseMode,
    parent_dtype: &'static str,
    options: &Options,
    out: &mut Vec<(String, Decl<'a>)>,
) {
    let reuse = match options.reuse.as_ref().map(|r| r.mode) {
        Some(ReuseMode::True) => ReuseMode::True,
        Some(ReuseMode::Auto) => ReuseMode::Auto,
        _ => parent,
    };
    let dtype = options.dtype.as_ref().map_or(parent_dtype, |d| d.variant);
    for item in &block.items {
        match item {
            Item::Var(v) => {
                let d = v.dtype.as_ref().map_or(dtype, |d| d.variant);
                out.push((format!("{prefix}/{}", name_of(&v.name)), Decl { var: v, reuse, dtype: d }));
            }
            Item::Scope { name, options, block } => {
                collect(block, &format!("{prefix}/{}", name_of(name)), reuse, dtype, options, out)
            }
            Item::Model { .. } => {}
        }
    }
}
