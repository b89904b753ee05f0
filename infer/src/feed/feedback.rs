//! `POST /feedback`: what users did with what they were shown.
//!
//! ```json
//! {"request_id": "r18c2f0a1b3-7",
//!  "events": [{"item": "video-3", "event": "impression"},
//!             {"item": "video-3", "event": "click", "dwell": 42.5},
//!             {"item": "news-9", "event": "impression"},
//!             {"item": "news-9", "event": "not_interested"}]}
//! ```
//!
//! Every event names an item the request served; `dwell` (seconds, ≥ 0)
//! belongs to a click; a click or "not interested" follows the item's
//! impression (in the same body or an earlier one); an (item, event) pair
//! is logged once per request. A body that breaks any of these is refused
//! whole (4xx naming the field) and nothing of it is logged.

use ember_datasets::interactions::id_text;
use serde::{Deserialize, Serialize};

/// The most events one `POST /feedback` may carry.
pub const MAX_FEEDBACK_EVENTS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Impression,
    Click,
    NotInterested,
}

impl EventKind {
    /// As the event log writes it (the interaction log's event types).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::NotInterested => "not_interested",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Impression, Self::Click, Self::NotInterested]
            .into_iter()
            .find(|k| k.name() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackEvent {
    #[serde(deserialize_with = "id_text")]
    pub item: String,
    pub event: EventKind,
    /// Seconds spent on the item (clicks only).
    #[serde(default)]
    pub dwell: Option<f64>,
}

/// `POST /feedback` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `request_id` of the `/recommend` answer that showed the items.
    pub request_id: String,
    pub events: Vec<FeedbackEvent>,
}

/// Why a feedback body was refused; the message names the field.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedbackError {
    /// The request id is unknown (404).
    UnknownRequest(String),
    /// An event repeats one already logged or given twice (409).
    Duplicate(String),
    /// Anything else (422).
    Invalid(String),
}

impl std::fmt::Display for FeedbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedbackError::UnknownRequest(m)
            | FeedbackError::Duplicate(m)
            | FeedbackError::Invalid(m) => f.write_str(m),
        }
    }
}

/// Checks the events against the items the request served (`items`, in
/// list order) and the (position, event) pairs already logged for it;
/// returns each event's position in the list.
pub fn check_events(
    request_id: &str,
    events: &[FeedbackEvent],
    items: &[String],
    logged: &std::collections::HashSet<(usize, EventKind)>,
) -> Result<Vec<usize>, FeedbackError> {
    if events.is_empty() || events.len() > MAX_FEEDBACK_EVENTS {
        return Err(FeedbackError::Invalid(format!(
            "events: {} given, must be 1..={MAX_FEEDBACK_EVENTS}",
            events.len()
        )));
    }
    let mut seen = logged.clone();
    let mut positions = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let Some(position) = items.iter().position(|it| *it == e.item) else {
            return Err(FeedbackError::Invalid(format!(
                "events[{i}].item = '{}': request '{request_id}' did not show it",
                e.item
            )));
        };
        match e.dwell {
            Some(d) if !d.is_finite() || d < 0.0 => {
                return Err(FeedbackError::Invalid(format!(
                    "events[{i}].dwell = {d}: must be a finite number of seconds ≥ 0"
                )));
            }
            Some(_) if e.event != EventKind::Click => {
                return Err(FeedbackError::Invalid(format!(
                    "events[{i}].dwell: only a click has a dwell time"
                )));
            }
            _ => {}
        }
        if e.event != EventKind::Impression && !seen.contains(&(position, EventKind::Impression)) {
            return Err(FeedbackError::Invalid(format!(
                "events[{i}].event = \"{}\" on item '{}' before its impression",
                e.event.name(),
                e.item
            )));
        }
        if !seen.insert((position, e.event)) {
            return Err(FeedbackError::Duplicate(format!(
                "events[{i}]: a duplicate; request '{request_id}' already has a {} on item '{}'",
                e.event.name(),
                e.item
            )));
        }
        positions.push(position);
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn event(item: &str, event: EventKind, dwell: Option<f64>) -> FeedbackEvent {
        FeedbackEvent {
            item: item.into(),
            event,
            dwell,
        }
    }

    #[test]
    fn every_rule_names_its_field() {
        use EventKind::*;
        let items = vec!["a".to_owned(), "b".to_owned()];
        let none = HashSet::new();
        let check = |events: &[FeedbackEvent], logged: &HashSet<_>| {
            check_events("r1", events, &items, logged)
        };
        assert_eq!(
            check(
                &[event("b", Impression, None), event("b", Click, Some(3.0))],
                &none
            ),
            Ok(vec![1, 1])
        );
        let err = |r: Result<Vec<usize>, FeedbackError>| r.unwrap_err().to_string();
        assert!(err(check(&[], &none)).starts_with("events: 0 given"));
        assert!(err(check(&[event("z", Impression, None)], &none)).starts_with("events[0].item"));
        assert!(
            err(check(
                &[event("a", Impression, None), event("a", Click, Some(-1.0))],
                &none
            ))
            .starts_with("events[1].dwell = -1")
        );
        assert!(err(check(&[event("a", Impression, Some(1.0))], &none)).contains("only a click"));
        assert!(err(check(&[event("a", Click, None)], &none)).contains("before its impression"));
        let twice = check(
            &[event("a", Impression, None), event("a", Impression, None)],
            &none,
        );
        assert!(
            matches!(twice, Err(FeedbackError::Duplicate(ref m)) if m.starts_with("events[1]"))
        );
        let logged: HashSet<_> = [(0, Impression), (0, Click)].into();
        assert!(matches!(
            check(&[event("a", Click, None)], &logged),
            Err(FeedbackError::Duplicate(_))
        ));
        assert_eq!(
            check(&[event("a", NotInterested, None)], &logged),
            Ok(vec![0])
        );
    }
}
