//! `ember serve`: the pipeline behind HTTP (axum on tokio).
//!
//! | endpoint | body | answer |
//! |---|---|---|
//! | `POST /recommend` | `{"user": 42, "k": 10}` (+ `"candidates"`) | `{"items": [{"item", "score", "content_type"}], "recalled", "ranked", "reranker", "request_id", "session", "arm", "version"}` |
//! | `POST /score` | `{"user": 42, "items": [1, 50]}` | `{"scores": [..], "version"}` (fine ranker) |
//! | `POST /events` | `{"events": [{"user", "item", "time", "label"}]}` | `{"observed", "version"}` (feature store counters) |
//! | `POST /feedback` | `{"request_id", "events": [{"item", "event", "dwell"}]}` | `{"logged"}` (the event log, [`crate::feed`]) |
//! | `GET /health` | | `{"status": "ok", "version", "previous", "swaps"}` |
//! | `GET /metrics` | | Prometheus text |
//! | `POST /admin/load` | `{"version": "v2"}` | loads `<versions dir>/v2.toml`, swaps it in |
//! | `POST /admin/rollback` | | back to the previous version |
//!
//! With an admin token the `/admin/*` routes require `Authorization:
//! Bearer <token>` (401 otherwise); without one the server only listens on
//! loopback addresses.
//!
//! Versions are pipeline files in one directory (the one holding the
//! pipeline `ember serve` starts with); loading one never stops serving.
//! With `--watch DIR` the server also takes every new model version that
//! lands in `DIR` (an `ember online` run's versions) as its ranker, by
//! itself ([`watch`]). Every answer names the version that scored it.

pub mod batcher;
pub mod client;
pub mod metrics;
pub mod routes;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;

pub use batcher::{BatchingConfig, VersionInfo};
pub use metrics::Metrics;

use crate::feed::{Feed, FeedOptions};
use crate::pipeline::Pipeline;

/// Shared by every handler.
pub struct AppState {
    pub batcher: batcher::BatcherHandle,
    pub metrics: Arc<Metrics>,
    /// Sessions, served requests, the feedback log, per-arm counters.
    pub feed: Arc<Feed>,
    /// Where `/admin/load` finds `<version>.toml`.
    pub versions_dir: PathBuf,
    /// `--set` overrides applied to every version loaded.
    pub overrides: Vec<String>,
    /// The bearer token `/admin/*` requires, if any.
    pub admin_token: Option<AdminToken>,
    /// Serialises loads and rollbacks.
    pub admin: tokio::sync::Mutex<()>,
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The first version: a pipeline file; its directory holds the others.
    pub pipeline: PathBuf,
    pub overrides: Vec<String>,
    pub addr: SocketAddr,
    pub batching: BatchingConfig,
    /// Take new model versions from a directory as they land.
    pub watch: Option<watch::WatchOptions>,
    /// `/admin/load` and `/admin/rollback` require `Authorization: Bearer
    /// <token>`. Without one the server refuses to listen beyond loopback.
    pub admin_token: Option<AdminToken>,
    /// Sessions and the feedback log (`--feedback-log DIR`).
    pub feed: FeedOptions,
}

/// The admin routes' bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(pub String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// The token in `file` (trimmed), else in `$EMBER_ADMIN_TOKEN`, else none.
    pub fn from_file_or_env(file: Option<&Path>) -> Result<Option<Self>> {
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading the admin token file {}", file.display()))?;
            return Ok(Some(Self(text.trim().to_owned())));
        }
        Ok(std::env::var("EMBER_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Self(t.trim().to_owned())))
    }
}

/// The router over a loaded pipeline named `version`. With `options.watch`
/// it also starts the watcher, so it must be called inside a tokio runtime.
pub fn router(
    pipeline: Pipeline,
    version: String,
    options: &ServeOptions,
    feed: Arc<Feed>,
) -> Router {
    let metrics = Arc::new(Metrics::default());
    let batcher = batcher::start(
        pipeline,
        version.clone(),
        options.batching,
        metrics.clone(),
        feed.clone(),
    );
    let state = Arc::new(AppState {
        batcher,
        metrics,
        feed,
        versions_dir: options
            .pipeline
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned),
        overrides: options.overrides.clone(),
        admin_token: options.admin_token.clone(),
        admin: tokio::sync::Mutex::new(()),
    });
    if let Some(watch) = &options.watch {
        tokio::spawn(watch::watch(
            state.clone(),
            options.pipeline.clone(),
            watch.clone(),
            version,
        ));
    }
    Router::new()
        .route("/recommend", post(routes::recommend))
        .route("/score", post(routes::score))
        .route("/events", post(routes::events))
        .route("/feedback", post(routes::feedback))
        .route("/health", get(routes::health))
        .route("/metrics", get(routes::metrics))
        .route("/admin/load", post(routes::load))
        .route("/admin/rollback", post(routes::rollback))
        .fallback(routes::not_found)
        .with_state(state)
}

/// A version's name: its file stem.
pub fn version_name(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "default".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// A running server (tests and the load test start one on a free port).
pub struct ServerHandle {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task")??;
        Ok(())
    }
}

/// The version a server starts with: with `--watch`, the newest complete
/// version in the watched directory, so a server restarted (after a crash
/// in the middle of a swap, say) serves what it served before rather than
/// going back to the pipeline file's model; else, or when that version
/// does not load, the pipeline file (named by its stem).
pub fn load_first_version(options: &ServeOptions) -> Result<(Pipeline, String)> {
    if let Some(watch) = &options.watch {
        match watch::load_newest(&options.pipeline, &options.overrides, watch) {
            Ok(Some(first)) => return Ok(first),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "the newest watched version does not load; starting from the pipeline file"
            ),
        }
    }
    let pipeline = Pipeline::load_file(&options.pipeline, &options.overrides)?;
    Ok((pipeline, version_name(&options.pipeline)))
}

/// Loads the first version (off the async threads) and starts serving on
/// `options.addr` inside the current tokio runtime.
pub async fn start(options: ServeOptions) -> Result<ServerHandle> {
    let opts = options.clone();
    let (pipeline, version) = tokio::task::spawn_blocking(move || load_first_version(&opts))
        .await
        .context("loading task")??;
    start_version(pipeline, version, options).await
}

/// Serves an already loaded pipeline, named by the pipeline file's stem.
pub async fn start_with(pipeline: Pipeline, options: ServeOptions) -> Result<ServerHandle> {
    let version = version_name(&options.pipeline);
    start_version(pipeline, version, options).await
}

async fn start_version(
    pipeline: Pipeline,
    version: String,
    options: ServeOptions,
) -> Result<ServerHandle> {
    if options.admin_token.is_none() && !options.addr.ip().is_loopback() {
        anyhow::bail!(
            "{}: the admin routes would answer anyone who can reach this address; give an admin token (--admin-token-file FILE or EMBER_ADMIN_TOKEN) or listen on 127.0.0.1",
            options.addr
        );
    }
    if options
        .admin_token
        .as_ref()
        .is_some_and(|t| t.0.trim().len() < 16)
    {
        anyhow::bail!("the admin token must have at least 16 characters");
    }
    // The feed's logs are replayed before the first request.
    let feed_options = options.feed.clone();
    let feed = tokio::task::spawn_blocking(move || Feed::open(feed_options))
        .await
        .context("opening the feed")??;
    let app = router(pipeline, version, &options, Arc::new(feed));
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .with_context(|| format!("cannot listen on {}", options.addr))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    tracing::info!(%addr, "serving");
    Ok(ServerHandle {
        addr,
        shutdown: Some(tx),
        task,
    })
}

/// `ember serve`: serves until Ctrl-C.
pub fn serve_blocking(options: ServeOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async {
        let server = start(options).await?;
        println!("serving on http://{}", server.addr);
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        println!("shutting down");
        server.stop().await
    })
}

/// A server on its own tokio runtime, for blocking callers (the load test,
/// tests): requests are served by the runtime's threads while the caller
/// does anything else.
pub struct BackgroundServer {
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    handle: ServerHandle,
}

impl BackgroundServer {
    /// Serves `pipeline` (already loaded) per `options`.
    pub fn start(pipeline: Pipeline, options: ServeOptions) -> Result<Self> {
        let version = version_name(&options.pipeline);
        Self::start_version(pipeline, version, options)
    }

    fn start_version(pipeline: Pipeline, version: String, options: ServeOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        let handle = runtime.block_on(start_version(pipeline, version, options))?;
        Ok(Self {
            addr: handle.addr,
            runtime,
            handle,
        })
    }

    /// Loads the first version (see [`load_first_version`]) and serves it.
    pub fn load_and_start(options: ServeOptions) -> Result<Self> {
        let (pipeline, version) = load_first_version(&options)?;
        Self::start_version(pipeline, version, options)
    }

    pub fn stop(self) -> Result<()> {
        self.runtime.block_on(self.handle.stop())
    }
}
