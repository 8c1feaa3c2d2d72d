//! SQL shapes diesel does not write the way a hot page needs them.
//!
//! - [`in_ids`]: `column IN (…)` with the whole list bound as one value. diesel writes one bind
//!   per element and never caches such a statement (its text changes with the list's length), so
//!   every page that asks about "these 20 accounts" would compile its statement anew.
//! - [`PendingStatus`]: the constant `'pending'` written into the SQL instead of bound. SQLite
//!   may only use a partial index (`… WHERE status = 'pending'`) for a statement whose text
//!   proves the condition; with a bound value it re-checks, and recompiles the statement, on
//!   every run.
//! - [`unplanned_id`]: a bound id written `(SELECT $1)` on PostgreSQL, so that its planner
//!   settles on one plan for every value instead of planning the statement anew on each run;
//!   [`unplanned_in_ids`], the same for a list.
//! - [`UnreadNotifications`]: a correlated subquery (the unread count of the statement's
//!   `users` row), which diesel's DSL cannot write; its `sql()` escape hatch could, but marks
//!   the statement unsafe to cache, so it would be parsed and planned again on every request.
//! - [`AccountsOfTarget`] and [`UnmanagedOfTarget`]: the same, for the accounts of the
//!   statement's `targets` row (Manage Apps shows both counts beside each app);
//!   [`SharedAccountsOfTarget`], its shared ones (the dashboard's list of them is paged by app).
//! - [`HolderName`]: the name of a check-out's holder, a correlated subquery in place of a join
//!   (see its note).
//! - [`count_up_to`]: the rows of a query counted up to a limit and no further
//!   (`SELECT COUNT(*) FROM (… LIMIT n)`), for a list that only grows (the audit log): its
//!   count costs at most `n` index entries however long the list has become.
//! - [`rows_counted`]: a list's length as a scalar subquery selected beside a page of it, so
//!   the page keeps its index order and stops at its last row (a window count reads them all).
//! - [`holders_shown`] and [`HoldersOfAccount`]: of the active check-outs of some accounts, the
//!   first few of each account (a window function in a subquery, which diesel's DSL cannot
//!   write) and how many there are in all, so that an account forty people hold at once costs
//!   a page three names and a number.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, backend::Backend};

use super::MultiBackend;

/// `column IN (ids)`, prepared once whatever the list: SQLite reads the list with
/// `json_each(?)`, PostgreSQL with `= ANY(CAST(? AS BIGINT[]))`. An empty list matches nothing.
pub fn in_ids<C>(column: C, ids: &[i64]) -> InIds<C>
where
    C: Expression,
{
    InIds::listing(column, ids)
}

/// [`in_ids`] with the list hidden from PostgreSQL's planner as [`unplanned_id`] hides an id:
/// `= ANY(CAST((SELECT $1) AS BIGINT[]))`, so that a list of one app and a list of five are
/// served by one generic plan instead of a plan made for each run (SQLite is as [`in_ids`]).
/// Use it only where one plan serves every list: a short list of rows to find by key.
pub fn unplanned_in_ids<C>(column: C, ids: &[i64]) -> InIds<C, Unplanned>
where
    C: Expression,
{
    InIds::listing(column, ids)
}

/// How PostgreSQL is given an [`InIds`] list: the text around its one bound value. A type, not
/// a field, so that each way is a statement of its own in diesel's cache of prepared ones.
pub trait ListPlanning {
    const OPEN: &'static str;
    const CLOSE: &'static str;
}

/// The list as a parameter the planner looks at ([`in_ids`]).
#[derive(Debug, Clone, Copy, QueryId)]
pub struct Planned;

impl ListPlanning for Planned {
    const OPEN: &'static str = " = ANY(CAST(";
    const CLOSE: &'static str = " AS BIGINT[]))";
}

/// The list behind a one-row subquery ([`unplanned_in_ids`]).
#[derive(Debug, Clone, Copy, QueryId)]
pub struct Unplanned;

impl ListPlanning for Unplanned {
    const OPEN: &'static str = " = ANY(CAST((SELECT ";
    const CLOSE: &'static str = ") AS BIGINT[]))";
}

#[derive(Debug, Clone, QueryId)]
pub struct InIds<C, P = Planned> {
    column: C,
    /// `[1,2,3]` for SQLite's `json_each`.
    json: String,
    /// `{1,2,3}`, PostgreSQL's array literal.
    array: String,
    planning: std::marker::PhantomData<P>,
}

impl<C, P> InIds<C, P> {
    fn listing(column: C, ids: &[i64]) -> Self {
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        InIds {
            column,
            json: format!("[{joined}]"),
            array: format!("{{{joined}}}"),
            planning: std::marker::PhantomData,
        }
    }
}

impl<C: Expression, P> Expression for InIds<C, P> {
    type SqlType = Bool;
}

impl<C, P, QS> AppearsOnTable<QS> for InIds<C, P> where C: AppearsOnTable<QS> {}

impl<C, P, QS> SelectableExpression<QS> for InIds<C, P> where C: SelectableExpression<QS> {}

impl<C, P, GB> ValidGrouping<GB> for InIds<C, P>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryFragment<Sqlite>, P> QueryFragment<Sqlite> for InIds<C, P> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>, P: ListPlanning> QueryFragment<Pg> for InIds<C, P> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(P::OPEN);
        out.push_bind_param::<Text, _>(&self.array)?;
        out.push_sql(P::CLOSE);
        Ok(())
    }
}

impl<C, P: ListPlanning> QueryFragment<MultiBackend> for InIds<C, P>
where
    C: QueryFragment<Sqlite> + QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

/// A bound id that PostgreSQL's planner does not look at: `(SELECT $1)`, a one-row subquery
/// run once per execution (SQLite gets the plain parameter).
///
/// PostgreSQL plans a prepared statement anew for its first five runs, then keeps one generic
/// plan only if that plan's estimated cost is no higher than the specific plans' average. Where
/// the value skews the estimate — a person allowed on 21 apps, while the average is 34 — the
/// generic plan never wins, and the statement is planned on every run even when every plan is
/// the same walk of the same indexes. Hidden this way, the specific and the generic plans cost
/// the same and the generic one is kept. Use it only where one plan serves every value.
pub fn unplanned_id(id: i64) -> UnplannedId {
    UnplannedId(id)
}

#[derive(Debug, Clone, Copy, QueryId)]
pub struct UnplannedId(i64);

impl Expression for UnplannedId {
    type SqlType = BigInt;
}

impl<QS> AppearsOnTable<QS> for UnplannedId {}

impl<QS> SelectableExpression<QS> for UnplannedId {}

impl<GB> ValidGrouping<GB> for UnplannedId {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryFragment<Sqlite> for UnplannedId {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_bind_param::<BigInt, _>(&self.0)
    }
}

impl QueryFragment<Pg> for UnplannedId {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(SELECT ");
        out.push_bind_param::<BigInt, _>(&self.0)?;
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<MultiBackend> for UnplannedId {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

/// The text `'pending'`, written into the statement (see the module's note).
#[derive(Debug, Clone, Copy, QueryId)]
pub struct PendingStatus;

impl Expression for PendingStatus {
    type SqlType = Text;
}

impl<QS> AppearsOnTable<QS> for PendingStatus {}

impl<QS> SelectableExpression<QS> for PendingStatus {}

impl<GB> ValidGrouping<GB> for PendingStatus {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<DB: Backend> QueryFragment<DB> for PendingStatus {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("'pending'");
        Ok(())
    }
}

/// Declares a correlated scalar subquery of a row of the statement — `(SELECT COUNT(*) …)` by
/// `correlated_count!`, any one value of type `$sql_type` by `correlated!` — the row's table
/// named by `$column` (the expression may be selected wherever that column may): its text never
/// changes, so its statement is prepared once (one type per text: diesel caches a prepared
/// statement by the query's type).
macro_rules! correlated {
    ($(#[$doc:meta])* $name:ident, $sql_type:ty, $column:path, $sql:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, QueryId)]
        pub struct $name;

        impl Expression for $name {
            type SqlType = $sql_type;
        }

        impl<QS> AppearsOnTable<QS> for $name where $column: AppearsOnTable<QS> {}

        impl<QS> SelectableExpression<QS> for $name where $column: AppearsOnTable<QS> {}

        impl<GB> ValidGrouping<GB> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }

        impl<DB: Backend> QueryFragment<DB> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}

macro_rules! correlated_count {
    ($(#[$doc:meta])* $name:ident, $column:path, $sql:literal) => {
        correlated!($(#[$doc])* $name, BigInt, $column, $sql);
    };
}

correlated_count!(
    /// `(SELECT COUNT(*) FROM notifications WHERE user_id = users.id AND read_at IS NULL)`: the
    /// unread notifications of the `users` row of the statement it is selected in (0 where a
    /// left join found no person).
    UnreadNotifications,
    crate::schema::users::id,
    "(SELECT COUNT(*) FROM \"notifications\" \
     WHERE \"notifications\".\"user_id\" = \"users\".\"id\" \
     AND \"notifications\".\"read_at\" IS NULL)"
);

correlated_count!(
    /// `(SELECT COUNT(*) FROM accounts WHERE target_id = targets.id)`: every account of the
    /// statement's app, shared and personal (read from the `accounts_target` index alone).
    AccountsOfTarget,
    crate::schema::targets::id,
    "(SELECT COUNT(*) FROM \"accounts\" WHERE \"accounts\".\"target_id\" = \"targets\".\"id\")"
);

correlated_count!(
    /// `(SELECT COUNT(*) FROM accounts WHERE target_id = targets.id AND owner_user_id IS NULL)`:
    /// the statement's app's shared accounts (from the `accounts_shared_username` index).
    SharedAccountsOfTarget,
    crate::schema::targets::id,
    "(SELECT COUNT(*) FROM \"accounts\" WHERE \"accounts\".\"target_id\" = \"targets\".\"id\" \
     AND \"accounts\".\"owner_user_id\" IS NULL)"
);

correlated_count!(
    /// Its Unmanaged accounts: those whose owner has not allowed admin access.
    UnmanagedOfTarget,
    crate::schema::targets::id,
    "(SELECT COUNT(*) FROM \"accounts\" WHERE \"accounts\".\"target_id\" = \"targets\".\"id\" \
     AND NOT \"accounts\".\"admin_access\")"
);

/// How many holders of one account a page names; the rest are counted.
pub const HOLDERS_NAMED: i64 = 3;

/// The active check-outs a page shows of `accounts`: the first [`HOLDERS_NAMED`] of each
/// account (oldest first), and beside them `viewer`'s own and an exclusive one wherever they
/// come. The accounts' active check-outs as before (`account_id IN (…) AND ended_at IS NULL`,
/// which finds none at once on a page nobody holds anything of: the ranking below is then
/// never run), of which only those the ranking keeps: `+checkouts.id IN (SELECT …)` on SQLite,
/// `checkouts.id = ANY(ARRAY(SELECT …))` on PostgreSQL; each engine computes the list once, and
/// only when a row needs it. The accounts are given as [`unplanned_in_ids`] gives them: a page
/// of 20 accounts and an empty list of held ones looked cheaper to plan for than PostgreSQL's
/// generic plan, so the dashboard's statement was planned on every run (0.4–0.7 ms, several
/// times its run).
pub fn holders_shown(accounts: &[i64], viewer: i64) -> HoldersShown {
    HoldersShown {
        accounts: unplanned_in_ids(crate::schema::checkouts::account_id, accounts),
        viewer,
    }
}

#[derive(Debug, Clone, QueryId)]
pub struct HoldersShown {
    accounts: InIds<crate::schema::checkouts::account_id, Unplanned>,
    viewer: i64,
}

impl Expression for HoldersShown {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for HoldersShown where crate::schema::checkouts::id: AppearsOnTable<QS> {}

impl<QS> SelectableExpression<QS> for HoldersShown where
    crate::schema::checkouts::id: AppearsOnTable<QS>
{
}

impl<GB> ValidGrouping<GB> for HoldersShown {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl HoldersShown {
    /// `(account_id IN (…) AND ended_at IS NULL AND <open> ranked <close>)`, `open` naming the
    /// id and how it is matched. Inside the ranking `checkouts` is its own `FROM`, not the outer
    /// statement's.
    fn walk<'b, DB>(
        &'b self,
        mut out: AstPass<'_, 'b, DB>,
        open: &'static str,
        close: &'static str,
    ) -> QueryResult<()>
    where
        DB: Backend + diesel::sql_types::HasSqlType<BigInt>,
        InIds<crate::schema::checkouts::account_id, Unplanned>: QueryFragment<DB>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
    {
        out.push_sql("(");
        self.accounts.walk_ast(out.reborrow())?;
        out.push_sql(" AND \"checkouts\".\"ended_at\" IS NULL AND ");
        out.push_sql(open);
        out.push_sql(
            "SELECT \"ranked\".\"id\" FROM (SELECT \"checkouts\".\"id\", \
             \"checkouts\".\"user_id\", \"checkouts\".\"mode\", ROW_NUMBER() OVER \
             (PARTITION BY \"checkouts\".\"account_id\" ORDER BY \"checkouts\".\"started_at\", \
             \"checkouts\".\"id\") AS \"place\" FROM \"checkouts\" WHERE ",
        );
        self.accounts.walk_ast(out.reborrow())?;
        out.push_sql(
            " AND \"checkouts\".\"ended_at\" IS NULL) AS \"ranked\" \
             WHERE \"ranked\".\"place\" <= ",
        );
        out.push_sql(&HOLDERS_NAMED.to_string());
        out.push_sql(" OR \"ranked\".\"mode\" = 'exclusive' OR \"ranked\".\"user_id\" = ");
        out.push_bind_param::<BigInt, _>(&self.viewer)?;
        out.push_sql(close);
        out.push_sql(")");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for HoldersShown {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        // `+id`: not an index to search by. Offered the ids, SQLite walks every active
        // check-out of the organization (`checkouts_active_expiry`) instead of the accounts'.
        self.walk(out, "+\"checkouts\".\"id\" IN (", ")")
    }
}

impl QueryFragment<Pg> for HoldersShown {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, "\"checkouts\".\"id\" = ANY(ARRAY(", "))")
    }
}

impl QueryFragment<MultiBackend> for HoldersShown {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

correlated_count!(
    /// `(SELECT COUNT(*) FROM checkouts AS held WHERE held.account_id = checkouts.account_id
    /// AND held.ended_at IS NULL)`: how many hold the account of the statement's `checkouts` row
    /// (read from the `checkouts_account` index alone).
    HoldersOfAccount,
    crate::schema::checkouts::account_id,
    "(SELECT COUNT(*) FROM \"checkouts\" AS \"held\" \
     WHERE \"held\".\"account_id\" = \"checkouts\".\"account_id\" \
     AND \"held\".\"ended_at\" IS NULL)"
);

correlated!(
    /// `(SELECT name FROM users WHERE id = checkouts.user_id)`: the holder's name of the
    /// statement's `checkouts` row. A subquery rather than a join, so that no plan may read all
    /// of `users` to hash them for the few check-outs a page shows: PostgreSQL's one plan for
    /// every list of accounts (see [`holders_shown`]) cannot know how few they are.
    HolderName,
    Text,
    crate::schema::checkouts::user_id,
    "(SELECT \"users\".\"name\" FROM \"users\" WHERE \"users\".\"id\" = \"checkouts\".\"user_id\")"
);

/// The rows `query` returns, counted: `SELECT COUNT(*) FROM (query)`. Give the query a limit
/// (`.limit(cap + 1)`) to count up to there and no further: a count above `cap` means "more
/// than `cap`".
pub fn count_up_to<Q>(query: Q) -> CountUpTo<Q> {
    CountUpTo(query)
}

#[derive(Debug, Clone, QueryId)]
pub struct CountUpTo<Q>(Q);

impl<Q> diesel::query_builder::Query for CountUpTo<Q> {
    type SqlType = BigInt;
}

impl<Q, Conn> diesel::RunQueryDsl<Conn> for CountUpTo<Q> {}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for CountUpTo<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

/// `(SELECT COUNT(*) FROM (query) AS counted)`, an expression to select beside a page's rows:
/// the whole list's length in the page's own statement. The query stands alone (it may name the
/// statement's tables, but it is not correlated to its rows), so each engine counts once per
/// statement, from an index where the query's filter has one, and the page's rows can still be
/// read in an index's order and stop at the page's end. `count(*) OVER ()` would give the same
/// number but read and sort every row of the list before the first is returned.
pub fn rows_counted<Q>(query: Q) -> RowsCounted<Q> {
    RowsCounted(query)
}

#[derive(Debug, Clone, QueryId)]
pub struct RowsCounted<Q>(Q);

impl<Q> Expression for RowsCounted<Q> {
    type SqlType = BigInt;
}

impl<Q, QS> AppearsOnTable<QS> for RowsCounted<Q> {}

impl<Q, QS> SelectableExpression<QS> for RowsCounted<Q> {}

impl<Q, GB> ValidGrouping<GB> for RowsCounted<Q> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for RowsCounted<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted)");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;
    use crate::models::access_request::RequestStatus;

    diesel::table! {
        items (id) {
            id -> BigInt,
            status -> Text,
        }
    }

    fn connection() -> SqliteConnection {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, status TEXT NOT NULL);
             INSERT INTO items VALUES (1, 'pending'), (2, 'granted'), (3, 'pending'), (4, 'denied');",
        )
        .unwrap();
        conn
    }

    fn ids_in(conn: &mut SqliteConnection, list: &[i64]) -> Vec<i64> {
        items::table
            .filter(in_ids(items::id, list))
            .order(items::id)
            .select(items::id)
            .load(conn)
            .unwrap()
    }

    #[test]
    fn in_ids_matches_exactly_the_listed_rows() {
        let mut conn = connection();
        assert_eq!(ids_in(&mut conn, &[]), Vec::<i64>::new());
        assert_eq!(ids_in(&mut conn, &[3]), vec![3]);
        assert_eq!(ids_in(&mut conn, &[4, 1, 99, 1]), vec![1, 4]);
        assert_eq!(ids_in(&mut conn, &[-1, i64::MAX]), Vec::<i64>::new());
        let many: Vec<i64> = (1..=5000).collect();
        assert_eq!(ids_in(&mut conn, &many), vec![1, 2, 3, 4]);
    }

    #[test]
    fn in_ids_has_one_statement_text_for_every_list() {
        let short = diesel::debug_query::<Sqlite, _>(&in_ids(items::id, &[1])).to_string();
        let long = diesel::debug_query::<Sqlite, _>(&in_ids(items::id, &[1, 2, 3])).to_string();
        let text = |s: &str| s.split(" -- binds").next().unwrap().to_string();
        assert_eq!(text(&short), text(&long));
        let pg = diesel::debug_query::<Pg, _>(&in_ids(items::id, &[7, 8])).to_string();
        assert!(pg.contains("= ANY(CAST($1 AS BIGINT[]))"), "{pg}");
        assert!(pg.contains("\"{7,8}\""), "{pg}");
    }

    #[test]
    fn unplanned_in_ids_hides_the_list_from_postgresql_alone() {
        assert_eq!(
            diesel::debug_query::<Sqlite, _>(&unplanned_in_ids(items::id, &[1, 2])).to_string(),
            diesel::debug_query::<Sqlite, _>(&in_ids(items::id, &[1, 2])).to_string()
        );
        let pg = diesel::debug_query::<Pg, _>(&unplanned_in_ids(items::id, &[7, 8])).to_string();
        assert!(pg.contains("= ANY(CAST((SELECT $1) AS BIGINT[]))"), "{pg}");
        assert!(pg.contains("\"{7,8}\""), "{pg}");
        let mut conn = connection();
        let ids: Vec<i64> = items::table
            .filter(unplanned_in_ids(items::id, &[4, 1, 99]))
            .order(items::id)
            .select(items::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(ids, vec![1, 4]);
    }

    #[test]
    fn unread_notifications_counts_each_persons_unread_and_is_prepared_once() {
        use crate::schema::users;
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY);
             CREATE TABLE notifications (id INTEGER PRIMARY KEY, user_id INTEGER, read_at TEXT);
             INSERT INTO users VALUES (1), (2), (3);
             INSERT INTO notifications (user_id, read_at) VALUES
                 (1, NULL), (1, NULL), (1, '2026-01-01'), (2, '2026-01-01'), (3, NULL);",
        )
        .unwrap();
        let query = users::table
            .order(users::id)
            .select((users::id, UnreadNotifications));
        let counts: Vec<(i64, i64)> = query.load(&mut conn).unwrap();
        assert_eq!(counts, vec![(1, 2), (2, 0), (3, 1)]);
        // What diesel's `sql()` would lose: a statement it may keep prepared.
        assert!(
            QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&query, &Sqlite).unwrap(),
            "the statement must be cacheable"
        );
        let literal = users::table.select((
            users::id,
            diesel::dsl::sql::<BigInt>("(SELECT COUNT(*) FROM notifications)"),
        ));
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&literal, &Sqlite).unwrap());
    }

    #[test]
    fn account_counts_of_each_app_are_prepared_once_each() {
        use crate::schema::targets;
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE targets (id INTEGER PRIMARY KEY);
             CREATE TABLE accounts (id INTEGER PRIMARY KEY, target_id INTEGER,
                 admin_access BOOLEAN NOT NULL);
             INSERT INTO targets VALUES (1), (2), (3);
             INSERT INTO accounts (target_id, admin_access) VALUES
                 (1, 1), (1, 0), (1, 0), (2, 1), (3, 0);",
        )
        .unwrap();
        let query = targets::table.order(targets::id).select((
            targets::id,
            AccountsOfTarget,
            UnmanagedOfTarget,
        ));
        let counts: Vec<(i64, i64, i64)> = query.load(&mut conn).unwrap();
        assert_eq!(counts, vec![(1, 3, 2), (2, 1, 0), (3, 1, 1)]);
        assert!(
            QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&query, &Sqlite).unwrap(),
            "the statement must be cacheable"
        );
        // Two texts, two identities: diesel finds a prepared statement by its query's type.
        assert_ne!(AccountsOfTarget::query_id(), UnmanagedOfTarget::query_id());
    }

    #[test]
    fn pending_status_is_the_pending_constant() {
        let sql = diesel::debug_query::<Sqlite, _>(&PendingStatus).to_string();
        assert_eq!(
            sql.split(" -- binds").next().unwrap(),
            format!("'{}'", RequestStatus::Pending.as_str())
        );
        let mut conn = connection();
        let pending: Vec<i64> = items::table
            .filter(items::status.eq(PendingStatus))
            .order(items::id)
            .select(items::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(pending, vec![1, 3]);
    }

    #[test]
    fn rows_counted_is_the_whole_lists_length_beside_each_row_of_a_page() {
        let mut conn = connection();
        let pending = || items::table.filter(items::status.eq("pending"));
        let query = items::table
            .order(items::id.desc())
            .limit(2)
            .select((items::id, rows_counted(pending().select(items::id))));
        let page: Vec<(i64, i64)> = query.clone().load(&mut conn).unwrap();
        // The page stops at two rows; the count is of the counted query, not of the page.
        assert_eq!(page, vec![(4, 2), (3, 2)]);
        assert!(
            QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&query, &Sqlite).unwrap(),
            "the statement must be cacheable"
        );
        let pg = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(
            pg.contains("(SELECT COUNT(*) FROM (SELECT \"items\".\"id\" FROM \"items\" WHERE (\"items\".\"status\" = $1)) AS counted)"),
            "{pg}"
        );
        // Binds stay in the order of the text: the count's before the page's limit.
        assert!(pg.ends_with("-- binds: [\"pending\", 2]"), "{pg}");
    }
}
