//! Positions in a HAR file and the errors the reader returns.

use std::fmt;
use std::sync::Arc;

/// A place in the input: byte offset (0-based) and line:column (1-based, columns in bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Pos {
    pub offset: u64,
    pub line: u64,
    pub column: u64,
}

impl Pos {
    /// The absolute position of a place given relative to `self` (line 1 column 1 = `self`).
    pub fn advance(self, rel_line: u64, rel_column: u64) -> Pos {
        if rel_line <= 1 {
            Pos {
                offset: self.offset,
                line: self.line,
                column: self.column + rel_column.saturating_sub(1),
            }
        } else {
            Pos {
                offset: self.offset,
                line: self.line + rel_line - 1,
                column: rel_column,
            }
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a file could not be read as HAR at all (as opposed to HAR with problems, which
/// [`crate::validate`] reports).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: {source}")]
    Io {
        file: Arc<str>,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{pos}: {path}: {message}")]
    Syntax {
        file: Arc<str>,
        pos: Pos,
        /// JSON path of the value being read, e.g. `log.entries[12]`.
        path: String,
        message: String,
    },
    #[error("{file}:{pos}: {path}: {message}")]
    NotHar {
        file: Arc<str>,
        pos: Pos,
        path: String,
        message: String,
    },
}

impl ReadError {
    pub fn file(&self) -> &str {
        match self {
            ReadError::Io { file, .. }
            | ReadError::Syntax { file, .. }
            | ReadError::NotHar { file, .. } => file,
        }
    }
    pub fn pos(&self) -> Option<Pos> {
        match self {
            ReadError::Io { .. } => None,
            ReadError::Syntax { pos, .. } | ReadError::NotHar { pos, .. } => Some(*pos),
        }
    }
}

/// Turn a serde_json error on a slice that starts at `start` into an absolute position and
/// a message without serde_json's own "at line X column Y" suffix.
pub(crate) fn json_error_at(err: &serde_json::Error, start: Pos) -> (Pos, String) {
    let pos = start.advance(err.line() as u64, err.column() as u64);
    let mut msg = err.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        msg.truncate(i);
    }
    (pos, msg)
}
