//! Feature extraction on the serving path: catalog attributes and request
//! ids encoded straight into model ids (see [`encoder`]).

pub mod catalog;
pub mod encoder;

use anyhow::{Result, bail};
use ember_datasets::{EncodedData, Preprocessor};

pub use catalog::{Catalog, CellSource};
pub use encoder::RowEncoder;

/// The most fields a (user, item) row may have: cells are gathered in a
/// stack array of this size.
const MAX_FIELDS: usize = 16;

/// Encodes (user, item) pairs for one ranking model from the catalog.
#[derive(Debug, Clone)]
pub struct PairEncoder {
    encoder: RowEncoder,
    sources: Vec<CellSource>,
}

impl PairEncoder {
    /// Resolves every field of the model's schema to a catalog cell; a
    /// field the catalog cannot fill is an error naming it.
    pub fn new(preprocessor: &Preprocessor, catalog: &Catalog) -> Result<Self> {
        let encoder = RowEncoder::new(preprocessor)?;
        if encoder.field_names().len() > MAX_FIELDS {
            bail!(
                "{} fields: the serving path takes at most {MAX_FIELDS}",
                encoder.field_names().len()
            );
        }
        let sources = encoder
            .field_names()
            .iter()
            .map(|name| {
                catalog.cell_source(name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "field '{name}' has no source in the catalog (its fields: {})",
                        catalog.field_names().join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { encoder, sources })
    }

    pub fn start(&self, rows: usize) -> EncodedData {
        self.encoder.start(rows)
    }

    /// Appends one row per item (item rows) for the user row `user`.
    pub fn push_pairs(
        &self,
        catalog: &Catalog,
        user: u32,
        items: &[u32],
        out: &mut EncodedData,
    ) -> Result<()> {
        let n = self.sources.len();
        for &item in items {
            let mut cells: [&[u8]; MAX_FIELDS] = [b""; MAX_FIELDS];
            for (cell, &source) in cells.iter_mut().zip(&self.sources) {
                *cell = catalog.cell(source, user, item);
            }
            self.encoder.push_row(out, &cells[..n])?;
        }
        Ok(())
    }
}
