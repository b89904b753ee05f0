//! The HTTP endpoints. Bodies are parsed here (not by axum's `Json`
//! extractor) so that every rejection is a JSON `{"error": ...}` with the
//! parser's line, column and field: 400 for a body that is not JSON, 422
//! for JSON of the wrong shape or values, 404 for an unknown user or item,
//! 503 when the queue is full; the server keeps serving after each.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::oneshot;

use super::AppState;
use super::batcher::{Control, Job, Reply};
use super::metrics::Endpoint;
use crate::feed::feedback::{FeedbackError, FeedbackRequest};
use crate::pipeline::{EventsRequest, Pipeline, RecommendRequest, RequestError, ScoreRequest};

/// A status and a JSON body, turned into a response (and counted) last.
struct Answer {
    status: StatusCode,
    body: serde_json::Value,
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Answer {
    Answer {
        status,
        body: json!({ "error": message.to_string() }),
    }
}

fn ok(body: serde_json::Value) -> Answer {
    Answer {
        status: StatusCode::OK,
        body,
    }
}

/// Parses a JSON body: syntax errors are 400, shape errors 422.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        error(status, format!("invalid request body: {e}"))
    })
}

fn request_error(e: RequestError) -> Answer {
    let status = match e {
        RequestError::UnknownUser(_) | RequestError::UnknownItem(_) => StatusCode::NOT_FOUND,
        RequestError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, e)
}

/// Queues a job and awaits its reply.
async fn through_queue<T>(
    state: &AppState,
    job: impl FnOnce(oneshot::Sender<Reply<T>>) -> Job,
) -> Result<(T, Arc<str>), Answer> {
    let (tx, rx) = oneshot::channel();
    state
        .batcher
        .submit(job(tx))
        .map_err(|m| error(StatusCode::SERVICE_UNAVAILABLE, m))?;
    match rx.await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(e))) => Err(request_error(e)),
        Ok(Err(internal)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, internal)),
        Err(_) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the scoring worker dropped the request",
        )),
    }
}

fn finish(state: &AppState, endpoint: Endpoint, start: Instant, answer: Answer) -> Response {
    state
        .metrics
        .record(endpoint, answer.status.as_u16(), start.elapsed());
    (answer.status, Json(answer.body)).into_response()
}

pub async fn recommend(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let start = Instant::now();
    let answer = async {
        let request: RecommendRequest = parse(&body)?;
        let (rec, version) = through_queue(&state, |tx| Job::Recommend(request, tx)).await?;
        let mut body = json!(rec);
        body["version"] = json!(version.as_ref());
        Ok::<_, Answer>(ok(body))
    }
    .await
    .unwrap_or_else(|e| e);
    finish(&state, Endpoint::Recommend, start, answer)
}

pub async fn score(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let start = Instant::now();
    let answer = async {
        let request: ScoreRequest = parse(&body)?;
        let (scores, version) = through_queue(&state, |tx| Job::Score(request, tx)).await?;
        Ok::<_, Answer>(ok(json!({ "scores": scores, "version": version.as_ref() })))
    }
    .await
    .unwrap_or_else(|e| e);
    finish(&state, Endpoint::Score, start, answer)
}

/// `POST /events {"events": [{"user", "item", "time", "label"}]}`: counts
/// the events in the feature store that statistic features are read from.
pub async fn events(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let start = Instant::now();
    let answer = async {
        let request: EventsRequest = parse(&body)?;
        let (n, version) = through_queue(&state, |tx| Job::Events(request.events, tx)).await?;
        Ok::<_, Answer>(ok(json!({ "observed": n, "version": version.as_ref() })))
    }
    .await
    .unwrap_or_else(|e| e);
    finish(&state, Endpoint::Events, start, answer)
}

/// `POST /feedback {"request_id", "events": [{"item", "event", "dwell"}]}`:
/// validates the events against the request that showed the items, then
/// appends them to the event log and syncs it before answering (off the
/// async threads). 404 for an unknown request id, 409 for a duplicate,
/// 422 for anything else wrong; a refused body logs nothing.
pub async fn feedback(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let start = Instant::now();
    let answer = async {
        let request: FeedbackRequest = parse(&body)?;
        let feed = state.feed.clone();
        let outcome =
            tokio::task::spawn_blocking(move || feed.feedback(&request, crate::feed::now_ms()))
                .await
                .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?
                .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        match outcome {
            Ok(n) => Ok(ok(json!({ "logged": n }))),
            Err(e) => {
                let status = match e {
                    FeedbackError::UnknownRequest(_) => StatusCode::NOT_FOUND,
                    FeedbackError::Duplicate(_) => StatusCode::CONFLICT,
                    FeedbackError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Err(error(status, e))
            }
        }
    }
    .await
    .unwrap_or_else(|e| e);
    finish(&state, Endpoint::Feedback, start, answer)
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let versions = state.batcher.versions();
    Json(json!({ "status": "ok", "version": versions.current, "previous": versions.previous, "swaps": versions.swaps }))
        .into_response()
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render() + &state.feed.render_metrics(),
    )
        .into_response()
}

/// Checks the admin token, if the server has one: `Authorization: Bearer
/// <token>`, compared in constant time (no timing hint of how much of a
/// guess was right).
fn authorised(state: &AppState, headers: &HeaderMap) -> Result<(), Answer> {
    use subtle::ConstantTimeEq;
    let Some(token) = &state.admin_token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.trim().as_bytes().ct_eq(token.0.trim().as_bytes())) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "admin routes need Authorization: Bearer <the server's admin token>",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadRequest {
    version: String,
}

/// `POST /admin/load {"version": "v2"}`: loads `<versions dir>/v2.toml`
/// off the request path, then swaps it in between two batches. A version
/// that fails to load is a 422 naming the problem; the live one stays.
pub async fn load(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let start = Instant::now();
    let answer = async {
        authorised(&state, &headers)?;
        let request: LoadRequest = parse(&body)?;
        let name = request.version;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            && !name.starts_with('.');
        if !valid {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("version '{name}': letters, digits, '-', '_' and '.' only"),
            ));
        }
        let path = state.versions_dir.join(format!("{name}.toml"));
        if !path.is_file() {
            return Err(error(
                StatusCode::NOT_FOUND,
                format!("no version '{name}' ({} does not exist)", path.display()),
            ));
        }
        // One load at a time; requests keep flowing meanwhile.
        let _guard = state.admin.lock().await;
        let overrides = state.overrides.clone();
        let loaded = tokio::task::spawn_blocking(move || Pipeline::load_file(&path, &overrides))
            .await
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let pipeline =
            loaded.map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))?;
        let (tx, rx) = oneshot::channel();
        state
            .batcher
            .submit(Job::Control(Control::Swap {
                pipeline: Box::new(pipeline),
                version: name,
                done: tx,
            }))
            .map_err(|m| error(StatusCode::SERVICE_UNAVAILABLE, m))?;
        let info = rx
            .await
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "the swap was lost"))?;
        tracing::info!(version = %info.current, previous = ?info.previous, "version loaded");
        Ok(ok(json!(info)))
    }
    .await
    .unwrap_or_else(|e| e);
    finish(&state, Endpoint::Admin, start, answer)
}

/// `POST /admin/rollback`: back to the previous version (409 if none).
pub async fn rollback(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let start = Instant::now();
    let answer = async {
        authorised(&state, &headers)?;
        let _guard = state.admin.lock().await;
        let (tx, rx) = oneshot::channel();
        state
            .batcher
            .submit(Job::Control(Control::Rollback(tx)))
            .map_err(|m| error(StatusCode::SERVICE_UNAVAILABLE, m))?;
        match rx.await {
            Ok(Ok(info)) => {
                tracing::info!(version = %info.current, "rolled back");
                Ok(ok(json!(info)))
            }
            Ok(Err(m)) => Err(error(StatusCode::CONFLICT, m)),
            Err(_) => Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the rollback was lost",
            )),
        }
    }
    .await
    .unwrap_or_else(|e: Answer| e);
    finish(&state, Endpoint::Admin, start, answer)
}

/// Any other path: a JSON 404. The body is read (and dropped) so that the
/// connection stays reusable: hyper closes one whose request body a handler
/// left unread.
pub async fn not_found(_body: Bytes) -> Response {
    let answer = error(
        StatusCode::NOT_FOUND,
        "no such endpoint (POST /recommend, /score, /events, /feedback, /admin/load, /admin/rollback; GET /health, /metrics)",
    );
    (answer.status, Json(answer.body)).into_response()
}
