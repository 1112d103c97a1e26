//! Each example runs as a test that checks the names it prints.

#[allow(dead_code)]
#[path = "../examples/conv.rs"]
mod conv;
#[allow(dead_code)]
#[path = "../examples/mlp.rs"]
mod mlp;
#[allow(dead_code)]
#[path = "../examples/rnn.rs"]
mod rnn;
#[allow(dead_code)]
#[path = "../examples/scope_names.rs"]
mod scope_names;
#[allow(dead_code)]
#[path = "../examples/shared_embedding.rs"]
mod shared_embedding;
#[allow(dead_code)]
#[path = "../examples/siamese.rs"]
mod siamese;
#[allow(dead_code)]
#[path = "../examples/tf1_save.rs"]
mod tf1_save;
#[allow(dead_code)]
#[path = "../examples/threads.rs"]
mod threads;
#[allow(dead_code)]
#[path = "../examples/train_digits/main.rs"]
mod train_digits;

fn output(run: impl FnOnce(&mut Vec<u8>) -> scopeflow::Result<()>) -> Result<String, scopeflow::Error> {
    let mut out = Vec::new();
    run(&mut out)?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

#[test]
fn scope_names_prints_tensorflows_names() -> Result<(), scopeflow::Error> {
    let out = output(scope_names::run)?;
    let names: Vec<&str> = out.lines().map(|l| l.rsplit(": ").next().unwrap_or("")).collect();
    assert_eq!(
        names,
        [
            "s1/s2/w",
            "s1_1/w",
            "s1_1/w_1",
            "scope_vars/a",
            "scope_vars/b",
            "scope_vars/c",
            "scope_vars/res/Mul",
            "scope_vars/res/res",
            "5",
            "scope_name/a",
            "b",
            "scope_name/c",
            "scope_name/res/res",
            "foo/bar/v",
            "foo/bar_1",
            "foo/bar_1/b",
            "foo/v",
            "foo/Mul",
            "foo/v",
            "foo_1/Mul",
            "const/",
            "const/a",
            "const_1/",
            "const/a",
            "var1",
            "my_scope/var2",
            "my_scope/Add",
        ]
    );
    Ok(())
}

#[test]
fn shared_embedding_shares_one_matrix() -> Result<(), scopeflow::Error> {
    let out = output(shared_embedding::run)?;
    assert!(out.contains("lookup a uses text_embedding/matrix and makes text_embedding/embedding_lookup"), "{out}");
    assert!(out.contains("lookup b uses text_embedding/matrix and makes text_embedding_1/embedding_lookup"), "{out}");
    assert!(out.contains("lookup shapes [3, 8] and [1, 8]"), "{out}");
    assert!(out.contains("row 7 equal in both lookups: true"), "{out}");
    assert!(out.contains("one matrix shared: true"), "{out}");
    assert!(out.contains("reuse = true finds text_embedding/matrix (same: true)"), "{out}");
    assert!(out.contains("`text_embedding/typo` does not exist"), "{out}");
    assert!(out.ends_with("text_embedding/matrix (50, 8) float32 global_variables,trainable_variables\n"), "{out}");
    Ok(())
}

#[test]
fn mlp_names_layers_by_argument_and_default_name() -> Result<(), scopeflow::Error> {
    let out = output(mlp::run)?;
    let expected = "variable MLP/layer1/kernel [784, 64]
variable MLP/layer1/bias [64]
variable MLP/dense_layer/kernel [64, 32]
variable MLP/dense_layer/bias [32]
variable MLP/layer2/kernel [32, 10]
variable MLP/layer2/bias [10]
output MLP/layer2/Relu (None, 10)
eval shares MLP/layer1/kernel: true
compile-time names [\"MLP/layer1/kernel\", \"MLP/layer1/bias\", \"MLP/layer2/kernel\", \"MLP/layer2/bias\"]
";
    let (names, result) = out.split_at(expected.len());
    assert_eq!(names, expected);
    assert!(result.starts_with("output values for a batch of 32: shape [32, 10], all >= 0: true"), "{result}");
    Ok(())
}

#[test]
fn siamese_towers_share_weights_but_not_op_scopes() -> Result<(), scopeflow::Error> {
    let out = output(siamese::run)?;
    assert_eq!(
        out,
        "left tower output tower/MatMul_1
right tower output tower_1/MatMul_1
distance distance/Mul
shared variables [\"tower/fc1/kernel\", \"tower/fc2/kernel\"]
distance [2, 4], to itself all zero: true
"
    );
    Ok(())
}

#[test]
fn rnn_cell_is_shared_over_steps_and_missing_from_another_scope() -> Result<(), scopeflow::Error> {
    let out = output(rnn::run)?;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..4],
        ["step 0: rnn/cell/Relu", "step 1: rnn/cell_1/Relu", "step 2: rnn/cell_2/Relu", "step 3: rnn/cell_3/Relu"]
    );
    assert_eq!(lines[4], "variables [\"rnn/cell/W\", \"rnn/cell/U\", \"rnn/cell/b\"]");
    assert_eq!(lines[5], "final state [1, 4], non-negative: true");
    assert_eq!(lines[6], "shared from rnn: rnn/cell_4/Relu");
    assert!(lines[7].starts_with("from decoder: variable `decoder/cell/W` does not exist"), "{}", lines[7]);
    Ok(())
}

#[test]
fn threads_reenter_the_captured_scope_and_share_one_embedding() -> Result<(), scopeflow::Error> {
    let out = output(threads::run)?;
    for i in 0..3 {
        assert!(out.contains(&format!("thread {i}: scope main (captured ops scope main/)")), "{out}");
        assert!(out.contains(&format!("thread {i}: shares main/embedding")), "{out}");
        assert!(out.contains(&format!("thread {i}: head output [1, 2]")), "{out}");
    }
    assert!(out.contains("head ops [\"main_1/head/MatMul\", \"main_2/head/MatMul\", \"main_3/head/MatMul\"]"), "{out}");
    assert!(out.contains("one embedding: true"), "{out}");
    Ok(())
}

#[test]
fn conv_layers_get_default_names_and_the_network_runs() -> Result<(), scopeflow::Error> {
    let out = output(conv::run)?;
    let expected = "variable cnn/conv/kernel [3, 3, 1, 8]
variable cnn/conv/bias [8]
variable cnn/conv_1/kernel [3, 3, 8, 16]
variable cnn/conv_1/bias [16]
variable cnn/classifier/kernel [784, 10]
variable cnn/classifier/bias [10]
output cnn/classifier/Softmax (None, 10)
probabilities [4, 10], each row sums to 1: true
";
    assert_eq!(out, expected);
    Ok(())
}

/// A fresh directory under the system's temporary one, for one test's files.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scopeflow-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

#[test]
fn train_digits_learns_the_digits_through_shared_towers() -> Result<(), Box<dyn std::error::Error>> {
    let logdir = temp_dir("train-digits");
    let options = train_digits::Options { logdir: logdir.clone(), progress: false, ..Default::default() };
    let mut out = Vec::new();
    let accuracy = train_digits::run(&mut out, &options)?;
    let out = String::from_utf8(out)?;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "digits: 1437 training and 360 test images of 64 pixels");
    assert_eq!(
        lines[1],
        "towers train/mlp/logits/BiasAdd and eval/mlp/logits/BiasAdd share \
         [\"mlp/hidden/kernel\", \"mlp/hidden/bias\", \"mlp/logits/kernel\", \"mlp/logits/bias\"]"
    );
    // An MLP reaches 0.95 on these digits; one that does not learn stays near 0.1.
    assert!(accuracy >= 0.95, "{out}");
    assert_eq!(lines.last(), Some(&format!("test accuracy={accuracy:.4}").as_str()));
    let saved = scopeflow::read_safetensors(logdir.join("model.safetensors"))?;
    for name in ["mlp/hidden/kernel", "mlp/logits/bias", "mlp/hidden/kernel/Adam", "global_step"] {
        assert!(saved.contains_key(name), "{name} missing from {:?}", saved.keys());
    }
    let events = std::fs::read_dir(&logdir)?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("events.out.tfevents."));
    assert_eq!(events.count(), 1);
    std::fs::remove_dir_all(&logdir)?;
    Ok(())
}

#[test]
fn train_digits_reads_fashion_mnist_idx_files_plain_or_gzipped() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    // A stand-in for Fashion-MNIST: 28x28 images whose class is the row of their one bright band.
    let dir = temp_dir("fashion-idx");
    std::fs::create_dir_all(&dir)?;
    let write = |name: &str, dims: &[u32], data: &[u8], gz: bool| -> std::io::Result<()> {
        let mut idx = vec![0, 0, 8, dims.len() as u8];
        dims.iter().for_each(|d| idx.extend(d.to_be_bytes()));
        idx.extend(data);
        if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&idx)?;
            std::fs::write(dir.join(format!("{name}.gz")), e.finish()?)
        } else {
            std::fs::write(dir.join(name), idx)
        }
    };
    for (prefix, count, gz) in [("train", 200u32, true), ("t10k", 50, false)] {
        let labels: Vec<u8> = (0..count).map(|i| (i * 7 % 10) as u8).collect();
        let images: Vec<u8> = labels
            .iter()
            .flat_map(|&l| (0..784).map(move |p| if p / 28 / 3 == usize::from(l) { 255 } else { 0 }))
            .collect();
        write(&format!("{prefix}-images-idx3-ubyte"), &[count, 28, 28], &images, gz)?;
        write(&format!("{prefix}-labels-idx1-ubyte"), &[count], &labels, gz)?;
    }
    let options = train_digits::Options {
        fashion_mnist: Some(dir.clone()),
        epochs: Some(3),
        logdir: dir.join("logs"),
        progress: false,
    };
    let mut out = Vec::new();
    let accuracy = train_digits::run(&mut out, &options)?;
    let out = String::from_utf8(out)?;
    assert!(out.starts_with("fashion-mnist: 200 training and 50 test images of 784 pixels\n"), "{out}");
    assert!(accuracy >= 0.9, "{out}");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte"))?;
    let err = train_digits::run(&mut Vec::new(), &options).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("cannot read ") && err.contains("t10k-labels-idx1-ubyte.gz"), "{err}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn tf1_save_writes_every_variable_in_both_formats_with_the_same_values() -> Result<(), scopeflow::Error> {
    let dir = std::env::temp_dir().join(format!("scopeflow-example-tf1-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let prefix = tf1_save::run(&dir)?;
    assert_eq!(prefix, dir.join("model.ckpt-42"));
    let tf1 = scopeflow::read_tf1_checkpoint(&prefix)?;
    let names: Vec<&str> = tf1.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "global_step",
            "net/bias",
            "net/counts",
            "net/emb",
            "net/ids",
            "net/kernel",
            "net/mask",
            "net/scale",
            "net/wide"
        ]
    );
    assert_eq!(tf1, scopeflow::read_safetensors(dir.join("expected.safetensors"))?);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
