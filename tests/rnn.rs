//! TF1's RNN cells against TensorFlow's numbers (`tests/data/rnn_numerics.json`,
//! recorded by `tools/record_rnn_numerics.py`): with TF's weights, every cell
//! under `dynamic_rnn` (batch and time unknown until run, `sequence_length`)
//! and `static_rnn` gives TF's outputs, final states and gradients (of the
//! weights and the inputs: backpropagation through time through the `Scan`
//! op) within 1e-5; and the loop op's gradient against finite differences.

use scopeflow::ndarray::{ArrayD, IxDyn};
use scopeflow::prelude::*;
use scopeflow::rnn::{self, BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell, MultiRNNCell, RnnCell};
use scopeflow::{gradients, gradients_with, scan, stack, unstack};
use serde_json::Value as Json;

fn floats(j: &Json) -> Vec<f32> {
    j.as_array().expect("a list of numbers").iter().map(|x| x.as_f64().expect("a number") as f32).collect()
}

fn value(shape: &[usize], data: Vec<f32>) -> Value {
    Value::from(ArrayD::from_shape_vec(IxDyn(shape), data).expect("data of the shape"))
}

fn cell(spec: &Json) -> Box<dyn RnnCell> {
    let units = spec["num_units"].as_u64().unwrap_or(0) as usize;
    match spec["type"].as_str().expect("a cell type") {
        "basic_rnn" => Box::new(BasicRNNCell::new(units)),
        "basic_lstm" => Box::new(BasicLSTMCell::new(units)),
        "gru" => Box::new(GRUCell::new(units)),
        "lstm" => {
            let mut c = LSTMCell::new(units);
            if let Some(p) = spec["use_peepholes"].as_bool() {
                c = c.use_peepholes(p);
            }
            if let Some(v) = spec["cell_clip"].as_f64() {
                c = c.cell_clip(v);
            }
            if let Some(p) = spec["num_proj"].as_u64() {
                c = c.num_proj(p as usize);
            }
            if let Some(v) = spec["proj_clip"].as_f64() {
                c = c.proj_clip(v);
            }
            if let Some(v) = spec["forget_bias"].as_f64() {
                c = c.forget_bias(v);
            }
            Box::new(c)
        }
        "multi" => Box::new(MultiRNNCell::new(spec["cells"].as_array().expect("cells").iter().map(cell).collect())),
        other => panic!("unknown cell {other}"),
    }
}

/// `|got - want| <= 1e-5 (1 + |want|)` everywhere.
fn close(what: &str, got: &[f64], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let w = f64::from(w);
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}]: got {g}, TensorFlow {w}");
    }
}

#[test]
fn every_cell_reproduces_tensorflows_outputs_states_and_gradients() -> Result<()> {
    let data: Json = serde_json::from_str(include_str!("data/rnn_numerics.json")).expect("valid JSON");
    let cases = data["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().expect("a name");
        let (batch, time, depth) =
            (3, case["time"].as_u64().unwrap() as usize, case["depth"].as_u64().unwrap() as usize);
        assert_eq!(case["batch"], 3);
        let graph = Graph::new();
        let _g = graph.as_default();
        let c = cell(&case["cell"]);
        let x_value = value(&[batch, time, depth], floats(&case["x"]));
        let lengths = placeholder(DType::I32, Shape::from_dims([None]))?;
        let with_lengths = !case["lengths"].is_null();
        let mut feeds_owned: Vec<(Tensor, Value)> = Vec::new();
        if with_lengths {
            let l: Vec<i32> = case["lengths"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as i32).collect();
            feeds_owned.push((lengths.clone(), Value::from(l)));
        }
        let (out, state, inputs) = if case["driver"] == "dynamic_rnn" {
            let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(depth)]))?;
            feeds_owned.push((x.clone(), x_value.clone()));
            let mut b = rnn::dynamic_rnn(c.as_ref(), &x);
            if with_lengths {
                b = b.sequence_length(&lengths);
            }
            let (out, state) = b.build()?;
            (out, state, vec![x])
        } else {
            let xs: Vec<Tensor> = (0..time)
                .map(|_| placeholder(DType::F32, Shape::from_dims([None, Some(depth)])))
                .collect::<Result<_>>()?;
            let per_step = x_value.as_array::<f32>().unwrap();
            for (t, x) in xs.iter().enumerate() {
                let slice = per_step.index_axis(scopeflow::ndarray::Axis(1), t).to_owned();
                feeds_owned.push((x.clone(), Value::from(slice)));
            }
            let mut b = rnn::static_rnn(c.as_ref(), &xs);
            if with_lengths {
                b = b.sequence_length(&lengths);
            }
            let (outs, state) = b.build()?;
            (stack(&outs.iter().collect::<Vec<_>>(), 0)?, state, xs)
        };
        // TF's weights, by TF's names.
        let vars = case["variables"].as_object().unwrap();
        let ours: Vec<String> = graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
        let mut theirs: Vec<String> = vars.keys().cloned().collect();
        let mut sorted = ours.clone();
        sorted.sort();
        theirs.sort();
        assert_eq!(sorted, theirs, "{name}: variable names");
        for (n, v) in vars {
            let shape: Vec<usize> =
                v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            graph.variable(n).unwrap().assign(value(&shape, floats(&v["value"])))?;
        }
        let flat = state.flatten();
        let out_shape: Vec<usize> =
            case["outputs_shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let w = constant(value(&out_shape, floats(&case["output_weights"])))?;
        let mut terms = vec![reduce_sum(&mul(&out, &w)?, None, false)?];
        for (s, v) in flat.iter().zip(case["state_weights"].as_array().unwrap()) {
            let n = floats(v);
            let vw = constant(value(&[batch, n.len() / batch], n))?;
            terms.push(reduce_sum(&mul(s, &vw)?, None, false)?);
        }
        let loss = scopeflow::add_n(&terms.iter().collect::<Vec<_>>())?;
        let variables = graph.global_variables(None)?;
        let xs: Vec<&Tensor> = variables.iter().map(|v| v.tensor()).chain(&inputs).collect();
        let grads: Vec<Tensor> = gradients(&[&loss], &xs)?.into_iter().map(|g| g.expect("connected")).collect();
        let feeds: Vec<(&Tensor, &Value)> = feeds_owned.iter().map(|(t, v)| (t, v)).collect();
        let session = Session::new(&graph);
        let mut fetches: Vec<&Tensor> = vec![&out, &loss];
        fetches.extend(&flat);
        fetches.extend(&grads);
        let run = session.run(&fetches, &feeds)?;
        close(&format!("{name} outputs"), &run[0].to_f64_vec(), &floats(&case["outputs"]));
        close(&format!("{name} loss"), &run[1].to_f64_vec(), &[case["loss"].as_f64().unwrap() as f32]);
        for (i, s) in case["state"].as_array().unwrap().iter().enumerate() {
            close(&format!("{name} state {i}"), &run[2 + i].to_f64_vec(), &floats(s));
        }
        let at = 2 + flat.len();
        for (k, v) in variables.iter().enumerate() {
            close(
                &format!("{name} d/d{}", v.name()),
                &run[at + k].to_f64_vec(),
                &floats(&case["variable_grads"][v.name()]),
            );
        }
        // d/dx: dynamic [batch, time, depth]; static one [batch, depth] per step, TF's stacked [time, batch, depth].
        let dx: Vec<f64> = run[at + variables.len()..].iter().flat_map(|v| v.to_f64_vec()).collect();
        close(&format!("{name} d/dx"), &dx, &floats(&case["input_grads"]));
    }
    Ok(())
}

/// Deterministic values in [-1, 1].
fn values(shape: &[usize], seed: u64) -> Vec<f64> {
    let n: usize = shape.iter().product();
    (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            2.0 * ((h >> 11) as f64 / (1u64 << 53) as f64) - 1.0
        })
        .collect()
}

#[test]
fn scan_gradients_match_finite_differences_in_f64() -> Result<()> {
    // A small tanh recurrence with a second state and an output that reads
    // the captures and the step index: h' = tanh(x W + h U + t b), a' = a * h'.
    let graph = Graph::new();
    let _g = graph.as_default();
    let shapes: [&[usize]; 5] = [&[4, 2, 3], &[2, 3], &[3, 3], &[3], &[2, 3]];
    let ph: Vec<Tensor> = shapes.iter().map(|s| placeholder(DType::F64, Shape::from(*s))).collect::<Result<_>>()?;
    let (x, h0, u, b, a0) = (&ph[0], &ph[1], &ph[2], &ph[3], &ph[4]);
    let w = constant(value_f64(&[3, 3], values(&[3, 3], 7)))?;
    let out = scan(&[h0, a0], &[x], &[&w, u, b], |s| {
        let t = scopeflow::cast(s.time, DType::F64)?;
        let pre = add(
            &add(&matmul(&s.inputs[0], &s.captures[0])?, &matmul(&s.states[0], &s.captures[1])?)?,
            &mul(&t, &s.captures[2])?,
        )?;
        let h = tanh(&pre)?;
        let a = mul(&s.states[1], &h)?;
        Ok((vec![h.clone(), a], vec![sigmoid(&h)?]))
    })?;
    let y_weights = constant(value_f64(&[4, 2, 3], values(&[4, 2, 3], 11)))?;
    let loss = add(
        &reduce_sum(&mul(&out.outputs[0], &y_weights)?, None, false)?,
        &add(&reduce_sum(&out.final_states[0], None, false)?, &reduce_sum(&out.final_states[1], None, false)?)?,
    )?;
    let xs: Vec<&Tensor> = ph.iter().collect();
    let grads = gradients_with(&[&loss], &xs, &[], None)?;
    let session = Session::new(&graph);
    let point: Vec<Value> = shapes.iter().enumerate().map(|(i, s)| value_f64(s, values(s, i as u64 + 1))).collect();
    let run = |p: &[Value], fetch: &Tensor| -> Result<Vec<f64>> {
        let feeds: Vec<(&Tensor, &Value)> = ph.iter().zip(p).collect();
        Ok(session.run(&[fetch], &feeds)?[0].to_f64_vec())
    };
    for (i, g) in grads.iter().enumerate() {
        let analytic = run(&point, g.as_ref().expect("connected"))?;
        for (k, &a) in analytic.iter().enumerate() {
            let shifted = |d: f64| -> Result<f64> {
                let mut p = point.clone();
                let mut data = p[i].to_f64_vec();
                data[k] += d;
                p[i] = value_f64(shapes[i], data);
                Ok(run(&p, &loss)?[0])
            };
            let numeric = (shifted(1e-6)? - shifted(-1e-6)?) / 2e-6;
            assert!((a - numeric).abs() <= 1e-6 * numeric.abs().max(1.0), "input {i}[{k}]: {a} vs {numeric}");
        }
    }
    Ok(())
}

fn value_f64(shape: &[usize], data: Vec<f64>) -> Value {
    Value::F64(ArrayD::from_shape_vec(IxDyn(shape), data).expect("data of the shape"))
}

#[test]
fn dynamic_rnn_runs_any_number_of_steps_with_one_graph() -> Result<()> {
    let graph = Graph::with_seed(3);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(2)]))?;
    let (out, _) = rnn::dynamic_rnn(&GRUCell::new(3), &x).build()?;
    let session = Session::new(&graph);
    for (b, t) in [(1, 1), (2, 7), (4, 3)] {
        let feed = Value::from(scopeflow::ndarray::Array3::<f32>::ones((b, t, 2)));
        assert_eq!(session.run(&[&out], &[(&x, &feed)])?[0].shape(), &[b, t, 3]);
    }
    // No step at all is an error naming the loop, not a panic.
    let empty = Value::from(scopeflow::ndarray::Array3::<f32>::ones((2, 0, 2)));
    let err = session.run(&[&out], &[(&x, &empty)]).unwrap_err();
    assert!(err.to_string().contains("rnn/scan"), "{err}");
    Ok(())
}

#[test]
fn a_second_new_cell_in_the_same_scope_is_tfs_already_exists_and_the_same_cell_shares() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(2)]))?;
    let cell = LSTMCell::new(3);
    rnn::dynamic_rnn(&cell, &x).build()?;
    // The same cell object again: its variables, none new (TF's captured layer scope).
    rnn::dynamic_rnn(&cell, &x).scope("decoder").build()?;
    assert_eq!(graph.global_variables(None)?.len(), 2);
    let err = rnn::dynamic_rnn(&LSTMCell::new(3), &x).build().unwrap_err();
    assert!(err.to_string().contains("rnn/lstm_cell/kernel"), "{err}");
    Ok(())
}

#[test]
fn the_unstacked_time_steps_of_static_rnn_match_dynamic_rnn() -> Result<()> {
    let graph = Graph::with_seed(5);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([Some(2), Some(4), Some(3)]))?;
    let cell = LSTMCell::new(3).use_peepholes(true);
    let (dynamic, _) = rnn::dynamic_rnn(&cell, &x).build()?;
    let steps = unstack(&x, None, 1)?;
    let (outs, _) = rnn::static_rnn(&cell, &steps).build()?;
    let unrolled = stack(&outs.iter().collect::<Vec<_>>(), 1)?;
    let feed = Value::from(
        ArrayD::from_shape_vec(IxDyn(&[2, 4, 3]), values(&[2, 4, 3], 1).iter().map(|&v| v as f32).collect()).unwrap(),
    );
    let run = Session::new(&graph).run(&[&dynamic, &unrolled], &[(&x, &feed)])?;
    let (a, b) = (run[0].to_f64_vec(), run[1].to_f64_vec());
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-6), "{a:?} vs {b:?}");
    Ok(())
}

#[test]
fn dropout_wrapper_zeroes_or_scales_each_output_inside_the_loop() -> Result<()> {
    use scopeflow::rnn::DropoutWrapper;
    let graph = Graph::with_seed(11);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
    let cell = LSTMCell::new(16);
    let (plain, _) = rnn::dynamic_rnn(&cell, &x).build()?;
    // The wrapper of the same cell shares its variables; only its outputs are dropped.
    let (dropped, _) = rnn::dynamic_rnn(&DropoutWrapper::new(&cell).output_keep_prob(0.5), &x).build()?;
    assert_eq!(graph.global_variables(None)?.len(), 2);
    let feed = Value::from(
        ArrayD::from_shape_vec(IxDyn(&[2, 5, 3]), values(&[2, 5, 3], 2).iter().map(|&v| v as f32).collect()).unwrap(),
    );
    let run = Session::new(&graph).run(&[&plain, &dropped], &[(&x, &feed)])?;
    let (p, d) = (run[0].to_f64_vec(), run[1].to_f64_vec());
    let zeros = d.iter().filter(|v| **v == 0.0).count();
    assert!(zeros > p.len() / 4 && zeros < 3 * p.len() / 4, "{zeros} of {} dropped", p.len());
    assert!(p.iter().zip(&d).all(|(p, d)| *d == 0.0 || (d - 2.0 * p).abs() < 1e-6));
    Ok(())
}

#[test]
fn cells_refuse_weights_and_states_of_another_count_instead_of_panicking() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([Some(2), Some(3)]))?;
    let cell = LSTMCell::new(4).use_peepholes(true);
    let w = cell.build(3, DType::F32)?;
    assert_eq!(w.len(), 5);
    let err = cell.step(&w[..2], &x, &[x.clone(), x.clone()]).unwrap_err();
    assert!(err.to_string().contains("takes 5 weight tensors, not 2"), "{err}");
    assert!(cell.step(&w, &x, std::slice::from_ref(&x)).is_err());
    assert!(cell.pack_state(std::slice::from_ref(&x)).is_err());
    let multi = MultiRNNCell::new(vec![Box::new(GRUCell::new(2))]);
    assert!(multi.step(&[], &x, &[]).is_err());
    // An initial state of another structure is refused by the loop.
    let seq = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
    let bad = rnn::State::Tensor(x.clone());
    let err = rnn::dynamic_rnn(&GRUCell::new(2), &seq).initial_state(bad).scope("g").build();
    assert!(err.is_err());
    let wrong_rank = rnn::dynamic_rnn(&GRUCell::new(2), &x).scope("h").build().unwrap_err();
    assert!(wrong_rank.to_string().contains("rank 3"), "{wrong_rank}");
    Ok(())
}

#[test]
fn dynamic_rnn_gradients_of_every_weight_match_finite_differences_in_f64() -> Result<()> {
    // Peepholes, clipping, a projection and sequence lengths, stacked on a GRU, in f64.
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F64, Shape::from_dims([None, None, Some(2)]))?;
    let lengths = constant(vec![3i32, 1])?;
    let cell = MultiRNNCell::new(vec![
        Box::new(LSTMCell::new(3).use_peepholes(true).cell_clip(0.9).num_proj(2)),
        Box::new(GRUCell::new(2)),
    ]);
    let (out, state) = rnn::dynamic_rnn(&cell, &x).sequence_length(&lengths).build()?;
    let mut terms = vec![reduce_sum(&mul(&out, &out)?, None, false)?];
    for s in state.flatten() {
        terms.push(reduce_sum(&s, None, false)?);
    }
    let loss = scopeflow::add_n(&terms.iter().collect::<Vec<_>>())?;
    let variables = graph.global_variables(None)?;
    assert_eq!(variables.len(), 10);
    for (k, v) in variables.iter().enumerate() {
        v.assign(value_f64(v.shape(), values(v.shape(), 40 + k as u64).iter().map(|a| a * 0.7).collect()))?;
    }
    let grads = gradients(&[&loss], &variables.iter().map(|v| v.tensor()).collect::<Vec<_>>())?;
    let session = Session::new(&graph);
    let feed = value_f64(&[2, 3, 2], values(&[2, 3, 2], 5));
    let loss_now = || -> Result<f64> { Ok(session.run(&[&loss], &[(&x, &feed)])?[0].to_f64_vec()[0]) };
    for (v, g) in variables.iter().zip(&grads) {
        let analytic = session.run(&[g.as_ref().expect("every weight is used")], &[(&x, &feed)])?[0].to_f64_vec();
        let base = v.value()?.to_f64_vec();
        for (k, &a) in analytic.iter().enumerate() {
            let at = |d: f64| -> Result<f64> {
                let mut data = base.clone();
                data[k] += d;
                v.assign(value_f64(v.shape(), data))?;
                loss_now()
            };
            let numeric = (at(1e-6)? - at(-1e-6)?) / 2e-6;
            assert!((a - numeric).abs() <= 1e-6 * numeric.abs().max(1.0), "{}[{k}]: {a} vs {numeric}", v.name());
        }
        v.assign(value_f64(v.shape(), base))?;
    }
    Ok(())
}

#[test]
fn a_step_that_fails_at_run_time_is_an_error_naming_the_loop_the_step_and_the_op() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
    let h0 = placeholder(DType::F32, Shape::from_dims([None, Some(4)]))?;
    let (out, _) = rnn::dynamic_rnn(&GRUCell::new(4), &x).initial_state(rnn::State::Tensor(h0.clone())).build()?;
    let xv = Value::from(scopeflow::ndarray::Array3::<f32>::ones((2, 3, 3)));
    let hv = Value::from(scopeflow::ndarray::Array2::<f32>::ones((5, 4))); // a batch of 5 for inputs of 2
    let err = Session::new(&graph).run(&[&out], &[(&x, &xv), (&h0, &hv)]).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, scopeflow::Error::LoopStep { step: 0, .. }), "{text}");
    assert!(text.starts_with("loop `rnn/scan` failed at step 0: op `"), "{text}");
    assert!(text.contains("(ConcatV2)"), "{text}");
    Ok(())
}

#[test]
fn threads_share_one_dynamic_rnn_session() -> Result<()> {
    let graph = Graph::with_seed(2);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(2)]))?;
    let (out, _) = rnn::dynamic_rnn(&LSTMCell::new(3), &x).build()?;
    let session = Session::new(&graph);
    let feed = |b: usize| {
        let data: Vec<f32> = values(&[b, b + 1, 2], b as u64).iter().map(|&v| v as f32).collect();
        Value::from(ArrayD::from_shape_vec(IxDyn(&[b, b + 1, 2]), data).unwrap())
    };
    let alone: Vec<Vec<f64>> =
        (1..5).map(|b| Ok(session.run(&[&out], &[(&x, &feed(b))])?[0].to_f64_vec())).collect::<Result<_>>()?;
    std::thread::scope(|s| {
        let runs: Vec<_> = (1..5)
            .map(|b| {
                let (session, out, x, feed) = (&session, &out, &x, &feed);
                s.spawn(move || -> Result<Vec<f64>> {
                    let mut last = Vec::new();
                    for _ in 0..20 {
                        last = session.run(&[out], &[(x, &feed(b))])?[0].to_f64_vec();
                    }
                    Ok(last)
                })
            })
            .collect();
        for (run, want) in runs.into_iter().zip(&alone) {
            assert_eq!(&run.join().expect("no panic")?, want);
        }
        Ok(())
    })
}
