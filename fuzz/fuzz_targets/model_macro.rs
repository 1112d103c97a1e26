//! `model!`'s parser, checks and expansion on any input that is Rust tokens:
//! code or `compile_error!`, never a panic. scope-macros is a proc-macro
//! crate, which can export nothing but its macros, so its sources are
//! compiled here as modules (proc-macro2 runs outside the compiler too).
#![no_main]
#![allow(dead_code)]

#[path = "../../scope-macros/src/common.rs"]
mod common;
#[path = "../../scope-runtime/src/base/lexicon.rs"]
mod lexicon;
#[path = "../../scope-macros/src/model/mod.rs"]
mod model;
#[path = "../../scope-macros/src/scoped/mod.rs"]
mod scoped;

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|input: &[u8]| {
    if let Ok(tokens) = std::str::from_utf8(input).map(str::parse::<TokenStream>) {
        if let Ok(tokens) = tokens {
            let _ = model::expand(tokens);
        }
    }
});
