//! Authenticated encryption of secrets: XChaCha20-Poly1305 under a data key, a fresh random
//! 192-bit nonce per encryption, and associated data naming the row and field, so a ciphertext
//! copied to another row or field fails to decrypt.
//!
//! Stored form: `b"KH" | version (1) | data key id (8, big-endian) | nonce (24) | ciphertext+tag`;
//! the header is part of the associated data.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::security::tokens::fill_random;

const MAGIC: &[u8; 2] = b"KH";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 2 + 1 + 8;
const NONCE_LEN: usize = 24;
pub const KEY_LEN: usize = 32;

/// Where a secret lives; bound into the ciphertext.
#[derive(Debug, Clone, Copy)]
pub struct SecretSlot {
    pub table: &'static str,
    pub row: i64,
    pub field: &'static str,
}

impl SecretSlot {
    pub fn new(table: &'static str, row: i64, field: &'static str) -> Self {
        Self { table, row, field }
    }

    pub fn associated_data(&self) -> Vec<u8> {
        format!("keyholder/v1/{}/{}/{}", self.table, self.row, self.field).into_bytes()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("the stored secret is not in Keyholder's format")]
    Malformed,
    #[error("the stored secret failed its integrity check (altered, moved, or wrong key)")]
    Integrity,
}

/// The data key id a stored secret names.
pub fn key_id_of(blob: &[u8]) -> Result<i64, CipherError> {
    if blob.len() < HEADER_LEN + NONCE_LEN + 16 || &blob[..2] != MAGIC || blob[2] != VERSION {
        return Err(CipherError::Malformed);
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&blob[3..11]);
    Ok(i64::from_be_bytes(id))
}

pub fn seal(key: &[u8; KEY_LEN], key_id: i64, plaintext: &[u8], slot: &SecretSlot) -> Vec<u8> {
    seal_with(key, key_id, plaintext, &slot.associated_data())
}

fn header(key_id: i64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..2].copy_from_slice(MAGIC);
    header[2] = VERSION;
    header[3..].copy_from_slice(&key_id.to_be_bytes());
    header
}

/// The header is authenticated too: a stored secret cannot be relabelled with another key id.
fn full_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(header.len() + aad.len());
    full.extend_from_slice(header);
    full.extend_from_slice(aad);
    full
}

/// `seal` with explicit associated data.
pub fn seal_with(key: &[u8; KEY_LEN], key_id: i64, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce);
    let header = header(key_id);
    let aad = full_aad(&header, aad);
    // Encryption with a valid key cannot fail for inputs of this size.
    #[allow(clippy::expect_used)]
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption");
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

pub fn open(
    key: &[u8; KEY_LEN],
    blob: &[u8],
    slot: &SecretSlot,
) -> Result<Zeroizing<Vec<u8>>, CipherError> {
    open_with(key, blob, &slot.associated_data())
}

/// `open` with explicit associated data.
pub fn open_with(
    key: &[u8; KEY_LEN],
    blob: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CipherError> {
    key_id_of(blob)?;
    let aad = full_aad(&blob[..HEADER_LEN], aad);
    let nonce = &blob[HEADER_LEN..HEADER_LEN + NONCE_LEN];
    let ciphertext = &blob[HEADER_LEN + NONCE_LEN..];
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CipherError::Integrity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = [7u8; KEY_LEN];
        let slot = SecretSlot::new("accounts", 42, "secret");
        let blob = seal(&key, 3, b"hunter2hunter2", &slot);
        assert_eq!(key_id_of(&blob), Ok(3));
        assert_eq!(
            open(&key, &blob, &slot).unwrap().as_slice(),
            b"hunter2hunter2"
        );
        // Not in the clear.
        assert!(!blob.windows(7).any(|w| w == b"hunter2"));
        // Moved to another row or field: refused.
        assert_eq!(
            open(&key, &blob, &SecretSlot::new("accounts", 43, "secret")),
            Err(CipherError::Integrity)
        );
        assert_eq!(
            open(
                &key,
                &blob,
                &SecretSlot::new("accounts", 42, "pending_secret")
            ),
            Err(CipherError::Integrity)
        );
        // One flipped byte anywhere: refused.
        for i in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 0x01;
            assert!(open(&key, &tampered, &slot).is_err(), "byte {i}");
        }
        // Two encryptions of the same secret differ (fresh nonce).
        assert_ne!(blob, seal(&key, 3, b"hunter2hunter2", &slot));
    }
}
