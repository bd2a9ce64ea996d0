//! Shared helpers for the integration tests: run the real `hark` binary, find the corpus.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every real HAR we have: ../shared/corpus/public and testdata/har.
pub fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        root().join("../shared/corpus/public"),
        root().join("testdata/har"),
    ] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            panic!(
                "missing {}: the tests need ../shared beside the repo",
                dir.display()
            );
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 25,
        "expected the whole corpus, found {}",
        files.len()
    );
    files
}

pub fn hark(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(args)
        .output()
        .unwrap()
}

pub fn hark_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hark"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse JSON the way hark's library does (key order and number text kept), ignoring a BOM.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(b).unwrap()
}

/// Compact, order-preserving text of a JSON value: equal texts mean equal documents
/// with the same key order and the same number spellings.
pub fn canonical(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// `node testdata/validate.mjs FILE` when testdata/node_modules is installed.
pub fn har_validator(file: &Path) -> Option<bool> {
    let dir = root().join("testdata");
    if !dir.join("node_modules/har-validator").exists() {
        return None;
    }
    let out = Command::new("node")
        .arg(dir.join("validate.mjs"))
        .arg(file)
        .output()
        .ok()?;
    Some(out.status.success())
}

/// The first line a child writes on its standard output (it must have been spawned with
/// `Stdio::piped()` there): servers print where they listen, then keep running.
pub fn first_line(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .expect("reading the child's first line");
    line
}
