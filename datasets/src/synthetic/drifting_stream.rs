//! drifting-stream: a time-ordered stream of impressions whose true click
//! probabilities change over time, written as the numbered CSV files a
//! log shipper would drop into a directory, each row with the probability
//! it was drawn from (`p_true`), so an online model can be held against
//! the best any model could do at that moment.
//!
//! Event `n` of `N` (stream time `τ = n / N`):
//! - a user from a pool that keeps renewing (`user_life` events on average
//!   per user, so ids never seen before keep arriving), with a segment
//!   `s ∈ 0..segments` and a taste bias `r_u ~ N(0, user_bias²)`;
//! - an item from the `live_items` most recently released (one new item
//!   every `N / items` events), with a category `c` and a quality
//!   `q_i ~ N(0, item_quality²)`; a device `d ∈ 0..3` with effect `δ_d`;
//! - `logit p = b + A(τ)[s, c] + q_i + r_u + δ_d`, where the segment ×
//!   category affinities rotate between two random matrices,
//!   `A(τ) = cos(πkτ)·A₀ + sin(πkτ)·A₁` (`k = drift` half-turns over the
//!   stream): what users of a segment like today is not what they liked
//!   at the start.
//!
//! By default ids carry no signal of their own (`item_quality = user_bias
//! = 0`): users and items come and go so that id tables must follow them
//! (open vocabularies), and a model must learn not to read noise into
//! them; the drift lives in the segment × category affinities.
//!
//! Columns: `time,user,item,segment,category,device,click,p_true`; files
//! `part-00000.csv`, ... of `events_per_file` rows each.

use std::io::Write;
use std::path::Path;

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};

use crate::error::{DataError, Result};

/// The stream's first timestamp (seconds); one event every 3 s.
pub const START_TIME: u64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftingStreamConfig {
    pub events: usize,
    pub events_per_file: usize,
    pub segments: usize,
    pub categories: usize,
    /// Items released over the stream.
    pub items: usize,
    /// Items on offer at any time (the most recent releases).
    pub live_items: usize,
    /// Mean events per user before they leave the pool.
    pub user_life: usize,
    /// Users in the pool at any time.
    pub live_users: usize,
    /// Half-turns of the affinity rotation over the stream.
    pub drift: f64,
    /// Scale of the affinities `A₀`, `A₁` (std of their entries).
    pub affinity: f64,
    /// The base logit `b`.
    pub bias: f64,
    /// Std of the item qualities `q_i` and the user biases `r_u`.
    pub item_quality: f64,
    pub user_bias: f64,
    pub seed: u64,
}

impl Default for DriftingStreamConfig {
    fn default() -> Self {
        Self {
            events: 600_000,
            events_per_file: 20_000,
            segments: 8,
            categories: 12,
            items: 2_000,
            live_items: 100,
            user_life: 100,
            live_users: 2_000,
            drift: 1.0,
            affinity: 1.0,
            bias: -1.2,
            item_quality: 0.0,
            user_bias: 0.0,
            seed: 11,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftingStreamSummary {
    pub files: usize,
    pub events: usize,
    pub clicks: usize,
    pub users: usize,
}

/// Writes the stream's files into `dir` (created if missing).
pub fn write_drifting_stream(
    dir: &Path,
    c: &DriftingStreamConfig,
) -> Result<DriftingStreamSummary> {
    if c.events == 0
        || c.events_per_file == 0
        || c.segments == 0
        || c.categories == 0
        || c.live_items == 0
        || c.items < c.live_items
        || c.live_users == 0
        || c.user_life == 0
    {
        return Err(DataError::Invalid(
            "drifting-stream: sizes must be positive and items >= live_items".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut rng = SmallRng::seed_from_u64(c.seed);
    let unit = Normal::new(0.0, 1.0).expect("unit normal");
    let matrix = |rng: &mut SmallRng| -> Vec<f64> {
        (0..c.segments * c.categories)
            .map(|_| c.affinity * unit.sample(rng))
            .collect()
    };
    let (a0, a1) = (matrix(&mut rng), matrix(&mut rng));
    let device_effect: Vec<f64> = (0..3).map(|_| 0.3 * unit.sample(&mut rng)).collect();
    // Items in release order: (category, quality).
    let items: Vec<(usize, f64)> = (0..c.items)
        .map(|_| {
            (
                rng.random_range(0..c.categories),
                c.item_quality * unit.sample(&mut rng),
            )
        })
        .collect();
    // The user pool: (id, segment, bias); a user leaves with probability
    // live_users / (user_life · live_users) per event, replaced by a new id.
    let new_user = |id: usize, rng: &mut SmallRng| {
        (
            id,
            rng.random_range(0..c.segments),
            c.user_bias * unit.sample(rng),
        )
    };
    let mut pool: Vec<(usize, usize, f64)> =
        (0..c.live_users).map(|id| new_user(id, &mut rng)).collect();
    let mut next_user = c.live_users;
    let leave = 1.0 / c.user_life as f64;

    let (mut files, mut clicks) = (0, 0);
    let mut out: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut path = dir.to_owned();
    for n in 0..c.events {
        if n % c.events_per_file == 0 {
            if let Some(mut w) = out.take() {
                w.flush().map_err(|e| DataError::io(&path, e))?;
            }
            path = dir.join(format!("part-{files:05}.csv"));
            let file = std::fs::File::create(&path).map_err(|e| DataError::io(&path, e))?;
            let mut w = std::io::BufWriter::new(file);
            writeln!(w, "time,user,item,segment,category,device,click,p_true")
                .map_err(|e| DataError::io(&path, e))?;
            out = Some(w);
            files += 1;
        }
        let tau = n as f64 / c.events as f64;
        let angle = std::f64::consts::PI * c.drift * tau;
        let slot = rng.random_range(0..pool.len());
        let (user, segment, user_bias) = pool[slot];
        // Items released so far: one every events / items events.
        let released = ((n * c.items) / c.events + 1).clamp(c.live_items, c.items);
        let item = released - 1 - rng.random_range(0..c.live_items);
        let (category, quality) = items[item];
        let device = rng.random_range(0..3);
        let cell = segment * c.categories + category;
        let logit = c.bias
            + angle.cos() * a0[cell]
            + angle.sin() * a1[cell]
            + quality
            + user_bias
            + device_effect[device];
        let p = 1.0 / (1.0 + (-logit).exp());
        let click = rng.random_bool(p);
        clicks += usize::from(click);
        let w = out.as_mut().expect("a file is open");
        writeln!(
            w,
            "{},u{user},i{item},s{segment},c{category},d{device},{},{p:.6}",
            START_TIME + 3 * n as u64,
            u8::from(click)
        )
        .map_err(|e| DataError::io(&path, e))?;
        if rng.random_bool(leave) {
            pool[slot] = new_user(next_user, &mut rng);
            next_user += 1;
        }
    }
    if let Some(mut w) = out.take() {
        w.flush().map_err(|e| DataError::io(&path, e))?;
    }
    Ok(DriftingStreamSummary {
        files,
        events: c.events,
        clicks,
        users: next_user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_numbered_files_with_true_probabilities_and_new_users() {
        let dir = tempfile::tempdir().unwrap();
        let config = DriftingStreamConfig {
            events: 2_500,
            events_per_file: 1_000,
            items: 100,
            live_items: 20,
            live_users: 50,
            user_life: 10,
            ..Default::default()
        };
        let s = write_drifting_stream(dir.path(), &config).unwrap();
        assert_eq!((s.files, s.events), (3, 2_500));
        assert!(s.users > 100, "users keep arriving: {}", s.users);
        let text = std::fs::read_to_string(dir.path().join("part-00002.csv")).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(
            rows[0],
            "time,user,item,segment,category,device,click,p_true"
        );
        assert_eq!(rows.len(), 501);
        let p: f64 = rows[1].rsplit(',').next().unwrap().parse().unwrap();
        assert!(p > 0.0 && p < 1.0);
        // Seeded: the same config writes the same bytes.
        let again = tempfile::tempdir().unwrap();
        write_drifting_stream(again.path(), &config).unwrap();
        assert_eq!(
            std::fs::read(again.path().join("part-00001.csv")).unwrap(),
            std::fs::read(dir.path().join("part-00001.csv")).unwrap()
        );
    }
}
