//! Sixty-four bytes at a time: the structure of JSON text as bit masks, in the manner of
//! simdjson's first stage (Langdale and Lemire, "Parsing Gigabytes of JSON per Second",
//! 2019). One pass of byte comparisons gives, per block, where the quotes, backslashes
//! and brackets are; the escaped characters and the inside of strings then follow from
//! a few word operations, carried from block to block, so that only the brackets
//! outside strings are looked at one by one. The scanner uses it to find where a value
//! ends without walking every byte of it.

/// The bytes that matter, one bit per byte of a 64-byte block (bit i = byte i).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{` and `[`.
    pub open: u64,
    /// `}` and `]`.
    pub close: u64,
}

/// [`Masks`] of `block` (SSE2, which every x86-64 processor has).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
    };
    // SAFETY: SSE2 is part of the x86-64 baseline; the loads read 4 × 16 bytes inside
    // the 64-byte array (unaligned loads).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        let case = _mm_set1_epi8(0x20);
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let folded = _mm_or_si128(v, case);
            let bits = |x: __m128i| (_mm_movemask_epi8(x) as u32 as u64) << (16 * k);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            m.open |= bits(_mm_cmpeq_epi8(folded, open));
            m.close |= bits(_mm_cmpeq_epi8(folded, close));
        }
    }
    m
}

/// [`Masks`] of `block`, byte by byte (other processors; the reference in tests).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn masks_portable(block: &[u8; 64]) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        open: 0,
        close: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            _ => {}
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn masks(block: &[u8; 64]) -> Masks {
    masks_portable(block)
}

const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The characters escaped by a backslash, given the block's backslashes;
/// `next_escaped` carries "the first byte of the next block is escaped" (0 or 1).
#[inline(always)]
pub(crate) fn escaped(backslash: u64, next_escaped: &mut u64) -> u64 {
    // A backslash that is itself escaped escapes nothing.
    let backslash = backslash & !*next_escaped;
    let follows_escape = (backslash << 1) | *next_escaped;
    // Runs of backslashes starting on an odd bit, found by adding: the carry runs
    // through each run and stops after it.
    let odd_starts = backslash & !EVEN_BITS & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslash);
    *next_escaped = overflow as u64;
    let invert = even_starts << 1;
    (EVEN_BITS ^ invert) & follows_escape
}

/// Bit i = XOR of bits 0..=i (inside a string: from its opening quote to the byte
/// before its closing one).
#[inline(always)]
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escaped positions the slow way, as the scalar scanner reads them: a backslash
    /// that is not itself escaped escapes the next byte.
    fn escaped_slowly(bytes: &[u8]) -> Vec<bool> {
        let mut out = vec![false; bytes.len()];
        let mut escape = false;
        for (i, &b) in bytes.iter().enumerate() {
            if escape {
                out[i] = true;
                escape = false;
            } else if b == b'\\' {
                escape = true;
            }
        }
        out
    }

    #[test]
    fn escapes_across_blocks_agree_with_the_slow_way() {
        // Runs of backslashes of every length up to 70 at every offset, over two blocks.
        for len in 0..70 {
            for at in 0..64 {
                let mut bytes = vec![b'a'; 128];
                for b in bytes.iter_mut().skip(at).take(len) {
                    *b = b'\\';
                }
                let want = escaped_slowly(&bytes);
                let mut carry = 0;
                for (k, block) in bytes.chunks_exact(64).enumerate() {
                    let block: &[u8; 64] = block.try_into().unwrap();
                    let m = masks(block);
                    assert_eq!(m, masks_portable(block));
                    let e = escaped(m.backslash, &mut carry);
                    for i in 0..64 {
                        assert_eq!(
                            e >> i & 1 == 1,
                            want[64 * k + i],
                            "run of {len} at {at}: byte {}",
                            64 * k + i
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn masks_find_every_kind_of_byte_at_every_position() {
        for at in 0..64 {
            for b in [b'"', b'\\', b'{', b'[', b'}', b']', b'a', 0x7b ^ 0x80, 0xdb] {
                let mut block = [b' '; 64];
                block[at] = b;
                assert_eq!(masks(&block), masks_portable(&block), "{b:#x} at {at}");
            }
        }
        assert_eq!(prefix_xor(0b1001), 0b0111);
    }
}
