//! The micro-batching queue: one worker thread owns the live pipeline and
//! answers queued requests in batches.
//!
//! HTTP handlers put jobs on a bounded queue and await a one-shot reply.
//! The worker takes the first job, then whatever else is queued (up to
//! `max_batch`, waiting at most `max_wait` for more), and answers all
//! `/recommend` and all `/score` jobs of the batch with one forward pass
//! per ranking stage. Version swaps and rollbacks travel through the same
//! queue, so they happen between batches: every request is answered by
//! exactly one whole version, and none is dropped. The pipeline never
//! leaves this thread, so the models need not be shareable across threads.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::metrics::Metrics;
use crate::feed::Feed;
use crate::pipeline::{
    EventRequest, Pipeline, RecommendRequest, Recommendation, RequestError, ScoreRequest,
};

/// A request's outcome, with the version that answered it: its own error,
/// or an internal failure message.
pub type Reply<T> = Result<Result<(T, Arc<str>), RequestError>, String>;

pub enum Job {
    Recommend(RecommendRequest, oneshot::Sender<Reply<Recommendation>>),
    Score(ScoreRequest, oneshot::Sender<Reply<Vec<f32>>>),
    /// Events for the feature store: applied in queue order, so requests
    /// queued before them are scored without them and those after with.
    Events(Vec<EventRequest>, oneshot::Sender<Reply<usize>>),
    Control(Control),
}

/// Jobs that change the live version.
pub enum Control {
    /// Makes `pipeline` live; the old one is kept for a rollback.
    Swap {
        pipeline: Box<Pipeline>,
        version: String,
        done: oneshot::Sender<VersionInfo>,
    },
    /// Swaps back to the previous version (an error when there is none).
    Rollback(oneshot::Sender<Result<VersionInfo, String>>),
}

/// Which versions are loaded.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct VersionInfo {
    pub current: String,
    pub previous: Option<String>,
    pub swaps: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct BatchingConfig {
    pub max_batch: usize,
    pub max_wait: Duration,
    pub queue: usize,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_wait: Duration::from_micros(200),
            queue: 4096,
        }
    }
}

/// The handlers' side of the queue.
#[derive(Clone)]
pub struct BatcherHandle {
    sender: SyncSender<Job>,
    pub versions: Arc<Mutex<VersionInfo>>,
}

impl BatcherHandle {
    /// Queues a job; `Err` when the queue is full (the caller answers 503)
    /// or the worker is gone.
    pub fn submit(&self, job: Job) -> Result<(), &'static str> {
        self.sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => "the scoring queue is full",
            TrySendError::Disconnected(_) => "the scoring worker has stopped",
        })
    }

    pub fn versions(&self) -> VersionInfo {
        self.versions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Starts the worker thread with `pipeline` live as `version`.
pub fn start(
    pipeline: Pipeline,
    version: String,
    config: BatchingConfig,
    metrics: Arc<Metrics>,
    feed: Arc<Feed>,
) -> BatcherHandle {
    let (sender, receiver) = sync_channel(config.queue.max(1));
    let versions = Arc::new(Mutex::new(VersionInfo {
        current: version.clone(),
        previous: None,
        swaps: 0,
    }));
    let worker = Worker {
        current: (Box::new(pipeline), version),
        previous: None,
        versions: versions.clone(),
        config,
        metrics,
        feed,
    };
    std::thread::Builder::new()
        .name("ember-scoring".into())
        .spawn(move || worker.run(receiver))
        .expect("spawning the scoring thread");
    BatcherHandle { sender, versions }
}

struct Worker {
    current: (Box<Pipeline>, String),
    previous: Option<(Box<Pipeline>, String)>,
    versions: Arc<Mutex<VersionInfo>>,
    config: BatchingConfig,
    metrics: Arc<Metrics>,
    /// Sessions and served requests, kept across version swaps.
    feed: Arc<Feed>,
}

impl Worker {
    /// Runs until every handle is dropped.
    fn run(mut self, receiver: Receiver<Job>) {
        let mut batch: Vec<Job> = Vec::with_capacity(self.config.max_batch);
        while let Ok(first) = receiver.recv() {
            batch.push(first);
            let deadline = Instant::now() + self.config.max_wait;
            while batch.len() < self.config.max_batch {
                match receiver.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        match receiver.recv_timeout(left) {
                            Ok(job) => batch.push(job),
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            }
            self.process(&mut batch);
        }
    }

    /// Answers a batch in order: requests up to a control job are scored
    /// together, then the control job is applied.
    fn process(&mut self, batch: &mut Vec<Job>) {
        let mut recommends = Vec::new();
        let mut scores = Vec::new();
        for job in batch.drain(..) {
            match job {
                Job::Recommend(r, tx) => recommends.push((r, tx)),
                Job::Score(r, tx) => scores.push((r, tx)),
                Job::Events(events, tx) => {
                    self.flush(&mut recommends, &mut scores);
                    let version: Arc<str> = Arc::from(self.current.1.as_str());
                    let outcome = match self.current.0.observe(&events) {
                        Ok(result) => Ok(result.map(|n| (n, version))),
                        Err(e) => Err(format!("{e:#}")),
                    };
                    let _ = tx.send(outcome);
                }
                Job::Control(control) => {
                    self.flush(&mut recommends, &mut scores);
                    self.control(control);
                }
            }
        }
        self.flush(&mut recommends, &mut scores);
    }

    fn flush(
        &self,
        recommends: &mut Vec<(RecommendRequest, oneshot::Sender<Reply<Recommendation>>)>,
        scores: &mut Vec<(ScoreRequest, oneshot::Sender<Reply<Vec<f32>>>)>,
    ) {
        let (pipeline, version) = &self.current;
        let version: Arc<str> = Arc::from(version.as_str());
        if !recommends.is_empty() {
            self.metrics.record_batch(recommends.len());
            let (requests, replies): (Vec<_>, Vec<_>) = recommends.drain(..).unzip();
            answer(
                pipeline.recommend_batch(&requests, &self.feed),
                &version,
                replies,
            );
        }
        if !scores.is_empty() {
            self.metrics.record_batch(scores.len());
            let (requests, replies): (Vec<_>, Vec<_>) = scores.drain(..).unzip();
            answer(pipeline.score_batch(&requests), &version, replies);
        }
    }

    fn control(&mut self, job: Control) {
        self.apply(job);
        release_freed_memory();
    }

    fn apply(&mut self, job: Control) {
        match job {
            Control::Swap {
                pipeline,
                version,
                done,
            } => {
                let old = std::mem::replace(&mut self.current, (pipeline, version));
                self.previous = Some(old);
                let _ = done.send(self.publish());
            }
            Control::Rollback(done) => {
                let outcome = match self.previous.take() {
                    Some(previous) => {
                        let newer = std::mem::replace(&mut self.current, previous);
                        self.previous = Some(newer);
                        Ok(self.publish())
                    }
                    None => Err("no previous version to roll back to".to_owned()),
                };
                let _ = done.send(outcome);
            }
        }
    }

    fn publish(&self) -> VersionInfo {
        let mut v = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        v.current = self.current.1.clone();
        v.previous = self.previous.as_ref().map(|p| p.1.clone());
        v.swaps += 1;
        v.clone()
    }
}

/// Hands the memory of the version just dropped back to the system. The
/// CLI raises glibc's trim threshold to 1 GB for training throughput
/// (`src/malloc_tuning.rs`), so without this every unloaded version's
/// memory stayed in the heap: the 600-s soak grew 261 → 549 MiB over 118
/// swaps (`reports/serving/soak.md`). A swap is rare; the trim is a few ms
/// on the scoring thread, between two batches.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sends each request its outcome, scored by `version` (an internal error
/// to all of them).
fn answer<T>(
    outcome: anyhow::Result<Vec<Result<T, RequestError>>>,
    version: &Arc<str>,
    replies: Vec<oneshot::Sender<Reply<T>>>,
) {
    match outcome {
        Ok(results) => {
            for (result, tx) in results.into_iter().zip(replies) {
                let _ = tx.send(Ok(result.map(|value| (value, version.clone()))));
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(error = %message, "batch failed");
            for tx in replies {
                let _ = tx.send(Err(message.clone()));
            }
        }
    }
}
