//! What pages show about shared accounts: state in words, holders, and what the viewer can do.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::sql::HOLDERS_NAMED;
use crate::domain::CheckoutType;
use crate::models::{AccountState, ActiveCheckout, Checkout, ListedAccount, Page, Target, User};

pub struct AccountRow {
    pub account: ListedAccount,
    /// "Available", "Checked out", "Resetting", "Out of sync".
    pub state_label: &'static str,
    /// CSS modifier for the state badge.
    pub state_class: &'static str,
    /// The first holders, oldest first (at most [`HOLDERS_NAMED`]).
    pub holders: Vec<HolderView>,
    /// Holders the page does not name: beyond `holders`, or everyone but the viewer where the
    /// viewer holds it.
    pub others: i64,
    /// The viewer's own active check-out of this account.
    pub mine: Option<CheckoutView>,
    pub can_check_out: bool,
    /// Shown to everyone else while an exclusive holder has it.
    pub locked_by: Option<HolderView>,
}

pub struct HolderView {
    pub checkout_id: i64,
    pub name: String,
    pub until: TimeView,
    pub exclusive: bool,
}

pub struct CheckoutView {
    pub id: i64,
    pub until: TimeView,
    pub exclusive: bool,
}

/// A moment, as ISO for scripts and in words for people without them.
pub struct TimeView {
    pub iso: String,
    pub words: String,
}

impl TimeView {
    pub fn new(at: NaiveDateTime, now: NaiveDateTime) -> Self {
        Self {
            iso: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            words: format!(
                "{} UTC ({})",
                at.format("%Y-%m-%d %H:%M"),
                relative(at, now)
            ),
        }
    }
}

/// "in 12 minutes", "in 1 hour 5 minutes", "2 minutes ago".
pub fn relative(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let seconds = (at - now).num_seconds();
    if seconds <= 0 && seconds > -60 {
        // Something that happened within the last minute (or this very second).
        return "just now".to_string();
    }
    let magnitude = seconds.unsigned_abs();
    let text = if magnitude < 60 {
        "less than a minute".to_string()
    } else if magnitude < 3600 {
        let m = magnitude / 60;
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    } else if magnitude < 86_400 {
        let h = magnitude / 3600;
        let m = (magnitude % 3600) / 60;
        if m == 0 {
            format!("{h} hour{}", if h == 1 { "" } else { "s" })
        } else {
            format!(
                "{h} hour{} {m} minute{}",
                if h == 1 { "" } else { "s" },
                if m == 1 { "" } else { "s" }
            )
        }
    } else {
        let d = magnitude / 86_400;
        format!("{d} day{}", if d == 1 { "" } else { "s" })
    };
    if seconds >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// Rows for `accounts` (shared accounts of `target`) as `viewer` sees them.
pub fn account_rows(
    conn: &mut DbConnection,
    viewer: &User,
    target: &Target,
    accounts: Vec<ListedAccount>,
    now: NaiveDateTime,
) -> diesel::QueryResult<Vec<AccountRow>> {
    let ids: Vec<i64> = accounts.iter().map(|a| a.id.0).collect();
    let active = Checkout::active_for_accounts(conn, &ids, viewer.id)?;
    let allowed = Target::is_allowed(conn, target.id, viewer.id)?;
    Ok(accounts
        .into_iter()
        .map(|account| row(account, &active, viewer, allowed, now))
        .collect())
}

/// Rows of shared accounts, each with its app's name.
pub type RowsWithApp = Vec<(AccountRow, String)>;

/// The dashboard's two lists of shared accounts: page `held_page` of those the viewer holds
/// (soonest end first) and `listed`, a page of those they may use, each with its app's name.
/// The check-outs of both come from one statement, which also brings the held accounts
/// themselves; which of the viewer's check-outs are on the page, from another.
pub fn dashboard_rows(
    conn: &mut DbConnection,
    viewer: &User,
    held_page: (i64, i64),
    listed: Vec<(ListedAccount, String)>,
    now: NaiveDateTime,
) -> diesel::QueryResult<(Page<(AccountRow, String)>, RowsWithApp)> {
    let (page, per_page) = held_page;
    let held_ids = Checkout::held_by(conn, viewer.id, page, per_page)?;
    let ids: Vec<i64> = listed.iter().map(|(a, _)| a.id.0).collect();
    let found = Checkout::active_for_accounts_or_held(conn, &ids, &held_ids.items, viewer.id)?;
    let mut held: Vec<(NaiveDateTime, i64, ListedAccount, String)> = Vec::new();
    let mut active = Vec::with_capacity(found.len());
    for (checkout, account, app) in found {
        if held_ids.items.contains(&checkout.checkout.id) {
            held.push((
                checkout.checkout.expires_at,
                checkout.checkout.id,
                account,
                app,
            ));
        }
        active.push(checkout);
    }
    held.sort_by_key(|(until, id, _, _)| (*until, *id));
    let rows = |pairs: Vec<(ListedAccount, String)>| -> RowsWithApp {
        pairs
            .into_iter()
            .map(|(account, app)| (row(account, &active, viewer, true, now), app))
            .collect()
    };
    let held = rows(held.into_iter().map(|(_, _, a, app)| (a, app)).collect());
    // A check-out that ended between the two statements is neither listed nor counted.
    let ended = (held_ids.items.len() - held.len()) as i64;
    let held = Page::new(held, held_ids.total - ended, page, per_page);
    Ok((held, rows(listed)))
}

/// "you", "Ann Lee and Bo Chen", "you, Ann Lee, Bo Chen and 12 others": the holders of one
/// account as [`Checkout::active_for_accounts`] found them (oldest first).
pub fn holder_names(active: &[ActiveCheckout], viewer: crate::domain::UserId) -> String {
    let mut names: Vec<String> = Vec::new();
    if active.iter().any(|a| a.checkout.user_id == viewer) {
        names.push("you".to_string());
    }
    names.extend(
        active
            .iter()
            .filter(|a| a.checkout.user_id != viewer)
            .take(HOLDERS_NAMED as usize)
            .map(|a| a.holder_name.clone()),
    );
    let all = active.first().map_or(0, |a| a.holders);
    let others = all - names.len() as i64;
    if others > 0 {
        names.push(format!(
            "{others} {}",
            if others == 1 { "other" } else { "others" }
        ));
    }
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn row(
    account: ListedAccount,
    active: &[ActiveCheckout],
    viewer: &User,
    allowed: bool,
    now: NaiveDateTime,
) -> AccountRow {
    let of_account = || {
        active
            .iter()
            .filter(|a| a.checkout.account_id == account.id)
    };
    let held_by = of_account().next().map_or(0, |a| a.holders);
    let holders: Vec<HolderView> = of_account()
        .take(HOLDERS_NAMED as usize)
        .map(|a| HolderView {
            checkout_id: a.checkout.id,
            name: a.holder_name.clone(),
            until: TimeView::new(a.checkout.expires_at, now),
            exclusive: a.checkout.mode == CheckoutType::Exclusive,
        })
        .collect();
    let mine = active
        .iter()
        .find(|a| a.checkout.account_id == account.id && a.checkout.user_id == viewer.id)
        .map(|a| CheckoutView {
            id: a.checkout.id,
            until: TimeView::new(a.checkout.expires_at, now),
            exclusive: a.checkout.mode == CheckoutType::Exclusive,
        });
    let exclusive_holder = active.iter().find(|a| {
        a.checkout.account_id == account.id && a.checkout.mode == CheckoutType::Exclusive
    });
    let locked_by = exclusive_holder
        .filter(|a| a.checkout.user_id != viewer.id)
        .map(|a| HolderView {
            checkout_id: a.checkout.id,
            name: a.holder_name.clone(),
            until: TimeView::new(a.checkout.expires_at, now),
            exclusive: true,
        });
    let (state_label, state_class) = match account.state {
        AccountState::Resetting => ("Resetting", "state-warn"),
        AccountState::OutOfSync => ("Out of sync", "state-danger"),
        AccountState::Available if !holders.is_empty() => ("Checked out", "state-info"),
        AccountState::Available => ("Available", "state-ok"),
    };
    let others = if locked_by.is_some() {
        0
    } else if mine.is_some() {
        held_by - 1
    } else {
        held_by - holders.len() as i64
    };
    let can_check_out = allowed
        && account.state == AccountState::Available
        && exclusive_holder.is_none()
        && mine.is_none();
    AccountRow {
        account,
        state_label,
        state_class,
        holders,
        others,
        mine,
        can_check_out,
        locked_by,
    }
}

#[cfg(test)]
mod tests {
    use super::{holder_names, relative};
    use crate::domain::{AccountId, CheckoutType, OrganizationId, TargetId, UserId};
    use crate::models::{ActiveCheckout, Checkout};
    use chrono::{Duration, NaiveDate};

    /// The check-outs a page found of one account that `all` people hold: `users` in order.
    fn found(users: &[(i64, &str)], all: i64) -> Vec<ActiveCheckout> {
        let at = NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        users
            .iter()
            .enumerate()
            .map(|(n, (user, name))| ActiveCheckout {
                checkout: Checkout {
                    id: n as i64 + 1,
                    organization_id: OrganizationId(1),
                    account_id: AccountId(1),
                    target_id: TargetId(1),
                    user_id: UserId(*user),
                    mode: CheckoutType::Regular,
                    started_at: at,
                    expires_at: at + Duration::hours(1),
                    ended_at: None,
                    end_reason: None,
                    ended_by: None,
                    reminded: false,
                },
                holder_name: name.to_string(),
                holders: all,
            })
            .collect()
    }

    #[test]
    fn holders_are_named_up_to_three_and_the_rest_counted() {
        let me = UserId(9);
        assert_eq!(holder_names(&found(&[(9, "Me")], 1), me), "you");
        assert_eq!(
            holder_names(&found(&[(1, "Ann"), (2, "Bo")], 2), me),
            "Ann and Bo"
        );
        assert_eq!(
            holder_names(&found(&[(1, "Ann"), (2, "Bo"), (3, "Cy")], 4), me),
            "Ann, Bo, Cy and 1 other"
        );
        // The viewer's own check-out, found beyond the first three, comes first as "you".
        assert_eq!(
            holder_names(
                &found(&[(1, "Ann"), (2, "Bo"), (3, "Cy"), (9, "Me")], 12),
                me
            ),
            "you, Ann, Bo, Cy and 8 others"
        );
        assert_eq!(
            holder_names(&found(&[(9, "Me"), (1, "Ann")], 2), me),
            "you and Ann"
        );
        assert_eq!(holder_names(&[], me), "");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 21)
            .unwrap()
            .and_hms_milli_opt(12, 0, 0, 500)
            .unwrap();
        // Created a fraction of a second ago, in the same second: not "in the future".
        assert_eq!(relative(now - Duration::milliseconds(400), now), "just now");
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - Duration::seconds(30), now), "just now");
        assert_eq!(
            relative(now + Duration::seconds(30), now),
            "in less than a minute"
        );
        assert_eq!(relative(now - Duration::minutes(2), now), "2 minutes ago");
        assert_eq!(relative(now + Duration::minutes(12), now), "in 12 minutes");
        assert_eq!(
            relative(now + Duration::minutes(65), now),
            "in 1 hour 5 minutes"
        );
    }
}
