//! Replacing files atomically: each written in full to a uniquely named
//! temporary file beside it, flushed to disk, then renamed into place.

use crate::base::error::FileKind;
use crate::base::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Held while files are renamed into place, so that two saves in this
/// process never interleave their renames (one save's index with the other's data).
static RENAMES: Mutex<()> = Mutex::new(());

/// A temporary path beside `path` that no other write uses: the process id
/// and a counter, hidden with a leading dot.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// Removes the temporary files beside `path` that processes no longer
/// running left (killed halfway through a save), so that a full disk does
/// not stay full. Only Linux tells which processes run (`/proc`); elsewhere
/// nothing is removed.
fn remove_stale_temps(path: &Path) {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return;
    }
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let start = format!(".{name}.tmp-");
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file.strip_prefix(&start).and_then(|rest| rest.split('-').next()).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !proc_dir.join(pid.to_string()).exists()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Temporary files not yet renamed, removed when dropped.
struct Temps(Vec<PathBuf>);

impl Drop for Temps {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn write_temp(kind: FileKind, path: &Path, bytes: &[u8], temps: &mut Temps) -> Result<PathBuf> {
    let io = |source| Error::Io { what: kind, path: path.display().to_string(), source };
    let tmp = temp_path(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io)?;
    temps.0.push(tmp.clone());
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(tmp)
}

/// Writes `files` (path and bytes), then the file `last` makes, if any,
/// each to a temporary file, and renames them into place in that order.
/// `last` runs while no other save of this process renames files, so it can
/// read a file it then replaces (the `checkpoint` state file). On any error
/// the temporary files are removed and files not yet renamed keep their
/// previous contents.
pub(crate) fn write_all(
    kind: FileKind,
    files: &[(PathBuf, Vec<u8>)],
    last: impl FnOnce() -> Result<Option<(PathBuf, Vec<u8>)>>,
) -> Result<()> {
    let mut temps = Temps(Vec::new());
    let mut planned = Vec::new();
    for (path, _) in files {
        remove_stale_temps(path);
    }
    for (path, bytes) in files {
        planned.push((write_temp(kind, path, bytes, &mut temps)?, path.clone()));
    }
    let _renaming = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((path, bytes)) = last()? {
        remove_stale_temps(&path);
        planned.push((write_temp(kind, &path, &bytes, &mut temps)?, path));
    }
    for (tmp, path) in &planned {
        std::fs::rename(tmp, path).map_err(|source| Error::Io {
            what: kind,
            path: path.display().to_string(),
            source,
        })?;
        temps.0.retain(|t| t != tmp);
    }
    // Make the renames themselves durable; not every platform can sync a directory.
    if let Some(dir) = planned.first().and_then(|(_, p)| p.parent()) {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
