//! The interaction-log source on files in a layout of their own: columns
//! found by name in any order, string ids, ISO times, a Parquet item table
//! with a vector column or a safetensors vector file; and every kind of bad
//! input named by file, line and column.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Builder, ListBuilder, RecordBatch, StringArray};
use ember_datasets::interactions::{LogDataset, VECTOR};
use ember_datasets::{DataConfig, load_retrieval};

const EVENTS: &str = "\
when,kind,thing,who
2024-03-01T10:00:00Z,click,b,alice
2024-03-01T09:00:00Z,click,a,alice
2024-03-02T10:00:00Z,view,c,alice
2024-03-03T10:00:00Z,click,c,alice
2024-03-04T10:00:00Z,click,d,alice
2024-03-01T11:00:00Z,click,a,bob
2024-03-02T11:00:00Z,click,c,bob
2024-03-03T11:00:00Z,click,b,bob
2024-03-04T11:00:00Z,click,d,bob
";

const USERS: &str = "who,country\nalice,de\nbob,fr\n";

fn write_items(path: &Path, vectors: &[Option<Vec<f32>>]) {
    let ids = ["a", "b", "c", "d"];
    let mut list = ListBuilder::new(Float32Builder::new());
    for v in vectors {
        match v {
            Some(v) => {
                list.values().append_slice(v);
                list.append(true);
            }
            None => list.append(false),
        }
    }
    let batch = RecordBatch::try_from_iter([
        (
            "topic",
            Arc::new(StringArray::from(vec!["x", "x", "y", "y"])) as ArrayRef,
        ),
        ("id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
        ("emb", Arc::new(list.finish()) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn good_vectors() -> Vec<Option<Vec<f32>>> {
    (0..4).map(|i| Some(vec![i as f32, 1.0, -1.0])).collect()
}

/// A config for the files in `dir`, with `extra` TOML lines appended to
/// the top level.
fn config(dir: &Path, extra: &str) -> DataConfig {
    let d = dir.display();
    let text = format!(
        "source = \"interaction-log\"\npositives = [\"click\"]\nhistory_len = 3\n{extra}\n\
         [events]\npath = \"{d}/events.csv\"\nuser = \"who\"\nitem = \"thing\"\ntime = \"when\"\nevent = \"kind\"\n\
         [users]\npath = \"{d}/users.csv\"\nid = \"who\"\nfields = [{{ name = \"country\", kind = \"categorical\" }}]\n\
         [items]\npath = \"{d}/items.parquet\"\nid = \"id\"\nvector = \"emb\"\ncategories = \"topic\"\n\
         fields = [{{ name = \"topic\", kind = \"categorical\" }}]\n"
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn setup(events: &str, users: &str, vectors: &[Option<Vec<f32>>]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("events.csv"), events).unwrap();
    std::fs::write(dir.path().join("users.csv"), users).unwrap();
    write_items(&dir.path().join("items.parquet"), vectors);
    dir
}

fn dataset(config: &DataConfig) -> ember_datasets::Result<LogDataset> {
    config.log_dataset().expect("an interaction log")
}

fn error(config: &DataConfig) -> String {
    dataset(config).unwrap_err().to_string()
}

#[test]
fn a_log_in_its_own_layout_feeds_retrieval_and_rankers() {
    let dir = setup(EVENTS, USERS, &good_vectors());
    let c = config(dir.path(), "");
    let d = dataset(&c).unwrap();
    let log = &d.log;
    assert_eq!(
        (log.users.len(), log.items.len(), log.events.len()),
        (2, 4, 9)
    );
    assert_eq!(log.event_types, ["click", "view"]);
    // The view is no positive; alice's clicks in time order are a, b, c, d:
    // leave-last-out puts d in test, c in validation, a and b in train.
    let alice = log.users.ids.row("alice").unwrap();
    let ids = |rows: &[u32]| {
        rows.iter()
            .map(|&r| log.items.ids.id(r))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&d.split.histories[alice as usize]), ["a", "b"]);
    assert_eq!((d.split.valid.len(), d.split.test.len()), (2, 2));
    assert_eq!(log.item_vectors.as_ref().unwrap().dim, 3);
    assert_eq!(log.categories, Some(0));

    let r = load_retrieval(&c).unwrap();
    assert_eq!(r.item_ids, ["a", "b", "c", "d"]);
    assert_eq!(r.item_layout.dense, vec![(VECTOR.to_owned(), 3)]);
    assert_eq!(r.items.dense[0].values[3..6], [1.0, 1.0, -1.0]);
    assert_eq!((r.train.num_rows, r.test.len()), (4, 2));

    let prepared = ember_datasets::registry::load(&c).unwrap();
    assert_eq!(prepared.layout.tasks, ["positive"]);
    let names: Vec<&str> = prepared
        .layout
        .categorical
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["user_id", "item_id", "country", "topic"]);
}

#[test]
fn a_time_split_counts_the_events_of_users_without_training() {
    let events = format!("{EVENTS}2024-03-05T10:00:00Z,click,a,carol\n");
    let users = format!("{USERS}carol,it\n");
    let dir = setup(&events, &users, &good_vectors());
    let split = "split = { kind = \"time\", valid_from = \"2024-03-03\", test_from = \"2024-03-04T00:00:00Z\" }";
    let d = dataset(&config(dir.path(), split)).unwrap();
    assert_eq!(d.split.train.len(), 4);
    assert_eq!((d.split.valid.len(), d.split.test.len()), (2, 2));
    assert_eq!(d.split.cold_user_events, 1, "carol's test click");
}

#[test]
fn item_vectors_from_safetensors_with_string_ids() {
    let dir = setup(EVENTS, USERS, &good_vectors());
    let path = dir.path().join("vectors.safetensors");
    // The safetensors layout, written by hand as any framework writes it:
    // the header's length (u64 LE), the JSON header, the data.
    let values: Vec<u8> = [1f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let header = r#"{"__metadata__":{"ids":"[\"d\", \"a\"]"},"vectors":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&values);
    std::fs::write(&path, bytes).unwrap();
    let mut c = config(
        dir.path(),
        &format!("item_vectors = \"{}\"", path.display()),
    );
    if let DataConfig::InteractionLog(log) = &mut c {
        log.items.as_mut().unwrap().vector = None;
    }
    let d = dataset(&c).unwrap();
    let v = d.log.item_vectors.unwrap();
    assert_eq!((v.dim, v.missing), (2, 2));
    let row = |id| d.log.items.ids.row(id).unwrap();
    assert_eq!(
        (v.of(row("d")), v.of(row("a")), v.of(row("b"))),
        (&[1.0, 2.0][..], &[3.0, 4.0][..], &[0.0, 0.0][..])
    );
}

#[test]
fn bad_input_is_named_by_file_line_and_column() {
    // An event naming a user the user table lacks: an error, or a counted skip.
    let events = format!("{EVENTS}2024-03-05T10:00:00Z,click,a,zed\n");
    let dir = setup(&events, USERS, &good_vectors());
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("events.csv, line 11, field 'who'") && err.contains("'zed'"),
        "{err}"
    );
    let d = dataset(&config(dir.path(), "unknown_ids = \"skip\"")).unwrap();
    assert_eq!((d.log.skipped_events, d.log.events.len()), (1, 9));

    // A time that does not parse.
    let events = EVENTS.replace("2024-03-02T10:00:00Z", "yesterday");
    let dir = setup(&events, USERS, &good_vectors());
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("line 4, field 'when'") && err.contains("yesterday"),
        "{err}"
    );

    // A duplicate id in a side table.
    let dir = setup(EVENTS, &format!("{USERS}alice,it\n"), &good_vectors());
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("users.csv, line 4, field 'who'") && err.contains("duplicate id 'alice'"),
        "{err}"
    );

    // Vectors of the wrong length, non-finite, or null components.
    let mut vectors = good_vectors();
    vectors[2] = Some(vec![1.0, 2.0]);
    let dir = setup(EVENTS, USERS, &vectors);
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("items.parquet, line 3, field 'emb'") && err.contains("2 values"),
        "{err}"
    );
    vectors[2] = Some(vec![1.0, f32::NAN, 0.0]);
    let dir = setup(EVENTS, USERS, &vectors);
    let err = error(&config(dir.path(), ""));
    assert!(err.contains("line 3") && err.contains("NaN"), "{err}");

    // A missing vector is zeros, counted.
    vectors[2] = None;
    let dir = setup(EVENTS, USERS, &vectors);
    assert_eq!(
        dataset(&config(dir.path(), ""))
            .unwrap()
            .log
            .item_vectors
            .unwrap()
            .missing,
        1
    );

    // A misspelt positive, a missing column, a ragged row.
    let dir = setup(EVENTS, USERS, &good_vectors());
    let mut c = config(dir.path(), "");
    if let DataConfig::InteractionLog(log) = &mut c {
        log.positives = vec!["clik".into()];
    }
    let err = error(&c);
    assert!(
        err.contains("'clik'") && err.contains("click, view"),
        "{err}"
    );
    let dir = setup(&EVENTS.replace("who", "user"), USERS, &good_vectors());
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("field 'who'") && err.contains("no such column"),
        "{err}"
    );
    let dir = setup(
        &format!("{EVENTS}2024-03-05T10:00:00Z,click\n"),
        USERS,
        &good_vectors(),
    );
    let err = error(&config(dir.path(), ""));
    assert!(
        err.contains("events.csv") && err.contains("line 11"),
        "{err}"
    );
}

#[test]
fn hard_negatives_come_from_the_recall_candidates_at_their_share() {
    // One user clicks i0..i11 in time order; 20 items in all.
    let dir = tempfile::tempdir().unwrap();
    let mut events = String::from("ts,user,item\n");
    for i in 0..12 {
        events.push_str(&format!("{},u,i{i}\n", 1_700_000_000 + i * 60));
    }
    std::fs::write(dir.path().join("events.csv"), events).unwrap();
    let items: String = (0..20).map(|i| format!("i{i}\n")).collect();
    std::fs::write(dir.path().join("items.csv"), format!("item\n{items}")).unwrap();
    std::fs::write(
        dir.path().join("candidates.csv"),
        "user,item,rank\nu,i17,1\nu,i3,2\nu,nobody,3\n",
    )
    .unwrap();
    let d = dir.path().display();
    let source = |share: f64| -> DataConfig {
        toml::from_str(&format!(
            "source = \"interaction-log\"\nnegatives = 4\nhistory_len = 0\n\
             hard_negatives = \"{d}/candidates.csv\"\nhard_share = {share}\n\
             [events]\npath = \"{d}/events.csv\"\nuser = \"user\"\nitem = \"item\"\ntime = \"ts\"\n\
             [items]\npath = \"{d}/items.csv\"\nid = \"item\"\n"
        ))
        .unwrap()
    };
    // Item ids of each training positive's four negatives.
    let negatives = |share: f64| -> Vec<Vec<u32>> {
        let data = ember_datasets::registry::load(&source(share)).unwrap();
        let t = &data.train;
        let item = |r: usize| t.categorical[r * t.num_categorical + 1];
        (0..t.num_rows)
            .step_by(5)
            .map(|r| (1..5).map(|j| item(r + j)).collect())
            .collect()
    };
    let hard = negatives(0.25);
    assert_eq!(hard.len(), 10, "ten training positives");
    // i17 is the only candidate the user never clicked (i3 was clicked,
    // `nobody` is unknown): one of the four negatives (share 0.25) of every
    // positive. Its id is the one every group shares.
    let shared: Vec<u32> = hard[0]
        .iter()
        .copied()
        .filter(|id| hard.iter().all(|g| g.contains(id)))
        .collect();
    assert_eq!(shared.len(), 1, "{hard:?}");
    // Without hard negatives no item is in every group.
    let random = negatives(0.0);
    assert!(
        random[0]
            .iter()
            .all(|id| !random.iter().all(|g| g.contains(id))),
        "{random:?}"
    );
    assert!(ember_datasets::registry::load(&source(1.5)).is_err());
}

#[test]
fn event_types_become_the_tasks_of_a_multi_task_ranker() {
    // Impressions, clicks and likes: each shown pair a row, a label per type.
    let events = "\
when,kind,thing,who
2024-03-01T10:00:00Z,view,a,alice
2024-03-01T10:00:05Z,click,a,alice
2024-03-01T10:00:30Z,like,a,alice
2024-03-01T11:00:00Z,view,b,alice
2024-03-02T10:00:00Z,view,c,alice
2024-03-02T10:00:09Z,click,c,alice
2024-03-03T10:00:00Z,view,d,alice
2024-03-03T10:00:01Z,click,d,alice
2024-03-04T10:00:00Z,view,b,bob
2024-03-04T10:00:03Z,click,b,bob
2024-03-04T12:00:00Z,view,c,bob
";
    let dir = setup(events, USERS, &good_vectors());
    let split = "split = { kind = \"time\", valid_from = \"2024-03-02\", test_from = \"2024-03-03\" }\n\
                 tasks = [\"click\", \"like\"]";
    let data = ember_datasets::registry::load(&config(dir.path(), split)).unwrap();
    assert_eq!(data.layout.tasks, ["click", "like"]);
    // Train: alice's a (clicked, liked) and b (shown only), by first time.
    assert_eq!(data.train.num_rows, 2);
    assert_eq!(data.train.labels, [1.0, 1.0, 0.0, 0.0]);
    // Validation: alice's c, clicked. Test: alice's d, clicked; bob has no
    // train positive, so his pairs are left out.
    assert_eq!(data.valid.labels, [1.0, 0.0]);
    assert_eq!(data.test.labels, [1.0, 0.0]);
    // A task naming no event type is an error naming the types.
    let bad = "tasks = [\"share\"]";
    let err = ember_datasets::registry::load(&config(dir.path(), bad))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'share'") && err.contains("view, click, like"),
        "{err}"
    );
}
