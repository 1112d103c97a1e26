//! The runtime's folders are layers: a file imports only from its own layer
//! and the layers below it, so the lower layers never know the upper ones
//! and no import circle can form between folders. This test reads every
//! `crate::` path in `scope-runtime/src` and fails on one that points upward.

use std::path::{Path, PathBuf};

/// The layers, lowest first (the order `scope-runtime/src/lib.rs` declares them in).
const LAYERS: &[&str] = &["base", "variable", "graph", "kernels", "scope", "ops", "store", "train", "run", "io"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment of every `crate::` path in `source`, braces of a
/// `use crate::{a::X, b::Y}` included, with the line it is on.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in source.match_indices("crate::") {
        // `$crate::` in macros names the crate root's items, not a layer.
        if source[..at].ends_with('$') {
            continue;
        }
        let line = source[..at].matches('\n').count() + 1;
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Each top-level item of the group starts with the segment it imports from.
            let mut push = |item: &str| {
                let segment: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !segment.is_empty() {
                    found.push((line, segment));
                }
            };
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '}' if depth == 0 => break,
                    ',' if depth == 0 => {
                        push(&std::mem::take(&mut item));
                        continue;
                    }
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                item.push(c);
            }
            push(&item);
        } else {
            let segment: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push((line, segment));
        }
    }
    found
}

#[test]
fn no_layer_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scope-runtime/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let Some(layer) = relative.components().next().and_then(|c| c.as_os_str().to_str()) else { continue };
        if relative.components().count() == 1 {
            continue; // lib.rs: the crate root declares the layers and re-exports from all of them
        }
        let own = rank(layer).unwrap_or_else(|| panic!("`{layer}` is not in LAYERS; add it in its place"));
        let source = std::fs::read_to_string(file).expect("readable source");
        for (line, target) in crate_paths(&source) {
            checked += 1;
            // Items the crate root re-exports (`crate::Error` in doc links) belong to no layer.
            let Some(theirs) = rank(&target) else { continue };
            if theirs > own {
                wrong.push(format!(
                    "{}:{line}: `{layer}` imports `crate::{target}`, a layer above it",
                    relative.display()
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} crate paths found: is the parser broken?");
    assert!(wrong.is_empty(), "imports against the layer order {LAYERS:?}:\n{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_nested_paths() {
    let paths =
        crate_paths("use crate::{base::{DType, Shape}, graph::Graph};\nlet x = crate::ops::add;\n$crate::Tensor");
    assert_eq!(paths, [(1, "base".into()), (1, "graph".into()), (2, "ops".into())]);
}

#[test]
fn every_layer_folder_is_listed() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scope-runtime/src");
    let mut folders: Vec<String> = std::fs::read_dir(&src)
        .expect("readable source folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut listed: Vec<String> = LAYERS.iter().map(|l| l.to_string()).collect();
    listed.sort();
    assert_eq!(folders, listed);
}
