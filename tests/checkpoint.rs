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
