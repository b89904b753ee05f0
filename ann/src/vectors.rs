//! A set of equal-length vectors in one row-major buffer.

use std::path::Path;

use anyhow::{Result, bail};

use crate::format::{self, Header};

const MAGIC: &[u8; 8] = b"EMBERVEC";
const VERSION: u32 = 1;

/// `len` vectors of dimension `dim`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSet {
    dim: usize,
    data: Vec<f32>,
}

impl VectorSet {
    /// Checks the shape and that every value is finite (a NaN would make
    /// every comparison of the search meaningless).
    pub fn new(dim: usize, data: Vec<f32>) -> Result<Self> {
        if dim == 0 {
            bail!("vectors of dimension 0");
        }
        if !data.len().is_multiple_of(dim) {
            bail!(
                "{} values do not make whole vectors of dimension {dim}",
                data.len()
            );
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            bail!(
                "vector {} has a non-finite value ({}) at position {}",
                i / dim,
                data[i],
                i % dim
            );
        }
        Ok(Self { dim, data })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.dim)
    }

    /// Scales every vector to unit length (a zero vector stays zero).
    pub fn normalised(mut self) -> Self {
        for row in self.data.chunks_exact_mut(self.dim) {
            normalise(row);
        }
        self
    }

    /// Errors unless `query` has this set's dimension and finite values.
    pub fn check_query(&self, query: &[f32]) -> Result<()> {
        if query.len() != self.dim {
            bail!(
                "query vector has dimension {}, the item vectors {}",
                query.len(),
                self.dim
            );
        }
        if query.iter().any(|x| !x.is_finite()) {
            bail!("query vector has a non-finite value");
        }
        Ok(())
    }

    /// The file form: header (magic, version, count, dim, checksum) and
    /// little-endian f32 values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload: Vec<u8> = self.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        format::encode(
            MAGIC,
            VERSION,
            [self.len() as u64, self.dim as u64, 0, 0],
            &payload,
        )
    }

    /// Reads what [`VectorSet::to_bytes`] wrote; `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let (Header { shape, .. }, payload) = format::decode(bytes, MAGIC, VERSION, origin)?;
        let [count, dim, _, _] = shape;
        let want = count.checked_mul(dim).and_then(|n| n.checked_mul(4));
        if dim == 0 || want != Some(payload.len() as u64) {
            bail!(
                "{}: header says {count} vectors of dimension {dim} but the payload has {} bytes",
                origin.display(),
                payload.len()
            );
        }
        let data = payload
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self::new(dim as usize, data).map_err(|e| anyhow::anyhow!("{}: {e}", origin.display()))
    }

    /// Reads a vectors file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read item vectors: {e}", path.display()))?;
        Self::from_bytes(&bytes, path)
    }
}

/// Scales `v` to unit length in place; a zero vector stays zero.
pub fn normalise(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Inner product, written as eight independent accumulators so the
/// compiler vectorises it (a plain `zip().sum()` is one serial chain).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// `out[i] = query · rows[i]` for every row of the row-major `rows`
/// (`out.len()` rows of `query.len()` values): a matrix-vector product.
///
/// Dispatched at run time by `pulp` to the widest SIMD the CPU offers
/// (AVX2 + FMA on today's x86-64): ember is built for the baseline x86-64
/// target, whose SSE2 is half as wide and has no fused multiply-add, and a
/// global `-C target-cpu=native` would tie the binary to the build machine.
pub fn dots(query: &[f32], rows: &[f32], out: &mut [f32]) {
    assert_eq!(
        rows.len(),
        query.len() * out.len(),
        "dots: {} values are not {} rows of dimension {}",
        rows.len(),
        out.len(),
        query.len()
    );
    if query.is_empty() {
        out.fill(0.0);
        return;
    }
    pulp::Arch::new().dispatch(Dots { query, rows, out });
}

struct Dots<'a> {
    query: &'a [f32],
    rows: &'a [f32],
    out: &'a mut [f32],
}

impl pulp::WithSimd for Dots<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let dim = self.query.len();
        let (query, query_tail) = S::as_simd_f32s(self.query);
        for (row, out) in self.rows.chunks_exact(dim).zip(self.out.iter_mut()) {
            let (row, row_tail) = S::as_simd_f32s(row);
            // Two accumulators so consecutive FMAs do not wait on each other.
            let (mut even, mut odd) = (simd.splat_f32s(0.0), simd.splat_f32s(0.0));
            let mut pairs = query.chunks_exact(2).zip(row.chunks_exact(2));
            for (q, r) in &mut pairs {
                even = simd.mul_add_e_f32s(q[0], r[0], even);
                odd = simd.mul_add_e_f32s(q[1], r[1], odd);
            }
            if query.len() % 2 == 1 {
                even = simd.mul_add_e_f32s(query[query.len() - 1], row[row.len() - 1], even);
            }
            let tail: f32 = query_tail.iter().zip(row_tail).map(|(q, r)| q * r).sum();
            *out = simd.reduce_sum_f32s(simd.add_f32s(even, odd)) + tail;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_match_dot_for_any_dimension() {
        for dim in [1, 3, 8, 9, 16, 17, 64, 67] {
            let rows: Vec<f32> = (0..5 * dim).map(|i| (i as f32 * 0.37).sin()).collect();
            let query: Vec<f32> = (0..dim).map(|i| (i as f32 * 1.3).cos()).collect();
            let mut out = vec![f32::NAN; 5];
            dots(&query, &rows, &mut out);
            for (row, got) in rows.chunks_exact(dim).zip(&out) {
                let want = dot(&query, row);
                assert!(
                    (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "dim {dim}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn dot_matches_the_definition_for_any_length() {
        for n in [1, 7, 8, 9, 64, 67] {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 / (i as f32 + 1.0)).collect();
            let want: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64) * (*y as f64))
                .sum();
            assert!((dot(&a, &b) as f64 - want).abs() < 1e-4, "n = {n}");
        }
    }

    #[test]
    fn round_trips_and_rejects_bad_shapes_and_bytes() {
        let set = VectorSet::new(3, vec![3.0, 0.0, 4.0, 0.0, 0.0, 0.0]).unwrap();
        let set = set.normalised();
        assert_eq!(set.row(0), &[0.6, 0.0, 0.8]);
        assert_eq!(set.row(1), &[0.0, 0.0, 0.0]);
        let path = Path::new("items.vec");
        let bytes = set.to_bytes();
        assert_eq!(VectorSet::from_bytes(&bytes, path).unwrap(), set);

        assert!(VectorSet::new(3, vec![1.0; 4]).is_err());
        let err = VectorSet::new(2, vec![1.0, f32::NAN])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("vector 0") && err.contains("position 1"),
            "{err}"
        );
        let err = set.check_query(&[1.0, 2.0]).unwrap_err().to_string();
        assert!(err.contains("dimension 2") && err.contains('3'), "{err}");

        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        let err = VectorSet::from_bytes(&flipped, path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("items.vec") && err.contains("checksum"),
            "{err}"
        );
        let err = VectorSet::from_bytes(&bytes[..bytes.len() - 4], path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
