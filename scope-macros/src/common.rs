//! What both macros share: the error collector, keywords, and the grammar of
//! scope options (`reuse = …`, `initializer = …`, `dtype = …`) and names.

use crate::lexicon::{self, InitializerName};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use std::cell::RefCell;
use std::fmt::Display;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, Token};

/// Errors collected across a whole macro input, reported together.
#[derive(Default)]
pub(crate) struct Errors(RefCell<Vec<syn::Error>>);

impl Errors {
    /// Records an error spanning `tokens`.
    pub(crate) fn at(&self, tokens: impl ToTokens, msg: impl Display) {
        self.0.borrow_mut().push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records an error at `span`.
    pub(crate) fn at_span(&self, span: Span, msg: impl Display) {
        self.0.borrow_mut().push(syn::Error::new(span, msg));
    }

    /// Records a parse error.
    pub(crate) fn push(&self, err: syn::Error) {
        self.0.borrow_mut().push(err);
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// All errors combined into one, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut all = self.0.into_inner().into_iter();
        let Some(mut first) = all.next() else { return Ok(()) };
        all.for_each(|next| first.combine(next));
        Err(first)
    }
}

pub(crate) mod kw {
    syn::custom_keyword!(reuse);
    syn::custom_keyword!(initializer);
    syn::custom_keyword!(dtype);
    syn::custom_keyword!(scope);
    syn::custom_keyword!(name_scope);
    syn::custom_keyword!(trainable);
    syn::custom_keyword!(constraint);
    syn::custom_keyword!(auto);
    syn::custom_keyword!(inherit);
}

/// A reuse mode as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReuseMode {
    Inherit,
    True,
    Auto,
}

#[derive(Clone)]
pub(crate) struct Reuse {
    pub(crate) mode: ReuseMode,
    pub(crate) span: Span,
}

impl Reuse {
    pub(crate) fn tokens(&self) -> TokenStream {
        let variant = match self.mode {
            ReuseMode::Inherit => quote!(Inherit),
            ReuseMode::True => quote!(True),
            ReuseMode::Auto => quote!(Auto),
        };
        quote_spanned!(self.span=> ::scopeflow::__private::Reuse::#variant)
    }
}

/// Parses the value after `reuse =`: `true`, `false`, `auto` or `inherit`.
pub(crate) fn parse_reuse(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Option<Reuse>> {
    let value: Expr = parse_isolated(input)?;
    let mode = match &value {
        Expr::Lit(l) => match &l.lit {
            Lit::Bool(b) if b.value => Some(ReuseMode::True),
            Lit::Bool(_) => Some(ReuseMode::Inherit),
            _ => None,
        },
        Expr::Path(p) if p.path.is_ident("auto") => Some(ReuseMode::Auto),
        Expr::Path(p) if p.path.is_ident("inherit") => Some(ReuseMode::Inherit),
        _ => None,
    };
    match mode {
        Some(mode) => Ok(Some(Reuse { mode, span: value.span() })),
        None => {
            let shown = value.to_token_stream().to_string();
            errors.at(&value, format!("unknown reuse mode `{shown}`; expected `true`, `false` or `auto`"));
            Ok(None)
        }
    }
}

/// An initializer as written: a TensorFlow name, a call with arguments, or any `Init` expression.
#[derive(Clone)]
pub(crate) enum InitSpec {
    Named(Ident, &'static InitializerName),
    Call(Ident, &'static InitializerName, Vec<Expr>),
    Expr(Box<Expr>),
}

/// What `initializer = …` accepts, listed from the shared table:
/// "expected one of zeros, …, constant(value), random_normal(mean, stddev), …".
fn init_help() -> String {
    let names: Vec<String> = lexicon::INITIALIZERS
        .iter()
        .map(|i| if i.params.is_empty() { i.name.to_owned() } else { format!("{}({})", i.name, i.params.join(", ")) })
        .collect();
    format!("expected one of {}, or an `Init` expression such as `Init::Constant(0.5)`", names.join(", "))
}

/// Parses the value after `initializer =` (or `=` after a variable's shape).
pub(crate) fn parse_init(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Option<InitSpec>> {
    let value: Expr = parse_isolated(input)?;
    Ok(init_from_expr(value, errors))
}

/// The initializer an expression names, recording a mistake (unknown name,
/// wrong number of arguments) as an error.
pub(crate) fn init_from_expr(value: Expr, errors: &Errors) -> Option<InitSpec> {
    let wrong_arity = |tokens: &dyn ToTokens, i: &InitializerName| {
        errors.at(tokens, format!("initializer `{}` takes {} argument(s): {}", i.name, i.arity(), init_help()))
    };
    let unknown = |ident: &Ident| errors.at(ident, format!("unknown initializer `{ident}`; {}", init_help()));
    match &value {
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let ident = p.path.get_ident().expect("checked");
            match lexicon::initializer(&ident.to_string()) {
                Some(i) if i.arity() == 0 => Some(InitSpec::Named(ident.clone(), i)),
                Some(i) => {
                    wrong_arity(ident, i);
                    None
                }
                None => {
                    unknown(ident);
                    None
                }
            }
        }
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let ident = p.path.get_ident().expect("checked");
                match lexicon::initializer(&ident.to_string()) {
                    Some(i) if i.arity() == call.args.len() => {
                        Some(InitSpec::Call(ident.clone(), i, call.args.iter().cloned().collect()))
                    }
                    Some(i) => {
                        wrong_arity(&call.args, i);
                        None
                    }
                    None => {
                        unknown(ident);
                        None
                    }
                }
            }
            _ => Some(InitSpec::Expr(Box::new(value))),
        },
        _ => Some(InitSpec::Expr(Box::new(value))),
    }
}

impl InitSpec {
    pub(crate) fn tokens(&self) -> TokenStream {
        match self {
            InitSpec::Named(ident, i) => {
                let v = Ident::new(i.init, ident.span());
                quote_spanned!(ident.span()=> ::scopeflow::__private::Init::#v)
            }
            InitSpec::Call(ident, i, args) => {
                let v = Ident::new(i.init, ident.span());
                let a: Vec<TokenStream> =
                    args.iter().map(|a| quote_spanned!(a.span()=> ::core::convert::Into::<f64>::into(#a))).collect();
                if let [value] = &a[..] {
                    // One argument is the variant's tuple field: `Init::Constant(value)`.
                    quote_spanned!(ident.span()=> ::scopeflow::__private::Init::#v(#value))
                } else {
                    // Several are its named fields: `Init::RandomUniform { minval, maxval }`.
                    let fields = i.params.iter().map(|p| Ident::new(p, ident.span()));
                    quote_spanned!(ident.span()=> ::scopeflow::__private::Init::#v { #(#fields: #a),* })
                }
            }
            InitSpec::Expr(e) => quote!(#e),
        }
    }
}

/// A dtype as written (`f32`, or TensorFlow's `float32`).
#[derive(Clone)]
pub(crate) struct DTypeSpec {
    /// The runtime's `DType` variant, from the shared table.
    pub(crate) variant: &'static str,
    pub(crate) span: Span,
}

/// Parses the value after `dtype =`.
pub(crate) fn parse_dtype(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Option<DTypeSpec>> {
    let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
    match lexicon::dtype(&ident.to_string()) {
        Some(d) => Ok(Some(DTypeSpec { variant: d.variant, span: ident.span() })),
        None => {
            // "expected one of f32, f64, i32, i64, bool (or TensorFlow's float32, float64, int32, int64)"
            let rust: Vec<&str> = lexicon::DTYPES.iter().map(|d| d.rust).collect();
            let tf: Vec<&str> = lexicon::DTYPES.iter().filter(|d| d.tf != d.rust).map(|d| d.tf).collect();
            errors.at(
                &ident,
                format!(
                    "unknown dtype `{ident}`; expected one of {} (or TensorFlow's {})",
                    rust.join(", "),
                    tf.join(", ")
                ),
            );
            Ok(None)
        }
    }
}

impl DTypeSpec {
    pub(crate) fn tokens(&self) -> TokenStream {
        let v = Ident::new(self.variant, self.span);
        quote_spanned!(self.span=> ::scopeflow::__private::DType::#v)
    }
}

/// Why `name` is not a valid scope name, if it is not (TensorFlow's rule
/// for scope names: `[A-Za-z0-9_.\\/>-]*`, and not empty here).
pub(crate) fn invalid_scope_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a scope name cannot be empty; give it a name such as \"encoder\"".to_owned());
    }
    if lexicon::is_valid_scope_name(name) {
        return None;
    }
    let c = name.chars().find(|c| !lexicon::is_name_char(*c)).unwrap_or(' ');
    Some(format!(
        "`{name}` is not a valid scope name: `{c}` is not allowed; TensorFlow names use letters, digits and `_ . \\ / > -`"
    ))
}

/// The name an identifier stands for: `r#type` names `type`.
pub(crate) fn name_of(ident: &syn::Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// Keras's `to_snake_case`, the default scope name of a model: `MyModel` →
/// `my_model`, `MLP` → `mlp`, `Conv2D` → `conv2d`, `HTTPServer` → `http_server`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase() || n.is_ascii_digit());
        let after_lower = i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase();
        if (starts_word || after_lower) && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `layer_1` → `Layer1`, for the names of generated block structs.
pub(crate) fn camel_case(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// Parses `item, item, …` with `one` per item; a mistake is recorded and
/// parsing goes on at the next comma, so that all mistakes are reported.
pub(crate) fn comma_list(
    input: ParseStream<'_>,
    errors: &Errors,
    what: &str,
    mut one: impl FnMut(ParseStream<'_>) -> syn::Result<()>,
) {
    while !input.is_empty() {
        if let Err(e) = one(input) {
            errors.push(e);
            skip_to_comma(input);
        }
        if !input.is_empty() && input.parse::<Token![,]>().is_err() {
            errors.at_span(input.span(), format!("expected `,` between {what}"));
            skip_to_comma(input);
            let _ = input.parse::<Token![,]>();
        }
    }
}

/// Parses a `T` on a fork and moves on only if it parsed. A mistake inside a
/// group (`constant(1 2)`) is then reported once: parsed in place, syn would
/// also report the group's unparsed rest at the end of the whole input.
pub(crate) fn parse_isolated<T: Parse>(input: ParseStream<'_>) -> syn::Result<T> {
    let fork = input.fork();
    let value = fork.parse()?;
    input.advance_to(&fork);
    Ok(value)
}

/// Stores an option given once; a repeat is a mistake.
pub(crate) fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, what: &str, errors: &Errors) {
    if slot.is_some() {
        errors.at_span(span, format!("`{what}` is given twice; keep one"));
    } else {
        *slot = Some(value);
    }
}

/// Skips to the next top-level `,` (or the end), for recovery after a bad option.
pub(crate) fn skip_to_comma(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<proc_macro2::TokenTree>().is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_names_follow_keras() {
        assert_eq!(snake_case("MyModel"), "my_model");
        assert_eq!(snake_case("MLP"), "mlp");
        assert_eq!(snake_case("Conv2D"), "conv2d");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("Dense"), "dense");
    }

    #[test]
    fn scope_names_follow_tensorflow() {
        assert!(invalid_scope_name("encoder").is_none());
        assert!(invalid_scope_name("a/b.c-d>e").is_none());
        assert!(invalid_scope_name("").is_some());
        assert!(invalid_scope_name("a b").is_some());
    }
}
