//! How numbers read in the `# why` comments: counts with thousands
//! separators, values as short as they can be, shares as whole percents.

/// `1842` → `1,842`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value as a person reads it: whole numbers (and anything from 100 on,
/// rounded) with separators (`-1`, `65,535`), others with up to two
/// decimals, or four below 1 (`2.5`, `0.0615`).
pub fn value(x: f64) -> String {
    if (x.fract() == 0.0 || x.abs() >= 100.0) && x.abs() < 1e15 {
        let sign = if x < 0.0 { "-" } else { "" };
        return format!("{sign}{}", count(x.abs().round() as u64));
    }
    let text = if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    };
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `part` of `whole` as a whole percent, at least `<1%` when not zero.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".into();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if p > 0.0 && p < 1.0 {
        "<1%".into()
    } else {
        format!("{p:.0}%")
    }
}

/// A cell quoted in a comment: one line, at most 40 characters.
pub fn excerpt(cell: &str) -> String {
    let line: String = cell
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match line.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None => line,
    }
}

/// A separator or delimiter as the comments name it.
pub fn char_name(c: char) -> String {
    match c {
        '\t' => "tab".into(),
        ' ' => "space".into(),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_842), "1,842");
        assert_eq!(count(45_840_617), "45,840,617");
        assert_eq!(value(65_535.0), "65,535");
        assert_eq!(value(-1.0), "-1");
        assert_eq!(value(0.0615), "0.0615");
        assert_eq!(value(2.5), "2.5");
        assert_eq!(value(17_312.96), "17,313");
        assert_eq!(percent(1_842, 10_000), "18%");
        assert_eq!(percent(1, 1_000), "<1%");
    }
}
