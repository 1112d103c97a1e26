//! Every naming printout of the TF1 scope tutorials, as TensorFlow 2.21
//! (`tf.compat.v1`) really prints them (the tutorials misprint a few).
//! Each `{ let _s = …enter()?; … }` block is a TF `with` block.
//!
//! Run: `cargo run --example scope_names`

use scopeflow::prelude::*;
use std::io::Write;

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Prints one `description: name` line per tutorial printout.
pub fn run(out: &mut impl Write) -> Result<()> {
    let mut show = |what: &str, name: &str| writeln!(out, "{what}: {name}").expect("stdout is writable");

    // name_scope names tf.Variable and ops; a second `s1` is `s1_1`, and
    // re-entering the captured `s1_1/` string uniquifies inside it.
    {
        let graph = Graph::new();
        let _g = graph.as_default();
        {
            let _s1 = name_scope("s1").enter()?;
            let _s2 = name_scope("s2").enter()?;
            show("name_scope s1/s2, Variable w", Variable::new(vec![1i32, 2, 3]).name("w").build()?.name());
        }
        let captured = {
            let s1 = name_scope("s1").enter()?;
            show("second name_scope s1, Variable w", Variable::new(vec![1i32, 2, 3]).name("w").build()?.name());
            s1.name().to_owned()
        };
        let _again = name_scope(captured.as_str()).enter()?;
        show("re-entered s1_1/, Variable w", Variable::new(0.1f32).name("w").build()?.name());
    }

    // variable_scope vs name_scope: get_variable ignores name scopes.
    {
        let graph = Graph::new();
        let _g = graph.as_default();
        {
            let _vs = variable_scope("scope_vars").enter()?;
            let a = Variable::new(1i32).name("a").build()?;
            let b = get_variable("b", []).dtype(DType::I32).initializer(Init::Constant(2.0)).get()?;
            let c = named("c").constant(3i32)?;
            show("variable_scope scope_vars, Variable a", a.name());
            show("variable_scope scope_vars, get_variable b", b.name());
            show("variable_scope scope_vars, constant c", c.name());
            let _res = variable_scope("res").enter()?;
            let ab = mul(&a, &b)?;
            show("variable_scope res, a * b", ab.name());
            let res = named("res").add(&ab, &c)?;
            show("variable_scope res, add named res", res.name());
            let value = scopeflow::Session::new(&graph).run(&[&res], &[])?.remove(0);
            show("  value of a * b + c", &value.to_f64_vec()[0].to_string());
        }
        {
            let _ns = name_scope("scope_name").enter()?;
            let a = Variable::new(1i32).name("a").build()?;
            let b = get_variable("b", []).dtype(DType::I32).initializer(Init::Constant(2.0)).get()?;
            let c = named("c").constant(3i32)?;
            show("name_scope scope_name, Variable a", a.name());
            show("name_scope scope_name, get_variable b", b.name());
            show("name_scope scope_name, constant c", c.name());
            let _res = name_scope("res").enter()?;
            show("name_scope res, add named res", named("res").add(&mul(&a, &b)?, &c)?.name());
        }
    }

    // Nested variable scopes and default names.
    {
        let graph = Graph::new();
        let _g = graph.as_default();
        let _foo = variable_scope("foo").enter()?;
        {
            let _bar = variable_scope("bar").enter()?;
            show("foo/bar, get_variable v", get_variable("v", [1]).get()?.name());
        }
        let bar = variable_scope(None).default_name("bar").enter()?;
        show("foo, second scope with default name bar", bar.name());
        show("  get_variable b", get_variable("b", [1]).get()?.name());
    }

    // Sharing: reuse = true re-opens `foo` (its ops go to `foo_1/`); auto creates or shares.
    {
        let graph = Graph::new();
        let _g = graph.as_default();
        let x = named("x").constant(3.0f32)?;
        {
            let _foo = variable_scope("foo").enter()?;
            let v = get_variable("v", []).get()?;
            show("foo, get_variable v", v.name());
            show("foo, x * v", mul(&x, &v)?.name());
        }
        {
            let _foo = variable_scope("foo").reuse(Reuse::True).enter()?;
            let v = get_variable("v", []).get()?;
            show("foo (reuse = true), get_variable v", v.name());
            show("foo (reuse = true), x * v", mul(&x, &v)?.name());
        }
        for call in 1..=2 {
            let s = variable_scope("const").reuse(Reuse::Auto).enter()?;
            show(&format!("call {call} of an auto-reuse function, scope ops in"), s.original_name_scope());
            show("  get_variable a", get_variable("a", [1]).get()?.name());
        }
    }

    // A name scope names the ops and tf.Variable, not get_variable.
    {
        let graph = Graph::new();
        let _g = graph.as_default();
        let _my = name_scope("my_scope").enter()?;
        let v1 = get_variable("var1", [1]).get()?;
        let v2 = Variable::new(1.0f32).name("var2").build()?;
        show("name_scope my_scope, get_variable var1", v1.name());
        show("name_scope my_scope, Variable var2", v2.name());
        show("name_scope my_scope, var1 + var2", add(&v1, &v2)?.name());
    }
    Ok(())
}
