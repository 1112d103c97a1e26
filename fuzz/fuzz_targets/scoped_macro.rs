//! `#[scoped]`'s parser, checks and expansion on any input that is Rust
//! tokens: code or `compile_error!`, never a panic. Input: the attribute's
//! arguments, a newline, then the item. Sources compiled as in `model_macro`.
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
    let Ok(text) = std::str::from_utf8(input) else { return };
    let (args, item) = text.split_once('\n').unwrap_or(("", text));
    if let (Ok(args), Ok(item)) = (args.parse::<TokenStream>(), item.parse::<TokenStream>()) {
        let _ = scoped::expand(args, item);
    }
});
