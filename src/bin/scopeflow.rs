//! `scopeflow`: look inside checkpoints by scoped name.
//!
//! ```text
//! scopeflow inspect [--json] PATH     list a checkpoint's tensors as a scope tree
//! scopeflow diff PATH MANIFEST        compare a checkpoint with a model's manifest
//! scopeflow convert PATH OUT          write a checkpoint's tensors to another checkpoint
//! ```
//!
//! PATH is a safetensors file, or a TF1 checkpoint prefix (`model.ckpt`) or
//! its `.index` file. `convert` writes a safetensors file when OUT ends in
//! `.safetensors`, and otherwise a TF1 checkpoint at the prefix OUT. MANIFEST is a file holding `graph.manifest().summary()`.
//! `diff` exits with 1 when anything differs.

use scopeflow::{Stored, read_checkpoint};
use std::collections::BTreeMap;
use std::process::ExitCode;

const USAGE: &str =
    "usage: scopeflow inspect [--json] PATH | scopeflow diff PATH MANIFEST | scopeflow convert PATH OUT[.safetensors]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["inspect", "--json", path] => inspect(path, true),
        ["inspect", path] => inspect(path, false),
        ["diff", path, manifest] => diff(path, manifest),
        ["convert", path, out] => convert(path, out),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("scopeflow: {e}");
            ExitCode::from(2)
        }
    }
}

/// Name, dtype and shape of each tensor, sorted by name.
fn summary(path: &str) -> scopeflow::Result<BTreeMap<String, (String, Vec<usize>)>> {
    Ok(read_checkpoint(path)?
        .into_iter()
        .map(|(name, t)| {
            let info = match t {
                Stored::Value(v) => (v.dtype().name().to_owned(), v.shape().to_vec()),
                Stored::Unsupported { dtype, shape } => (dtype, shape),
            };
            (name, info)
        })
        .collect())
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inspect(path: &str, json: bool) -> scopeflow::Result<ExitCode> {
    let tensors = summary(path)?;
    if json {
        let items: Vec<String> = tensors
            .iter()
            .map(|(name, (dtype, shape))| {
                format!(
                    "{{\"name\": {}, \"dtype\": {}, \"shape\": {:?}}}",
                    json_string(name),
                    json_string(dtype),
                    shape
                )
            })
            .collect();
        println!("[{}]", items.join(", "));
        return Ok(ExitCode::SUCCESS);
    }
    // A scope tree: each scope once, its variables indented under it.
    let mut open: Vec<&str> = Vec::new();
    for (name, (dtype, shape)) in &tensors {
        let parts: Vec<&str> = name.split('/').collect();
        let (scopes, leaf) = parts.split_at(parts.len() - 1);
        let common = open.iter().zip(scopes).take_while(|(a, b)| a == b).count();
        open.truncate(common);
        for scope in &scopes[common..] {
            println!("{}{scope}/", "  ".repeat(open.len()));
            open.push(scope);
        }
        println!("{}{} {shape:?} {dtype}", "  ".repeat(open.len()), leaf[0]);
    }
    println!("{} tensors", tensors.len());
    Ok(ExitCode::SUCCESS)
}

fn diff(path: &str, manifest: &str) -> scopeflow::Result<ExitCode> {
    let saved = summary(path)?;
    let model = scopeflow::read_manifest(manifest)?;
    let mut differences = 0;
    for (name, (dtype, shape)) in &model {
        match saved.get(name) {
            None => {
                differences += 1;
                println!("missing     {name} {shape:?} {dtype}: the model has it, the checkpoint does not");
            }
            Some(found) if found != &(dtype.clone(), shape.clone()) => {
                differences += 1;
                println!(
                    "mismatched  {name}: the model has {shape:?} {dtype}, the checkpoint {:?} {}",
                    found.1, found.0
                );
            }
            Some(_) => {}
        }
    }
    for (name, (dtype, shape)) in saved.iter().filter(|(n, _)| !model.contains_key(*n)) {
        differences += 1;
        println!("unexpected  {name} {shape:?} {dtype}: the checkpoint has it, the model does not");
    }
    println!("{} in both, {differences} differences", model.keys().filter(|n| saved.contains_key(*n)).count());
    Ok(if differences == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn convert(path: &str, out: &str) -> scopeflow::Result<ExitCode> {
    let mut values = BTreeMap::new();
    for (name, tensor) in read_checkpoint(path)? {
        match tensor {
            Stored::Value(v) => {
                values.insert(name, v);
            }
            Stored::Unsupported { dtype, .. } => eprintln!("skipped {name}: dtype {dtype} is not supported"),
        }
    }
    if out.ends_with(".safetensors") {
        scopeflow::write_safetensors(out, &values)?;
    } else {
        scopeflow::write_tf1_checkpoint(out, &values)?;
    }
    println!("wrote {} tensors to {out}", values.len());
    Ok(ExitCode::SUCCESS)
}
