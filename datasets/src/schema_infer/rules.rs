//! The decision rules: what each profiled column becomes, and why.
//!
//! In order, a column is
//! 1. left out when ember cannot read its type, it is empty, constant,
//!    a timestamp, or unique per row (a row id);
//! 2. a dense vector when every cell is a list of the same number of numbers
//!    (a Parquet list column, or text split on a separator), a sequence when
//!    a separator appears in most cells (or it is a Parquet list of tokens);
//! 3. numeric or categorical by its values: text is categorical; fractions,
//!    or whole numbers written as decimals, are quantities; plain integers
//!    are codes when few and recurring, densely packed or named like an id,
//!    and quantities otherwise;
//! 4. encoded with a vocabulary or hash buckets by its estimated
//!    cardinality (`Cardinality`), normalised by its range and skew.

use std::collections::HashMap;

use arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
use arrow::temporal_conversions::timestamp_s_to_datetime;

use super::SampleSize;
use super::cardinality::Cardinality;
use super::profile::{ColumnProfile, Numbers, Split, Storage, length_counts, quantile};
use super::text::{char_name, count, excerpt, percent, value};
use crate::schema::{FieldKind, FieldSpec, Normalisation};

/// Integers with at most this many distinct values, each recurring in
/// [`CODE_REPEATS`] rows on average, are codes, not amounts.
pub const FEW_CODES: usize = 32;
/// Codes recur; the values of an amount over a wide range mostly do not,
/// so a small sample of one shows few values that each occur once or twice.
pub const CODE_REPEATS: u64 = 3;
/// Separators looked for inside cells (never the file's own delimiter).
/// A space also separates the words of free text, so it only counts when
/// splitting leaves fewer distinct tokens than there were cells.
pub const SEPARATORS: [char; 4] = ['|', ';', ',', ' '];
/// A column is unique per row only if it has at least this many values:
/// in a handful of rows, anything can be unique.
const UNIQUE_FROM: u64 = 20;
/// A sequence's `max_len` covers this share of the lists.
const MAX_LEN_SHARE: f64 = 0.95;
/// Epoch seconds from 1990-01-01 to 2040-01-01: the range a recorded event
/// plausibly has (milliseconds are the same times 1,000).
const EPOCH_SECONDS: (f64, f64) = (631_152_000.0, 2_208_988_800.0);

/// What a column becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    Label,
    Field(FieldSpec),
    /// Left out; the field it would be is written commented out, for a
    /// person to re-enable (`None`: no ember reader takes the column).
    LeftOut(Option<FieldSpec>),
}

/// A column's decision and the one line that says why.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDecision {
    pub name: String,
    pub role: Role,
    pub why: String,
    /// Problems a person must fix before the file loads (labels only).
    pub warnings: Vec<String>,
}

impl ColumnDecision {
    fn keep(spec: FieldSpec, why: String) -> Self {
        Self {
            name: spec.name.clone(),
            role: Role::Field(spec),
            why,
            warnings: Vec::new(),
        }
    }

    pub fn left_out(name: &str, fallback: Option<FieldSpec>, why: String) -> Self {
        Self {
            name: name.to_owned(),
            role: Role::LeftOut(fallback),
            why,
            warnings: Vec::new(),
        }
    }

    /// The field, whether kept or left out.
    pub fn spec(&self) -> Option<&FieldSpec> {
        match &self.role {
            Role::Field(spec) | Role::LeftOut(Some(spec)) => Some(spec),
            _ => None,
        }
    }
}

/// What the rules need beyond the column: the sample size (to extrapolate
/// cardinality) and the file's delimiter (never a separator inside cells).
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub size: SampleSize,
    pub delimiter: Option<char>,
}

/// A label column: kept whatever it holds, with a warning for what would
/// stop it from loading or training as a click / conversion label.
pub fn label(p: &ColumnProfile) -> ColumnDecision {
    let mut warnings = Vec::new();
    let numbers_readable = match p.storage {
        Storage::Text { numbers_ok, .. } => numbers_ok,
        Storage::Number { .. } => true,
        _ => false,
    };
    let why = match p.numbers() {
        _ if p.filled() == 0 => {
            warnings.push("every sampled cell is empty".into());
            "empty".into()
        }
        Some(n) if numbers_readable => {
            if n.sorted.iter().all(|&(x, _)| x == 0.0 || x == 1.0) {
                let ones: u64 = n.sorted.iter().filter(|e| e.0 == 1.0).map(|e| e.1).sum();
                format!(
                    "0/1 in {} rows, {} of them 1 ({})",
                    count(n.count),
                    count(ones),
                    percent(ones, n.count)
                )
            } else {
                let range = format!("{}..{}", value(n.min()), value(n.max()));
                warnings.push(format!(
                    "values {range}, not 0/1: fine for a regression task, not for a click or conversion loss"
                ));
                format!("numbers {range}")
            }
        }
        Some(_) => {
            warnings.push(
                "numbers stored as strings: the Parquet reader needs a number or boolean label column"
                    .into(),
            );
            "numbers stored as strings".into()
        }
        None => {
            let word = p
                .values
                .keys()
                .filter(|v| v.parse::<f64>().is_err())
                .min()
                .map_or("", String::as_str);
            warnings.push(format!(
                "'{}' is not a number: ember reads labels as numbers, recode the column to 0/1",
                excerpt(word)
            ));
            "text values".into()
        }
    };
    if p.empty > 0 && p.filled() > 0 {
        warnings.push(format!(
            "{} of {} cells are empty: ember rejects a row without its label",
            count(p.empty),
            count(p.rows)
        ));
    }
    ColumnDecision {
        name: p.name.clone(),
        role: Role::Label,
        why,
        warnings,
    }
}

/// A column that is not a label.
pub fn field(p: &ColumnProfile, ctx: &Context) -> ColumnDecision {
    let name = p.name.as_str();
    if let Storage::Unreadable {
        type_name,
        temporal,
    } = &p.storage
    {
        let why = if *temporal {
            format!(
                "column type {type_name}: looks like a timestamp; ember reads no date or time type (cast it to an integer to use it)"
            )
        } else {
            format!("column type {type_name} is not one ember reads")
        };
        return ColumnDecision::left_out(name, None, why);
    }
    if p.filled() == 0 {
        return ColumnDecision::left_out(
            name,
            Some(FieldSpec::categorical(name)),
            format!("all {} sampled cells are empty", count(p.rows)),
        );
    }
    if let Storage::List { numbers, floating } = p.storage {
        return list_column(p, numbers, floating, ctx);
    }
    if let Some((only, _)) = p.mode().filter(|_| p.distinct() == 1) {
        let spec = if categorical_ok(&p.storage) {
            FieldSpec::categorical(name)
        } else {
            FieldSpec::numeric(name, Normalisation::None)
        };
        if p.empty == 0 {
            return ColumnDecision::left_out(
                name,
                Some(spec),
                format!(
                    "one value ('{}') in all {} rows: constant, nothing to learn",
                    excerpt(only),
                    count(p.rows)
                ),
            );
        }
        // A value or nothing: whether the cell is filled is what it says.
        return ColumnDecision::keep(
            spec,
            format!(
                "one value ('{}') in {} rows, empty in {}: a presence flag",
                excerpt(only),
                count(p.filled()),
                count(p.empty)
            ),
        );
    }
    if let Some(why) = timestamp(p) {
        return ColumnDecision::left_out(
            name,
            Some(FieldSpec::numeric(name, Normalisation::Standard)),
            why,
        );
    }
    if let Storage::Text {
        sequence_ok,
        dense_ok,
        ..
    } = p.storage
        && let Some(decision) = separated(p, ctx, sequence_ok, dense_ok)
    {
        return decision;
    }
    scalar(p, ctx)
}

fn categorical_ok(storage: &Storage) -> bool {
    !matches!(
        storage,
        Storage::Number {
            categorical_ok: false,
            ..
        }
    )
}

/// "200 rows" or "110 non-empty of 200 rows".
fn cells(p: &ColumnProfile) -> String {
    if p.empty == 0 {
        format!("{} rows", count(p.rows))
    } else {
        format!("{} non-empty of {} rows", count(p.filled()), count(p.rows))
    }
}

/// One value per cell: categorical or numeric.
fn scalar(p: &ColumnProfile, ctx: &Context) -> ColumnDecision {
    let name = p.name.as_str();
    let (numbers_ok, floating_type) = match p.storage {
        Storage::Text { numbers_ok, .. } => (numbers_ok, false),
        Storage::Number { floating, .. } => (true, floating),
        _ => (false, false),
    };
    let numbers = p.numbers();
    let card = Cardinality::of(&p.values, p.filled(), ctx.size);
    let distinct = format!(
        "{} distinct in {} ({}{})",
        count(card.seen),
        cells(p),
        percent(card.seen, p.filled()),
        card.estimate_note()
    );
    let categorical = |why: String| {
        let (encoding, encoding_why) = card.encoding();
        ColumnDecision::keep(
            FieldSpec::categorical(name).with_encoding(encoding),
            format!("{why}: categorical, {encoding_why}"),
        )
    };
    // Text and plain integers can be ids; a different one in every row
    // identifies the row and generalises to nothing.
    let id_like = numbers
        .as_ref()
        .is_none_or(|n| n.integers && !n.decimal_text && !floating_type);
    if id_like && p.distinct() as u64 == p.filled() && p.filled() >= UNIQUE_FROM {
        return ColumnDecision::left_out(
            name,
            Some(FieldSpec::categorical(name).with_encoding(card.encoding().0)),
            format!(
                "{distinct}: a different value in every row, unique per row (a row id), nothing to learn"
            ),
        );
    }
    let Some(n) = numbers else {
        return categorical(format!("text values, {distinct}"));
    };
    if !numbers_ok {
        return categorical(format!(
            "numbers stored as strings, {distinct} (the Parquet reader reads a string column only as tokens)"
        ));
    }
    let range = format!("{}..{}", value(n.min()), value(n.max()));
    let numeric = |why: String| numeric(p, &n, why);
    if !n.integers || !categorical_ok(&p.storage) {
        return numeric(format!(
            "numbers with fractions, {} distinct, {range}",
            count(n.distinct() as u64)
        ));
    }
    if floating_type || n.decimal_text {
        let written = if floating_type {
            "stored as floating point".to_owned()
        } else {
            let example = p
                .values
                .keys()
                .filter(|v| v.contains(['.', 'e', 'E']))
                .min()
                .map_or("", String::as_str);
            format!("written as decimals ('{}')", excerpt(example))
        };
        return numeric(format!(
            "whole numbers {written}, so amounts, not codes; {} distinct, {range}",
            count(n.distinct() as u64)
        ));
    }
    if looks_like_id(name) {
        return categorical(format!("integers named like an id, {distinct}"));
    }
    if n.distinct() <= FEW_CODES && n.count >= CODE_REPEATS * n.distinct() as u64 {
        return categorical(format!(
            "only {} distinct integers ({range}) in {}, so codes",
            count(n.distinct() as u64),
            cells(p)
        ));
    }
    let span = n.max() - n.min() + 1.0;
    if n.min() >= 0.0 && n.distinct() as f64 * 2.0 >= span {
        return categorical(format!(
            "{distinct}, integers filling {} of {range}, so label-encoded ids",
            percent(n.distinct() as u64, span as u64)
        ));
    }
    let not_codes = if n.distinct() > FEW_CODES {
        "too many for codes".to_owned()
    } else {
        format!("too rarely recurring for codes in {}", cells(p))
    };
    numeric(format!(
        "{} distinct integers over {range}, {not_codes}",
        count(n.distinct() as u64)
    ))
}

/// A numeric field and its normalisation.
fn numeric(p: &ColumnProfile, n: &Numbers, why: String) -> ColumnDecision {
    let (normalisation, normalisation_why) = if n.min() >= 0.0 && n.max() <= 1.0 {
        (Normalisation::None, "as is: already within 0..1".to_owned())
    } else if n.min() >= -1.0 && n.skewness >= 1.0 {
        let negatives = if n.min() < 0.0 {
            " (a -1 reads as 0)"
        } else {
            ""
        };
        (
            Normalisation::Log1p,
            format!(
                "log1p as it is non-negative{negatives} and right-skewed (skewness {:.1})",
                n.skewness
            ),
        )
    } else {
        (
            Normalisation::Standard,
            format!(
                "standard (mean {}, std {}, skewness {:.1})",
                value(n.mean),
                value(n.std),
                n.skewness
            ),
        )
    };
    let empty = if p.empty > 0 {
        format!(
            "; {} of {} rows empty, filled with 0",
            count(p.empty),
            count(p.rows)
        )
    } else {
        String::new()
    };
    ColumnDecision::keep(
        FieldSpec::numeric(&p.name, normalisation),
        format!("{why}: numeric, {normalisation_why}{empty}"),
    )
}

/// Epoch seconds or milliseconds over a plausible range, or ISO-8601 text.
fn timestamp(p: &ColumnProfile) -> Option<String> {
    if let Some(n) = p.numbers() {
        if !n.integers {
            return None;
        }
        let (lo, hi) = (n.min(), n.max());
        let units = [("seconds", 1.0), ("milliseconds", 1_000.0)];
        return units.into_iter().find_map(|(unit, per_second)| {
            (lo >= EPOCH_SECONDS.0 * per_second && hi < EPOCH_SECONDS.1 * per_second).then(|| {
                let date = |x: f64| {
                    timestamp_s_to_datetime((x / per_second) as i64)
                        .map_or(String::new(), |d| d.date().to_string())
                };
                format!(
                    "integers {}..{} are epoch {unit} from {} to {}: looks like a timestamp",
                    value(lo),
                    value(hi),
                    date(lo),
                    date(hi)
                )
            })
        });
    }
    let iso = matches!(p.storage, Storage::Text { .. })
        && p.values
            .keys()
            .all(|v| v.contains('-') && string_to_timestamp_nanos(v).is_ok());
    iso.then(|| {
        let first = p.values.keys().min().map_or("", String::as_str);
        let last = p.values.keys().max().map_or("", String::as_str);
        format!(
            "every value is an ISO-8601 date or time, {} to {}: looks like a timestamp",
            excerpt(first),
            excerpt(last)
        )
    })
}

/// A text column whose cells are lists: a separator in most cells.
fn separated(
    p: &ColumnProfile,
    ctx: &Context,
    sequence_ok: bool,
    dense_ok: bool,
) -> Option<ColumnDecision> {
    let filled = p.filled();
    let mut best: Option<Split> = None;
    for separator in SEPARATORS {
        if Some(separator) == ctx.delimiter {
            continue;
        }
        let split = p.split(separator);
        let most = split.cells_with * 2 > filled;
        let words = separator == ' ' && split.tokens.len() >= p.distinct();
        if most
            && !words
            && best
                .as_ref()
                .is_none_or(|b| split.cells_with > b.cells_with)
        {
            best = Some(split);
        }
    }
    let split = best?;
    let name = p.name.as_str();
    let share = format!(
        "{} in {} of {} non-empty cells ({})",
        char_name(split.separator),
        count(split.cells_with),
        count(filled),
        percent(split.cells_with, filled)
    );
    let numbers = Numbers::of(split.tokens.iter().map(|(t, &c)| (t.as_str(), c)));
    if let Some(n) = &numbers {
        let dense = |dim: usize| FieldSpec {
            kind: FieldKind::Dense {
                dim,
                separator: split.separator,
            },
            ..FieldSpec::categorical(name)
        };
        if let [(dim, _)] = split.lengths[..] {
            let why = format!("{share}, each a list of {dim} numbers: dense, dim {dim}");
            if !dense_ok {
                return Some(ColumnDecision::left_out(
                    name,
                    Some(dense(dim)),
                    format!(
                        "{why}; but the Parquet reader takes vectors only from list or Utf8 columns"
                    ),
                ));
            }
            if p.empty > 0 || split.empty_parts {
                return Some(ColumnDecision::left_out(
                    name,
                    Some(dense(dim)),
                    format!(
                        "{why}; but some cells or list entries are empty ({} empty cells), and a dense field needs all {dim} values in every row",
                        count(p.empty)
                    ),
                ));
            }
            return Some(ColumnDecision::keep(dense(dim), why));
        }
        if !n.integers {
            return Some(ColumnDecision::left_out(
                name,
                Some(FieldSpec::sequence(name, split.longest())),
                format!(
                    "{share}, lists of {}..{} numbers with fractions: not a fixed-size vector, and fractions are no ids",
                    split.lengths[0].0,
                    split.longest()
                ),
            ));
        }
    }
    if !sequence_ok {
        return None;
    }
    Some(sequence(
        name,
        split.separator,
        &split.tokens,
        &split.lengths,
        share,
        ctx,
    ))
}

/// A list column of a Parquet file: dense when numbers of one length,
/// a sequence of tokens otherwise.
fn list_column(p: &ColumnProfile, numbers: bool, floating: bool, ctx: &Context) -> ColumnDecision {
    let name = p.name.as_str();
    let lengths = length_counts(&p.list_lengths);
    let shortest = lengths.first().map_or(0, |e| e.0);
    let longest = lengths.last().map_or(0, |e| e.0);
    if numbers {
        if let [(dim, _)] = lengths[..]
            && dim > 0
        {
            let why = format!(
                "a list of {dim} numbers in each of {}: dense, dim {dim}",
                cells(p)
            );
            let spec = FieldSpec::dense(name, dim);
            if p.empty > 0 {
                return ColumnDecision::left_out(
                    name,
                    Some(spec),
                    format!("{why}; but null lists cannot be read as vectors"),
                );
            }
            return ColumnDecision::keep(spec, why);
        }
        if floating {
            return ColumnDecision::left_out(
                name,
                Some(FieldSpec::sequence(name, longest)),
                format!(
                    "lists of {shortest}..{longest} floating-point numbers: not a fixed-size vector, and fractions are no ids"
                ),
            );
        }
    }
    let what = format!("a list column, {shortest}..{longest} entries per list");
    sequence(name, '|', &p.values, &lengths, what, ctx)
}

/// A sequence field over `tokens`, `max_len` from the list lengths.
fn sequence(
    name: &str,
    separator: char,
    tokens: &HashMap<String, u64>,
    lengths: &[(usize, u64)],
    what: String,
    ctx: &Context,
) -> ColumnDecision {
    let max_len = quantile(lengths, MAX_LEN_SHARE).max(1);
    let longest = lengths.last().map_or(0, |e| e.0);
    let occurrences = tokens.values().sum();
    let card = Cardinality::of(tokens, occurrences, ctx.size);
    let (encoding, encoding_why) = card.encoding();
    let spec = FieldSpec {
        kind: FieldKind::Sequence { max_len, separator },
        ..FieldSpec::categorical(name).with_encoding(encoding)
    };
    ColumnDecision::keep(
        spec,
        format!(
            "{what}: sequence of {} distinct tokens{}, max_len {max_len} (95% of lists; the longest has {longest}), {encoding_why}",
            count(card.seen),
            card.estimate_note()
        ),
    )
}

/// A name's words, lower case: `userId`, `user_id` and `User ID` all give
/// `["user", "id"]`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        let boundary = !c.is_alphanumeric() || (c.is_uppercase() && previous_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
        previous_lower = c.is_lowercase();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Named like an identifier: `id`, `movie_id`, `userId`, `uid`, `userid`.
pub fn looks_like_id(name: &str) -> bool {
    let words = words(name);
    let joined = words.concat();
    matches!(words.last().map(String::as_str), Some("id" | "ids" | "uid"))
        || joined.ends_with("userid")
        || joined.ends_with("itemid")
}

/// Named like a user id (`user`, `user_id`, `userId`, `uid`): what gAUC
/// groups rows by.
pub fn looks_like_user(name: &str) -> bool {
    matches!(words(name).concat().as_str(), "user" | "userid" | "uid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Encoding;

    fn profile(name: &str, cells: &[&str]) -> ColumnProfile {
        let mut p = ColumnProfile::new(name, Storage::csv());
        for c in cells {
            p.push(Some(c));
        }
        p
    }

    fn decide(name: &str, cells: &[&str]) -> ColumnDecision {
        let ctx = Context {
            size: SampleSize {
                rows: cells.len() as u64,
                file_rows: cells.len() as u64,
                whole_file: true,
            },
            delimiter: Some(','),
        };
        field(&profile(name, cells), &ctx)
    }

    fn kind(d: &ColumnDecision) -> &FieldKind {
        &d.spec().unwrap().kind
    }

    #[test]
    fn names() {
        assert_eq!(words("userId"), ["user", "id"]);
        assert_eq!(words("User ID"), ["user", "id"]);
        assert!(looks_like_id("movie_id") && looks_like_id("userid") && looks_like_id("id"));
        assert!(!looks_like_id("paid") && !looks_like_id("valid"));
        assert!(looks_like_user("user_id") && looks_like_user("UserId") && looks_like_user("uid"));
        assert!(!looks_like_user("user_age"));
    }

    #[test]
    fn numbers_codes_and_words() {
        let many: Vec<String> = (0..60u64).map(|i| i.pow(4).to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let d = decide("amount", &[&many[..], &many[..]].concat());
        assert_eq!(*kind(&d), FieldKind::Numeric, "{}", d.why);
        assert_eq!(
            d.spec().unwrap().normalisation,
            Normalisation::Log1p,
            "{}",
            d.why
        );
        let d = decide("code", &["1", "2", "3", "1", "2", "3", "1", "2", "3"]);
        assert_eq!(*kind(&d), FieldKind::Categorical);
        assert!(
            d.why
                .contains("only 3 distinct integers (1..3) in 9 rows, so codes"),
            "{}",
            d.why
        );
        // Few values, but hardly any recurs: a small sample of an amount.
        let d = decide("clicks", &["0", "3", "40", "1", "900", "7", "3"]);
        assert_eq!(*kind(&d), FieldKind::Numeric, "{}", d.why);
        assert!(
            d.why.contains("too rarely recurring for codes in 7 rows"),
            "{}",
            d.why
        );
        let d = decide("count", &["1.0", "2.0", "3.0", "1.0"]);
        assert_eq!(*kind(&d), FieldKind::Numeric, "{}", d.why);
        assert!(d.why.contains("written as decimals ('1.0')"), "{}", d.why);
        let d = decide("score", &["0.5", "0.25", "", "0.75"]);
        assert_eq!(d.spec().unwrap().normalisation, Normalisation::None);
        assert!(
            d.why.contains("1 of 4 rows empty, filled with 0"),
            "{}",
            d.why
        );
        let d = decide("temp", &["-5.5", "3", "10", "-2"]);
        assert_eq!(d.spec().unwrap().normalisation, Normalisation::Standard);
        let d = decide("city", &["paris", "rome", "paris"]);
        assert!(
            d.why.contains("text values, 2 distinct in 3 rows (67%)"),
            "{}",
            d.why
        );
        assert_eq!(d.spec().unwrap().encoding, Encoding::Vocab { min_count: 1 });
    }

    #[test]
    fn left_out_columns_say_why() {
        let ids: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let d = decide("row", &ids);
        assert!(matches!(d.role, Role::LeftOut(Some(_))), "{d:?}");
        assert!(d.why.contains("unique per row"), "{}", d.why);
        let d = decide("k", &["7", "7", "7"]);
        assert!(matches!(d.role, Role::LeftOut(Some(_))));
        assert!(d.why.contains("one value ('7') in all 3 rows"), "{}", d.why);
        let d = decide("k", &["7", "", "7"]);
        assert!(matches!(d.role, Role::Field(_)), "a presence flag is kept");
        let d = decide("ts", &["978300760", "978302109", "978301968"]);
        assert!(matches!(d.role, Role::LeftOut(_)));
        assert!(d.why.contains("epoch seconds from 2000-12-31"), "{}", d.why);
        let d = decide("ms", &["978300760000", "978302109000"]);
        assert!(d.why.contains("epoch milliseconds"), "{}", d.why);
        let d = decide(
            "day",
            &["2024-01-31", "2024-02-01T10:00:00", "2023-12-31 09:15:00"],
        );
        assert!(d.why.contains("ISO-8601"), "{}", d.why);
        let d = decide("e", &["", ""]);
        assert!(d.why.contains("all 2 sampled cells are empty"), "{}", d.why);
    }

    #[test]
    fn lists_in_cells() {
        let d = decide("genres", &["a|b", "c", "a|c|d", "b|d"]);
        assert_eq!(
            *kind(&d),
            FieldKind::Sequence {
                max_len: 3,
                separator: '|'
            },
            "{}",
            d.why
        );
        assert!(
            d.why.contains("'|' in 3 of 4 non-empty cells (75%)"),
            "{}",
            d.why
        );
        let d = decide("vec", &["0.1;0.2", "0.3;0.4", "1;2"]);
        assert_eq!(
            *kind(&d),
            FieldKind::Dense {
                dim: 2,
                separator: ';'
            },
            "{}",
            d.why
        );
        let d = decide("vec", &["0.1;0.2", "", "1;2"]);
        assert!(matches!(d.role, Role::LeftOut(Some(_))), "{}", d.why);
        // Words are not a sequence; the file's delimiter is never a separator.
        let d = decide("title", &["Toy Story", "Heat", "Toy Soldiers"]);
        assert_eq!(*kind(&d), FieldKind::Categorical, "{}", d.why);
    }

    #[test]
    fn labels_warn_about_what_will_not_train() {
        let ok = label(&profile("click", &["0", "1", "0", "0"]));
        assert!(ok.warnings.is_empty());
        assert_eq!(ok.why, "0/1 in 4 rows, 1 of them 1 (25%)");
        let rating = label(&profile("rating", &["1", "5", "3"]));
        assert!(
            rating.warnings[0].contains("values 1..5, not 0/1"),
            "{rating:?}"
        );
        let words = label(&profile("y", &["yes", "no", ""]));
        assert!(
            words.warnings[0].contains("'no' is not a number"),
            "{words:?}"
        );
        assert!(
            words.warnings[1].contains("1 of 3 cells are empty"),
            "{words:?}"
        );
    }
}
