//! One process's share of a text file, for distributed training: with `N`
//! ranks, rank `i` reads the whole lines that *start* in bytes
//! `[len·i/N, len·(i+1)/N)` of the file, seeking there instead of reading
//! what comes before (the layout of Hadoop's input splits). Every line
//! belongs to exactly one rank, and the ranks' shares in rank order are the
//! file.
//!
//! A share is cut at line ends, so a sharded CSV must not hold line breaks
//! inside quoted fields (a record cut in two is reported as a bad row).
//! Errors still name the file's own line: the lines before a share are
//! counted only when an error needs them.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{DataError, Result};

/// Which share of a file to read: `index` of `count` (a rank of a job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileShard {
    pub index: usize,
    pub count: usize,
}

impl FileShard {
    /// Share `index` of `count`; `count` ≥ 1, `index` < `count`.
    pub fn new(index: usize, count: usize) -> Self {
        assert!(count >= 1 && index < count, "shard {index} of {count}");
        Self { index, count }
    }

    /// Whether the `i`-th of some items (rows, row groups) is this share's
    /// when they are dealt round-robin.
    pub fn deals(&self, i: usize) -> bool {
        i % self.count == self.index
    }

    /// The contiguous range `[n·i/N, n·(i+1)/N)` of `n` items that is this
    /// share's.
    pub fn range(&self, n: u64) -> std::ops::Range<u64> {
        let at = |k: usize| n * k as u64 / self.count as u64;
        at(self.index)..at(self.index + 1)
    }
}

/// The bytes a reader sees for one share: the file's header line (for a
/// share after the first, of a file with one) followed by the share's lines,
/// and how to map positions in that stream back to the file's.
#[derive(Debug, Clone)]
pub struct ShareView {
    /// Bytes of the header line put in front of the share (empty if none).
    header_len: u64,
    /// The share's first and one-past-last byte in the file.
    start: u64,
    end: u64,
    /// Whether this is the whole file (positions map to themselves).
    whole: bool,
}

impl ShareView {
    /// The whole file, as an unsharded read sees it.
    pub fn whole() -> Self {
        Self {
            header_len: 0,
            start: 0,
            end: u64::MAX,
            whole: true,
        }
    }

    /// Opens `path` for reading `shard` (the whole file for `None`). With
    /// `has_header`, every share starts with the file's first line.
    pub fn open(
        path: &Path,
        shard: Option<FileShard>,
        has_header: bool,
    ) -> Result<(Self, Box<dyn Read + Send>)> {
        let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
        let Some(shard) = shard.filter(|s| s.count > 1) else {
            return Ok((Self::whole(), Box::new(file)));
        };
        let io = |e| DataError::io(path, e);
        let len = file.metadata().map_err(io)?.len();
        let bytes = shard.range(len);
        let start = line_start_at_or_after(&mut file, bytes.start).map_err(io)?;
        let end = line_start_at_or_after(&mut file, bytes.end).map_err(io)?;
        let mut header = Vec::new();
        if has_header && start > 0 {
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            BufReader::new(&mut file)
                .read_until(b'\n', &mut header)
                .map_err(io)?;
        }
        // A header that is not the share's own needs a line end of its own.
        if !header.is_empty() && !header.ends_with(b"\n") {
            header.push(b'\n');
        }
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let view = Self {
            header_len: header.len() as u64,
            start,
            end: end.max(start),
            whole: false,
        };
        let body = file.take(view.end - start);
        Ok((view, Box::new(std::io::Cursor::new(header).chain(body))))
    }

    /// The file's byte and 1-based line of a position (`byte`, `line`) in
    /// this view's stream. Counts the lines before the share, so call it
    /// on the error path only.
    pub fn to_file(&self, path: &Path, byte: u64, line: u64) -> (u64, u64) {
        if self.whole || (self.header_len > 0 && byte < self.header_len) {
            return (byte, line);
        }
        let header_lines = u64::from(self.header_len > 0);
        let before = lines_before(path, self.start).unwrap_or(0);
        (self.file_byte(byte), before + line - header_lines)
    }

    /// The file's byte of byte `byte` of this view's stream (cheap: no
    /// counting).
    pub fn file_byte(&self, byte: u64) -> u64 {
        if self.whole || byte < self.header_len {
            byte
        } else {
            self.start + (byte - self.header_len)
        }
    }

    /// The file's 1-based line of the `line`-th line of a view without a
    /// header (the line readers).
    pub fn file_line(&self, path: &Path, line: u64) -> u64 {
        self.to_file(path, self.header_len, line).1
    }

    /// One past the share's last byte in the file (`None`: the file's end).
    pub fn end(&self) -> Option<u64> {
        (!self.whole).then_some(self.end)
    }
}

/// The first line start at or after byte `at` (the file's length when no
/// line starts there): `at` itself if the byte before it is a line end.
fn line_start_at_or_after(file: &mut std::fs::File, at: u64) -> std::io::Result<u64> {
    if at == 0 {
        return Ok(0);
    }
    file.seek(SeekFrom::Start(at - 1))?;
    let mut skipped = Vec::new();
    let n = BufReader::new(file).read_until(b'\n', &mut skipped)?;
    Ok(at - 1 + n as u64)
}

/// How many line ends come before byte `at`.
fn lines_before(path: &Path, at: u64) -> std::io::Result<u64> {
    let file = std::fs::File::open(path)?;
    let mut reader = BufReader::with_capacity(1 << 20, file.take(at));
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_share(path: &Path, shard: FileShard, header: bool) -> (ShareView, String) {
        let (view, mut reader) = ShareView::open(path, Some(shard), header).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        (view, text)
    }

    #[test]
    fn shares_in_rank_order_are_the_file_and_each_starts_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let body: String = (0..97)
            .map(|i| format!("{i},{}\r\n", "x".repeat(i % 13)))
            .collect();
        std::fs::write(&path, format!("a,b\r\n{body}")).unwrap();
        for count in [1, 2, 3, 7, 200] {
            let mut joined = String::new();
            for index in 0..count {
                let (_, text) = read_share(&path, FileShard::new(index, count), true);
                if index == 0 {
                    joined.push_str(&text);
                } else {
                    let rest = text.strip_prefix("a,b\r\n");
                    joined.push_str(rest.unwrap_or_else(|| panic!("{index}/{count}: {text:?}")));
                }
            }
            assert_eq!(joined, format!("a,b\r\n{body}"), "{count} shares");
        }
    }

    #[test]
    fn positions_map_back_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        // Lines of 4 bytes: line k (1-based) starts at byte 4(k-1).
        std::fs::write(&path, "l01\nl02\nl03\nl04\nl05\nl06\nl07\nl08\n").unwrap();
        let (view, text) = read_share(&path, FileShard::new(1, 2), true);
        // The header line, then lines 5..8 (bytes 16..32).
        assert_eq!(text, "l01\nl05\nl06\nl07\nl08\n");
        assert_eq!(view.end(), Some(32));
        // The third line of the stream (byte 8) is the file's line 6 (byte 20).
        assert_eq!(view.to_file(&path, 8, 3), (20, 6));
        assert_eq!(view.to_file(&path, 0, 1), (0, 1));
        let (view, text) = read_share(&path, FileShard::new(1, 2), false);
        assert_eq!(text, "l05\nl06\nl07\nl08\n");
        assert_eq!(view.file_line(&path, 2), 6);
        // A file without a final line end.
        std::fs::write(&path, "a\nb\nc").unwrap();
        let (_, last) = read_share(&path, FileShard::new(1, 2), false);
        let (_, first) = read_share(&path, FileShard::new(0, 2), false);
        assert_eq!(format!("{first}{last}"), "a\nb\nc");
    }
}
