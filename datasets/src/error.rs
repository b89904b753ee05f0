//! Errors for user-supplied data: every one says where the problem is.

use std::path::PathBuf;

/// Where in a file a problem was found. Lines are 1-based, as an editor shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field '{field}'")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{at}: {message}")]
    Malformed { at: Location, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub fn malformed(
        file: impl Into<PathBuf>,
        line: Option<u64>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        DataError::Malformed {
            at: Location {
                file: file.into(),
                line,
                field: field.map(str::to_owned),
            },
            message: message.into(),
        }
    }

    /// The same error at another line, where it names one (a reader that
    /// learns the true line only after the row's error was made).
    pub fn at_line(mut self, line: u64) -> Self {
        if let DataError::Malformed { at, .. } = &mut self
            && at.line.is_some()
        {
            at.line = Some(line);
        }
        self
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;
