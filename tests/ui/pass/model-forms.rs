//! Every `model!` form, run: each prints the names TensorFlow would.
#![deny(warnings)]

use scopeflow::prelude::*;

model! {
    /// Scope options, nested blocks and initializers.
    pub struct Mlp in "MLP" (initializer = he_normal) {
        layer1 { kernel: [784, 64], bias: [64] = zeros }
        layer2 (initializer = constant(0.5)) { kernel: [64, 10]; bias: [10] = zeros; }
    }

    /// Shares what `Mlp` creates.
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernel: [784, 64], bias: [64] }
    }

    /// Gets or creates.
    pub struct Shared in "shared" (reuse = auto, dtype = f64) {
        table: [10, 4] = random_uniform(-1, 1),
    }

    /// Parameters as dimensions; no fixed scope: `dense`, `dense_1`, …
    pub struct Dense(inputs, units) {
        kernel: [inputs, units] = glorot_normal,
        bias: [units] (initializer = zeros),
    }

    /// Sub-models, per-variable options, deep nesting.
    pub(crate) struct Net(width) in "net" {
        hidden: Dense(3, width),
        out: Dense(width, 1),
        state {
            steps: [] (dtype = i64, trainable = false, initializer = zeros),
            inner (reuse = auto) { norm: [width] = ones }
        }
    }
}

fn main() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let mlp = Mlp::build()?;
    assert_eq!(mlp.layer2.kernel.name(), "MLP/layer2/kernel");
    assert_eq!(mlp.layer2.kernel.value()?.to_f64_vec()[0], 0.5);
    let eval = Eval::build()?;
    assert_eq!(eval.layer1.kernel, mlp.layer1.kernel);
    let a = Shared::build()?;
    let b = Shared::build()?;
    assert_eq!(a.table, b.table);
    assert_eq!(a.table.dtype(), DType::F64);
    let d0 = Dense::build(2, 3)?;
    let d1 = Dense::build(2, 3)?;
    assert_eq!((d0.kernel.name(), d1.kernel.name()), ("dense/kernel", "dense_1/kernel"));
    let net = Net::build(5)?;
    assert_eq!(net.hidden.kernel.name(), "net/hidden/kernel");
    assert_eq!(net.out.kernel.shape(), &[5, 1]);
    assert_eq!(net.state.steps.dtype(), DType::I64);
    assert!(!net.state.steps.trainable());
    assert_eq!(net.state.inner.norm.name(), "net/state/inner/norm");
    assert_eq!(
        Net::VARIABLES,
        [
            "net/hidden/kernel",
            "net/hidden/bias",
            "net/out/kernel",
            "net/out/bias",
            "net/state/steps",
            "net/state/inner/norm"
        ]
    );
    assert_eq!(Dense::VARIABLES, ["kernel", "bias"]);
    let inside = variable_scope("outer").with(|_| Mlp::build_in("copy"))?;
    assert_eq!(inside.layer1.bias.name(), "outer/copy/layer1/bias");
    Ok(())
}
