//! Feature extraction on the serving path: catalog attributes and request
//! ids encoded straight into model ids (see [`encoder`]).

pub mod catalog;
pub mod encoder;

use anyhow::{Result, bail};
use ember_datasets::{EncodedData, Preprocessor};

pub use catalog::{Catalog, CellSource};
pub use encoder::{RowEncoder, decimal};

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
    /// Resolves every field of the model's schema to a catalog attribute;
    /// a field the catalog cannot fill is an error naming it.
    pub fn new(preprocessor: &Preprocessor) -> Result<Self> {
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
                CellSource::by_name(name).ok_or_else(|| {
                    anyhow::anyhow!(
                        "field '{name}' has no source in the catalog (known: {})",
                        CellSource::NAMES.join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { encoder, sources })
    }

    pub fn start(&self, rows: usize) -> EncodedData {
        self.encoder.start(rows)
    }

    /// Appends one row per item (corpus rows) for `user`. An unknown
    /// profile leaves the side features empty (OOV), as the readers do.
    pub fn push_pairs(
        &self,
        catalog: &Catalog,
        user: u32,
        items: &[u32],
        out: &mut EncodedData,
    ) -> Result<()> {
        let mut user_buf = [0u8; 10];
        let user_text = decimal(user, &mut user_buf);
        let profile = catalog.profile(user);
        let side = |get: fn(&ember_datasets::readers::User) -> &[u8]| profile.map_or(&b""[..], get);
        let n = self.sources.len();
        for &row in items {
            let mut item_buf = [0u8; 10];
            let mut cells: [&[u8]; MAX_FIELDS] = [b""; MAX_FIELDS];
            let item_text = decimal(catalog.item_id(row), &mut item_buf);
            for (cell, source) in cells.iter_mut().zip(&self.sources) {
                *cell = match source {
                    CellSource::UserId => user_text,
                    CellSource::ItemId => item_text,
                    CellSource::Age => side(|u| &u.age_bucket),
                    CellSource::Gender => side(|u| &u.gender),
                    CellSource::Occupation => side(|u| &u.occupation),
                    CellSource::Zip => side(|u| &u.zip_first),
                    CellSource::Genres => catalog.genre_bytes(row),
                    CellSource::History => catalog.history_bytes(user),
                };
            }
            self.encoder.push_row(out, &cells[..n])?;
        }
        Ok(())
    }
}
