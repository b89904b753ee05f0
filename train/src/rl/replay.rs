//! Replay of whole sessions: a recurrent Q-network is trained on complete
//! sequences (its state at slot t depends on every earlier slot), so the
//! unit stored and sampled is a session, not a transition.

use rand::{Rng, rngs::SmallRng};

/// One collected session: the input vector of every decision, the type
/// chosen, and the reward it earned. It ends in a terminal state (the user
/// left, or the last slot was served).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Episode {
    /// `len × width`, row-major.
    pub inputs: Vec<f32>,
    pub actions: Vec<u32>,
    pub rewards: Vec<f32>,
}

impl Episode {
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// A batch of sessions padded to the longest, as flat row-major arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeBatch {
    pub sessions: usize,
    pub slots: usize,
    /// `[B, T, width]`.
    pub inputs: Vec<f32>,
    /// `[B, T]`; 0 on padding.
    pub actions: Vec<i64>,
    pub rewards: Vec<f32>,
    /// 1 on real slots, 0 on padding.
    pub mask: Vec<f32>,
    /// 1 where slot t+1 exists (so the target bootstraps from it).
    pub has_next: Vec<f32>,
}

/// A ring buffer of the most recent `capacity` sessions.
pub struct EpisodeReplay {
    capacity: usize,
    width: usize,
    episodes: Vec<Episode>,
    next: usize,
}

impl EpisodeReplay {
    pub fn new(capacity: usize, width: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            width,
            episodes: Vec::new(),
            next: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    pub fn push(&mut self, episode: Episode) {
        debug_assert_eq!(episode.inputs.len(), episode.len() * self.width);
        if episode.is_empty() {
            return;
        }
        if self.episodes.len() < self.capacity {
            self.episodes.push(episode);
        } else {
            self.episodes[self.next] = episode;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// `size` sessions drawn uniformly with replacement.
    pub fn sample(&self, size: usize, rng: &mut SmallRng) -> EpisodeBatch {
        assert!(!self.episodes.is_empty(), "sampling an empty replay buffer");
        let picks: Vec<&Episode> = (0..size)
            .map(|_| &self.episodes[rng.random_range(0..self.episodes.len())])
            .collect();
        let slots = picks.iter().map(|e| e.len()).max().unwrap_or(0);
        let w = self.width;
        let mut batch = EpisodeBatch {
            sessions: size,
            slots,
            inputs: vec![0.0; size * slots * w],
            actions: vec![0; size * slots],
            rewards: vec![0.0; size * slots],
            mask: vec![0.0; size * slots],
            has_next: vec![0.0; size * slots],
        };
        for (b, e) in picks.iter().enumerate() {
            let row = b * slots;
            batch.inputs[row * w..(row + e.len()) * w].copy_from_slice(&e.inputs);
            for t in 0..e.len() {
                batch.actions[row + t] = e.actions[t] as i64;
                batch.rewards[row + t] = e.rewards[t];
                batch.mask[row + t] = 1.0;
                batch.has_next[row + t] = (t + 1 < e.len()) as u8 as f32;
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn episode(len: usize, tag: f32) -> Episode {
        Episode {
            inputs: vec![tag; len * 2],
            actions: vec![1; len],
            rewards: vec![tag; len],
        }
    }

    #[test]
    fn keeps_the_newest_and_pads_batches() {
        let mut replay = EpisodeReplay::new(2, 2);
        replay.push(episode(3, 1.0));
        replay.push(episode(1, 2.0));
        replay.push(episode(2, 3.0)); // evicts the first
        assert_eq!(replay.len(), 2);
        let mut rng = SmallRng::seed_from_u64(0);
        let batch = replay.sample(8, &mut rng);
        assert_eq!(batch.slots, 2);
        for b in 0..8 {
            let r = &batch.rewards[b * 2..b * 2 + 2];
            let m = &batch.mask[b * 2..b * 2 + 2];
            let n = &batch.has_next[b * 2..b * 2 + 2];
            match r[0] {
                2.0 => assert_eq!((m, n), (&[1.0, 0.0][..], &[0.0, 0.0][..])),
                3.0 => assert_eq!((m, n), (&[1.0, 1.0][..], &[1.0, 0.0][..])),
                other => panic!("evicted episode sampled: {other}"),
            }
        }
    }
}
