//! The interaction log, the general source of a recommender's data: who
//! saw or did what to which item, when (events), what the users and items
//! are (side tables), and optionally content vectors of the items.
//!
//! Everything downstream derives from one log and its [`LogSplit`]:
//! two-tower training data ([`crate::retrieval`]), implicit-feedback ranker
//! rows with sampled negatives and a behaviour history
//! ([`crate::implicit`]), and the serving catalog (`ember-infer`). A log is
//! read from configured files ([`files`], the `interaction-log` source) or
//! by a preset that knows a dataset's own layout ([`movielens`]).
//!
//! Ids are text, as the files write them; rows are dense indices into the
//! user and item tables, in the order the tables list them (ids met only
//! in the events come after).

pub mod files;
pub mod hard_negatives;
pub mod ids;
pub mod log;
pub mod movielens;
pub mod split;
pub mod tables;
pub mod timestamps;
pub mod vectors;

pub use files::{EventsFile, LogFiles, SideFile, UnknownIds};
pub use hard_negatives::HardNegatives;
pub use ids::{IdSpace, id_text, id_texts};
pub use log::{Events, Interactions, ItemVectors, SideTable};
pub use split::{LogSplit, SplitConfig};
pub use timestamps::{TimeFormat, parse_time};

/// The id fields and the behaviour sequence every derived schema has.
pub const USER_ID: &str = "user_id";
pub const ITEM_ID: &str = "item_id";
pub const HISTORY: &str = "history";
/// The item tower's content-vector field.
pub const VECTOR: &str = "vector";

/// A log and its split: what every derivation starts from.
#[derive(Debug, Clone)]
pub struct LogDataset {
    pub log: Interactions,
    pub split: LogSplit,
    /// The most recent items a `history` field holds, as the source's
    /// config asks.
    pub history_len: usize,
}

impl LogDataset {
    pub fn new(
        log: Interactions,
        split: &SplitConfig,
        history_len: usize,
    ) -> crate::error::Result<Self> {
        let split = LogSplit::new(&log, split)?;
        Ok(Self {
            log,
            split,
            history_len,
        })
    }

    /// Item rows, oldest first, as a `history` cell: the ids of the last
    /// `len`, most recent first (sequence fields keep their first
    /// `max_len`), '|'-joined.
    pub fn history_cell(&self, items: &[u32], len: usize, out: &mut Vec<u8>) {
        out.clear();
        for &item in items.iter().rev().take(len) {
            if !out.is_empty() {
                out.push(b'|');
            }
            out.extend_from_slice(self.log.items.ids.id(item).as_bytes());
        }
    }
}
