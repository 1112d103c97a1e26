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
        check_variable_before_scope(errors, &m.block, &full_prefix(m));
        check_struct_names(errors, m, &m.block, &name_of(&m.name), &mut HashMap::new());
        check_field_names(errors, &m.block, &name_of(&m.name));
        check_constraint_on_shared(errors, &m.block, &full_prefix(m), ReuseMode::Inherit, &m.options);
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
/// (TensorFlow: "Variable … already exists"). A variable and a scope block may
/// share a name (`table` and `table/Momentum`), as TensorFlow's slots do.
fn check_block(errors: &Errors, m: &Model, block: &Block, prefix: &str) {
    let mut seen: HashMap<String, Vec<&Item>> = HashMap::new();
    for item in &block.items {
        let name = name_of(item.name());
        let full = format!("{prefix}/{name}");
        if let Some(why) = invalid_scope_name(&name) {
            errors.at(item.name(), why);
        }
        let earlier = seen.entry(name.clone()).or_default();
        let variable_and_scope = |a: &Item, b: &Item| {
            matches!((a, b), (Item::Var(_), Item::Scope { .. }) | (Item::Scope { .. }, Item::Var(_)))
        };
        match earlier.iter().find(|first| !variable_and_scope(first, item)) {
            Some(Item::Var(_)) if matches!(item, Item::Var(_)) => {
                errors.at(item.name(), format!("variable `{full}` is declared twice in this scope"))
            }
            Some(_) => errors.at(
                item.name(),
                format!(
                    "`{name}` is declared twice in scope `{prefix}`; each field of `{}` needs its own name",
                    m.name
                ),
            ),
            None => earlier.push(item),
        }
        if let Item::Scope { block, .. } = item {
            check_block(errors, m, block, &full);
        }
    }
}

/// `table { Momentum: [10, 4] }` before `table: [10, 4]`: the scope takes the
/// name `table` first, so TensorFlow names the variable `table_1`, not what
/// `VARIABLES` and a checkpoint expect. Slots come after their variable.
fn check_variable_before_scope(errors: &Errors, block: &Block, prefix: &str) {
    for (i, item) in block.items.iter().enumerate() {
        if let Item::Var(v) = item {
            let name = name_of(&v.name);
            let same_name: Vec<&Item> = block.items[..i].iter().filter(|e| name_of(e.name()) == name).collect();
            let after_scope = same_name.iter().any(|e| matches!(e, Item::Scope { .. }));
            // A variable declared twice is `check_block`'s.
            let repeated = same_name.iter().any(|e| matches!(e, Item::Var(_)));
            if after_scope && !repeated {
                errors.at(
                    &v.name,
                    format!(
                        "variable `{prefix}/{name}` comes after scope block `{name}`, which takes the name first: \
                         TensorFlow would name the variable `{prefix}/{name}_1`; declare `{name}: [...]` before `{name} {{ … }}`"
                    ),
                );
            }
        }
        if let Item::Scope { name, block: inner, .. } = item {
            check_variable_before_scope(errors, inner, &format!("{prefix}/{}", name_of(name)));
        }
    }
}

/// `struct Eval in "MLP" (reuse = true) { kernel: [2, 2] (constraint = c) }`:
/// under `reuse = true` the variable is only shared, and keeps the constraint
/// it was created with (TensorFlow ignores a constraint given when sharing),
/// so this one would never be applied.
fn check_constraint_on_shared(errors: &Errors, block: &Block, prefix: &str, parent: ReuseMode, options: &Options) {
    let reuse = options.reuse.as_ref().map_or(parent, |r| if r.mode == ReuseMode::Inherit { parent } else { r.mode });
    for item in &block.items {
        match item {
            Item::Var(v) if reuse == ReuseMode::True => {
                if let Some(c) = &v.constraint {
                    errors.at(
                        c,
                        format!(
                            "the constraint of `{prefix}/{}` would be ignored: under `reuse = true` it is only shared, \
                             and a shared variable keeps the constraint it was created with; give the constraint \
                             where the variable is created",
                            name_of(&v.name)
                        ),
                    );
                }
            }
            Item::Scope { name, options, block } => {
                check_constraint_on_shared(errors, block, &format!("{prefix}/{}", name_of(name)), reuse, options)
            }
            _ => {}
        }
    }
}

/// `table: [10, 4]`, `table { Momentum: [10, 4] }` and `table_scope: [2]`:
/// the scope block's field is `table_scope` (beside variable `table`), and so
/// is the other variable's.
fn check_field_names(errors: &Errors, block: &Block, struct_name: &str) {
    let mut seen: HashMap<String, &Item> = HashMap::new();
    for item in &block.items {
        let field = block.field(item).to_string();
        match seen.get(&field) {
            // The same name twice is `check_block`'s.
            Some(first) if name_of(first.name()) != name_of(item.name()) => {
                let what = |i: &Item| match i {
                    Item::Scope { name, .. } if block.field(i) != *name => {
                        format!("scope block `{name}` (beside variable `{name}`)")
                    }
                    _ => format!("`{}`", name_of(i.name())),
                };
                errors.at(
                    item.name(),
                    format!(
                        "field `{field}` of `{struct_name}` would stand for both {} and {}; rename one",
                        what(first),
                        what(item)
                    ),
                );
            }
            Some(_) => {}
            None => {
                seen.insert(field, item);
            }
        }
        if let Item::Scope { name, block: inner, .. } = item {
            check_field_names(errors, inner, &format!("{struct_name}{}", camel_case(&name_of(name))));
        }
    }
}

/// `layer_1 { … }` and `layer1 { … }` in one model: both would be struct `MlpLayer1`.
fn check_struct_names(errors: &Errors, m: &Model, block: &Block, parent: &str, seen: &mut HashMap<String, String>) {
    for item in &block.items {
        if let Item::Scope { name, block, .. } = item {
            let child = format!("{parent}{}", camel_case(&name_of(name)));
            // Blocks of one name are `check_block`'s (or follow a collision of their parents).
            if let Some(first) = seen.insert(child.clone(), name_of(name))
                && first != name_of(name)
            {
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
