//! The model round-trips every real HAR: reader → `Entry` (the lossless JSON model) →
//! writer gives back the same document, key order and number text included, in both
//! styles; and the token-level path (`RawEntry::transcode`) agrees with it.

use har::{HarReader, HarWriter, Source, Style};
use std::path::Path;
use testkit::{corpus, corpus_file};

/// The document as serde_json reads it, in compact text: key order and number text
/// kept, a BOM ignored.
fn canonical(bytes: &[u8]) -> String {
    testkit::canonical(&testkit::json(bytes))
}

fn through_model(file: &Path, style: Style) -> Vec<u8> {
    let mut r = HarReader::new(Source::open(file.to_str().unwrap()).unwrap()).unwrap();
    let mut w = HarWriter::new(Vec::new(), style);
    w.begin(r.header()).unwrap();
    while let Some(e) = r.next_entry().unwrap() {
        w.entry(&e).unwrap();
    }
    w.end(r.header()).unwrap();
    w.into_inner()
}

fn through_tokens(file: &Path, style: Style) -> Vec<u8> {
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
    let file = corpus_file("mitmproxy-import-firefox.har");
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

#[test]
fn validation_is_the_same_on_both_trees() {
    for file in corpus() {
        let mut r = HarReader::new(Source::open(file.to_str().unwrap()).unwrap()).unwrap();
        let v = har::Validator::new();
        let (mut on_model, mut on_lite) = (Vec::new(), Vec::new());
        while let Some(raw) = r.next_raw().unwrap() {
            let model = raw.parse().unwrap();
            let lite = raw.parse_lite().unwrap();
            v.entry(raw.index, &model.value, raw.bytes, raw.pos, &mut on_model);
            v.entry(raw.index, &lite, raw.bytes, raw.pos, &mut on_lite);
            // The typed views read the same through both.
            let (a, b) = (model.view(), har::EntryView(har::Obj::of(Some(&lite))));
            assert_eq!(a.request().url(), b.request().url());
            assert_eq!(a.response().status(), b.response().status());
            assert_eq!(a.timings(), b.timings());
            assert_eq!(a.started_ms(), b.started_ms());
            assert_eq!(
                a.request().headers().iter().collect::<Vec<_>>(),
                b.request().headers().iter().collect::<Vec<_>>()
            );
            assert_eq!(a.response().content().text(), b.response().content().text());
        }
        // Positions are given to the first problems of each kind per thread and
        // validator pass; compare what was found, and where when both know.
        assert_eq!(on_model.len(), on_lite.len(), "{}", file.display());
        for (m, l) in on_model.iter().zip(&on_lite) {
            assert_eq!(
                (m.code, &m.path, &m.message, m.severity),
                (l.code, &l.path, &l.message, l.severity),
                "{}",
                file.display()
            );
        }
    }
}

/// Except lone surrogate escapes, which serde_json refuses and JSON.parse accepts: both
/// trees read them (as U+FFFD); see har::transcode.
#[test]
fn lite_trees_reject_what_the_model_rejects() {
    for bad in [
        &b"{\"a\": tru}"[..],
        b"{\"a\": \"\\ud80x\"}",
        b"[1,]",
        b"{\"a\":1}x",
        b"{\"a\": \"\xff\"}",
    ] {
        assert!(serde_json::from_slice::<serde_json::Value>(bad).is_err());
        assert!(
            har::lite::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}
