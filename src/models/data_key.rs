//! Data keys, stored wrapped under the master key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::schema::data_keys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = data_keys)]
pub struct DataKeyRow {
    pub id: i64,
    pub key_uid: String,
    pub wrapped_key: Vec<u8>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

impl DataKeyRow {
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<DataKeyRow>> {
        data_keys::table
            .order(data_keys::id.asc())
            .select(DataKeyRow::as_select())
            .load(conn)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<DataKeyRow>> {
        data_keys::table
            .find(id)
            .select(DataKeyRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn active_id(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
        data_keys::table
            .filter(data_keys::active.eq(true))
            .order(data_keys::id.desc())
            .select(data_keys::id)
            .first(conn)
            .optional()
    }

    /// Adds a key and makes it the one new secrets are encrypted with.
    pub fn insert_active(
        conn: &mut DbConnection,
        key_uid: &str,
        wrapped_key: &[u8],
        now: NaiveDateTime,
    ) -> QueryResult<i64> {
        crate::db::transaction(conn, |conn| {
            diesel::update(data_keys::table)
                .set(data_keys::active.eq(false))
                .execute(conn)?;
            diesel::insert_into(data_keys::table)
                .values((
                    data_keys::key_uid.eq(key_uid),
                    data_keys::wrapped_key.eq(wrapped_key),
                    data_keys::active.eq(true),
                    data_keys::created_at.eq(now),
                ))
                .returning(data_keys::id)
                .get_result(conn)
        })
    }

    pub fn delete_inactive(conn: &mut DbConnection, keep: &[i64]) -> QueryResult<usize> {
        diesel::delete(
            data_keys::table
                .filter(data_keys::active.eq(false))
                .filter(data_keys::id.ne_all(keep)),
        )
        .execute(conn)
    }
}
