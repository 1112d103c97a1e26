//! `#[scoped(...)]` arguments and the item they apply to, as written.

use crate::common::{
    DTypeSpec, Errors, InitSpec, Reuse, comma_list, kw, parse_dtype, parse_init, parse_reuse, set_once, skip_to_comma,
};
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemFn, LitStr, Token};

/// The arguments of one `#[scoped(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `"encoder"`: a fixed variable scope name.
    pub(crate) name: Option<LitStr>,
    /// `scope = param`: the scope comes from this parameter.
    pub(crate) scope_param: Option<Ident>,
    /// `name_scope` or `name_scope = "loss"`: a name scope instead of a variable scope.
    pub(crate) name_scope: Option<(Span, Option<LitStr>)>,
    pub(crate) reuse: Option<Reuse>,
    pub(crate) initializer: Option<(Span, InitSpec)>,
    pub(crate) dtype: Option<DTypeSpec>,
}

const ARGS_HELP: &str = "expected a scope name (\"encoder\"), `scope = param`, `reuse = true | auto`, \
     `initializer = …`, `dtype = …`, `name_scope` or `name_scope = \"loss\"`";

/// Parses the arguments, recording mistakes and going on after each.
pub(crate) fn args(tokens: TokenStream, errors: &Errors) -> Args {
    let mut args = Args::default();
    let parser = |input: ParseStream<'_>| {
        comma_list(input, errors, "arguments", |input| one_arg(input, &mut args, errors));
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    args
}

fn one_arg(input: ParseStream<'_>, args: &mut Args, errors: &Errors) -> syn::Result<()> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        set_once(&mut args.name, lit.clone(), lit.span(), "scope name", errors);
    } else if input.peek(kw::reuse) {
        let key: kw::reuse = input.parse()?;
        input.parse::<Token![=]>()?;
        if let Some(r) = parse_reuse(input, errors)? {
            set_once(&mut args.reuse, r, key.span, "reuse", errors);
        }
    } else if input.peek(kw::scope) {
        let key: kw::scope = input.parse()?;
        input.parse::<Token![=]>()?;
        let param: Ident = input.parse()?;
        set_once(&mut args.scope_param, param, key.span, "scope", errors);
    } else if input.peek(kw::name_scope) {
        let key: kw::name_scope = input.parse()?;
        let name = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<LitStr>()?)
        } else {
            None
        };
        set_once(&mut args.name_scope, (key.span, name), key.span, "name_scope", errors);
    } else if input.peek(kw::initializer) {
        let key: kw::initializer = input.parse()?;
        input.parse::<Token![=]>()?;
        if let Some(init) = parse_init(input, errors)? {
            set_once(&mut args.initializer, (key.span, init), key.span, "initializer", errors);
        }
    } else if input.peek(kw::dtype) {
        let key: kw::dtype = input.parse()?;
        input.parse::<Token![=]>()?;
        if let Some(d) = parse_dtype(input, errors)? {
            set_once(&mut args.dtype, d, key.span, "dtype", errors);
        }
    } else {
        let unknown: proc_macro2::TokenTree = input.parse()?;
        errors.at(&unknown, format!("unknown argument `{unknown}`; {ARGS_HELP}"));
        skip_to_comma(input);
    }
    Ok(())
}

/// The function `#[scoped]` is on, or an error saying what it is instead.
pub(crate) fn item(tokens: TokenStream, errors: &Errors) -> Option<ItemFn> {
    match syn::parse2::<Item>(tokens) {
        Ok(Item::Fn(f)) => Some(f),
        Ok(other) => {
            let what = match &other {
                Item::Struct(_) => "a struct",
                Item::Enum(_) => "an enum",
                Item::Const(_) => "a const",
                Item::Static(_) => "a static",
                Item::Impl(_) => "an impl block (put it on the methods inside)",
                Item::Trait(_) => "a trait",
                Item::Mod(_) => "a module",
                Item::Type(_) => "a type alias",
                Item::Use(_) => "a use declaration",
                _ => "this item",
            };
            errors.at_span(other.span(), format!("#[scoped] applies to functions and methods, not to {what}"));
            None
        }
        Err(e) => {
            errors.push(syn::Error::new(e.span(), format!("#[scoped] applies to functions and methods: {e}")));
            None
        }
    }
}
