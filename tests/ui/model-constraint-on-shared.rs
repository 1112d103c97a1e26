use scopeflow::prelude::*;
use scopeflow::{constant, maximum, Constraint};

fn non_neg() -> Constraint {
    Constraint::new(|w| maximum(w, &constant(0.0f32)?))
}

model! {
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 64] (constraint = non_neg()) }
    }
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernel: [784, 64] (constraint = non_neg()) }
    }
}

fn main() {}
