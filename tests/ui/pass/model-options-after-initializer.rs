//! A variable's options may follow its initializer: `= zeros (trainable = false)`.
#![deny(warnings)]

use scopeflow::prelude::*;

model! {
    /// The variables of `tf.layers.batch_normalization`, and a few more forms.
    pub struct BatchNorm(channels) in "batch_norm" {
        gamma: [channels] = ones,
        beta: [channels] = zeros,
        moving_mean: [channels] = zeros (trainable = false),
        moving_variance: [channels] = ones (trainable = false, dtype = float32),
        count: [] = constant(3) (dtype = i64, trainable = false),
        scale: [channels] = Init::Constant(0.5) (trainable = false),
        noise: [channels] = random_uniform(-1, 1) (dtype = f64),
    }
}

fn main() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let bn = BatchNorm::build(4)?;
    assert_eq!(bn.moving_mean.name(), "batch_norm/moving_mean");
    assert!(!bn.moving_mean.trainable());
    assert_eq!(bn.moving_mean.value()?.to_f64_vec(), [0.0; 4]);
    assert!(!bn.moving_variance.trainable());
    assert_eq!(bn.moving_variance.value()?.to_f64_vec(), [1.0; 4]);
    assert_eq!(bn.count.dtype(), DType::I64);
    assert_eq!(bn.count.value()?.to_f64_vec(), [3.0]);
    assert_eq!(bn.scale.value()?.to_f64_vec(), [0.5; 4]);
    assert_eq!(bn.noise.dtype(), DType::F64);
    assert!(bn.noise.value()?.to_f64_vec().iter().all(|x| (-1.0..1.0).contains(x)));
    let trainable: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    assert_eq!(trainable, ["batch_norm/gamma", "batch_norm/beta", "batch_norm/noise"]);
    Ok(())
}
