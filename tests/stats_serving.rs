//! Statistic features served from the feature store: a server fed the
//! ratings as events (`POST /events`), in time order, scores each test row
//! exactly as offline scoring of the same rows does (`ember predict`,
//! which recomputes every row's statistics from the whole log, as training
//! did). On ml100k with the ml100k-ctr DeepFM trained with statistics.

mod common;

use ember_datasets::registry::{DataConfig, shared_data_dir};
use ember_datasets::sources::Ml100kCtr;
use ember_datasets::stats::StatsConfig;
use ember_infer::Predictor;
use ember_infer::server::BackgroundServer;
use ember_infer::server::client::HttpClient;
use ember_models::ModelKind;
use ember_models::device::DeviceChoice;

/// A u.data line: (user, item, rating, time).
type Rating = (u32, u32, u32, u64);

fn post(client: &mut HttpClient, path: &str, body: serde_json::Value) -> serde_json::Value {
    let (status, answer) = client
        .request("POST", path, &serde_json::to_vec(&body).unwrap())
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

fn events(ratings: &[Rating]) -> serde_json::Value {
    let events: Vec<serde_json::Value> = ratings
        .iter()
        .map(|&(u, i, r, t)| {
            serde_json::json!({"user": u, "item": i, "time": t, "label": if r >= 4 { 1.0 } else { 0.0 }})
        })
        .collect();
    serde_json::json!({ "events": events })
}

#[test]
fn the_server_counting_events_scores_as_training_computed() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::run_config(
        "ctr-stats",
        ModelKind::DeepFm,
        DataConfig::Ml100kCtr(Ml100kCtr {
            root: root.clone(),
            stats: Some(StatsConfig::default()),
            ..Default::default()
        }),
        1,
        dir.path(),
    );
    config.model.embedding_dim = 4;
    config.model.hidden = vec![16];
    let (_, summary) = {
        let _lock = common::serial();
        common::train(&config)
    };
    let store = dir.path().join("store");
    let pipeline = dir.path().join("stats.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"stats\"\nk = 10\n[catalog]\ndata = {{ source = \"ml100k-retrieval\", root = {root:?} }}\n\
             [[recall]]\nkind = \"most_popular\"\nquota = 100\n\
             [fine]\nartifact = {:?}\nquota = 50\n\
             [features]\nstore = {store:?}\n",
            summary.artifact
        ),
    )
    .unwrap();

    // The ratings in time order (ties by user, item), as the protocol splits them.
    let text = std::fs::read_to_string(root.join("ml-100k/u.data")).unwrap();
    let mut ratings: Vec<Rating> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<u64> = l.split('\t').map(|x| x.trim().parse().unwrap()).collect();
            (v[0] as u32, v[1] as u32, v[2] as u32, v[3])
        })
        .collect();
    ratings.sort_by_key(|r| (r.3, r.0, r.1));
    let test_start = ratings.len() * 9 / 10;
    let scored = &ratings[test_start..test_start + 300];
    let first_time = scored[0].3;

    let server = BackgroundServer::load_and_start(common::serve_options(pipeline)).unwrap();
    let mut client = HttpClient::new(server.addr);
    let score = |client: &mut HttpClient, r: &Rating| -> f32 {
        let answer = post(
            client,
            "/score",
            serde_json::json!({"user": r.0, "items": [r.1], "time": r.3}),
        );
        answer["scores"][0].as_f64().unwrap() as f32
    };
    let before_any_event = score(&mut client, &scored[0]);
    // Every event before the first scored row, in chunks.
    let earlier = ratings.iter().take_while(|r| r.3 < first_time).count();
    for chunk in ratings[..earlier].chunks(20_000) {
        let answer = post(&mut client, "/events", events(chunk));
        assert_eq!(answer["observed"], chunk.len());
    }
    // Then, per timestamp: score its rows, then count its events.
    let mut served = Vec::new();
    let mut at = earlier;
    for group in scored.chunk_by(|a, b| a.3 == b.3) {
        for r in group {
            served.push(score(&mut client, r));
        }
        let t = group[0].3;
        let end = at + ratings[at..].iter().take_while(|r| r.3 == t).count();
        post(&mut client, "/events", events(&ratings[at..end]));
        at = end;
    }
    assert_ne!(
        served[0], before_any_event,
        "the counters changed the score"
    );
    // Bad events are refused, and serving goes on.
    let (status, body) = client
        .request(
            "POST",
            "/events",
            br#"{"events": [{"user": 1, "item": 2, "time": 3, "label": 7}]}"#,
        )
        .unwrap();
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    server.stop().unwrap();

    // Offline: the same rows as a file, statistics recomputed from u.data.
    let file = dir.path().join("rows.data");
    let lines: String = scored
        .iter()
        .map(|r| format!("{}\t{}\t{}\t{}\n", r.0, r.1, r.2, r.3))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let offline = Predictor::load(&summary.artifact, DeviceChoice::Flex)
        .unwrap()
        .score_file(&file, false)
        .unwrap();
    assert_eq!(offline.len(), served.len());
    for (i, (s, o)) in served.iter().zip(&offline).enumerate() {
        assert!(
            (s - o).abs() < 1e-5,
            "row {i} {:?}: served {s}, offline {o}",
            scored[i]
        );
    }
}
