//! `model!` → one struct of variable handles per block, and `build` / `build_in`
//! that create or share every variable through the runtime.

use super::parse::{Block, Dim, Item, Model, Options, Var};
use crate::common::{camel_case, name_of, snake_case};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, LitStr};

pub(crate) fn models(models: &[Model], ok: bool) -> TokenStream {
    models.iter().map(|m| model(m, models, ok)).collect()
}

/// A model's structs and their `impl`. When the input has mistakes (`ok` is
/// false) the `impl` keeps its signatures but its bodies cannot run, so that
/// uses of the model type-check and the caller sees only the real mistakes.
fn model(m: &Model, all: &[Model], ok: bool) -> TokenStream {
    let (attrs, vis, name) = (&m.attrs, &m.vis, &m.name);
    let mut nested = TokenStream::new();
    let fields = fields(&m.block, &name_of(name), m, &mut nested, &mut std::collections::HashSet::new());
    let allow = allow_tensorflow_spelling(&m.block);
    let mut out = quote! {
        #(#attrs)*
        #[derive(Clone, Debug)]
        #allow
        #vis struct #name { #fields }
        #nested
    };
    let snake = snake_case(&name_of(name));
    let relative = variable_names(m, all, 0);
    let names: Vec<String> = match &m.scope {
        Some(s) => relative.iter().map(|n| format!("{}/{n}", s.value())).collect(),
        None => relative,
    };
    let scope_doc = match &m.scope {
        Some(s) => format!(
            "Creates or shares every variable of [`{name}`] in variable scope `{}`, inside the current scope.",
            s.value()
        ),
        None => format!(
            "Creates every variable of [`{name}`] in a fresh default-named scope (`{snake}`, `{snake}_1`, …) inside the current scope."
        ),
    };
    let scope_param = Ident::new("scope", Span::mixed_site());
    let scope_type = Ident::new("S", Span::mixed_site());
    let (build_params, build_in_params, build_body, build_in_body);
    let mut helpers = TokenStream::new();
    if ok {
        let params = &m.params;
        let scope_expr = match &m.scope {
            Some(lit) => quote!(#lit),
            None => quote!(::core::option::Option::None::<&str>),
        };
        let guard = Ident::new("__scopeflow_scope", Span::mixed_site());
        let opts = options(&m.options);
        let mut stmts = Vec::new();
        let (literal, _) = build_block(&m.block, name, &mut stmts, &mut 0);
        let stmts = chunked(stmts, params, &mut helpers);
        build_params = quote!(#(#params: usize),*);
        build_in_params = quote!(#scope_param: &#scope_type #(, #params: usize)*);
        build_body = quote!(Self::build_in(&#scope_expr #(, #params)*));
        build_in_body = quote! {
            let #guard = ::scopeflow::__private::variable_scope(::scopeflow::__private::scope_arg(#scope_param))
                .default_name(#snake)
                #opts
                .enter()?;
            #stmts
            ::core::result::Result::Ok(#literal)
        };
    } else {
        // The same signatures with unnamed parameters (their names may be the mistake).
        let params = m.params.iter().map(|_| quote!(_: usize));
        build_params = quote!(#(#params),*);
        let params = m.params.iter().map(|_| quote!(_: usize));
        build_in_params = quote!(_: &#scope_type #(, #params)*);
        build_body = quote!(::core::unreachable!("model! input has errors"));
        build_in_body = build_body.clone();
    }
    out.extend(quote! {
        impl #name {
            /// The variables `build` creates or shares, named relative to the scope it runs in
            /// (for a model without `in "…"`, relative to its own scope).
            pub const VARIABLES: &'static [&'static str] = &[#(#names),*];

            #[doc = #scope_doc]
            ///
            /// # Errors
            ///
            /// Those of `get_variable` and `variable_scope`, such as a variable that
            /// exists without `reuse`, or does not exist under `reuse = true`.
            #[track_caller]
            #[allow(clippy::too_many_arguments)] // one per model parameter
            pub fn build(#build_params) -> ::scopeflow::__private::ScopeResult<Self> {
                #build_body
            }

            /// Like `build`, in the given scope instead of the declared one (a name,
            /// a captured `VariableScope`, or `None` for a fresh default-named scope).
            ///
            /// # Errors
            ///
            /// As for `build`.
            #[track_caller]
            #[allow(clippy::too_many_arguments)] // one per model parameter, and the scope
            pub fn build_in<#scope_type>(#build_in_params) -> ::scopeflow::__private::ScopeResult<Self>
            where
                #scope_type: ::scopeflow::__private::AsScopeArg + ?::core::marker::Sized,
            {
                #build_in_body
            }

            #helpers
        }
    });
    out
}

/// `#[allow(non_snake_case)]` for a struct with a field spelled as the
/// TensorFlow name it stands for (`W`, `Momentum`), which is the user's choice
/// (rustc checks field names where the struct is, so it cannot go on the field).
fn allow_tensorflow_spelling(block: &Block) -> Option<TokenStream> {
    let uppercase = |item: &Item| name_of(&block.field(item)).chars().any(|c| c.is_ascii_uppercase());
    block.items.iter().any(uppercase).then(|| quote!(#[allow(non_snake_case)]))
}

/// The fields of a block's struct; nested blocks' structs go to `nested`.
fn fields(
    block: &Block,
    struct_name: &str,
    m: &Model,
    nested: &mut TokenStream,
    structs: &mut std::collections::HashSet<String>,
) -> TokenStream {
    let vis = &m.vis;
    // A field named twice is reported by `check`; leaving the repeat out
    // keeps rustc from adding its own errors about it.
    let mut seen = std::collections::HashSet::new();
    let kept: Vec<&Item> = block
        .items
        .iter()
        .filter(|item| seen.insert(block.field(item).to_string()))
        // A block whose struct name is taken is reported by `check`; skipping it avoids a cascade.
        .filter(|item| match item {
            Item::Scope { name, .. } => structs.insert(format!("{struct_name}{}", camel_case(&name_of(name)))),
            _ => true,
        })
        .collect();
    kept.into_iter()
        .map(|item| match item {
            Item::Var(v) => {
                let (name, doc) = (&v.name, format!("Variable `{}`.", v.name));
                quote! { #[doc = #doc] #vis #name: ::scopeflow::__private::Variable, }
            }
            Item::Scope { name, block: inner, .. } => {
                let child = format_ident!("{}{}", struct_name, camel_case(&name_of(name)));
                let child_fields = fields(inner, &child.to_string(), m, nested, structs);
                let doc = format!("The variables of scope block `{name}` of [`{}`].", m.name);
                let allow = allow_tensorflow_spelling(inner);
                nested.extend(
                    quote! { #[doc = #doc] #[derive(Clone, Debug)] #allow #vis struct #child { #child_fields } },
                );
                let field_doc = format!("Scope block `{name}`.");
                let field = block.field(item);
                quote! { #[doc = #field_doc] #vis #field: #child, }
            }
            Item::Model { name, path, .. } => {
                let doc = format!("Model built in scope `{name}`.");
                quote! { #[doc = #doc] #vis #name: #path, }
            }
        })
        .collect()
}

fn options(o: &Options) -> TokenStream {
    let mut out = TokenStream::new();
    if let Some(r) = &o.reuse {
        let r = r.tokens();
        out.extend(quote!(.reuse(#r)));
    }
    if let Some(i) = &o.initializer {
        let i = i.tokens();
        out.extend(quote!(.initializer(#i)));
    }
    if let Some(d) = &o.dtype {
        let d = d.tokens();
        out.extend(quote!(.dtype(#d)));
    }
    out
}

/// One statement of a generated `build_in`: it binds the locals `binds` (with
/// their types) and moves the locals `takes` (a struct literal its fields,
/// `drop` a guard).
struct Stmt {
    binds: Vec<(Ident, TokenStream)>,
    takes: Vec<Ident>,
    tokens: TokenStream,
}

/// The statements that build a block's struct, one per variable, sub-model
/// and scope guard, followed by the struct literal (returned, with the locals
/// it takes) that moves them in.
///
/// Flat on purpose: a struct literal holding every `get_variable(…).get()?`
/// (or a nested block per scope) made rustc's time grow with the square of the
/// variables (each `?` drops the fields evaluated before it; 250 variables took
/// minutes in release) and its parser's stack grow with the nesting. Here each
/// `?` is its own statement, scopes are left by dropping their guard (locals
/// drop in reverse order on an early return, so guards still close innermost
/// first), and the literal only moves locals. [`chunked`] then bounds how
/// many statements one function holds.
fn build_block(
    block: &Block,
    struct_name: &Ident,
    stmts: &mut Vec<Stmt>,
    next: &mut usize,
) -> (TokenStream, Vec<Ident>) {
    let mut inits = Vec::with_capacity(block.items.len());
    let mut takes = Vec::with_capacity(block.items.len());
    for item in &block.items {
        let local = local(next);
        match item {
            Item::Var(v) => {
                let (name, value) = (&v.name, get_variable(v));
                let ty = quote!(::scopeflow::__private::Variable);
                stmts.push(Stmt {
                    binds: vec![(local.clone(), ty)],
                    takes: Vec::new(),
                    tokens: quote!(let #local = #value;),
                });
                inits.push(quote!(#name: #local));
            }
            Item::Scope { name, options: o, block: inner } => {
                let child = format_ident!("{}{}", struct_name, camel_case(&name_of(name)));
                let lit = LitStr::new(&name_of(name), name.span());
                let opts = options(o);
                let guard = self::local(next);
                let enter = quote!(let #guard = ::scopeflow::__private::variable_scope(#lit) #opts .enter()?;);
                let ty = quote!(::scopeflow::__private::VariableScopeGuard);
                stmts.push(Stmt { binds: vec![(guard.clone(), ty)], takes: Vec::new(), tokens: enter });
                let (literal, fields) = build_block(inner, &child, stmts, next);
                let tokens = quote!(let #local = #literal;);
                stmts.push(Stmt { binds: vec![(local.clone(), quote!(#child))], takes: fields, tokens });
                let drop = quote!(::core::mem::drop(#guard););
                stmts.push(Stmt { binds: Vec::new(), takes: vec![guard], tokens: drop });
                let field = block.field(item);
                inits.push(quote!(#field: #local));
            }
            Item::Model { name, path, args } => {
                let lit = LitStr::new(&name_of(name), name.span());
                let tokens = quote_spanned!(path.segments.last().map_or(name.span(), |s| s.ident.span())=>
                    let #local = #path::build_in(&#lit #(, #args)*)?;);
                stmts.push(Stmt { binds: vec![(local.clone(), quote!(#path))], takes: Vec::new(), tokens });
                inits.push(quote!(#name: #local));
            }
        }
        takes.push(local);
    }
    (quote!(#struct_name { #(#inits,)* }), takes)
}

/// How many statements one generated function holds.
const CHUNK: usize = 32;

/// `stmts`, with at most [`CHUNK`] of them in one function: while there are
/// more, each run of `CHUNK` moves to a helper function of the `impl`
/// (returned in `helpers`), which takes the model's parameters and the locals
/// the run moves but does not bind, and returns those it binds and does not
/// move; the run becomes one `let (…) = Self::helper(…)?;`.
///
/// One function with a statement per variable overflowed rustc's stack with
/// 5,000 variables (LLVM's debug info recurses through the scope each `let`
/// opens), and a debug build's frame (a slot per temporary) overflowed the
/// stack of the thread calling `build`. Helpers carry `#[track_caller]`, so
/// variables still record the caller of `build` as their creation site.
fn chunked(mut stmts: Vec<Stmt>, params: &[Ident], helpers: &mut TokenStream) -> TokenStream {
    let type_of: std::collections::HashMap<String, TokenStream> =
        stmts.iter().flat_map(|s| &s.binds).map(|(b, t)| (b.to_string(), t.clone())).collect();
    let mut count = 0usize;
    while stmts.len() > CHUNK {
        let mut outer = Vec::with_capacity(stmts.len() / CHUNK + 1);
        let mut rest = stmts.into_iter().peekable();
        while rest.peek().is_some() {
            let run: Vec<Stmt> = rest.by_ref().take(CHUNK).collect();
            let bound: std::collections::HashSet<String> =
                run.iter().flat_map(|s| &s.binds).map(|(b, _)| b.to_string()).collect();
            let taken: std::collections::HashSet<String> =
                run.iter().flat_map(|s| &s.takes).map(ToString::to_string).collect();
            // Locals from earlier runs that this one moves: arguments, with their types.
            let inputs: Vec<Ident> =
                run.iter().flat_map(|s| &s.takes).filter(|t| !bound.contains(&t.to_string())).cloned().collect();
            let binds: Vec<(Ident, TokenStream)> =
                run.iter().flat_map(|s| &s.binds).filter(|(b, _)| !taken.contains(&b.to_string())).cloned().collect();
            count += 1;
            let helper = format_ident!("__scopeflow_build_{}", count);
            let (names, types): (Vec<_>, Vec<_>) = binds.iter().cloned().unzip();
            let body = run.iter().map(|s| &s.tokens);
            // Every local is bound by some statement, so its type is known.
            let input_types = inputs.iter().map(|i| &type_of[&i.to_string()]);
            helpers.extend(quote! {
                #[doc(hidden)]
                #[track_caller]
                #[allow(clippy::too_many_arguments, clippy::type_complexity, unused_variables)]
                fn #helper(#(#params: usize,)* #(#inputs: #input_types,)*) -> ::scopeflow::__private::ScopeResult<(#(#types,)*)> {
                    #(#body)*
                    ::core::result::Result::Ok((#(#names,)*))
                }
            });
            let tokens = quote!(let (#(#names,)*) = Self::#helper(#(#params,)* #(#inputs,)*)?;);
            outer.push(Stmt { binds, takes: inputs, tokens });
        }
        stmts = outer;
    }
    stmts.into_iter().map(|s| s.tokens).collect()
}

/// A fresh local of the generated `build_in` (hygienic: never one of the user's names).
fn local(next: &mut usize) -> Ident {
    *next += 1;
    format_ident!("__scopeflow_{}", *next, span = Span::mixed_site())
}

fn get_variable(v: &Var) -> TokenStream {
    let lit = LitStr::new(&name_of(&v.name), v.name.span());
    let dims = v.shape.iter().map(|d| match d {
        Dim::Lit(l) => quote!(#l),
        Dim::Param(p) => quote!(#p),
    });
    let shape = quote_spanned!(v.shape_span=> [#(#dims),*]);
    let mut call = quote!(::scopeflow::__private::get_variable(#lit, #shape));
    if let Some(i) = &v.initializer {
        let i = i.tokens();
        call.extend(quote!(.initializer(#i)));
    }
    if let Some(d) = &v.dtype {
        let d = d.tokens();
        call.extend(quote!(.dtype(#d)));
    }
    if let Some(t) = &v.trainable {
        call.extend(quote!(.trainable(#t)));
    }
    if let Some(c) = &v.constraint {
        // The user's span, so that an expression of another type is reported on it.
        call.extend(quote_spanned!(c.span()=> .constraint(#c)));
    }
    quote!(#call.get()?)
}

/// Variable names relative to the model's own scope, including those of
/// sub-models declared in the same input (others cannot be known here).
fn variable_names(m: &Model, all: &[Model], depth: usize) -> Vec<String> {
    fn walk(block: &Block, prefix: &str, all: &[Model], depth: usize, out: &mut Vec<String>) {
        for item in &block.items {
            let here =
                if prefix.is_empty() { name_of(item.name()) } else { format!("{prefix}/{}", name_of(item.name())) };
            match item {
                Item::Var(_) => out.push(here),
                Item::Scope { block, .. } => walk(block, &here, all, depth, out),
                Item::Model { path, .. } => {
                    if depth < 8
                        && let Some(sub) = path.get_ident().and_then(|id| all.iter().find(|x| x.name == *id))
                    {
                        out.extend(variable_names(sub, all, depth + 1).into_iter().map(|n| format!("{here}/{n}")));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&m.block, "", all, depth, &mut out);
    out
}
