//! Where a CSV record sits in its file, for error messages: the csv crate
//! counts lines in a way that is off after CRLF line ends, and it reads a
//! quote left open at the end of a file as a field. Shared by every CSV
//! reader (schema'd CSV, interaction logs).

use std::path::Path;

use super::file_shard::ShareView;
use crate::error::{DataError, Result};

/// The 1-based file line of a record the csv crate places at (`byte`,
/// `line`). After a CRLF line end the crate starts the next record at the
/// `\n`, before counting it, so the record is one line further down than
/// it says. Only called on the error path: one seek and a byte read.
pub(crate) fn file_line(path: &Path, byte: u64, line: u64) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let mut first = [0u8; 1];
    let at_newline = std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(byte))?;
            f.read_exact(&mut first)
        })
        .is_ok_and(|()| first[0] == b'\n');
    line + u64::from(at_newline)
}

/// An error if the last record (at `last_start`: byte and line in `view`'s
/// stream) leaves a quote open to the end of the file, or of the share
/// `view` reads.
pub(crate) fn check_quotes_closed(
    path: &Path,
    view: &ShareView,
    last_start: Option<(u64, u64)>,
) -> Result<()> {
    if let Some((byte, line)) = last_start
        && quote_left_open(path, view.file_byte(byte), view.end())?
    {
        let (byte, line) = view.to_file(path, byte, line);
        return Err(DataError::malformed(
            path,
            Some(file_line(path, byte, line)),
            None,
            "a quoted field is never closed: its quote runs to the end of the file",
        ));
    }
    Ok(())
}

/// Whether the text from byte `start` (the last record's) to `end` (the
/// end of the file by default) leaves a `"` open. The csv crate reads an unclosed quote as a
/// field that ends at the end of the file, without an error; only the last
/// record can hold one (an open quote swallows everything after it), so
/// only it is scanned. `""` inside a quoted field toggles twice.
fn quote_left_open(path: &Path, start: u64, end: Option<u64>) -> Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| DataError::io(path, e))?;
    let mut tail = Vec::new();
    file.take(end.map_or(u64::MAX, |end| end.saturating_sub(start)))
        .read_to_end(&mut tail)
        .map_err(|e| DataError::io(path, e))?;
    Ok(tail.iter().filter(|&&b| b == b'"').count() % 2 == 1)
}
