pub mod check;
pub mod completions;
pub mod example;
pub mod fmt;
pub mod sanitize;
