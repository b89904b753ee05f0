//! The envelope of every file this crate writes:
//!
//! ```text
//! magic [8] | version u32 | shape [u64; 4] | payload length u64 | XXH3-64 of payload u64 | payload
//! ```
//! all little-endian. Decoding checks each part in turn, so a wrong file, a
//! file from a newer ember, a truncated file and a flipped bit each get
//! their own message.

use std::path::Path;

use anyhow::{Result, bail};
use xxhash_rust::xxh3::xxh3_64;

const HEADER_LEN: usize = 8 + 4 + 4 * 8 + 8 + 8;

/// What the header says besides the magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    /// Four numbers whose meaning belongs to the file kind (count, dim, ...).
    pub shape: [u64; 4],
}

pub fn encode(magic: &[u8; 8], version: u32, shape: [u64; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    for s in shape {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks the envelope and returns the header and the verified payload.
pub fn decode<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    version: u32,
    origin: &Path,
) -> Result<(Header, &'a [u8])> {
    let name = origin.display();
    if bytes.len() < HEADER_LEN {
        bail!(
            "{name}: truncated ({} bytes, shorter than the {HEADER_LEN}-byte header)",
            bytes.len()
        );
    }
    if &bytes[..8] != magic {
        bail!(
            "{name}: not an ember {} file (starts with {:?})",
            String::from_utf8_lossy(magic),
            String::from_utf8_lossy(&bytes[..8])
        );
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let found = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if found != version {
        bail!("{name}: format version {found}, but this ember reads version {version}");
    }
    let shape = [u64_at(12), u64_at(20), u64_at(28), u64_at(36)];
    let length = u64_at(44);
    let checksum = u64_at(52);
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != length {
        bail!(
            "{name}: truncated or padded: the header announces {length} payload bytes, the file holds {}",
            payload.len()
        );
    }
    if xxh3_64(payload) != checksum {
        bail!("{name}: checksum mismatch: the file is corrupt (rebuild or re-export it)");
    }
    Ok((Header { version, shape }, payload))
}
