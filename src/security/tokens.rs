//! Random tokens from the operating system's generator, and their stored form.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    fill_random(&mut buffer);
    URL_SAFE_NO_PAD.encode(&buffer)
}

pub fn fill_random(buffer: &mut [u8]) {
    // The OS generator failing is not something Keyholder can work around; continuing with
    // predictable bytes would be worse than stopping.
    #[allow(clippy::expect_used)]
    OsRng
        .try_fill_bytes(buffer)
        .expect("the operating system's random number generator failed");
}

/// Tokens are stored only as their SHA-256, so a copy of the database grants nothing.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
