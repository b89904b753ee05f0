//! The feed's two append-only files, in the log directory `ember serve
//! --feedback-log DIR` names:
//!
//! - `events.csv`: one row per feedback event, in the interaction-log
//!   format (`time` in epoch milliseconds, `user`, `item`, `event` =
//!   `impression` | `click` | `not_interested`), plus `dwell` (seconds),
//!   `request`, `session`, `arm`, `position` and `content_type`: a
//!   `[data]` table with `source = "interaction-log"` trains on it as it is
//!   (`[events] path = "DIR/events.csv"`, `event = "event"`);
//! - `served.jsonl`: one line per answered `/recommend` (request id,
//!   session, user, arm, items with their types and the pCTRs the mixer
//!   saw), from which a restarted server rebuilds its sessions and knows
//!   the requests feedback may name.
//!
//! Durability: a `/feedback` body's rows are written with one `write` and
//! `fdatasync`ed before the server answers 200, so an acknowledged event
//! survives a crash of the process or the machine; a refused body writes
//! nothing. A batch of `/recommend` answers is synced once before the
//! answers leave. A crash in the middle of a write can leave a torn last
//! line; opening the log cuts it off (it was never acknowledged).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The event log's columns.
pub const EVENT_COLUMNS: [&str; 10] = [
    "time",
    "user",
    "item",
    "event",
    "dwell",
    "request",
    "session",
    "arm",
    "position",
    "content_type",
];

/// One row of `events.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Epoch milliseconds.
    pub time: u64,
    pub user: String,
    pub item: String,
    pub event: String,
    pub dwell: Option<f64>,
    pub request: String,
    pub session: String,
    pub arm: String,
    pub position: usize,
    pub content_type: String,
}

/// The mixer's view when it filled a slot: the chosen type's index and
/// every type's best pCTR.
pub type MixerView = (usize, Vec<f32>);

/// One item of a served request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedItem {
    pub item: String,
    /// The content type's name (mixer pipelines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The mixer's view when it filled this slot (mixer pipelines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixer: Option<MixerView>,
}

/// One line of `served.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedRecord {
    pub request: String,
    pub session: String,
    pub user: String,
    pub arm: String,
    /// Epoch milliseconds.
    pub time: u64,
    pub items: Vec<ServedItem>,
}

/// An append-only file that is synced after every append.
pub struct AppendFile {
    pub path: PathBuf,
    file: File,
}

impl AppendFile {
    /// Opens (creating) `path`, cutting off a torn last line, and writes
    /// `header` if the file is empty.
    pub fn open(path: &Path, header: Option<&str>) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .with_context(|| format!("reading {}", path.display()))?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            tracing::warn!(
                file = %path.display(),
                bytes = text.len() - whole,
                "cutting off a torn last line (a crash during a write; it was never acknowledged)"
            );
            file.set_len(whole as u64)
                .with_context(|| format!("truncating {}", path.display()))?;
            file.seek(SeekFrom::End(0))?;
        }
        let mut this = Self {
            path: path.to_owned(),
            file,
        };
        if whole == 0
            && let Some(header) = header
        {
            this.append(format!("{header}\n").as_bytes())?;
        }
        Ok(this)
    }

    /// Appends `bytes` with one write and syncs the data to disk.
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

/// The two files of a log directory.
pub struct FeedLog {
    pub dir: PathBuf,
    events: AppendFile,
    served: AppendFile,
}

impl FeedLog {
    pub fn events_path(dir: &Path) -> PathBuf {
        dir.join("events.csv")
    }

    pub fn served_path(dir: &Path) -> PathBuf {
        dir.join("served.jsonl")
    }

    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
            events: AppendFile::open(&Self::events_path(dir), Some(&EVENT_COLUMNS.join(",")))?,
            served: AppendFile::open(&Self::served_path(dir), None)?,
        })
    }

    pub fn append_events(&mut self, rows: &[EventRow]) -> Result<()> {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        for row in rows {
            writer.serialize(row)?;
        }
        let bytes = writer.into_inner().context("formatting event rows")?;
        self.events.append(&bytes)
    }

    pub fn append_served(&mut self, records: &[ServedRecord]) -> Result<()> {
        let mut bytes = Vec::new();
        for r in records {
            serde_json::to_writer(&mut bytes, r)?;
            bytes.push(b'\n');
        }
        self.served.append(&bytes)
    }
}

/// Every record of a `served.jsonl` (errors name the line).
pub fn read_served(path: &Path) -> Result<Vec<ServedRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), i + 1))
        })
        .collect()
}

/// Every row of an `events.csv` (errors name the line and field).
pub fn read_events(path: &Path) -> Result<Vec<EventRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.with_context(|| format!("{}: row {}", path.display(), i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(item: &str) -> EventRow {
        EventRow {
            time: 1,
            user: "u".into(),
            item: item.into(),
            event: "impression".into(),
            dwell: None,
            request: "r".into(),
            session: "s".into(),
            arm: String::new(),
            position: 0,
            content_type: String::new(),
        }
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = FeedLog::open(dir.path()).unwrap();
        log.append_events(&[row("a"), row("b")]).unwrap();
        drop(log);
        // A crash in the middle of the next write.
        let path = FeedLog::events_path(dir.path());
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"1,u,c,impre");
        std::fs::write(&path, text).unwrap();
        let mut log = FeedLog::open(dir.path()).unwrap();
        log.append_events(&[row("d")]).unwrap();
        let items: Vec<String> = read_events(&path)
            .unwrap()
            .into_iter()
            .map(|r| r.item)
            .collect();
        assert_eq!(items, ["a", "b", "d"]);
        let header = std::fs::read_to_string(&path).unwrap();
        assert!(header.starts_with(&EVENT_COLUMNS.join(",")));
        assert_eq!(header.matches("time,user").count(), 1, "one header");
    }
}
