//! What loading a source yields: encoded train / validation / test splits
//! and what encoded them.

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::Result;
use crate::fit_stats::FitStats;
use crate::preprocess::Preprocessor;
use crate::raw::RawTable;
use crate::readers::FileShard;
use crate::schema::Schema;

/// Encoded splits and what encoded them.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Fitted on the training split; `None` for generated data that is born encoded.
    pub preprocessor: Option<Preprocessor>,
    pub layout: FeatureLayout,
    pub train: EncodedData,
    pub valid: EncodedData,
    pub test: EncodedData,
    /// One line on what was loaded (source and split sizes), for logs.
    pub description: String,
}

impl PreparedData {
    /// Fits a preprocessor for `schema` on the training split (the first) only,
    /// so nothing of validation or test leaks into the vocabularies, and
    /// encodes all three with it.
    pub fn fit(schema: &Schema, splits: [RawTable; 3]) -> Result<Self> {
        let preprocessor = Preprocessor::fit(schema, &splits[0])?;
        Self::encoded_by(preprocessor, splits)
    }

    /// The three splits encoded by `preprocessor`.
    fn encoded_by(preprocessor: Preprocessor, [train, valid, test]: [RawTable; 3]) -> Result<Self> {
        Ok(Self {
            layout: preprocessor.layout(),
            train: preprocessor.transform(&train)?,
            valid: preprocessor.transform(&valid)?,
            test: preprocessor.transform(&test)?,
            preprocessor: Some(preprocessor),
            description: String::new(),
        })
    }

    /// As [`PreparedData::fit`] for one rank of a distributed job, whose
    /// splits are its shares: the preprocessor is fitted on the statistics
    /// of every rank's share of train, which `exchange` gathers (this
    /// rank's bytes in, every rank's out in rank order), merged in rank
    /// order, so every rank fits the same one: the one fitting on all of
    /// train would give.
    pub fn fit_shares(
        schema: &Schema,
        splits: [RawTable; 3],
        exchange: &dyn Fn(Vec<u8>) -> Result<Vec<Vec<u8>>>,
    ) -> Result<Self> {
        let mine = FitStats::of(schema, &splits[0])?;
        let mut merged: Option<FitStats> = None;
        for bytes in exchange(mine.to_bytes())? {
            let theirs = FitStats::from_bytes(&bytes)?;
            match &mut merged {
                None => merged = Some(theirs),
                Some(m) => m.merge(&theirs)?,
            }
        }
        let merged = merged.unwrap_or(mine);
        Self::encoded_by(Preprocessor::from_stats(schema, &merged)?, splits)
    }

    /// Keeps the rows of every split that `shard` is dealt round-robin
    /// (row `i` when `i mod count = index`).
    pub fn keep_share(mut self, shard: FileShard) -> Self {
        for split in [&mut self.train, &mut self.valid, &mut self.test] {
            let rows: Vec<usize> = (0..split.num_rows).filter(|&i| shard.deals(i)).collect();
            *split = split.take(&rows);
        }
        self
    }

    /// Generated splits, which are encoded from birth and have no preprocessor.
    pub fn born_encoded(layout: FeatureLayout, [train, valid, test]: [EncodedData; 3]) -> Self {
        Self {
            preprocessor: None,
            layout,
            train,
            valid,
            test,
            description: String::new(),
        }
    }

    /// Sets `description` to the one-line summary of data loaded from
    /// `source`, and logs it.
    pub(crate) fn described(mut self, source: &str) -> Self {
        self.description = format!(
            "{source}: train {} rows, valid {}, test {}; {} categorical, {} numeric, {} sequence, {} dense fields; tasks {}",
            self.train.num_rows,
            self.valid.num_rows,
            self.test.num_rows,
            self.layout.categorical.len(),
            self.layout.numeric.len(),
            self.layout.sequences.len(),
            self.layout.dense.len(),
            self.layout.tasks.join(", ")
        );
        tracing::info!("{}", self.description);
        self
    }

    /// What `ember datasets NAME` prints: split sizes, the first task's
    /// positive rate, and one line per field.
    pub(crate) fn field_table(&self, source: &str) -> String {
        let rate =
            |d: &EncodedData| d.task_labels(0).iter().sum::<f32>() / d.num_rows.max(1) as f32;
        let mut text = format!(
            "{source}: train {} rows (positive rate {:.3}), valid {}, test {}\nfields:\n",
            self.train.num_rows,
            rate(&self.train),
            self.valid.num_rows,
            self.test.num_rows
        );
        for (f, card) in &self.layout.categorical {
            text.push_str(&format!("  {f:<12} categorical, {card} ids (incl. OOV)\n"));
        }
        for (f, card, len) in &self.layout.sequences {
            text.push_str(&format!(
                "  {f:<12} sequence, {card} ids, max length {len}\n"
            ));
        }
        for f in &self.layout.numeric {
            text.push_str(&format!("  {f:<12} numeric\n"));
        }
        text.push_str(&format!("tasks: {}", self.layout.tasks.join(", ")));
        text
    }
}
