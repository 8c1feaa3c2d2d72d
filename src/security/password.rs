//! Sign-in password hashing: argon2id at OWASP's recommended minimum (m=19456 KiB, t=2, p=1),
//! stored as PHC strings, always computed on the blocking pool.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::tokens::fill_random;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes synchronously: call it through `hash_password` from async code.
pub fn hash_password_blocking(password: &str) -> anyhow::Result<String> {
    let mut salt_bytes = [0u8; 16];
    fill_random(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// Verifies against a stored PHC string; a malformed stored hash counts as a mismatch.
pub fn verify_password_blocking(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // The parameters come from the PHC string, so hashes made with stronger settings verify.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash of a random password, verified against when the email is unknown so that an unknown
/// address costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password_blocking(&super::tokens::random_token(24)).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$O8iB8X3s1o3iC9bTe1VtWnm2cO4Dqz4U1k0hDq7dN6g".into()
        })
    })
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let password = zeroize::Zeroizing::new(password);
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .context("password hashing task failed")?
}

pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let password = zeroize::Zeroizing::new(password);
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password_blocking(&password, &stored),
        None => {
            let _ = verify_password_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .context("password verification task failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_at_owasp_minimum() {
        let hash = hash_password_blocking("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password_blocking(
            "correct horse battery staple",
            &hash
        ));
        assert!(!verify_password_blocking(
            "correct horse battery stapler",
            &hash
        ));
        assert!(!verify_password_blocking("x", "not a hash"));
    }
}
