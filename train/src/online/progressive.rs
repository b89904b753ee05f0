//! Progressive validation: every row is scored by the model as it stood
//! before training on it, so the scores of a window are an honest test of
//! a model that has only seen the past. Rows are grouped into windows of
//! the stream; per window AUC and logloss of the online model, of the
//! frozen first-window model, and of the true probabilities where the
//! stream has them (the best any model could score).

use ember_models::metrics::{auc, logloss};
use serde::{Deserialize, Serialize};

use crate::plot::{Chart, Line, Spread, XTicks};

/// One window's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub window: usize,
    /// Stream position after the window's last row.
    pub events: u64,
    pub positive_rate: f64,
    pub auc: Option<f64>,
    pub logloss: f64,
    /// The frozen first-window model, if kept.
    pub frozen_auc: Option<f64>,
    pub frozen_logloss: Option<f64>,
    /// The true probabilities, if the stream has them.
    pub oracle_auc: Option<f64>,
    pub oracle_logloss: Option<f64>,
    /// Table rows held by ids, all fields, at the window's end.
    pub live_rows: usize,
    /// Admissions and evictions so far, all fields.
    pub admitted: u64,
    pub evicted: u64,
    /// Peak resident memory of the process so far (Linux), MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Rows scored but not yet reported.
#[derive(Default)]
pub struct WindowRows {
    labels: Vec<f32>,
    scores: Vec<f32>,
    frozen: Vec<f32>,
    truth: Vec<f32>,
}

/// A window's scores, ready to measure.
pub struct ClosedWindow {
    labels: Vec<f32>,
    scores: Vec<f32>,
    frozen: Vec<f32>,
    truth: Vec<f32>,
}

impl WindowRows {
    /// Appends a batch's rows: labels, online scores, and optionally the
    /// frozen model's scores and the true probabilities (each empty or one
    /// per row).
    pub fn push(&mut self, labels: &[f32], scores: &[f32], frozen: &[f32], truth: &[f32]) {
        self.labels.extend_from_slice(labels);
        self.scores.extend_from_slice(scores);
        self.frozen.extend_from_slice(frozen);
        self.truth.extend_from_slice(truth);
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Takes the first `n` rows (all if fewer). The frozen model's scores
    /// start with the second window, so they are aligned from the end.
    pub fn take(&mut self, n: usize) -> ClosedWindow {
        let n = n.min(self.len());
        let split = |v: &mut Vec<f32>| -> Vec<f32> {
            let rest = v.split_off(n.min(v.len()));
            std::mem::replace(v, rest)
        };
        ClosedWindow {
            labels: split(&mut self.labels),
            scores: split(&mut self.scores),
            frozen: split(&mut self.frozen),
            truth: split(&mut self.truth),
        }
    }
}

impl ClosedWindow {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// AUC and logloss of the online, frozen and true scores.
    pub fn measure(&self) -> WindowMetrics {
        let of = |s: &[f32]| Scored {
            auc: auc(s, &self.labels),
            logloss: logloss(s, &self.labels),
        };
        let full = |s: &[f32]| (s.len() == self.rows() && !s.is_empty()).then(|| of(s));
        WindowMetrics {
            positive_rate: self.labels.iter().map(|&y| f64::from(y)).sum::<f64>()
                / self.rows().max(1) as f64,
            online: of(&self.scores),
            frozen: full(&self.frozen),
            truth: full(&self.truth),
        }
    }
}

/// AUC (`None` with one class only) and logloss of one kind of score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub auc: Option<f64>,
    pub logloss: f64,
}

/// What one window measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowMetrics {
    pub positive_rate: f64,
    pub online: Scored,
    /// The frozen first-window model (absent in the first window).
    pub frozen: Option<Scored>,
    /// The true probabilities (absent when the stream has none).
    pub truth: Option<Scored>,
}

/// Peak resident set size of this process, MiB (`VmHWM`; Linux only).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The per-window AUCs over the stream, as an SVG chart.
pub fn auc_chart(title: &str, records: &[WindowRecord]) -> Chart {
    let series = |label: &str, pick: &dyn Fn(&WindowRecord) -> Option<f64>| Line {
        label: label.to_owned(),
        points: records
            .iter()
            .filter_map(|r| pick(r).map(|y| (r.events as f64, y, 0.0)))
            .collect(),
        spread: Spread::ErrorBars,
    };
    let lines = vec![
        series("true probabilities", &|r| r.oracle_auc),
        series("online (progressive)", &|r| r.auc),
        series("trained once on window 1", &|r| r.frozen_auc),
    ]
    .into_iter()
    .filter(|l| !l.points.is_empty())
    .collect();
    Chart {
        title: title.to_owned(),
        x_label: "events".to_owned(),
        y_label: "AUC per window".to_owned(),
        x_ticks: XTicks::Round,
        lines,
        markers: Vec::new(),
    }
}

/// The records as a Markdown table.
pub fn markdown_table(records: &[WindowRecord]) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.4}"));
    let mut out = String::from(
        "| window | events | online AUC | true-p AUC | gap | frozen AUC | online logloss | live rows | evicted | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        let gap = r.oracle_auc.zip(r.auc).map(|(o, a)| o - a);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.4} | {} | {} | {} |\n",
            r.window,
            r.events,
            f(r.auc),
            f(r.oracle_auc),
            f(gap),
            f(r.frozen_auc),
            r.logloss,
            r.live_rows,
            r.evicted,
            r.peak_rss_mib
                .map_or_else(|| "–".to_owned(), |m| format!("{m:.0}")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_rows_in_order_and_measure_each_score_kind() {
        let mut rows = WindowRows::default();
        rows.push(&[1.0, 0.0], &[0.9, 0.1], &[], &[0.8, 0.2]);
        rows.push(&[1.0, 0.0], &[0.2, 0.7], &[], &[0.6, 0.4]);
        let first = rows.take(2);
        assert_eq!(rows.len(), 2);
        let m = first.measure();
        assert_eq!((m.positive_rate, m.online.auc), (0.5, Some(1.0)));
        assert!(m.frozen.is_none(), "no frozen scores");
        assert_eq!(m.truth.unwrap().auc, Some(1.0));
        assert_eq!(rows.take(10).measure().online.auc, Some(0.0));
        assert!(rows.is_empty());
    }
}
