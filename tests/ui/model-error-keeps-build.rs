use scopeflow::prelude::*;

// One mistake (`zero` for `zeros`): the structs, `build`, `build_in` and
// `VARIABLES` are still generated, so the uses below add no errors.
model! {
    pub struct Mlp(inputs) in "MLP" {
        layer1 { kernel: [inputs, 64], bias: [64] = zero }
        head: Dense(64, 10),
    }
    pub struct Dense(inputs, units) {
        kernel: [inputs, units],
    }
}

fn build() -> Result<Variable> {
    let mlp: Mlp = Mlp::build(784)?;
    let copy = Mlp::build_in("copy", 784)?;
    let dense = Dense::build_in(&None::<&str>, 2, 3)?;
    assert_eq!(Mlp::VARIABLES.len(), Dense::VARIABLES.len() + 2);
    assert_eq!(copy.layer1.bias.name(), dense.kernel.name());
    Ok(mlp.head.kernel.clone())
}

fn main() {
    let _ = build();
}
