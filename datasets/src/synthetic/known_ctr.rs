//! A small CTR dataset whose true click probability is known for every row.
//!
//! 6 categorical fields with Zipf-like ids, 2 numeric fields, and
//! `logit = b + Σ_f w_f[id_f] + Σ_{(f,g)} <u_f[id_f], u_g[id_g]> + a·x`,
//! with two pairwise interactions that only factorised models can learn.
//! The AUC of the true probabilities is the ceiling any model can reach.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, Normal};

use crate::encoded::{EncodedData, FeatureLayout};

/// Vocabulary sizes of the 6 categorical fields `c0..c5`.
pub const CARDINALITIES: [usize; 6] = [50, 200, 20, 100, 10, 30];
/// Default (train, valid, test) rows.
pub const DEFAULT_ROWS: [usize; 3] = [20_000, 5_000, 5_000];
pub const DEFAULT_SEED: u64 = 7;
const RANK: usize = 4;

/// One split of generated rows and their true probabilities.
#[derive(Debug, Clone)]
pub struct KnownCtrSplit {
    pub data: EncodedData,
    pub true_prob: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct KnownCtr {
    pub layout: FeatureLayout,
    pub train: KnownCtrSplit,
    pub valid: KnownCtrSplit,
    pub test: KnownCtrSplit,
}

pub fn layout() -> FeatureLayout {
    FeatureLayout {
        sequence_vocab_of: Vec::new(),
        // Local ids 1..=V; 0 stays the OOV id.
        categorical: CARDINALITIES
            .iter()
            .enumerate()
            .map(|(f, &v)| (format!("c{f}"), v + 1))
            .collect(),
        numeric: vec!["x0".into(), "x1".into()],
        sequences: Vec::new(),
        dense: Vec::new(),
        tasks: vec!["click".into()],
    }
}

/// Generates (train, valid, test) rows from one seeded ground truth: each
/// split is drawn from the same distribution, after the ground truth, from
/// the same RNG stream (so the same seed and sizes give the same rows).
pub fn generate(rows: [usize; 3], seed: u64) -> KnownCtr {
    let mut rng = SmallRng::seed_from_u64(seed);
    let normal = |std: f64| Normal::new(0.0, std).expect("valid std");
    // The ground truth.
    let w: Vec<Vec<f64>> = CARDINALITIES
        .iter()
        .map(|&v| (0..v).map(|_| normal(0.6).sample(&mut rng)).collect())
        .collect();
    let u: Vec<Vec<[f64; RANK]>> = CARDINALITIES
        .iter()
        .map(|&v| {
            (0..v)
                .map(|_| std::array::from_fn(|_| normal(0.7).sample(&mut rng)))
                .collect()
        })
        .collect();
    let pairs = [(0usize, 1usize), (2, 3)];
    let a = [0.8, -0.5];
    let bias = -1.0;

    let mut split = |n: usize| {
        let mut data = EncodedData {
            num_rows: n,
            num_categorical: CARDINALITIES.len(),
            num_numeric: 2,
            num_tasks: 1,
            ..Default::default()
        };
        let mut true_prob = Vec::with_capacity(n);
        for _ in 0..n {
            // Zipf-ish: id = floor(V u²), so low ids are frequent.
            let ids: [usize; 6] = std::array::from_fn(|f| {
                let v = CARDINALITIES[f];
                (((v as f64) * rng.random::<f64>().powi(2)) as usize).min(v - 1)
            });
            let x: [f64; 2] = [normal(1.0).sample(&mut rng), normal(1.0).sample(&mut rng)];
            let mut logit = bias + a[0] * x[0] + a[1] * x[1];
            logit += ids.iter().enumerate().map(|(f, &id)| w[f][id]).sum::<f64>();
            for (f, g) in pairs {
                logit += (0..RANK)
                    .map(|k| u[f][ids[f]][k] * u[g][ids[g]][k])
                    .sum::<f64>();
            }
            let p = 1.0 / (1.0 + (-logit).exp());
            data.categorical.extend(ids.iter().map(|&id| id as u32 + 1));
            data.numeric.extend(x.iter().map(|&v| v as f32));
            data.labels.push(rng.random_bool(p) as u8 as f32);
            true_prob.push(p as f32);
        }
        KnownCtrSplit { data, true_prob }
    };
    let train = split(rows[0]);
    let valid = split(rows[1]);
    let test = split(rows[2]);
    KnownCtr {
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
    fn seeded_and_sane() {
        let a = generate([2000, 10, 10], 1);
        let b = generate([2000, 10, 10], 1);
        let c = generate([2000, 10, 10], 2);
        assert_eq!(a.train.data, b.train.data);
        assert_ne!(a.train.data, c.train.data);
        let rate = a.train.data.labels.iter().sum::<f32>() / 2000.0;
        assert!((0.15..0.7).contains(&rate), "positive rate {rate}");
        let mean_p = a.train.true_prob.iter().sum::<f32>() / 2000.0;
        assert!((rate - mean_p).abs() < 0.05);
    }
}
