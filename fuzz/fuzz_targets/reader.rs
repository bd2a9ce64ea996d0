//! Any bytes through the whole read path: reader → parse (and the token-level
//! transcoder) → validate → lint → writer.
//! Must never panic, and when the reader accepts the input, the rewritten document must
//! be the same JSON as serde_json's own reading of it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = har::Source::from_bytes("fuzz", data.to_vec());
    let Ok(mut reader) = har::HarReader::new(source) else { return };
    let mut validator = har::Validator::new();
    let mut problems = Vec::new();
    validator.header(reader.header(), reader.raw_fields(), &mut problems);
    let mut linter = check::Linter::new(reader.header());
    let mut out = har::HarWriter::new(Vec::new(), har::Style::Compact);
    out.begin(reader.header()).unwrap();
    loop {
        let raw = match reader.next_raw() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(_) => return,
        };
        let (bytes, pos) = (raw.bytes.to_vec(), raw.pos);
        // The token-level path (`hark fmt`) accepts exactly what the parser accepts, and
        // its output reads as the same value.
        let tokens = raw.transcode(har::Style::Pretty);
        let lite_ok = raw.parse_lite().is_ok();
        let Ok(entry) = raw.parse() else {
            assert!(tokens.is_err(), "transcode accepted what the parser rejects");
            assert!(!lite_ok, "the borrowed tree accepted what the parser rejects");
            return;
        };
        assert!(lite_ok, "the borrowed tree rejected what the parser accepts");
        let tokens = tokens.expect("transcode rejected what the parser accepts");
        // Lone surrogate escapes are kept as written; serde_json reads them as U+FFFD
        // only after the same replacement the parser makes.
        let fixed = har::transcode::lone_surrogates_replaced(&tokens);
        let reread: serde_json::Value = serde_json::from_slice(fixed.as_deref().unwrap_or(&tokens))
            .expect("transcode wrote valid JSON");
        assert_eq!(reread, entry.value);
        validator.entry(entry.index, &entry.value, &bytes, pos, &mut problems);
        if let Some(r) = entry.pageref() {
            validator.pageref(entry.index, r, 1);
        }
        linter.entry(&entry);
        out.entry(&entry).unwrap();
    }
    validator.finish(reader.header(), reader.raw_fields(), &mut problems);
    let _ = linter.finish(reader.header());
    out.end(reader.header()).unwrap();
    let written = out.into_inner();
    let ours: serde_json::Value = serde_json::from_slice(&written).expect("hark writes valid JSON");
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut de = serde_json::Deserializer::from_slice(body);
    de.disable_recursion_limit();
    if let Ok(theirs) = <serde_json::Value as serde::Deserialize>::deserialize(&mut de) {
        if de.end().is_ok() && !has_duplicate_keys(body) {
            assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
        }
    }
});

/// Duplicate keys are resolved differently by a streaming reader (it cannot know a later
/// `entries` will come); leave such inputs out of the comparison.
fn has_duplicate_keys(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let count = |k: &str| text.matches(k).count();
    count("\"log\"") > 1 || count("\"entries\"") > 1
}
