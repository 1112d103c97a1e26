//! The `model!` grammar, parsed into an AST that keeps the user's tokens:
//!
//! ```text
//! input    := model*
//! model    := attrs vis 'struct' Ident ('(' param,* ')')? ('in' "scope")? options? block
//! options  := '(' (reuse = … | initializer = … | dtype = …),* ')'
//! block    := '{' (item (',' | ';')?)* '}'
//! item     := Ident options? block                     // a nested variable scope
//!           | Ident ':' '[' dim,* ']' ('=' init)? var_options?   // a variable
//!           | Ident ':' Path '(' expr,* ')'             // another model, in scope `Ident`
//! dim      := integer | param
//! var_options := '(' (initializer = … | dtype = … | trainable = bool),* ')'
//! ```

use crate::common::{
    DTypeSpec, Errors, InitSpec, Reuse, comma_list, kw, parse_dtype, parse_init, parse_reuse, set_once, skip_to_comma,
};
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Ident, LitBool, LitInt, LitStr, Path, Token, Visibility, braced, bracketed, parenthesized};

pub(crate) struct Model {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) params: Vec<Ident>,
    pub(crate) scope: Option<LitStr>,
    pub(crate) options: Options,
    pub(crate) block: Block,
}

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) reuse: Option<Reuse>,
    pub(crate) initializer: Option<InitSpec>,
    pub(crate) dtype: Option<DTypeSpec>,
}

#[derive(Default)]
pub(crate) struct Block {
    pub(crate) items: Vec<Item>,
}

pub(crate) enum Item {
    Scope { name: Ident, options: Options, block: Block },
    Var(Var),
    Model { name: Ident, path: Path, args: Vec<Expr> },
}

impl Item {
    pub(crate) fn name(&self) -> &Ident {
        match self {
            Item::Scope { name, .. } | Item::Model { name, .. } => name,
            Item::Var(v) => &v.name,
        }
    }
}

pub(crate) struct Var {
    pub(crate) name: Ident,
    pub(crate) shape: Vec<Dim>,
    pub(crate) shape_span: Span,
    pub(crate) initializer: Option<InitSpec>,
    pub(crate) dtype: Option<DTypeSpec>,
    pub(crate) trainable: Option<LitBool>,
}

#[derive(Clone)]
pub(crate) enum Dim {
    Lit(LitInt),
    Param(Ident),
}

/// Parses every model of the input, recording mistakes and going on.
pub(crate) fn input(tokens: TokenStream, errors: &Errors) -> Vec<Model> {
    let mut models = Vec::new();
    let parser = |input: ParseStream<'_>| {
        while !input.is_empty() {
            match model(input, errors) {
                Ok(m) => models.push(m),
                Err(e) => {
                    errors.push(e);
                    // Resynchronize: skip at least one token, then up to the next model.
                    let _ = input.parse::<proc_macro2::TokenTree>();
                    while !(input.is_empty()
                        || input.peek(Token![struct])
                        || input.peek(Token![pub])
                        || input.peek(Token![#]))
                    {
                        if input.parse::<proc_macro2::TokenTree>().is_err() {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    models
}

fn model(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Model> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    input.parse::<Token![struct]>()?;
    let name: Ident = input.parse()?;
    let mut params = Vec::new();
    // `(inputs, units)` declares parameters; `(reuse = auto)` right after the name is options.
    if input.peek(syn::token::Paren) && !starts_options(input) {
        let content;
        parenthesized!(content in input);
        params = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?.into_iter().collect();
    }
    let scope = if input.peek(Token![in]) {
        input.parse::<Token![in]>()?;
        Some(input.parse::<LitStr>()?)
    } else {
        None
    };
    let options = if input.peek(syn::token::Paren) { options(input, errors)? } else { Options::default() };
    let block = block(input, errors)?;
    Ok(Model { attrs, vis, name, params, scope, options, block })
}

/// Whether the parenthesized group ahead holds `key = value` options.
fn starts_options(input: ParseStream<'_>) -> bool {
    let peek = |fork: ParseStream<'_>| -> syn::Result<bool> {
        let content;
        parenthesized!(content in fork);
        Ok(content.peek(Ident) && content.peek2(Token![=]))
    };
    peek(&input.fork()).unwrap_or(false)
}

fn options(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Options> {
    let content;
    parenthesized!(content in input);
    let mut o = Options::default();
    comma_list(&content, errors, "options", |content| {
        if content.peek(kw::reuse) {
            let key: kw::reuse = content.parse()?;
            content.parse::<Token![=]>()?;
            if let Some(r) = parse_reuse(content, errors)? {
                set_once(&mut o.reuse, r, key.span, "reuse", errors);
            }
        } else if content.peek(kw::initializer) {
            let key: kw::initializer = content.parse()?;
            content.parse::<Token![=]>()?;
            if let Some(i) = parse_init(content, errors)? {
                set_once(&mut o.initializer, i, key.span, "initializer", errors);
            }
        } else if content.peek(kw::dtype) {
            let key: kw::dtype = content.parse()?;
            content.parse::<Token![=]>()?;
            if let Some(d) = parse_dtype(content, errors)? {
                set_once(&mut o.dtype, d, key.span, "dtype", errors);
            }
        } else {
            let unknown: proc_macro2::TokenTree = content.parse()?;
            errors.at(
                &unknown,
                format!("unknown scope option `{unknown}`; expected `reuse = …`, `initializer = …` or `dtype = …`"),
            );
            skip_to_comma(content);
        }
        Ok(())
    });
    Ok(o)
}

fn block(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Block> {
    let content;
    braced!(content in input);
    let mut items = Vec::new();
    while !content.is_empty() {
        if content.peek(Token![,]) || content.peek(Token![;]) {
            content.parse::<proc_macro2::TokenTree>()?;
            continue;
        }
        match item(&content, errors) {
            Ok(i) => items.push(i),
            Err(e) => {
                errors.push(e);
                // Skip to the next separator and go on with the next item.
                while !content.is_empty() && !content.peek(Token![,]) && !content.peek(Token![;]) {
                    if content.parse::<proc_macro2::TokenTree>().is_err() {
                        break;
                    }
                }
            }
        }
    }
    Ok(Block { items })
}

fn item(input: ParseStream<'_>, errors: &Errors) -> syn::Result<Item> {
    let name: Ident = input.parse()?;
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        if input.peek(syn::token::Bracket) {
            return var(input, name, errors).map(Item::Var);
        }
        let path: Path = input.parse()?;
        let content;
        parenthesized!(content in input);
        let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?.into_iter().collect();
        return Ok(Item::Model { name, path, args });
    }
    let options = if input.peek(syn::token::Paren) { options(input, errors)? } else { Options::default() };
    if !input.peek(syn::token::Brace) {
        return Err(syn::Error::new(
            input.span(),
            format!("expected `{{ … }}` for scope `{name}`, or `{name}: [dims]` for a variable"),
        ));
    }
    let block = block(input, errors)?;
    Ok(Item::Scope { name, options, block })
}

fn var(input: ParseStream<'_>, name: Ident, errors: &Errors) -> syn::Result<Var> {
    let content;
    let bracket = bracketed!(content in input);
    let mut shape = Vec::new();
    for dim in Punctuated::<Expr, Token![,]>::parse_terminated(&content)? {
        match &dim {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => shape.push(Dim::Lit(i.clone())),
            Expr::Path(p) if p.path.get_ident().is_some() => {
                shape.push(Dim::Param(p.path.get_ident().expect("checked").clone()))
            }
            other => errors.at(
                other,
                "a dimension is an integer literal or a parameter of the model (`struct Dense(inputs, units)`)",
            ),
        }
    }
    let mut v = Var { name, shape, shape_span: bracket.span.join(), initializer: None, dtype: None, trainable: None };
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        v.initializer = parse_init(input, errors)?;
    }
    if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        comma_list(&content, errors, "options", |content| {
            if content.peek(kw::initializer) {
                let key: kw::initializer = content.parse()?;
                content.parse::<Token![=]>()?;
                if let Some(i) = parse_init(content, errors)? {
                    set_once(&mut v.initializer, i, key.span, "initializer", errors);
                }
            } else if content.peek(kw::dtype) {
                let key: kw::dtype = content.parse()?;
                content.parse::<Token![=]>()?;
                if let Some(d) = parse_dtype(content, errors)? {
                    set_once(&mut v.dtype, d, key.span, "dtype", errors);
                }
            } else if content.peek(kw::trainable) {
                let key: kw::trainable = content.parse()?;
                content.parse::<Token![=]>()?;
                let b: LitBool = content.parse()?;
                set_once(&mut v.trainable, b, key.span, "trainable", errors);
            } else {
                let unknown: proc_macro2::TokenTree = content.parse()?;
                errors.at(
                    &unknown,
                    format!("unknown variable option `{unknown}`; expected `initializer = …`, `dtype = …` or `trainable = false`"),
                );
                skip_to_comma(content);
            }
            Ok(())
        });
    }
    Ok(v)
}
