//! `har` — the HAR 1.2 model, a lossless streaming reader and writer, and validation
//! with precise locations. It knows nothing of the rest of hark.
//!
//! Data flows one way: [`Source`] → [`HarReader`] (header, then one [`Entry`] at a
//! time) → your transform → [`HarWriter`] → [`Output`] (atomic). Memory is bounded by
//! the largest entry, not the file.

mod blocks;
mod error;
pub mod http;
pub mod json;
pub mod lite;
pub mod locate;
pub mod model;
pub mod output;
pub mod parallel;
pub mod pct;
mod reader;
mod scan;
mod source;
mod swar;
pub mod time;
pub mod transcode;
pub mod validate;
mod writer;

pub use error::{Pos, ReadError};
pub use json::{Json, JsonObject, Kind};
pub use lite::{Lite, LiteObject};
pub use model::{
    Content, Cookie, Entry, EntryView, Header, NameValues, Obj, Object, Page, PostData, Request,
    Response, Timings,
};
pub use output::{remove_temp_files, Output, OutputError, TempGuard};
pub use parallel::{default_threads, fold, par_entries, reformat, CopyError, ParEntries};
pub use reader::{HarReader, RawEntry, RawField};
pub use scan::MAX_DEPTH;
pub use source::{read_exact_at, Source};
pub use validate::{Problem, Severity, Validator};
pub use writer::{entry_bytes, HarWriter, Style};
