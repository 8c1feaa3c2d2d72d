//! The master key lives outside the database: in `KEYHOLDER_MASTER_KEY`, in a key file, or — on
//! the embedded default — in `master.key` in the data directory, created (mode 0600) at first
//! start.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::config::MasterKeySource;
use crate::security::tokens::fill_random;

pub const MASTER_KEY_BYTES: usize = 32;

#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; MASTER_KEY_BYTES]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeyOrigin {
    Environment,
    File,
    CreatedFile,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(****)")
    }
}

impl MasterKey {
    /// Reads the key. A missing key file is created only when `may_create` (a database with
    /// no encrypted data yet): otherwise a new key would silently lock the old data away.
    pub fn load(
        source: &MasterKeySource,
        may_create: bool,
    ) -> anyhow::Result<(Self, MasterKeyOrigin)> {
        match source {
            MasterKeySource::Inline(text) => Ok((
                Self::decode(text).context(
                    "KEYHOLDER_MASTER_KEY is not valid: expected 32 bytes encoded in base64 \
                     (make one with: head -c 32 /dev/urandom | base64)",
                )?,
                MasterKeyOrigin::Environment,
            )),
            MasterKeySource::File {
                path,
                create_if_missing,
            } => {
                if !path.exists() && *create_if_missing {
                    if !may_create {
                        bail!(
                            "the master key file {} is missing, but this database holds secrets \
                             encrypted under a master key. Restore the file from your backup (or \
                             set KEYHOLDER_MASTER_KEY); nothing was changed",
                            path.display()
                        );
                    }
                    let key = Self::generate();
                    key.write_new_file(path)?;
                    return Ok((key, MasterKeyOrigin::CreatedFile));
                }
                let mut text = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read the master key file {} (KEYHOLDER_MASTER_KEY_FILE)",
                        path.display()
                    )
                })?;
                let key = Self::decode(&text).with_context(|| {
                    format!(
                        "the master key file {} is not valid: expected 32 bytes encoded in base64",
                        path.display()
                    )
                });
                text.zeroize();
                Ok((key?, MasterKeyOrigin::File))
            }
        }
    }

    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
        fill_random(bytes.as_mut());
        Self { bytes }
    }

    pub fn decode(text: &str) -> anyhow::Result<Self> {
        let decoded = Zeroizing::new(STANDARD.decode(text.trim()).context("not base64")?);
        if decoded.len() != MASTER_KEY_BYTES {
            bail!("decodes to {} bytes, not {MASTER_KEY_BYTES}", decoded.len());
        }
        let mut bytes = Zeroizing::new([0u8; MASTER_KEY_BYTES]);
        bytes.copy_from_slice(&decoded);
        Ok(Self { bytes })
    }

    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    fn write_new_file(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create the master key file {}", path.display()))?;
        let mut line = self.encode();
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|_| file.sync_all())
            .with_context(|| format!("cannot write the master key file {}", path.display()))?;
        Ok(())
    }

    /// The key that wraps data keys.
    pub fn wrapping_key(&self) -> Zeroizing<[u8; 32]> {
        let derived = self.derive("data-key-wrapping");
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&derived[..32]);
        key
    }

    /// A key for one purpose, derived so that no two purposes share key material.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 64]> {
        let mut hasher = Sha512::new();
        hasher.update(b"keyholder/v1/");
        hasher.update(purpose.as_bytes());
        hasher.update([0u8]);
        hasher.update(self.bytes.as_ref());
        let mut out = Zeroizing::new([0u8; 64]);
        out.copy_from_slice(&hasher.finalize());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let source = MasterKeySource::File {
            path: path.clone(),
            create_if_missing: true,
        };
        let (created, origin) = MasterKey::load(&source, true).unwrap();
        assert_eq!(origin, MasterKeyOrigin::CreatedFile);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (read, origin) = MasterKey::load(&source, false).unwrap();
        assert_eq!(origin, MasterKeyOrigin::File);
        assert_eq!(*created.encode(), *read.encode());
        assert_ne!(created.derive("a").as_ref(), created.derive("b").as_ref());

        std::fs::remove_file(&path).unwrap();
        let err = MasterKey::load(&source, false).unwrap_err();
        assert!(err.to_string().contains("is missing"), "{err}");
        assert!(!path.exists(), "a missing key is not silently replaced");
    }

    #[test]
    fn a_wrong_key_is_refused_with_a_message() {
        let err = MasterKey::load(&MasterKeySource::Inline("c2hvcnQ=".into()), true).unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"), "{err:#}");
    }
}
