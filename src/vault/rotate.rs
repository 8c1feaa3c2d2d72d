//! `keyholder rotate-key`: re-encrypt every secret under a new data key.
//!
//! Safe to interrupt: rows are re-encrypted one by one, each in place and only if unchanged, and
//! every data key stays readable until no row uses it. A re-run finds the rotation unfinished
//! (rows still under an older key) and completes it with the same new key instead of starting
//! another.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;

use super::{SecretSlot, Vault, VaultError, cipher};
use crate::db::DbConnection;
use crate::models::data_key::DataKeyRow;
use crate::models::{Account, Target};

const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub new_key_created: bool,
    pub active_key: i64,
    pub re_encrypted: u64,
    pub keys_removed: usize,
}

type Loader = fn(&mut DbConnection, i64, i64) -> diesel::QueryResult<Vec<(i64, Vec<u8>)>>;
type Replacer = fn(&mut DbConnection, i64, &[u8], &[u8]) -> diesel::QueryResult<usize>;

/// Every place a secret is stored.
const SOURCES: &[(&str, &str, Loader, Replacer)] = &[
    (
        "accounts",
        "secret",
        Account::secrets_after,
        Account::replace_secret,
    ),
    (
        "targets",
        "connector_secret",
        Target::connector_secrets_after,
        Target::replace_connector_secret,
    ),
];

/// The data key ids in use, across every stored secret.
pub fn keys_in_use(conn: &mut DbConnection) -> Result<BTreeSet<i64>, VaultError> {
    let mut used = BTreeSet::new();
    for (_, _, load, _) in SOURCES {
        let mut after = 0;
        loop {
            let rows = load(conn, after, BATCH)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (_, blob) in &rows {
                if let Ok(id) = cipher::key_id_of(blob) {
                    used.insert(id);
                }
            }
        }
    }
    Ok(used)
}

pub fn rotate(
    conn: &mut DbConnection,
    vault: &Vault,
    now: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> Result<RotationReport, VaultError> {
    let mut report = RotationReport::default();
    let active = vault.active_key_id(conn)?;
    let in_use = keys_in_use(conn)?;
    let unfinished = in_use.iter().any(|id| *id != active);
    report.active_key = if unfinished {
        active
    } else {
        report.new_key_created = true;
        vault.create_key(conn, now)?
    };

    for (table, field, load, replace) in SOURCES {
        let mut after = 0;
        loop {
            let rows = load(conn, after, BATCH)?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, blob) in rows {
                if cipher::key_id_of(&blob).ok() == Some(report.active_key) {
                    continue;
                }
                let slot = SecretSlot::new(table, id, field);
                let plain = vault.decrypt(conn, &blob, slot)?;
                let sealed = vault.encrypt(conn, &plain, slot)?;
                if replace(conn, id, &blob, &sealed)? == 1 {
                    report.re_encrypted += 1;
                    progress(report.re_encrypted);
                }
            }
        }
    }

    // Only keys no row names any more are removed; the active one always stays.
    let still_used: Vec<i64> = keys_in_use(conn)?.into_iter().collect();
    let mut keep = still_used;
    keep.push(report.active_key);
    report.keys_removed = DataKeyRow::delete_inactive(conn, &keep)?;
    Ok(report)
}
