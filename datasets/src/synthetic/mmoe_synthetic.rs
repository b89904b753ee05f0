//! mmoe-synthetic: two regression tasks whose correlation is set by `p`
//! (PROTOCOLS.md; the construction of Ma et al., KDD 2018, section 3.2).
//!
//! - `u1, u2`: orthogonal unit vectors in R^d (d = 100), drawn from the seed;
//! - `w1 = c·u1`, `w2 = c·(p·u1 + sqrt(1 − p²)·u2)`, `c = 1`;
//! - `x ~ N(0, I_d)`;
//! - `y_i = w_i·x + Σ_{k=1..10} sin(α_k·w_i·x + β_k) + N(0, 0.01²)`,
//!   `α_k = a·k`, `β_k = k²`, where `a` (`alpha_scale`) is 1 in PROTOCOLS.md.
//!
//! `p` is the cosine of the angle between the two tasks' weight vectors; the
//! sine terms make the tasks non-linear so that the label correlation falls
//! with `p` without being equal to it. How fast it falls is set by the
//! frequencies: two sines `sin(α·z1)`, `sin(α·z2)` of inputs with correlation
//! `p` have correlation about `exp(−α²(1 − p))`, so with the protocol's
//! `α_k = k` up to 10 the labels are nearly unrelated already at p = 0.9
//! (Pearson 0.29; 0.11 at p = 0.5), while `a = 0.1` keeps the label
//! correlation close to p (0.88, 0.46, 0.00 at p = 0.9, 0.5, 0). The input is
//! one dense field `x`.

use rand::{SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, StandardNormal};

use crate::encoded::{EncodedData, EncodedDense, FeatureLayout};
use crate::error::{DataError, Result};

pub const INPUT_DIM: usize = 100;
/// (train, valid, test): the protocol's 10,000 / 1,000 rows plus 1,000
/// validation rows from the same distribution for early stopping.
pub const DEFAULT_ROWS: [usize; 3] = [10_000, 1_000, 1_000];
const NOISE_STD: f64 = 0.01;
const SINES: usize = 10;

pub fn layout() -> FeatureLayout {
    FeatureLayout {
        sequence_vocab_of: Vec::new(),
        categorical: Vec::new(),
        numeric: Vec::new(),
        sequences: Vec::new(),
        dense: vec![("x".into(), INPUT_DIM)],
        tasks: vec!["y1".into(), "y2".into()],
    }
}

/// The ground truth of one (p, seed): the two task weight vectors.
#[derive(Debug, Clone)]
pub struct MmoeSynthetic {
    pub correlation: f64,
    /// `a` in `α_k = a·k`.
    pub alpha_scale: f64,
    pub w1: Vec<f64>,
    pub w2: Vec<f64>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn gaussian(rng: &mut SmallRng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// `y = w·x + Σ_k sin(a·k·w·x + k²)` (`a` = `alpha_scale`), without noise.
fn response(w: &[f64], x: &[f64], alpha_scale: f64) -> f64 {
    let s = dot(w, x);
    s + (1..=SINES)
        .map(|k| (alpha_scale * k as f64 * s + (k * k) as f64).sin())
        .sum::<f64>()
}

impl MmoeSynthetic {
    /// Draws u1, u2 (Gram–Schmidt on two Gaussian vectors) from `rng`.
    fn new(correlation: f64, alpha_scale: f64, rng: &mut SmallRng) -> Self {
        let normalise = |v: Vec<f64>| {
            let n = dot(&v, &v).sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<_>>()
        };
        let u1 = normalise(gaussian(rng, INPUT_DIM));
        let v = gaussian(rng, INPUT_DIM);
        let along = dot(&v, &u1);
        let u2 = normalise(v.iter().zip(&u1).map(|(v, u)| v - along * u).collect());
        let q = (1.0 - correlation * correlation).max(0.0).sqrt();
        Self {
            correlation,
            alpha_scale,
            w1: u1.clone(),
            w2: u1
                .iter()
                .zip(&u2)
                .map(|(a, b)| correlation * a + q * b)
                .collect(),
        }
    }

    fn rows(&self, n: usize, rng: &mut SmallRng) -> EncodedData {
        let noise = rand_distr::Normal::new(0.0, NOISE_STD).expect("valid std");
        let mut values = Vec::with_capacity(n * INPUT_DIM);
        let mut labels = Vec::with_capacity(n * 2);
        for _ in 0..n {
            let x = gaussian(rng, INPUT_DIM);
            labels.push((response(&self.w1, &x, self.alpha_scale) + noise.sample(rng)) as f32);
            labels.push((response(&self.w2, &x, self.alpha_scale) + noise.sample(rng)) as f32);
            values.extend(x.iter().map(|&v| v as f32));
        }
        EncodedData {
            num_rows: n,
            dense: vec![EncodedDense {
                dim: INPUT_DIM,
                values,
            }],
            labels,
            num_tasks: 2,
            ..Default::default()
        }
    }
}

/// Pearson correlation of the two tasks' labels over the rows of `data`.
pub fn label_correlation(data: &EncodedData) -> f64 {
    let (a, b) = (data.task_labels(0), data.task_labels(1));
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| x as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&x| x as f64).sum::<f64>() / n;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(&b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        cov += dx * dy;
        va += dx * dx;
        vb += dy * dy;
    }
    cov / (va * vb).sqrt()
}

/// Generates (train, valid, test) for task correlation `p ∈ [-1, 1]` and
/// sine frequencies `α_k = alpha_scale·k`; the seed fixes both the weight
/// vectors and the rows.
pub fn generate(
    correlation: f64,
    alpha_scale: f64,
    rows: [usize; 3],
    seed: u64,
) -> Result<(MmoeSynthetic, [EncodedData; 3])> {
    if !(-1.0..=1.0).contains(&correlation) {
        return Err(DataError::Invalid(format!(
            "mmoe-synthetic: correlation {correlation} is outside [-1, 1]"
        )));
    }
    if !alpha_scale.is_finite() || alpha_scale < 0.0 {
        return Err(DataError::Invalid(format!(
            "mmoe-synthetic: alpha_scale {alpha_scale} must be a finite number >= 0"
        )));
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let truth = MmoeSynthetic::new(correlation, alpha_scale, &mut rng);
    let splits = rows.map(|n| truth.rows(n, &mut rng));
    Ok((truth, splits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_have_the_asked_cosine_and_labels_decorrelate_as_p_falls() {
        let mut label_corr = Vec::new();
        for p in [1.0, 0.9, 0.5, 0.0] {
            let (truth, [train, _, _]) = generate(p, 1.0, [3000, 10, 10], 5).unwrap();
            let cos = dot(&truth.w1, &truth.w2);
            assert!((cos - p).abs() < 1e-9, "cos {cos} vs p {p}");
            assert!((dot(&truth.w2, &truth.w2) - 1.0).abs() < 1e-9);
            label_corr.push(label_correlation(&train));
        }
        assert!(label_corr[0] > 0.99, "p = 1 gives equal tasks up to noise");
        assert!(
            label_corr.windows(2).all(|w| w[0] > w[1]),
            "label correlation should fall with p: {label_corr:?}"
        );
        assert!(label_corr[3].abs() < 0.1, "{label_corr:?}");
        // The protocol's α_k = k decorrelates the sines long before the
        // weight vectors part: at p = 0.9 the labels are far less related.
        assert!(label_corr[1] < 0.5, "{label_corr:?}");
        assert!(generate(1.5, 1.0, [1, 1, 1], 0).is_err());
        assert!(generate(0.5, -1.0, [1, 1, 1], 0).is_err());
    }

    #[test]
    fn slow_sines_keep_the_label_correlation_near_p() {
        for p in [0.9, 0.5, 0.0] {
            let (_, [train, _, _]) = generate(p, 0.1, [5000, 10, 10], 3).unwrap();
            let corr = label_correlation(&train);
            assert!((corr - p).abs() < 0.1, "p {p}: label correlation {corr}");
        }
    }

    #[test]
    fn seeded() {
        let (_, a) = generate(0.5, 1.0, [50, 5, 5], 1).unwrap();
        let (_, b) = generate(0.5, 1.0, [50, 5, 5], 1).unwrap();
        let (_, c) = generate(0.5, 1.0, [50, 5, 5], 2).unwrap();
        assert_eq!(a[0], b[0]);
        assert_ne!(a[0], c[0]);
    }
}
