//! The vault: secrets encrypted at rest under data keys, which are wrapped by the master key.

pub mod cipher;
mod master_key;
pub mod rotate;

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::NaiveDateTime;
use zeroize::Zeroizing;

pub use cipher::SecretSlot;
pub use master_key::{MasterKey, MasterKeyOrigin};

use crate::db::DbConnection;
use crate::models::data_key::DataKeyRow;
use crate::security::tokens::{fill_random, random_token};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the master key does not open this database's data keys: it is not the key this \
         database was set up with (check KEYHOLDER_MASTER_KEY / the master key file); nothing was changed"
    )]
    WrongMasterKey,
    #[error("the data key {0} named by a stored secret does not exist")]
    UnknownKey(i64),
    #[error("the vault has no active data key")]
    NoActiveKey,
    #[error(transparent)]
    Cipher(#[from] cipher::CipherError),
    #[error("a stored secret is not valid text")]
    NotText,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

type DataKey = Zeroizing<[u8; cipher::KEY_LEN]>;

pub struct Vault {
    wrapping_key: Zeroizing<[u8; 32]>,
    keys: RwLock<HashMap<i64, DataKey>>,
}

fn wrap_aad(key_uid: &str) -> Vec<u8> {
    format!("keyholder/v1/data_keys/{key_uid}").into_bytes()
}

impl Vault {
    /// Unwraps every data key (proving the master key is the right one); creates the first data
    /// key in a new database.
    pub fn open(
        conn: &mut DbConnection,
        master: &MasterKey,
        now: NaiveDateTime,
    ) -> Result<Self, VaultError> {
        let vault = Self {
            wrapping_key: master.wrapping_key(),
            keys: RwLock::new(HashMap::new()),
        };
        let rows = DataKeyRow::all(conn)?;
        if rows.is_empty() {
            vault.create_key(conn, now)?;
            return Ok(vault);
        }
        for row in rows {
            let key = vault.unwrap_row(&row)?;
            vault.cache(row.id, key);
        }
        Ok(vault)
    }

    fn unwrap_row(&self, row: &DataKeyRow) -> Result<DataKey, VaultError> {
        let plain = cipher::open_with(
            &self.wrapping_key,
            &row.wrapped_key,
            &wrap_aad(&row.key_uid),
        )
        .map_err(|_| VaultError::WrongMasterKey)?;
        if plain.len() != cipher::KEY_LEN {
            return Err(VaultError::WrongMasterKey);
        }
        let mut key = Zeroizing::new([0u8; cipher::KEY_LEN]);
        key.copy_from_slice(&plain);
        Ok(key)
    }

    fn cache(&self, id: i64, key: DataKey) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(id, key);
        }
    }

    /// A new random data key, made the active one.
    pub fn create_key(
        &self,
        conn: &mut DbConnection,
        now: NaiveDateTime,
    ) -> Result<i64, VaultError> {
        let mut key = Zeroizing::new([0u8; cipher::KEY_LEN]);
        fill_random(key.as_mut());
        let uid = random_token(16);
        let wrapped = cipher::seal_with(&self.wrapping_key, 0, key.as_ref(), &wrap_aad(&uid));
        let id = DataKeyRow::insert_active(conn, &uid, &wrapped, now)?;
        self.cache(id, key);
        Ok(id)
    }

    /// The data key `id`, loaded from the database if another process created it.
    fn key(&self, conn: &mut DbConnection, id: i64) -> Result<DataKey, VaultError> {
        if let Ok(keys) = self.keys.read()
            && let Some(key) = keys.get(&id)
        {
            return Ok(key.clone());
        }
        let row = DataKeyRow::find(conn, id)?.ok_or(VaultError::UnknownKey(id))?;
        let key = self.unwrap_row(&row)?;
        self.cache(id, key.clone());
        Ok(key)
    }

    pub fn active_key_id(&self, conn: &mut DbConnection) -> Result<i64, VaultError> {
        DataKeyRow::active_id(conn)?.ok_or(VaultError::NoActiveKey)
    }

    /// Encrypts under the active data key (read each time, so a rotation by another process
    /// takes effect at once).
    pub fn encrypt(
        &self,
        conn: &mut DbConnection,
        plaintext: &str,
        slot: SecretSlot,
    ) -> Result<Vec<u8>, VaultError> {
        let id = self.active_key_id(conn)?;
        let key = self.key(conn, id)?;
        Ok(cipher::seal(&key, id, plaintext.as_bytes(), &slot))
    }

    pub fn decrypt(
        &self,
        conn: &mut DbConnection,
        blob: &[u8],
        slot: SecretSlot,
    ) -> Result<Zeroizing<String>, VaultError> {
        let id = cipher::key_id_of(blob)?;
        let key = self.key(conn, id)?;
        let plain = cipher::open(&key, blob, &slot)?;
        let text = std::str::from_utf8(&plain).map_err(|_| VaultError::NotText)?;
        Ok(Zeroizing::new(text.to_string()))
    }
}
