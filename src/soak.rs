//! `ember soak`: the server under the load test's mixed traffic (a share
//! malformed) for a fixed time, with a version swap every few seconds,
//! sampling the process's resident memory; writes `soak.md` (totals, the
//! memory growth after warm-up) and `soak_rss.svg` (the curve).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use ember_infer::server::client::{HttpClient, LoadTestOptions, LoadTestReport, run_load_test};
use ember_infer::server::{BackgroundServer, BatchingConfig, ServeOptions};
use ember_train::plot::{Chart, Line, Spread, XTicks};

#[derive(Args)]
pub struct SoakArgs {
    /// The pipeline to serve; `--swap-to` names another version next to it.
    #[arg(long)]
    pipeline: PathBuf,
    /// The version (file stem in the pipeline's directory) swapped in and
    /// rolled back in turn.
    #[arg(long)]
    swap_to: String,
    #[arg(long, default_value_t = 600.0)]
    seconds: f64,
    #[arg(long, default_value_t = 5.0)]
    swap_every: f64,
    /// Share of malformed requests.
    #[arg(long, default_value_t = 0.1)]
    malformed: f64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Requests per load-test round (memory is sampled between rounds).
    #[arg(long, default_value_t = 2000)]
    round: usize,
    /// The share of the run before memory growth is measured.
    #[arg(long, default_value_t = 0.2)]
    warmup: f64,
    #[arg(long, default_value = "reports/serving")]
    out: PathBuf,
}

/// This process's resident memory, MiB (`VmRSS`; Linux).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

pub fn soak(args: SoakArgs) -> Result<()> {
    let config = ember_infer::pipeline::PipelineConfig::load(&args.pipeline, &[])?;
    let catalog =
        ember_infer::features::Catalog::load(&config.catalog.data, config.catalog.history_len)?;
    let log = catalog.log();
    let options = LoadTestOptions {
        requests: args.round,
        concurrency: args.concurrency,
        malformed: args.malformed,
        users: log.users.ids.ids().to_vec(),
        items: log.items.ids.ids().to_vec(),
        score_items: 100,
        score_every: 5,
    };
    drop(catalog);
    let server = BackgroundServer::load_and_start(ServeOptions {
        pipeline: args.pipeline.clone(),
        overrides: Vec::new(),
        addr: "127.0.0.1:0".parse().expect("loopback"),
        batching: BatchingConfig::default(),
        watch: None,
        admin_token: None,
        feed: Default::default(),
    })?;
    let addr = server.addr;
    let done = Arc::new(AtomicBool::new(false));
    // Swaps: load the other version, then roll back, every `swap_every`.
    let swapper = {
        let (done, version, every) = (done.clone(), args.swap_to.clone(), args.swap_every);
        std::thread::spawn(move || -> Result<usize> {
            let mut client = HttpClient::new(addr);
            let body = serde_json::to_vec(&serde_json::json!({ "version": version }))?;
            let mut swaps = 0;
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs_f64(every));
                let (status, answer) = if swaps % 2 == 0 {
                    client.request("POST", "/admin/load", &body)?
                } else {
                    client.request("POST", "/admin/rollback", b"")?
                };
                if status != 200 {
                    bail!(
                        "swap {swaps}: {status} {}",
                        String::from_utf8_lossy(&answer)
                    );
                }
                swaps += 1;
            }
            Ok(swaps)
        })
    };
    let start = Instant::now();
    let mut total = LoadTestReport::default();
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let mut p99s = Vec::new();
    while start.elapsed().as_secs_f64() < args.seconds {
        let r = run_load_test(addr, &options)?;
        total.requests += r.requests;
        total.malformed_sent += r.malformed_sent;
        total.status_2xx += r.status_2xx;
        total.status_4xx += r.status_4xx;
        total.status_5xx += r.status_5xx;
        total.transport_errors += r.transport_errors;
        total.wrong_status += r.wrong_status;
        if total.first_problem.is_none() {
            total.first_problem = r.first_problem.clone();
        }
        p99s.push(r.p99_ms);
        if let Some(rss) = rss_mib() {
            samples.push((start.elapsed().as_secs_f64(), rss));
        }
        eprint!(
            "\r{:.0}s: {} requests, 5xx {}, transport errors {}, RSS {:.0} MiB   ",
            start.elapsed().as_secs_f64(),
            total.requests,
            total.status_5xx,
            total.transport_errors,
            samples.last().map_or(0.0, |s| s.1)
        );
    }
    eprintln!();
    done.store(true, Ordering::SeqCst);
    let swaps = swapper
        .join()
        .map_err(|_| anyhow::anyhow!("the swapper panicked"))??;
    server.stop()?;
    let seconds = start.elapsed().as_secs_f64();

    // Memory growth after warm-up: the last sample against the first one
    // after the warm-up share of the run.
    let warm = samples
        .iter()
        .find(|s| s.0 >= args.warmup * seconds)
        .copied()
        .context("no memory sample after warm-up")?;
    let last = *samples.last().expect("a sample");
    let peak = samples
        .iter()
        .filter(|s| s.0 >= warm.0)
        .map(|s| s.1)
        .fold(0.0, f64::max);
    let growth = (last.1 - warm.1) / warm.1;
    let peak_growth = (peak - warm.1) / warm.1;
    p99s.sort_by(f64::total_cmp);
    std::fs::create_dir_all(&args.out)?;
    let report = format!(
        "# Soak: {} for {:.0} s\n\n`ember soak --pipeline {} --swap-to {} --seconds {} --swap-every {} --malformed {} --concurrency {}`\n\n\
         | what | value |\n|---|---|\n\
         | requests | {} ({} malformed) |\n| 2xx / 4xx / 5xx | {} / {} / {} |\n| transport errors | {} |\n| wrong status | {} |\n\
         | version swaps (load, rollback in turn) | {swaps} |\n| round p99 latency, median round | {:.1} ms |\n\
         | RSS after warm-up ({:.0} s) | {:.1} MiB |\n| RSS at the end | {:.1} MiB ({:+.2} %) |\n| peak RSS after warm-up | {:.1} MiB ({:+.2} %) |\n\n\
         The curve: `soak_rss.svg`.{}\n",
        args.pipeline.display(),
        seconds,
        args.pipeline.display(),
        args.swap_to,
        args.seconds,
        args.swap_every,
        args.malformed,
        args.concurrency,
        total.requests,
        total.malformed_sent,
        total.status_2xx,
        total.status_4xx,
        total.status_5xx,
        total.transport_errors,
        total.wrong_status,
        p99s.get(p99s.len() / 2).copied().unwrap_or(0.0),
        warm.0,
        warm.1,
        last.1,
        100.0 * growth,
        peak,
        100.0 * peak_growth,
        total
            .first_problem
            .as_ref()
            .map_or_else(String::new, |p| format!("\n\nFirst problem: {p}")),
    );
    std::fs::write(args.out.join("soak.md"), &report)?;
    let chart = Chart {
        title: format!("resident memory under load, {swaps} version swaps"),
        x_label: "seconds".into(),
        y_label: "RSS (MiB)".into(),
        x_ticks: XTicks::Round,
        lines: vec![Line {
            label: "ember serve (in process)".into(),
            points: samples.iter().map(|&(t, m)| (t, m, 0.0)).collect(),
            spread: Spread::Band,
        }],
        markers: Vec::new(),
    };
    std::fs::write(args.out.join("soak_rss.svg"), chart.to_svg())?;
    println!("{report}");
    if !total.clean() {
        bail!("requests got the wrong answer");
    }
    Ok(())
}
