//! Stable, allocation-free hashing of raw tokens.
//!
//! Every categorical token is reduced to a 64-bit hash of its raw bytes as soon
//! as it is read, so no per-feature `String` is ever built: vocabularies are
//! keyed by these hashes and hash-bucket fields take them modulo the bucket
//! count. XXH3 is specified and stable across platforms and releases, which
//! matters because exported vocabularies are looked up by these values at
//! serving time. The field index seeds the hash, so the same token in two
//! fields is two different features.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Hash of one raw token of field `field`.
#[inline]
pub fn token_hash(field: u32, bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, 0x9E37_79B9_7F4A_7C15 ^ u64::from(field))
}

/// Hash of an integer token, identical to hashing its decimal text, so `7`
/// read from Parquet and `"7"` read from CSV are the same feature. Formats on
/// the stack (itoa), no allocation.
#[inline]
pub fn int_token_hash(field: u32, value: i64) -> u64 {
    let mut buf = itoa::Buffer::new();
    token_hash(field, buf.format(value).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_different_fields_differ() {
        assert_ne!(token_hash(0, b"a"), token_hash(1, b"a"));
        assert_eq!(token_hash(3, b"abc"), token_hash(3, b"abc"));
    }

    #[test]
    fn int_and_text_agree() {
        assert_eq!(int_token_hash(2, -17), token_hash(2, b"-17"));
        assert_eq!(int_token_hash(0, 5046), token_hash(0, b"5046"));
    }
}
