//! `#[scoped]`: runs a function inside a variable scope or name scope.

mod check;
mod expand;
mod parse;

use crate::common::Errors;
use proc_macro2::TokenStream;
use quote::ToTokens;

/// Expands `#[scoped(args)]` on `item`. Never panics: mistakes become
/// `compile_error!`s next to the user's item, which is always emitted.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let errors = Errors::default();
    let args = parse::args(args, &errors);
    let Some(func) = parse::item(item.clone(), &errors) else {
        let mut out = item;
        if let Err(e) = errors.finish() {
            out.extend(e.into_compile_error());
        }
        return out;
    };
    check::all(&errors, &args, &func);
    match errors.finish() {
        Ok(()) => expand::function(&args, func).into_token_stream(),
        Err(e) => {
            let mut out = func.into_token_stream();
            out.extend(e.into_compile_error());
            out
        }
    }
}
