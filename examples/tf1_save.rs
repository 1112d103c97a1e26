//! Saving a model as a TF1 checkpoint that TensorFlow restores: variables of
//! every dtype, a scalar, `global_step` and two partitioned variables (one
//! split along rows, one along columns), saved with `global_step=42` as
//! `tf.compat.v1.train.Saver().save(sess, "DIR/model.ckpt", global_step=42)`
//! would save them. The same values also go to `DIR/expected.safetensors`
//! (partitioned variables whole), which `tools/check_tf1_checkpoint.py`
//! compares with what TensorFlow restores.
//!
//! Run: `cargo run --example tf1_save -- DIR`, then
//! `python tools/check_tf1_checkpoint.py DIR` (needs tensorflow-cpu and safetensors).

use scopeflow::prelude::*;
use scopeflow::{SaveOptions, get_or_create_global_step, latest_checkpoint};
use std::path::{Path, PathBuf};

/// The model: every variable with a random or fixed value, as Python's check expects them.
fn build(graph: &Graph) -> Result<()> {
    graph.with_default(|| {
        variable_scope("net").with(|_| -> Result<()> {
            get_variable("kernel", [3, 4]).get()?;
            get_variable("bias", [4]).initializer(Init::RandomNormal { mean: 0.0, stddev: 1.0 }).get()?;
            get_variable("scale", []).dtype(DType::F64).initializer(Init::Constant(0.1)).get()?;
            let uniform = Init::RandomUniform { minval: -1000.0, maxval: 1000.0 };
            get_variable("ids", [5]).dtype(DType::I32).initializer(uniform.clone()).get()?;
            get_variable("counts", [2, 2]).dtype(DType::I64).initializer(uniform).get()?;
            let mask = get_variable("mask", [3]).dtype(DType::Bool).get()?;
            mask.assign(vec![true, false, true])?;
            get_variable("emb", [7, 3]).partitioner(Partitioner::fixed(3)).get()?;
            get_variable("wide", [2, 5])
                .dtype(DType::F64)
                .initializer(Init::RandomNormal { mean: 0.0, stddev: 1.0 })
                .partitioner(Partitioner::Fixed { shards: 2, axis: 1 })
                .get()?;
            Ok(())
        })?;
        get_or_create_global_step()?.assign(42i64)
    })
}

/// Saves the model in `dir` (which must exist): `model.ckpt-42.*`, `checkpoint`
/// and `expected.safetensors`. Returns the checkpoint's prefix.
pub fn run(dir: &Path) -> Result<PathBuf> {
    let graph = Graph::with_seed(11);
    build(&graph)?;
    let saver = Saver::new(&graph);
    let step = SaveOptions { global_step: Some(42), ..Default::default() };
    let prefix = saver.save_with(dir.join("model.ckpt"), &step)?;
    saver.save(dir.join("expected.safetensors"))?;
    assert_eq!(latest_checkpoint(dir)?.as_ref(), Some(&prefix));
    Ok(prefix)
}

fn main() -> Result<()> {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --example tf1_save -- DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        what: scopeflow::FileKind::Tf1Bundle,
        path: dir.display().to_string(),
        source,
    })?;
    println!("{}", run(&dir)?.display());
    Ok(())
}
