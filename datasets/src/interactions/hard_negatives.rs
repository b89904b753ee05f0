//! Hard negatives for rankers: per user, the items the recall stage would
//! hand them (a `user,item[,rank]` CSV such as `ember candidates` writes).

use std::path::Path;

use super::log::Interactions;
use super::tables::for_each_row;
use crate::error::{DataError, Result};

/// Candidate items per user row, best first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HardNegatives {
    pub by_user: Vec<Vec<u32>>,
    /// Rows naming a user or item the log does not know (left out).
    pub skipped: u64,
}

impl HardNegatives {
    /// Reads `path` (columns `user` and `item`, in file order per user).
    pub fn read(path: &Path, log: &Interactions) -> Result<Self> {
        let mut out = Self {
            by_user: vec![Vec::new(); log.users.len()],
            skipped: 0,
        };
        for_each_row(path, None, &["user", "item"], |line, cells| {
            let text = |i: usize, field: &str| {
                std::str::from_utf8(cells[i].trim_ascii())
                    .map_err(|_| DataError::malformed(path, Some(line), Some(field), "not UTF-8"))
            };
            let (user, item) = (text(0, "user")?, text(1, "item")?);
            match (log.users.ids.row(user), log.items.ids.row(item)) {
                (Some(u), Some(i)) => out.by_user[u as usize].push(i),
                _ => out.skipped += 1,
            }
            Ok(())
        })?;
        if out.skipped > 0 {
            tracing::warn!(
                file = %path.display(),
                rows = out.skipped,
                "hard negatives naming a user or item the log does not know left out"
            );
        }
        Ok(out)
    }
}
