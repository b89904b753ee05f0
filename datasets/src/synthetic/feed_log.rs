//! feed-log: a small interaction log laid out as a team would bring one
//! (its own column names and order, string ids, ISO-8601 times, a user
//! CSV, a Parquet item table with a content-vector list column), generated
//! with known structure so that what the models learn can be checked.
//!
//! - `T` topics with centroids `c_t ~ N(0, I_d)`; item `i` has a topic,
//!   a latent `z_i = c_{t_i} + 0.5·N(0, I)`, a popularity
//!   `log w_i ~ N(0, 0.8²)`, a brand (mostly its topic's), and a content
//!   vector `e_i = z_i + 0.3·N(0, I)`: what an image or text model would
//!   give, informative but noisy;
//! - user `u` likes two topics (weights 0.7 / 0.3), `a_u` their weighted
//!   centroids; a country that follows the main topic 60 % of the time;
//! - each user clicks `clicks` items at uniform times over 60 days, item
//!   `i` with probability ∝ `w_i · exp(β cos(a_u, z_i))` among the items
//!   released by then, never twice; 25 % of clicks are followed by a
//!   `like`, and each click comes with two `impression` rows of items
//!   drawn by popularity (shown, not clicked: not positives);
//! - a `cold_fraction` of the items are released after the test cut
//!   ([`TEST_FROM`]), so no training event names them: only their
//!   attributes and vector can place them.
//!
//! Files: `events.csv` (`ts,event,sku,member,dwell_s`), `users.csv`
//! (`member,country,age_band`), `items.parquet` (`sku`, `topic`, `brand`,
//! `embedding` list<float32>, `released`).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Builder, ListBuilder, RecordBatch, StringArray};
use chrono::{DateTime, Duration, Utc};
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};

use crate::error::{DataError, Result};

/// The first event time.
pub const START: &str = "2024-01-01T00:00:00Z";
/// The time split of the walkthrough's configs.
pub const VALID_FROM: &str = "2024-02-10T00:00:00Z";
pub const TEST_FROM: &str = "2024-02-20T00:00:00Z";
const DAYS: i64 = 60;

/// How big a log to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeedLogConfig {
    pub users: usize,
    pub items: usize,
    pub topics: usize,
    /// Dimension of the latents and content vectors.
    pub dim: usize,
    /// Clicks per user.
    pub clicks: usize,
    /// How sharply users prefer their topics (β).
    pub sharpness: f32,
    /// Items released after the test cut.
    pub cold_fraction: f64,
    pub seed: u64,
}

impl Default for FeedLogConfig {
    fn default() -> Self {
        Self {
            users: 800,
            items: 600,
            topics: 8,
            dim: 16,
            clicks: 25,
            sharpness: 4.0,
            cold_fraction: 0.1,
            seed: 7,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLogSummary {
    pub events: usize,
    pub clicks: usize,
    pub cold_items: usize,
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / n).collect()
}

/// Writes the three files into `dir` (created if missing).
pub fn write_feed_log(dir: &Path, c: &FeedLogConfig) -> Result<FeedLogSummary> {
    if c.users == 0 || c.items < 10 || c.topics == 0 || c.dim == 0 || c.clicks == 0 {
        return Err(DataError::Invalid(
            "feed-log: users, topics, dim and clicks must be positive, items at least 10".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let mut rng = SmallRng::seed_from_u64(c.seed);
    let normal = Normal::new(0f32, 1.0).expect("unit normal");
    let gauss = |n: usize, scale: f32, rng: &mut SmallRng| -> Vec<f32> {
        (0..n).map(|_| scale * normal.sample(rng)).collect()
    };
    let start: DateTime<Utc> = START.parse().expect("a valid start time");
    let test_from: DateTime<Utc> = TEST_FROM.parse().expect("a valid cut");

    let centroids: Vec<Vec<f32>> = (0..c.topics).map(|_| gauss(c.dim, 1.0, &mut rng)).collect();
    let brands_per_topic = 3;
    struct Item {
        topic: usize,
        brand: usize,
        latent: Vec<f32>,
        content: Vec<f32>,
        weight: f64,
        released: DateTime<Utc>,
    }
    let cold = ((c.items as f64) * c.cold_fraction).round() as usize;
    let items: Vec<Item> = (0..c.items)
        .map(|i| {
            let topic = rng.random_range(0..c.topics);
            let noise = gauss(c.dim, 0.5, &mut rng);
            let latent: Vec<f32> = centroids[topic]
                .iter()
                .zip(&noise)
                .map(|(a, b)| a + b)
                .collect();
            let noise = gauss(c.dim, 0.3, &mut rng);
            let content = latent.iter().zip(&noise).map(|(a, b)| a + b).collect();
            let brand = if rng.random_bool(0.8) {
                topic * brands_per_topic + rng.random_range(0..brands_per_topic)
            } else {
                rng.random_range(0..c.topics * brands_per_topic)
            };
            let released = if i >= c.items - cold {
                test_from + Duration::hours(rng.random_range(1..24 * 5))
            } else {
                start
            };
            Item {
                topic,
                brand,
                latent: unit(&latent),
                content,
                weight: (0.8 * normal.sample(&mut rng) as f64).exp(),
                released,
            }
        })
        .collect();
    let popular = WeightedIndex::new(items.iter().map(|i| i.weight)).expect("positive weights");

    let countries = ["de", "fr", "it", "es", "pl"];
    let ages = ["18-24", "25-34", "35-49", "50+"];
    let mut users_csv = csv::Writer::from_path(dir.join("users.csv"))
        .map_err(|e| DataError::malformed(dir.join("users.csv"), None, None, e.to_string()))?;
    let mut events_csv = csv::Writer::from_path(dir.join("events.csv"))
        .map_err(|e| DataError::malformed(dir.join("events.csv"), None, None, e.to_string()))?;
    let csv_err = |e: csv::Error| DataError::Invalid(format!("feed-log: writing: {e}"));
    users_csv
        .write_record(["member", "country", "age_band"])
        .map_err(csv_err)?;
    events_csv
        .write_record(["ts", "event", "sku", "member", "dwell_s"])
        .map_err(csv_err)?;
    let sku = |i: usize| format!("sku-{:05x}", i * 7919 % 1_048_576);
    let time = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut summary = FeedLogSummary {
        events: 0,
        clicks: 0,
        cold_items: cold,
    };
    for u in 0..c.users {
        let member = format!("m{u:05}");
        let (main, second) = (rng.random_range(0..c.topics), rng.random_range(0..c.topics));
        let taste: Vec<f32> = centroids[main]
            .iter()
            .zip(&centroids[second])
            .map(|(a, b)| 0.7 * a + 0.3 * b)
            .collect();
        let taste = unit(&taste);
        let country = if rng.random_bool(0.6) {
            countries[main % countries.len()]
        } else {
            countries[rng.random_range(0..countries.len())]
        };
        users_csv
            .write_record([
                member.as_str(),
                country,
                ages[rng.random_range(0..ages.len())],
            ])
            .map_err(csv_err)?;
        let affinity: Vec<f64> = items
            .iter()
            .map(|i| {
                let cos: f32 = taste.iter().zip(&i.latent).map(|(a, b)| a * b).sum();
                i.weight * ((c.sharpness * cos) as f64).exp()
            })
            .collect();
        let mut times: Vec<DateTime<Utc>> = (0..c.clicks)
            .map(|_| start + Duration::seconds(rng.random_range(0..DAYS * 86_400)))
            .collect();
        times.sort_unstable();
        let mut clicked = vec![false; items.len()];
        for t in times {
            let weights: Vec<f64> = items
                .iter()
                .zip(&affinity)
                .enumerate()
                .map(|(j, (i, &a))| {
                    if i.released <= t && !clicked[j] {
                        a
                    } else {
                        0.0
                    }
                })
                .collect();
            let Ok(pick) = WeightedIndex::new(&weights) else {
                continue;
            };
            let j = rng.sample(&pick);
            clicked[j] = true;
            let dwell = format!("{:.1}", (3.0 + 1.0 * normal.sample(&mut rng) as f64).exp());
            let id = sku(j);
            events_csv
                .write_record([time(t).as_str(), "click", &id, &member, &dwell])
                .map_err(csv_err)?;
            summary.clicks += 1;
            summary.events += 1;
            if rng.random_bool(0.25) {
                let at = time(t + Duration::seconds(30));
                events_csv
                    .write_record([at.as_str(), "like", &id, &member, ""])
                    .map_err(csv_err)?;
                summary.events += 1;
            }
            for _ in 0..2 {
                let shown = rng.sample(&popular);
                if items[shown].released <= t && shown != j {
                    events_csv
                        .write_record([time(t).as_str(), "impression", &sku(shown), &member, ""])
                        .map_err(csv_err)?;
                    summary.events += 1;
                }
            }
        }
    }
    users_csv
        .flush()
        .map_err(|e| DataError::io(dir.join("users.csv"), e))?;
    events_csv
        .flush()
        .map_err(|e| DataError::io(dir.join("events.csv"), e))?;

    let mut embedding = ListBuilder::new(Float32Builder::new());
    for i in &items {
        embedding.values().append_slice(&i.content);
        embedding.append(true);
    }
    let text = |f: &dyn Fn(usize, &Item) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            items
                .iter()
                .enumerate()
                .map(|(j, i)| f(j, i))
                .collect::<Vec<_>>(),
        ))
    };
    let batch = RecordBatch::try_from_iter([
        ("sku", text(&|j, _| sku(j))),
        ("topic", text(&|_, i| format!("topic-{}", i.topic))),
        ("brand", text(&|_, i| format!("brand-{}", i.brand))),
        ("embedding", Arc::new(embedding.finish()) as ArrayRef),
        (
            "released",
            text(&|_, i| i.released.format("%Y-%m-%d").to_string()),
        ),
    ])
    .map_err(|e| DataError::Invalid(format!("feed-log: items table: {e}")))?;
    let path = dir.join("items.parquet");
    let file = std::fs::File::create(&path).map_err(|e| DataError::io(&path, e))?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)
        .map_err(|e| DataError::malformed(&path, None, None, e.to_string()))?;
    writer
        .write(&batch)
        .and_then(|_| writer.close().map(|_| ()))
        .map_err(|e| DataError::malformed(&path, None, None, e.to_string()))?;
    Ok(summary)
}
