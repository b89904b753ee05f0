//! Reading a TOML config file (a run, a pipeline, a mixer run) with
//! `key=value` overrides from the command line. Training and serving both
//! read configs, so this lives at the bottom of the crate graph.

use std::path::Path;

use anyhow::{Context, Result};

/// Reads a TOML file and applies `key=value` overrides to it.
pub fn load_toml(path: &Path, overrides: &[String]) -> Result<toml::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read config", path.display()))?;
    let mut value: toml::Value =
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))?;
    apply_overrides(&mut value, overrides)?;
    Ok(value)
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
