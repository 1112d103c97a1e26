//! Procedural macros of scopeflow: `#[scoped]` and `model!` (see issue 3).
//! This crate is the home of the macros; they are added in their own change.
