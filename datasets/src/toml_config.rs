//! Reading a TOML config file (a run, a pipeline, a mixer run) with
//! `key=value` overrides from the command line. Training and serving both
//! read configs, so this lives at the bottom of the crate graph.

use std::path::Path;

use anyhow::{Context, Result};

/// Reads a TOML file, resolves its `from` includes, and applies
/// `key=value` overrides to it.
pub fn load_toml(path: &Path, overrides: &[String]) -> Result<toml::Value> {
    let mut value = read_toml(path)?;
    resolve_includes(&mut value, path, 0)?;
    apply_overrides(&mut value, overrides)?;
    Ok(value)
}

fn read_toml(path: &Path) -> Result<toml::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read config", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))
}

/// How deep includes may nest (a cycle is an error, not a hang).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Replaces every table holding `from = "file.toml"` with that file's
/// table, the table's other keys overriding the file's. Several configs
/// then share one `[data]` table (a run's and a pipeline's catalog) instead
/// of copies of it: `[data]` / `from = "configs/data/example-log.toml"` /
/// `history_len = 20`. Like every path in a config, `from` is relative to
/// the working directory.
fn resolve_includes(value: &mut toml::Value, origin: &Path, depth: usize) -> Result<()> {
    let Some(table) = value.as_table_mut() else {
        return Ok(());
    };
    if let Some(from) = table.remove("from") {
        let file = from
            .as_str()
            .with_context(|| format!("{}: `from` must be a file path", origin.display()))?;
        if depth >= MAX_INCLUDE_DEPTH {
            anyhow::bail!(
                "{}: includes nest deeper than {MAX_INCLUDE_DEPTH} (a cycle?)",
                origin.display()
            );
        }
        let path = Path::new(file);
        let mut included =
            read_toml(path).with_context(|| format!("{}: included by `from`", origin.display()))?;
        resolve_includes(&mut included, path, depth + 1)?;
        let mut merged = included.as_table().cloned().unwrap_or_default();
        merged.extend(std::mem::take(table));
        *table = merged;
    }
    for (_, child) in table.iter_mut() {
        resolve_includes(child, origin, depth)?;
    }
    Ok(())
}

/// Sets `a.b.c = value` in a TOML tree for each `a.b.c=value` override.
pub fn apply_overrides(root: &mut toml::Value, overrides: &[String]) -> Result<()> {
    for item in overrides {
        let (key, raw) = item
            .split_once('=')
            .with_context(|| format!("override '{item}' is not key=value"))?;
        // Parse the value as TOML; fall back to a bare string (`data.source=frappe-ctr`).
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let mut node = &mut *root;
        let parts: Vec<&str> = key.trim().split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let table = node
                .as_table_mut()
                .with_context(|| format!("override '{key}': '{part}' is not a table"))?;
            node = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        }
        node.as_table_mut()
            .with_context(|| format!("override '{key}': parent is not a table"))?
            .insert(parts[parts.len() - 1].to_owned(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_share_a_table_and_local_keys_win() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("log.toml");
        std::fs::write(&shared, "source = \"csv\"\nhistory_len = 50\n").unwrap();
        let run = dir.path().join("run.toml");
        let from = shared.display();
        std::fs::write(
            &run,
            format!("[data]\nfrom = \"{from}\"\nhistory_len = 20\n"),
        )
        .unwrap();
        let v = load_toml(&run, &["data.seed=3".into()]).unwrap();
        assert_eq!(v["data"]["source"].as_str(), Some("csv"));
        assert_eq!(v["data"]["history_len"].as_integer(), Some(20));
        assert_eq!(v["data"]["seed"].as_integer(), Some(3));
        assert!(v["data"].get("from").is_none());
        // A cycle is an error, not a hang.
        std::fs::write(&shared, format!("from = \"{from}\"\n")).unwrap();
        let err = format!("{:#}", load_toml(&run, &[]).unwrap_err());
        assert!(err.contains("nest deeper"), "{err}");
    }

    #[test]
    fn overrides_set_nested_keys_with_typed_values() {
        let mut v: toml::Value = toml::from_str("[train]\nlr = 0.1\n").unwrap();
        apply_overrides(
            &mut v,
            &[
                "train.lr=0.01".into(),
                "model.hidden=[64, 32]".into(),
                "data.source=frappe-ctr".into(),
            ],
        )
        .unwrap();
        assert_eq!(v["train"]["lr"].as_float(), Some(0.01));
        assert_eq!(v["model"]["hidden"].as_array().unwrap().len(), 2);
        assert_eq!(v["data"]["source"].as_str(), Some("frappe-ctr"));
        assert!(apply_overrides(&mut v, &["nonsense".into()]).is_err());
    }
}
