//! The audit trail: who did what to which object, when and from where. Written in the same
//! transaction as the action it records, and never given a secret.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::{OrganizationId, UserId};
use crate::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub organization_id: i64,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<String>,
    pub created_at: NaiveDateTime,
}

pub struct NewAuditEvent<'a> {
    pub organization_id: OrganizationId,
    pub actor: Option<UserId>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<i64>,
    pub detail: String,
    pub client_addr: Option<&'a str>,
}

impl AuditEvent {
    pub fn record(
        conn: &mut DbConnection,
        event: NewAuditEvent<'_>,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::organization_id.eq(event.organization_id.0),
                audit_events::actor_user_id.eq(event.actor.map(|u| u.0)),
                audit_events::action.eq(event.action),
                audit_events::object_type.eq(event.object_type),
                audit_events::object_id.eq(event.object_id),
                audit_events::detail.eq(&event.detail),
                audit_events::client_addr.eq(event.client_addr),
                audit_events::created_at.eq(now),
            ))
            .execute(conn)
            .map(|_| ())
    }

    pub fn latest(
        conn: &mut DbConnection,
        organization: OrganizationId,
        limit: i64,
    ) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::organization_id.eq(organization.0))
            .order(audit_events::id.desc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(conn)
    }
}
