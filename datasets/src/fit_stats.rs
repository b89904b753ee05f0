//! What fitting a [`Preprocessor`](crate::Preprocessor) needs from the
//! training rows, kept in a form that adds up: token counts and numeric
//! moments. A distributed job's ranks each take the statistics of their own
//! share of the training file, exchange them, merge them in rank order, and
//! so fit the same preprocessor as one process reading all of the file,
//! without any rank holding all the rows.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::preprocess::transform_numeric;
use crate::raw::{RawColumn, RawTable};
use crate::schema::{Encoding, FieldKind, Normalisation, Schema};
use crate::vocab::TokenCounts;

/// Per field of a schema, what its encoder is fitted from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitStats {
    pub fields: Vec<FieldStats>,
}

/// The statistics of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldStats {
    /// A vocabulary field's token counts.
    Counts(TokenCounts),
    /// A numeric field's values, after fill and transform.
    Moments(Moments),
    /// Hashed and dense fields are fitted from nothing.
    Nothing,
}

/// Count, mean, sum of squared deviations (Welford), minimum and maximum;
/// two sets merge exactly as Chan, Golub and LeVeque's pairwise update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * other.n as f64 / n as f64;
        self.m2 += other.m2 + delta * delta * self.n as f64 * other.n as f64 / n as f64;
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// `(shift, scale)` so that the encoded value is `(x − shift) / scale`:
    /// standard scores by the population deviation, min-max by the range.
    /// A constant or empty column gets scale 1, never a division by zero.
    pub fn shift_scale(&self, norm: Normalisation) -> (f64, f64) {
        let (shift, scale) = match norm {
            Normalisation::Standard => (self.mean, (self.m2 / self.n.max(1) as f64).sqrt()),
            Normalisation::MinMax => (self.min, self.max - self.min),
            Normalisation::None | Normalisation::Log1p => (0.0, 1.0),
        };
        let scale = if scale.is_finite() && scale > 1e-12 {
            scale
        } else {
            1.0
        };
        let shift = if shift.is_finite() { shift } else { 0.0 };
        (shift, scale)
    }
}

impl FitStats {
    /// The statistics of `train`'s rows for `schema`.
    pub fn of(schema: &Schema, train: &RawTable) -> Result<Self> {
        if train.columns.len() != schema.fields.len() {
            return Err(DataError::Invalid(format!(
                "table has {} columns but the schema {} fields",
                train.columns.len(),
                schema.fields.len()
            )));
        }
        let fields = schema
            .fields
            .iter()
            .zip(&train.columns)
            .map(|(field, column)| {
                let counts = |tokens: &mut dyn Iterator<Item = u64>| match field.encoding {
                    Encoding::Vocab { .. } => {
                        let mut counts = TokenCounts::default();
                        counts.add(tokens);
                        FieldStats::Counts(counts)
                    }
                    Encoding::Hash { .. } => FieldStats::Nothing,
                };
                match (&field.kind, column) {
                    (FieldKind::Categorical, RawColumn::Tokens(tokens)) => {
                        Ok(counts(&mut tokens.iter().flatten().copied()))
                    }
                    (FieldKind::Sequence { .. }, RawColumn::TokenLists { tokens, .. }) => {
                        Ok(counts(&mut tokens.iter().copied()))
                    }
                    (FieldKind::Numeric, RawColumn::Numeric(values)) => {
                        let mut m = Moments::default();
                        for &x in values {
                            m.push(f64::from(transform_numeric(
                                field.normalisation,
                                field.fill,
                                x,
                            )));
                        }
                        Ok(FieldStats::Moments(m))
                    }
                    (FieldKind::Dense { .. }, RawColumn::Vectors { .. }) => Ok(FieldStats::Nothing),
                    _ => Err(DataError::Invalid(format!(
                        "field '{}': column does not match its kind {:?}",
                        field.name, field.kind
                    ))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { fields })
    }

    /// Adds another share's statistics (of the same schema).
    pub fn merge(&mut self, other: &FitStats) -> Result<()> {
        if self.fields.len() != other.fields.len() {
            return Err(DataError::Invalid(format!(
                "merging statistics of {} fields with statistics of {}",
                self.fields.len(),
                other.fields.len()
            )));
        }
        for (i, (mine, theirs)) in self.fields.iter_mut().zip(&other.fields).enumerate() {
            match (mine, theirs) {
                (FieldStats::Counts(a), FieldStats::Counts(b)) => a.merge(b),
                (FieldStats::Moments(a), FieldStats::Moments(b)) => a.merge(b),
                (FieldStats::Nothing, FieldStats::Nothing) => {}
                _ => {
                    return Err(DataError::Invalid(format!(
                        "field {i}: the shares' statistics are of different kinds"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The statistics as bytes, to send to other ranks: MessagePack, about
    /// 11 bytes a counted token (JSON took 26, and every rank holds every
    /// rank's bytes at once while they are merged).
    pub fn to_bytes(&self) -> Vec<u8> {
        rmp_serde::to_vec(self).expect("statistics serialise")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        rmp_serde::from_slice(bytes)
            .map_err(|e| DataError::Invalid(format!("unreadable fit statistics: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_moments_equal_the_moments_of_all_values() {
        let xs: Vec<f64> = (0..1000)
            .map(|i| ((i * 37) % 101) as f64 * 0.5 - 7.0)
            .collect();
        let mut all = Moments::default();
        xs.iter().for_each(|&x| all.push(x));
        let mut merged = Moments::default();
        for part in xs.chunks(333) {
            let mut m = Moments::default();
            part.iter().for_each(|&x| m.push(x));
            merged.merge(&m);
        }
        merged.merge(&Moments::default());
        let stats = FitStats {
            fields: vec![FieldStats::Moments(merged), FieldStats::Nothing],
        };
        assert_eq!(FitStats::from_bytes(&stats.to_bytes()).unwrap(), stats);
        assert_eq!(merged.n, all.n);
        assert!((merged.mean - all.mean).abs() < 1e-12);
        assert!((merged.m2 - all.m2).abs() < 1e-9 * all.m2);
        assert_eq!((merged.min, merged.max), (-7.0, 43.0));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        let (shift, scale) = all.shift_scale(Normalisation::Standard);
        assert!((shift - mean).abs() < 1e-12 && (scale - var.sqrt()).abs() < 1e-9);
        assert_eq!(all.shift_scale(Normalisation::MinMax), (-7.0, 50.0));
        // A constant column is left unscaled.
        let mut c = Moments::default();
        c.push(3.0);
        c.push(3.0);
        assert_eq!(c.shift_scale(Normalisation::Standard), (3.0, 1.0));
    }
}
