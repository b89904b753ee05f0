//! The tables' summary of a cell: mean ± sample standard deviation over
//! seeds, with enough decimals for the numbers at hand.

/// Mean and sample standard deviation (0 for a single value).
pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// `mean ± std` with `digits` decimals.
pub(super) fn pm(v: &[f64], digits: usize) -> String {
    let (m, s) = mean_std(v);
    format!("{m:.digits$} ± {s:.digits$}")
}

/// Decimals that show three significant digits of `smallest` (at least 3).
pub(super) fn decimals_for(smallest: f64) -> usize {
    if !(smallest.is_finite() && smallest > 0.0) {
        return 3;
    }
    (2 - smallest.log10().floor() as i64).clamp(3, 9) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_three_significant_digits_of_small_errors() {
        assert_eq!(decimals_for(0.5), 3);
        assert_eq!(decimals_for(12.0), 3);
        assert_eq!(decimals_for(0.0015), 5);
        assert_eq!(format!("{:.*}", decimals_for(0.0015), 0.0015), "0.00150");
        assert_eq!(decimals_for(0.0), 3);
        assert_eq!(decimals_for(f64::NAN), 3);
    }

    #[test]
    fn cells_are_mean_and_sample_std() {
        assert_eq!(pm(&[1.0, 2.0, 3.0], 2), "2.00 ± 1.00");
        assert_eq!(pm(&[0.5], 1), "0.5 ± 0.0");
    }
}
