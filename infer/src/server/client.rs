//! A minimal HTTP/1.1 client over `std::net::TcpStream` (keep-alive,
//! `Content-Length` bodies: what the server sends) and the loopback load
//! test built on it.
//!
//! The load test sends a fixed number of requests from `concurrency`
//! connections, one thread each, then stops. A deterministic share of them
//! is malformed, cycling through a syntax error, an unknown user, a wrong
//! type, an unknown field, an unknown item and `k = 0`; every malformed
//! request must get a 4xx and every good one a 200.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// One keep-alive connection.
pub struct HttpClient {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// Sent as `Authorization: Bearer ...` with every request.
    bearer: Option<String>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            conn: None,
            bearer: None,
        }
    }

    /// A client that authenticates with `token` (the server's admin token).
    pub fn with_bearer(addr: SocketAddr, token: &str) -> Self {
        Self {
            bearer: Some(token.to_owned()),
            ..Self::new(addr)
        }
    }

    fn connection(&mut self) -> Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
                .with_context(|| format!("connecting to {}", self.addr))?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(60)))?;
            self.conn = Some(BufReader::new(stream));
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    /// Sends one request; returns the status and the body. A dropped
    /// connection is reopened on the next call.
    ///
    /// A server may close an idle keep-alive connection at any moment (hyper
    /// does when a handler left part of a request body unread), so a reused
    /// connection that turns out dead before any byte of the answer came back
    /// is retried once on a fresh one, as browsers and `hyper-util` do. The
    /// retry assumes the dead connection never delivered the request: hyper
    /// closes without answering only a connection it has stopped reading.
    /// That matters for `/admin/rollback`, the one endpoint that is not
    /// idempotent.
    pub fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let reused = self.conn.is_some();
        match self.attempt(method, path, body) {
            Err(e) if reused && closed_before_answer(&e) => self.attempt(method, path, body),
            result => result,
        }
    }

    /// One exchange; a failed one drops the connection.
    fn attempt(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let result = self.exchange(method, path, body);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn exchange(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let addr = self.addr;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(token) = &self.bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        let conn = self.connection()?;
        // One write, so head and body leave in one segment: a server that
        // answers from the head alone has the body in hand as well.
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        conn.get_mut().write_all(&request)?;
        let mut line = String::new();
        if conn.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before the answer",
            )
            .into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut close = false;
        loop {
            line.clear();
            if conn.read_line(&mut line)? == 0 {
                bail!("connection closed in the headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("connection")
                    && value.eq_ignore_ascii_case("close")
                {
                    close = true;
                }
            }
        }
        let length = length.context("response without Content-Length")?;
        let mut out = vec![0u8; length];
        conn.read_exact(&mut out)?;
        if close {
            self.conn = None;
        }
        Ok((status, out))
    }
}

/// Whether `error` says the connection was dead before any of the answer
/// arrived (so the request can be sent again on a fresh one).
fn closed_before_answer(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    error.downcast_ref::<std::io::Error>().is_some_and(|e| {
        matches!(
            e.kind(),
            BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof
        )
    })
}

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadTestOptions {
    pub requests: usize,
    pub concurrency: usize,
    /// Share of malformed requests, in [0, 1].
    pub malformed: f64,
    /// Known user and item ids to build good requests from.
    pub users: Vec<String>,
    pub items: Vec<String>,
    /// Items per `/score` request.
    pub score_items: usize,
    /// Every `score_every`-th good request is a `/score` (the rest `/recommend`).
    pub score_every: usize,
}

/// What happened.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadTestReport {
    pub requests: usize,
    pub malformed_sent: usize,
    pub status_2xx: usize,
    pub status_4xx: usize,
    pub status_5xx: usize,
    pub transport_errors: usize,
    /// Good requests without a 200, or malformed ones without a 4xx.
    pub wrong_status: usize,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub first_problem: Option<String>,
    /// Good answers per version that scored them (the `version` of each body).
    pub versions: std::collections::BTreeMap<String, usize>,
}

impl LoadTestReport {
    /// Every request answered with the status its kind calls for.
    pub fn clean(&self) -> bool {
        self.wrong_status == 0 && self.transport_errors == 0 && self.status_5xx == 0
    }
}

impl std::fmt::Display for LoadTestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests ({} malformed) in {:.2}s ({:.0}/s): 2xx {} | 4xx {} | 5xx {} | transport errors {} | wrong status {} | latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
            self.requests,
            self.malformed_sent,
            self.seconds,
            self.requests_per_second,
            self.status_2xx,
            self.status_4xx,
            self.status_5xx,
            self.transport_errors,
            self.wrong_status,
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )?;
        if self.versions.len() > 1 {
            let seen: Vec<String> = self
                .versions
                .iter()
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            write!(f, " | answered by {}", seen.join(", "))?;
        }
        if let Some(p) = &self.first_problem {
            write!(f, " | first problem: {p}")?;
        }
        Ok(())
    }
}

/// Request `i` of a run: (path, body, malformed?).
fn request_for(i: usize, options: &LoadTestOptions) -> (&'static str, String, bool) {
    // Exactly `malformed` of the requests, spread evenly.
    let bad = ((i + 1) as f64 * options.malformed).floor() > (i as f64 * options.malformed).floor();
    // Ids as JSON strings, as the data writes them.
    let quote = |id: &str| serde_json::Value::String(id.to_owned()).to_string();
    let user = quote(&options.users[(i * 7919) % options.users.len()]);
    if bad {
        let kind = (i as f64 * options.malformed).floor() as usize % 6;
        return match kind {
            0 => ("/recommend", format!("{{\"user\": {user},"), true),
            1 => ("/recommend", "{\"user\": 4000000000}".to_owned(), true),
            2 => ("/recommend", "{\"user\": \"abc\"}".to_owned(), true),
            3 => ("/recommend", format!("{{\"usr\": {user}}}"), true),
            4 => (
                "/score",
                format!("{{\"user\": {user}, \"items\": [1, 4000000000]}}"),
                true,
            ),
            _ => (
                "/recommend",
                format!("{{\"user\": {user}, \"k\": 0}}"),
                true,
            ),
        };
    }
    if options.score_every > 0 && i.is_multiple_of(options.score_every) {
        let n = options.score_items.min(options.items.len()).max(1);
        let start = (i * 31) % options.items.len();
        let items: Vec<String> = (0..n)
            .map(|j| quote(&options.items[(start + j) % options.items.len()]))
            .collect();
        return (
            "/score",
            format!("{{\"user\": {user}, \"items\": [{}]}}", items.join(",")),
            false,
        );
    }
    ("/recommend", format!("{{\"user\": {user}}}"), false)
}

/// The `version` an answer's body names, if any.
fn answering_version(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("version")?.as_str().map(str::to_owned)
}

/// Runs the load test against `addr`; blocks until every request is answered.
pub fn run_load_test(addr: SocketAddr, options: &LoadTestOptions) -> Result<LoadTestReport> {
    if options.users.is_empty() || options.items.is_empty() {
        bail!("the load test needs at least one user and one item");
    }
    if !(0.0..=1.0).contains(&options.malformed) {
        bail!("malformed share {} is not in [0, 1]", options.malformed);
    }
    let threads = options.concurrency.clamp(1, options.requests.max(1));
    let start = Instant::now();
    // Per request: (milliseconds, status and answering version or
    // transport error, malformed?, index).
    type Sample = (f64, Result<(u16, Option<String>), String>, bool, usize);
    let results: Vec<Vec<Sample>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut client = HttpClient::new(addr);
                    let mut out = Vec::new();
                    for i in (t..options.requests).step_by(threads) {
                        let (path, body, bad) = request_for(i, options);
                        let sent = Instant::now();
                        let outcome = client
                            .request("POST", path, body.as_bytes())
                            .map(|(status, body)| (status, answering_version(&body)))
                            .map_err(|e| format!("request {i}: {e:#}"));
                        out.push((sent.elapsed().as_secs_f64() * 1e3, outcome, bad, i));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let mut report = LoadTestReport {
        requests: options.requests,
        seconds,
        requests_per_second: options.requests as f64 / seconds.max(1e-9),
        ..Default::default()
    };
    let mut latencies = Vec::with_capacity(options.requests);
    for (ms, outcome, bad, i) in results.into_iter().flatten() {
        latencies.push(ms);
        report.malformed_sent += usize::from(bad);
        match outcome {
            Ok((status, version)) => {
                if let Some(v) = version {
                    *report.versions.entry(v).or_default() += 1;
                }
                match status {
                    200..=299 => report.status_2xx += 1,
                    400..=499 => report.status_4xx += 1,
                    _ => report.status_5xx += 1,
                }
                let expected = if bad {
                    (400..500).contains(&status)
                } else {
                    status == 200
                };
                if !expected {
                    report.wrong_status += 1;
                    report.first_problem.get_or_insert_with(|| {
                        format!(
                            "request {i} ({}) got {status}",
                            if bad { "malformed" } else { "good" }
                        )
                    });
                }
            }
            Err(e) => {
                report.transport_errors += 1;
                report.first_problem.get_or_insert(e);
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    report.p50_ms = pct(0.5);
    report.p99_ms = pct(0.99);
    report.max_ms = latencies.last().copied().unwrap_or(0.0);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_asked_share_is_malformed() {
        let options = LoadTestOptions {
            requests: 1000,
            concurrency: 1,
            malformed: 0.1,
            users: vec!["1".into(), "2".into()],
            items: vec!["1".into(), "2".into(), "3".into()],
            score_items: 2,
            score_every: 5,
        };
        let bad = (0..1000).filter(|&i| request_for(i, &options).2).count();
        assert_eq!(bad, 100);
        let none = LoadTestOptions {
            malformed: 0.0,
            ..options
        };
        assert!((0..1000).all(|i| !request_for(i, &none).2));
    }
}
