//! Checkpoints by scoped name: round trips bit for bit, renames, reports,
//! and bad files that change nothing.

use scopeflow::prelude::*;
use scopeflow::{ErrorKind, RestoreOptions, Saver};
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scopeflow-ckpt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("model.safetensors")
}

/// A model with every dtype, a scalar and a partitioned variable.
fn model(graph: &Graph) -> Result<Vec<Variable>> {
    graph.with_default(|| {
        variable_scope("net").with(|_| {
            Ok(vec![
                get_variable("kernel", [3, 4]).get()?,
                get_variable("scale", []).dtype(DType::F64).initializer(Init::Constant(0.25)).get()?,
                get_variable("steps", [2]).dtype(DType::I64).trainable(false).get()?,
                get_variable("ids", [3])
                    .dtype(DType::I32)
                    .initializer(Init::RandomUniform { minval: 0.0, maxval: 9.0 })
                    .get()?,
                get_variable("mask", [2, 2]).dtype(DType::Bool).initializer(Init::Ones).get()?,
                get_variable("emb", [5, 2]).partitioner(Partitioner::fixed(2)).get()?,
            ])
        })
    })
}

#[test]
fn save_then_restore_gives_every_value_back_bit_for_bit() -> Result<()> {
    let path = temp("roundtrip");
    let a = Graph::with_seed(1);
    let saved = model(&a)?;
    Saver::new(&a).save(&path)?;
    let b = Graph::with_seed(2);
    let restored = model(&b)?;
    let report = Saver::new(&b).restore(&path)?;
    assert_eq!(report.applied, ["net/emb", "net/ids", "net/kernel", "net/mask", "net/scale", "net/steps"]);
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    for (x, y) in saved.iter().zip(&restored) {
        assert_eq!(x.value()?, y.value()?, "{}", x.name());
    }
    Ok(())
}

#[test]
fn remaps_rename_checkpoint_prefixes_like_init_from_checkpoint() -> Result<()> {
    let path = temp("remap");
    let a = Graph::with_seed(3);
    let w = a.with_default(|| variable_scope("old").with(|_| get_variable("w", [2]).get()))?;
    Saver::new(&a).save(&path)?;
    let b = Graph::new();
    let w2 = b.with_default(|| variable_scope("new").with(|_| get_variable("w", [2]).get()))?;
    let options = RestoreOptions { remap: vec![("old/".into(), "new/".into())], strict: true };
    Saver::new(&b).restore_with(&path, &options)?;
    assert_eq!(w2.value()?, w.value()?);
    Ok(())
}

#[test]
fn reports_missing_and_unexpected_names_with_suggestions_and_strict_changes_nothing() -> Result<()> {
    let path = temp("report");
    let a = Graph::with_seed(4);
    a.with_default(|| get_variable("layer/kernal", [2]).get())?;
    Saver::new(&a).save(&path)?;
    let b = Graph::new();
    let k = b.with_default(|| get_variable("layer/kernel", [2]).initializer(Init::Zeros).get())?;
    let report = Saver::new(&b).restore(&path)?;
    assert_eq!(report.missing, [("layer/kernel".to_owned(), Some("layer/kernal".to_owned()))]);
    assert_eq!(report.unexpected, ["layer/kernal"]);
    let err = Saver::new(&b).restore_with(&path, &RestoreOptions { strict: true, ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("did you mean layer/kernal"), "{err}");
    assert_eq!(k.value()?.to_f64_vec(), vec![0.0, 0.0]);
    Ok(())
}

#[test]
fn a_shape_mismatch_names_the_variable_and_restores_nothing() -> Result<()> {
    let path = temp("mismatch");
    let a = Graph::with_seed(5);
    a.with_default(|| -> Result<()> {
        get_variable("a", [2]).get()?;
        get_variable("b", [3]).get()?;
        Ok(())
    })?;
    Saver::new(&a).save(&path)?;
    let b = Graph::new();
    let (va, vb) = b.with_default(|| -> Result<_> {
        Ok((
            get_variable("a", [2]).initializer(Init::Zeros).get()?,
            get_variable("b", [4]).initializer(Init::Zeros).get()?,
        ))
    })?;
    let err = Saver::new(&b).restore(&path).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ShapeMismatch);
    assert!(err.to_string().contains("variable `b`"), "{err}");
    assert_eq!((va.value()?.to_f64_vec(), vb.value()?.to_f64_vec()), (vec![0.0; 2], vec![0.0; 4]));
    Ok(())
}

#[test]
fn corrupt_or_truncated_files_are_errors_and_change_nothing() -> Result<()> {
    let path = temp("corrupt");
    let a = Graph::with_seed(6);
    a.with_default(|| get_variable("w", [8]).get())?;
    Saver::new(&a).save(&path)?;
    let bytes = std::fs::read(&path).expect("saved");
    let b = Graph::new();
    let w = b.with_default(|| get_variable("w", [8]).initializer(Init::Zeros).get())?;
    for broken in [&bytes[..bytes.len() - 3], &bytes[..5], b"\xff\xff\xff\xff\xff\xff\xff\x7fgarbage"] {
        std::fs::write(&path, broken).expect("write");
        let err = Saver::new(&b).restore(&path).unwrap_err();
        assert!(err.to_string().contains("not a valid safetensors file"), "{err}");
        assert_eq!(w.value()?.to_f64_vec(), vec![0.0; 8]);
    }
    assert!(Saver::new(&b).restore(path.with_file_name("absent.safetensors")).is_err());
    Ok(())
}

#[test]
fn saving_replaces_the_file_whole_and_leaves_no_temporary_files() -> Result<()> {
    let path = temp("atomic");
    let g = Graph::with_seed(7);
    let w = g.with_default(|| get_variable("w", [4]).get())?;
    Saver::new(&g).save(&path)?;
    w.assign(vec![1.0f32, 2.0, 3.0, 4.0])?;
    Saver::new(&g).save(&path)?;
    let files: Vec<_> = std::fs::read_dir(path.parent().expect("dir")).expect("dir").collect();
    assert_eq!(files.len(), 1);
    let h = Graph::new();
    let w2 = h.with_default(|| get_variable("w", [4]).get())?;
    Saver::new(&h).restore(&path)?;
    assert_eq!(w2.value()?.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    Ok(())
}

#[test]
fn a_scope_saver_saves_only_that_scope() -> Result<()> {
    let path = temp("scope");
    let g = Graph::new();
    g.with_default(|| -> Result<()> {
        variable_scope("enc").with(|_| get_variable("w", [1]).get())?;
        variable_scope("dec").with(|_| get_variable("w", [1]).get())?;
        Ok(())
    })?;
    Saver::scope(&g, "enc/").save(&path)?;
    let h = Graph::new();
    h.with_default(|| variable_scope("enc").with(|_| get_variable("w", [1]).get()))?;
    let report = Saver::new(&h).restore(&path)?;
    assert_eq!((report.applied, report.unexpected), (vec!["enc/w".to_owned()], vec![]));
    Ok(())
}

/// A TF1 checkpoint prefix in a fresh directory.
fn temp_prefix(name: &str) -> PathBuf {
    let path = temp(name).with_file_name("model.ckpt");
    for entry in std::fs::read_dir(path.parent().expect("dir")).expect("dir") {
        std::fs::remove_file(entry.expect("entry").path()).ok();
    }
    path
}

fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).expect("dir").map(|e| e.expect("entry").file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn a_tf1_checkpoint_round_trips_every_dtype_and_partitioned_variables_bit_for_bit() -> Result<()> {
    let prefix = temp_prefix("tf1-roundtrip");
    let a = Graph::with_seed(1);
    let saved = model(&a)?;
    assert_eq!(Saver::new(&a).save(&prefix)?, prefix);
    let dir = prefix.parent().expect("dir");
    assert_eq!(file_names(dir), ["checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index"]);
    // The partitioned variable is one tensor under its base name, read back whole.
    let stored = scopeflow::read_tf1_checkpoint(&prefix)?;
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        ["net/emb", "net/ids", "net/kernel", "net/mask", "net/scale", "net/steps"]
    );
    let emb = a.variable("net/emb").expect("emb");
    assert_eq!(stored["net/emb"], scopeflow::Stored::Value(emb.value()?));
    let b = Graph::with_seed(2);
    let restored = model(&b)?;
    let from_latest = scopeflow::latest_checkpoint(dir)?.expect("latest");
    let report = Saver::new(&b).restore_with(&from_latest, &RestoreOptions { strict: true, ..Default::default() })?;
    assert_eq!(report.applied.len(), 6);
    for (x, y) in saved.iter().zip(&restored) {
        assert_eq!(x.value()?, y.value()?, "{}", x.name());
        assert_eq!(x.dtype(), y.dtype());
    }
    Ok(())
}

#[test]
fn global_steps_name_tf1_checkpoints_and_the_state_file_lists_them_in_order() -> Result<()> {
    let prefix = temp_prefix("tf1-steps");
    let dir = prefix.parent().expect("dir").to_owned();
    let g = Graph::new();
    let w = g.with_default(|| get_variable("w", [2]).get())?;
    let saver = Saver::new(&g);
    let step = |n| scopeflow::SaveOptions { global_step: Some(n), ..Default::default() };
    for n in [0, 100, 200] {
        w.assign(vec![n as f32, 1.0])?;
        assert_eq!(saver.save_with(&prefix, &step(n))?, dir.join(format!("model.ckpt-{n}")));
    }
    std::fs::remove_file(dir.join("model.ckpt-0.index")).expect("remove");
    saver.save_with(&prefix, &step(100))?;
    let state = std::fs::read_to_string(dir.join("checkpoint")).expect("state");
    assert_eq!(
        state,
        "model_checkpoint_path: \"model.ckpt-100\"\nall_model_checkpoint_paths: \"model.ckpt-200\"\n\
         all_model_checkpoint_paths: \"model.ckpt-100\"\n"
    );
    assert_eq!(scopeflow::latest_checkpoint(&dir)?, Some(dir.join("model.ckpt-100")));
    let quiet = scopeflow::SaveOptions { global_step: Some(300), write_state: false };
    saver.save_with(&prefix, &quiet)?;
    assert_eq!(scopeflow::latest_checkpoint(&dir)?, Some(dir.join("model.ckpt-100")));
    // Safetensors take the step before their extension, and no state file.
    let st = saver.save_with(dir.join("w.safetensors"), &step(5))?;
    assert_eq!(st, dir.join("w-5.safetensors"));
    Ok(())
}

#[test]
fn a_damaged_tf1_checkpoint_is_an_error_and_changes_nothing() -> Result<()> {
    let prefix = temp_prefix("tf1-corrupt");
    let a = Graph::with_seed(6);
    a.with_default(|| get_variable("w", [8]).partitioner(Partitioner::fixed(2)).get())?;
    Saver::new(&a).save(&prefix)?;
    let index = prefix.with_file_name("model.ckpt.index");
    let data = prefix.with_file_name("model.ckpt.data-00000-of-00001");
    let (good_index, good_data) = (std::fs::read(&index).expect("index"), std::fs::read(&data).expect("data"));
    let b = Graph::new();
    let w =
        b.with_default(|| get_variable("w", [8]).initializer(Init::Zeros).partitioner(Partitioner::fixed(2)).get())?;
    let mut flipped = good_data.clone();
    flipped[20] ^= 1;
    let cases: Vec<(&PathBuf, Vec<u8>)> = vec![
        (&data, flipped),
        (&data, good_data[..good_data.len() - 4].to_vec()),
        (&index, good_index[..good_index.len() - 3].to_vec()),
        (&index, good_index[..10].to_vec()),
        (&index, [&good_index[..40], &[0xff; 9][..], &good_index[49..]].concat()),
    ];
    for (file, broken) in cases {
        std::fs::write(file, &broken).expect("write");
        let err = Saver::new(&b).restore(&prefix).unwrap_err();
        assert!(err.to_string().contains("is not a valid TF1 checkpoint"), "{err}");
        assert_eq!(w.value()?.to_f64_vec(), vec![0.0; 8]);
        std::fs::write(&index, &good_index).expect("restore");
        std::fs::write(&data, &good_data).expect("restore");
    }
    let err = Saver::new(&b).restore(prefix.with_file_name("absent.ckpt")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("absent.ckpt.index"), "{err}");
    Ok(())
}

#[test]
fn concurrent_tf1_saves_to_one_prefix_leave_one_whole_checkpoint() -> Result<()> {
    let prefix = temp_prefix("tf1-concurrent");
    let graphs: Vec<Graph> = (0..4).map(Graph::with_seed).collect();
    let vars: Vec<Variable> =
        graphs.iter().map(|g| g.with_default(|| get_variable("w", [64, 16]).get())).collect::<Result<_>>()?;
    std::thread::scope(|s| {
        for g in &graphs {
            let prefix = &prefix;
            s.spawn(move || {
                for _ in 0..10 {
                    Saver::new(g).save(prefix).expect("save");
                }
            });
        }
    });
    let dir = prefix.parent().expect("dir");
    assert_eq!(file_names(dir), ["checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index"]);
    let saved = scopeflow::read_tf1_checkpoint(&prefix)?;
    let scopeflow::Stored::Value(w) = &saved["w"] else { panic!("unsupported") };
    assert!(vars.iter().any(|v| v.value().is_ok_and(|x| &x == w)));
    Ok(())
}

#[test]
fn tf1_checkpoints_keep_every_bit_of_nans_signed_zeros_and_infinities() -> Result<()> {
    let prefix = temp_prefix("tf1-bits");
    let g = Graph::new();
    let bits32 = [0x7fc0_0001u32, 0xffc0_0000, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 1];
    let bits64 = [0x7ff8_0000_0000_0001u64, 0x8000_0000_0000_0000, 0xfff0_0000_0000_0000, 1];
    let (a, b) = g.with_default(|| -> Result<_> {
        Ok((get_variable("a", [6]).get()?, get_variable("b", [4]).dtype(DType::F64).get()?))
    })?;
    a.assign(bits32.iter().map(|b| f32::from_bits(*b)).collect::<Vec<_>>())?;
    b.assign(bits64.iter().map(|b| f64::from_bits(*b)).collect::<Vec<_>>())?;
    Saver::new(&g).save(&prefix)?;
    let stored = scopeflow::read_tf1_checkpoint(&prefix)?;
    let scopeflow::Stored::Value(Value::F32(a)) = &stored["a"] else { panic!("a") };
    let scopeflow::Stored::Value(Value::F64(b)) = &stored["b"] else { panic!("b") };
    assert_eq!(a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), bits32);
    assert_eq!(b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), bits64);
    Ok(())
}

/// Save then load returns every variable bit for bit, for shapes, dtypes and
/// partitionings drawn at random (a fixed seed), empty tensors included.
#[test]
fn random_models_round_trip_through_tf1_checkpoints() -> Result<()> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n) as usize
    };
    let prefix = temp_prefix("tf1-random");
    for case in 0..25 {
        let a = Graph::with_seed(case);
        let mut specs = Vec::new();
        for v in 0..1 + next(5) {
            let rank = next(4);
            let mut shape: Vec<usize> = (0..rank).map(|_| next(6)).collect();
            let dtype = DType::ALL[next(5)];
            let partition = (rank > 0 && next(2) == 1).then(|| {
                let axis = next(rank as u64);
                shape[axis] = shape[axis].max(1);
                Partitioner::Fixed { shards: 1 + next(4), axis }
            });
            specs.push((format!("s{}/v{v}", next(3)), shape, dtype, partition));
        }
        let build = |g: &Graph| -> Result<Vec<Variable>> {
            g.with_default(|| {
                let mut vars = Vec::new();
                for (name, shape, dtype, partition) in &specs {
                    let init = match dtype {
                        DType::Bool => Init::Ones,
                        _ => Init::RandomUniform { minval: -50.0, maxval: 50.0 },
                    };
                    let mut request = get_variable(name, shape.clone()).dtype(*dtype).initializer(init);
                    if let Some(p) = partition {
                        request = request.partitioner(p.clone());
                    }
                    vars.push(request.get()?);
                }
                Ok(vars)
            })
        };
        let saved = build(&a)?;
        Saver::new(&a).save(&prefix)?;
        let b = Graph::with_seed(1000 + case);
        let restored = build(&b)?;
        let strict = RestoreOptions { strict: true, ..Default::default() };
        Saver::new(&b).restore_with(&prefix, &strict)?;
        for (x, y) in saved.iter().zip(&restored) {
            assert_eq!(x.value()?, y.value()?, "case {case}: {} {:?}", x.name(), x.shape());
        }
    }
    Ok(())
}

#[test]
fn saving_into_a_missing_directory_is_an_io_error_that_leaves_nothing() -> Result<()> {
    let prefix = temp_prefix("tf1-missing-dir");
    let g = Graph::new();
    g.with_default(|| get_variable("w", [2]).get())?;
    let err = Saver::new(&g).save(prefix.with_file_name("absent").join("model.ckpt")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("absent/model.ckpt.data-00000-of-00001"), "{err}");
    assert!(file_names(prefix.parent().expect("dir")).is_empty());
    Ok(())
}
