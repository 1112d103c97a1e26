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
//! `diff` exits with 1 when anything differs. Exit codes: 0 done (also when
//! the reader of the output goes away, as `| head` does), 1 `diff` found
//! differences, 2 bad arguments or a file that cannot be read or written.
//! Names are printed with control characters escaped.

use scopeflow::{Stored, read_checkpoint};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// Prints a line on stdout: a reader that went away (`| head`) ends the
/// command quietly, any other failure to write with exit code 2.
macro_rules! out {
    ($($arg:tt)*) => {
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            return Ok(output_failed(e));
        }
    };
}

/// The exit code when stdout cannot be written: success for a closed pipe, else 2 with a message.
fn output_failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("scopeflow: cannot write the output: {e}");
    ExitCode::from(2)
}

/// `name` with control characters escaped, safe to print on a terminal.
fn shown(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

const USAGE: &str =
    "usage: scopeflow inspect [--json] PATH | scopeflow diff PATH MANIFEST | scopeflow convert PATH OUT[.safetensors]";

const HELP: &str = "scopeflow: look inside checkpoints by scoped name

usage:
  scopeflow inspect [--json] PATH   list a checkpoint's tensors as a scope tree (or JSON)
  scopeflow diff PATH MANIFEST      compare a checkpoint with a model's manifest
  scopeflow convert PATH OUT        write a checkpoint's tensors to another checkpoint
  scopeflow COMMAND --help          what a command does and prints

PATH is a safetensors file (`*.safetensors`), or a TF1 checkpoint: its prefix
(`model.ckpt`) or its `.index` file.

exit codes: 0 done (also when the reader of the output goes away, as `| head`
does), 1 `diff` found differences, 2 bad arguments or a file that cannot be
read or written (the message names the path and the format).";

/// What `scopeflow COMMAND --help` prints.
fn command_help(command: &str) -> Option<&'static str> {
    Some(match command {
        "inspect" => {
            "scopeflow inspect [--json] PATH

Lists every tensor of the checkpoint at PATH, sorted by name: as a tree of
scopes with each tensor's shape and dtype, then `N tensors`; with --json, one
JSON list of {\"name\", \"dtype\", \"shape\"} objects. Control characters in
names are escaped."
        }
        "diff" => {
            "scopeflow diff PATH MANIFEST

Compares the checkpoint at PATH with MANIFEST (a file holding
`graph.manifest().summary()`): one line per tensor `missing` (in the model
only), `unexpected` (in the checkpoint only) or `mismatched` (shape or dtype),
then `N in both, M differences`. Exits with 1 when anything differs."
        }
        "convert" => {
            "scopeflow convert PATH OUT

Writes every tensor of the checkpoint at PATH to OUT: a safetensors file when
OUT ends in `.safetensors`, else a TF1 checkpoint with the prefix OUT
(OUT.index, OUT.data-00000-of-00001), atomically. Refuses to write over the
checkpoint it reads. Prints `wrote N tensors to OUT`."
        }
        _ => return None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["--help" | "-h" | "help"] => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        [command, "--help" | "-h"] | ["help", command] => match command_help(command) {
            Some(text) => {
                println!("{text}");
                return ExitCode::SUCCESS;
            }
            None => {
                eprintln!("scopeflow: no command `{}`\n{USAGE}", shown(command));
                return ExitCode::from(2);
            }
        },
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
        out!("[{}]", items.join(", "));
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
            out!("{}{}/", "  ".repeat(open.len()), shown(scope));
            open.push(scope);
        }
        out!("{}{} {shape:?} {}", "  ".repeat(open.len()), shown(leaf[0]), shown(dtype));
    }
    out!("{} tensors", tensors.len());
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
                out!("missing     {} {shape:?} {dtype}: the model has it, the checkpoint does not", shown(name));
            }
            Some(found) if found != &(dtype.clone(), shape.clone()) => {
                differences += 1;
                out!(
                    "mismatched  {}: the model has {shape:?} {dtype}, the checkpoint {:?} {}",
                    shown(name),
                    found.1,
                    shown(&found.0)
                );
            }
            Some(_) => {}
        }
    }
    for (name, (dtype, shape)) in saved.iter().filter(|(n, _)| !model.contains_key(*n)) {
        differences += 1;
        out!("unexpected  {} {shape:?} {}: the checkpoint has it, the model does not", shown(name), shown(dtype));
    }
    let both = model.keys().filter(|n| saved.contains_key(*n)).count();
    out!("{both} in both, {differences} differences");
    Ok(if differences == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn convert(path: &str, out: &str) -> scopeflow::Result<ExitCode> {
    // A TF1 checkpoint is its prefix's files: writing to the prefix read would replace them.
    let prefix = |p: &str| p.strip_suffix(".index").unwrap_or(p).to_owned();
    if prefix(path) == prefix(out) {
        eprintln!("scopeflow: convert would write over `{path}`, the checkpoint it reads; give another OUT");
        return Ok(ExitCode::from(2));
    }
    let mut values = BTreeMap::new();
    for (name, tensor) in read_checkpoint(path)? {
        match tensor {
            Stored::Value(v) => {
                values.insert(name, v);
            }
            Stored::Unsupported { dtype, .. } => {
                eprintln!("skipped {}: dtype {} is not supported", shown(&name), shown(&dtype));
            }
        }
    }
    if out.ends_with(".safetensors") {
        scopeflow::write_safetensors(out, &values)?;
    } else {
        scopeflow::write_tf1_checkpoint(out, &values)?;
    }
    out!("wrote {} tensors to {out}", values.len());
    Ok(ExitCode::SUCCESS)
}
