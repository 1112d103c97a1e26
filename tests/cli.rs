//! The `scopeflow` command: inspect checkpoints, diff them against a model, convert them.

#[allow(dead_code)]
#[path = "../examples/tf1_checkpoint.rs"]
mod tf1;

use scopeflow::prelude::*;
use std::process::Command;

fn scopeflow(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scopeflow")).args(args).output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).expect("utf-8"))
}

#[test]
fn inspect_json_lists_every_tensor_sorted_with_dtype_and_shape() {
    let prefix = tf1::fixture();
    let (code, out) = scopeflow(&["inspect", "--json", prefix.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).expect("json");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(prefix.with_file_name("expected.json")).expect("fixture"))
            .expect("json");
    let want: Vec<(String, String, serde_json::Value)> = expected["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v["dtype"].as_str().unwrap().to_owned(), v["shape"].clone()))
        .collect();
    let got: Vec<(String, String, serde_json::Value)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v["dtype"].as_str().unwrap().to_owned(), v["shape"].clone()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn inspect_prints_a_scope_tree_of_safetensors_files_too() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("scopeflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("m.safetensors");
    let graph = Graph::new();
    graph.with_default(|| variable_scope("enc").with(|_| get_variable("w", [2, 3]).dtype(DType::F64).get()))?;
    scopeflow::Saver::new(&graph).save(&path)?;
    let (code, out) = scopeflow(&["inspect", path.to_str().expect("utf-8")]);
    assert_eq!((code, out.as_str()), (0, "enc/\n  w [2, 3] float64\n1 tensors\n"));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn diff_compares_a_checkpoint_with_a_model_manifest() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("scopeflow-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let graph = Graph::new();
    graph.with_default(|| -> Result<()> {
        tf1::Mlp::build()?;
        tf1::TextEmbedding::build()?;
        Ok(())
    })?;
    let manifest = dir.join("manifest.txt");
    std::fs::write(&manifest, graph.manifest().summary()).expect("write");
    let prefix = tf1::fixture();
    let prefix = prefix.to_str().expect("utf-8");
    let (code, out) = scopeflow(&["diff", prefix, manifest.to_str().expect("utf-8")]);
    assert_eq!((code, out.as_str()), (0, "5 in both, 0 differences\n"));

    let other = Graph::new();
    other.with_default(|| -> Result<()> {
        variable_scope("MLP/layer1").with(|_| get_variable("kernel", [784, 64]).get())?;
        get_variable("extra", [1]).get()?;
        Ok(())
    })?;
    std::fs::write(&manifest, other.manifest().summary()).expect("write");
    let (code, out) = scopeflow(&["diff", prefix, manifest.to_str().expect("utf-8")]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "mismatched  MLP/layer1/kernel: the model has [784, 64] float32, the checkpoint [784, 32] float32"
        ),
        "{out}"
    );
    assert!(out.contains("missing     extra [1] float32"), "{out}");
    assert!(out.contains("unexpected  text_embedding/matrix [50, 8] float32"), "{out}");
    assert!(out.ends_with("1 in both, 6 differences\n"), "{out}");
    assert_eq!(scopeflow(&["frobnicate"]).0, 2);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn convert_writes_a_tf1_checkpoint_byte_for_byte_as_tensorflow_wrote_it() {
    let dir = std::env::temp_dir().join(format!("scopeflow-cli-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let safetensors = dir.join("mlp.safetensors");
    let prefix = dir.join("mlp.ckpt");
    let fixture = tf1::fixture();
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    assert_eq!(scopeflow(&["convert", &path(&fixture), &path(&safetensors)]).0, 0);
    let (code, out) = scopeflow(&["convert", &path(&safetensors), &path(&prefix)]);
    assert_eq!((code, out.trim_end()), (0, format!("wrote 5 tensors to {}", path(&prefix)).as_str()));
    for suffix in [".index", ".data-00000-of-00001"] {
        let ours = std::fs::read(format!("{}{suffix}", prefix.display())).expect("written");
        let theirs = std::fs::read(format!("{}{suffix}", fixture.display())).expect("fixture");
        assert!(ours == theirs, "{suffix} differs from TensorFlow's");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_refuses_to_write_over_what_it_reads_and_inspect_survives_a_closed_pipe() -> Result<()> {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("scopeflow-cli-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut values = std::collections::BTreeMap::new();
    for i in 0..2000 {
        values.insert(format!("scope_{i}/w"), Value::from(vec![i as f32]));
    }
    values.insert("odd\nname\u{7}".to_owned(), Value::from(vec![1.0f32]));
    let prefix = dir.join("m.ckpt");
    scopeflow::write_tf1_checkpoint(&prefix, &values)?;
    let index = dir.join("m.ckpt.index");
    let before = std::fs::read(&index).expect("index");
    let (p, i) = (prefix.to_str().expect("utf-8"), index.to_str().expect("utf-8"));
    assert_eq!(scopeflow(&["convert", p, i]).0, 2);
    assert_eq!(scopeflow(&["convert", i, p]).0, 2);
    assert_eq!(std::fs::read(&index).expect("index"), before);
    // Control characters are escaped, not sent to the terminal.
    let (code, out) = scopeflow(&["inspect", p]);
    assert_eq!(code, 0);
    assert!(out.contains("odd\\nname\\u{7}") && !out.contains('\u{7}'), "{out}");
    // `scopeflow inspect … | head -1`: the reader goes away after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_scopeflow"))
        .args(["inspect", p])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("a line");
    let status = child.wait_with_output().expect("ends");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(!String::from_utf8_lossy(&status.stderr).contains("panicked"));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn a_file_that_is_also_a_tf1_prefix_is_refused_as_ambiguous() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("scopeflow-ambiguous-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut values = std::collections::BTreeMap::new();
    values.insert("w".to_owned(), Value::from(vec![1.0f32]));
    let prefix = dir.join("model");
    scopeflow::write_tf1_checkpoint(&prefix, &values)?;
    scopeflow::write_safetensors(&prefix, &values)?;
    let err = scopeflow::read_checkpoint(&prefix).unwrap_err();
    assert!(err.to_string().contains("both a file and the prefix"), "{err}");
    assert!(scopeflow::read_checkpoint(dir.join("model.index")).is_ok());
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn help_describes_every_command_and_the_exit_codes() {
    let (code, out) = scopeflow(&["--help"]);
    assert_eq!(code, 0);
    assert!(["inspect", "diff", "convert", "exit codes"].iter().all(|w| out.contains(w)), "{out}");
    for command in ["inspect", "diff", "convert"] {
        let (code, out) = scopeflow(&[command, "--help"]);
        assert_eq!(code, 0);
        assert!(out.starts_with(&format!("scopeflow {command}")), "{out}");
    }
    assert_eq!(scopeflow(&["frobnicate", "--help"]).0, 2);
    assert_eq!(scopeflow(&["inspect"]).0, 2);
}
