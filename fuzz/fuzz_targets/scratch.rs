//! The readers under test take paths: each input is written to a scratch
//! directory of this process (in memory under /dev/shm where there is one).

use std::path::PathBuf;

/// `name` in this process's scratch directory, holding `bytes`.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).expect("the fuzzer's scratch directory is writable");
    path
}

/// This process's scratch directory, made on first use.
pub fn dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("scopeflow-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the fuzzer's scratch directory can be made");
    dir
}
