//! `model!`: declared variables in nested scope blocks → structs of handles and a `build`.

mod check;
mod expand;
mod parse;

use crate::common::Errors;
use proc_macro2::TokenStream;

/// Expands a `model!` input. Never panics: mistakes become `compile_error!`s,
/// and the structs, `build`, `build_in` and `VARIABLES` are still emitted
/// (bodies that cannot run) so that callers see only the real mistake.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let errors = Errors::default();
    let models = parse::input(input, &errors);
    check::all(&errors, &models);
    let mut out = expand::models(&models, errors.is_empty());
    if let Err(e) = errors.finish() {
        out.extend(e.into_compile_error());
    }
    out
}
