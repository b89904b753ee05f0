//! Column profiles: what a sample of the file holds, column by column, and
//! the statistics the decision rules read off it.
//!
//! A profile keeps each distinct cell text with its count, so every
//! statistic (numbers, list lengths, tokens) is computed once per distinct
//! value, whatever the sample size.

use std::collections::HashMap;

/// How the file stores a column, which bounds the kinds ember can read it
/// as (see `readers::parquet` for what each Parquet type may become).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Text cells: every CSV column, and Parquet string columns.
    Text {
        /// CSV text parses as numbers; a Parquet string column does not.
        numbers_ok: bool,
        /// Split on a separator into a sequence.
        sequence_ok: bool,
        /// Split on a separator into a dense vector.
        dense_ok: bool,
    },
    /// A Parquet number or boolean column.
    Number {
        /// Float or decimal: a measured quantity, never a code.
        floating: bool,
        /// Whether the categorical reader hashes this type.
        categorical_ok: bool,
    },
    /// A Parquet list column; the profile's values are its elements.
    List {
        /// Elements are numbers (else strings or booleans).
        numbers: bool,
        floating: bool,
    },
    /// A type no ember reader takes (timestamps, structs, maps).
    Unreadable { type_name: String, temporal: bool },
}

impl Storage {
    /// CSV text: anything goes.
    pub fn csv() -> Self {
        Storage::Text {
            numbers_ok: true,
            sequence_ok: true,
            dense_ok: true,
        }
    }
}

/// One column of the sample.
#[derive(Debug, Clone)]
pub struct ColumnProfile {
    pub name: String,
    pub storage: Storage,
    /// Rows sampled.
    pub rows: u64,
    /// Empty, blank or null cells (a null list too).
    pub empty: u64,
    /// Distinct non-empty cell texts, trimmed, with their counts; for a list
    /// column, its elements.
    pub values: HashMap<String, u64>,
    /// List columns: the length of every non-null list.
    pub list_lengths: Vec<usize>,
}

impl ColumnProfile {
    pub fn new(name: &str, storage: Storage) -> Self {
        Self {
            name: name.to_owned(),
            storage,
            rows: 0,
            empty: 0,
            values: HashMap::new(),
            list_lengths: Vec::new(),
        }
    }

    /// Adds one scalar cell (`None` for a null).
    pub fn push(&mut self, cell: Option<&str>) {
        self.rows += 1;
        match cell.map(str::trim) {
            Some(text) if !text.is_empty() => *self.values.entry(text.to_owned()).or_default() += 1,
            _ => self.empty += 1,
        }
    }

    /// Adds one list cell (`None` for a null list).
    pub fn push_list<'a>(&mut self, list: Option<impl IntoIterator<Item = &'a str>>) {
        self.rows += 1;
        let Some(list) = list else {
            self.empty += 1;
            return;
        };
        let mut len = 0;
        for element in list {
            len += 1;
            *self.values.entry(element.trim().to_owned()).or_default() += 1;
        }
        self.list_lengths.push(len);
    }

    /// Non-empty cells.
    pub fn filled(&self) -> u64 {
        self.rows - self.empty
    }

    pub fn distinct(&self) -> usize {
        self.values.len()
    }

    /// The most frequent value (ties: the smallest text, so output is stable).
    pub fn mode(&self) -> Option<(&str, u64)> {
        self.values
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(v, &c)| (v.as_str(), c))
    }

    /// Number statistics, when every value parses as a number.
    pub fn numbers(&self) -> Option<Numbers> {
        Numbers::of(self.values.iter().map(|(v, &c)| (v.as_str(), c)))
    }

    /// How the cells split on `separator` (lists, lengths, tokens).
    pub fn split(&self, separator: char) -> Split {
        Split::of(self, separator)
    }
}

/// Statistics of a column (or a list's elements) that is all numbers.
#[derive(Debug, Clone)]
pub struct Numbers {
    /// Distinct values, ascending, with their counts.
    pub sorted: Vec<(f64, u64)>,
    pub count: u64,
    /// Every value is a whole number.
    pub integers: bool,
    /// Some cell is written with a decimal point or exponent (`3.0`, `1e3`).
    pub decimal_text: bool,
    pub mean: f64,
    pub std: f64,
    /// The third standardised moment; > 1 is a long right tail.
    pub skewness: f64,
}

impl Numbers {
    /// `None` when some text is not a number (NaN and infinities are not
    /// numbers here: they are how a text column spells a word).
    pub fn of<'a>(values: impl Iterator<Item = (&'a str, u64)>) -> Option<Self> {
        let mut sorted = Vec::new();
        let mut decimal_text = false;
        for (text, count) in values {
            let x: f64 = text.parse().ok().filter(|x: &f64| x.is_finite())?;
            decimal_text |= text.contains(['.', 'e', 'E']);
            sorted.push((x, count));
        }
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let count: u64 = sorted.iter().map(|&(_, c)| c).sum();
        let n = count as f64;
        let mean = sorted.iter().map(|&(x, c)| x * c as f64).sum::<f64>() / n;
        let moment = |k: i32| {
            sorted
                .iter()
                .map(|&(x, c)| (x - mean).powi(k) * c as f64)
                .sum::<f64>()
                / n
        };
        let std = moment(2).sqrt();
        let skewness = if std > 0.0 {
            moment(3) / std.powi(3)
        } else {
            0.0
        };
        Some(Self {
            integers: sorted.iter().all(|&(x, _)| x.fract() == 0.0),
            sorted,
            count,
            decimal_text,
            mean,
            std,
            skewness,
        })
    }

    pub fn min(&self) -> f64 {
        self.sorted[0].0
    }

    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1].0
    }

    pub fn distinct(&self) -> usize {
        self.sorted.len()
    }
}

/// A column's cells split on one separator.
#[derive(Debug, Clone)]
pub struct Split {
    pub separator: char,
    /// Non-empty cells that contain the separator.
    pub cells_with: u64,
    /// Distinct tokens (trimmed, empty ones dropped as the readers do) with counts.
    pub tokens: HashMap<String, u64>,
    /// (list length, cells of that length), over non-empty cells, ascending.
    pub lengths: Vec<(usize, u64)>,
    /// Some cell has an empty part (`a||b`, a trailing separator), which a
    /// dense reader rejects.
    pub empty_parts: bool,
}

impl Split {
    fn of(profile: &ColumnProfile, separator: char) -> Self {
        let mut tokens: HashMap<String, u64> = HashMap::new();
        let mut lengths: HashMap<usize, u64> = HashMap::new();
        let mut cells_with = 0;
        let mut empty_parts = false;
        for (cell, &count) in &profile.values {
            if cell.contains(separator) {
                cells_with += count;
            }
            let mut len = 0;
            for part in cell.split(separator).map(str::trim) {
                if part.is_empty() {
                    empty_parts = true;
                } else {
                    len += 1;
                    *tokens.entry(part.to_owned()).or_default() += count;
                }
            }
            *lengths.entry(len).or_default() += count;
        }
        let mut lengths: Vec<_> = lengths.into_iter().collect();
        lengths.sort_unstable();
        Self {
            separator,
            cells_with,
            tokens,
            lengths,
            empty_parts,
        }
    }

    pub fn longest(&self) -> usize {
        self.lengths.last().map_or(0, |&(len, _)| len)
    }
}

/// The smallest value with at least `share` of the weight at or below it.
pub fn quantile<T: Copy + Default>(sorted: &[(T, u64)], share: f64) -> T {
    let total: u64 = sorted.iter().map(|&(_, c)| c).sum();
    let target = (share * total as f64).ceil() as u64;
    let mut seen = 0;
    for &(x, c) in sorted {
        seen += c;
        if seen >= target {
            return x;
        }
    }
    sorted.last().map_or_else(T::default, |&(x, _)| x)
}

/// List lengths as (length, count), ascending.
pub fn length_counts(lengths: &[usize]) -> Vec<(usize, u64)> {
    let mut counts: HashMap<usize, u64> = HashMap::new();
    for &len in lengths {
        *counts.entry(len).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_unstable();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(cells: &[&str]) -> ColumnProfile {
        let mut p = ColumnProfile::new("x", Storage::csv());
        for c in cells {
            p.push(Some(c));
        }
        p
    }

    #[test]
    fn numbers_and_their_shape() {
        let p = profile(&["1", "2.0", "", "2", "100"]);
        assert_eq!((p.rows, p.empty, p.filled(), p.distinct()), (5, 1, 4, 4));
        let n = p.numbers().unwrap();
        assert!(n.integers && n.decimal_text);
        assert_eq!((n.min(), n.max(), n.count), (1.0, 100.0, 4));
        assert!(n.skewness > 1.0, "{}", n.skewness);
        assert!(profile(&["1", "a"]).numbers().is_none());
        assert!(profile(&["1", "NaN"]).numbers().is_none());
    }

    #[test]
    fn splits_count_cells_tokens_and_lengths() {
        let p = profile(&["a|b", "a|b", "c", "a|b|c|d", "x||y"]);
        let s = p.split('|');
        assert_eq!(s.cells_with, 4);
        assert_eq!(s.tokens["a"], 3);
        assert_eq!(s.lengths, vec![(1, 1), (2, 3), (4, 1)]);
        assert!(s.empty_parts);
        assert_eq!(quantile(&s.lengths, 0.5), 2);
        assert_eq!(quantile(&s.lengths, 1.0), 4);
        assert_eq!(s.longest(), 4);
    }
}
