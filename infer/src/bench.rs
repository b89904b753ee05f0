//! `ember bench-serving`: the serving hot paths timed in one run.
//!
//! - fine ranking: 1,000 frappe candidates (rows of the frappe test file)
//!   encoded from their raw tokens and scored by the frappe DeepFM, one
//!   request at a time: p50 / p99 over the timed requests;
//! - DPP: 50 of 5,000 random candidates (64-dimensional unit vectors) by
//!   fast greedy, against the naive greedy that recomputes every
//!   log-determinant, on the same kernel, printed as a ratio;
//! - feature hashing: raw tokens → model ids (XXH3 + vocabulary lookup)
//!   through the serving encoder, on one thread;
//! - the feature store: batched lookups of statistic-feature counters
//!   (`crate::feature_store`, LMDB) from every core, as keys/s against the
//!   seed figure of 10 M keys/s per machine, next to the same lookups in an
//!   in-process hash map (what a store that is not a database would do).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ember_datasets::registry::DataConfig;
use ember_datasets::sources::FrappeCtr;
use ember_datasets::toml_config::load_toml;
use ember_datasets::{EncodedData, Preprocessor};
use ember_models::RankingModel;
use ember_models::device::{DeviceChoice, select_device};
use ember_models::ranking::RankingConfig;
use serde::Serialize;

use crate::Predictor;
use crate::features::{Cell, RowEncoder};
use crate::rerank::{DppConfig, DppKernel, fast_greedy_map, naive_greedy_map, random_candidates};

#[derive(Debug, Clone)]
pub struct BenchServingOptions {
    /// A frappe ranking artifact; without one, the DeepFM of `preset` with
    /// fresh weights (latency does not depend on the weights' values).
    pub model: Option<PathBuf>,
    pub preset: PathBuf,
    pub data_root: PathBuf,
    pub device: DeviceChoice,
    pub candidates: usize,
    pub warmup: usize,
    pub requests: usize,
    pub dpp_pool: usize,
    pub dpp_k: usize,
    pub dpp_runs: usize,
    pub naive_runs: usize,
    pub hash_rows: usize,
    /// Keys in the feature store (half users, half items).
    pub store_keys: usize,
    /// Keys per batched lookup (one request's candidates).
    pub store_batch: usize,
    /// Lookups timed per measurement.
    pub store_lookups: usize,
}

/// The feature store's lookup rates.
#[derive(Debug, Clone, Serialize)]
pub struct StoreBench {
    pub keys: usize,
    pub batch: usize,
    pub threads: usize,
    /// LMDB gets alone (one read transaction per batch).
    pub raw_keys_per_second: f64,
    /// Gets plus the decayed features of each key (what the request path does).
    pub feature_keys_per_second: f64,
    /// The same on one thread (how the store scales with cores).
    pub feature_keys_per_second_one_thread: f64,
    /// The same features from an in-process hash map of the counters.
    pub hashmap_keys_per_second: f64,
    /// Item attribute rows (3 cells each) read zero-copy, all threads.
    pub attribute_rows_per_second: f64,
    /// The seed figure to compare with.
    pub target_keys_per_second: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub runs: usize,
}

impl Latency {
    pub fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            ms.get(((ms.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0.0)
        };
        Self {
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            mean_ms: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
            runs: ms.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchServingReport {
    pub threads: usize,
    pub model: String,
    pub candidates: usize,
    /// Encode + score of one request.
    pub fine_ranking: Latency,
    /// Encoding alone (part of `fine_ranking`).
    pub encoding: Latency,
    pub dpp_pool: usize,
    pub dpp_k: usize,
    pub dpp_fast: Latency,
    pub dpp_naive: Latency,
    pub dpp_speedup: f64,
    pub dpp_same_selection: bool,
    pub hashing_features: usize,
    pub hashing_features_per_second: f64,
    pub store: StoreBench,
}

impl std::fmt::Display for BenchServingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "serving benchmark ({} threads available)", self.threads)?;
        writeln!(
            f,
            "fine ranking, {} candidates, {}: p50 {:.2} ms | p99 {:.2} ms | mean {:.2} ms ({} requests; goal p99 <= 10 ms) [encoding alone p50 {:.3} ms]",
            self.candidates,
            self.model,
            self.fine_ranking.p50_ms,
            self.fine_ranking.p99_ms,
            self.fine_ranking.mean_ms,
            self.fine_ranking.runs,
            self.encoding.p50_ms
        )?;
        writeln!(
            f,
            "DPP {} of {}: fast greedy p50 {:.2} ms p99 {:.2} ms (goal <= 5 ms) | naive greedy {:.1} ms | naive / fast = {:.0}x | same selection: {}",
            self.dpp_k,
            self.dpp_pool,
            self.dpp_fast.p50_ms,
            self.dpp_fast.p99_ms,
            self.dpp_naive.mean_ms,
            self.dpp_speedup,
            self.dpp_same_selection
        )?;
        writeln!(
            f,
            "feature hashing: {:.1} M features/s on one thread ({} features; goal >= 20 M/s per core)",
            self.hashing_features_per_second / 1e6,
            self.hashing_features
        )?;
        let s = &self.store;
        write!(
            f,
            "feature store (LMDB, {} keys, batches of {}, {} threads): features {:.1} M keys/s ({:.1} M on one thread) = {:.2}x the seed's {:.0} M keys/s per machine | raw gets {:.1} M keys/s | in-process hash map {:.1} M keys/s (store / map = {:.2}) | item attribute rows {:.1} M/s",
            s.keys,
            s.batch,
            s.threads,
            s.feature_keys_per_second / 1e6,
            s.feature_keys_per_second_one_thread / 1e6,
            s.feature_keys_per_second / s.target_keys_per_second,
            s.target_keys_per_second / 1e6,
            s.raw_keys_per_second / 1e6,
            s.hashmap_keys_per_second / 1e6,
            s.feature_keys_per_second / s.hashmap_keys_per_second.max(1e-9),
            s.attribute_rows_per_second / 1e6
        )
    }
}

/// Byte ranges of the feature indices of each libFM line (`label idx:val ...`).
fn libfm_cells(text: &[u8], rows: usize) -> Vec<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split(|&b| b == b'\n') {
        if out.len() == rows {
            break;
        }
        let start = offset;
        offset += line.len() + 1;
        let mut cells = Vec::new();
        let mut pos = start;
        for (n, part) in line.split(|&b| b == b' ').enumerate() {
            if n > 0 && !part.is_empty() {
                let idx_len = part.iter().position(|&b| b == b':').unwrap_or(part.len());
                cells.push((pos, pos + idx_len));
            }
            pos += part.len() + 1;
        }
        if !cells.is_empty() {
            out.push(cells);
        }
    }
    out
}

fn model_and_preprocessor(
    options: &BenchServingOptions,
) -> Result<(RankingModel, Preprocessor, burn::prelude::Device, String)> {
    if let Some(dir) = &options.model {
        let p = Predictor::load(dir, options.device)?;
        let pre = p
            .preprocessor
            .clone()
            .with_context(|| format!("{}: no preprocessor", dir.display()))?;
        return Ok((p.model, pre, p.device, dir.display().to_string()));
    }
    // Serving reads a preset's `[model]` table only; the run config as a
    // whole (training settings) is the trainer's business.
    let preset = load_toml(&options.preset, &[])?;
    if preset
        .get("data")
        .and_then(|d| d.get("source"))
        .and_then(|s| s.as_str())
        != Some("frappe-ctr")
    {
        bail!("{}: not a frappe-ctr preset", options.preset.display());
    }
    let model_config: RankingConfig = preset
        .get("model")
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(Default::default()))
        .try_into()
        .with_context(|| format!("{}: invalid [model]", options.preset.display()))?;
    let data = ember_datasets::registry::load(&DataConfig::FrappeCtr(FrappeCtr {
        root: options.data_root.clone(),
    }))?;
    let pre = data.preprocessor.context("frappe has a preprocessor")?;
    let (device, _) = select_device(options.device);
    let model = model_config
        .init(&data.layout, &device)
        .map_err(anyhow::Error::msg)?
        .for_inference();
    Ok((
        model,
        pre,
        device,
        format!(
            "{}, embedding {}, MLP {} (untrained weights of {})",
            model_config.kind.name(),
            model_config.embedding_dim,
            model_config
                .hidden
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-"),
            options.preset.display()
        ),
    ))
}

fn encode(encoder: &RowEncoder, text: &[u8], rows: &[Vec<(usize, usize)>]) -> Result<EncodedData> {
    let mut out = encoder.start(rows.len());
    let mut cells: [Cell; 16] = [Cell::Bytes(b""); 16];
    for row in rows {
        for (cell, &(a, b)) in cells.iter_mut().zip(row) {
            *cell = Cell::Bytes(&text[a..b]);
        }
        encoder.push_row(&mut out, &cells[..row.len()])?;
    }
    Ok(out)
}

pub fn run(options: &BenchServingOptions) -> Result<BenchServingReport> {
    let test_file = options.data_root.join("frappe/frappe.test.libfm");
    let text = std::fs::read(&test_file)
        .with_context(|| format!("{}: cannot read", test_file.display()))?;
    let all_rows = libfm_cells(&text, usize::MAX);
    if all_rows.len() < options.candidates {
        bail!(
            "{}: {} rows, fewer than {} candidates",
            test_file.display(),
            all_rows.len(),
            options.candidates
        );
    }
    let (model, pre, device, model_name) = model_and_preprocessor(options)?;
    let encoder = RowEncoder::new(&pre)?;

    // Fine ranking: each request is a different window of 1,000 rows.
    let mut total_ms = Vec::with_capacity(options.requests);
    let mut encode_ms = Vec::with_capacity(options.requests);
    for r in 0..options.warmup + options.requests {
        let start = (r * 997) % (all_rows.len() - options.candidates + 1);
        let rows = &all_rows[start..start + options.candidates];
        let t0 = Instant::now();
        let encoded = encode(&encoder, &text, rows)?;
        let t1 = Instant::now();
        let scores = model.predict_proba(&encoded, options.candidates, &device);
        let t2 = Instant::now();
        if scores.len() != options.candidates {
            bail!("the model returned {} scores", scores.len());
        }
        if r >= options.warmup {
            total_ms.push((t2 - t0).as_secs_f64() * 1e3);
            encode_ms.push((t1 - t0).as_secs_f64() * 1e3);
        }
    }

    // DPP on one random kernel.
    let set = random_candidates(options.dpp_pool, 64, 20, 42);
    let config = DppConfig::default();
    let kernel = DppKernel::new(&set, config.alpha(), config.jitter);
    let mut fast_ms = Vec::new();
    let mut fast = Vec::new();
    for _ in 0..options.dpp_runs.max(1) {
        let t = Instant::now();
        fast = fast_greedy_map(&kernel, options.dpp_k, config.epsilon);
        fast_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut naive_ms = Vec::new();
    let mut naive = Vec::new();
    for _ in 0..options.naive_runs.max(1) {
        let t = Instant::now();
        naive = naive_greedy_map(&kernel, options.dpp_k, config.epsilon);
        naive_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let dpp_fast = Latency::of(fast_ms);
    let dpp_naive = Latency::of(naive_ms);

    // Hashing: encode the test file's rows again and again on this thread,
    // for at least a second: ten passes take a few milliseconds, and right
    // after the DPP runs the pool's idle threads still spin for a while on
    // the two cores (ten passes alone read 9-17 M/s there, 63 M/s without
    // the DPP before them; a second of passes reads ~120 M/s either way).
    let mut features = 0usize;
    let t = Instant::now();
    let mut sink = 0u64;
    while features < options.hash_rows * 10 || t.elapsed().as_secs_f64() < 1.0 {
        let chunk = &all_rows[..all_rows.len().min(options.hash_rows)];
        let encoded = encode(&encoder, &text, chunk)?;
        sink = sink.wrapping_add(
            encoded
                .categorical
                .iter()
                .map(|&x| u64::from(x))
                .sum::<u64>(),
        );
        features += chunk.iter().map(Vec::len).sum::<usize>();
    }
    let seconds = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    let store = bench_store(options)?;

    Ok(BenchServingReport {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        model: model_name,
        candidates: options.candidates,
        fine_ranking: Latency::of(total_ms),
        encoding: Latency::of(encode_ms),
        dpp_pool: options.dpp_pool,
        dpp_k: options.dpp_k,
        dpp_speedup: dpp_naive.mean_ms / dpp_fast.mean_ms.max(1e-9),
        dpp_fast,
        dpp_naive,
        dpp_same_selection: fast == naive,
        hashing_features: features,
        hashing_features_per_second: features as f64 / seconds.max(1e-9),
        store,
    })
}

/// Times `lookup(thread, batch index)` (which returns the keys it looked
/// up) on every core until `total` keys are done; keys per second.
fn keys_per_second(
    threads: usize,
    total: usize,
    lookup: impl Fn(usize, usize) -> Result<usize> + Sync,
) -> Result<f64> {
    let per_thread = total.div_ceil(threads);
    let start = Instant::now();
    let done: Vec<Result<usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let lookup = &lookup;
                s.spawn(move || {
                    let (mut keys, mut batch) = (0, 0);
                    while keys < per_thread {
                        keys += lookup(t, batch)?;
                        batch += 1;
                    }
                    Ok(keys)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a lookup thread panicked")))
            })
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let keys: usize = done
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .sum();
    Ok(keys as f64 / seconds.max(1e-9))
}

/// Fills a store with `store_keys` counters and times batched lookups of
/// uniformly drawn keys from every core.
fn bench_store(options: &BenchServingOptions) -> Result<StoreBench> {
    use std::collections::HashMap;

    use ember_datasets::stats::{Counter, Prior, StatsConfig, features_into, observe};
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    use crate::feature_store::{FeatureStore, KeyKind, StatEvent};

    let config = StatsConfig::default();
    let dir = std::env::temp_dir().join(format!("ember-bench-store-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let per_kind = (options.store_keys / 2).max(1) as u64;
    let day = 86_400;
    let events: Vec<StatEvent> = (0..per_kind)
        .map(|k| StatEvent {
            user: k,
            item: k,
            time: 1_700_000_000 + k % (30 * day),
            positive: k % 3 == 0,
        })
        .collect();
    let outcome = (|| {
        let store = FeatureStore::open(&dir, &config)?;
        for chunk in events.chunks(100_000) {
            store.observe(chunk)?;
        }
        // Item attributes: three short cells per item, as a catalog has.
        let ids: Vec<String> = (0..per_kind).map(|k| format!("item-{k}")).collect();
        let fields = ["category", "brand", "tags"].map(str::to_owned);
        let cells: Vec<[String; 3]> = (0..per_kind)
            .map(|k| {
                [
                    format!("c{}", k % 97),
                    format!("b{}", k % 1013),
                    format!("t{}|t{}", k % 7, k % 11),
                ]
            })
            .collect();
        store.put_attributes(
            KeyKind::Item,
            &fields,
            ids.iter()
                .zip(&cells)
                .map(|(id, c)| (id.as_str(), c.iter().map(|x| x.as_bytes()).collect())),
        )?;
        // The baseline: the same counters in a hash map.
        let mut map: HashMap<(u8, u64), Vec<Counter>> =
            HashMap::with_capacity(2 * per_kind as usize);
        let mut prior = Prior::default();
        for e in &events {
            for key in [(0u8, e.user), (1u8, e.item)] {
                let c = map
                    .entry(key)
                    .or_insert_with(|| vec![Counter::default(); config.half_lives_days.len()]);
                observe(c, e.time, e.positive, &config);
            }
            prior.observe(e.positive);
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let batch = options.store_batch.max(1);
        let t = 1_700_000_000 + 31 * day;
        let keys_of = |thread: usize, b: usize| -> Vec<u64> {
            let mut rng = SmallRng::seed_from_u64((thread as u64) << 32 | b as u64);
            (0..batch).map(|_| rng.random_range(0..per_kind)).collect()
        };
        let width = 2 * config.half_lives_days.len();
        let raw = keys_per_second(threads, options.store_lookups, |thread, b| {
            let keys = keys_of(thread, b);
            let reader = store.reader()?;
            let mut bytes = 0usize;
            for &k in &keys {
                bytes += reader.raw(KeyKind::Item, k)?.map_or(0, <[u8]>::len);
            }
            std::hint::black_box(bytes);
            Ok(keys.len())
        })?;
        let features_on = |threads: usize| {
            keys_per_second(threads, options.store_lookups, |thread, b| {
                let keys = keys_of(thread, b);
                let mut out = Vec::with_capacity(keys.len() * width);
                store
                    .reader()?
                    .features_many(KeyKind::Item, &keys, t, &mut out)?;
                std::hint::black_box(&out);
                Ok(keys.len())
            })
        };
        let one_thread = features_on(1)?;
        let features = features_on(threads)?;
        let hashmap = keys_per_second(threads, options.store_lookups, |thread, b| {
            let keys = keys_of(thread, b);
            let mut out = vec![0f32; keys.len() * width];
            for (&k, slot) in keys.iter().zip(out.chunks_exact_mut(width)) {
                features_into(
                    map.get(&(1, k)).map(Vec::as_slice),
                    t,
                    &prior,
                    &config,
                    slot,
                );
            }
            std::hint::black_box(&out);
            Ok(keys.len())
        })?;
        let attributes = keys_per_second(threads, options.store_lookups / 4, |thread, b| {
            let keys = keys_of(thread, b);
            let reader = store.reader()?;
            let mut bytes = 0usize;
            for &k in &keys {
                let row = reader.attributes(KeyKind::Item, &ids[k as usize])?;
                bytes += row.map_or(0, |cells| cells.iter().map(|c| c.len()).sum());
            }
            std::hint::black_box(bytes);
            Ok(keys.len())
        })?;
        Ok(StoreBench {
            keys: 2 * per_kind as usize,
            attribute_rows_per_second: attributes,
            batch,
            threads,
            raw_keys_per_second: raw,
            feature_keys_per_second: features,
            feature_keys_per_second_one_thread: one_thread,
            hashmap_keys_per_second: hashmap,
            target_keys_per_second: 10e6,
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Writes the report as JSON.
pub fn write_json(report: &BenchServingReport, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))
}
