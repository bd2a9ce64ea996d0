//! Why sanitizing stopped.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rules file: {0}")]
    Rules(String),
    #[error("rule {name:?}: {source}")]
    Pattern {
        name: String,
        #[source]
        source: regex::Error,
    },
    #[error(transparent)]
    Read(#[from] har::ReadError),
    #[error(transparent)]
    Output(#[from] har::OutputError),
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}: the file has more than one \"log\" member (readers disagree on which one counts); refusing to sanitize only one of them — keep one and try again")]
    DuplicateLog(String),
    #[error("temporary file of the values found: {0}")]
    Spill(#[source] std::io::Error),
    #[error("{0}: the file changed while it was being sanitized (the second reading found {1}); the output is unfinished (no file is written; standard output stops before the HAR's end) — sanitize a copy that is not being written to")]
    Changed(String, String),
    #[error("building the search automaton: {0}")]
    Automaton(String),
}
