//! What the generated sources (no files) share.

use crate::error::DataError;

/// Why a model trained on the generated source `name` cannot score a file:
/// its rows were never in one.
pub(super) fn no_file_format(name: &str) -> DataError {
    DataError::Invalid(format!(
        "a model trained on {name} (generated data) has no file format to read"
    ))
}
