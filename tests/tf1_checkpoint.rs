//! The TF1 checkpoint TensorFlow wrote (`../shared/fixtures/tf1_mlp`) reads
//! bit for bit, restores by name, and reproduces TensorFlow's outputs.

#[allow(dead_code)]
#[path = "../examples/tf1_checkpoint.rs"]
mod tf1;

use scopeflow::{Stored, read_tf1_checkpoint};
use serde_json::Value as Json;

fn json(name: &str) -> Json {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tf1_mlp").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn floats(v: &Json) -> Vec<f64> {
    let mut out = Vec::new();
    match v {
        Json::Array(items) => items.iter().for_each(|i| out.extend(floats(i))),
        Json::Number(n) => out.push(n.as_f64().expect("number")),
        other => panic!("not a number: {other}"),
    }
    out
}

#[test]
fn every_tensor_reads_bit_for_bit() -> scopeflow::Result<()> {
    let expected = json("expected.json");
    let tensors = read_tf1_checkpoint(tf1::fixture())?;
    let wanted = expected["variables"].as_array().expect("variables");
    assert_eq!(tensors.len(), wanted.len());
    for var in wanted {
        let name = var["name"].as_str().expect("name");
        let Stored::Value(value) = &tensors[name] else { panic!("{name} unsupported") };
        let shape: Vec<usize> =
            var["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().expect("dim") as usize).collect();
        assert_eq!(value.shape(), shape.as_slice(), "{name}");
        assert_eq!(value.dtype().name(), var["dtype"].as_str().expect("dtype"));
        let data = value.to_f64_vec();
        for (got, want) in data.iter().zip(floats(&var["first5"])) {
            assert_eq!(*got as f32, want as f32, "{name}");
        }
        let sum: f64 = data.iter().sum();
        assert!((sum - var["sum"].as_f64().expect("sum")).abs() < 1e-9, "{name}: {sum}");
    }
    Ok(())
}

#[test]
fn the_restored_model_reproduces_tensorflows_outputs() -> scopeflow::Result<()> {
    let io = json("io.json");
    let mut log = Vec::new();
    let (output, rows_a, rows_b) = tf1::run_model(&tf1::fixture(), &mut log)?;
    let log = String::from_utf8(log).expect("utf-8");
    assert!(log.contains("\"MLP/layer1/kernel\"") && log.contains("\"text_embedding/matrix\""), "{log}");
    let (atol, rtol) =
        (io["tolerance"]["atol"].as_f64().expect("atol"), io["tolerance"]["rtol"].as_f64().expect("rtol"));
    let want = floats(&io["output"]["values"]);
    let got = output.to_f64_vec();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "got {g}, TensorFlow {w}");
    }
    // The rows are float32 values: equal to TensorFlow's exactly, compared as float32.
    let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
    assert_eq!(f32s(rows_a.to_f64_vec()), f32s(floats(&io["embedding_lookup"]["output_a"])));
    assert_eq!(f32s(rows_b.to_f64_vec()), f32s(floats(&io["embedding_lookup"]["output_b"])));
    Ok(())
}

#[test]
fn a_damaged_checkpoint_is_an_error_that_names_the_problem() {
    let dir = std::env::temp_dir().join(format!("scopeflow-tf1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let src = tf1::fixture();
    let copy = |suffix: &str| {
        std::fs::copy(format!("{}{suffix}", src.display()), dir.join(format!("model.ckpt{suffix}"))).expect("copy")
    };
    copy(".index");
    copy(".data-00000-of-00001");
    let prefix = dir.join("model.ckpt");
    let data = dir.join("model.ckpt.data-00000-of-00001");
    let mut bytes = std::fs::read(&data).expect("data");
    bytes[200] ^= 0xff; // inside MLP/layer1/kernel
    std::fs::write(&data, &bytes).expect("write");
    let err = read_tf1_checkpoint(&prefix).unwrap_err().to_string();
    assert!(err.contains("MLP/layer1/kernel") && err.contains("CRC"), "{err}");
    let index = dir.join("model.ckpt.index");
    let mut idx = std::fs::read(&index).expect("index");
    idx[20] ^= 0x01;
    std::fs::write(&index, &idx).expect("write");
    assert!(read_tf1_checkpoint(&prefix).is_err());
    std::fs::write(&index, &idx[..30]).expect("write");
    assert!(read_tf1_checkpoint(&prefix).is_err());
    assert!(read_tf1_checkpoint(dir.join("absent")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

/// tests/data/tf1_many, written by TensorFlow (tools/make_tf1_checkpoint.py):
/// 321 variables of every dtype, scalars and a 300x300 matrix, with an index
/// of several table blocks.
#[test]
fn any_tf1_checkpoint_reads_every_dtype_and_a_multi_block_index() -> scopeflow::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_many");
    let expected: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("json")).expect("json");
    let tensors = read_tf1_checkpoint(dir.join("model.ckpt"))?;
    let wanted = expected.as_array().expect("a list");
    assert_eq!(tensors.len(), wanted.len());
    assert_eq!(
        tensors.keys().collect::<Vec<_>>(),
        wanted.iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>().iter().collect::<Vec<_>>()
    );
    for var in wanted {
        let name = var["name"].as_str().expect("name");
        let Stored::Value(value) = &tensors[name] else { panic!("{name} unsupported") };
        assert_eq!(value.dtype().name(), var["dtype"].as_str().expect("dtype"), "{name}");
        let shape: Vec<usize> =
            var["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(value.shape(), shape.as_slice(), "{name}");
        let data = value.to_f64_vec();
        let as_dtype = |x: f64| if value.dtype() == scopeflow::DType::F32 { (x as f32) as f64 } else { x };
        for (got, want) in data.iter().zip(floats(&var["first5"])) {
            assert_eq!(*got, as_dtype(want), "{name}");
        }
        let sum: f64 = data.iter().sum();
        let want = var["sum"].as_f64().expect("sum");
        assert!((sum - want).abs() <= 1e-9 * want.abs().max(1.0), "{name}: {sum} vs {want}");
    }
    Ok(())
}

/// The variables of tests/data/tf1_written (tools/make_tf1_written.py), with TF's values.
fn written_model(graph: &scopeflow::Graph) -> scopeflow::Result<()> {
    use scopeflow::ndarray::{Array, IxDyn};
    use scopeflow::{DType, Partitioner, Value, get_variable, variable_scope};
    let array = |shape: &[usize], v: Vec<f32>| Value::from(Array::from_shape_vec(IxDyn(shape), v).expect("shape"));
    graph.with_default(|| {
        let f32s = (0..6).map(|i| (i as f32 - 2.5) / 7.0).collect();
        variable_scope("a").with(|_| {
            get_variable("float32", [2, 3]).get()?.assign(array(&[2, 3], f32s))?;
            get_variable("float64", [2]).dtype(DType::F64).get()?.assign(vec![1.0f64 / 3.0, -2.5e300])
        })?;
        variable_scope("b").with(|_| {
            get_variable("int32", [3]).dtype(DType::I32).get()?.assign(vec![i32::MIN, 0, i32::MAX])?;
            get_variable("int64", [2]).dtype(DType::I64).get()?.assign(vec![i64::MIN, (1 << 40) + 3])
        })?;
        let bools = Array::from_shape_vec(IxDyn(&[2, 2]), vec![true, false, false, true]).expect("shape");
        get_variable("c/bool", [2, 2]).dtype(DType::Bool).get()?.assign(bools)?;
        get_variable("scalar", []).get()?.assign(0.5f32)?;
        let emb = get_variable("emb", [5, 2]).partitioner(Partitioner::fixed(3)).get()?;
        emb.assign(array(&[5, 2], (0..10).map(|i| i as f32 / 3.0).collect()))?;
        let wide = get_variable("wide", [2, 6])
            .dtype(DType::I64)
            .partitioner(Partitioner::Fixed { shards: 2, axis: 1 })
            .get()?;
        wide.assign(Array::from_shape_vec(IxDyn(&[2, 6]), (0..12).map(|i| i - 6i64).collect()).expect("shape"))
    })
}

fn written_fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_written")
}

/// tests/data/tf1_written holds what TensorFlow's Saver wrote for
/// `written_model`; scopeflow's Saver writes the same bytes: index (header,
/// entries, slices, checksums, table layout), data file and state file.
#[test]
fn saving_writes_the_bytes_tensorflow_writes_every_dtype_and_partitioned() -> scopeflow::Result<()> {
    let graph = scopeflow::Graph::new();
    written_model(&graph)?;
    let dir = std::env::temp_dir().join(format!("scopeflow-tf1-written-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    let options = scopeflow::SaveOptions { global_step: Some(7), ..Default::default() };
    let prefix = scopeflow::Saver::new(&graph).save_with(dir.join("model.ckpt"), &options)?;
    assert_eq!(prefix, dir.join("model.ckpt-7"));
    for file in ["model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001", "checkpoint"] {
        let ours = std::fs::read(dir.join(file)).expect("written");
        let theirs = std::fs::read(written_fixture().join(file)).expect("fixture");
        assert!(ours == theirs, "{file} differs from TensorFlow's:\n{ours:02x?}\n{theirs:02x?}");
    }
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).expect("dir").map(|e| e.expect("entry").file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["checkpoint", "model.ckpt-7.data-00000-of-00001", "model.ckpt-7.index"]);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// TensorFlow's sliced entries (partitioned variables) read whole, and a
/// graph of the same variables restores from TensorFlow's prefix.
#[test]
fn tensorflows_sliced_entries_read_whole_and_restore() -> scopeflow::Result<()> {
    let prefix = scopeflow::latest_checkpoint(written_fixture())?.expect("the state file names a checkpoint");
    assert_eq!(prefix, written_fixture().join("model.ckpt-7"));
    let tensors = read_tf1_checkpoint(&prefix)?;
    let want = scopeflow::Graph::new();
    written_model(&want)?;
    let names: Vec<&str> = tensors.keys().map(String::as_str).collect();
    assert_eq!(names, ["a/float32", "a/float64", "b/int32", "b/int64", "c/bool", "emb", "scalar", "wide"]);
    for (name, stored) in &tensors {
        let var = want.variable(name).expect("a variable of the model");
        assert_eq!(stored, &Stored::Value(var.value()?), "{name}");
    }
    let graph = scopeflow::Graph::new();
    written_model(&graph)?;
    for v in graph.global_variables(None)? {
        let zeros = scopeflow::Value::filled(v.dtype(), v.shape(), 0.0);
        v.assign(zeros)?;
    }
    let strict = scopeflow::RestoreOptions { strict: true, ..Default::default() };
    let report = scopeflow::Saver::new(&graph).restore_with(&prefix, &strict)?;
    assert_eq!(report.applied.len(), 8);
    for name in names {
        assert_eq!(graph.variable(name).expect("var").value()?, want.variable(name).expect("var").value()?, "{name}");
    }
    Ok(())
}

/// Every tensor of TensorFlow's tests/data/tf1_many (321 variables of every
/// dtype: an index with hundreds of prefix-compressed keys and restart
/// points), written back by `write_tf1_checkpoint`, gives TF's files byte for byte.
#[test]
fn rewriting_a_tensorflow_checkpoint_gives_its_bytes_back() -> scopeflow::Result<()> {
    let tf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_many/model.ckpt");
    let values = read_tf1_checkpoint(&tf)?
        .into_iter()
        .map(|(name, stored)| match stored {
            Stored::Value(v) => (name, v),
            Stored::Unsupported { .. } => panic!("{name} unsupported"),
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("scopeflow-tf1-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    scopeflow::write_tf1_checkpoint(dir.join("model.ckpt"), &values)?;
    for suffix in [".index", ".data-00000-of-00001"] {
        let ours = std::fs::read(dir.join(format!("model.ckpt{suffix}"))).expect("written");
        let theirs = std::fs::read(format!("{}{suffix}", tf.display())).expect("fixture");
        assert!(ours == theirs, "{suffix} differs from TensorFlow's ({} vs {} bytes)", ours.len(), theirs.len());
    }
    assert!(!dir.join("checkpoint").exists(), "write_tf1_checkpoint writes no state file");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
