//! Every `[data]` table under `configs/` parses as a [`DataConfig`] and
//! survives the TOML and JSON exports of run configs.

use std::path::{Path, PathBuf};

use ember_datasets::registry::DataConfig;

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Runs `f` in the repository root (this is the only test of its binary,
/// so changing the process's directory disturbs no other).
fn with_cwd_at_root<T>(f: impl FnOnce() -> T) -> T {
    std::env::set_current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    f()
}

#[test]
fn every_configs_data_table_parses_and_round_trips() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut files = Vec::new();
    toml_files(&configs, &mut files);
    let mut parsed = 0;
    for file in files {
        // Read as runs read them: `from` includes resolved (their paths are
        // relative to the repository root).
        let value = with_cwd_at_root(|| ember_datasets::toml_config::load_toml(&file, &[]))
            .unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
        // Schema files, serving and mixer configs have no `[data]`.
        let Some(data) = value.get("data") else {
            continue;
        };
        let config: DataConfig = data
            .clone()
            .try_into()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let back: DataConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config, "{}", file.display());
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(serde_json::from_value::<DataConfig>(json).unwrap(), config);
        parsed += 1;
    }
    assert!(parsed > 0, "no [data] tables under {}", configs.display());
}
