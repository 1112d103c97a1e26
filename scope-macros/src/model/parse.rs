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
//! var_options := '(' (initializer = … | dtype = … | trainable = bool | constraint = expr),* ')'
//! ```
//!
//! A block may hold a variable and a scope block of the same name (`table`
//! and `table { Momentum: … }`); see [`Block::field`] for their fields.

use crate::common::{
    DTypeSpec, Errors, InitSpec, Reuse, comma_list, init_from_expr, kw, name_of, parse_dtype, parse_init,
    parse_isolated, parse_reuse, set_once, skip_to_comma,
};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::token::Bracket;
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

impl Block {
    /// The field `item` gets in this block's struct: its own name, except a
    /// scope block beside a variable of the same name (the layout of
    /// TensorFlow's optimizer slots: variable `table`, slot `table/Momentum`),
    /// whose field gets the suffix `_scope`: `table` and `table_scope`.
    pub(crate) fn field(&self, item: &Item) -> Ident {
        match item {
            Item::Scope { name, .. }
                if self
                    .items
                    .iter()
                    .any(|other| matches!(other, Item::Var(v) if name_of(&v.name) == name_of(name))) =>
            {
                format_ident!("{}_scope", name, span = name.span())
            }
            _ => item.name().clone(),
        }
    }
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
    /// An expression of type `Constraint`, evaluated by each `build`.
    pub(crate) constraint: Option<Expr>,
    /// Whether all of it parsed: rules that compare declarations skip an
    /// incomplete one, whose mistake is already reported.
    pub(crate) complete: bool,
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
    // From here on the struct is known: a mistake in the rest of its header is
    // recorded and parsing goes on at its block, so that the struct (and its
    // `build`) is still generated and uses of it add no errors.
    let (mut params, mut scope, mut options) = (Vec::new(), None, Options::default());
    if let Err(e) = header(input, errors, &mut params, &mut scope, &mut options) {
        while !(input.is_empty()
            || input.peek(syn::token::Brace)
            || input.peek(Token![struct])
            || input.peek(Token![pub])
            || input.peek(Token![#]))
        {
            input.parse::<proc_macro2::TokenTree>()?;
        }
        if !input.peek(syn::token::Brace) {
            return Err(e);
        }
        errors.push(e);
    }
    let block = block(input, errors, 0)?;
    Ok(Model { attrs, vis, name, params, scope, options, block })
}

/// What comes between a model's name and its block: `(params)`, `in "scope"`,
/// `(options)`, each stored as soon as it is parsed.
fn header(
    input: ParseStream<'_>,
    errors: &Errors,
    params: &mut Vec<Ident>,
    scope: &mut Option<LitStr>,
    options: &mut Options,
) -> syn::Result<()> {
    // `(inputs, units)` declares parameters; `(reuse = auto)` right after the name is options.
    if input.peek(syn::token::Paren) && !starts_options(input) {
        let content;
        parenthesized!(content in input);
        comma_list(&content, errors, "parameters", |content| match content.parse::<Ident>() {
            Ok(param) => {
                params.push(param);
                Ok(())
            }
            Err(e) => {
                // Still counted, so that `build` keeps its arity.
                params.push(Ident::new(&format!("__scopeflow_param_{}", params.len()), e.span()));
                Err(e)
            }
        });
    }
    if input.peek(Token![in]) {
        input.parse::<Token![in]>()?;
        *scope = Some(input.parse::<LitStr>()?);
    }
    if input.peek(syn::token::Paren) {
        *options = self::options(input, errors)?;
    }
    Ok(())
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

/// How deep scope blocks may nest. Each block is a struct inside its parent's,
/// and rustc stops laying out structs nested deeper than its recursion limit
/// (128); 1,000 nested blocks crashed rustc before this limit.
pub(crate) const MAX_DEPTH: usize = 64;

/// A `{ … }` block of items, `depth` blocks inside the model's own.
fn block(input: ParseStream<'_>, errors: &Errors, depth: usize) -> syn::Result<Block> {
    let content;
    let brace = braced!(content in input);
    let mut items = Vec::new();
    if depth > MAX_DEPTH {
        errors.at_span(
            brace.span.open(),
            format!(
                "scope blocks nest at most {MAX_DEPTH} deep in `model!` (this one is {depth} deep): each block is a \
                 struct inside its parent's, and rustc cannot lay out structs nested much deeper"
            ),
        );
        // Skipped whole (one token tree), so that deeper blocks add no errors.
        content.parse::<TokenStream>()?;
        return Ok(Block { items });
    }
    while !content.is_empty() {
        if content.peek(Token![,]) || content.peek(Token![;]) {
            content.parse::<proc_macro2::TokenTree>()?;
            continue;
        }
        match item(&content, errors, depth) {
            Ok(i) => items.extend(i),
            Err(e) => {
                errors.push(e);
                // Go on with the next item.
                skip_to_separator(&content);
            }
        }
    }
    Ok(Block { items })
}

/// One item; `None` when it is a scope without a block, reported, and
/// followed by the next item.
fn item(input: ParseStream<'_>, errors: &Errors, depth: usize) -> syn::Result<Option<Item>> {
    let name: Ident = input.parse()?;
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        if input.peek(syn::token::Bracket) {
            let shape;
            let bracket = bracketed!(shape in input);
            return Ok(Some(Item::Var(var(input, name, bracket, &shape, errors))));
        }
        let path: Path = input.parse()?;
        // The field's type is known from here on: a mistake in the arguments is
        // recorded and the field kept.
        let args = recover(input, errors, |input| {
            let content;
            parenthesized!(content in input);
            let args = content.parse::<TokenStream>()?;
            // Parsed on their own, so that a mistake inside leaves the rest of the input unaffected.
            Ok(Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args)?.into_iter().collect())
        });
        return Ok(Some(Item::Model { name, path, args: args.unwrap_or_default() }));
    }
    let options = if input.peek(syn::token::Paren) { options(input, errors)? } else { Options::default() };
    if !input.peek(syn::token::Brace) {
        let missing = syn::Error::new(
            input.span(),
            format!("expected `{{ … }}` for scope `{name}`, or `{name}: [dims]` for a variable"),
        );
        // When the next item follows (`layer2 (reuse = auto)` then `head: [3]`), it is parsed as usual.
        let next_item = input.peek(Ident) && (input.peek2(Token![:]) || input.peek2(syn::token::Brace));
        if next_item {
            errors.push(missing);
            return Ok(None);
        }
        return Err(missing);
    }
    let block = block(input, errors, depth + 1)?;
    Ok(Some(Item::Scope { name, options, block }))
}

/// Runs `part` of an item; on a mistake records it, skips to the item's end
/// (the next `,` or `;`) and returns `None`.
fn recover<T>(
    input: ParseStream<'_>,
    errors: &Errors,
    part: impl FnOnce(ParseStream<'_>) -> syn::Result<T>,
) -> Option<T> {
    match part(input) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            skip_to_separator(input);
            None
        }
    }
}

/// Skips to the next top-level `,` or `;` (or the end of the block).
fn skip_to_separator(input: ParseStream<'_>) {
    while !input.is_empty() && !input.peek(Token![,]) && !input.peek(Token![;]) {
        if input.parse::<proc_macro2::TokenTree>().is_err() {
            break;
        }
    }
}

/// A variable, given its name and `[shape]`: never fails, as its field is a
/// `Variable` whatever follows; mistakes are recorded and `complete` cleared.
fn var(input: ParseStream<'_>, name: Ident, bracket: Bracket, shape: ParseStream<'_>, errors: &Errors) -> Var {
    let mut v = Var {
        name,
        shape: Vec::new(),
        shape_span: bracket.span.join(),
        initializer: None,
        dtype: None,
        trainable: None,
        constraint: None,
        complete: true,
    };
    // Parsed on their own, so that a mistake inside leaves the rest of the input unaffected.
    let dims =
        shape.parse::<TokenStream>().and_then(|dims| Punctuated::<Expr, Token![,]>::parse_terminated.parse2(dims));
    match dims {
        Ok(dims) => {
            for dim in dims {
                match &dim {
                    Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => v.shape.push(Dim::Lit(i.clone())),
                    Expr::Path(p) if p.path.get_ident().is_some() => {
                        v.shape.push(Dim::Param(p.path.get_ident().expect("checked").clone()))
                    }
                    other => {
                        v.complete = false;
                        errors.at(
                            other,
                            "a dimension is an integer literal or a parameter of the model (`struct Dense(inputs, units)`)",
                        )
                    }
                }
            }
        }
        Err(e) => {
            v.complete = false;
            errors.push(e);
        }
    }
    if recover(input, errors, |input| var_tail(input, &mut v, errors)).is_none() {
        v.complete = false;
    }
    v
}

/// What may follow a variable's shape: `= init` and `(options)`, both optional.
fn var_tail(input: ParseStream<'_>, v: &mut Var, errors: &Errors) -> syn::Result<()> {
    let mut option_groups = Vec::new();
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        // `= zeros (trainable = false)` parses as one call expression,
        // `zeros(trainable = false)`: the options are taken back from it.
        let mut init: Expr = parse_isolated(input)?;
        while let Expr::Call(call) = &init
            && looks_like_options(&call.args)
        {
            option_groups.push(call.args.to_token_stream());
            init = (*call.func).clone();
        }
        option_groups.reverse();
        v.initializer = init_from_expr(init, errors);
    }
    if option_groups.is_empty() && input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        option_groups.push(content.parse::<TokenStream>()?);
    }
    for group in option_groups {
        let parser = |content: ParseStream<'_>| {
            var_options(content, v, errors);
            Ok(())
        };
        parser.parse2(group)?;
    }
    Ok(())
}

/// Whether call arguments are `key = value` options rather than an
/// initializer's arguments (which are numbers: `random_normal(0.0, 1.0)`).
fn looks_like_options(args: &Punctuated<Expr, Token![,]>) -> bool {
    matches!(args.first(), Some(Expr::Assign(a)) if matches!(&*a.left, Expr::Path(p) if p.path.get_ident().is_some()))
}

/// `initializer = …, dtype = …, trainable = false, constraint = …`, in any order.
fn var_options(content: ParseStream<'_>, v: &mut Var, errors: &Errors) {
    comma_list(content, errors, "options", |content| {
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
        } else if content.peek(kw::constraint) {
            let key: kw::constraint = content.parse()?;
            content.parse::<Token![=]>()?;
            let expr: Expr = parse_isolated(content)?;
            // `constraint = 2.0`: a literal is never a `Constraint`; say what is.
            if let Expr::Lit(lit) = &expr {
                errors.at(
                    lit,
                    format!(
                        "`constraint` takes a `Constraint` built from a function of the variable, such as \
                         `Constraint::new(|w| maximum(w, &constant(0.0f32)?))` or `max_norm({})` returning one, not a literal",
                        lit.to_token_stream()
                    ),
                );
                v.complete = false;
            } else {
                set_once(&mut v.constraint, expr, key.span, "constraint", errors);
            }
        } else {
            let unknown: proc_macro2::TokenTree = content.parse()?;
            errors.at(
                &unknown,
                format!(
                    "unknown variable option `{unknown}`; expected `initializer = …`, `dtype = …`, `trainable = false` \
                     or `constraint = …`"
                ),
            );
            skip_to_comma(content);
        }
        Ok(())
    });
}
