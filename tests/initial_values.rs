//! Initial values as TensorFlow's: the graphs `tools/record_tf_initial_values.py`
//! built with TensorFlow (TF1 graph mode, `tf.set_random_seed`) are built again
//! with the public API, and every variable's initial value, and each run of a
//! `random_uniform`, `random_normal`, `truncated_normal` or training-mode
//! dropout, equals TensorFlow's bit for bit
//! (tests/data/tf_initial_values.json).

use scopeflow::prelude::*;
use scopeflow::{
    Distribution, FanMode, NodeInfo, Partitioner, add, layers, random_normal, random_uniform, random_uniform_with_seed,
    shape, truncated_normal,
};
use serde_json::Value as Json;

fn recorded() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tf_initial_values.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the recorded values")).expect("json")
}

fn dtype(s: &str) -> DType {
    match s {
        "f32" => DType::F32,
        "f64" => DType::F64,
        "i32" => DType::I32,
        "i64" => DType::I64,
        other => panic!("unknown dtype {other}"),
    }
}

fn dims(j: &Json) -> Vec<usize> {
    j.as_array().expect("a shape").iter().map(|d| d.as_u64().expect("a size") as usize).collect()
}

/// The initializer a recorded step names, as a scopeflow user writes it.
fn initializer(spec: &Json) -> Option<Init> {
    let spec = spec.as_array().expect("an initializer");
    let f = |i: usize| spec[i].as_f64().expect("a number");
    let seed = spec.last().and_then(|s| s.get("seed")).map(|s| s.as_u64().expect("a seed"));
    let init = match spec[0].as_str().expect("a kind") {
        "default" => return None,
        "zeros" => Init::Zeros,
        "random_uniform" => Init::RandomUniform { minval: f(1), maxval: f(2) },
        "random_normal" => Init::RandomNormal { mean: f(1), stddev: f(2) },
        "truncated_normal" => Init::TruncatedNormal { mean: f(1), stddev: f(2) },
        "glorot_uniform" => Init::GlorotUniform,
        "glorot_normal" => Init::GlorotNormal,
        "he_normal" => Init::HeNormal,
        "he_uniform" => Init::HeUniform,
        "variance_scaling" => Init::VarianceScaling {
            scale: f(1),
            mode: match spec[2].as_str() {
                Some("fan_in") => FanMode::FanIn,
                Some("fan_out") => FanMode::FanOut,
                _ => FanMode::FanAvg,
            },
            // TF's "normal" is the truncated normal.
            distribution: match spec[3].as_str() {
                Some("uniform") => Distribution::Uniform,
                Some("untruncated_normal") => Distribution::UntruncatedNormal,
                _ => Distribution::TruncatedNormal,
            },
        },
        other => panic!("unknown initializer {other}"),
    };
    Some(match seed {
        Some(seed) => init.with_seed(seed),
        None => init,
    })
}

/// A value as the recorder wrote it: floats by their bits, integers as numbers.
fn as_recorded(value: &Value) -> Vec<Json> {
    match value {
        Value::F32(a) => a.iter().map(|x| Json::from(format!("{:08x}", x.to_bits()))).collect(),
        Value::F64(a) => a.iter().map(|x| Json::from(format!("{:016x}", x.to_bits()))).collect(),
        Value::I32(a) => a.iter().map(|&x| Json::from(x)).collect(),
        Value::I64(a) => a.iter().map(|&x| Json::from(x)).collect(),
        Value::Bool(_) => panic!("no bool variables are recorded"),
    }
}

/// Builds one recorded case, returning what its runs fetch (and how often).
fn build(case: &Json) -> Result<Vec<(Tensor, usize)>> {
    let mut runs = Vec::new();
    for step in case["steps"].as_array().expect("steps") {
        let step = step.as_array().expect("a step");
        match step[0].as_str().expect("a step kind") {
            "var" => {
                let mut var = get_variable(step[1].as_str().expect("a name"), dims(&step[2]))
                    .dtype(dtype(step[3].as_str().expect("a dtype")));
                if let Some(init) = initializer(&step[4]) {
                    var = var.initializer(init);
                }
                if let Some(shards) = step.get(5) {
                    var = var.partitioner(Partitioner::fixed(shards.as_u64().expect("shards") as usize));
                }
                var.get()?;
            }
            "const" => {
                // Ops that draw nothing take no seed.
                let ones = vec![1.0f32; dims(&step[1]).iter().product()];
                add(
                    &constant(ndarray::ArrayD::from_shape_vec(dims(&step[1]), ones).expect("ones"))?,
                    &constant(1.0f32)?,
                )?;
            }
            "dense" => {
                let x = placeholder(DType::F32, Shape::from_dims([None, Some(step[1].as_u64().unwrap() as usize)]))?;
                layers::dense(&x, step[2].as_u64().unwrap() as usize).build()?;
            }
            "conv2d" => {
                let c = Some(step[1].as_u64().unwrap() as usize);
                let x = placeholder(DType::F32, Shape::from_dims([None, Some(5), Some(5), c]))?;
                layers::conv2d(&x, step[2].as_u64().unwrap() as usize, step[3].as_u64().unwrap() as usize).build()?;
            }
            "uniform" => {
                let d: Vec<i32> = dims(&step[1]).iter().map(|&d| d as i32).collect();
                let s = constant(ndarray::Array1::from(d))?;
                let t = match step.get(4) {
                    Some(seed) => {
                        random_uniform_with_seed(&s, dtype(step[3].as_str().unwrap()), seed.as_u64().unwrap())?
                    }
                    None => random_uniform(&s, dtype(step[3].as_str().unwrap()))?,
                };
                runs.push((t, step[2].as_u64().unwrap() as usize));
            }
            kind @ ("normal" | "truncated") => {
                let x = constant(ndarray::ArrayD::<f32>::zeros(dims(&step[1])))?;
                let (dtype, mean, stddev) =
                    (dtype(step[3].as_str().unwrap()), step[4].as_f64().unwrap(), step[5].as_f64().unwrap());
                let t = if kind == "normal" {
                    random_normal(&shape(&x)?, mean, stddev, dtype)?
                } else {
                    truncated_normal(&shape(&x)?, mean, stddev, dtype)?
                };
                runs.push((t, step[2].as_u64().unwrap() as usize));
            }
            "dropout" => {
                let d = dims(&step[1]);
                let x = constant(ndarray::ArrayD::from_elem(d, 1.0f32))?;
                let t = layers::dropout(&x).rate(step[2].as_f64().unwrap()).training(true).build()?;
                runs.push((t, step[3].as_u64().unwrap() as usize));
            }
            other => panic!("unknown step {other}"),
        }
    }
    Ok(runs)
}

fn graph_for(case: &Json) -> Graph {
    match case["graph_seed"].as_u64() {
        Some(seed) => Graph::with_seed(seed),
        None => Graph::new(),
    }
}

#[test]
fn every_recorded_initial_value_is_tensorflows_bit_for_bit() -> Result<()> {
    let recorded = recorded();
    let mut checked = 0;
    for case in recorded["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("a case name");
        let graph = graph_for(case);
        let _g = graph.as_default();
        build(case)?;
        let ours = graph.global_variables(None)?;
        let theirs = case["variables"].as_array().expect("variables");
        let names: Vec<&str> = ours.iter().map(|v| v.name()).collect();
        let expected: Vec<&str> = theirs.iter().map(|v| v["name"].as_str().expect("a name")).collect();
        assert_eq!(names, expected, "{name}: the variables");
        for (var, tf) in ours.iter().zip(theirs) {
            assert_eq!(var.shape(), dims(&tf["shape"]).as_slice(), "{name}: {}", var.name());
            assert_eq!(var.dtype(), dtype(tf["dtype"].as_str().unwrap()), "{name}: {}", var.name());
            let got = as_recorded(&var.value()?);
            let want = tf["values"].as_array().expect("values");
            let wrong = got.iter().zip(want).filter(|(a, b)| a != b).count();
            assert_eq!(wrong, 0, "{name}: {} differs from TF in {wrong} of {} values", var.name(), want.len());
            checked += want.len();
        }
    }
    assert!(checked > 2000, "{checked} values checked");
    Ok(())
}

#[test]
fn random_ops_draw_tensorflows_values_run_by_run() -> Result<()> {
    let recorded = recorded();
    let mut checked = 0;
    for case in recorded["cases"].as_array().expect("cases") {
        let theirs = case["runs"].as_array().expect("runs");
        if theirs.is_empty() {
            continue;
        }
        let graph = graph_for(case);
        let _g = graph.as_default();
        let ours = build(case)?;
        assert_eq!(ours.len(), theirs.len());
        if let Some(nodes) = case["nodes"].as_array() {
            // The random ops' own nodes, named as TF names them (the inputs' nodes differ).
            let random = |n: &&str| n.starts_with("random_normal") || n.starts_with("truncated_normal");
            let want: Vec<&str> = nodes.iter().map(|n| n.as_str().unwrap()).filter(random).collect();
            let got: Vec<NodeInfo> = graph.nodes();
            let got: Vec<&str> = got.iter().map(|n| n.name.as_str()).filter(random).collect();
            assert_eq!(got, want);
        }
        let session = Session::new(&graph);
        for ((tensor, count), tf) in ours.iter().zip(theirs) {
            let tf_runs = tf["runs"].as_array().expect("runs");
            assert_eq!(*count, tf_runs.len());
            for (k, want) in tf_runs.iter().enumerate() {
                let got = as_recorded(&session.run(&[tensor], &[])?[0]);
                assert_eq!(&got, want.as_array().unwrap(), "run {k} of {} ({})", tensor.name(), tf["tensor"]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 17, "{checked} runs checked");
    Ok(())
}

/// Shape comes from a tensor, as dropout's `random_uniform` takes it.
#[test]
fn a_shape_of_a_tensor_draws_the_same_values_as_a_constant_shape() -> Result<()> {
    let values = |from_tensor: bool| -> Result<Value> {
        let graph = Graph::with_seed(4);
        let _g = graph.as_default();
        let x = constant(ndarray::Array2::<f32>::zeros((3, 5)))?;
        let s = if from_tensor { shape(&x)? } else { constant(ndarray::Array1::from(vec![3i32, 5]))? };
        let r = random_uniform(&s, DType::F32)?;
        Ok(Session::new(&graph).run(&[&r], &[])?.remove(0))
    };
    assert_eq!(values(true)?, values(false)?);
    Ok(())
}
