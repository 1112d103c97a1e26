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
