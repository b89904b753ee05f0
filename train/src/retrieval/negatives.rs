//! The candidate set of one training batch: the batch's own positives
//! (in-batch negatives for the other rows) followed by optional extra
//! negatives shared by every row, with the masks the losses need.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::Rng;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::SmallRng;

use super::config::NegativeSampler;
use super::loss::CandidateMasks;

/// Draws extra negatives and knows each item's sampling probability.
pub struct NegativeSource {
    sampler: NegativeSampler,
    /// Train frequency of each corpus item, as a probability.
    frequency: Vec<f64>,
    popularity: Option<WeightedIndex<u64>>,
}

impl NegativeSource {
    pub fn new(sampler: NegativeSampler, counts: &[u64]) -> anyhow::Result<Self> {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        let popularity = match sampler {
            NegativeSampler::Popularity => Some(
                WeightedIndex::new(counts)
                    .map_err(|e| anyhow::anyhow!("cannot sample negatives by popularity: {e}"))?,
            ),
            NegativeSampler::Uniform => None,
        };
        Ok(Self {
            sampler,
            frequency: counts.iter().map(|&c| c as f64 / total).collect(),
            popularity,
        })
    }

    pub fn sample(&self, count: usize, rng: &mut SmallRng) -> Vec<u32> {
        let n = self.frequency.len() as u32;
        (0..count)
            .map(|_| match &self.popularity {
                Some(dist) => rng.sample(dist) as u32,
                None => rng.random_range(0..n),
            })
            .collect()
    }

    /// The candidate columns and masks for a batch whose rows have the
    /// positives `positives` (corpus rows), with `extra` appended.
    pub fn candidates(
        &self,
        positives: &[u32],
        extra: &[u32],
        device: &Device,
    ) -> (Vec<u32>, CandidateMasks) {
        let b = positives.len();
        let m = extra.len();
        let items: Vec<u32> = positives.iter().chain(extra).copied().collect();
        let c = items.len();
        let n = self.frequency.len() as f64;
        // Expected count of item j among the candidates: B·p_j for the
        // in-batch columns (positives are drawn by frequency), M·p_j or M/N
        // for the extra ones. Train positives always have p_j > 0.
        let log_q: Vec<f32> = items
            .iter()
            .enumerate()
            .map(|(col, &item)| {
                let p = self.frequency[item as usize].max(1e-12);
                let expected = if col < b {
                    b as f64 * p
                } else {
                    match self.sampler {
                        NegativeSampler::Popularity => m as f64 * p,
                        NegativeSampler::Uniform => m as f64 / n,
                    }
                };
                expected.ln() as f32
            })
            .collect();
        let mut positive = vec![0f32; b * c];
        let mut accidental = vec![0f32; b * c];
        for (i, &target) in positives.iter().enumerate() {
            positive[i * c + i] = 1.0;
            for (j, &item) in items.iter().enumerate() {
                if j != i && item == target {
                    accidental[i * c + j] = 1.0;
                }
            }
        }
        let masks = CandidateMasks {
            positive: Tensor::from_data(TensorData::new(positive, [b, c]), device),
            accidental: Tensor::from_data(TensorData::new(accidental, [b, c]), device),
            log_q: Tensor::from_data(TensorData::new(log_q, [1, c]), device),
        };
        (items, masks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn masks_mark_positives_and_accidental_hits() {
        let device = Device::flex();
        let source = NegativeSource::new(NegativeSampler::Uniform, &[1, 3, 0, 4]).unwrap();
        let (items, m) = source.candidates(&[1, 3, 1], &[3, 2], &device);
        assert_eq!(items, vec![1, 3, 1, 3, 2]);
        let acc = m.accidental.into_data().try_to_vec::<f32>().unwrap();
        // Row 0 (item 1) hits column 2; row 1 (item 3) hits column 3; row 2 hits column 0.
        let want = [
            0., 0., 1., 0., 0., //
            0., 0., 0., 1., 0., //
            1., 0., 0., 0., 0.,
        ];
        assert_eq!(acc, want);
        let lq = m.log_q.into_data().try_to_vec::<f32>().unwrap();
        assert!((lq[0] - (3.0f32 * 3.0 / 8.0).ln()).abs() < 1e-6);
        assert!((lq[4] - (2.0f32 / 4.0).ln()).abs() < 1e-6);

        // Popularity sampling never draws an item with no train positives.
        let pop = NegativeSource::new(NegativeSampler::Popularity, &[1, 3, 0, 4]).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let drawn = pop.sample(2000, &mut rng);
        assert!(!drawn.contains(&2));
        let share3 = drawn.iter().filter(|&&i| i == 3).count() as f64 / 2000.0;
        assert!((share3 - 0.5).abs() < 0.05, "{share3}");
    }
}
