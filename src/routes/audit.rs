//! The audit trail, for owners and admins.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::{TargetId, UserId};
use crate::errors::AppError;
use crate::models::audit::{ACTIONS, action_label};
use crate::models::{AuditEvent, AuditFilter, AuditRow, Cursor, Page, Target, User};
use crate::routes::apps::page_number;
use crate::state::SharedState;
use crate::web::{AdminViewer, FieldErrors, Layout};

pub const PER_PAGE: i64 = 50;

/// How many people a Person search offers to choose from before asking for more letters.
pub const CANDIDATES: i64 = 10;

#[derive(Deserialize, Default)]
pub struct Query {
    /// A person chosen by id: from a link, or from the people a search offered.
    #[serde(default)]
    actor: String,
    /// Part of a person's name or email, typed into the Person field.
    #[serde(default)]
    person: String,
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
    /// The page after the one that ended with this event (the Next link).
    #[serde(default)]
    before: String,
    /// The page before the one that began with this event (the Previous link).
    #[serde(default)]
    after: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

/// What the Person field resolved to. An organization may have thousands of people, so the
/// page never lists them all: the field takes part of a name or an email and the page offers
/// the people it matches.
pub enum Person {
    Anyone,
    /// One person, whose events are shown.
    Chosen {
        id: i64,
        label: String,
    },
    /// Several people match the words typed: the page offers the first `CANDIDATES` of them
    /// as links and shows no events until one is chosen.
    Several {
        term: String,
        total: i64,
        people: Vec<Choice>,
    },
    /// Nobody matches the words typed; no event can match either.
    Nobody {
        term: String,
    },
    /// The id chosen is no one of this organization's (a stale or edited link).
    NotHere,
}

impl Person {
    /// The words to show in the Person field.
    fn term(&self) -> &str {
        match self {
            Person::Several { term, .. } | Person::Nobody { term } => term,
            _ => "",
        }
    }

    /// What the Person field says when the filter cannot name anyone.
    fn error(&self) -> Option<String> {
        match self {
            Person::Nobody { term } => Some(format!(
                "No one here has a name or email containing \u{201c}{term}\u{201d}."
            )),
            Person::NotHere => Some("That person is not in this organization.".into()),
            _ => None,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: Layout,
    person: Person,
    actions: Vec<Choice>,
    selected_action: String,
    app: String,
    app_name: Option<String>,
    from: String,
    to: String,
    errors: FieldErrors,
    page: Page<AuditRow>,
    query_string: String,
    /// The other filters, for links that choose a person.
    others: String,
    /// Every filter but the app, for the link that drops it.
    without_app: String,
}

impl AuditPage {
    fn label<'a>(&self, action: &'a str) -> &'a str {
        action_label(action)
    }

    fn person_term(&self) -> &str {
        self.person.term()
    }

    /// The Previous link's query: the first page as such (with the events written since), a
    /// later one as the events just after this page's first.
    fn previous_page(&self) -> String {
        match (self.page.page - 1, self.page.items.first()) {
            (page, Some(first)) if page > 1 => format!("page={page}&after={}", first.event.id),
            _ => "page=1".to_string(),
        }
    }

    /// The Next link's query: the events just before this page's last.
    fn next_page(&self) -> String {
        match self.page.items.last() {
            Some(last) => format!("page={}&before={}", self.page.page + 1, last.event.id),
            None => format!("page={}", self.page.page + 1),
        }
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
    let actor = match query.actor.trim() {
        "" => None,
        raw => Some(raw.parse::<i64>().ok().map(UserId)),
    };
    let term: String = query.person.trim().chars().take(200).collect();
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
    let mut filter = AuditFilter {
        actor: None,
        action,
        target: app,
        from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        until: to
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
    };
    let page_number = page_number(query.page.as_deref());
    // A link's event that is not a number is no link of ours: the page by its number.
    let cursor = match (
        query.before.trim().parse::<i64>(),
        query.after.trim().parse::<i64>(),
    ) {
        (Ok(id), _) => Cursor::Before(id),
        (_, Ok(id)) if page_number > 1 => Cursor::After(id),
        _ => Cursor::Page,
    };
    let organization = viewer.user.organization_id;
    let (person, page, app_name) = state
        .db
        .run(move |conn| {
            let person = resolve_person(conn, organization, actor, term)?;
            let page = match &person {
                Person::Anyone => {
                    AuditEvent::search(conn, organization, &filter, cursor, page_number, PER_PAGE)?
                }
                Person::Chosen { id, .. } => {
                    filter.actor = Some(UserId(*id));
                    AuditEvent::search(conn, organization, &filter, cursor, page_number, PER_PAGE)?
                }
                // No events until a person is chosen, and none can match nobody.
                Person::Several { .. } | Person::Nobody { .. } | Person::NotHere => {
                    Page::new(Vec::new(), 0, 1, PER_PAGE)
                }
            };
            let app_name = match app {
                Some(id) => {
                    Target::find_in_organization(conn, organization, TargetId(id))?.map(|t| t.name)
                }
                None => None,
            };
            Ok::<_, AppError>((person, page, app_name))
        })
        .await?;
    if let Some(message) = person.error() {
        errors.add("person", message);
    }
    let chosen = match &person {
        Person::Chosen { id, .. } => id.to_string(),
        _ => String::new(),
    };
    // The filters as a link's query, with or without the person and the app.
    let filters = |actor: Option<&str>, app: bool| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        if let Some(actor) = actor {
            link.append_pair("actor", actor);
        }
        link.append_pair("action", query.action.trim());
        if app {
            link.append_pair("app", query.app.trim());
        }
        link.append_pair("from", query.from.trim())
            .append_pair("to", query.to.trim())
            .finish()
    };
    let others = filters(None, true);
    let query_string = filters(Some(&chosen), true);
    let without_app = filters(Some(&chosen), false);
    Ok(AuditPage {
        layout: viewer.layout("audit"),
        person,
        actions: ACTIONS
            .iter()
            .map(|(key, label)| Choice {
                value: key.to_string(),
                label: label.to_string(),
            })
            .collect(),
        selected_action: query.action.trim().to_string(),
        app: query.app.trim().to_string(),
        app_name,
        from: query.from.trim().chars().take(20).collect(),
        to: query.to.trim().chars().take(20).collect(),
        errors,
        page,
        query_string,
        others,
        without_app,
    })
}

/// The person the filter names: an id chosen from a link wins over words typed (`Some(None)`:
/// an id that is not a number); words match a whole email, or else one person's whole name,
/// or else part of names and emails, as the Users page's search does.
fn resolve_person(
    conn: &mut crate::db::DbConnection,
    organization: crate::domain::OrganizationId,
    actor: Option<Option<UserId>>,
    term: String,
) -> Result<Person, AppError> {
    let label = |user: &User| format!("{} ({})", user.name, user.email);
    let chosen = |user: &User| Person::Chosen {
        id: user.id.0,
        label: label(user),
    };
    match actor {
        Some(Some(id)) => {
            return Ok(match User::find_in_organization(conn, organization, id)? {
                Some(user) => chosen(&user),
                None => Person::NotHere,
            });
        }
        Some(None) => return Ok(Person::NotHere),
        None => {}
    }
    if term.is_empty() {
        return Ok(Person::Anyone);
    }
    if let Some(user) = User::by_email_in_organization(conn, organization, &term)? {
        return Ok(chosen(&user));
    }
    // "Al" among Alan and Alice is Al, however many others match "al".
    if let [user] = User::named_in_organization(conn, organization, &term, 2)?.as_slice() {
        return Ok(chosen(user));
    }
    let found = User::search(conn, organization, &term, 1, CANDIDATES)?;
    Ok(match (found.total, found.items.first()) {
        // Counted apart from the rows: someone renamed in between leaves no row to choose.
        (0, _) | (_, None) => Person::Nobody { term },
        (1, Some(user)) => chosen(user),
        (total, _) => Person::Several {
            term,
            total,
            people: found
                .items
                .iter()
                .map(|user| Choice {
                    value: user.id.0.to_string(),
                    label: label(user),
                })
                .collect(),
        },
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
