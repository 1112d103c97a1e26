//! Rules across a `#[scoped]` use: each `fn check_…` catches one mistake.

use super::parse::Args;
use crate::common::{Errors, ReuseMode, invalid_scope_name};
use syn::{FnArg, ItemFn, Pat};

pub(crate) fn all(errors: &Errors, args: &Args, func: &ItemFn) {
    check_async(errors, func);
    check_names(errors, args);
    check_scope_param(errors, args, func);
    check_reuse_on_default_name(errors, args, func);
    check_name_scope_options(errors, args);
}

/// `#[scoped] async fn f()`: a scope guard cannot be held across `.await`.
fn check_async(errors: &Errors, func: &ItemFn) {
    if let Some(a) = &func.sig.asyncness {
        errors.at(
            a,
            "#[scoped] cannot wrap an async fn: scopes belong to one thread and cannot be held across `.await`; \
             enter the scope in a synchronous function that builds the graph",
        );
    }
}

/// `#[scoped("a b")]`, `#[scoped("")]`: names TensorFlow would reject.
fn check_names(errors: &Errors, args: &Args) {
    let names = args.name.iter().chain(args.name_scope.as_ref().and_then(|(_, n)| n.as_ref()));
    for lit in names {
        if let Some(why) = invalid_scope_name(&lit.value()) {
            errors.at(lit, why);
        }
    }
}

/// `#[scoped(scope = nme)]` on `fn f(x, name)`: the parameter must exist; and a
/// fixed name and a scope parameter exclude each other.
fn check_scope_param(errors: &Errors, args: &Args, func: &ItemFn) {
    let Some(param) = &args.scope_param else { return };
    if let Some(name) = &args.name {
        errors.at(name, "give the scope either a fixed name or `scope = param`, not both");
    }
    let params: Vec<String> = func
        .sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) => Some(p.ident.to_string()),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    if !params.iter().any(|p| param == p) {
        let hint = match crate::lexicon::closest(&param.to_string(), params.iter().map(String::as_str)) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => String::new(),
        };
        errors.at(param, format!("`{param}` is not a parameter of `fn {}`{hint}", func.sig.ident));
    }
}

/// `#[scoped(reuse = auto)]` with no fixed name: every call opens a fresh
/// default-named scope, so nothing is shared (TensorFlow rejects it at run time).
fn check_reuse_on_default_name(errors: &Errors, args: &Args, func: &ItemFn) {
    let Some(reuse) = &args.reuse else { return };
    if reuse.mode == ReuseMode::Inherit
        || args.name.is_some()
        || args.scope_param.is_some()
        || args.name_scope.is_some()
    {
        return;
    }
    let mode = if reuse.mode == ReuseMode::Auto { "auto" } else { "true" };
    let f = &func.sig.ident;
    errors.at_span(
        reuse.span,
        format!(
            "`reuse = {mode}` needs a fixed scope name: without one every call opens a fresh scope \
             (`{f}`, `{f}_1`, …) so nothing would be shared, and TensorFlow rejects it at run time; \
             name the scope: #[scoped(\"{f}\", reuse = {mode})]"
        ),
    );
}

/// `#[scoped(name_scope, reuse = true)]`: name scopes only group ops.
fn check_name_scope_options(errors: &Errors, args: &Args) {
    if args.name_scope.is_none() {
        return;
    }
    let msg = |what: &str| format!("`{what}` applies to variable scopes; a name scope only groups ops");
    if let Some(r) = &args.reuse {
        errors.at_span(r.span, msg("reuse"));
    }
    if let Some((span, _)) = &args.initializer {
        errors.at_span(*span, msg("initializer"));
    }
    if let Some(d) = &args.dtype {
        errors.at_span(d.span, msg("dtype"));
    }
    if let Some(p) = &args.scope_param {
        errors.at(p, msg("scope"));
    }
    if let (Some(name), Some((_, Some(_)))) = (&args.name, &args.name_scope) {
        errors.at(name, "give the name scope one name: #[scoped(name_scope = \"loss\")]");
    }
}
