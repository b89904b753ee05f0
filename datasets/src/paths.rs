//! Where the shared real data lives (it is never copied into the repository).

use std::path::{Path, PathBuf};

/// The data root a `[data]` table that names none reads from:
/// `../shared/data`, relative to the directory ember runs in (the workspace
/// root, where the shared data sits next to it).
pub fn default_data_root() -> PathBuf {
    PathBuf::from("../shared/data")
}

/// The shared data directory: `$EMBER_DATA_DIR` if set, else
/// `<workspace root>/../shared/data` (the workspace root being this crate's
/// parent directory, fixed at compile time).
///
/// For tests of any crate: returns `None` (after an `eprintln!` saying the
/// test is skipped) when the directory is missing, except under `CI`, where
/// a missing directory is a loud failure (panic) rather than a silent skip.
pub fn shared_data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("../shared/data")
        });
    let dir = dir.canonicalize().unwrap_or(dir);
    if dir.join("frappe").is_dir() && dir.join("ml-100k").is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "shared data not found at {} (CI needs ../shared/data next to the workspace, or EMBER_DATA_DIR)",
            dir.display()
        );
    } else {
        eprintln!(
            "skipping: shared data not found at {} (set EMBER_DATA_DIR)",
            dir.display()
        );
        None
    }
}
