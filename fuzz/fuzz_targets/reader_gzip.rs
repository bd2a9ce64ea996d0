//! Any bytes, gzip-compressed, through the reader as `hark` opens a `.har.gz`: the
//! magic number is recognised, the stream inflated, entries cut, parsed and re-written;
//! with a small `max_entry`, as the cli sets it for gzip input. Must never panic, and
//! what is read from the compressed input must be what is read from the plain one.
//! The first input byte chooses how the rest is used: compressed here (the reader sees a
//! valid gzip stream of arbitrary JSON-ish bytes) or given as is (arbitrary, usually
//! corrupt, gzip framing after the magic number).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

/// Every entry as the reader gives it (re-written compact, and parsed), or the error's
/// message.
fn read(source: har::Source) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = har::HarReader::new(source).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(raw) = reader.next_raw().map_err(|e| e.to_string())? {
        let bytes = raw.transcode(har::Style::Compact).map_err(|e| e.to_string())?;
        let entry = raw.parse().map_err(|e| e.to_string())?;
        serde_json::to_vec(&entry.value).expect("a parsed entry serialises");
        out.push(bytes);
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let limit = 4096;
    if mode & 1 == 0 {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(rest).unwrap();
        let gz = e.finish().unwrap();
        let zipped = read(har::Source::from_bytes("fuzz.gz", gz).max_entry(Some(limit)));
        let plain = read(har::Source::from_bytes("fuzz.gz", rest.to_vec()).max_entry(Some(limit)));
        // Gzip input starting with the magic number itself would be read twice inflated.
        if !rest.starts_with(&[0x1f, 0x8b]) {
            match (&zipped, &plain) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "gzip changed what is read"),
                (Err(_), Err(_)) => {}
                _ => panic!("gzip changed whether it reads: {zipped:?} vs {plain:?}"),
            }
        }
        if let Ok(entries) = zipped {
            assert!(entries.iter().all(|e| e.len() <= 2 * limit as usize + 64));
        }
    } else {
        let mut gz = vec![0x1f, 0x8b];
        gz.extend_from_slice(rest);
        let _ = read(har::Source::from_bytes("fuzz.gz", gz).max_entry(Some(limit)));
    }
});
