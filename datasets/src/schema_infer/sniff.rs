//! The text's dialect: which delimiter splits it, and whether its first row
//! is a header. Both are read off the first lines, parsed by the `csv` crate
//! (so quoted cells count as one), and both say why.

use super::text;

/// The delimiters tried, in order of preference on a tie.
pub const DELIMITERS: [char; 4] = [',', '\t', '|', ';'];

/// Lines the dialect is read from.
const SNIFF_LINES: usize = 100;

/// How a text file is delimited, and why we think so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: char,
    pub delimiter_why: String,
    pub has_header: bool,
    pub header_why: String,
}

/// Reads the dialect off the start of a file. `head` holds its first bytes;
/// `complete` says whether that is the whole file (else the last, possibly
/// cut, line is ignored).
pub fn sniff(head: &[u8], complete: bool) -> Dialect {
    let head = if complete {
        head
    } else {
        head.iter()
            .rposition(|&b| b == b'\n')
            .map_or(head, |end| &head[..=end])
    };
    let (delimiter, delimiter_why) = choose_delimiter(head);
    let rows = records(head, delimiter);
    let (has_header, header_why) = detect_header(&rows);
    Dialect {
        delimiter,
        delimiter_why,
        has_header,
        header_why,
    }
}

/// The first lines' cells, split on `delimiter` (quote-aware).
fn records(head: &[u8], delimiter: char) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .has_headers(false)
        .flexible(true)
        .from_reader(head)
        .byte_records()
        .take(SNIFF_LINES)
        .map_while(|r| r.ok())
        .map(|r| {
            r.iter()
                .map(|c| String::from_utf8_lossy(c).trim().to_owned())
                .collect()
        })
        .collect()
}

/// The delimiter under which the most lines agree on a column count (more
/// columns breaking a tie): a delimiter that also appears inside cells
/// (`|` in genre lists, `,` in titles) gives ragged counts and loses.
fn choose_delimiter(head: &[u8]) -> (char, String) {
    let mut best: Option<(char, usize, usize, usize)> = None;
    for d in DELIMITERS {
        let counts: Vec<usize> = records(head, d).iter().map(Vec::len).collect();
        let Some(columns) = most_common(&counts) else {
            continue;
        };
        let agreeing = counts.iter().filter(|&&c| c == columns).count();
        if columns < 2 {
            continue;
        }
        let better = best.is_none_or(|(_, a, c, _)| (agreeing, columns) > (a, c));
        if better {
            best = Some((d, agreeing, columns, counts.len()));
        }
    }
    match best {
        Some((d, agreeing, columns, lines)) if agreeing == lines => (
            d,
            format!(
                "the first {} lines all split into {columns} columns on {}",
                text::count(lines as u64),
                text::char_name(d)
            ),
        ),
        Some((d, agreeing, columns, lines)) => (
            d,
            format!(
                "{} of the first {} lines split into {columns} columns on {}, more than on any other",
                text::count(agreeing as u64),
                text::count(lines as u64),
                text::char_name(d)
            ),
        ),
        None => (
            ',',
            "no comma, tab, '|' or ';' splits the lines: one column".into(),
        ),
    }
}

/// The most frequent value (the smallest on a tie).
fn most_common(values: &[usize]) -> Option<usize> {
    let mut counts = std::collections::BTreeMap::new();
    for &v in values {
        *counts.entry(v).or_insert(0usize) += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(v, _)| v)
}

fn is_number(cell: &str) -> bool {
    cell.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Whether the first row names the columns. Evidence, strongest first:
/// a first-row cell that recurs below it in its column is data; a
/// non-number heading a column of numbers is a name. With neither (an
/// all-text file whose first row is unlike the rest), a row of distinct
/// non-numbers is taken for a header.
fn detect_header(rows: &[Vec<String>]) -> (bool, String) {
    let Some(first) = rows.first() else {
        return (true, "no rows".into());
    };
    let body = &rows[1..];
    let column = |j: usize| {
        body.iter()
            .filter_map(move |r| r.get(j))
            .filter(|c| !c.is_empty())
    };
    for (j, cell) in first.iter().enumerate() {
        if !cell.is_empty() && column(j).any(|c| c == cell) {
            return (
                false,
                format!(
                    "'{}' in the first row recurs below it: the first row is data",
                    text::excerpt(cell)
                ),
            );
        }
    }
    for (j, cell) in first.iter().enumerate() {
        let mut below = column(j).peekable();
        if !cell.is_empty()
            && !is_number(cell)
            && below.peek().is_some()
            && below.all(|c| is_number(c))
        {
            return (
                true,
                format!("'{}' heads a column of numbers", text::excerpt(cell)),
            );
        }
    }
    if body.is_empty() {
        return if first.iter().any(|c| is_number(c)) {
            (false, "the only row holds numbers: data".into())
        } else {
            (true, "the only row holds no numbers: a header".into())
        };
    }
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    if distinct.len() == first.len() && first.iter().all(|c| !c.is_empty() && !is_number(c)) {
        (
            true,
            "the first row's cells are distinct words that never recur below: a header".into(),
        )
    } else {
        (
            false,
            "the first row has empty, repeated or numeric cells: data".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_one_the_lines_agree_on() {
        let d = sniff(b"a,genres,b\n1,x|y|z,2\n3,x,4\n5,\"p,q\",6\n", true);
        assert_eq!(d.delimiter, ',');
        assert!(
            d.delimiter_why.contains("all split into 3 columns"),
            "{}",
            d.delimiter_why
        );
        let d = sniff(b"1|Toy Story (1995)|a, b|0\n2|GoldenEye|c|1\n", true);
        assert_eq!(d.delimiter, '|');
        let d = sniff(b"x\ty\n1\t2\n", true);
        assert_eq!(d.delimiter, '\t');
        let d = sniff(b"only\none\ncolumn\n", true);
        assert!(d.delimiter_why.contains("one column"));
        // A cut last line does not count.
        let d = sniff(b"a;b;c\n1;2;3\n4;5", false);
        assert_eq!(d.delimiter, ';');
        assert!(
            d.delimiter_why.contains("first 2 lines"),
            "{}",
            d.delimiter_why
        );
    }

    #[test]
    fn header_or_data() {
        let d = sniff(b"label,I1,C1\n0,3.0,abc\n1,,def\n", true);
        assert!(d.has_header);
        assert!(
            d.header_why.contains("'label' heads a column of numbers"),
            "{}",
            d.header_why
        );
        let d = sniff(b"0,3.0,abc\n1,,def\n0,5,abc\n", true);
        assert!(!d.has_header);
        assert!(d.header_why.contains("recurs"), "{}", d.header_why);
        let d = sniff(b"city,tag\nparis,a\nrome,b\n", true);
        assert!(d.has_header);
        let d = sniff(b"1,2\n3,4\n", true);
        assert!(!d.has_header, "{}", d.header_why);
    }
}
