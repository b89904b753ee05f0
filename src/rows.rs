//! `ember rows`: the encoded rows of a run config's three splits as CSV,
//! for fair-peer comparisons on exactly the rows ember trains on.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_datasets::encoded_csv::encoded_to_csv;
use ember_models::artifact::write_atomic;
use ember_train::AnyRunConfig;

use crate::config_args::ConfigArgs;

pub fn write(run: &ConfigArgs, out: &Path) -> Result<()> {
    let data_config = match AnyRunConfig::load(&run.config, &run.overrides)? {
        AnyRunConfig::Ranking(config) => config.data.clone(),
        AnyRunConfig::MultiTask(config) => config.data.clone(),
        AnyRunConfig::Retrieval(_) => {
            bail!(
                "ember rows writes ranking and multi-task rows; a retrieval config has no labelled rows"
            )
        }
    };
    let data = ember_datasets::registry::load(&data_config)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, split) in [
        ("train", &data.train),
        ("valid", &data.valid),
        ("test", &data.test),
    ] {
        let path = out.join(format!("{name}.csv"));
        write_atomic(&path, &encoded_to_csv(&data.layout, split)?)?;
        println!("{}: {} rows", path.display(), split.num_rows);
    }
    write_atomic(
        &out.join("layout.json"),
        serde_json::to_string_pretty(&data.layout)?.as_bytes(),
    )?;
    Ok(())
}
