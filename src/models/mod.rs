//! Each model owns its rows and the queries on them. Handlers never build SQL.

pub mod access_request;
pub mod account;
pub mod audit;
pub mod checkout;
pub mod data_key;
pub mod notification;
pub mod organization;
pub mod outbound_email;
pub mod session;
pub mod target;
pub mod user;

pub use account::{
    Account, AccountError, AccountInput, AccountState, CredentialRow, ListedAccount,
};
pub use audit::{AuditEvent, AuditFilter, AuditRow, Cursor, NewAuditEvent};
pub use checkout::{ActiveCheckout, Checkout, EndReason};
pub use notification::Notification;
pub use organization::{Installation, Organization, SetupError, SetupToken};
pub use target::{SortOrder, Target, TargetError, TargetInput, TargetSummary};
pub use user::{NewUser, User, UserError};

use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Escapes `%`, `_` and `\` so a search term matches literally inside a LIKE pattern.
pub(crate) fn like_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both engines.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items in the whole list; with `more_than_total`, how far the list was counted.
    pub total: i64,
    /// The list was counted up to `total` and goes on (see [`Page::counted_up_to`]).
    pub more_than_total: bool,
    pub page: i64,
    pub per_page: i64,
    next: bool,
}

impl<T> Page<T> {
    /// Page `page` (1 for anything below) of a list of `total` items, `per_page` a page.
    pub fn new(items: Vec<T>, total: i64, page: i64, per_page: i64) -> Self {
        let page = page.max(1);
        Self {
            items,
            total,
            more_than_total: false,
            next: page * per_page < total,
            page,
            per_page,
        }
    }

    /// Page `page` of a list counted only up to `cap`: `counted` is the count up to `cap + 1`
    /// (above `cap`, the list is longer than was counted), `items` the page's rows and, if there
    /// is one, the next page's first (read with a limit of `per_page + 1`).
    pub fn counted_up_to(
        mut items: Vec<T>,
        counted: i64,
        cap: i64,
        page: i64,
        per_page: i64,
    ) -> Self {
        let next = items.len() as i64 > per_page;
        items.truncate(per_page.max(0) as usize);
        Self {
            items,
            total: counted.min(cap),
            more_than_total: counted > cap,
            next,
            page: page.max(1),
            per_page,
        }
    }

    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            more_than_total: self.more_than_total,
            page: self.page,
            per_page: self.per_page,
            next: self.next,
        }
    }

    /// Pages of the list as counted (at least this many with `more_than_total`).
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.next
    }

    pub fn offset(page: i64, per_page: i64) -> i64 {
        (page.max(1) - 1) * per_page
    }
}

/// The rows of a page of a short list (a person's own credentials; an app's accounts or allowed
/// people) and the list's total. On PostgreSQL in one statement, `with_total` selecting
/// `count(*) OVER ()` beside each row: a round trip fewer, at no cost there. On SQLite, in
/// process, `rows` and `count` apart: the window would make it sort every row instead of keeping
/// only the page's (twice the time for a person with a thousand accounts). Past the last page,
/// where no row carries the total, it is counted on its own. A list that only grows (the inbox)
/// counts beside its page with `db::sql::rows_counted` instead, so the page keeps its index order.
pub(crate) fn page_with_total<T>(
    conn: &mut crate::db::DbConnection,
    page: i64,
    with_total: impl FnOnce(&mut crate::db::DbConnection) -> diesel::QueryResult<Vec<(T, i64)>>,
    rows: impl FnOnce(&mut crate::db::DbConnection) -> diesel::QueryResult<Vec<T>>,
    count: impl FnOnce(&mut crate::db::DbConnection) -> diesel::QueryResult<i64>,
) -> diesel::QueryResult<(Vec<T>, i64)> {
    if matches!(conn, crate::db::DbConnection::Sqlite(_)) {
        let total = count(conn)?;
        return Ok((rows(conn)?, total));
    }
    let found = with_total(conn)?;
    let total = match found.first() {
        Some((_, total)) => *total,
        None if page > 1 => count(conn)?,
        None => 0,
    };
    Ok((found.into_iter().map(|(row, _)| row).collect(), total))
}
