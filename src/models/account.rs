//! Accounts (credentials) on a target: shared ones belong to the organization, personal ones
//! to the person who stored them. The secret is always encrypted, bound to its row.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use zeroize::Zeroizing;

use super::{Page, is_unique_violation, like_pattern, lower, page_with_total};
use crate::db::DbConnection;
use crate::db::sql::{SharedAccountsOfTarget, unplanned_id, unplanned_in_ids};
use crate::domain::{AccountId, AccountNotes, AccountUsername, OrganizationId, TargetId, UserId};
use crate::schema::{accounts, users};
use crate::vault::{SecretSlot, Vault, VaultError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    #[diesel(deserialize_as = i64)]
    pub id: AccountId,
    #[diesel(deserialize_as = i64)]
    pub organization_id: OrganizationId,
    #[diesel(deserialize_as = i64)]
    pub target_id: TargetId,
    pub username: String,
    pub secret: Vec<u8>,
    pub notes: String,
    pub auto_reset: bool,
    pub owner_user_id: Option<i64>,
    pub admin_access: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub state: AccountState,
    pub pending_secret: Option<Vec<u8>>,
    pub reset_attempts: i32,
    pub reset_error: Option<String>,
    pub next_reset_at: Option<NaiveDateTime>,
    pub exclusive_checkout_id: Option<i64>,
}

/// Whether an account can be handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Available,
    /// A new password is pending until the real system accepts it.
    Resetting,
    /// Resets failed repeatedly; an admin must retry or enter the real password.
    OutOfSync,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Available => "available",
            AccountState::Resetting => "resetting",
            AccountState::OutOfSync => "out_of_sync",
        }
    }
}

impl From<String> for AccountState {
    fn from(value: String) -> Self {
        match value.as_str() {
            "available" => AccountState::Available,
            "resetting" => AccountState::Resetting,
            _ => AccountState::OutOfSync,
        }
    }
}

/// A line of the dashboard's "My credentials": what the list shows of one of the person's own
/// credentials (never its secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct OwnCredential {
    #[diesel(deserialize_as = i64)]
    pub id: AccountId,
    #[diesel(deserialize_as = i64)]
    pub target_id: TargetId,
    pub username: String,
    pub admin_access: bool,
}

/// What the lists of shared accounts show of one and what decides what a viewer may do with it
/// (the dashboard's, an app's Overview and Accounts tab): never its secret.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct ListedAccount {
    #[diesel(deserialize_as = i64)]
    pub id: AccountId,
    #[diesel(deserialize_as = i64)]
    pub target_id: TargetId,
    pub username: String,
    pub notes: String,
    pub auto_reset: bool,
    #[diesel(deserialize_as = String)]
    pub state: AccountState,
    pub reset_error: Option<String>,
}

/// A row of the Credentials list: the account and its owner's name and email, if personal.
pub struct CredentialRow {
    pub account: Account,
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
}

pub struct AccountInput {
    pub username: AccountUsername,
    pub notes: AccountNotes,
    pub auto_reset: bool,
    /// `None` for a shared account.
    pub owner: Option<UserId>,
    pub admin_access: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("this app already has a shared account with this username")]
    UsernameTaken,
    #[error("you already have a credential for this app")]
    AlreadyHasCredential,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Rows read with their app's name and the page's total, as [`page_with_total`] takes them.
fn with_app_names<T>(rows: Vec<(T, String, i64)>) -> Vec<((T, String), i64)> {
    rows.into_iter()
        .map(|(row, app, total)| ((row, app), total))
        .collect()
}

/// Which apps a page of a list of apps' accounts falls in, and how many of their accounts come
/// before it: `counts` is each app's number of accounts in the list's order, the page the
/// `per_page` items after the first `offset`. Apps with no account are left out.
fn apps_on_page(counts: &[(i64, i64)], offset: i64, per_page: i64) -> (Vec<i64>, i64) {
    let (mut apps, mut skip, mut before) = (Vec::new(), 0, 0);
    for &(app, accounts) in counts {
        if before >= offset + per_page {
            break;
        }
        if accounts > 0 && before + accounts > offset {
            if apps.is_empty() {
                skip = offset - before;
            }
            apps.push(app);
        }
        before += accounts;
    }
    (apps, skip)
}

pub fn secret_slot(id: AccountId) -> SecretSlot {
    SecretSlot::new("accounts", id.0, "secret")
}

pub fn pending_slot(id: AccountId) -> SecretSlot {
    SecretSlot::new("accounts", id.0, "pending_secret")
}

impl Account {
    pub fn is_shared(&self) -> bool {
        self.owner_user_id.is_none()
    }

    /// Shared accounts are always Managed; a personal one when its owner allowed admin access.
    pub fn is_managed(&self) -> bool {
        self.is_shared() || self.admin_access
    }

    pub fn is_owned_by(&self, user: UserId) -> bool {
        self.owner_user_id == Some(user.0)
    }

    /// An account by id, whatever its organization (for background jobs).
    pub fn find(conn: &mut DbConnection, id: AccountId) -> QueryResult<Option<Account>> {
        accounts::table
            .find(id.0)
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    /// Accounts whose reset is due, oldest first (for the sweep).
    pub fn due_resets(
        conn: &mut DbConnection,
        now: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<Vec<AccountId>> {
        accounts::table
            .filter(accounts::state.eq(AccountState::Resetting.as_str()))
            .filter(accounts::next_reset_at.le(now))
            .order(accounts::next_reset_at.asc())
            .limit(limit)
            .select(accounts::id)
            .load::<i64>(conn)
            .map(|ids| ids.into_iter().map(AccountId).collect())
    }

    pub fn find_in_organization(
        conn: &mut DbConnection,
        organization: OrganizationId,
        id: AccountId,
    ) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::id.eq(id.0))
            .filter(accounts::organization_id.eq(organization.0))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    /// A page of an app's shared accounts, by username (from the partial index on shared
    /// usernames).
    pub fn shared_of(
        conn: &mut DbConnection,
        target: TargetId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<ListedAccount>> {
        let shared = || {
            accounts::table
                .filter(accounts::target_id.eq(target.0))
                .filter(accounts::owner_user_id.is_null())
        };
        let page_of = || {
            shared()
                .order((lower(accounts::username).asc(), accounts::id.asc()))
                .limit(per_page)
                .offset(Page::<Account>::offset(page, per_page))
        };
        let (items, total) = page_with_total(
            conn,
            page,
            |conn| {
                page_of()
                    .select((ListedAccount::as_select(), count_star().over()))
                    .load(conn)
            },
            |conn| page_of().select(ListedAccount::as_select()).load(conn),
            |conn| shared().count().get_result(conn),
        )?;
        Ok(Page::new(items, total, page, per_page))
    }

    /// How many of an app's shared accounts come before this one in `shared_of`'s order (to
    /// show the page it is on).
    pub fn shared_rank(
        conn: &mut DbConnection,
        target: TargetId,
        id: AccountId,
        username: &str,
    ) -> QueryResult<i64> {
        accounts::table
            .filter(accounts::target_id.eq(target.0))
            .filter(accounts::owner_user_id.is_null())
            .filter(
                lower(accounts::username)
                    .lt(lower(username.to_string()))
                    .or(lower(accounts::username)
                        .eq(lower(username.to_string()))
                        .and(accounts::id.lt(id.0))),
            )
            .count()
            .get_result(conn)
    }

    /// A page of the shared accounts of the apps `user` is allowed to use, with the app's name,
    /// by app name, then username. Two statements, neither reading more accounts than the page
    /// shows: first the person's apps in name order, each with its number of shared accounts
    /// (the allowances by user, then a count per app in the partial index on shared usernames)
    /// — which gives the total and the few apps the page falls in (`apps_on_page`); then
    /// those apps' shared accounts, sorted. Read and sorted all together instead, the accounts
    /// of a person allowed on 200 apps were a thousand rows read to show 20, on every page.
    pub fn usable_by(
        conn: &mut DbConnection,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<(ListedAccount, String)>> {
        use crate::schema::{target_users, targets};
        let counts: Vec<(i64, i64)> = target_users::table
            .inner_join(targets::table)
            // One plan serves every person (see `unplanned_id`).
            .filter(target_users::user_id.eq(unplanned_id(user.0)))
            .order(targets::name_key.asc())
            .select((targets::id, SharedAccountsOfTarget))
            .load(conn)?;
        let total = counts.iter().map(|(_, shared)| shared).sum();
        let (on_page, skip) =
            apps_on_page(&counts, Page::<Account>::offset(page, per_page), per_page);
        if on_page.is_empty() {
            return Ok(Page::new(Vec::new(), total, page, per_page));
        }
        let items = accounts::table
            .inner_join(
                target_users::table.on(target_users::target_id
                    .eq(accounts::target_id)
                    .and(target_users::user_id.eq(unplanned_id(user.0)))),
            )
            .inner_join(targets::table)
            .filter(accounts::owner_user_id.is_null())
            .filter(unplanned_in_ids(accounts::target_id, &on_page))
            .order((
                targets::name_key.asc(),
                lower(accounts::username).asc(),
                accounts::id.asc(),
            ))
            .limit(per_page)
            .offset(skip)
            .select((ListedAccount::as_select(), targets::name))
            .load(conn)?;
        Ok(Page::new(items, total, page, per_page))
    }

    /// A page of the person's own credentials with their app's name, by app name. The rows are
    /// narrow, so the page is sorted and read in one statement (with the total on PostgreSQL).
    pub fn personal_of_user(
        conn: &mut DbConnection,
        user: UserId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<(OwnCredential, String)>> {
        use crate::schema::targets;
        let page_of = || {
            accounts::table
                .inner_join(targets::table)
                .filter(accounts::owner_user_id.eq(user.0))
                .order((targets::name_key.asc(), accounts::id.asc()))
                .limit(per_page)
                .offset(Page::<Account>::offset(page, per_page))
        };
        let (items, total) = page_with_total(
            conn,
            page,
            |conn| {
                page_of()
                    .select((
                        OwnCredential::as_select(),
                        targets::name,
                        count_star().over(),
                    ))
                    .load(conn)
                    .map(with_app_names)
            },
            |conn| {
                page_of()
                    .select((OwnCredential::as_select(), targets::name))
                    .load(conn)
            },
            |conn| {
                accounts::table
                    .filter(accounts::owner_user_id.eq(user.0))
                    .count()
                    .get_result(conn)
            },
        )?;
        Ok(Page::new(items, total, page, per_page))
    }

    pub fn personal_of(
        conn: &mut DbConnection,
        target: TargetId,
        owner: UserId,
    ) -> QueryResult<Option<Account>> {
        accounts::table
            .filter(accounts::target_id.eq(target.0))
            .filter(accounts::owner_user_id.eq(owner.0))
            .select(Account::as_select())
            .first(conn)
            .optional()
    }

    /// Every credential of a target, shared first, matching `term` in username or owner.
    pub fn credentials_of(
        conn: &mut DbConnection,
        target: TargetId,
        term: &str,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<CredentialRow>> {
        let pattern = like_pattern(term.trim());
        let filtered = || {
            accounts::table
                .left_join(users::table)
                .filter(accounts::target_id.eq(target.0))
                .filter(
                    lower(accounts::username)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(users::name.nullable().assume_not_null())
                            .like(pattern.clone())
                            .escape('\\')
                            .and(users::id.nullable().is_not_null()))
                        .or(users::email
                            .nullable()
                            .assume_not_null()
                            .like(pattern.clone())
                            .escape('\\')
                            .and(users::id.nullable().is_not_null())),
                )
        };
        let page_of = || {
            filtered()
                .order((
                    accounts::owner_user_id.is_not_null(),
                    lower(accounts::username).asc(),
                    accounts::id.asc(),
                ))
                .limit(per_page)
                .offset(Page::<CredentialRow>::offset(page, per_page))
        };
        let (rows, total) = page_with_total(
            conn,
            page,
            |conn| {
                page_of()
                    .select((
                        Account::as_select(),
                        users::name.nullable(),
                        users::email.nullable(),
                        count_star().over(),
                    ))
                    .load::<(Account, Option<String>, Option<String>, i64)>(conn)
                    .map(|rows| {
                        rows.into_iter()
                            .map(|(account, name, email, total)| ((account, name, email), total))
                            .collect()
                    })
            },
            |conn| {
                page_of()
                    .select((
                        Account::as_select(),
                        users::name.nullable(),
                        users::email.nullable(),
                    ))
                    .load(conn)
            },
            |conn| filtered().count().get_result(conn),
        )?;
        Ok(Page::new(
            rows.into_iter()
                .map(|(account, owner_name, owner_email)| CredentialRow {
                    account,
                    owner_name,
                    owner_email,
                })
                .collect(),
            total,
            page,
            per_page,
        ))
    }

    /// Creates the account and stores its secret encrypted, in one transaction.
    pub fn create(
        conn: &mut DbConnection,
        vault: &Vault,
        organization: OrganizationId,
        target: TargetId,
        input: &AccountInput,
        password: &str,
        now: NaiveDateTime,
    ) -> Result<Account, AccountError> {
        crate::db::transaction(conn, |conn| {
            let id: i64 = diesel::insert_into(accounts::table)
                .values((
                    accounts::organization_id.eq(organization.0),
                    accounts::target_id.eq(target.0),
                    accounts::username.eq(input.username.as_str()),
                    // Replaced below: the ciphertext is bound to the row id.
                    accounts::secret.eq(Vec::<u8>::new()),
                    accounts::notes.eq(input.notes.as_str()),
                    accounts::auto_reset.eq(input.auto_reset),
                    accounts::owner_user_id.eq(input.owner.map(|u| u.0)),
                    accounts::admin_access.eq(input.owner.is_none() || input.admin_access),
                    accounts::created_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .returning(accounts::id)
                .get_result(conn)
                .map_err(|e| unique_error(e, input.owner.is_some()))?;
            let id = AccountId(id);
            let sealed = vault.encrypt(conn, password, secret_slot(id))?;
            diesel::update(accounts::table.find(id.0))
                .set(accounts::secret.eq(sealed))
                .execute(conn)?;
            accounts::table
                .find(id.0)
                .select(Account::as_select())
                .first(conn)
                .map_err(AccountError::from)
        })
    }

    /// Changes the account's details and, when given, its password.
    pub fn update(
        conn: &mut DbConnection,
        vault: &Vault,
        account: &Account,
        input: &AccountInput,
        new_password: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<(), AccountError> {
        crate::db::transaction(conn, |conn| {
            diesel::update(accounts::table.find(account.id.0))
                .set((
                    accounts::username.eq(input.username.as_str()),
                    accounts::notes.eq(input.notes.as_str()),
                    accounts::auto_reset.eq(input.auto_reset),
                    accounts::admin_access.eq(account.is_shared() || input.admin_access),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| unique_error(e, !account.is_shared()))?;
            if let Some(password) = new_password {
                let sealed = vault.encrypt(conn, password, secret_slot(account.id))?;
                diesel::update(accounts::table.find(account.id.0))
                    .set(accounts::secret.eq(sealed))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    pub fn set_admin_access(
        conn: &mut DbConnection,
        id: AccountId,
        allowed: bool,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            accounts::table
                .filter(accounts::id.eq(id.0))
                .filter(accounts::owner_user_id.is_not_null()),
        )
        .set((
            accounts::admin_access.eq(allowed),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: AccountId) -> QueryResult<usize> {
        diesel::delete(accounts::table.find(id.0)).execute(conn)
    }

    /// The password in the clear, for a reveal the caller has authorized.
    pub fn reveal(
        &self,
        conn: &mut DbConnection,
        vault: &Vault,
    ) -> Result<Zeroizing<String>, VaultError> {
        vault.decrypt(conn, &self.secret, secret_slot(self.id))
    }

    /// For key rotation: secrets after `after_id`, in id order.
    pub fn secrets_after(
        conn: &mut DbConnection,
        after_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, Vec<u8>)>> {
        accounts::table
            .filter(accounts::id.gt(after_id))
            .order(accounts::id.asc())
            .limit(limit)
            .select((accounts::id, accounts::secret))
            .load(conn)
    }

    /// For key rotation: pending secrets after `after_id`, in id order.
    pub fn pending_secrets_after(
        conn: &mut DbConnection,
        after_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, Vec<u8>)>> {
        accounts::table
            .filter(accounts::id.gt(after_id))
            .filter(accounts::pending_secret.is_not_null())
            .order(accounts::id.asc())
            .limit(limit)
            .select((accounts::id, accounts::pending_secret.assume_not_null()))
            .load(conn)
    }

    pub fn replace_pending_secret(
        conn: &mut DbConnection,
        id: i64,
        old: &[u8],
        new: &[u8],
    ) -> QueryResult<usize> {
        diesel::update(
            accounts::table
                .filter(accounts::id.eq(id))
                .filter(accounts::pending_secret.eq(old)),
        )
        .set(accounts::pending_secret.eq(new))
        .execute(conn)
    }

    /// Replaces a secret only if it is still `old` (a concurrent change wins).
    pub fn replace_secret(
        conn: &mut DbConnection,
        id: i64,
        old: &[u8],
        new: &[u8],
    ) -> QueryResult<usize> {
        diesel::update(
            accounts::table
                .filter(accounts::id.eq(id))
                .filter(accounts::secret.eq(old)),
        )
        .set(accounts::secret.eq(new))
        .execute(conn)
    }
}

fn unique_error(error: diesel::result::Error, personal: bool) -> AccountError {
    if is_unique_violation(&error) {
        if personal {
            AccountError::AlreadyHasCredential
        } else {
            AccountError::UsernameTaken
        }
    } else {
        AccountError::Database(error)
    }
}

#[cfg(test)]
mod tests {
    use super::apps_on_page;

    /// Every page, read app by app, is exactly that slice of the whole list.
    #[test]
    fn a_page_falls_in_the_apps_that_hold_its_accounts() {
        let counts = [(1, 3), (2, 0), (3, 5), (4, 1), (5, 0), (6, 7), (7, 2)];
        let whole: Vec<(i64, i64)> = counts
            .iter()
            .flat_map(|&(app, n)| (0..n).map(move |i| (app, i)))
            .collect();
        for per_page in 1..=20 {
            for page in 0..(whole.len() as i64 / per_page + 2) {
                let offset = page * per_page;
                let (apps, skip) = apps_on_page(&counts, offset, per_page);
                let read: Vec<(i64, i64)> = whole
                    .iter()
                    .filter(|(app, _)| apps.contains(app))
                    .copied()
                    .skip(skip as usize)
                    .take(per_page as usize)
                    .collect();
                let expected: Vec<(i64, i64)> = whole
                    .iter()
                    .copied()
                    .skip(offset as usize)
                    .take(per_page as usize)
                    .collect();
                assert_eq!(read, expected, "page at {offset}, {per_page} a page");
                assert!(
                    apps.iter()
                        .all(|app| expected.iter().any(|(listed, _)| listed == app)),
                    "only apps on the page are read: {apps:?} for {expected:?}"
                );
            }
        }
        assert_eq!(apps_on_page(&[], 0, 20), (vec![], 0));
        assert_eq!(apps_on_page(&[(1, 0), (2, 0)], 0, 20), (vec![], 0));
    }
}
