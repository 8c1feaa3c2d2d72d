//! The audit trail, for owners and admins.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::{TargetId, UserId};
use crate::errors::AppError;
use crate::models::audit::{ACTIONS, action_label};
use crate::models::{AuditEvent, AuditFilter, AuditRow, Page, Target, User};
use crate::routes::apps::page_number;
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Layout};

pub const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Query {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: Layout,
    actors: Vec<Choice>,
    actions: Vec<Choice>,
    selected_actor: String,
    selected_action: String,
    app: String,
    app_name: Option<String>,
    from: String,
    to: String,
    errors: FieldErrors,
    page: Page<AuditRow>,
    query_string: String,
}

impl AuditPage {
    fn label<'a>(&self, action: &'a str) -> &'a str {
        action_label(action)
    }

    /// "1 event", "2,345 events", or "More than 10,000 events" past the count's cap.
    fn events(&self) -> String {
        let count = grouped(self.page.total);
        match (self.page.more_than_total, self.page.total) {
            (true, _) => format!("More than {count} events"),
            (false, 1) => "1 event".into(),
            (false, _) => format!("{count} events"),
        }
    }
}

/// `12345` as `12,345`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn parse_date(raw: &str, field: &'static str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        // Both engines store years 1 to 9999; anything else is not a date anyone means.
        Ok(date) if raw.len() == 10 && (1..=9999).contains(&chrono::Datelike::year(&date)) => {
            Some(date)
        }
        _ => {
            errors.add(field, "Enter a date as YYYY-MM-DD.");
            None
        }
    }
}

pub async fn audit(
    viewer: AdminViewer,
    state: SharedState,
    query: web::Query<Query>,
) -> Result<AuditPage, AppError> {
    let query = query.into_inner();
    let mut errors = FieldErrors::new();
    let actor = query.actor.trim().parse::<i64>().ok().map(UserId);
    let action = ACTIONS
        .iter()
        .find(|(key, _)| *key == query.action.trim())
        .map(|(key, _)| key.to_string());
    let app = query.app.trim().parse::<i64>().ok();
    let from = parse_date(&query.from, "from", &mut errors);
    let to = parse_date(&query.to, "to", &mut errors);
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        errors.add("to", "The end date is before the start date.");
    }
    let filter = AuditFilter {
        actor,
        action,
        target: app,
        from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        until: to
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
    };
    let page_number = page_number(query.page.as_deref());
    let organization = viewer.user.organization_id;
    let (page, people, app_name) = state
        .db
        .run(move |conn| {
            let page = AuditEvent::search(conn, organization, &filter, page_number, PER_PAGE)?;
            let people = User::search(conn, organization, "", 1, 1000)?.items;
            let app_name = match app {
                Some(id) => {
                    Target::find_in_organization(conn, organization, TargetId(id))?.map(|t| t.name)
                }
                None => None,
            };
            Ok::<_, AppError>((page, people, app_name))
        })
        .await?;
    let query_string = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("actor", query.actor.trim())
        .append_pair("action", query.action.trim())
        .append_pair("app", query.app.trim())
        .append_pair("from", query.from.trim())
        .append_pair("to", query.to.trim())
        .finish();
    Ok(AuditPage {
        layout: viewer.layout("audit"),
        actors: people
            .into_iter()
            .map(|p| Choice {
                value: p.id.0.to_string(),
                label: format!("{} ({})", p.name, p.email),
            })
            .collect(),
        actions: ACTIONS
            .iter()
            .map(|(key, label)| Choice {
                value: key.to_string(),
                label: label.to_string(),
            })
            .collect(),
        selected_actor: query.actor.trim().to_string(),
        selected_action: query.action.trim().to_string(),
        app: query.app.trim().to_string(),
        app_name,
        from: query.from.trim().chars().take(20).collect(),
        to: query.to.trim().chars().take(20).collect(),
        errors,
        page,
        query_string,
    })
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1234), "-1,234");
    }
}
