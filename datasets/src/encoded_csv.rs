//! Encoded rows as CSV: the exact rows a run config trains, validates and
//! tests on (after sampling, vocabularies and normalisation), so another
//! framework can be timed and scored on the same rows (`ember rows`).
//!
//! One column per field in the layout's order (categorical ids, normalised
//! numbers, then sequences and dense vectors as space-separated values with
//! padding dropped), the labels, and `group` where gAUC has one.

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::{DataError, Result};

/// The CSV text of `data`, whose columns `layout` names.
pub fn encoded_to_csv(layout: &FeatureLayout, data: &EncodedData) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = Vec::new();
    header.extend(layout.categorical.iter().map(|(n, _)| n.clone()));
    header.extend(layout.numeric.iter().cloned());
    header.extend(layout.sequences.iter().map(|(n, _, _)| n.clone()));
    header.extend(layout.dense.iter().map(|(n, _)| n.clone()));
    header.extend(layout.tasks.iter().cloned());
    if data.groups.is_some() {
        header.push("group".to_owned());
    }
    let csv_error = |e: csv::Error| DataError::Invalid(format!("writing encoded rows: {e}"));
    out.write_record(&header).map_err(csv_error)?;
    let join = |values: &mut dyn Iterator<Item = String>| values.collect::<Vec<_>>().join(" ");
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for r in 0..data.num_rows {
        record.clear();
        let (c, n, t) = (data.num_categorical, data.num_numeric, data.num_tasks);
        record.extend(
            data.categorical[r * c..(r + 1) * c]
                .iter()
                .map(u32::to_string),
        );
        record.extend(data.numeric[r * n..(r + 1) * n].iter().map(f32::to_string));
        for s in &data.sequences {
            let start = r * s.max_len;
            let real = &s.ids[start..start + s.lengths[r] as usize];
            record.push(join(&mut real.iter().map(u32::to_string)));
        }
        for d in &data.dense {
            let row = &d.values[r * d.dim..(r + 1) * d.dim];
            record.push(join(&mut row.iter().map(f32::to_string)));
        }
        record.extend(data.labels[r * t..(r + 1) * t].iter().map(f32::to_string));
        if let Some(groups) = &data.groups {
            record.push(groups[r].to_string());
        }
        out.write_record(&record).map_err(csv_error)?;
    }
    out.into_inner()
        .map_err(|e| DataError::Invalid(format!("writing encoded rows: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded::EncodedSequence;

    #[test]
    fn one_column_per_field_with_padding_dropped() {
        let layout = FeatureLayout {
            categorical: vec![("user".into(), 3), ("item".into(), 5)],
            numeric: vec!["age".into()],
            sequences: vec![("history".into(), 5, 3)],
            tasks: vec!["click".into()],
            ..FeatureLayout::default()
        };
        let data = EncodedData {
            num_rows: 2,
            categorical: vec![1, 4, 2, 0],
            num_categorical: 2,
            numeric: vec![0.5, -1.0],
            num_numeric: 1,
            sequences: vec![EncodedSequence {
                max_len: 3,
                ids: vec![3, 2, 0, 0, 0, 0],
                lengths: vec![2, 0],
            }],
            dense: Vec::new(),
            labels: vec![1.0, 0.0],
            num_tasks: 1,
            groups: Some(vec![7, 9]),
        };
        let text = String::from_utf8(encoded_to_csv(&layout, &data).unwrap()).unwrap();
        assert_eq!(
            text,
            "user,item,age,history,click,group\n1,4,0.5,3 2,1,7\n2,0,-1,,0,9\n"
        );
    }
}
