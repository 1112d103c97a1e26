//! The `checkpoint` state file TF1's `Saver` keeps in a checkpoint
//! directory: a text `CheckpointState` proto naming the latest checkpoint
//! (`model_checkpoint_path`) and the ones kept (`all_model_checkpoint_paths`).

use super::bundle_writer::with_suffix;
use crate::base::error::FileKind;
use crate::base::{Error, Result};
use std::path::{Path, PathBuf};

/// The state file's name, TF's default `latest_filename`.
const STATE_FILE: &str = "checkpoint";

/// The latest checkpoint the `checkpoint` state file of `dir` names (TF
/// `tf.train.latest_checkpoint`), as a prefix to restore from: `None` when
/// `dir` has no state file or the checkpoint it names has no `.index` file.
/// Relative paths in the file are taken relative to `dir`, as TensorFlow takes them.
///
/// # Errors
///
/// [`Error::Io`] when the state file exists but cannot be read;
/// [`Error::Format`] when it is not a `CheckpointState` text proto.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, latest_checkpoint, Graph, SaveOptions, Saver};
/// let dir = std::env::temp_dir().join(format!("latest-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let graph = Graph::new();
/// graph.with_default(|| get_variable("w", [2]).get())?;
/// let saver = Saver::new(&graph);
/// saver.save_with(dir.join("model.ckpt"), &SaveOptions { global_step: Some(100), ..Default::default() })?;
/// saver.save_with(dir.join("model.ckpt"), &SaveOptions { global_step: Some(200), ..Default::default() })?;
/// assert_eq!(latest_checkpoint(&dir)?, Some(dir.join("model.ckpt-200")));
/// assert_eq!(latest_checkpoint(dir.join("empty"))?, None);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let dir = dir.as_ref();
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io { what: FileKind::CheckpointState, path: path.display().to_string(), source });
        }
    };
    let state = parse(&text).map_err(|reason| Error::Format {
        path: path.display().to_string(),
        format: FileKind::CheckpointState,
        reason,
    })?;
    Ok(state.latest.map(|p| dir.join(p)).filter(|p| with_suffix(p, ".index").exists()))
}

/// A `CheckpointState`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct State {
    pub(crate) latest: Option<String>,
    pub(crate) all: Vec<String>,
}

/// The state file that records `prefix` as the latest checkpoint of its
/// directory, after the checkpoints the current file lists whose `.index`
/// still exists (its path and contents). Paths are written relative to the
/// directory (TF `save_relative_paths`), so the directory can move.
pub(crate) fn updated(prefix: &Path) -> (PathBuf, String) {
    let dir = prefix.parent().unwrap_or(Path::new(""));
    let path = dir.join(STATE_FILE);
    let name = prefix.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    // A damaged state file is replaced, as TensorFlow's Saver replaces it.
    let old = std::fs::read_to_string(&path).ok().and_then(|t| parse(&t).ok()).unwrap_or_default();
    let mut all: Vec<String> =
        old.all.into_iter().filter(|p| *p != name && with_suffix(&dir.join(p), ".index").exists()).collect();
    all.push(name.clone());
    (path, text(&State { latest: Some(name), all }))
}

/// The text proto of a state, as TensorFlow's `text_format` writes it.
pub(crate) fn text(state: &State) -> String {
    let mut out = String::new();
    if let Some(latest) = &state.latest {
        out.push_str(&format!("model_checkpoint_path: \"{}\"\n", escape(latest)));
    }
    for p in &state.all {
        out.push_str(&format!("all_model_checkpoint_paths: \"{}\"\n", escape(p)));
    }
    out
}

/// Parses the fields of a state text proto; other fields (timestamps) are skipped.
pub(crate) fn parse(text: &str) -> std::result::Result<State, String> {
    let mut state = State::default();
    for (n, line) in text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (field, value) = line.split_once(':').ok_or_else(|| format!("line {n} is not `field: value`"))?;
        let value = value.trim();
        match field.trim() {
            "model_checkpoint_path" => state.latest = Some(unquote(value).map_err(|e| format!("line {n}: {e}"))?),
            "all_model_checkpoint_paths" => state.all.push(unquote(value).map_err(|e| format!("line {n}: {e}"))?),
            "all_model_checkpoint_timestamps" | "last_preserved_timestamp" => {}
            other => return Err(format!("line {n} has unknown field `{other}`")),
        }
    }
    Ok(state)
}

/// C-style escapes, as `text_format` writes strings (bytes outside ASCII in octal).
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// The string of a quoted text-proto value.
fn unquote(v: &str) -> std::result::Result<String, String> {
    let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or("a value is not a quoted string")?;
    let inner = v[1..].strip_suffix(quote).ok_or("a string is not closed")?;
    let (mut out, mut bytes) = (Vec::new(), inner.bytes().peekable());
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let e = bytes.next().ok_or("a string ends in a backslash")?;
        out.push(match e {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                u8::try_from(v).map_err(|_| "an octal escape is above 255")?
            }
            b'x' => {
                let hex: String = (0..2).filter_map(|_| bytes.next_if(u8::is_ascii_hexdigit)).map(char::from).collect();
                u8::from_str_radix(&hex, 16).map_err(|_| "a \\x escape has no hex digits")?
            }
            other => other,
        });
    }
    String::from_utf8(out).map_err(|_| "a path is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_what_tensorflow_writes_and_reads_back() {
        let state = State { latest: Some("model.ckpt-7".into()), all: vec!["model.ckpt-7".into()] };
        // Written by tf.compat.v1.train.Saver().save(..., global_step=7).
        let tf = "model_checkpoint_path: \"model.ckpt-7\"\nall_model_checkpoint_paths: \"model.ckpt-7\"\n";
        assert_eq!(text(&state), tf);
        assert_eq!(parse(tf), Ok(state));
        let odd = State { latest: Some("a \"b\"\\c\té".into()), all: vec![] };
        assert_eq!(parse(&text(&odd)), Ok(odd));
        assert!(parse("model_checkpoint_path: model").is_err());
        assert!(parse("nonsense").is_err());
    }
}
