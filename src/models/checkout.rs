//! Check-outs, kept forever as history.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::sql::{HolderName, HoldersOfAccount, holders_shown, unplanned_in_ids};
use crate::domain::{AccountId, CheckoutType, OrganizationId, TargetId, UserId};
use crate::models::{ListedAccount, Page};
use crate::schema::{checkouts, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = checkouts)]
pub struct Checkout {
    pub id: i64,
    #[diesel(deserialize_as = i64)]
    pub organization_id: OrganizationId,
    #[diesel(deserialize_as = i64)]
    pub account_id: AccountId,
    #[diesel(deserialize_as = i64)]
    pub target_id: TargetId,
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    #[diesel(deserialize_as = String)]
    pub mode: CheckoutType,
    pub started_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    pub ended_by: Option<i64>,
    pub reminded: bool,
}

pub struct NewCheckout {
    pub organization: OrganizationId,
    pub account: AccountId,
    pub target: TargetId,
    pub user: UserId,
    pub mode: CheckoutType,
    pub started_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// How a check-out ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CheckedIn,
    Expired,
    Forced,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::CheckedIn => "checked_in",
            EndReason::Expired => "expired",
            EndReason::Forced => "forced",
        }
    }
}

/// An active check-out with its holder's name, for pages.
#[derive(Debug, Clone)]
pub struct ActiveCheckout {
    pub checkout: Checkout,
    pub holder_name: String,
    /// How many hold its account right now, this one included.
    pub holders: i64,
}

impl Checkout {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Checkout>> {
        checkouts::table
            .find(id)
            .select(Checkout::as_select())
            .first(conn)
            .optional()
    }

    /// Records a new check-out; `None` when the account already has an exclusive holder. The
    /// unique index `checkouts_one_exclusive_holder` decides, with `ON CONFLICT DO NOTHING`
    /// rather than a failed statement, which PostgreSQL would write to its log as an error for
    /// every refused check-out. diesel's multi-backend connection has no `ON CONFLICT`, so the
    /// statement is built for each engine.
    pub fn insert(conn: &mut DbConnection, new: NewCheckout) -> QueryResult<Option<i64>> {
        let values = || {
            (
                checkouts::organization_id.eq(new.organization.0),
                checkouts::account_id.eq(new.account.0),
                checkouts::target_id.eq(new.target.0),
                checkouts::user_id.eq(new.user.0),
                checkouts::mode.eq(new.mode.as_str()),
                checkouts::started_at.eq(new.started_at),
                checkouts::expires_at.eq(new.expires_at),
                checkouts::reminded.eq(false),
            )
        };
        match conn {
            DbConnection::Postgres(conn) => diesel::insert_into(checkouts::table)
                .values(values())
                .on_conflict_do_nothing()
                .returning(checkouts::id)
                .get_result(conn)
                .optional(),
            DbConnection::Sqlite(conn) => diesel::insert_into(checkouts::table)
                .values(values())
                .on_conflict_do_nothing()
                .returning(checkouts::id)
                .get_result(conn)
                .optional(),
        }
    }

    /// Ends a check-out that is still active; 0 rows means someone else ended it first.
    pub fn end(
        conn: &mut DbConnection,
        id: i64,
        reason: EndReason,
        by: Option<UserId>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            checkouts::table
                .filter(checkouts::id.eq(id))
                .filter(checkouts::ended_at.is_null()),
        )
        .set((
            checkouts::ended_at.eq(now),
            checkouts::end_reason.eq(reason.as_str()),
            checkouts::ended_by.eq(by.map(|u| u.0)),
        ))
        .execute(conn)
    }

    /// When the last ended check-out of an account ended.
    pub fn last_end_on(
        conn: &mut DbConnection,
        account: AccountId,
    ) -> QueryResult<Option<NaiveDateTime>> {
        checkouts::table
            .filter(checkouts::account_id.eq(account.0))
            .select(diesel::dsl::max(checkouts::ended_at))
            .first(conn)
    }

    /// Moves the start (and end) of a check-out that has just been granted.
    pub fn move_start(
        conn: &mut DbConnection,
        id: i64,
        started_at: NaiveDateTime,
        expires_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(checkouts::table.find(id))
            .set((
                checkouts::started_at.eq(started_at),
                checkouts::expires_at.eq(expires_at),
            ))
            .execute(conn)
    }

    /// The active check-outs of `accounts` a page shows, with their holders' names: the first
    /// [`HOLDERS_NAMED`](crate::db::sql::HOLDERS_NAMED) of each account, `viewer`'s own and an
    /// exclusive one; each says how many hold its account in all. Oldest first.
    pub fn active_for_accounts(
        conn: &mut DbConnection,
        accounts: &[i64],
        viewer: UserId,
    ) -> QueryResult<Vec<ActiveCheckout>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(Checkout, String, i64)> = checkouts::table
            .filter(holders_shown(accounts, viewer.0))
            .order((checkouts::started_at.asc(), checkouts::id.asc()))
            .select((Checkout::as_select(), HolderName, HoldersOfAccount))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(checkout, holder_name, holders)| ActiveCheckout {
                checkout,
                holder_name,
                holders,
            })
            .collect())
    }

    /// Page `page` of the check-outs `user` holds, soonest to end first: their ids, and how many
    /// they hold in all, from one statement (`COUNT(…) OVER ()` counts the rows before the
    /// page is cut from them). Only a page past the last, with no row to carry the count,
    /// counts again.
    pub fn held_by(
        conn: &mut DbConnection,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<i64>> {
        use diesel::dsl::count;
        let held = || {
            checkouts::table
                .filter(checkouts::user_id.eq(user.0))
                .filter(checkouts::ended_at.is_null())
        };
        let rows: Vec<(i64, i64)> = held()
            .order((checkouts::expires_at.asc(), checkouts::id.asc()))
            .limit(per_page)
            .offset(Page::<i64>::offset(page, per_page))
            .select((checkouts::id, count(checkouts::id).over()))
            .load(conn)?;
        let total = match rows.first() {
            Some((_, total)) => *total,
            None if page > 1 => held().count().get_result(conn)?,
            None => 0,
        };
        let ids = rows.into_iter().map(|(id, _)| id).collect();
        Ok(Page::new(ids, total, page, per_page))
    }

    /// The active check-outs of `accounts` a page shows (as [`Checkout::active_for_accounts`])
    /// and the check-outs `held` (a page of [`Checkout::held_by`]), each with its holder's
    /// name, how many hold its account, the account and its app's name: both lists of the
    /// dashboard from one statement (the primary key and the index on `checkouts` by account,
    /// merged), oldest first.
    pub fn active_for_accounts_or_held(
        conn: &mut DbConnection,
        accounts: &[i64],
        held: &[i64],
        user: UserId,
    ) -> QueryResult<Vec<(ActiveCheckout, ListedAccount, String)>> {
        use crate::schema::{accounts, targets};
        let rows: Vec<(Checkout, String, i64, ListedAccount, String)> = checkouts::table
            .inner_join(accounts::table.on(accounts::id.eq(checkouts::account_id)))
            .inner_join(targets::table.on(targets::id.eq(accounts::target_id)))
            // Each branch a search of its own index (SQLite: MULTI-INDEX OR; PostgreSQL:
            // BitmapOr), not a walk of every active check-out: `held` by the primary key alone
            // (with `ended_at IS NULL` beside it, SQLite walks every active check-out by
            // `checkouts_active_expiry`), so one that ended since is read and left out below.
            .filter(holders_shown(accounts, user.0).or(unplanned_in_ids(checkouts::id, held)))
            .order((checkouts::started_at.asc(), checkouts::id.asc()))
            .select((
                Checkout::as_select(),
                HolderName,
                HoldersOfAccount,
                ListedAccount::as_select(),
                targets::name,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter(|(checkout, ..)| checkout.ended_at.is_none())
            .map(|(checkout, holder_name, holders, account, app)| {
                (
                    ActiveCheckout {
                        checkout,
                        holder_name,
                        holders,
                    },
                    account,
                    app,
                )
            })
            .collect())
    }

    pub fn active_of_user_on(
        conn: &mut DbConnection,
        user: UserId,
        account: AccountId,
    ) -> QueryResult<Option<Checkout>> {
        checkouts::table
            .filter(checkouts::user_id.eq(user.0))
            .filter(checkouts::account_id.eq(account.0))
            .filter(checkouts::ended_at.is_null())
            .select(Checkout::as_select())
            .first(conn)
            .optional()
    }

    pub fn count_active_on(conn: &mut DbConnection, account: AccountId) -> QueryResult<i64> {
        checkouts::table
            .filter(checkouts::account_id.eq(account.0))
            .filter(checkouts::ended_at.is_null())
            .count()
            .get_result(conn)
    }

    pub fn count_active_on_target(conn: &mut DbConnection, target: TargetId) -> QueryResult<i64> {
        checkouts::table
            .filter(checkouts::target_id.eq(target.0))
            .filter(checkouts::ended_at.is_null())
            .count()
            .get_result(conn)
    }

    /// Active check-outs past their end, oldest first (for the sweep).
    pub fn overdue(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<i64>> {
        checkouts::table
            .filter(checkouts::ended_at.is_null())
            .filter(checkouts::expires_at.le(now))
            .order(checkouts::expires_at.asc())
            .limit(limit)
            .select(checkouts::id)
            .load(conn)
    }

    /// Active check-outs ending before `until` whose holder has not been reminded.
    pub fn due_for_reminder(
        conn: &mut DbConnection,
        until: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<Checkout>> {
        checkouts::table
            .filter(checkouts::ended_at.is_null())
            .filter(checkouts::reminded.eq(false))
            .filter(checkouts::expires_at.le(until))
            .order(checkouts::expires_at.asc())
            .limit(limit)
            .select(Checkout::as_select())
            .load(conn)
    }

    /// Marks the reminder sent; 0 rows means another worker sent it.
    pub fn mark_reminded(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::update(
            checkouts::table
                .filter(checkouts::id.eq(id))
                .filter(checkouts::reminded.eq(false)),
        )
        .set(checkouts::reminded.eq(true))
        .execute(conn)
    }

    /// Recent history of an account, newest first.
    pub fn history_of_account(
        conn: &mut DbConnection,
        account: AccountId,
        limit: i64,
    ) -> QueryResult<Vec<(Checkout, String)>> {
        checkouts::table
            .inner_join(users::table)
            .filter(checkouts::account_id.eq(account.0))
            .order(checkouts::id.desc())
            .limit(limit)
            .select((Checkout::as_select(), users::name))
            .load(conn)
    }
}

impl From<String> for EndReason {
    fn from(value: String) -> Self {
        match value.as_str() {
            "checked_in" => EndReason::CheckedIn,
            "forced" => EndReason::Forced,
            _ => EndReason::Expired,
        }
    }
}
