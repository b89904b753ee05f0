//! ANN vs exact search on clustered synthetic unit vectors.
//!
//! Builds an HNSW index over N vectors (default 1,000,000 × 64, 1,000
//! clusters, spread 1.0: noise as large as the centre), then answers the
//! same held-out queries (drawn around the same clusters, not in the index)
//! with the index and with an exact scan, one query at a time on one
//! thread each, and prints Recall@K of the index against the scan and the
//! ratio of their mean query times.
//!
//! Run it through `scripts/ann_bench.sh` (dev profile: this crate and its
//! dependencies are built at opt-level 2, see the workspace Cargo.toml).
//! Flags: --n --dim --clusters --spread --queries --k --ef-construction --ef-search

use std::time::Instant;

use anyhow::{Context, Result, bail};
use ember_ann::synthetic::{centres, clustered_with_centres};
use ember_ann::{HnswIndex, HnswParams, exact_top_k};
use indicatif::{ProgressBar, ProgressStyle};

struct Args {
    n: usize,
    dim: usize,
    clusters: usize,
    spread: f32,
    queries: usize,
    k: usize,
    params: HnswParams,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        n: 1_000_000,
        dim: 64,
        clusters: 1000,
        spread: 1.0,
        queries: 200,
        k: 100,
        params: HnswParams::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("{flag} {value}: {e}");
        match flag.as_str() {
            "--n" => a.n = value.parse().map_err(|e| bad(&e))?,
            "--dim" => a.dim = value.parse().map_err(|e| bad(&e))?,
            "--clusters" => a.clusters = value.parse().map_err(|e| bad(&e))?,
            "--spread" => a.spread = value.parse().map_err(|e| bad(&e))?,
            "--queries" => a.queries = value.parse().map_err(|e| bad(&e))?,
            "--k" => a.k = value.parse().map_err(|e| bad(&e))?,
            "--ef-construction" => a.params.ef_construction = value.parse().map_err(|e| bad(&e))?,
            "--ef-search" => a.params.ef_search = value.parse().map_err(|e| bad(&e))?,
            other => bail!("unknown flag {other}"),
        }
    }
    if a.params.ef_search < a.k {
        bail!("--ef-search must be at least --k (a search returns at most ef results)");
    }
    Ok(a)
}

fn main() -> Result<()> {
    let a = parse()?;
    let t = Instant::now();
    let c = centres(a.dim, a.clusters, 7);
    let items = clustered_with_centres(&c, a.n, a.spread, 1);
    let queries = clustered_with_centres(&c, a.queries, a.spread, 2);
    println!(
        "data: {} clustered unit vectors of dimension {} ({} clusters, spread {}), {} held-out queries, generated in {:.1}s",
        a.n,
        a.dim,
        a.clusters,
        a.spread,
        a.queries,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let bar = ProgressBar::new(a.n as u64).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    let index = HnswIndex::build(&items, a.params, Some(bar));
    let build_s = t.elapsed().as_secs_f64();
    println!(
        "build: HNSW (M=32, ef_construction {}, ef_search {}) in {build_s:.1}s on {} threads",
        a.params.ef_construction,
        a.params.ef_search,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Exact first (the reference), then ANN; both single-threaded per query.
    let t = Instant::now();
    let exact: Vec<_> = queries
        .rows()
        .map(|q| exact_top_k(&items, q, a.k, |_| false))
        .collect::<Result<_>>()?;
    let exact_s = t.elapsed().as_secs_f64() / a.queries as f64;
    let t = Instant::now();
    let approx: Vec<_> = queries
        .rows()
        .map(|q| index.search(q, a.k))
        .collect::<Result<_>>()?;
    let ann_s = t.elapsed().as_secs_f64() / a.queries as f64;

    let (mut hits, mut total) = (0usize, 0usize);
    for (e, x) in exact.iter().zip(&approx) {
        let truth: std::collections::HashSet<u32> = e.iter().map(|n| n.id).collect();
        hits += x.iter().filter(|n| truth.contains(&n.id)).count();
        total += e.len();
    }
    let recall = hits as f64 / total as f64;
    println!(
        "exact: {:.3} ms/query | ann: {:.3} ms/query | speed-up {:.1}x | ANN Recall@{} vs exact {:.4}",
        exact_s * 1e3,
        ann_s * 1e3,
        exact_s / ann_s,
        a.k,
        recall
    );
    println!(
        "RESULT n={} dim={} k={} recall={recall:.4} exact_ms={:.3} ann_ms={:.3} speedup={:.1} build_s={build_s:.0}",
        a.n,
        a.dim,
        a.k,
        exact_s * 1e3,
        ann_s * 1e3,
        exact_s / ann_s
    );
    Ok(())
}
