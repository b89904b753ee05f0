//! Server counters for `/metrics` (Prometheus text format): requests and
//! responses by endpoint and status class, batches and their sizes, a
//! latency histogram per endpoint, and the two-tower recall's index
//! searches (`retriever::SEARCH_COUNTERS`): how many, the item vectors they
//! compared, and how many fell back to exact search. Lock-free atomics: the
//! hot path never waits on a metrics lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::retriever::SEARCH_COUNTERS;

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];

/// The endpoints that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Recommend = 0,
    Score = 1,
    Admin = 2,
    Events = 3,
    Feedback = 4,
}

const ENDPOINTS: [&str; 5] = ["recommend", "score", "admin", "events", "feedback"];

#[derive(Default)]
struct EndpointCounters {
    ok: AtomicU64,
    client_error: AtomicU64,
    server_error: AtomicU64,
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    endpoints: [EndpointCounters; ENDPOINTS.len()],
    batches: AtomicU64,
    batched_requests: AtomicU64,
    max_batch: AtomicU64,
}

impl Metrics {
    /// One answered request.
    pub fn record(&self, endpoint: Endpoint, status: u16, elapsed: Duration) {
        let e = &self.endpoints[endpoint as usize];
        match status {
            200..=399 => &e.ok,
            400..=499 => &e.client_error,
            _ => &e.server_error,
        }
        .fetch_add(1, Relaxed);
        let ms = elapsed.as_secs_f64() * 1e3;
        let bucket = BUCKETS_MS
            .iter()
            .position(|&b| ms <= b)
            .unwrap_or(BUCKETS_MS.len());
        e.buckets[bucket].fetch_add(1, Relaxed);
        e.micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// One batch handed to the pipeline.
    pub fn record_batch(&self, size: usize) {
        self.batches.fetch_add(1, Relaxed);
        self.batched_requests.fetch_add(size as u64, Relaxed);
        self.max_batch.fetch_max(size as u64, Relaxed);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE ember_requests_total counter");
        for (name, e) in ENDPOINTS.iter().zip(&self.endpoints) {
            for (class, counter) in [
                ("2xx", &e.ok),
                ("4xx", &e.client_error),
                ("5xx", &e.server_error),
            ] {
                let _ = writeln!(
                    out,
                    "ember_requests_total{{endpoint=\"{name}\",status=\"{class}\"}} {}",
                    counter.load(Relaxed)
                );
            }
        }
        let _ = writeln!(out, "# TYPE ember_request_seconds histogram");
        for (name, e) in ENDPOINTS.iter().zip(&self.endpoints) {
            let mut cumulative = 0;
            for (i, bucket) in e.buckets.iter().enumerate() {
                cumulative += bucket.load(Relaxed);
                let le = BUCKETS_MS
                    .get(i)
                    .map_or("+Inf".to_owned(), |b| format!("{}", b / 1e3));
                let _ = writeln!(
                    out,
                    "ember_request_seconds_bucket{{endpoint=\"{name}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "ember_request_seconds_sum{{endpoint=\"{name}\"}} {}",
                e.micros.load(Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "ember_request_seconds_count{{endpoint=\"{name}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "# TYPE ember_batches_total counter");
        let _ = writeln!(out, "ember_batches_total {}", self.batches.load(Relaxed));
        let _ = writeln!(out, "# TYPE ember_batched_requests_total counter");
        let _ = writeln!(
            out,
            "ember_batched_requests_total {}",
            self.batched_requests.load(Relaxed)
        );
        let _ = writeln!(out, "# TYPE ember_max_batch gauge");
        let _ = writeln!(out, "ember_max_batch {}", self.max_batch.load(Relaxed));
        let ann = SEARCH_COUNTERS.read();
        for (name, value) in [
            ("ember_ann_searches_total", ann.ann_searches),
            ("ember_ann_visited_total", ann.ann_visited),
            ("ember_ann_exact_fallbacks_total", ann.exact_fallbacks),
        ] {
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// The value of the unlabelled sample `name` in exposition `text` (the
/// line `name value`), for tests and tools that read `/metrics` back.
pub fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_counters_are_rendered_as_prometheus_counters() {
        let ann = SEARCH_COUNTERS.read();
        let text = Metrics::default().render();
        for (name, at_least) in [
            ("ember_ann_searches_total", ann.ann_searches),
            ("ember_ann_visited_total", ann.ann_visited),
            ("ember_ann_exact_fallbacks_total", ann.exact_fallbacks),
        ] {
            assert!(text.contains(&format!("# TYPE {name} counter\n")), "{text}");
            // Other tests of this binary may search meanwhile: never less.
            let value = sample(&text, name).unwrap_or_else(|| panic!("no {name} in {text}"));
            assert!(value >= at_least, "{name} {value} < {at_least}");
        }
        assert_eq!(sample(&text, "ember_batches_total"), Some(0));
        assert_eq!(sample(&text, "ember_batches"), None);
    }
}
