//! Each example runs as a test that checks the names it prints.

#[allow(dead_code)]
#[path = "../examples/scope_names.rs"]
mod scope_names;
#[allow(dead_code)]
#[path = "../examples/shared_embedding.rs"]
mod shared_embedding;

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
    assert!(out.contains("lookup a uses text_embedding/matrix and makes text_embedding/MatMul"), "{out}");
    assert!(out.contains("lookup b uses text_embedding/matrix and makes text_embedding_1/MatMul"), "{out}");
    assert!(out.contains("one matrix shared: true"), "{out}");
    assert!(out.contains("reuse = true finds text_embedding/matrix (same: true)"), "{out}");
    assert!(out.contains("`text_embedding/typo` does not exist"), "{out}");
    assert!(out.ends_with("text_embedding/matrix (50, 8) float32 global_variables,trainable_variables\n"), "{out}");
    Ok(())
}
