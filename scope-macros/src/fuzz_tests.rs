//! The macros never panic: random token trees, and random edits of valid
//! inputs, all expand to code or to `compile_error!`.

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use std::str::FromStr;

/// A small deterministic generator (64-bit LCG), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const IDENTS: &[&str] = &[
    "struct",
    "pub",
    "fn",
    "in",
    "reuse",
    "auto",
    "true",
    "false",
    "inherit",
    "maybe",
    "initializer",
    "zeros",
    "constant",
    "random_uniform",
    "he_normal",
    "dtype",
    "f32",
    "i64",
    "f16",
    "scope",
    "name_scope",
    "trainable",
    "constraint",
    "layer1",
    "kernel",
    "bias",
    "Mlp",
    "Dense",
    "async",
    "const",
    "impl",
    "x",
    "Result",
    "Tensor",
    "self",
    "crate",
];
const PUNCTS: &[char] = &[':', ',', ';', '=', '#', '-', '/', '.', '>', '<', '&', '!', '?', '*'];
const LITERALS: &[&str] = &["\"MLP\"", "\"\"", "\"a b\"", "\"_x\"", "1", "784", "2.5", "0", "'c'", "b\"x\""];

fn tree(g: &mut Gen, depth: usize) -> TokenTree {
    match g.below(if depth < 3 { 10 } else { 8 }) {
        0..=2 => TokenTree::Ident(Ident::new(IDENTS[g.below(IDENTS.len())], Span::call_site())),
        3 => TokenTree::Ident(Ident::new_raw(["type", "loop", "match", "layer1"][g.below(4)], Span::call_site())),
        4 | 5 => {
            let spacing = if g.below(4) == 0 { Spacing::Joint } else { Spacing::Alone };
            TokenTree::Punct(Punct::new(PUNCTS[g.below(PUNCTS.len())], spacing))
        }
        6 | 7 => TokenTree::Literal(Literal::from_str(LITERALS[g.below(LITERALS.len())]).expect("valid literal")),
        _ => {
            let delim = [Delimiter::Parenthesis, Delimiter::Bracket, Delimiter::Brace, Delimiter::None][g.below(4)];
            TokenTree::Group(Group::new(delim, stream(g, depth + 1)))
        }
    }
}

fn stream(g: &mut Gen, depth: usize) -> TokenStream {
    (0..g.below(12)).map(|_| tree(g, depth)).collect()
}

/// A random edit of a valid input: drop, repeat or replace one token, at any depth.
fn mutate(g: &mut Gen, ts: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = ts.into_iter().collect();
    if tokens.is_empty() {
        return stream(g, 2);
    }
    let i = g.below(tokens.len());
    match g.below(4) {
        0 => {
            tokens.remove(i);
        }
        1 => {
            let t = tokens[i].clone();
            tokens.insert(i, t);
        }
        2 => tokens[i] = tree(g, 2),
        _ => {
            if let TokenTree::Group(grp) = &tokens[i] {
                tokens[i] = TokenTree::Group(Group::new(grp.delimiter(), mutate(g, grp.stream())));
            } else {
                tokens[i] = tree(g, 3);
            }
        }
    }
    tokens.into_iter().collect()
}

const VALID_MODEL: &str = r#"
    /// Docs.
    pub struct Mlp in "MLP" (initializer = he_normal) {
        layer1 { kernel: [784, 64], bias: [64] = zeros }
        layer2 (reuse = auto) { kernel: [64, 10]; bias: [10] (dtype = f64, trainable = false) }
        moving_mean: [64] = zeros (trainable = false),
        clipped: [64] (constraint = non_neg(), trainable = false),
        table: [10, 4],
        table { Momentum: [10, 4] = constant(0.5) (trainable = false) }
    }
    pub struct Dense(inputs, units) { kernel: [inputs, units], inner: Other(1, 2) }
    pub struct Eval in "MLP" (reuse = true) { layer1 { kernel: [784, 64] } }
"#;
const VALID_ARGS: &str = r#""encoder", reuse = auto, initializer = constant(0.5), dtype = f32"#;
const VALID_FN: &str = r#"
    /// Docs.
    pub fn dense<T: AsRef<Tensor>>(&self, x: T, units: usize) -> Result<Tensor> { let y = 1; relu(x) }
"#;

#[test]
fn model_never_panics() {
    let mut g = Gen(1);
    let valid = TokenStream::from_str(VALID_MODEL).expect("tokens");
    for round in 0..10_000 {
        let input = if round % 2 == 0 { stream(&mut g, 0) } else { mutate(&mut g, valid.clone()) };
        let _ = crate::model::expand(input);
    }
}

#[test]
fn scoped_never_panics() {
    let mut g = Gen(2);
    let (args, item) =
        (TokenStream::from_str(VALID_ARGS).expect("tokens"), TokenStream::from_str(VALID_FN).expect("tokens"));
    for round in 0..10_000 {
        let (a, i) = match round % 3 {
            0 => (stream(&mut g, 0), stream(&mut g, 0)),
            1 => (mutate(&mut g, args.clone()), item.clone()),
            _ => (args.clone(), mutate(&mut g, item.clone())),
        };
        let _ = crate::scoped::expand(a, i);
    }
}

#[test]
fn valid_inputs_expand_without_errors() {
    let model = crate::model::expand(TokenStream::from_str(VALID_MODEL).expect("tokens")).to_string();
    assert!(!model.contains("compile_error"), "{model}");
    assert!(model.contains("struct MlpLayer1"));
    assert!(model.contains("table_scope : MlpTable"), "{model}");
    let scoped = crate::scoped::expand(
        TokenStream::from_str(VALID_ARGS).expect("tokens"),
        TokenStream::from_str(VALID_FN).expect("tokens"),
    )
    .to_string();
    assert!(!scoped.contains("compile_error"), "{scoped}");
    assert!(scoped.contains("variable_scope"));
}

#[test]
fn broken_inputs_report_errors_and_keep_the_item() {
    let out = crate::scoped::expand(
        TokenStream::from_str("reuse = maybe").expect("tokens"),
        TokenStream::from_str(VALID_FN).expect("tokens"),
    )
    .to_string();
    assert!(out.contains("compile_error") && out.contains("fn dense"), "{out}");
    let out =
        crate::model::expand(TokenStream::from_str("pub struct Mlp in \"MLP\" { w: [2], w: [2] }").expect("tokens"))
            .to_string();
    assert!(out.contains("compile_error") && out.contains("struct Mlp"), "{out}");
    // Uses of the model still type-check: `build`, `build_in` and `VARIABLES`
    // exist, with bodies that cannot run.
    assert!(out.contains("fn build (") && out.contains("fn build_in <") && out.contains("VARIABLES"), "{out}");
    assert!(out.contains("unreachable ! (\"model! input has errors\")"), "{out}");
}
