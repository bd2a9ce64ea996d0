pub mod check;
pub mod completions;
pub mod diagnose;
pub mod example;
pub mod fmt;
pub mod sanitize;
pub mod summary;
pub mod surface;
