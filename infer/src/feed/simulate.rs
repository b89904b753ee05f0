//! Simulated users (the feed simulator, `ember_datasets::simulator`)
//! talking to a running server through `/recommend` and `/feedback`, and
//! the feed catalog they browse.
//!
//! Each simulated session is one new user. For every slot the simulator
//! draws one candidate per content type (its quality, and the pCTR an
//! upstream ranker would give it); the client sends them as the request's
//! `candidates`, as per-type rankers hand their best items to a mixing
//! service, and the server's `[mixer]` stage picks the type from the
//! session state it keeps. The user reacts to the item shown by the
//! simulator's dynamics (taste, fatigue, "not interested", leaving) and
//! the client posts that reaction as feedback. Because every slot draws
//! the same random numbers whatever was shown, a served policy meets
//! exactly the sessions the offline evaluator (`ember mixer eval`) runs on
//! the same seeds: online and offline results are comparable session for
//! session.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_datasets::simulator::{Session, SessionResult, SimConfig, session_seed};
use serde::Deserialize;
use serde_json::json;

use crate::server::client::HttpClient;

/// The item id of candidate `j` of type `name` in the feed catalog.
pub fn item_id(name: &str, j: usize) -> String {
    format!("{name}-{j}")
}

/// Writes a feed catalog for the simulator's content types into `dir`:
/// `items.csv` (`item`, `type`, `topic`: `items_per_type` items per type,
/// each on one of `topics` topics) and a seed `events.csv` of random
/// clicks, so the catalog has popularity counts and a train split.
pub fn write_feed_catalog(
    dir: &Path,
    sim: &SimConfig,
    items_per_type: usize,
    topics: usize,
) -> Result<()> {
    use rand::{Rng, SeedableRng, rngs::SmallRng};
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = SmallRng::seed_from_u64(7);
    let mut items = String::from("item,type,topic\n");
    for t in &sim.types {
        for j in 0..items_per_type {
            writeln!(
                items,
                "{},{},topic-{}",
                item_id(&t.name, j),
                t.name,
                rng.random_range(0..topics.max(1))
            )?;
        }
    }
    std::fs::write(dir.join("items.csv"), items)?;
    let mut events = String::from("time,user,item,event\n");
    let start = 1_700_000_000u64;
    for u in 0..200 {
        for e in 0..10 {
            let t = &sim.types[rng.random_range(0..sim.types.len())];
            let j = rng.random_range(0..items_per_type);
            writeln!(
                events,
                "{},seed-{u},{},click",
                start + 3600 * e + u,
                item_id(&t.name, j)
            )?;
        }
    }
    std::fs::write(dir.join("events.csv"), events)?;
    Ok(())
}

/// The `[catalog]` data table of a feed catalog written in `dir`.
pub fn feed_catalog_toml(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "[catalog.data]\nsource = \"interaction-log\"\npositives = [\"click\"]\n\n\
         [catalog.data.events]\npath = \"{d}/events.csv\"\nuser = \"user\"\nitem = \"item\"\ntime = \"time\"\nevent = \"event\"\n\n\
         [catalog.data.items]\npath = \"{d}/items.csv\"\nid = \"item\"\ncategories = \"topic\"\n\
         fields = [{{ name = \"type\", kind = \"categorical\" }}, {{ name = \"topic\", kind = \"categorical\" }}]\n"
    )
}

/// The pipeline `ember feed catalog` writes for a catalog in `dir`:
/// requests bring one candidate per type, the `[mixer]` stage picks the
/// slot's type; with `mixer` (an exported mixer) two experiment arms, the
/// learned mixer and the fixed mix.
pub fn feed_pipeline_toml(
    dir: &Path,
    sim: &SimConfig,
    mixer: Option<&Path>,
    fixed_mix: &[f64],
) -> String {
    let types: Vec<String> = sim
        .types
        .iter()
        .map(|t| format!("\"{}\"", t.name))
        .collect();
    let shares: Vec<String> = fixed_mix.iter().map(f64::to_string).collect();
    let mut text = format!(
        "# The simulated feed (`ember feed catalog`): requests bring one candidate per\n\
         # content type; the [mixer] stage picks the slot's type.\n\
         name = \"feed-experiment\"\nk = 1\n\n{}\n\
         # Unused when requests bring candidates; a pipeline needs a source.\n\
         [[recall]]\nkind = \"most_popular\"\nquota = 100\n\n\
         [mixer]\ntype_field = \"type\"\ntypes = [{}]\nfixed_mix = [{}]\n",
        feed_catalog_toml(dir),
        types.join(", "),
        shares.join(", ")
    );
    if let Some(mixer) = mixer {
        text.push_str(&format!(
            "artifact = \"{}\"\n\n\
             [[experiment]]\nname = \"mixer\"\nshare = 0.5\n\n\
             [[experiment]]\nname = \"fixed-mix\"\nshare = 0.5\nset = ['mixer.policy = \"fixed\"']\n",
            mixer.display()
        ));
    }
    text
}

#[derive(Deserialize)]
struct Answer {
    items: Vec<AnswerItem>,
    request_id: String,
    #[serde(default)]
    arm: Option<String>,
}

#[derive(Deserialize)]
struct AnswerItem {
    item: String,
    #[serde(default)]
    content_type: Option<String>,
}

/// One simulated session's outcome, and the arm that served it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedSession {
    pub index: u64,
    pub arm: String,
    pub result: SessionResult,
}

/// The user id of simulated session `index` of `stream`.
pub fn sim_user(stream: u64, index: u64) -> String {
    format!("sim-{stream}-{index}")
}

fn post(client: &mut HttpClient, path: &str, body: &serde_json::Value) -> Result<Vec<u8>> {
    let (status, answer) = client.request("POST", path, body.to_string().as_bytes())?;
    if status != 200 {
        bail!("POST {path}: {status} {}", String::from_utf8_lossy(&answer));
    }
    Ok(answer)
}

/// Runs one session against the server.
fn run_session(
    client: &mut HttpClient,
    sim: &SimConfig,
    stream: u64,
    index: u64,
    items_per_type: usize,
) -> Result<SimulatedSession> {
    let user = sim_user(stream, index);
    let mut session = Session::new(sim, session_seed(stream, index));
    let mut arm: Option<String>;
    // The candidate of each type at slot `t`: a catalog item chosen by the
    // session seed (the simulator draws its quality; which item carries it
    // only matters to the diversity metrics).
    let seed = session_seed(stream ^ 0x5EED, index);
    loop {
        let view = session.view();
        let slot = session.len() as u64;
        let candidates: Vec<_> = sim
            .types
            .iter()
            .zip(&view.pctr)
            .enumerate()
            .map(|(k, (t, &p))| {
                let j = session_seed(seed, slot * 64 + k as u64) as usize % items_per_type;
                json!({ "item": item_id(&t.name, j), "score": p })
            })
            .collect();
        let body = json!({ "user": user, "k": 1, "candidates": candidates });
        let answer: Answer = serde_json::from_slice(&post(client, "/recommend", &body)?)
            .context("/recommend answer")?;
        arm = answer.arm;
        let shown = answer.items.first().context("an empty /recommend answer")?;
        let type_name = shown
            .content_type
            .as_deref()
            .context("the answer names no content_type: is the pipeline's last stage [mixer]?")?;
        let action = sim
            .types
            .iter()
            .position(|t| t.name == type_name)
            .with_context(|| format!("content type '{type_name}' is not the simulator's"))?;
        let outcome = session.step(action);
        let fb = outcome.feedback;
        let mut events = vec![json!({ "item": shown.item, "event": "impression" })];
        if fb.click {
            events.push(json!({ "item": shown.item, "event": "click", "dwell": f64::from(fb.dwell) * 60.0 }));
        }
        if fb.negative {
            events.push(json!({ "item": shown.item, "event": "not_interested" }));
        }
        post(
            client,
            "/feedback",
            &json!({ "request_id": answer.request_id, "events": events }),
        )?;
        if outcome.done {
            break;
        }
    }
    Ok(SimulatedSession {
        index,
        arm: arm.unwrap_or_default(),
        result: SessionResult {
            clicks: session.clicks(),
            slots: session.len(),
            shown: session.shown().to_vec(),
        },
    })
}

/// Runs sessions `start..start + count` of `stream` against the server at
/// `addr` over `connections` parallel connections; outcomes in index order.
pub fn simulate_users(
    addr: SocketAddr,
    sim: &SimConfig,
    stream: u64,
    start: u64,
    count: usize,
    connections: usize,
    items_per_type: usize,
) -> Result<Vec<SimulatedSession>> {
    sim.validate()?;
    let connections = connections.clamp(1, count.max(1));
    let progress = indicatif::ProgressBar::new(count as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "simulated sessions {bar:30} {pos}/{len} ({per_sec}, eta {eta})",
        )
        .expect("a valid template"),
    );
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                let progress = progress.clone();
                scope.spawn(move || -> Result<Vec<SimulatedSession>> {
                    let mut client = HttpClient::new(addr);
                    let mut out = Vec::new();
                    for i in (c..count).step_by(connections) {
                        out.push(run_session(
                            &mut client,
                            sim,
                            stream,
                            start + i as u64,
                            items_per_type,
                        )?);
                        progress.inc(1);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulated user thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    progress.finish_and_clear();
    let mut all: Vec<SimulatedSession> = results.into_iter().flatten().collect();
    all.sort_by_key(|s| s.index);
    Ok(all)
}
