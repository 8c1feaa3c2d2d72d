//! An admin's request for access to an Unmanaged personal credential, and its outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, is_unique_violation};
use crate::db::DbConnection;
use crate::db::sql::{PendingStatus, in_ids};
use crate::domain::{AccountId, UserId};
use crate::schema::{access_requests, accounts, targets, users};

/// Where a request stands. `Pending` past its expiry reads as `Expired` (see `effective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Granted,
    Denied,
    Expired,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Granted => "granted",
            RequestStatus::Denied => "denied",
            RequestStatus::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<RequestStatus> {
        match value {
            "pending" => Some(RequestStatus::Pending),
            "granted" => Some(RequestStatus::Granted),
            "denied" => Some(RequestStatus::Denied),
            "expired" => Some(RequestStatus::Expired),
            _ => None,
        }
    }

    /// The word shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "Pending",
            RequestStatus::Granted => "Granted",
            RequestStatus::Denied => "Denied",
            RequestStatus::Expired => "Expired",
        }
    }

    /// The CSS modifier of the status badge.
    pub fn css(self) -> &'static str {
        match self {
            RequestStatus::Pending => "state-info",
            RequestStatus::Granted => "state-ok",
            RequestStatus::Denied => "state-danger",
            RequestStatus::Expired => "state-disabled",
        }
    }
}

impl From<String> for RequestStatus {
    fn from(value: String) -> Self {
        RequestStatus::parse(&value).unwrap_or(RequestStatus::Expired)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_requests)]
pub struct AccessRequest {
    pub id: i64,
    pub organization_id: i64,
    pub account_id: i64,
    pub target_id: i64,
    pub admin_user_id: i64,
    pub owner_user_id: i64,
    #[diesel(deserialize_as = String)]
    pub status: RequestStatus,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub token_hash: Option<String>,
    pub token_used_at: Option<NaiveDateTime>,
}

/// A request with the names people read: app, username, admin and owner.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: AccessRequest,
    pub status: RequestStatus,
    pub app: String,
    pub username: String,
    pub admin_name: String,
    pub admin_email: String,
    pub owner_name: String,
    pub owner_email: String,
}

/// Who asked for a credential that is still pending, for the Credentials list.
#[derive(Debug, Clone)]
pub struct PendingMark {
    pub account_id: i64,
    pub admin_user_id: i64,
    pub admin_name: String,
    pub created_at: NaiveDateTime,
}

pub struct NewRequest {
    pub organization_id: i64,
    pub account_id: AccountId,
    pub target_id: i64,
    pub admin: UserId,
    pub owner: UserId,
    pub expires_at: NaiveDateTime,
}

impl AccessRequest {
    /// The status as of `now`: a pending request past its expiry is expired.
    pub fn effective(&self, now: NaiveDateTime) -> RequestStatus {
        if self.status == RequestStatus::Pending && self.expires_at <= now {
            RequestStatus::Expired
        } else {
            self.status
        }
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<AccessRequest>> {
        access_requests::table
            .find(id)
            .select(AccessRequest::as_select())
            .first(conn)
            .optional()
    }

    /// Creates a pending request, or returns the one this admin already has pending for the
    /// credential (`false`): pressing twice asks once.
    pub fn create_or_existing(
        conn: &mut DbConnection,
        new: &NewRequest,
        now: NaiveDateTime,
    ) -> QueryResult<(AccessRequest, bool)> {
        crate::db::transaction(conn, |conn| {
            // A pending request past its time no longer counts (and no longer blocks a new one).
            diesel::update(
                access_requests::table
                    .filter(access_requests::account_id.eq(new.account_id.0))
                    .filter(access_requests::status.eq(PendingStatus))
                    .filter(access_requests::expires_at.le(now)),
            )
            .set(access_requests::status.eq(RequestStatus::Expired.as_str()))
            .execute(conn)?;
            if let Some(existing) = Self::pending_of(conn, new.account_id, new.admin)? {
                return Ok((existing, false));
            }
            let inserted = diesel::insert_into(access_requests::table)
                .values((
                    access_requests::organization_id.eq(new.organization_id),
                    access_requests::account_id.eq(new.account_id.0),
                    access_requests::target_id.eq(new.target_id),
                    access_requests::admin_user_id.eq(new.admin.0),
                    access_requests::owner_user_id.eq(new.owner.0),
                    access_requests::status.eq(RequestStatus::Pending.as_str()),
                    access_requests::created_at.eq(now),
                    access_requests::expires_at.eq(new.expires_at),
                ))
                .returning(access_requests::id)
                .get_result::<i64>(conn);
            match inserted {
                Ok(id) => {
                    let request = access_requests::table
                        .find(id)
                        .select(AccessRequest::as_select())
                        .first(conn)?;
                    Ok((request, true))
                }
                // A concurrent press won the race: the request exists, once.
                Err(error) if is_unique_violation(&error) => {
                    Err(diesel::result::Error::RollbackTransaction)
                }
                Err(error) => Err(error),
            }
        })
        .or_else(|error| match error {
            diesel::result::Error::RollbackTransaction => {
                match Self::pending_of(conn, new.account_id, new.admin)? {
                    Some(existing) => Ok((existing, false)),
                    None => Err(diesel::result::Error::NotFound),
                }
            }
            other => Err(other),
        })
    }

    fn pending_of(
        conn: &mut DbConnection,
        account: AccountId,
        admin: UserId,
    ) -> QueryResult<Option<AccessRequest>> {
        access_requests::table
            .filter(access_requests::account_id.eq(account.0))
            .filter(access_requests::admin_user_id.eq(admin.0))
            .filter(access_requests::status.eq(PendingStatus))
            .select(AccessRequest::as_select())
            .first(conn)
            .optional()
    }

    /// Pending, unexpired requests on these accounts, oldest first, for the Credentials list.
    pub fn pending_marks(
        conn: &mut DbConnection,
        accounts: &[i64],
        now: NaiveDateTime,
    ) -> QueryResult<Vec<PendingMark>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64, String, NaiveDateTime)> = access_requests::table
            .inner_join(users::table.on(users::id.eq(access_requests::admin_user_id)))
            .filter(in_ids(access_requests::account_id, accounts))
            .filter(access_requests::status.eq(PendingStatus))
            .filter(access_requests::expires_at.gt(now))
            .order(access_requests::id.asc())
            .select((
                access_requests::account_id,
                access_requests::admin_user_id,
                users::name,
                access_requests::created_at,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(account_id, admin_user_id, admin_name, created_at)| PendingMark {
                    account_id,
                    admin_user_id,
                    admin_name,
                    created_at,
                },
            )
            .collect())
    }

    /// Stores the hash of a fresh approval-link token (the previous link stops working).
    pub fn set_token_hash(conn: &mut DbConnection, id: i64, hash: &str) -> QueryResult<usize> {
        diesel::update(
            access_requests::table
                .filter(access_requests::id.eq(id))
                .filter(access_requests::status.eq(PendingStatus)),
        )
        .set((
            access_requests::token_hash.eq(hash),
            access_requests::token_used_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
    }

    /// Records the owner's decision if the request is still pending and unexpired; `false` if
    /// someone (or something) decided first.
    pub fn decide(
        conn: &mut DbConnection,
        id: i64,
        status: RequestStatus,
        token_used: bool,
        now: NaiveDateTime,
    ) -> QueryResult<bool> {
        let query = access_requests::table
            .filter(access_requests::id.eq(id))
            .filter(access_requests::status.eq(PendingStatus))
            .filter(access_requests::expires_at.gt(now));
        let changed = if token_used {
            diesel::update(query)
                .set((
                    access_requests::status.eq(status.as_str()),
                    access_requests::decided_at.eq(now),
                    access_requests::token_used_at.eq(now),
                ))
                .execute(conn)?
        } else {
            diesel::update(query)
                .set((
                    access_requests::status.eq(status.as_str()),
                    access_requests::decided_at.eq(now),
                ))
                .execute(conn)?
        };
        Ok(changed == 1)
    }

    /// Closes the other pending requests for a credential that just became Managed: what they
    /// asked for is now given. Returns them (for telling their admins).
    pub fn close_pending_as_granted(
        conn: &mut DbConnection,
        account: AccountId,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<AccessRequest>> {
        let pending: Vec<AccessRequest> = access_requests::table
            .filter(access_requests::account_id.eq(account.0))
            .filter(access_requests::status.eq(PendingStatus))
            .filter(access_requests::expires_at.gt(now))
            .select(AccessRequest::as_select())
            .load(conn)?;
        let mut closed = Vec::with_capacity(pending.len());
        for request in pending {
            if Self::decide(conn, request.id, RequestStatus::Granted, false, now)? {
                closed.push(request);
            }
        }
        Ok(closed)
    }

    /// Marks pending requests past their time as expired and returns them.
    pub fn expire_due(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<AccessRequest>> {
        let due: Vec<AccessRequest> = access_requests::table
            .filter(access_requests::status.eq(PendingStatus))
            .filter(access_requests::expires_at.le(now))
            .order(access_requests::id.asc())
            .limit(limit)
            .select(AccessRequest::as_select())
            .load(conn)?;
        let mut expired = Vec::with_capacity(due.len());
        for request in due {
            let changed = diesel::update(
                access_requests::table
                    .filter(access_requests::id.eq(request.id))
                    .filter(access_requests::status.eq(PendingStatus)),
            )
            .set(access_requests::status.eq(RequestStatus::Expired.as_str()))
            .execute(conn)?;
            if changed == 1 {
                expired.push(request);
            }
        }
        Ok(expired)
    }

    /// The request with the names people read.
    pub fn view(
        conn: &mut DbConnection,
        id: i64,
        now: NaiveDateTime,
    ) -> QueryResult<Option<RequestView>> {
        let request = match Self::find(conn, id)? {
            Some(request) => request,
            None => return Ok(None),
        };
        Ok(Some(Self::views(conn, vec![request], now)?.remove(0)))
    }

    /// Names for a list of requests, in three queries whatever its length.
    fn views(
        conn: &mut DbConnection,
        requests: Vec<AccessRequest>,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<RequestView>> {
        use std::collections::HashMap;
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let account_ids: Vec<i64> = requests.iter().map(|r| r.account_id).collect();
        let target_ids: Vec<i64> = requests.iter().map(|r| r.target_id).collect();
        let user_ids: Vec<i64> = requests
            .iter()
            .flat_map(|r| [r.admin_user_id, r.owner_user_id])
            .collect();
        let usernames: HashMap<i64, String> = accounts::table
            .filter(in_ids(accounts::id, &account_ids))
            .select((accounts::id, accounts::username))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let apps: HashMap<i64, String> = targets::table
            .filter(in_ids(targets::id, &target_ids))
            .select((targets::id, targets::name))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let people: HashMap<i64, (String, String)> = users::table
            .filter(in_ids(users::id, &user_ids))
            .select((users::id, users::name, users::email))
            .load::<(i64, String, String)>(conn)?
            .into_iter()
            .map(|(id, name, email)| (id, (name, email)))
            .collect();
        let unknown = (String::from("(removed)"), String::new());
        Ok(requests
            .into_iter()
            .map(|request| {
                let (admin_name, admin_email) = people
                    .get(&request.admin_user_id)
                    .unwrap_or(&unknown)
                    .clone();
                let (owner_name, owner_email) = people
                    .get(&request.owner_user_id)
                    .unwrap_or(&unknown)
                    .clone();
                RequestView {
                    status: request.effective(now),
                    app: apps.get(&request.target_id).cloned().unwrap_or_default(),
                    username: usernames
                        .get(&request.account_id)
                        .cloned()
                        .unwrap_or_default(),
                    admin_name,
                    admin_email,
                    owner_name,
                    owner_email,
                    request,
                }
            })
            .collect())
    }

    /// A page of the requests an admin made, newest first, optionally of one status.
    pub fn made_by(
        conn: &mut DbConnection,
        admin: UserId,
        status: Option<RequestStatus>,
        now: NaiveDateTime,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<RequestView>> {
        let filtered = || {
            let query = access_requests::table
                .filter(access_requests::admin_user_id.eq(admin.0))
                .into_boxed();
            match status {
                None => query,
                Some(RequestStatus::Pending) => query
                    .filter(access_requests::status.eq(PendingStatus))
                    .filter(access_requests::expires_at.gt(now)),
                Some(RequestStatus::Expired) => query.filter(
                    access_requests::status
                        .eq(RequestStatus::Expired.as_str())
                        .or(access_requests::status
                            .eq(PendingStatus)
                            .and(access_requests::expires_at.le(now))),
                ),
                Some(other) => query.filter(access_requests::status.eq(other.as_str())),
            }
        };
        let total: i64 = filtered().count().get_result(conn)?;
        let requests: Vec<AccessRequest> = filtered()
            .order(access_requests::id.desc())
            .limit(per_page)
            .offset(Page::<RequestView>::offset(page, per_page))
            .select(AccessRequest::as_select())
            .load(conn)?;
        Ok(Page::new(
            Self::views(conn, requests, now)?,
            total,
            page,
            per_page,
        ))
    }

    /// Pending, unexpired requests waiting for the owner's answer, newest first.
    pub fn waiting_for(
        conn: &mut DbConnection,
        owner: UserId,
        now: NaiveDateTime,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<RequestView>> {
        let waiting = || {
            access_requests::table
                .filter(access_requests::owner_user_id.eq(owner.0))
                .filter(access_requests::status.eq(PendingStatus))
                .filter(access_requests::expires_at.gt(now))
        };
        let requests: Vec<AccessRequest> = waiting()
            .order(access_requests::id.desc())
            .limit(per_page)
            .offset(Page::<RequestView>::offset(page, per_page))
            .select(AccessRequest::as_select())
            .load(conn)?;
        // Most owners have nothing waiting, or less than a page: then the page is the count.
        let total = if page == 1 && (requests.len() as i64) < per_page {
            requests.len() as i64
        } else {
            waiting().count().get_result(conn)?
        };
        Ok(Page::new(
            Self::views(conn, requests, now)?,
            total,
            page,
            per_page,
        ))
    }
}
