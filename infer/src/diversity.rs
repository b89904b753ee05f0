//! Diversity of recommended lists, reported beside their accuracy by
//! `ember eval-serving` and `ember experiment report`.
//!
//! For one list `L` of `n` items, where `C(i)` is item `i`'s categories,
//! `c_j` how often category `j` appears over the list (an item with several
//! categories counts once for each) and `p_j = c_j / Σ_j c_j`:
//!
//! | metric | formula |
//! |---|---|
//! | `categories` | `|{j : c_j > 0}|`, distinct categories shown |
//! | `entropy` | `−Σ_j p_j log₂ p_j` (bits) |
//! | `gini_simpson` | `1 − Σ_j p_j²`, the chance two category draws differ |
//! | `ild` | `2 / (n(n−1)) · Σ_{i<k} (1 − cos(v_i, v_k))`, intra-list distance |
//! | `interest_coverage` | `|M ∩ ∪_i C(i)| / |M|`, `M` the user's main interests |
//! | `interest_fraction` | `|{i : C(i) ∩ M ≠ ∅}| / n`, the share in main interests |
//! | `unexpectedness` | `|{i : C(i) ∩ H = ∅}| / n`, `H` every category of the user's history |
//! | `novelty` | `(1/n) Σ_i −log₂ p(i)`, `p(i) = (count_i + 1) / (Σ count + N)` (self-information of popularity) |
//! | `long_tail_share` | `|{i : i ∉ head}| / n`, head = the `⌈N/5⌉` most popular items |
//! | `categories_clicked` | `|∪_{i clicked} C(i)|`, distinct categories of the items taken |
//!
//! and over every list of a run, with `N` items in the catalog and `e_i`
//! the times item `i` was shown:
//!
//! | metric | formula |
//! |---|---|
//! | `catalog_coverage` | `|∪ L| / N` |
//! | `exposure_gini` | `Σ_r (2r − N − 1) e_(r) / (N Σ e)`, `e_(r)` ascending: 0 = even exposure, → 1 = a few items get it all |
//!
//! The main interests `M` are the user's `m` most frequent history
//! categories ([`main_interests`]); popularity counts come from the log the
//! catalog was read from.

use serde::{Deserialize, Serialize};

/// A run's diversity: per-list metrics averaged over lists, and the
/// exposure metrics over all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DiversityMetrics {
    pub categories: f64,
    pub entropy: f64,
    pub gini_simpson: f64,
    pub ild: f64,
    pub interest_coverage: f64,
    pub interest_fraction: f64,
    pub unexpectedness: f64,
    pub novelty: f64,
    pub long_tail_share: f64,
    pub categories_clicked: f64,
    pub catalog_coverage: f64,
    pub exposure_gini: f64,
}

/// The metrics' names and values in a fixed order (tables, reports).
impl DiversityMetrics {
    pub fn named(&self) -> [(&'static str, f64); 12] {
        [
            ("categories", self.categories),
            ("entropy", self.entropy),
            ("gini_simpson", self.gini_simpson),
            ("ild", self.ild),
            ("interest_coverage", self.interest_coverage),
            ("interest_fraction", self.interest_fraction),
            ("unexpectedness", self.unexpectedness),
            ("novelty", self.novelty),
            ("long_tail_share", self.long_tail_share),
            ("categories_clicked", self.categories_clicked),
            ("catalog_coverage", self.catalog_coverage),
            ("exposure_gini", self.exposure_gini),
        ]
    }
}

impl DiversityMetrics {
    /// Markdown table columns: the names joined by ` | `, and as many `---|`.
    pub fn markdown_columns() -> (String, String) {
        let names = Self::default().named().map(|(name, _)| name);
        (names.join(" | "), "---|".repeat(names.len()))
    }

    /// The values as markdown table cells joined by ` | `.
    pub fn markdown_cells(&self) -> String {
        let cells: Vec<String> = self
            .named()
            .iter()
            .map(|(_, v)| format!("{v:.3}"))
            .collect();
        cells.join(" | ")
    }
}

/// Item popularity in the catalog's log: the basis of novelty and the
/// long tail.
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    /// `−log₂ p(i)` per item row.
    self_information: Vec<f64>,
    /// Whether each item row is in the head.
    head: Vec<bool>,
}

impl Popularity {
    /// From positive counts per item row.
    pub fn from_counts(counts: &[u64]) -> Self {
        let n = counts.len();
        let total = counts.iter().sum::<u64>() as f64 + n as f64;
        let self_information = counts
            .iter()
            .map(|&c| -((c as f64 + 1.0) / total).log2())
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        let mut head = vec![false; n];
        for &i in order.iter().take(n.div_ceil(5)) {
            head[i] = true;
        }
        Self {
            self_information,
            head,
        }
    }

    pub fn num_items(&self) -> usize {
        self.head.len()
    }
}

/// One shown list and what the metrics need of it, items in list order.
#[derive(Debug, Clone, Default)]
pub struct ListView<'a> {
    /// Item rows.
    pub items: Vec<u32>,
    /// Each item's categories.
    pub categories: Vec<&'a [u32]>,
    /// Each item's unit vector.
    pub vectors: Vec<&'a [f32]>,
    /// Whether the user took each item (clicked; a held-out positive).
    pub clicked: Vec<bool>,
    /// The user's main interests `M`.
    pub interests: Vec<u32>,
    /// Every category of the user's history `H`.
    pub history: Vec<u32>,
}

/// Category counts of a list, in first-seen order.
fn category_counts<'a>(lists: impl IntoIterator<Item = &'a [u32]>) -> Vec<(u32, u32)> {
    let mut counts: Vec<(u32, u32)> = Vec::new();
    for cats in lists {
        for &c in cats {
            match counts.iter_mut().find(|(k, _)| *k == c) {
                Some((_, n)) => *n += 1,
                None => counts.push((c, 1)),
            }
        }
    }
    counts
}

/// The `m` most frequent categories of a history (ties: lower id first).
pub fn main_interests<'a>(history: impl IntoIterator<Item = &'a [u32]>, m: usize) -> Vec<u32> {
    let mut counts = category_counts(history);
    counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts.into_iter().take(m).map(|(c, _)| c).collect()
}

/// `part / whole`, 0 for an empty whole.
fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The per-list metrics of one list (the exposure metrics stay 0).
pub fn of_list(list: &ListView, popularity: &Popularity) -> DiversityMetrics {
    let n = list.items.len();
    let counts = category_counts(list.categories.iter().copied());
    let total: u32 = counts.iter().map(|(_, c)| c).sum();
    let p = |c: u32| f64::from(c) / f64::from(total);
    let entropy = counts
        .iter()
        .map(|&(_, c)| -p(c) * p(c).log2())
        .sum::<f64>();
    let simpson = counts.iter().map(|&(_, c)| p(c) * p(c)).sum::<f64>();
    let mut pairs = 0usize;
    let mut distance = 0.0f64;
    for i in 0..list.vectors.len() {
        for k in i + 1..list.vectors.len() {
            distance += 1.0 - f64::from(ember_ann::vectors::dot(list.vectors[i], list.vectors[k]));
            pairs += 1;
        }
    }
    let shown = |c: &u32| counts.iter().any(|(k, _)| k == c);
    let any_of = |cats: &[u32], set: &[u32]| cats.iter().any(|c| set.contains(c));
    let clicked = category_counts(
        list.categories
            .iter()
            .zip(&list.clicked)
            .filter(|(_, clicked)| **clicked)
            .map(|(cats, _)| *cats),
    );
    let novelty = list
        .items
        .iter()
        .map(|&i| popularity.self_information[i as usize])
        .sum::<f64>();
    DiversityMetrics {
        categories: counts.len() as f64,
        entropy: entropy.max(0.0),
        gini_simpson: if total == 0 { 0.0 } else { 1.0 - simpson },
        ild: if pairs == 0 {
            0.0
        } else {
            distance / pairs as f64
        },
        interest_coverage: share(
            list.interests.iter().filter(|c| shown(c)).count(),
            list.interests.len(),
        ),
        interest_fraction: share(
            list.categories
                .iter()
                .filter(|cats| any_of(cats, &list.interests))
                .count(),
            n,
        ),
        unexpectedness: share(
            list.categories
                .iter()
                .filter(|cats| !any_of(cats, &list.history))
                .count(),
            n,
        ),
        novelty: if n == 0 { 0.0 } else { novelty / n as f64 },
        long_tail_share: share(
            list.items
                .iter()
                .filter(|&&i| !popularity.head[i as usize])
                .count(),
            n,
        ),
        categories_clicked: clicked.len() as f64,
        catalog_coverage: 0.0,
        exposure_gini: 0.0,
    }
}

/// The Gini coefficient of non-negative values (0 when all are equal or
/// all zero).
pub fn gini(values: &[u64]) -> f64 {
    let n = values.len();
    let total: u64 = values.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(r, &e)| (2.0 * (r as f64 + 1.0) - n as f64 - 1.0) * e as f64)
        .sum();
    weighted / (n as f64 * total as f64)
}

/// A run's metrics: the per-list ones averaged over `lists`, the exposure
/// ones over all of them together.
pub fn of_run(lists: &[ListView], popularity: &Popularity) -> DiversityMetrics {
    let per_list: Vec<DiversityMetrics> = lists.iter().map(|l| of_list(l, popularity)).collect();
    let n = per_list.len().max(1) as f64;
    let mean = |f: fn(&DiversityMetrics) -> f64| per_list.iter().map(f).sum::<f64>() / n;
    let mut exposure = vec![0u64; popularity.num_items()];
    for list in lists {
        for &i in &list.items {
            exposure[i as usize] += 1;
        }
    }
    DiversityMetrics {
        categories: mean(|m| m.categories),
        entropy: mean(|m| m.entropy),
        gini_simpson: mean(|m| m.gini_simpson),
        ild: mean(|m| m.ild),
        interest_coverage: mean(|m| m.interest_coverage),
        interest_fraction: mean(|m| m.interest_fraction),
        unexpectedness: mean(|m| m.unexpectedness),
        novelty: mean(|m| m.novelty),
        long_tail_share: mean(|m| m.long_tail_share),
        categories_clicked: mean(|m| m.categories_clicked),
        catalog_coverage: share(exposure.iter().filter(|&&e| e > 0).count(), exposure.len()),
        exposure_gini: gini(&exposure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_list() {
        // Items 0..4 with categories {0}, {0, 1}, {2}, {0}: counts 0→3, 1→1, 2→1 of 5.
        let cats: [&[u32]; 4] = [&[0], &[0, 1], &[2], &[0]];
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let vectors: [&[f32]; 4] = [&[1.0, 0.0], &[0.0, 1.0], &[s, s], &[1.0, 0.0]];
        // Counts: item 0 most popular, then 1; 10 items, head = 2 items.
        let mut counts = vec![0u64; 10];
        counts[0] = 10;
        counts[1] = 5;
        let popularity = Popularity::from_counts(&counts);
        let list = ListView {
            items: vec![0, 1, 2, 3],
            categories: cats.to_vec(),
            vectors: vectors.to_vec(),
            clicked: vec![false, true, true, false],
            interests: vec![0, 3],
            history: vec![0, 3, 7],
        };
        let m = of_list(&list, &popularity);
        assert_eq!(m.categories, 3.0);
        let h = -(0.6f64 * 0.6f64.log2() + 2.0 * 0.2 * 0.2f64.log2());
        assert!((m.entropy - h).abs() < 1e-9, "{} vs {h}", m.entropy);
        assert!((m.gini_simpson - (1.0 - (0.36 + 0.04 + 0.04))).abs() < 1e-9);
        // Pairs (cosines): 01 0, 02 s, 03 1, 12 s, 13 0, 23 s → Σ(1−cos) = 6 − 3s − 1.
        let ild = (6.0 - 3.0 * f64::from(s) - 1.0) / 6.0;
        assert!((m.ild - ild).abs() < 1e-6, "{} vs {ild}", m.ild);
        assert_eq!(m.interest_coverage, 0.5, "interest 0 shown, 3 not");
        assert_eq!(m.interest_fraction, 0.75, "three of four items are in 0");
        assert_eq!(m.unexpectedness, 0.25, "only item 2 (category 2) is new");
        // p(i) = (count + 1) / (15 + 10): items 0, 1, 2, 3 → 11, 6, 1, 1 of 25.
        let novelty = -[11.0f64, 6.0, 1.0, 1.0]
            .iter()
            .map(|c| (c / 25.0).log2())
            .sum::<f64>()
            / 4.0;
        assert!((m.novelty - novelty).abs() < 1e-9);
        assert_eq!(m.long_tail_share, 0.5, "items 2 and 3 are outside the head");
        assert_eq!(m.categories_clicked, 3.0, "{{0, 1}} and {{2}} clicked");
    }

    #[test]
    fn run_metrics_exposure_and_interests() {
        let history: [&[u32]; 4] = [&[5, 1], &[1], &[5], &[2]];
        assert_eq!(main_interests(history, 2), vec![1, 5]);
        assert_eq!(main_interests(history, 9), vec![1, 5, 2]);
        assert_eq!(gini(&[1, 1, 1, 1]), 0.0);
        // One item of four has everything: (2·4 − 5)·1 / (4·1) = 0.75.
        assert!((gini(&[0, 0, 0, 7]) - 0.75).abs() < 1e-12);
        let popularity = Popularity::from_counts(&[0; 4]);
        let one = |item: u32| ListView {
            items: vec![item],
            categories: vec![&[4]],
            vectors: vec![&[1.0]],
            clicked: vec![false],
            ..ListView::default()
        };
        let run = of_run(&[one(0), one(0), one(1)], &popularity);
        assert_eq!(run.catalog_coverage, 0.5);
        // Exposure [2, 1, 0, 0] ascending [0, 0, 1, 2]: (1·1 + 3·2) / (4·3).
        assert!((run.exposure_gini - 7.0 / 12.0).abs() < 1e-12);
        assert_eq!((run.categories, run.entropy, run.ild), (1.0, 0.0, 0.0));
        assert_eq!(run.unexpectedness, 1.0, "an empty history makes all new");
    }
}
