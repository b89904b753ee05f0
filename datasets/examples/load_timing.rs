//! Load-time check: `cargo run --release -p ember-datasets --example load_timing`.
//! Prints how long each built-in source takes to read, split and encode.

use std::time::Instant;

use ember_datasets::registry::{DataConfig, load};
use ember_datasets::sources::{FrappeCtr, Ml100kCtr};
use ember_datasets::synthetic::criteo_synth;

fn main() {
    let Some(root) = ember_datasets::shared_data_dir() else {
        return;
    };
    for config in [
        DataConfig::FrappeCtr(FrappeCtr { root: root.clone() }),
        DataConfig::Ml100kCtr(Ml100kCtr {
            root: root.clone(),
            labels: vec![ember_datasets::readers::RatingLabel::AtLeast4],
            id_min_count: 1,
            ..Default::default()
        }),
    ] {
        let start = Instant::now();
        let data = load(&config).expect("load");
        println!("{:?}: {}", start.elapsed(), data.description);
    }
    let start = Instant::now();
    let synth = criteo_synth::generate(4 * criteo_synth::DEFAULT_ROWS, criteo_synth::DEFAULT_SEED);
    let rate = synth.data.labels.iter().sum::<f32>() / synth.data.num_rows as f32;
    println!(
        "{:?}: criteo-synth {} rows, positive rate {rate:.3}",
        start.elapsed(),
        synth.data.num_rows
    );
}
