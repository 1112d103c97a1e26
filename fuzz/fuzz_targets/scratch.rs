//! The readers under test take paths: each input is written to a scratch
//! directory of this process (in memory under /dev/shm where there is one).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `name` in this process's scratch directory, holding `bytes`.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).expect("the fuzzer's scratch directory is writable");
    path
}

/// This process's scratch directory, made on first use.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let dir = base.join(format!("scopeflow-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the fuzzer's scratch directory can be made");
        dir
    })
}
