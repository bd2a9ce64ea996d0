//! The model round-trips every real HAR: reader → `Entry` (the lossless JSON model) →
//! writer gives back the same document, key order and number text included, in both
//! styles; and the token-level path (`RawEntry::transcode`) agrees with it.

use har::{HarReader, HarWriter, Source, Style};
use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in [
        root.join("../shared/corpus/public"),
        root.join("testdata/har"),
    ] {
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "har") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25);
    files
}

fn canonical(bytes: &[u8]) -> String {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let v: serde_json::Value = serde_json::from_slice(b).unwrap();
    serde_json::to_string(&v).unwrap()
}

fn through_model(file: &PathBuf, style: Style) -> Vec<u8> {
    let mut r = HarReader::new(Source::open(file.to_str().unwrap()).unwrap()).unwrap();
    let mut w = HarWriter::new(Vec::new(), style);
    w.begin(r.header()).unwrap();
    while let Some(e) = r.next_entry().unwrap() {
        w.entry(&e).unwrap();
    }
    w.end(r.header()).unwrap();
    w.into_inner()
}

fn through_tokens(file: &PathBuf, style: Style) -> Vec<u8> {
    let mut r = HarReader::new(Source::open(file.to_str().unwrap()).unwrap()).unwrap();
    let mut w = HarWriter::new(Vec::new(), style);
    w.begin(r.header()).unwrap();
    while let Some(raw) = r.next_raw().unwrap() {
        let bytes = raw.transcode(style).unwrap();
        w.serialized_entry(&bytes).unwrap();
    }
    w.end(r.header()).unwrap();
    w.into_inner()
}

#[test]
fn the_model_round_trips_every_real_har() {
    for file in corpus() {
        let want = canonical(&std::fs::read(&file).unwrap());
        for style in [Style::Pretty, Style::Compact] {
            let model = through_model(&file, style);
            assert_eq!(canonical(&model), want, "{} {style:?}", file.display());
            let tokens = through_tokens(&file, style);
            assert_eq!(canonical(&tokens), want, "{} {style:?}", file.display());
        }
    }
}

#[test]
fn entries_come_one_at_a_time_with_their_positions() {
    let file = corpus()
        .into_iter()
        .find(|p| p.ends_with("mitmproxy-import-firefox.har"))
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut r = HarReader::new(Source::open(file.to_str().unwrap()).unwrap()).unwrap();
    assert_eq!(r.header().producer(), "Firefox 111.0.1");
    assert_eq!(r.header().pages().len(), 1);
    let mut n = 0;
    while let Some(raw) = r.next_raw().unwrap() {
        // The position is the entry's opening brace, in line:column of the file.
        let line = text.lines().nth(raw.pos.line as usize - 1).unwrap();
        assert_eq!(line.as_bytes()[raw.pos.column as usize - 1], b'{');
        assert_eq!(
            &text.as_bytes()[raw.pos.offset as usize..][..raw.bytes.len()],
            raw.bytes
        );
        n += 1;
    }
    assert_eq!(n, 14);
    assert!(r.is_done());
}
