//! How many distinct values the whole file holds, extrapolated from the
//! sample, and the token encoding that follows from it.

use std::collections::HashMap;

use super::SampleSize;
use super::text;
use crate::schema::Encoding;

/// Above this many distinct values (estimated over the file) a vocabulary
/// is too large to keep: hash buckets instead.
pub const HASH_ABOVE: u64 = 100_000;
/// The largest bucket count chosen (2^24): an embedding table of 16.8M rows
/// is already several GB at dimension 32.
const MAX_BUCKETS: u64 = 1 << 24;
/// A vocabulary whose values are mostly seen once gets `min_count` 2, once
/// it has at least this many values (a handful of rare codes is no noise).
const MIN_COUNT_FROM: usize = 50;

/// Distinct values: seen in the sample, and estimated over the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinality {
    pub seen: u64,
    /// Values seen exactly once.
    pub singletons: u64,
    pub estimate: u64,
    /// The sample is the whole file: the estimate is the count.
    pub exact: bool,
}

impl Cardinality {
    /// The values (tokens) of a column and how many there are in all
    /// (`occurrences`), over a sample of `size`.
    ///
    /// The estimate is the GEE estimator (Charikar et al., PODS 2000): values
    /// seen twice or more are probably frequent and already counted; each
    /// value seen once stands for sqrt(N / n) values of the unseen file.
    pub fn of(values: &HashMap<String, u64>, occurrences: u64, size: SampleSize) -> Self {
        let seen = values.len() as u64;
        let singletons = values.values().filter(|&&c| c == 1).count() as u64;
        if size.whole_file || occurrences == 0 {
            return Self {
                seen,
                singletons,
                estimate: seen,
                exact: true,
            };
        }
        let scale = size.file_rows as f64 / size.rows as f64;
        let file_occurrences = occurrences as f64 * scale;
        let estimate = (scale.sqrt() * singletons as f64 + (seen - singletons) as f64)
            .min(file_occurrences)
            .round() as u64;
        Self {
            seen,
            singletons,
            estimate: estimate.max(seen),
            exact: false,
        }
    }

    /// "; ~180,000 estimated in the whole file", or nothing when the sample
    /// counted them all.
    pub fn estimate_note(&self) -> String {
        if self.exact || self.estimate == self.seen {
            String::new()
        } else {
            format!(
                "; ~{} estimated in the whole file",
                text::count(self.estimate)
            )
        }
    }

    /// The encoding for these values, and why.
    pub fn encoding(&self) -> (Encoding, String) {
        if self.estimate > HASH_ABOVE {
            let buckets = self.estimate.next_power_of_two().min(MAX_BUCKETS);
            return (
                Encoding::Hash {
                    buckets: buckets as u32,
                },
                format!(
                    "hash into {} buckets (2^{}) as over {} values is too many for a vocabulary",
                    text::count(buckets),
                    buckets.trailing_zeros(),
                    text::count(HASH_ABOVE)
                ),
            );
        }
        if self.seen as usize >= MIN_COUNT_FROM && self.singletons * 2 > self.seen {
            return (
                Encoding::Vocab { min_count: 2 },
                format!(
                    "vocabulary with min_count 2 as {} of the {} values occur once, too rarely to learn",
                    text::count(self.singletons),
                    text::count(self.seen)
                ),
            );
        }
        (Encoding::Vocab { min_count: 1 }, "vocabulary".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(counts: &[u64]) -> HashMap<String, u64> {
        counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (i.to_string(), c))
            .collect()
    }

    #[test]
    fn the_whole_file_is_counted_exactly() {
        let size = SampleSize {
            rows: 100,
            file_rows: 100,
            whole_file: true,
        };
        let c = Cardinality::of(&values(&[1; 98]), 100, size);
        assert_eq!((c.seen, c.estimate, c.exact), (98, 98, true));
        assert_eq!(c.encoding().0, Encoding::Vocab { min_count: 2 });
    }

    #[test]
    fn singletons_extrapolate_to_hash_buckets() {
        // 10,000 rows of 40,000,000: 5,000 values seen once, 1,000 often.
        let mut counts = vec![1; 5_000];
        counts.extend([5; 1_000]);
        let size = SampleSize {
            rows: 10_000,
            file_rows: 40_000_000,
            whole_file: false,
        };
        let c = Cardinality::of(&values(&counts), 10_000, size);
        // sqrt(4,000) * 5,000 + 1,000
        assert_eq!(c.estimate, 317_228);
        let (encoding, why) = c.encoding();
        assert_eq!(encoding, Encoding::Hash { buckets: 1 << 19 });
        assert!(why.contains("524,288 buckets (2^19)"), "{why}");
        // Frequent values only: the vocabulary is all there is.
        let c = Cardinality::of(&values(&[50; 200]), 10_000, size);
        assert_eq!(c.estimate, 200);
        assert_eq!(c.encoding().0, Encoding::Vocab { min_count: 1 });
    }
}
