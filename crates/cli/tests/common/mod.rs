//! The harness of the `hark` binary's tests: all of it is crates/testkit; this names
//! the binary, whose path only the tests of this crate know.
#![allow(dead_code)]

pub use testkit::*;

use std::ffi::OsStr;

/// The `hark` binary Cargo built for these tests.
pub const HARK: &str = env!("CARGO_BIN_EXE_hark");

/// The `hark` binary Cargo built for these tests, with `args`: `.run()` it, or `.spawn()`
/// a server.
pub fn hark<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Cmd::new(HARK).args(args)
}
