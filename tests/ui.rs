//! Compile-time errors of `#[scoped]` and `model!` (one file per mistake,
//! with a reviewed `.stderr`), and every grammar form compiling and running.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
