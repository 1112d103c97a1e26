//! Scope guards, nesting, unwinding and the default graph.

use scopeflow::prelude::*;
use scopeflow::{ErrorKind, current_name_scope};

#[test]
fn guards_restore_the_scope_stack_when_dropped() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    {
        let _a = variable_scope("a").enter()?;
        let _b = name_scope("b").enter()?;
        assert_eq!(current_name_scope()?, "a/b");
        assert_eq!(current_variable_scope()?.name(), "a");
    }
    assert_eq!(current_name_scope()?, "");
    assert_eq!(current_variable_scope()?.name(), "");
    Ok(())
}

#[test]
fn a_panic_inside_a_scope_leaves_the_stack_as_it_was() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let caught = std::panic::catch_unwind(|| {
        variable_scope("outer").with(|_| -> Result<()> {
            let _inner = name_scope("inner").enter()?;
            panic!("layer failed");
        })
    });
    assert!(caught.is_err());
    assert_eq!(current_variable_scope()?.name(), "");
    assert_eq!(current_name_scope()?, "");
    assert_eq!(constant(1.0f32)?.name(), "Const");
    Ok(())
}

#[test]
fn early_return_with_question_mark_leaves_the_scope() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let layer = || -> Result<()> {
        let _s = variable_scope("layer").reuse(Reuse::True).enter()?;
        get_variable("missing", [1]).get()?;
        Ok(())
    };
    assert!(layer().is_err());
    assert_eq!(current_variable_scope()?.name(), "");
    Ok(())
}

#[test]
fn exiting_an_outer_scope_first_is_reported_and_repaired() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let outer = variable_scope("outer").enter()?;
    let inner = variable_scope("inner").enter()?;
    let err = outer.exit().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage);
    assert!(err.to_string().contains("scope `outer` was exited while `outer/inner`"), "{err}");
    assert_eq!(current_variable_scope()?.name(), "outer/inner");
    inner.exit()?;
    // Leaving `inner` also leaves `outer`, which was waiting for it.
    assert_eq!(current_variable_scope()?.name(), "");
    Ok(())
}

#[test]
fn exiting_name_scopes_out_of_order_names_both() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let outer = name_scope("n").enter()?;
    let middle = name_scope("m").enter()?;
    let vs = variable_scope("v").enter()?;
    let err = middle.exit().unwrap_err();
    assert!(err.to_string().contains("scope `n/m/` was exited while `v`"), "{err}");
    drop(vs);
    let inner = name_scope("k").enter()?;
    let err = outer.exit().unwrap_err();
    assert!(err.to_string().contains("scope `n/` was exited while `n/k/`"), "{err}");
    inner.exit()?;
    assert_eq!(current_name_scope()?, "");
    Ok(())
}

#[test]
fn no_default_graph_is_an_error_not_a_panic() {
    let err = get_variable("v", [1]).get().unwrap_err();
    assert!(err.to_string().contains("no default graph"), "{err}");
    assert!(variable_scope("a").enter().is_err());
}

#[test]
fn graphs_keep_separate_names_and_scopes() -> Result<()> {
    let (g1, g2) = (Graph::new(), Graph::new());
    let _a = g1.as_default();
    let _s = variable_scope("a").enter()?;
    let v2 = g2.with_default(|| get_variable("v", [1]).get())?;
    assert_eq!(v2.name(), "v");
    assert_eq!(get_variable("v", [1]).get()?.name(), "a/v");
    Ok(())
}

#[test]
fn a_captured_scope_of_another_graph_is_rejected() -> Result<()> {
    let (g1, g2) = (Graph::new(), Graph::new());
    let captured = g1.with_default(|| variable_scope("a").with(|s| Ok::<_, Error>(s.clone())))?;
    let _g = g2.as_default();
    let err = variable_scope(&captured).enter().unwrap_err();
    assert!(err.to_string().contains("variable scope a"), "{err}");
    Ok(())
}

#[test]
fn default_name_counts_survive_thousands_of_scopes() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    for i in 0..3000 {
        let s = variable_scope(None).default_name("dense").enter()?;
        let want = if i == 0 { "dense".to_owned() } else { format!("dense_{i}") };
        assert_eq!(s.name(), want);
    }
    Ok(())
}

#[test]
fn a_scope_captured_while_scopes_inside_it_are_open_keeps_its_fields() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _n = name_scope("n").enter()?;
    let outer = variable_scope("outer").reuse(Reuse::True).initializer(Init::Ones).enter()?;
    let inner = variable_scope("inner").dtype(DType::F64).enter()?;
    let _more = name_scope("more").enter()?;
    // The outer scope is captured only now, two scopes further in.
    let captured = outer.scope().clone();
    assert_eq!(captured.name(), "outer");
    assert_eq!(captured.original_name_scope(), "n/outer/");
    assert_eq!(captured.reuse(), Reuse::True);
    assert!(matches!(captured.initializer(), Some(Init::Ones)));
    assert_eq!(captured.dtype(), DType::F32);
    // The current scope's object is made once and shared by later asks.
    let current = current_variable_scope()?;
    assert!(current.ptr_eq(inner.scope()));
    assert!(current.ptr_eq(&current_variable_scope()?));
    assert_eq!((current.name(), current.original_name_scope()), ("outer/inner", "n/outer/inner/"));
    assert_eq!((current.reuse(), current.dtype()), (Reuse::True, DType::F64));
    assert!(matches!(current.initializer(), Some(Init::Ones)));
    // The reuse mode inherited from `outer` names it as its origin.
    let err = get_variable("missing", [1]).get().unwrap_err();
    assert!(err.to_string().contains("set by scope `outer`"), "{err}");
    Ok(())
}

#[test]
fn reuse_variables_on_a_captured_current_scope_reaches_the_scopes_entered_after() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _a = variable_scope("a").enter()?;
    let v = get_variable("v", [1]).get()?;
    current_variable_scope()?.reuse_variables();
    assert_eq!(get_variable("v", [1]).get()?, v);
    let _b = variable_scope("b").enter()?;
    assert_eq!(current_variable_scope()?.reuse(), Reuse::True);
    let err = get_variable("w", [1]).get().unwrap_err();
    assert!(err.to_string().contains("set by scope `a`"), "{err}");
    Ok(())
}

#[test]
fn scopes_left_and_entered_again_make_fresh_objects() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let first = variable_scope("a").reuse(Reuse::Auto).enter()?;
    let kept = first.scope().clone();
    first.exit()?;
    // The next entry at that depth is another scope; the captured one is unchanged.
    let second = variable_scope("b").enter()?;
    assert_eq!((second.scope().name(), second.scope().reuse()), ("b", Reuse::Inherit));
    assert!(!second.scope().ptr_eq(&kept));
    assert_eq!((kept.name(), kept.original_name_scope(), kept.reuse()), ("a", "a/", Reuse::Auto));
    second.exit()?;
    // Entering the captured scope again starts from its fields, in a new name scope.
    let again = variable_scope(&kept).enter()?;
    assert_eq!((again.scope().name(), again.scope().original_name_scope()), ("a", "a/"));
    assert_eq!(current_name_scope()?, "a_1");
    Ok(())
}

#[test]
fn error_messages_name_where_the_reuse_mode_was_set() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    get_variable("v", [1]).get()?;
    let err = get_variable("v", [1]).get().unwrap_err();
    assert!(err.to_string().contains("set by no enclosing scope"), "{err}");
    // Set on the root scope's object, seen by a scope entered after.
    current_variable_scope()?.reuse_variables();
    let inner = variable_scope("inner").enter()?;
    let err = get_variable("missing", [1]).get().unwrap_err();
    assert!(err.to_string().contains("set by the root scope"), "{err}");
    let captured = inner.scope().clone();
    inner.exit()?;
    // A captured scope entered again keeps the origin of its mode.
    let _again = variable_scope(&captured).enter()?;
    let err = get_variable("missing", [1]).get().unwrap_err();
    assert!(err.to_string().contains("set by the root scope"), "{err}");
    Ok(())
}
