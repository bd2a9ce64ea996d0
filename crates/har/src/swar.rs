//! Eight bytes at a time (SWAR): the fast paths of the scanners skip runs of ordinary
//! bytes a machine word at a time and fall back to byte-by-byte work at the first byte
//! that matters. In every mask below the lowest flagged byte is exact (a borrow only
//! carries upward from a byte that is itself flagged), so `trailing_zeros() / 8` is the
//! index of the first byte that matters.

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;
pub(crate) const SPACES: u64 = ONES * b' ' as u64;

/// Eight bytes at `i`, little-endian, if there are eight.
#[inline(always)]
pub(crate) fn word(b: &[u8], i: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// A mask with the high bit set in (at least) the lowest byte of `w` that is not
/// [`PLAIN`] inside a string: `"`, `\\`, a control character or non-ASCII. Bytes above
/// the first such byte may be flagged wrongly; the lowest flag is exact.
#[inline(always)]
pub(crate) fn string_stops(w: u64) -> u64 {
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quote = has_zero(w ^ (ONES * b'"' as u64));
    let backslash = has_zero(w ^ (ONES * b'\\' as u64));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    quote | backslash | control | (w & HIGHS)
}

/// A mask flagging (at least) the lowest byte of `w` that is `"`, `{`, `}`, `[` or `]`.
#[inline(always)]
pub(crate) fn structural(w: u64) -> u64 {
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    has_zero(w ^ (ONES * b'"' as u64))
        | has_zero(w ^ (ONES * b'{' as u64))
        | has_zero(w ^ (ONES * b'}' as u64))
        | has_zero(w ^ (ONES * b'[' as u64))
        | has_zero(w ^ (ONES * b']' as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(mask: u64) -> usize {
        (mask.trailing_zeros() / 8) as usize
    }

    #[test]
    fn masks_find_the_first_byte_that_matters_at_every_position() {
        for at in 0..8 {
            for (b, in_string, outside) in [
                (b'"', true, true),
                (b'\\', true, false),
                (0x00, true, false),
                (0x1f, true, false),
                (0xc3, true, false),
                (b'{', false, true),
                (b']', false, true),
                (b' ', false, false),
                (b'a', false, false),
            ] {
                let mut bytes = *b"abcdefgh";
                bytes[at] = b;
                // A second stop later must not hide the first one.
                if at < 7 {
                    bytes[7] = b'"';
                }
                let w = u64::from_le_bytes(bytes);
                let s = string_stops(w);
                let o = structural(w);
                if in_string {
                    assert_eq!(first(s), at, "string stop {b:#x} at {at}");
                } else if at < 7 {
                    assert_eq!(first(s), 7, "{b:#x} at {at} is plain in a string");
                }
                if outside {
                    assert_eq!(first(o), at, "structural {b:#x} at {at}");
                } else if at < 7 {
                    assert_eq!(first(o), 7, "{b:#x} at {at} is not structural");
                }
            }
        }
        assert_eq!(string_stops(u64::from_le_bytes(*b"plain ok")), 0);
        assert_eq!(structural(u64::from_le_bytes(*b"  12, tr")), 0);
    }
}
