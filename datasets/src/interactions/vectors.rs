//! Item vectors in their own file: safetensors, because every training
//! framework writes it (`safetensors.torch.save_file`, numpy's
//! `safetensors.numpy`) and it carries a dtype and shape, unlike raw
//! floats.
//!
//! The file holds `vectors`, F32 or F64 `[n, d]`, and the item id of each
//! row, either as an integer tensor `ids` (`[n]`, I32/I64/U32/U64) or as
//! the metadata entry `"ids"`, a JSON list of strings (string ids).

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::files::{finish_vectors, put_vector};
use super::log::{ItemVectors, SideTable};
use crate::error::{DataError, Result};

/// Reads `path` into one vector per item-table row; an id the item table
/// lacks is an error naming it.
pub fn read_safetensors_vectors(path: &Path, items: &SideTable) -> Result<ItemVectors> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bad = |field: Option<&str>, m: String| DataError::malformed(path, None, field, m);
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(None, format!("not a safetensors file: {e}")))?;
    let tensor = file
        .tensor("vectors")
        .map_err(|_| bad(Some("vectors"), "no tensor named 'vectors'".to_owned()))?;
    let [n, d] = *tensor.shape() else {
        return Err(bad(
            Some("vectors"),
            format!("shape {:?}, expected [items, dim]", tensor.shape()),
        ));
    };
    let values: Vec<f32> = match tensor.dtype() {
        Dtype::F32 => tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
        Dtype::F64 => tensor
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        other => {
            return Err(bad(
                Some("vectors"),
                format!("dtype {other:?}, expected F32 or F64"),
            ));
        }
    };
    let ids = ids(&file, &bytes, n).map_err(|m| bad(Some("ids"), m))?;
    let mut out = ItemVectors {
        dim: 0,
        values: Vec::new(),
        missing: 0,
    };
    let mut seen = vec![false; items.len()];
    for (r, id) in ids.iter().enumerate() {
        let at = |m: String| bad(Some("vectors"), format!("row {r} (item '{id}'): {m}"));
        let row = items
            .ids
            .row(id)
            .ok_or_else(|| at("not in the item table".to_owned()))?;
        put_vector(&mut out, &mut seen, row, &values[r * d..(r + 1) * d], at)?;
    }
    finish_vectors(out, &seen, path)
}

/// The row ids: the `ids` tensor, or the `ids` metadata entry.
fn ids(file: &SafeTensors, bytes: &[u8], n: usize) -> std::result::Result<Vec<String>, String> {
    let ids: Vec<String> = match file.tensor("ids") {
        Ok(t) => {
            let width = match t.dtype() {
                Dtype::I32 | Dtype::U32 => 4,
                Dtype::I64 | Dtype::U64 => 8,
                other => return Err(format!("dtype {other:?}, expected an integer type")),
            };
            t.data()
                .chunks_exact(width)
                .map(|b| match t.dtype() {
                    Dtype::I32 => i32::from_le_bytes(b.try_into().expect("4")).to_string(),
                    Dtype::U32 => u32::from_le_bytes(b.try_into().expect("4")).to_string(),
                    Dtype::I64 => i64::from_le_bytes(b.try_into().expect("8")).to_string(),
                    _ => u64::from_le_bytes(b.try_into().expect("8")).to_string(),
                })
                .collect()
        }
        Err(_) => {
            let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
            let text = metadata
                .metadata()
                .as_ref()
                .and_then(|m| m.get("ids"))
                .ok_or("no 'ids' tensor and no 'ids' metadata entry")?;
            serde_json::from_str(text)
                .map_err(|e| format!("metadata 'ids' is not a JSON list of strings: {e}"))?
        }
    };
    if ids.len() != n {
        return Err(format!("{} ids for {n} vectors", ids.len()));
    }
    Ok(ids)
}
