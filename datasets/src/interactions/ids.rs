//! Ids as the data writes them, interned to dense rows.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer};

/// The ids of one kind (users or items) in the order they were first met,
/// each mapped to its row. Ids are kept as text: `7` in a CSV and `7` in a
/// Parquet integer column are the same id, and string ids need no mapping
/// file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdSpace {
    ids: Vec<String>,
    rows: HashMap<String, u32>,
}

impl IdSpace {
    /// The row of `id`, adding it if new; `true` when it was new.
    pub fn intern(&mut self, id: &str) -> (u32, bool) {
        if let Some(&row) = self.rows.get(id) {
            return (row, false);
        }
        let row = self.ids.len() as u32;
        self.ids.push(id.to_owned());
        self.rows.insert(id.to_owned(), row);
        (row, true)
    }

    pub fn row(&self, id: &str) -> Option<u32> {
        self.rows.get(id).copied()
    }

    pub fn id(&self, row: u32) -> &str {
        &self.ids[row as usize]
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Deserialises an id given as a JSON/TOML string or integer (`"u42"`,
/// `42`) into its text, so requests name ids however the data wrote them.
pub fn id_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(IdText::deserialize(deserializer)?.0)
}

/// [`id_text`] for a list of ids.
pub fn id_texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<IdText>::deserialize(deserializer)?
        .into_iter()
        .map(|i| i.0)
        .collect())
}

/// One id, string or integer.
struct IdText(String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IdText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id (a string or an integer)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IdText, E> {
                Ok(IdText(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_first_seen_order() {
        let mut s = IdSpace::default();
        assert_eq!(s.intern("b"), (0, true));
        assert_eq!(s.intern("a"), (1, true));
        assert_eq!(s.intern("b"), (0, false));
        assert_eq!((s.row("a"), s.row("c"), s.id(0)), (Some(1), None, "b"));
    }

    #[test]
    fn ids_read_from_strings_and_integers() {
        #[derive(Deserialize)]
        struct R {
            #[serde(deserialize_with = "id_text")]
            user: String,
            #[serde(deserialize_with = "id_texts")]
            items: Vec<String>,
        }
        let r: R = serde_json::from_str(r#"{"user": 7, "items": ["a", 3, -1]}"#).unwrap();
        assert_eq!(
            (r.user.as_str(), r.items),
            ("7", vec!["a".into(), "3".into(), "-1".into()])
        );
        assert!(serde_json::from_str::<R>(r#"{"user": 1.5, "items": []}"#).is_err());
    }
}
