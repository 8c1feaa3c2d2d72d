//! Targets (shown as apps) and the people allowed to use their shared accounts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Page, User, is_unique_violation, like_pattern, lower, page_with_total};
use zeroize::Zeroizing;

use crate::connectors::ConnectorSettings;
use crate::db::DbConnection;
use crate::db::sql::{AccountsOfTarget, UnmanagedOfTarget, in_ids};
use crate::domain::{
    CheckoutType, Connector, ExclusiveMinutes, OrganizationId, PasswordPolicy, TargetAddress,
    TargetDescription, TargetId, TargetName, UserId,
};
use crate::schema::{accounts, target_policy_admins, target_users, targets, targets_search, users};

// Written for every backend so the one query type serves both; only SQLite ever runs it.
diesel::infix_operator!(FtsMatch, " MATCH ");

/// SQLite FTS5's `column MATCH query`.
fn fts_match<L, R>(left: L, right: R) -> FtsMatch<L, R::Expression>
where
    L: diesel::expression::Expression<SqlType = diesel::sql_types::Text>,
    R: diesel::expression::AsExpression<diesel::sql_types::Text>,
{
    FtsMatch::new(left, right.as_expression())
}
use crate::vault::{SecretSlot, Vault, VaultError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = targets)]
pub struct Target {
    #[diesel(deserialize_as = i64)]
    pub id: TargetId,
    #[diesel(deserialize_as = i64)]
    pub organization_id: OrganizationId,
    pub name: String,
    pub address: String,
    pub description: String,
    #[diesel(deserialize_as = String)]
    pub connector: Connector,
    pub connector_settings: String,
    pub connector_secret: Option<Vec<u8>>,
    #[diesel(deserialize_as = String)]
    pub checkout_type: CheckoutType,
    pub exclusive_minutes: i32,
    pub password_policy: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Everything a Create/Edit target form sets.
pub struct TargetInput {
    pub name: TargetName,
    pub address: TargetAddress,
    pub description: TargetDescription,
    pub connector: Connector,
    pub checkout_type: CheckoutType,
    pub exclusive_minutes: ExclusiveMinutes,
    pub policy: PasswordPolicy,
    pub connector_settings: ConnectorSettings,
    /// A new connector admin password; `None` keeps the stored one.
    pub admin_password: Option<Zeroizing<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("an app with this name already exists")]
    NameTaken,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub fn connector_slot(id: TargetId) -> SecretSlot {
    SecretSlot::new("targets", id.0, "connector_secret")
}

/// What a row of Manage Apps shows of an app: only these columns are read (an app's row also
/// carries its password policy, connector settings and sealed connector secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = targets)]
pub struct TargetListItem {
    #[diesel(deserialize_as = i64)]
    pub id: TargetId,
    pub name: String,
    pub address: String,
    pub description: String,
    #[diesel(deserialize_as = String)]
    pub checkout_type: CheckoutType,
}

/// One row of Manage Apps.
pub struct TargetSummary {
    pub target: TargetListItem,
    pub accounts: i64,
    pub unmanaged: i64,
}

impl From<(TargetListItem, i64, i64)> for TargetSummary {
    fn from((target, accounts, unmanaged): (TargetListItem, i64, i64)) -> Self {
        Self {
            target,
            accounts,
            unmanaged,
        }
    }
}

/// The account counts of a page of apps read in index order (where subqueries in the page's
/// own statement would also run for the rows an offset skips), in one grouped statement.
fn with_account_counts(
    conn: &mut DbConnection,
    items: Vec<TargetListItem>,
) -> QueryResult<Vec<TargetSummary>> {
    let ids: Vec<i64> = items.iter().map(|t| t.id.0).collect();
    let counts: HashMap<i64, (i64, i64)> = accounts::table
        .filter(in_ids(accounts::target_id, &ids))
        .group_by(accounts::target_id)
        .select((
            accounts::target_id,
            diesel::dsl::count_star(),
            diesel::dsl::count(diesel::dsl::case_when(
                accounts::admin_access.eq(false),
                accounts::id,
            )),
        ))
        .load::<(i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(target, all, unmanaged)| (target, (all, unmanaged)))
        .collect();
    Ok(items
        .into_iter()
        .map(|target| {
            let (accounts, unmanaged) = counts.get(&target.id.0).copied().unwrap_or((0, 0));
            TargetSummary::from((target, accounts, unmanaged))
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    NameAscending,
    NameDescending,
}

fn map_unique(error: diesel::result::Error) -> TargetError {
    if is_unique_violation(&error) {
        TargetError::NameTaken
    } else {
        TargetError::Database(error)
    }
}

impl Target {
    pub fn policy(&self) -> PasswordPolicy {
        serde_json::from_str(&self.password_policy).unwrap_or_default()
    }

    /// A target by id, whatever its organization (for background jobs).
    pub fn find(conn: &mut DbConnection, id: TargetId) -> QueryResult<Option<Target>> {
        targets::table
            .find(id.0)
            .select(Target::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_in_organization(
        conn: &mut DbConnection,
        organization: OrganizationId,
        id: TargetId,
    ) -> QueryResult<Option<Target>> {
        targets::table
            .filter(targets::id.eq(id.0))
            .filter(targets::organization_id.eq(organization.0))
            .select(Target::as_select())
            .first(conn)
            .optional()
    }

    pub fn insert(
        conn: &mut DbConnection,
        vault: &Vault,
        organization: OrganizationId,
        input: &TargetInput,
        now: NaiveDateTime,
    ) -> Result<Target, TargetError> {
        let policy = serde_json::to_string(&input.policy).unwrap_or_default();
        let id: i64 = diesel::insert_into(targets::table)
            .values((
                targets::organization_id.eq(organization.0),
                targets::name.eq(input.name.as_str()),
                targets::name_key.eq(input.name.key()),
                targets::address.eq(input.address.as_str()),
                targets::description.eq(input.description.as_str()),
                targets::connector.eq(input.connector.as_str()),
                targets::connector_settings.eq(input.connector_settings.to_json()),
                targets::checkout_type.eq(input.checkout_type.as_str()),
                targets::exclusive_minutes.eq(input.exclusive_minutes.get()),
                targets::password_policy.eq(policy),
                targets::created_at.eq(now),
                targets::updated_at.eq(now),
                targets::search_text.eq(search_text(input)),
            ))
            .returning(targets::id)
            .get_result(conn)
            .map_err(map_unique)?;
        if let Some(password) = &input.admin_password {
            Target::store_connector_secret(conn, vault, TargetId(id), password)?;
        }
        Target::find_in_organization(conn, organization, TargetId(id))?
            .ok_or(TargetError::Database(diesel::result::Error::NotFound))
    }

    fn store_connector_secret(
        conn: &mut DbConnection,
        vault: &Vault,
        id: TargetId,
        password: &str,
    ) -> Result<(), TargetError> {
        let sealed = vault.encrypt(conn, password, connector_slot(id))?;
        diesel::update(targets::table.find(id.0))
            .set(targets::connector_secret.eq(sealed))
            .execute(conn)?;
        Ok(())
    }

    /// The connector's admin password, decrypted.
    pub fn connector_password(
        &self,
        conn: &mut DbConnection,
        vault: &Vault,
    ) -> Result<Option<Zeroizing<String>>, VaultError> {
        match &self.connector_secret {
            Some(blob) => vault.decrypt(conn, blob, connector_slot(self.id)).map(Some),
            None => Ok(None),
        }
    }

    pub fn connector_settings(&self) -> ConnectorSettings {
        ConnectorSettings::parse_json(&self.connector_settings)
    }

    pub fn update(
        conn: &mut DbConnection,
        vault: &Vault,
        id: TargetId,
        input: &TargetInput,
        now: NaiveDateTime,
    ) -> Result<(), TargetError> {
        let policy = serde_json::to_string(&input.policy).unwrap_or_default();
        diesel::update(targets::table.find(id.0))
            .set((
                targets::name.eq(input.name.as_str()),
                targets::name_key.eq(input.name.key()),
                targets::address.eq(input.address.as_str()),
                targets::description.eq(input.description.as_str()),
                targets::connector.eq(input.connector.as_str()),
                targets::checkout_type.eq(input.checkout_type.as_str()),
                targets::exclusive_minutes.eq(input.exclusive_minutes.get()),
                targets::password_policy.eq(policy),
                targets::connector_settings.eq(input.connector_settings.to_json()),
                targets::updated_at.eq(now),
                targets::search_text.eq(search_text(input)),
            ))
            .execute(conn)
            .map_err(map_unique)?;
        if input.connector == Connector::VaultOnly {
            diesel::update(targets::table.find(id.0))
                .set(targets::connector_secret.eq(None::<Vec<u8>>))
                .execute(conn)?;
        } else if let Some(password) = &input.admin_password {
            Target::store_connector_secret(conn, vault, id, password)?;
        }
        Ok(())
    }

    pub fn delete(conn: &mut DbConnection, id: TargetId) -> QueryResult<usize> {
        diesel::delete(targets::table.find(id.0)).execute(conn)
    }

    /// Manage Apps: a page of the organization's targets matching `term` in name, address or
    /// description (case-insensitive, any part), with their account counts, in a number of
    /// statements that does not grow with the page: on PostgreSQL a search's first page is one
    /// statement (matches, their count, the page and its counts); on SQLite a term of three
    /// characters or more takes the trigram lookups of [`fts_matches`], which bring the
    /// matches' name keys, then the page's rows with their counts; the whole list, SQLite's
    /// shorter terms and PostgreSQL's later pages take a count, the page, and its counts. Terms of three characters or more are looked up in the
    /// trigram index of `search_text` (FTS5 on SQLite, pg_trgm on PostgreSQL); shorter ones
    /// read the organization's apps.
    pub fn search(
        conn: &mut DbConnection,
        organization: OrganizationId,
        term: &str,
        sort: SortOrder,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<TargetSummary>> {
        let term = term.trim().to_lowercase();
        let in_organization = targets::organization_id.eq(organization.0);
        // Each arm is a query of its own static type, so that every one is prepared once per
        // connection and then reused (a boxed or hand-written query is parsed and planned again
        // on every request).
        macro_rules! page_of {
            ($filter:expr, $key:expr) => {{
                let total: i64 = targets::table.filter($filter).count().get_result(conn)?;
                let query = targets::table
                    .filter($filter)
                    .select(TargetListItem::as_select())
                    .limit(per_page)
                    .offset(Page::<Target>::offset(page, per_page));
                let items: Vec<TargetListItem> = match sort {
                    SortOrder::NameAscending => query.order($key.asc()).load(conn)?,
                    SortOrder::NameDescending => query.order($key.desc()).load(conn)?,
                };
                (total, with_account_counts(conn, items)?)
            }};
        }
        // A search sorts its matches by `lower(name_key)` (the same order, name_key being lower
        // case already) so that no planner walks the whole organization in name order hoping
        // to meet 25 matches early: matching apps are found from the index, then sorted.
        let (total, items) = if term.is_empty() {
            page_of!(in_organization, targets::name_key)
        } else if matches!(conn, DbConnection::Sqlite(_)) && term.chars().count() >= 3 {
            // Counted and sorted from the narrow keys of the matches (name keys are unique in
            // an organization), then only the page's rows are loaded, with their account counts.
            let mut keys = fts_matches(conn, organization, &term, NARROW_TRIGRAM)?;
            keys.sort_unstable();
            if sort == SortOrder::NameDescending {
                keys.reverse();
            }
            let offset = usize::try_from(Page::<Target>::offset(page, per_page)).unwrap_or(0);
            let shown: Vec<i64> = keys
                .iter()
                .skip(offset)
                .take(usize::try_from(per_page).unwrap_or(0))
                .map(|(_, id)| *id)
                .collect();
            let mut items: Vec<TargetSummary> = targets::table
                .filter(in_ids(targets::id, &shown))
                .select((
                    TargetListItem::as_select(),
                    AccountsOfTarget,
                    UnmanagedOfTarget,
                ))
                .load::<(TargetListItem, i64, i64)>(conn)?
                .into_iter()
                .map(TargetSummary::from)
                .collect();
            items.sort_by_key(|t| shown.iter().position(|id| *id == t.target.id.0));
            (keys.len() as i64, items)
        } else if matches!(conn, DbConnection::Postgres(_)) && page == 1 {
            // One statement: PostgreSQL finds the matches in the trigram index, counts them in
            // the same pass (a window), sorts them, and runs the account counts' subqueries
            // after the sort (it postpones costly output columns past a sort under a LIMIT) —
            // but for every row up to the page's last, the rows an offset skips included: 240
            // ms for the last of 400 pages. Later pages take the three statements below.
            let matching =
                in_organization.and(targets::search_text.like(like_pattern(&term)).escape('\\'));
            let query = targets::table
                .filter(matching)
                .select((
                    TargetListItem::as_select(),
                    AccountsOfTarget,
                    UnmanagedOfTarget,
                    diesel::dsl::count_star().over(),
                ))
                .limit(per_page);
            let found: Vec<(TargetListItem, i64, i64, i64)> = match sort {
                SortOrder::NameAscending => {
                    query.order(lower(targets::name_key).asc()).load(conn)?
                }
                SortOrder::NameDescending => {
                    query.order(lower(targets::name_key).desc()).load(conn)?
                }
            };
            let total = found.first().map_or(0, |(_, _, _, total)| *total);
            let items = found
                .into_iter()
                .map(|(target, accounts, unmanaged, _)| {
                    TargetSummary::from((target, accounts, unmanaged))
                })
                .collect();
            (total, items)
        } else {
            // SQLite sorts the matches of a one- or two-character term with a temporary b-tree
            // and would run subqueries in its output columns for every match, not only the
            // page's; PostgreSQL's later pages would run them for the skipped rows: the page's
            // counts come in a statement of their own.
            let pattern = like_pattern(&term);
            page_of!(
                in_organization.and(targets::search_text.like(pattern.clone()).escape('\\')),
                lower(targets::name_key)
            )
        };
        Ok(Page::new(items, total, page, per_page))
    }

    /// Whether the organization has any app at all.
    pub fn any_in(conn: &mut DbConnection, organization: OrganizationId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            targets::table.filter(targets::organization_id.eq(organization.0)),
        ))
        .get_result(conn)
    }

    /// A page of the people allowed to use an app's shared accounts, by name.
    pub fn allowed_people(
        conn: &mut DbConnection,
        target: TargetId,
        page: i64,
        per_page: i64,
    ) -> QueryResult<Page<User>> {
        let allowed = || target_users::table.filter(target_users::target_id.eq(target.0));
        let page_of = || {
            allowed()
                .inner_join(users::table)
                .order((lower(users::name).asc(), users::id.asc()))
                .limit(per_page)
                .offset(Page::<User>::offset(page, per_page))
        };
        let (items, total) = page_with_total(
            conn,
            page,
            |conn| {
                page_of()
                    .select((User::as_select(), diesel::dsl::count_star().over()))
                    .load(conn)
            },
            |conn| page_of().select(User::as_select()).load(conn),
            |conn| allowed().count().get_result(conn),
        )?;
        Ok(Page::new(items, total, page, per_page))
    }

    pub fn is_allowed(
        conn: &mut DbConnection,
        target: TargetId,
        user: UserId,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            target_users::table
                .filter(target_users::target_id.eq(target.0))
                .filter(target_users::user_id.eq(user.0)),
        ))
        .get_result(conn)
    }

    /// Adds a person; adding someone already allowed changes nothing.
    pub fn allow(conn: &mut DbConnection, target: TargetId, user: UserId) -> QueryResult<bool> {
        if Target::is_allowed(conn, target, user)? {
            return Ok(false);
        }
        diesel::insert_into(target_users::table)
            .values((
                target_users::target_id.eq(target.0),
                target_users::user_id.eq(user.0),
            ))
            .execute(conn)
            .map(|n| n > 0)
    }

    pub fn disallow(conn: &mut DbConnection, target: TargetId, user: UserId) -> QueryResult<bool> {
        diesel::delete(
            target_users::table
                .filter(target_users::target_id.eq(target.0))
                .filter(target_users::user_id.eq(user.0)),
        )
        .execute(conn)
        .map(|n| n > 0)
    }

    /// Whether the app's policy names `user` as an admin who may view Managed passwords.
    pub fn policy_names(
        conn: &mut DbConnection,
        target: TargetId,
        user: UserId,
    ) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            target_policy_admins::table
                .filter(target_policy_admins::target_id.eq(target.0))
                .filter(target_policy_admins::user_id.eq(user.0)),
        ))
        .get_result(conn)
    }

    /// Names an admin in the policy; naming someone already named changes nothing.
    pub fn add_policy_admin(
        conn: &mut DbConnection,
        target: TargetId,
        user: UserId,
    ) -> QueryResult<bool> {
        if Target::policy_names(conn, target, user)? {
            return Ok(false);
        }
        diesel::insert_into(target_policy_admins::table)
            .values((
                target_policy_admins::target_id.eq(target.0),
                target_policy_admins::user_id.eq(user.0),
            ))
            .execute(conn)
            .map(|n| n > 0)
    }

    pub fn remove_policy_admin(
        conn: &mut DbConnection,
        target: TargetId,
        user: UserId,
    ) -> QueryResult<bool> {
        diesel::delete(
            target_policy_admins::table
                .filter(target_policy_admins::target_id.eq(target.0))
                .filter(target_policy_admins::user_id.eq(user.0)),
        )
        .execute(conn)
        .map(|n| n > 0)
    }

    /// The admins the app's policy names, by name.
    pub fn policy_admins(conn: &mut DbConnection, target: TargetId) -> QueryResult<Vec<User>> {
        target_policy_admins::table
            .inner_join(users::table)
            .filter(target_policy_admins::target_id.eq(target.0))
            .order(lower(users::name).asc())
            .select(User::as_select())
            .load(conn)
    }

    /// For key rotation: connector secrets after `after_id`, in id order.
    pub fn connector_secrets_after(
        conn: &mut DbConnection,
        after_id: i64,
        limit: i64,
    ) -> QueryResult<Vec<(i64, Vec<u8>)>> {
        targets::table
            .filter(targets::id.gt(after_id))
            .filter(targets::connector_secret.is_not_null())
            .order(targets::id.asc())
            .limit(limit)
            .select((targets::id, targets::connector_secret.assume_not_null()))
            .load(conn)
    }

    /// Replaces a connector secret only if it is still `old` (a concurrent edit wins).
    pub fn replace_connector_secret(
        conn: &mut DbConnection,
        id: i64,
        old: &[u8],
        new: &[u8],
    ) -> QueryResult<usize> {
        diesel::update(
            targets::table
                .filter(targets::id.eq(id))
                .filter(targets::connector_secret.eq(old)),
        )
        .set(targets::connector_secret.eq(new))
        .execute(conn)
    }
}

/// A trigram shared by at most this many apps narrows a long search down (see [`fts_matches`]).
const NARROW_TRIGRAM: usize = 128;
/// At most this many of a long phrase's trigrams are tried for one that narrows it down.
const TRIGRAMS_TRIED: usize = 8;
/// A phrase of fewer trigrams than this is matched by the index at once (see [`fts_matches`]).
const LONG_PHRASE_TRIGRAMS: usize = 8;

/// SQLite: the name keys and ids of the organization's apps whose search text contains `term`
/// (lower-cased, three characters or more), from the FTS5 trigram index.
///
/// A phrase is matched as a chain of trigrams, and FTS5 walks every trigram's whole list of
/// apps: "estate, run by team 42" read twenty lists, most of them naming nearly every app (2 ms
/// for 10 000 apps). So a phrase of [`LONG_PHRASE_TRIGRAMS`] trigrams or more first looks for
/// one rare trigram — trigrams with a digit first, then those inside a word — asking each for
/// at most `narrow + 1` apps; the first that names `narrow` apps or fewer gives the candidates
/// (a rarer one found later replaces them), and the phrase is then checked on their text.
/// When every trigram tried is common, the index matches the phrase itself. A shorter phrase
/// goes to the index at once: each trial costs about as much as reading a few hundred apps'
/// entries of a list (30 µs), and "grafana-0" spent 0.22 ms on seven trials that found nothing
/// rare before its own lookup of 0.16 ms.
fn fts_matches(
    conn: &mut DbConnection,
    organization: OrganizationId,
    term: &str,
    narrow: usize,
) -> QueryResult<Vec<(String, i64)>> {
    fn quoted(text: &str) -> String {
        format!("\"{}\"", text.replace('"', "\"\""))
    }
    fn lookup(conn: &mut DbConnection, query: String, limit: i64) -> QueryResult<Vec<i64>> {
        targets_search::table
            .filter(fts_match(targets_search::search_text, query))
            .select(targets_search::rowid)
            .limit(limit)
            .load(conn)
    }
    let chars: Vec<char> = term.chars().collect();
    if chars.len() >= LONG_PHRASE_TRIGRAMS + 2 {
        let mut trigrams: Vec<String> = Vec::new();
        for window in chars.windows(3) {
            let trigram: String = window.iter().collect();
            if !trigrams.contains(&trigram) {
                trigrams.push(trigram);
            }
        }
        trigrams.sort_by_key(|t| {
            (
                !t.chars().any(|c| c.is_ascii_digit()),
                !t.chars().all(char::is_alphanumeric),
            )
        });
        let mut candidates: Option<Vec<i64>> = None;
        for trigram in trigrams.iter().take(TRIGRAMS_TRIED) {
            let most = candidates
                .as_ref()
                .map_or(narrow, |c| c.len().saturating_sub(1));
            let found = lookup(conn, quoted(trigram), most as i64 + 1)?;
            if found.len() <= most {
                let few = found.len() <= narrow / 4;
                candidates = Some(found);
                if few {
                    break;
                }
            }
        }
        if let Some(candidates) = candidates {
            let texts: Vec<(String, i64, String)> = targets::table
                .filter(in_ids(targets::id, &candidates))
                .filter(in_organization(organization))
                .select((targets::name_key, targets::id, targets::search_text))
                .load(conn)?;
            return Ok(texts
                .into_iter()
                .filter(|(_, _, text)| text.to_lowercase().contains(term))
                .map(|(key, id, _)| (key, id))
                .collect());
        }
    }
    // The phrase itself, with the matches' name keys in the same statement: the index's
    // matches first (once), then each app by its key. Joined, SQLite put the organization's
    // apps in the outer loop and ran the phrase's lookup once for each of them (1.4 s for
    // `payroll` among 10 000 apps): Keyholder keeps no planner statistics on SQLite, and
    // without them an equality on `organization_id` looks like a handful of rows.
    targets::table
        .filter(
            targets::id.eq_any(
                targets_search::table
                    .filter(fts_match(targets_search::search_text, quoted(term)))
                    .select(targets_search::rowid),
            ),
        )
        .filter(in_organization(organization))
        .select((targets::name_key, targets::id))
        .load(conn)
}

/// `organization_id = ?` written so that SQLite does not search `targets` by it (`+ 0`): for
/// statements that find their apps by key, whose apps are few where an organization's are
/// many. Without planner statistics SQLite takes an equality on an indexed column for a
/// handful of rows and would walk all of the organization's apps to meet the few.
fn in_organization(
    organization: OrganizationId,
) -> diesel::dsl::Eq<diesel::dsl::Add<targets::organization_id, i64>, i64> {
    (targets::organization_id + 0i64).eq(organization.0)
}

/// What Manage Apps searches in: name, address and description, lower-cased, one per line.
fn search_text(input: &TargetInput) -> String {
    format!(
        "{}\n{}\n{}",
        input.name.as_str(),
        input.address.as_str(),
        input.description.as_str()
    )
    .to_lowercase()
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::DatabaseUrl;

    /// A SQLite database holding one app per description, with ids from 1 in that order.
    fn apps(dir: &std::path::Path, descriptions: &[String]) -> DbConnection {
        let mut conn = DatabaseUrl::sqlite_file(dir.join("search.db"))
            .connect()
            .unwrap();
        crate::db::run_migrations(&mut conn).unwrap();
        let rows: Vec<String> = descriptions
            .iter()
            .enumerate()
            .map(|(i, description)| {
                format!(
                    "(1, 'App {i}', 'app {i}', 'host', '{description}', 'vault_only', '{{}}', \
                     'regular', 60, '{{}}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', \
                     lower('App {i}' || char(10) || 'host' || char(10) || '{description}'))"
                )
            })
            .collect();
        conn.batch_execute(&format!(
            "INSERT INTO organizations (id, name, created_at) VALUES (1, 'Org', '2026-01-01');
             INSERT INTO targets (organization_id, name, name_key, address, description,
                 connector, connector_settings, checkout_type, exclusive_minutes,
                 password_policy, created_at, updated_at, search_text) VALUES {};",
            rows.join(",")
        ))
        .unwrap();
        conn
    }

    #[test]
    fn a_long_phrase_finds_exactly_the_apps_containing_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut descriptions: Vec<String> = (0..300)
            .map(|i| format!("payroll for the prod estate, run by team {}", i % 50))
            .collect();
        descriptions.push("Shared ESTATE, run by Team 42 (old)".into());
        descriptions.push("estate run by team 42, no comma".into());
        descriptions.push("a \"quoted\" estate".into());
        let mut conn = apps(dir.path(), &descriptions);
        for term in [
            "estate, run by team 42",
            "team 4",
            "run by team",
            "prod estate",
            "for the prod estate, run by team 1",
            "run by team 42, no",
            "\"quoted\" estate",
            "nowhere to be found",
            "team 42 (old)",
        ] {
            let expected: Vec<i64> = descriptions
                .iter()
                .enumerate()
                .filter(|(i, d)| format!("app {i}\nhost\n{}", d.to_lowercase()).contains(term))
                .map(|(i, _)| i as i64 + 1)
                .collect();
            // From "no trigram is rare enough" (the phrase itself) to "any trigram is".
            for narrow in [0, 4, NARROW_TRIGRAM, 100_000] {
                let mut found: Vec<i64> = fts_matches(&mut conn, 1.into(), term, narrow)
                    .unwrap()
                    .into_iter()
                    .map(|(_, id)| id)
                    .collect();
                found.sort_unstable();
                assert_eq!(
                    found, expected,
                    "{term:?} with trigrams of at most {narrow} apps"
                );
            }
        }
        // The matches come with their name keys, and only from the organization asked about.
        for narrow in [0, 100_000] {
            assert_eq!(
                fts_matches(&mut conn, 1.into(), "team 42 (old)", narrow).unwrap(),
                vec![("app 300".to_string(), 301)]
            );
            assert!(
                fts_matches(&mut conn, 2.into(), "estate, run by team 42", narrow)
                    .unwrap()
                    .is_empty()
            );
        }
    }
}
