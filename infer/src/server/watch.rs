//! Live model refresh: the server polls a directory of model versions
//! (`ember online` writes `v000001/`, `v000002/`, ... there, each renamed
//! into place once complete) and makes the newest its ranker.
//!
//! A new version is loaded off the request path as the starting pipeline
//! file with one key overridden (by default `fine.artifact`, pointing at
//! the version's directory), then swapped in through the request queue
//! like `POST /admin/load`: between two batches, so no request is lost and
//! each is scored by one whole version, which its answer names. A version
//! that fails to load is logged and skipped; the live one keeps serving.
//!
//! Polling rather than inotify: versions land every few seconds at most,
//! a directory listing per second costs nothing, and it behaves the same
//! on network file systems, where change notifications do not arrive.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ember_models::artifact::MANIFEST;
use tokio::sync::oneshot;

use super::AppState;
use super::batcher::{Control, Job};
use crate::pipeline::Pipeline;

/// Where versions land and which pipeline key they fill.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub dir: PathBuf,
    /// The pipeline key a version's directory is written into.
    pub key: String,
    pub poll: Duration,
}

impl WatchOptions {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            key: "fine.artifact".to_owned(),
            poll: Duration::from_secs(1),
        }
    }
}

/// The newest complete version in `dir`: the greatest name among the
/// directories with a manifest (names starting with `.` are being written).
pub fn newest_version(dir: &Path) -> Result<Option<(String, PathBuf)>> {
    let mut newest: Option<(String, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') || !path.join(MANIFEST).is_file() {
            continue;
        }
        if newest.as_ref().is_none_or(|(n, _)| name > *n) {
            newest = Some((name, path));
        }
    }
    Ok(newest)
}

/// Loads `pipeline` with the version's directory under `options.key`.
fn load_version(
    pipeline: &Path,
    overrides: &[String],
    options: &WatchOptions,
    version: &Path,
) -> Result<Pipeline> {
    let mut overrides = overrides.to_vec();
    let value = toml::Value::String(version.display().to_string());
    overrides.push(format!("{}={value}", options.key));
    Pipeline::load_file(pipeline, &overrides)
}

/// The newest complete version loaded into `pipeline`, with its name;
/// `None` when the directory holds none yet.
pub fn load_newest(
    pipeline: &Path,
    overrides: &[String],
    options: &WatchOptions,
) -> Result<Option<(Pipeline, String)>> {
    let Some((name, path)) = newest_version(&options.dir)? else {
        return Ok(None);
    };
    let loaded = load_version(pipeline, overrides, options, &path)
        .with_context(|| format!("loading version {}", path.display()))?;
    Ok(Some((loaded, name)))
}

/// Polls until the server stops (the queue closes). `live` is the version
/// the server started with, which is not loaded again.
pub async fn watch(state: Arc<AppState>, pipeline: PathBuf, options: WatchOptions, live: String) {
    let mut tried: Option<String> = Some(live);
    loop {
        tokio::time::sleep(options.poll).await;
        let newest = match newest_version(&options.dir) {
            Ok(Some(newest)) => newest,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "watch: listing versions");
                continue;
            }
        };
        if tried.as_ref() == Some(&newest.0) {
            continue;
        }
        let (name, path) = newest;
        tried = Some(name.clone());
        let (pipeline, overrides, opts) =
            (pipeline.clone(), state.overrides.clone(), options.clone());
        let loaded =
            tokio::task::spawn_blocking(move || load_version(&pipeline, &overrides, &opts, &path))
                .await;
        let pipeline = match loaded {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                tracing::warn!(version = %name, error = %format!("{e:#}"), "watch: version does not load; keeping the live one");
                continue;
            }
            Err(e) => {
                tracing::warn!(version = %name, error = %e, "watch: loading task failed");
                continue;
            }
        };
        let _guard = state.admin.lock().await;
        let (tx, rx) = oneshot::channel();
        let job = Job::Control(Control::Swap {
            pipeline: Box::new(pipeline),
            version: name.clone(),
            done: tx,
        });
        if state.batcher.submit(job).is_err() {
            // A full queue: try again at the next poll.
            tried = None;
            continue;
        }
        match rx.await {
            Ok(info) => {
                tracing::info!(version = %info.current, previous = ?info.previous, "watch: version live")
            }
            Err(_) => return, // the worker has stopped: the server is going down
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_complete_version_wins() {
        let dir = tempfile::tempdir().unwrap();
        assert!(newest_version(dir.path()).unwrap().is_none());
        for (name, complete) in [
            ("v000001", true),
            ("v000003", false),
            ("v000002", true),
            (".v000004.partial", true),
        ] {
            let d = dir.path().join(name);
            std::fs::create_dir(&d).unwrap();
            if complete {
                std::fs::write(d.join(MANIFEST), "{}").unwrap();
            }
        }
        let (name, path) = newest_version(dir.path()).unwrap().unwrap();
        assert_eq!(name, "v000002");
        assert_eq!(path, dir.path().join("v000002"));
    }
}
