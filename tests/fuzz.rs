//! Fuzzing every input border: the readers, the schema and config loaders,
//! the `--set` overrides, the artifact loader and the server's request
//! bodies. Each target feeds its parser inputs made by mutating valid seeds
//! (inserted tokens that parsers trip on: quotes, separators, CRLF, `nan`,
//! huge numbers, a BOM, invalid UTF-8; deleted and duplicated spans;
//! truncation) and sometimes plain random bytes, and requires an `Ok` or an
//! `Err`: a panic is a crash, and proptest shrinks it to a small input.
//!
//! Stable Rust, so no coverage guidance (cargo-fuzz and `cargo bolero`
//! with libFuzzer need nightly): proptest's generators drive the
//! mutations, seeded, so a failure repeats. Each target runs for
//! `EMBER_FUZZ_SECONDS` (default 1, the CI budget);
//! `scripts/fuzz.sh` runs the long budget and writes the report
//! (`reports/reliability/fuzz.md`) from the table this prints.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ember_datasets::readers::{
    CsvSpec, RatingLabel, ReadOptions, read_criteo, read_csv, read_libfm, read_movielens,
    read_parquet,
};
use ember_datasets::registry::{DataConfig, shared_data_dir};
use ember_datasets::sources::Ml100kImplicit;
use ember_infer::server::BackgroundServer;
use ember_infer::server::client::HttpClient;
use ember_models::ModelKind;
use proptest::prelude::*;

#[path = "../datasets/tests/support/mod.rs"]
mod corpus_support;
use corpus_support::{SCHEMA, parquet_bytes};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// What parsers trip on, inserted at random places.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b",",
    b"\t",
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"|",
    b":",
    b"=",
    b"#",
    b"[",
    b"]",
    b"{",
    b"}",
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e40",
    b"-1e400",
    b"-1",
    b"0",
    b"2",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3",
    b"\0",
    b"null",
    b"true",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"99999999999999999999999999",
    b"0.0000000000000000000000000000000000000000000000001",
    b"1970-01-01T00:00:00Z",
    b"9999-99-99T99:99:99Z",
];

/// One edit of a seed: an operator, a position and a token (both taken
/// modulo what they index).
type Edit = (u8, u16, u16, u8);

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(op, pos, len, token) in edits {
        let at = if out.is_empty() {
            0
        } else {
            usize::from(pos) % (out.len() + 1)
        };
        let token = TOKENS[usize::from(token) % TOKENS.len()];
        match op % 6 {
            0 => {
                out.splice(at..at, token.iter().copied());
            }
            1 => {
                if at < out.len() {
                    out[at] = token[0];
                }
            }
            2 => {
                let end = (at + usize::from(len) % 16).min(out.len());
                out.drain(at..end);
            }
            3 => {
                // Duplicate the line around `at`.
                let start = out[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = out[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.len(), |i| at + i + 1);
                let line = out[start..end].to_vec();
                out.splice(end..end, line);
            }
            4 => out.truncate(at),
            _ => {
                // A long run of one byte: huge lines and fields.
                let run = vec![token[0]; 1 + usize::from(len) % 5000];
                out.splice(at..at, run);
            }
        }
    }
    out
}

/// Mutated seeds, or (one time in eight) random bytes.
fn inputs(seeds: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let n = seeds.len();
    let mutated = (0..n, prop::collection::vec(any::<Edit>(), 0..8))
        .prop_map(move |(s, edits)| apply(&seeds[s], &edits));
    prop_oneof![
        7 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
    .boxed()
}

/// One target's run: executions, slowest execution, and the crash (the
/// shrunk input and the panic) if there was one.
struct Outcome {
    name: &'static str,
    executions: u64,
    slowest: Duration,
    crash: Option<String>,
}

fn budget() -> Duration {
    let seconds = std::env::var("EMBER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(seconds)
}

/// Runs `target` on inputs from `strategy` until the budget is spent, in
/// rounds of 64 cases, each round from its own seed.
fn fuzz(
    name: &'static str,
    strategy: BoxedStrategy<Vec<u8>>,
    target: impl Fn(&[u8]) + std::panic::RefUnwindSafe,
) -> Outcome {
    let executions = AtomicU64::new(0);
    let slowest = std::sync::Mutex::new(Duration::ZERO);
    let start = Instant::now();
    let mut round = 0u64;
    let mut crash = None;
    while start.elapsed() < budget() {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        seed[8..16].copy_from_slice(&(name.len() as u64).to_le_bytes());
        let config = Config {
            cases: 64,
            failure_persistence: None,
            max_shrink_iters: 2000,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let result = runner.run(&strategy, |input| {
            executions.fetch_add(1, Ordering::Relaxed);
            let t = Instant::now();
            target(&input);
            let took = t.elapsed();
            let mut s = slowest.lock().unwrap();
            *s = (*s).max(took);
            Ok(())
        });
        if let Err(e) = result {
            crash = Some(e.to_string());
            break;
        }
        round += 1;
    }
    Outcome {
        name,
        executions: executions.into_inner(),
        slowest: slowest.into_inner().unwrap(),
        crash,
    }
}

/// A scratch file the targets rewrite for every input.
fn scratch(name: &str) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .join(name)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap();
}

fn text_seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

fn csv_target() -> Outcome {
    let spec: CsvSpec = toml::from_str(SCHEMA).unwrap();
    let path = scratch("data.csv");
    fuzz(
        "CSV + schema",
        inputs(text_seeds(&[
            "y,x,c,s\n1,0.5,a,p|q\n0,-2,b,\n1,3e2,\"c,d\",r|s|t|u\n",
            "y,x,c,s\r\n1,0.5,a,p\r\n0,1,b,q\r\n",
        ])),
        move |bytes| {
            write(&path, bytes);
            for options in [ReadOptions::default(), ReadOptions::skipping()] {
                if let Ok(table) = read_csv(&path, &spec, options) {
                    assert!(table.num_rows() > 0, "an Ok table without rows");
                }
            }
        },
    )
}

fn libfm_target() -> Outcome {
    let path = scratch("data.libfm");
    fuzz(
        "libFM",
        inputs(text_seeds(&[
            "1 0:3:1 1:7:1\n-1 0:2:1 1:9:1\n0 0:1:1 1:1:0.5\n",
        ])),
        move |bytes| {
            write(&path, bytes);
            for options in [ReadOptions::default(), ReadOptions::skipping()] {
                let _ = read_libfm(&path, 2, options);
            }
        },
    )
}

fn criteo_line(label: &str) -> String {
    let ints = (0..13).map(|i| i.to_string());
    let cats = (0..26).map(|i| format!("{:08x}", 0x68fd_1e64u32.wrapping_add(i)));
    std::iter::once(label.to_owned())
        .chain(ints)
        .chain(cats)
        .collect::<Vec<_>>()
        .join("\t")
}

fn criteo_target() -> Outcome {
    let path = scratch("data.tsv");
    let seed = format!("{}\n{}\n", criteo_line("1"), criteo_line("0"));
    fuzz("Criteo TSV", inputs(text_seeds(&[&seed])), move |bytes| {
        write(&path, bytes);
        for options in [ReadOptions::default(), ReadOptions::skipping()] {
            let _ = read_criteo(&path, 1, options);
        }
    })
}

fn parquet_target() -> Outcome {
    let spec: CsvSpec = toml::from_str(SCHEMA).unwrap();
    let path = scratch("data.parquet");
    fuzz("Parquet", inputs(vec![parquet_bytes()]), move |bytes| {
        write(&path, bytes);
        for options in [ReadOptions::default(), ReadOptions::skipping()] {
            let _ = read_parquet(&path, &spec.schema, options);
        }
    })
}

fn movielens_target() -> Option<Outcome> {
    let root = shared_data_dir()?.join("ml-100k");
    let path = scratch("u.data");
    Some(fuzz(
        "MovieLens ratings",
        inputs(text_seeds(&[
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n",
        ])),
        move |bytes| {
            write(&path, bytes);
            for options in [ReadOptions::default(), ReadOptions::skipping()] {
                let _ = read_movielens(&root, &path, &[RatingLabel::AtLeast4], options);
            }
        },
    ))
}

fn interaction_log_target() -> Outcome {
    let path = scratch("events.csv");
    let config: DataConfig = toml::from_str(&format!(
        "source = \"interaction-log\"\npositives = [\"click\"]\nhistory_len = 2\n\
         [events]\npath = {:?}\nuser = \"user\"\nitem = \"item\"\ntime = \"time\"\nevent = \"event\"\n",
        path.display().to_string()
    ))
    .unwrap();
    let mut seed = String::from("user,item,time,event\n");
    for i in 0..12 {
        seed.push_str(&format!(
            "u{},i{},2024-03-0{}T10:00:00Z,{}\n",
            i % 3,
            i % 5,
            1 + i % 9,
            if i % 4 == 0 { "view" } else { "click" }
        ));
    }
    let epoch = "user,item,time,event\nu1,i1,1709287200,click\nu2,i1,1709287300,click\nu1,i2,1709287400,click\n";
    fuzz(
        "interaction log",
        inputs(text_seeds(&[&seed, epoch])),
        move |bytes| {
            write(&path, bytes);
            let _ = config.log_dataset().expect("an interaction log");
        },
    )
}

fn schema_file_target() -> Outcome {
    let path = scratch("schema.toml");
    let mut seeds = text_seeds(&[SCHEMA]);
    for entry in std::fs::read_dir("configs/schemas").unwrap() {
        seeds.push(std::fs::read(entry.unwrap().path()).unwrap());
    }
    fuzz("schema files", inputs(seeds), move |bytes| {
        write(&path, bytes);
        let _ = CsvSpec::from_file(&path);
    })
}

/// Every preset TOML under `configs/` (search spaces included), with the
/// loader its directory needs.
fn config_seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from("configs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Loads `path` as the kind of config the preset at `preset` is.
fn load_config(preset: &Path, path: &Path, overrides: &[String]) {
    let dir = preset
        .parent()
        .and_then(Path::file_name)
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = preset.file_stem().unwrap().to_string_lossy();
    match dir.as_str() {
        "serving" => {
            let _ = ember_infer::PipelineConfig::load(path, overrides);
        }
        "online" => {
            let _ = ember_train::online::config::OnlineRunConfig::load(path, overrides);
        }
        "schemas" => {
            let _ = CsvSpec::from_file(path);
        }
        "tune" => {
            let _ = ember_train::tune::SearchSpace::load(path);
        }
        "data" => {
            if let Ok(value) = ember_datasets::toml_config::load_toml(path, overrides) {
                let _ = value.try_into::<DataConfig>();
            }
        }
        "mixer" if name == "simulator" => {
            let _ = ember_datasets::simulator::SimConfig::load(path);
        }
        "mixer" => {
            let _ = ember_train::rl::config::MixerRunConfig::load(path, overrides);
        }
        _ => {
            let _ = ember_train::AnyRunConfig::load(path, overrides);
        }
    }
}

fn config_target() -> Outcome {
    let presets = config_seeds();
    let path = scratch("config.toml");
    let seeds: Vec<Vec<u8>> = presets
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| {
            // The preset's index rides in the first line, so the target
            // knows which loader a mutated copy goes to.
            let mut seed = format!("#{i}\n").into_bytes();
            seed.extend_from_slice(bytes);
            seed
        })
        .collect();
    fuzz(
        "run, pipeline, online, mixer, data configs, search spaces",
        inputs(seeds),
        move |bytes| {
            let index = bytes
                .strip_prefix(b"#")
                .and_then(|b| b.split(|&c| c == b'\n').next())
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok())
                .unwrap_or(0)
                % presets.len();
            write(&path, bytes);
            load_config(&presets[index].0, &path, &[]);
        },
    )
}

fn overrides_target() -> Outcome {
    let presets = config_seeds();
    let seeds = text_seeds(&[
        "train.lr=0.01",
        "model.hidden=[64, 32]",
        "data.root=\"x\"",
        "rerank.theta=0.5",
        "model.kind=\"fm\"",
        "fine.artifact=\"runs/x\"",
        "online.lr_scale.user=0.1",
    ]);
    fuzz("--set overrides", inputs(seeds), move |bytes| {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let n = text.len() % presets.len();
        load_config(&presets[n].0, &presets[n].0, &[text]);
    })
}

fn numbers_and_times_target() -> Outcome {
    use ember_datasets::interactions::timestamps::{TimeFormat, parse_time};
    use ember_datasets::readers::columns::parse_number;
    fuzz(
        "numbers and times",
        inputs(text_seeds(&[
            "0.5",
            "-3e2",
            "1709287200",
            "2024-03-01T10:00:00Z",
            "2024-03-01 10:00:00",
            "2024-03-01T10:00:00.123+02:00",
        ])),
        |bytes| {
            // A blank cell is NaN by design (missing); nothing else may be
            // non-finite.
            if let Ok(x) = parse_number(bytes) {
                assert!(
                    x.is_finite() || bytes.trim_ascii().is_empty(),
                    "parse_number accepted {x}"
                );
            }
            let text = String::from_utf8_lossy(bytes);
            for format in [
                TimeFormat::Auto,
                TimeFormat::Seconds,
                TimeFormat::Milliseconds,
                TimeFormat::Iso8601,
            ] {
                let _ = parse_time(&text, format);
            }
        },
    )
}

/// A tiny DeepFM trained once (ml100k-implicit, one epoch) and a pipeline
/// over it, for the artifact and server targets; `None` without the data.
struct Served {
    _dir: tempfile::TempDir,
    artifact: PathBuf,
    pipeline: PathBuf,
}

fn served() -> Option<&'static Served> {
    static SERVED: OnceLock<Option<Served>> = OnceLock::new();
    SERVED
        .get_or_init(|| {
            let root = shared_data_dir()?;
            let dir = tempfile::tempdir().unwrap();
            let mut config = common::run_config(
                "fuzz-deepfm",
                ModelKind::DeepFm,
                DataConfig::Ml100kImplicit(Ml100kImplicit {
                    root: root.clone(),
                    negatives: 1,
                    eval_negatives: 9,
                    history_len: 10,
                    ..Default::default()
                }),
                1,
                dir.path(),
            );
            config.model.embedding_dim = 4;
            config.model.hidden = vec![8];
            config.train.batch_size = 4096;
            let (_, summary) = common::train(&config);
            let pipeline = dir.path().join("fuzz.toml");
            std::fs::write(
                &pipeline,
                format!(
                    "name = \"fuzz\"\nk = 10\n[catalog]\ndata = {{ source = \"ml100k-retrieval\", root = {root:?} }}\n\
                     [[recall]]\nkind = \"most_popular\"\nquota = 50\n\
                     [fine]\nartifact = {:?}\nquota = 20\n[rerank]\nkind = \"dpp\"\ntheta = 0.7\n",
                    summary.artifact
                ),
            )
            .unwrap();
            Some(Served {
                _dir: dir,
                artifact: summary.artifact,
                pipeline,
            })
        })
        .as_ref()
}

fn artifact_target() -> Option<Outcome> {
    let served = served()?;
    let files = ["manifest.json", "preprocessor.json", "model.bpk"];
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(served.artifact.join(f)).unwrap())
        .collect();
    let copy = scratch("artifact");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&served.artifact).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    // Seed k is file k % 3 (the first byte says which).
    let seeds: Vec<Vec<u8>> = originals
        .iter()
        .enumerate()
        .map(|(k, bytes)| {
            let mut seed = vec![k as u8];
            seed.extend_from_slice(bytes);
            seed
        })
        .collect();
    Some(fuzz(
        "artifacts (manifest, preprocessor, weights)",
        inputs(seeds),
        move |bytes| {
            let k = usize::from(bytes.first().copied().unwrap_or(0)) % files.len();
            let body = bytes.get(1..).unwrap_or(&[]);
            for (f, original) in files.iter().zip(&originals) {
                write(&copy.join(f), original);
            }
            write(&copy.join(files[k]), body);
            if files[k] == "preprocessor.json" {
                // Past the schema-hash check, so the parse itself is fuzzed.
                let text = String::from_utf8_lossy(body);
                let mut manifest: serde_json::Value =
                    serde_json::from_slice(&originals[0]).unwrap();
                manifest["schema_hash"] = ember_models::artifact::schema_hash(&text).into();
                write(&copy.join(files[0]), manifest.to_string().as_bytes());
            }
            let _ = ember_infer::Predictor::load(&copy, ember_models::device::DeviceChoice::Flex);
        },
    ))
}

fn server_target() -> Option<Outcome> {
    let served = served()?;
    let server =
        BackgroundServer::load_and_start(common::serve_options(served.pipeline.clone())).unwrap();
    let addr = server.addr;
    let client = std::sync::Mutex::new(HttpClient::new(addr));
    let paths = ["/score", "/recommend", "/events", "/admin/load"];
    let seeds: Vec<Vec<u8>> = [
        r#"{"user": "7", "items": ["1", "50", "181"]}"#,
        r#"{"user": "7", "k": 10}"#,
        r#"{"user": 7, "k": 5, "time": 881250949}"#,
        r#"{"events": [{"user": "7", "item": "1", "time": 881250949, "label": 1}]}"#,
        r#"{"version": "fuzz"}"#,
    ]
    .iter()
    .enumerate()
    .map(|(k, body)| {
        let mut seed = vec![k as u8];
        seed.extend_from_slice(body.as_bytes());
        seed
    })
    .collect();
    let outcome = fuzz("server request bodies", inputs(seeds), move |bytes| {
        let path = paths[usize::from(bytes.first().copied().unwrap_or(0)) % paths.len()];
        let body = bytes.get(1..).unwrap_or(&[]);
        let mut client = client.lock().unwrap_or_else(|p| p.into_inner());
        let (status, answer) = client
            .request("POST", path, body)
            .unwrap_or_else(|e| panic!("{path}: transport error {e:#}"));
        assert!(
            status < 500,
            "{path}: {status} {}",
            String::from_utf8_lossy(&answer)
        );
        if status == 200 && path == "/score" {
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            let scores: Vec<f32> = serde_json::from_value(answer["scores"].clone()).unwrap();
            assert!(scores.iter().all(|s| s.is_finite()), "{scores:?}");
        }
        let (status, _) = client.request("GET", "/health", b"").unwrap();
        assert_eq!(status, 200, "the server stopped answering");
    });
    server.stop().unwrap();
    Some(outcome)
}

#[test]
fn every_input_border_survives_fuzzing() {
    let _lock = common::serial();
    let mut outcomes = vec![
        csv_target(),
        libfm_target(),
        criteo_target(),
        parquet_target(),
        interaction_log_target(),
        schema_file_target(),
        config_target(),
        overrides_target(),
        numbers_and_times_target(),
    ];
    outcomes.extend(movielens_target());
    outcomes.extend(artifact_target());
    outcomes.extend(server_target());
    let mut table =
        String::from("| target | executions | slowest execution | crash |\n|---|---|---|---|\n");
    for o in &outcomes {
        table.push_str(&format!(
            "| {} | {} | {:.1} ms | {} |\n",
            o.name,
            o.executions,
            o.slowest.as_secs_f64() * 1e3,
            o.crash.as_deref().map_or("none".to_owned(), |c| c
                .lines()
                .next()
                .unwrap_or("")
                .replace('|', "\\|"))
        ));
    }
    println!(
        "fuzz budget {:.0} s per target\n{table}",
        budget().as_secs_f64()
    );
    if let Ok(path) = std::env::var("EMBER_FUZZ_TABLE") {
        std::fs::write(path, &table).unwrap();
    }
    let crashes: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.crash.as_ref().map(|c| format!("{}: {c}", o.name)))
        .collect();
    assert!(crashes.is_empty(), "{}", crashes.join("\n\n"));
    assert!(outcomes.iter().all(|o| o.executions > 0));
}
