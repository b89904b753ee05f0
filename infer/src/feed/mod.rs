//! Serving a feed: each user's session, the feedback they give, and the
//! experiment arm they are in.
//!
//! - [`feedback`]: the `POST /feedback` body and its validation;
//! - [`log`]: the event log (interaction-log format) and the served log,
//!   appended and synced;
//! - [`experiment`]: `[[experiment]]` arms and the stable user → arm hash;
//! - [`report`]: `ember experiment report`, per-arm results from the log;
//! - [`simulate`]: simulated users (the feed simulator) driving a server.
//!
//! A [`Feed`] belongs to the server, not to a pipeline version: sessions,
//! the requests feedback may name and the per-arm counters outlive version
//! swaps. A session is a user's run of requests with no gap longer than
//! `session_timeout`; the mixer stage reads the current one.

pub mod experiment;
pub mod feedback;
pub mod log;
pub mod report;
pub mod simulate;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use ember_datasets::simulator::{Feedback, ServedSlot};
use serde::Serialize;

use feedback::{EventKind, FeedbackError, FeedbackRequest, check_events};
use log::{EventRow, FeedLog, ServedItem, ServedRecord};

/// How a server keeps its feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedOptions {
    /// Where the event and served logs go (`--feedback-log`); without it
    /// sessions live in memory only and `/feedback` is refused.
    pub log_dir: Option<PathBuf>,
    /// A gap longer than this (seconds) starts a new session.
    pub session_timeout_s: u64,
    /// Feedback may name a request this long (seconds) after it was served.
    pub request_ttl_s: u64,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            log_dir: None,
            session_timeout_s: 30 * 60,
            request_ttl_s: 24 * 60 * 60,
        }
    }
}

/// Per-arm counters, from what was served and the feedback.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArmCounts {
    pub sessions: u64,
    pub requests: u64,
    pub impressions: u64,
    pub clicks: u64,
    pub not_interested: u64,
    pub dwell_seconds: f64,
}

/// A user's current session.
struct Session {
    id: String,
    /// Epoch milliseconds of the last request or feedback.
    last_seen: u64,
    /// The mixer's slots so far, with their feedback.
    served: Vec<ServedSlot>,
}

/// A served request feedback may name.
struct Request {
    user: String,
    session: String,
    arm: String,
    time: u64,
    items: Vec<String>,
    content_types: Vec<Option<String>>,
    /// Per item, its slot in the session's `served` (mixer items).
    slots: Vec<Option<usize>>,
    logged: HashSet<(usize, EventKind)>,
}

#[derive(Default)]
struct FeedState {
    sessions: HashMap<String, Session>,
    /// Kept only with a log: without one no feedback can name them.
    requests: HashMap<String, Request>,
    keep_requests: bool,
    counts: BTreeMap<String, ArmCounts>,
    log: Option<FeedLog>,
    last_purge: u64,
}

/// One answer about to be served: who, in which arm, what.
#[derive(Debug, Clone)]
pub struct Serving {
    pub user: String,
    pub arm: String,
    pub items: Vec<ServedItem>,
}

/// Ids given to a served answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedIds {
    pub request: String,
    pub session: String,
}

pub struct Feed {
    pub options: FeedOptions,
    state: Mutex<FeedState>,
    /// Ids are `<prefix><start ms, hex>-<counter>`: unique across restarts.
    started: u64,
    counter: AtomicU64,
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Feed {
    /// A feed in memory only (tests, benchmarks, the library API).
    pub fn in_memory() -> Self {
        Self::open(FeedOptions::default()).expect("no files to open")
    }

    /// Opens the log directory, if any, and replays it: the sessions and
    /// requests of the served log and the feedback of the event log.
    pub fn open(options: FeedOptions) -> Result<Self> {
        let mut state = FeedState {
            keep_requests: options.log_dir.is_some(),
            ..FeedState::default()
        };
        if let Some(dir) = &options.log_dir {
            let log = FeedLog::open(dir)?;
            for record in log::read_served(&FeedLog::served_path(dir))? {
                state.apply_served(record);
            }
            for row in log::read_events(&FeedLog::events_path(dir))? {
                state.apply_event(&row);
            }
            state.log = Some(log);
        }
        Ok(Self {
            options,
            state: Mutex::new(state),
            started: now_ms(),
            counter: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_id(&self, prefix: char) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{:x}-{n}", self.started)
    }

    pub fn has_log(&self) -> bool {
        self.options.log_dir.is_some()
    }

    /// The mixer slots of `user`'s current session (none when it has
    /// timed out at `now`).
    pub fn session_slots(&self, user: &str, now: u64) -> Vec<ServedSlot> {
        let state = self.lock();
        match state.sessions.get(user) {
            Some(s) if !self.expired(s, now) => s.served.clone(),
            _ => Vec::new(),
        }
    }

    fn expired(&self, session: &Session, now: u64) -> bool {
        now.saturating_sub(session.last_seen) > self.options.session_timeout_s * 1000
    }

    /// Records answers about to be served (one synced write for all) and
    /// gives each its request and session ids.
    pub fn serve(&self, answers: Vec<Serving>, now: u64) -> Result<Vec<ServedIds>> {
        if answers.is_empty() {
            return Ok(Vec::new());
        }
        let mut state = self.lock();
        self.purge(&mut state, now);
        let mut records = Vec::with_capacity(answers.len());
        let mut sessions: HashMap<String, String> = HashMap::new();
        for answer in answers {
            let session = match sessions.get(&answer.user) {
                Some(id) => id.clone(),
                None => match state.sessions.get(&answer.user) {
                    Some(s) if !self.expired(s, now) => s.id.clone(),
                    _ => self.next_id('s'),
                },
            };
            sessions.insert(answer.user.clone(), session.clone());
            records.push(ServedRecord {
                request: self.next_id('r'),
                session,
                user: answer.user,
                arm: answer.arm,
                time: now,
                items: answer.items,
            });
        }
        if let Some(log) = &mut state.log {
            log.append_served(&records)?;
        }
        let ids = records
            .iter()
            .map(|r| ServedIds {
                request: r.request.clone(),
                session: r.session.clone(),
            })
            .collect();
        for record in records {
            state.apply_served(record);
        }
        Ok(ids)
    }

    /// Validates and logs a `/feedback` body; the number of events logged.
    pub fn feedback(
        &self,
        request: &FeedbackRequest,
        now: u64,
    ) -> Result<std::result::Result<usize, FeedbackError>> {
        let mut state = self.lock();
        if state.log.is_none() {
            return Ok(Err(FeedbackError::Invalid(
                "this server keeps no feedback log (start it with --feedback-log DIR)".into(),
            )));
        }
        let Some(served) = state.requests.get(&request.request_id) else {
            return Ok(Err(FeedbackError::UnknownRequest(format!(
                "request_id = '{}': this server served no such request (or it is older than {} s)",
                request.request_id, self.options.request_ttl_s
            ))));
        };
        let positions = match check_events(
            &request.request_id,
            &request.events,
            &served.items,
            &served.logged,
        ) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let rows: Vec<EventRow> = request
            .events
            .iter()
            .zip(positions)
            .map(|(e, position)| EventRow {
                time: now,
                user: served.user.clone(),
                item: e.item.clone(),
                event: e.event.name().to_owned(),
                dwell: e.dwell,
                request: request.request_id.clone(),
                session: served.session.clone(),
                arm: served.arm.clone(),
                position,
                content_type: served.content_types[position].clone().unwrap_or_default(),
            })
            .collect();
        state
            .log
            .as_mut()
            .expect("checked above")
            .append_events(&rows)?;
        for row in &rows {
            state.apply_event(row);
        }
        Ok(Ok(rows.len()))
    }

    /// Per-arm counters (arm `""`: a pipeline without experiment).
    pub fn counts(&self) -> BTreeMap<String, ArmCounts> {
        self.lock().counts.clone()
    }

    /// The counters in Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let mut out = String::from(
            "# HELP ember_feed_sessions_total Sessions started, per experiment arm.\n# TYPE ember_feed_sessions_total counter\n\
             # HELP ember_feed_events_total Served requests and feedback events, per arm.\n# TYPE ember_feed_events_total counter\n",
        );
        for (arm, c) in self.counts() {
            out.push_str(&format!(
                "ember_feed_sessions_total{{arm=\"{arm}\"}} {}\n",
                c.sessions
            ));
            for (event, n) in [
                ("request", c.requests),
                ("impression", c.impressions),
                ("click", c.clicks),
                ("not_interested", c.not_interested),
            ] {
                out.push_str(&format!(
                    "ember_feed_events_total{{arm=\"{arm}\",event=\"{event}\"}} {n}\n"
                ));
            }
        }
        out
    }

    /// Forgets timed-out sessions and requests past their TTL (at most
    /// once a minute).
    fn purge(&self, state: &mut FeedState, now: u64) {
        if now.saturating_sub(state.last_purge) < 60_000 {
            return;
        }
        state.last_purge = now;
        let timeout = self.options.session_timeout_s * 1000;
        let ttl = self.options.request_ttl_s * 1000;
        state
            .sessions
            .retain(|_, s| now.saturating_sub(s.last_seen) <= timeout);
        state
            .requests
            .retain(|_, r| now.saturating_sub(r.time) <= ttl);
    }
}

impl FeedState {
    fn apply_served(&mut self, record: ServedRecord) {
        let counts = self.counts.entry(record.arm.clone()).or_default();
        counts.requests += 1;
        let session = match self.sessions.get_mut(&record.user) {
            Some(s) if s.id == record.session => s,
            _ => {
                counts.sessions += 1;
                self.sessions.insert(
                    record.user.clone(),
                    Session {
                        id: record.session.clone(),
                        last_seen: record.time,
                        served: Vec::new(),
                    },
                );
                self.sessions.get_mut(&record.user).expect("just inserted")
            }
        };
        session.last_seen = record.time;
        let slots = record
            .items
            .iter()
            .map(|item| {
                item.mixer.as_ref().map(|(t, pctr)| {
                    session.served.push(ServedSlot {
                        pctr: pctr.clone(),
                        feedback: Feedback {
                            content_type: *t,
                            click: false,
                            dwell: 0.0,
                            negative: false,
                        },
                    });
                    session.served.len() - 1
                })
            })
            .collect();
        if !self.keep_requests {
            return;
        }
        self.requests.insert(
            record.request,
            Request {
                user: record.user,
                session: record.session,
                arm: record.arm,
                time: record.time,
                content_types: record
                    .items
                    .iter()
                    .map(|i| i.content_type.clone())
                    .collect(),
                items: record.items.into_iter().map(|i| i.item).collect(),
                slots,
                logged: HashSet::new(),
            },
        );
    }

    fn apply_event(&mut self, row: &EventRow) {
        let Some(kind) = EventKind::parse(&row.event) else {
            return;
        };
        let counts = self.counts.entry(row.arm.clone()).or_default();
        match kind {
            EventKind::Impression => counts.impressions += 1,
            EventKind::Click => {
                counts.clicks += 1;
                counts.dwell_seconds += row.dwell.unwrap_or(0.0);
            }
            EventKind::NotInterested => counts.not_interested += 1,
        }
        let Some(request) = self.requests.get_mut(&row.request) else {
            return;
        };
        request.logged.insert((row.position, kind));
        let slot = request.slots.get(row.position).copied().flatten();
        let Some(session) = self.sessions.get_mut(&request.user) else {
            return;
        };
        if session.id != request.session {
            return;
        }
        session.last_seen = session.last_seen.max(row.time);
        if let Some(slot) = slot.and_then(|i| session.served.get_mut(i)) {
            match kind {
                EventKind::Impression => {}
                EventKind::Click => {
                    slot.feedback.click = true;
                    // The mixer counts dwell in minutes, as the simulator does.
                    slot.feedback.dwell = (row.dwell.unwrap_or(0.0) / 60.0) as f32;
                }
                EventKind::NotInterested => slot.feedback.negative = true,
            }
        }
    }
}
