//! `#[scoped]` → the same function with a scope guard as its first statement.

use super::parse::Args;
use proc_macro2::Span;
use quote::{quote, quote_spanned};
use syn::{Ident, ItemFn, ReturnType, Type};

/// Whether the function returns a `Result` (then entering errors are returned with `?`).
fn returns_result(func: &ItemFn) -> bool {
    match &func.sig.output {
        ReturnType::Type(_, ty) => match &**ty {
            // `Result`, `io::Result`, or an alias such as `MyResult`.
            Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("Result")),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

pub(crate) fn function(args: &Args, mut func: ItemFn) -> ItemFn {
    let fn_name = crate::common::name_of(&func.sig.ident);
    let span = Span::call_site();
    let builder = match &args.name_scope {
        Some((kw_span, name)) => {
            let name = name.as_ref().map_or_else(|| quote_spanned!(*kw_span=> #fn_name), |n| quote!(#n));
            quote_spanned!(*kw_span=> ::scopeflow::__private::name_scope(#name))
        }
        None => {
            let arg = match (&args.scope_param, &args.name) {
                (Some(p), _) => quote_spanned!(p.span()=> ::scopeflow::__private::scope_arg(&#p)),
                (None, Some(n)) => quote_spanned!(n.span()=> ::scopeflow::__private::ScopeArg::Name(#n)),
                (None, None) => quote_spanned!(span=> ::scopeflow::__private::ScopeArg::Unnamed),
            };
            let mut b = quote_spanned!(span=> ::scopeflow::__private::variable_scope(#arg).default_name(#fn_name));
            if let Some(r) = &args.reuse {
                let r = r.tokens();
                b = quote!(#b.reuse(#r));
            }
            if let Some((_, init)) = &args.initializer {
                let init = init.tokens();
                b = quote!(#b.initializer(#init));
            }
            if let Some(d) = &args.dtype {
                let d = d.tokens();
                b = quote!(#b.dtype(#d));
            }
            b
        }
    };
    let enter = if returns_result(&func) {
        quote_spanned!(span=> #builder.enter()?)
    } else {
        quote_spanned!(span=> ::scopeflow::__private::enter_or_panic(#builder.enter()))
    };
    let guard = Ident::new("__scopeflow_scope", Span::mixed_site());
    let stmt: syn::Stmt = syn::parse_quote_spanned!(span=> let #guard = #enter;);
    func.block.stmts.insert(0, stmt);
    func
}
