//! The files of a stream, in order: one file, or a directory's files by
//! name, optionally waiting for new ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::config::StreamConfig;

/// Hands out a stream's files once each, in name order.
pub struct StreamFiles {
    config: StreamConfig,
    done: BTreeSet<PathBuf>,
    single_file_read: bool,
}

/// A file still being written: a shipper writes `.name` or `name.tmp` and
/// renames it when complete.
fn in_progress(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with('.') || name.ends_with(".tmp")
}

impl StreamFiles {
    pub fn new(config: &StreamConfig) -> Result<Self> {
        if !config.path.exists() {
            bail!(
                "stream {}: no such file or directory",
                config.path.display()
            );
        }
        Ok(Self {
            config: config.clone(),
            done: BTreeSet::new(),
            single_file_read: false,
        })
    }

    /// Complete files not yet handed out, in name order.
    fn pending(&self) -> Result<Vec<PathBuf>> {
        let dir = &self.config.path;
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry
                .with_context(|| format!("reading {}", dir.display()))?
                .path();
            if path.is_file() && !in_progress(&path) && !self.done.contains(&path) {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// The next file, or `None` at the end of the stream (a file read, a
    /// directory drained without `follow`, or idle past the timeout).
    pub fn next_file(&mut self) -> Result<Option<PathBuf>> {
        if self.config.path.is_file() {
            if self.single_file_read {
                return Ok(None);
            }
            self.single_file_read = true;
            return Ok(Some(self.config.path.clone()));
        }
        let waiting_since = Instant::now();
        loop {
            if let Some(next) = self.pending()?.into_iter().next() {
                self.done.insert(next.clone());
                return Ok(Some(next));
            }
            let idle = self.config.idle_timeout_seconds;
            if !self.config.follow || (idle > 0.0 && waiting_since.elapsed().as_secs_f64() >= idle)
            {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_secs_f64(self.config.poll_seconds.max(0.01)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(path: &Path, follow: bool) -> StreamConfig {
        StreamConfig {
            path: path.to_owned(),
            schema: PathBuf::new(),
            true_probability: None,
            follow,
            poll_seconds: 0.01,
            idle_timeout_seconds: 0.3,
        }
    }

    #[test]
    fn reads_a_directory_in_name_order_and_skips_files_being_written() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", ".c.csv", "d.csv.tmp"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let mut files = StreamFiles::new(&config(dir.path(), false)).unwrap();
        let mut seen = Vec::new();
        while let Some(f) = files.next_file().unwrap() {
            seen.push(f.file_name().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(seen, ["a.csv", "b.csv"]);
    }

    #[test]
    fn follows_new_files_until_idle() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.csv"), "x").unwrap();
        let mut files = StreamFiles::new(&config(dir.path(), true)).unwrap();
        assert!(files.next_file().unwrap().is_some());
        let path = dir.path().to_owned();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::write(path.join(".2.csv"), "x").unwrap();
            std::fs::rename(path.join(".2.csv"), path.join("2.csv")).unwrap();
        });
        let next = files.next_file().unwrap().unwrap();
        assert!(next.ends_with("2.csv"));
        writer.join().unwrap();
        assert!(files.next_file().unwrap().is_none(), "idle timeout ends it");
        assert!(StreamFiles::new(&config(&dir.path().join("nope"), false)).is_err());
    }
}
