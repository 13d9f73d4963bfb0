//! Byte scans shared by the check and the walks: whitespace, the next byte that
//! matters inside a string, the end of a value. Eight bytes are tested at a time
//! with plain integer arithmetic (no `unsafe`).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// JSON whitespace (RFC 8259): space, tab, line feed, carriage return.
pub fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The first index from `i` that is not whitespace (or the length).
pub fn skip_ws(doc: &[u8], mut i: usize) -> usize {
    while doc.get(i).copied().is_some_and(is_ws) {
        i += 1;
    }
    i
}

/// The high bit of each byte of `w` that is zero. The lowest set bit is always a true
/// zero byte (borrows only make false marks above a true one).
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// The high bit of each byte of `w` below `n` (n <= 128), with the same guarantee.
fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Index of the first byte from `i` that is found by `mark` (tested eight bytes at a
/// time) and by `test` (one byte), or `None`.
fn find_by(
    doc: &[u8],
    mut i: usize,
    mark: impl Fn(u64) -> u64,
    test: impl Fn(u8) -> bool,
) -> Option<usize> {
    while let Some(chunk) = doc.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = mark(u64::from_le_bytes(word));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = doc.get(i..)?;
    rest.iter().position(|&b| test(b)).map(|p| i + p)
}

/// The first `"`, `\` or control character (below 0x20) from `i`: sixteen bytes at a
/// time with SSE2 on x86_64, eight at a time elsewhere.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn find_special(doc: &[u8], i: usize) -> Option<usize> {
    // SAFETY: the function only needs SSE2, which every x86_64 processor has (it is
    // part of the architecture's baseline, enabled for this target); it reads `doc`
    // through safe indexing only.
    unsafe { find_special_sse2(doc, i) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn find_special_sse2(doc: &[u8], mut i: usize) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let (quote, slash, control) = (
        _mm_set1_epi8(0x22),
        _mm_set1_epi8(0x5C),
        _mm_set1_epi8(0x1F),
    );
    while let Some(chunk) = doc.get(i..i + 16) {
        // SAFETY: `chunk` is sixteen readable bytes; the load has no alignment need.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
        let hits = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
            _mm_cmpeq_epi8(_mm_max_epu8(v, control), control), // v <= 0x1F
        );
        let mask = _mm_movemask_epi8(hits);
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize);
        }
        i += 16;
    }
    find_special_words(doc, i)
}

/// The first `"`, `\` or control character (below 0x20) from `i`.
#[cfg(not(target_arch = "x86_64"))]
pub fn find_special(doc: &[u8], i: usize) -> Option<usize> {
    find_special_words(doc, i)
}

/// [`find_special`] eight bytes at a time.
fn find_special_words(doc: &[u8], i: usize) -> Option<usize> {
    find_by(
        doc,
        i,
        |w| zero_bytes(w ^ (ONES * 0x22)) | zero_bytes(w ^ (ONES * 0x5C)) | bytes_below(w, 0x20),
        |b| b == b'"' || b == b'\\' || b < 0x20,
    )
}

/// The first `"`, `[`, `]`, `{` or `}` from `i`.
fn find_structural(doc: &[u8], i: usize) -> Option<usize> {
    // `[`/`]` are `{`/`}` without the 0x20 bit
    find_by(
        doc,
        i,
        |w| {
            let folded = w | (ONES * 0x20);
            zero_bytes(w ^ (ONES * 0x22))
                | zero_bytes(folded ^ (ONES * 0x7B))
                | zero_bytes(folded ^ (ONES * 0x7D))
        },
        |b| matches!(b, b'"' | b'[' | b']' | b'{' | b'}'),
    )
}

/// Past the closing quote of the string whose opening quote is at `i` (the length of
/// `doc` when it is not closed). No check of its content.
pub fn skip_string(doc: &[u8], i: usize) -> usize {
    string_span(doc, i).0
}

/// [`skip_string`], and whether the string holds a backslash.
pub fn string_span(doc: &[u8], i: usize) -> (usize, bool) {
    let (mut i, mut escaped) = (i + 1, false);
    loop {
        let found = find_by(
            doc,
            i,
            |w| zero_bytes(w ^ (ONES * 0x22)) | zero_bytes(w ^ (ONES * 0x5C)),
            |b| b == b'"' || b == b'\\',
        );
        match found {
            Some(p) if doc[p] == b'"' => return (p + 1, escaped),
            Some(p) => {
                escaped = true;
                i = p + 2;
            }
            None => return (doc.len(), escaped),
        }
    }
}

/// End of the value that starts at `i` (its first byte), as the Python walker finds it:
/// a string to its closing quote, a container to its matching bracket, a scalar up to
/// whitespace, `,`, `]` or `}`. Never past the length.
pub fn value_end(doc: &[u8], i: usize) -> usize {
    match doc.get(i) {
        None => doc.len(),
        Some(b'"') => skip_string(doc, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = i;
            while let Some(p) = find_structural(doc, at) {
                match doc[p] {
                    b'"' => {
                        at = skip_string(doc, p);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return p + 1;
                        }
                    }
                }
                at = p + 1;
            }
            doc.len()
        }
        Some(_) => {
            let rest = &doc[i..];
            let stop = |b: &u8| is_ws(*b) || matches!(b, b',' | b']' | b'}' | 0x0B | 0x0C);
            rest.iter().position(stop).map_or(doc.len(), |p| i + p)
        }
    }
}
