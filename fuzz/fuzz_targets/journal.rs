//! The journal scanner (`hark record --recover`, `hark serve`'s job HARs) on any bytes:
//! never a panic, every byte accounted for (magic + records + damaged stretches + torn
//! tail), every record it returns checked. The first input byte chooses the mode: the
//! rest as a journal body after the magic (arbitrary framing), or records built from
//! the rest with one byte flipped somewhere: every record the flip did not touch must
//! still be read (a damaged record loses only itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use record::journal::{encode, scan_file, Index, Scan, MAGIC};

fn check(bytes: &[u8]) -> Option<(Vec<Index>, Scan)> {
    let (index, scan) = scan_file(bytes, bytes.len() as u64).ok()?;
    let mut records = 0u64;
    for i in &index {
        let body = &bytes[(i.offset - 8) as usize..(i.offset + u64::from(i.len)) as usize];
        let crc = u32::from_le_bytes(bytes[(i.offset - 12) as usize..(i.offset - 8) as usize].try_into().unwrap());
        assert_eq!(crc32fast::hash(body), crc, "a returned record is checked");
        assert_eq!(u64::from_le_bytes(body[..8].try_into().unwrap()), i.start_us);
        records += 16 + u64::from(i.len);
    }
    assert_eq!(scan.entries, index.len() as u64);
    assert_eq!(
        MAGIC.len() as u64 + records + scan.damaged_bytes + scan.dropped_bytes,
        bytes.len() as u64,
        "every byte accounted for: {scan:?}"
    );
    assert!(scan.damaged_bytes >= scan.damaged);
    Some((index, scan))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut bytes = MAGIC.to_vec();
    if mode & 1 == 0 {
        bytes.extend_from_slice(rest);
        check(&bytes);
        return;
    }
    // Records from the input: pieces split at 0xFF, as hex in a JSON object (so the
    // only `{` is where each entry begins); then one byte flipped.
    if rest.len() < 5 {
        return;
    }
    let (flip, body) = rest.split_at(5);
    let mut starts = Vec::new();
    for (n, piece) in body.split(|b| *b == 0xFF).take(64).enumerate() {
        let hex: String = piece.iter().map(|b| format!("{b:02x}")).collect();
        starts.push(bytes.len());
        encode(&mut bytes, n as u64, format!(r#"{{"n":{n},"s":"{hex}"}}"#).as_bytes());
    }
    starts.push(bytes.len());
    let clean = check(&bytes).expect("a journal hark wrote is read");
    assert_eq!(clean.0.len(), starts.len() - 1);
    assert_eq!(clean.1.damaged + clean.1.dropped_bytes, 0);
    let at = MAGIC.len()
        + (u32::from_le_bytes(flip[..4].try_into().unwrap()) as usize) % (bytes.len() - MAGIC.len());
    let mask = flip[4].max(1);
    bytes[at] ^= mask;
    let (index, _) = check(&bytes).expect("the magic is intact");
    for n in 0..starts.len() - 1 {
        let touched = (starts[n]..starts[n + 1]).contains(&at);
        if !touched {
            assert!(
                index.iter().any(|i| i.start_us == n as u64),
                "record {n} lost to a flip at {at} (records at {starts:?})"
            );
        }
    }
});
