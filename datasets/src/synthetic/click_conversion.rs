//! click-conversion: impressions → clicks → conversions with the true
//! click-through and conversion rates known for every impression, and the
//! conversion observable only after a click (the sample-selection-bias
//! setting of ESMM, Ma et al., SIGIR 2018).
//!
//! Fields: `user` (U ids), `item` (I ids, Zipf-like impression counts),
//! `category` (of the item), `segment` (of the user), `position` (slot).
//! With latent vectors `a_u`, `b_i` ∈ R^k, an item popularity `π_i` and an
//! item quality `q_i = −0.6·π_i + N(0, 0.5²)` (click-bait converts badly):
//!
//! - `pCTR = σ(β_c + <a_u, b_i> + π_i + s_pos)` (the slot moves clicks only),
//! - `pCVR = σ(β_v + <a_u, M b_i> + q_i + 0.3·<a_u, b_i>)`, `M` a fixed mixing,
//! - `click ~ Bernoulli(pCTR)`, `conversion ~ Bernoulli(pCVR)`, and the label
//!   `purchase = click ∧ conversion`: a conversion without a click is never seen.
//!
//! CVR shares the user and item factors with CTR, so a model that learns
//! them from every impression (ESMM) can estimate CVR where clicks are
//! rare; a CVR model fitted on clicked impressions alone sees a biased and
//! ~10× smaller sample. `true_cvr` is P(conversion | click, impression) for
//! every impression, clicked or not, so CVR estimates are scored over the
//! entire space.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};

use crate::encoded::{EncodedData, FeatureLayout};

pub const USERS: usize = 2000;
pub const ITEMS: usize = 3000;
pub const CATEGORIES: usize = 30;
pub const SEGMENTS: usize = 12;
pub const POSITIONS: usize = 5;
const RANK: usize = 4;
/// Default (train, valid, test) impressions.
pub const DEFAULT_ROWS: [usize; 3] = [200_000, 20_000, 50_000];
pub const DEFAULT_SEED: u64 = 11;

pub fn layout() -> FeatureLayout {
    let field = |name: &str, n: usize| (name.to_owned(), n + 1);
    FeatureLayout {
        sequence_vocab_of: Vec::new(),
        categorical: vec![
            field("user", USERS),
            field("item", ITEMS),
            field("category", CATEGORIES),
            field("segment", SEGMENTS),
            field("position", POSITIONS),
        ],
        numeric: Vec::new(),
        sequences: Vec::new(),
        dense: Vec::new(),
        tasks: vec!["click".into(), "purchase".into()],
    }
}

/// One split: encoded rows (labels click, purchase) and the ground truth.
#[derive(Debug, Clone)]
pub struct ClickConversionSplit {
    pub data: EncodedData,
    pub true_ctr: Vec<f32>,
    /// P(conversion | click) for every impression.
    pub true_cvr: Vec<f32>,
    /// The conversion each impression would have had if clicked: observable
    /// in the label only where `click = 1`.
    pub counterfactual_conversion: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct ClickConversion {
    pub layout: FeatureLayout,
    pub train: ClickConversionSplit,
    pub valid: ClickConversionSplit,
    pub test: ClickConversionSplit,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn dot(a: &[f64; RANK], b: &[f64; RANK]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Generates (train, valid, test) impressions of one seeded ground truth.
pub fn generate(rows: [usize; 3], seed: u64) -> ClickConversion {
    let mut rng = SmallRng::seed_from_u64(seed);
    let normal = |std: f64| Normal::new(0.0, std).expect("valid std");
    let vector = |rng: &mut SmallRng, std: f64| -> [f64; RANK] {
        std::array::from_fn(|_| normal(std).sample(rng))
    };
    let user_vec: Vec<[f64; RANK]> = (0..USERS).map(|_| vector(&mut rng, 0.8)).collect();
    let item_vec: Vec<[f64; RANK]> = (0..ITEMS).map(|_| vector(&mut rng, 0.8)).collect();
    let user_segment: Vec<usize> = (0..USERS).map(|_| rng.random_range(0..SEGMENTS)).collect();
    let item_category: Vec<usize> = (0..ITEMS)
        .map(|_| rng.random_range(0..CATEGORIES))
        .collect();
    let popularity: Vec<f64> = (0..ITEMS).map(|_| normal(0.7).sample(&mut rng)).collect();
    let quality: Vec<f64> = popularity
        .iter()
        .map(|&p| -0.6 * p + normal(0.5).sample(&mut rng))
        .collect();
    // M = 0.8·I + noise: CVR reads the same latent factors, mixed differently.
    let mut mixing = [[0.0; RANK]; RANK];
    for (r, row) in mixing.iter_mut().enumerate() {
        for (c, m) in row.iter_mut().enumerate() {
            *m = if r == c { 0.8 } else { 0.0 };
            *m += normal(0.4).sample(&mut rng);
        }
    }
    let slot = [0.6, 0.2, 0.0, -0.3, -0.6];
    let (ctr_bias, cvr_bias) = (-2.6, -1.3);

    let mut split = |n: usize| {
        let mut data = EncodedData {
            num_rows: n,
            num_categorical: 5,
            num_tasks: 2,
            ..Default::default()
        };
        let mut out = ClickConversionSplit {
            data: EncodedData::default(),
            true_ctr: Vec::with_capacity(n),
            true_cvr: Vec::with_capacity(n),
            counterfactual_conversion: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let user = rng.random_range(0..USERS);
            // Zipf-like: a few items get most impressions.
            let item = (((ITEMS as f64) * rng.random::<f64>().powi(2)) as usize).min(ITEMS - 1);
            let position = rng.random_range(0..POSITIONS);
            let (a, b) = (&user_vec[user], &item_vec[item]);
            let mixed: [f64; RANK] = std::array::from_fn(|r| dot(&mixing[r], b));
            let affinity = dot(a, b);
            let ctr = sigmoid(ctr_bias + affinity + popularity[item] + slot[position]);
            let cvr = sigmoid(cvr_bias + dot(a, &mixed) + quality[item] + 0.3 * affinity);
            let click = rng.random_bool(ctr);
            let conversion = rng.random_bool(cvr);
            data.categorical.extend([
                user as u32 + 1,
                item as u32 + 1,
                item_category[item] as u32 + 1,
                user_segment[user] as u32 + 1,
                position as u32 + 1,
            ]);
            data.labels
                .extend([click as u8 as f32, (click && conversion) as u8 as f32]);
            out.true_ctr.push(ctr as f32);
            out.true_cvr.push(cvr as f32);
            out.counterfactual_conversion.push(conversion as u8 as f32);
        }
        out.data = data;
        out
    };
    let train = split(rows[0]);
    let valid = split(rows[1]);
    let test = split(rows[2]);
    ClickConversion {
        layout: layout(),
        train,
        valid,
        test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_seen_only_after_clicks_and_the_clicked_sample_is_biased() {
        let g = generate([60_000, 10, 10], 3);
        let d = &g.train.data;
        let (click, purchase) = (d.task_labels(0), d.task_labels(1));
        assert!(click.iter().zip(&purchase).all(|(&c, &p)| p <= c));
        let n = click.len() as f64;
        let ctr = click.iter().sum::<f32>() as f64 / n;
        assert!((0.03..0.2).contains(&ctr), "CTR {ctr}");
        let clicks = click.iter().sum::<f32>() as f64;
        let cvr_clicked = purchase.iter().sum::<f32>() as f64 / clicks;
        assert!((0.05..0.5).contains(&cvr_clicked), "CVR {cvr_clicked}");
        // Selection bias: the true CVR averaged over clicked impressions
        // differs from its average over all impressions.
        let all = g.train.true_cvr.iter().map(|&p| p as f64).sum::<f64>() / n;
        let on_clicks = g
            .train
            .true_cvr
            .iter()
            .zip(&click)
            .filter(|&(_, &c)| c > 0.5)
            .map(|(&p, _)| p as f64)
            .sum::<f64>()
            / clicks;
        assert!((all - on_clicks).abs() > 0.01, "{all} vs {on_clicks}");
        let again = generate([60_000, 10, 10], 3);
        assert_eq!(again.train.data, g.train.data);
    }
}
