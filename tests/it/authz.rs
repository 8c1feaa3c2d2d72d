//! The authorization matrix of the apps area: every route of targets, accounts and their
//! check-outs, tried as each kind of caller. Only the callers meant to succeed do; everyone else
//! gets 403, 404, 409 or the sign-in page, and nothing changes (checked in the database after
//! every refused request, and through the web by people allowed to look).
//!
//! | caller        | who                                                                   |
//! | ------------- | --------------------------------------------------------------------- |
//! | owner         | the organization's owner, not on the app's allowed list               |
//! | admin         | allowed on the app and named in its policy                            |
//! | member        | allowed on the app, owns the (Managed) personal credential, and holds |
//! |               | the lent shared account exclusively                                   |
//! | other member  | not allowed on the app, no credential of their own                    |
//! | disabled      | an admin allowed on the app, disabled while signed in                 |
//! | signed out    | a visitor with a session (and CSRF token) from the sign-in page       |
//! | outsider      | the owner of another organization                                     |
//!
//! A shared account's password is shown only to the person holding a check-out of it; while
//! someone holds an account exclusively nobody else (admins included) checks it out, edits or
//! deletes it, and its app cannot be deleted. Force check-in is off in the organization
//! settings, except for the matrix rows that say otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use diesel::{ExpressionMethods, JoinOnDsl, QueryDsl, RunQueryDsl, SelectableHelper};
use keyholder::clock::Clock;
use keyholder::domain::{EmailAddress, OrganizationName, PersonName, Role, TargetId, UserId};
use keyholder::models::session::SessionRow;
use keyholder::models::{Account, NewUser, Organization, User};
use keyholder::schema::{
    accounts, audit_events, checkouts, notifications, organizations, sessions,
    target_policy_admins, target_users, targets, users,
};
use keyholder::security::password::hash_password_blocking;
use reqwest::StatusCode;

use crate::helpers::{
    Browser, Engine, OWNER_EMAIL, Page, TestApp, checkout_id_in, engine_tests, revealed_password,
    spawn_app,
};

engine_tests!(
    every_page_opens_only_for_whom_it_is_meant,
    every_form_works_only_for_whom_it_is_meant,
    another_organization_neither_sees_nor_touches_ours,
);

/// What `TestApp::user_browser` gives every person it creates.
const USER_PASSWORD: &str = "member password 123";
const APP_NAME: &str = "Matrix DB";
const SHARED_USERNAME: &str = "svc_matrix";
const SHARED_PASSWORD: &str = "Shared-Matrix-Pa55!";
const PERSONAL_USERNAME: &str = "mia@matrix";
const PERSONAL_PASSWORD: &str = "Mias-Own-Pa55word";
/// The shared account the member holds exclusively while the matrices run.
const LENT_USERNAME: &str = "svc_lent";
const LENT_PASSWORD: &str = "Lent-Matrix-Pa55!";
const HIJACKED_PASSWORD: &str = "Hijacked-Pa55word!";
const ADMIN_EMAIL: &str = "adam@example.com";
const MEMBER_EMAIL: &str = "mia@example.com";
const OTHER_MEMBER_EMAIL: &str = "max@example.com";
const DISABLED_EMAIL: &str = "dana@example.com";
const OUTSIDER_EMAIL: &str = "oscar@globex.example";
const OUTSIDER_PASSWORD: &str = "oscar password 123";
const NOBODY_HERE: &str = "Nobody in your organization has this email address.";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Owner,
    Admin,
    Member,
    OtherMember,
    Disabled,
    SignedOut,
    Outsider,
}

use Caller::{Admin, Disabled, Member, OtherMember, Outsider, Owner, SignedOut};

/// The columns of every matrix, in this order.
const CALLERS: [Caller; 7] = [
    Owner,
    Admin,
    Member,
    OtherMember,
    Disabled,
    SignedOut,
    Outsider,
];

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner => "owner (not on the app's allowed list)",
            Admin => "admin (allowed on the app, named in its policy)",
            Member => "member (allowed on the app, owns the personal credential, holds svc_lent)",
            OtherMember => "other member (not allowed, no credential)",
            Disabled => "disabled admin (signed in before the disable)",
            SignedOut => "signed-out visitor",
            Outsider => "owner of another organization",
        })
    }
}

/// What one caller gets from one route.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// 200.
    Ok,
    /// 303 to exactly this location.
    Redirect(String),
    /// Allowed, and it changes things: exercised after the refusals, on throwaway objects
    /// where it destroys (POST matrix only).
    Allowed,
    /// 422: may try, but the form is refused (and nothing changes).
    Unprocessable,
    /// 403.
    Forbidden,
    /// 409: may, but not now (someone holds the account, or it is not in the needed state).
    Conflict,
    /// 404: the object is not in the caller's organization.
    NotFound,
    /// 303 to the sign-in page: `/login?next=PATH` for a signed-out GET, `/login` otherwise.
    SignIn,
}

const OK: Outcome = Outcome::Ok;
const AL: Outcome = Outcome::Allowed;
const UN: Outcome = Outcome::Unprocessable;
const NO: Outcome = Outcome::Forbidden;
const CF: Outcome = Outcome::Conflict;
const NF: Outcome = Outcome::NotFound;
const IN: Outcome = Outcome::SignIn;

/// "got 403 Not allowed", for assertion messages.
fn seen(page: &Page) -> String {
    let title = page
        .body
        .split("<title>")
        .nth(1)
        .and_then(|rest| rest.split("</title>").next())
        .unwrap_or("")
        .trim();
    match &page.location {
        Some(location) => format!("got {} → {location} {title}", page.status),
        None => format!("got {} {title}", page.status),
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A complete, valid Create/Edit target form (the values `TestApp::create_target` uses).
fn target_form(name: &str, description: &str) -> Vec<(String, String)> {
    owned(&[
        ("name", name),
        ("address", "db.example.com:5432"),
        ("description", description),
        ("connector", "vault"),
        ("checkout_type", "exclusive"),
        ("exclusive_minutes", "60"),
        ("policy_length", "20"),
        ("policy_lower", "on"),
        ("policy_lower_min", "1"),
        ("policy_upper", "on"),
        ("policy_upper_min", "1"),
        ("policy_digits", "on"),
        ("policy_digits_min", "1"),
        ("policy_symbols", "on"),
        ("policy_symbols_min", "1"),
        ("policy_excluded", ""),
    ])
}

/// A complete, valid account form. `kind` only on Create; `password` `None` keeps it (Edit).
fn account_form(
    kind: Option<&str>,
    username: &str,
    password: Option<&str>,
    notes: &str,
) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    if let Some(kind) = kind {
        fields.push(("kind", kind));
    }
    fields.push(("username", username));
    match password {
        Some(password) => fields.extend([
            ("password_mode", "type"),
            ("password", password),
            ("password_confirm", password),
        ]),
        None => fields.push(("password_mode", "keep")),
    }
    fields.extend([
        ("notes", notes),
        ("auto_reset", "on"),
        ("admin_access", "on"),
    ]);
    owned(&fields)
}

/// Everything of one organization that the apps area could change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    #[allow(clippy::type_complexity)]
    targets: Vec<(
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        i32,
        String,
        chrono::NaiveDateTime,
    )>,
    #[allow(clippy::type_complexity)]
    accounts: Vec<(
        i64,
        i64,
        String,
        Vec<u8>,
        String,
        bool,
        Option<i64>,
        bool,
        chrono::NaiveDateTime,
        String,
        Option<Vec<u8>>,
        Option<i64>,
    )>,
    allowed_people: Vec<(i64, i64)>,
    policy_admins: Vec<(i64, i64)>,
    people: Vec<(i64, String, String, bool)>,
    /// Every check-out, active or ended: (id, account, holder, ended at, how it ended).
    #[allow(clippy::type_complexity)]
    checkouts: Vec<(i64, i64, i64, Option<chrono::NaiveDateTime>, Option<String>)>,
    allow_force_checkin: bool,
    notifications: i64,
    audit_events: i64,
}

fn snapshot(app: &TestApp, organization: i64) -> Snapshot {
    let mut conn = app.db();
    Snapshot {
        targets: targets::table
            .filter(targets::organization_id.eq(organization))
            .order(targets::id)
            .select((
                targets::id,
                targets::name,
                targets::address,
                targets::description,
                targets::connector,
                targets::connector_settings,
                targets::checkout_type,
                targets::exclusive_minutes,
                targets::password_policy,
                targets::updated_at,
            ))
            .load(&mut conn)
            .unwrap(),
        accounts: accounts::table
            .filter(accounts::organization_id.eq(organization))
            .order(accounts::id)
            .select((
                accounts::id,
                accounts::target_id,
                accounts::username,
                accounts::secret,
                accounts::notes,
                accounts::auto_reset,
                accounts::owner_user_id,
                accounts::admin_access,
                accounts::updated_at,
                accounts::state,
                accounts::pending_secret,
                accounts::exclusive_checkout_id,
            ))
            .load(&mut conn)
            .unwrap(),
        allowed_people: target_users::table
            .inner_join(targets::table.on(targets::id.eq(target_users::target_id)))
            .filter(targets::organization_id.eq(organization))
            .order((target_users::target_id, target_users::user_id))
            .select((target_users::target_id, target_users::user_id))
            .load(&mut conn)
            .unwrap(),
        policy_admins: target_policy_admins::table
            .inner_join(targets::table.on(targets::id.eq(target_policy_admins::target_id)))
            .filter(targets::organization_id.eq(organization))
            .order((
                target_policy_admins::target_id,
                target_policy_admins::user_id,
            ))
            .select((
                target_policy_admins::target_id,
                target_policy_admins::user_id,
            ))
            .load(&mut conn)
            .unwrap(),
        people: users::table
            .filter(users::organization_id.eq(organization))
            .order(users::id)
            .select((users::id, users::email, users::role, users::disabled))
            .load(&mut conn)
            .unwrap(),
        checkouts: checkouts::table
            .filter(checkouts::organization_id.eq(organization))
            .order(checkouts::id)
            .select((
                checkouts::id,
                checkouts::account_id,
                checkouts::user_id,
                checkouts::ended_at,
                checkouts::end_reason,
            ))
            .load(&mut conn)
            .unwrap(),
        allow_force_checkin: organizations::table
            .find(organization)
            .select(organizations::allow_force_checkin)
            .first(&mut conn)
            .unwrap(),
        notifications: notifications::table
            .filter(notifications::organization_id.eq(organization))
            .count()
            .get_result(&mut conn)
            .unwrap(),
        audit_events: audit_events::table
            .filter(audit_events::organization_id.eq(organization))
            .count()
            .get_result(&mut conn)
            .unwrap(),
    }
}

/// The session a person had when they were disabled. Disabling deletes a person's sessions,
/// so on its own a disabled person's cookie is just a signed-out one; putting the session row
/// back before each request proves the second line of defence too: a live session of a
/// disabled person opens nothing (and is ended on the spot).
struct FrozenSession {
    browser: Browser,
    jar: Arc<reqwest::cookie::Jar>,
    cookie: String,
    row: SessionRow,
}

impl FrozenSession {
    fn thaw(&self, app: &TestApp) {
        let mut conn = app.db();
        SessionRow::delete(&mut conn, &self.row.id).unwrap();
        SessionRow::insert(
            &mut conn,
            &self.row.id,
            self.row.user_id,
            &self.row.state,
            self.row.created_at,
            self.row.expires_at,
        )
        .unwrap();
        let url: reqwest::Url = self.browser.base.parse().unwrap();
        self.jar.add_cookie_str(
            &format!("keyholder={}; Path=/; HttpOnly; SameSite=Lax", self.cookie),
            &url,
        );
    }

    #[track_caller]
    fn assert_ended(&self, app: &TestApp, what: &str) {
        let mut conn = app.db();
        assert!(
            SessionRow::find(&mut conn, &self.row.id).unwrap().is_none(),
            "{what}: the disabled person's session was not ended"
        );
    }
}

/// Our organization (Acme Corp, from the web setup) with one app, two shared accounts (one free,
/// one that the member holds exclusively) and a member's personal credential; every kind of
/// caller with a signed-in browser and its own CSRF token; and another organization (Globex)
/// created through the library.
struct World {
    app: TestApp,
    organization: i64,
    owner: Browser,
    admin: Browser,
    member: Browser,
    other_member: Browser,
    outsider: Browser,
    signed_out: Browser,
    disabled: FrozenSession,
    tokens: BTreeMap<Caller, String>,
    target: i64,
    shared: i64,
    personal: i64,
    /// The shared account the member holds exclusively, and that check-out.
    lent: i64,
    checkout: i64,
    admin_id: i64,
    member_id: i64,
    other_member_id: i64,
    outsider_id: i64,
}

/// Globex and its owner, straight through the library (the web setup makes one organization).
fn insert_other_organization(app: &TestApp) -> i64 {
    let mut conn = app.db();
    let now = app.clock.now_naive();
    let organization =
        Organization::insert(&mut conn, &OrganizationName::parse("Globex").unwrap(), now).unwrap();
    let hash = hash_password_blocking(OUTSIDER_PASSWORD).unwrap();
    let user = User::insert(
        &mut conn,
        NewUser {
            organization_id: organization.id,
            email: &EmailAddress::parse(OUTSIDER_EMAIL).unwrap(),
            name: &PersonName::parse("Oscar Outsider").unwrap(),
            role: Role::Owner,
            password_hash: &hash,
        },
        now,
    )
    .unwrap();
    user.id.0
}

impl World {
    async fn build(engine: &Engine) -> World {
        let app = spawn_app(engine).await;
        let owner = app.set_up().await;
        let target = app.create_target(&owner, APP_NAME, &[]).await;
        let (admin, admin_id) = app
            .user_browser(&owner, "Adam Admin", ADMIN_EMAIL, "admin")
            .await;
        let (member, member_id) = app
            .user_browser(&owner, "Mia Member", MEMBER_EMAIL, "member")
            .await;
        let (other_member, other_member_id) = app
            .user_browser(&owner, "Max Member", OTHER_MEMBER_EMAIL, "member")
            .await;
        let disabled_id = app
            .add_user(
                &owner,
                "Dana Disabled",
                DISABLED_EMAIL,
                "admin",
                USER_PASSWORD,
            )
            .await;
        for email in [ADMIN_EMAIL, MEMBER_EMAIL, DISABLED_EMAIL] {
            app.allow(&owner, target, email).await;
        }
        let shared = app
            .create_shared_account(&owner, target, SHARED_USERNAME, SHARED_PASSWORD)
            .await;
        let lent = app
            .create_shared_account(&owner, target, LENT_USERNAME, LENT_PASSWORD)
            .await;
        let page = member.check_out(lent).await;
        assert_eq!(
            revealed_password(&page.body).as_deref(),
            Some(LENT_PASSWORD),
            "the member checks the lent account out: {}",
            seen(&page)
        );
        let checkout = checkout_id_in(&page.body).expect("the member's check-out");
        let fields = account_form(
            Some("personal"),
            PERSONAL_USERNAME,
            Some(PERSONAL_PASSWORD),
            "",
        );
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        member
            .submit(
                &format!("/apps/{target}/accounts/new?kind=personal"),
                &format!("/apps/{target}/accounts/new"),
                &fields,
            )
            .await
            .assert_redirects_to(&format!("/apps/{target}"));

        let (organization, personal) = {
            let mut conn = app.db();
            // The admin is named in the app's policy (no page edits the policy yet).
            diesel::insert_into(target_policy_admins::table)
                .values((
                    target_policy_admins::target_id.eq(target),
                    target_policy_admins::user_id.eq(admin_id),
                ))
                .execute(&mut conn)
                .unwrap();
            let personal = Account::personal_of(&mut conn, TargetId(target), UserId(member_id))
                .unwrap()
                .expect("the member's credential");
            assert!(personal.is_managed(), "the personal credential is Managed");
            let organization: i64 = users::table
                .filter(users::email.eq(OWNER_EMAIL))
                .select(users::organization_id)
                .first(&mut conn)
                .unwrap();
            (organization, personal.id.0)
        };

        let outsider_id = insert_other_organization(&app);
        let outsider = app.browser();
        outsider
            .sign_in(OUTSIDER_EMAIL, OUTSIDER_PASSWORD)
            .await
            .assert_redirects_to("/");

        // Dana signs in and works; then the owner disables her through the Users page.
        let (dana, jar) = app.browser_with_jar();
        dana.sign_in(DISABLED_EMAIL, USER_PASSWORD)
            .await
            .assert_redirects_to("/");
        let dana_token = dana.get("/").await.csrf();
        assert_eq!(
            dana.get(&format!("/apps/{target}/accounts")).await.status,
            StatusCode::OK,
            "the admin to be disabled works before"
        );
        let cookie = dana.session_cookie(&jar).expect("a session cookie");
        let row = {
            let mut conn = app.db();
            let mut rows: Vec<SessionRow> = sessions::table
                .filter(sessions::user_id.eq(disabled_id))
                .select(SessionRow::as_select())
                .load(&mut conn)
                .unwrap();
            assert_eq!(rows.len(), 1, "one session of the person to disable");
            rows.remove(0)
        };
        owner
            .submit(
                &format!("/users/{disabled_id}"),
                &format!("/users/{disabled_id}/disable"),
                &[],
            )
            .await
            .assert_redirects_to(&format!("/users/{disabled_id}"));
        let disabled = FrozenSession {
            browser: dana,
            jar,
            cookie,
            row,
        };
        disabled.assert_ended(&app, "disabling through the Users page");
        // Without its session row the old cookie is simply signed out.
        disabled
            .browser
            .get("/apps")
            .await
            .assert_redirects_to("/login?next=");

        let signed_out = app.browser();
        let mut tokens = BTreeMap::new();
        tokens.insert(SignedOut, signed_out.get("/login").await.csrf());
        tokens.insert(Disabled, dana_token);
        for (caller, browser) in [
            (Owner, &owner),
            (Admin, &admin),
            (Member, &member),
            (OtherMember, &other_member),
            (Outsider, &outsider),
        ] {
            tokens.insert(caller, browser.get("/").await.csrf());
        }

        World {
            app,
            organization,
            owner,
            admin,
            member,
            other_member,
            outsider,
            signed_out,
            disabled,
            tokens,
            target,
            shared,
            personal,
            lent,
            checkout,
            admin_id,
            member_id,
            other_member_id,
            outsider_id,
        }
    }

    fn browser(&self, caller: Caller) -> &Browser {
        match caller {
            Owner => &self.owner,
            Admin => &self.admin,
            Member => &self.member,
            OtherMember => &self.other_member,
            Disabled => &self.disabled.browser,
            SignedOut => &self.signed_out,
            Outsider => &self.outsider,
        }
    }

    fn snapshot(&self) -> Snapshot {
        snapshot(&self.app, self.organization)
    }

    async fn get(&self, caller: Caller, path: &str) -> Page {
        if caller == Disabled {
            self.disabled.thaw(&self.app);
        }
        self.browser(caller).get(path).await
    }

    /// Posts `fields` with the caller's own CSRF token.
    async fn post(&self, caller: Caller, path: &str, fields: &[(String, String)]) -> Page {
        self.post_with(caller, path, fields, true).await
    }

    async fn post_with(
        &self,
        caller: Caller,
        path: &str,
        fields: &[(String, String)],
        with_token: bool,
    ) -> Page {
        if caller == Disabled {
            self.disabled.thaw(&self.app);
        }
        let mut all: Vec<(&str, &str)> = Vec::new();
        if with_token {
            all.push(("csrf_token", self.tokens[&caller].as_str()));
        }
        all.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.browser(caller).post(path, &all).await
    }

    /// Asserts one cell of a matrix, and that no refused or unrelated response shows a
    /// password or, to the outsider, anything of ours.
    #[track_caller]
    fn check(&self, caller: Caller, method: &str, path: &str, expected: &Outcome, page: &Page) {
        let what = format!("{caller} {method} {path}");
        let status = match expected {
            Outcome::Ok => StatusCode::OK,
            Outcome::Redirect(_) | Outcome::SignIn => StatusCode::SEE_OTHER,
            Outcome::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Outcome::Forbidden => StatusCode::FORBIDDEN,
            Outcome::Conflict => StatusCode::CONFLICT,
            Outcome::NotFound => StatusCode::NOT_FOUND,
            Outcome::Allowed => panic!("{what}: allowed cells are checked one by one"),
        };
        assert_eq!(
            page.status,
            status,
            "{what}: expected {expected:?}, {}",
            seen(page)
        );
        let location = page.location.as_deref().unwrap_or("");
        match expected {
            Outcome::Redirect(to) => assert_eq!(location, to, "{what}"),
            Outcome::SignIn if caller == SignedOut && method == "GET" => {
                let url = url::Url::parse(&format!("http://localhost{location}")).unwrap();
                assert_eq!(url.path(), "/login", "{what}: {}", seen(page));
                let next = url
                    .query_pairs()
                    .find(|(key, _)| key == "next")
                    .map(|(_, value)| value.into_owned());
                assert_eq!(next.as_deref(), Some(path), "{what}: signing in leads back");
            }
            Outcome::SignIn => assert_eq!(location, "/login", "{what}: {}", seen(page)),
            _ => {}
        }
        if caller == Disabled {
            self.disabled.assert_ended(&self.app, &what);
        }
        for secret in [SHARED_PASSWORD, PERSONAL_PASSWORD, LENT_PASSWORD] {
            assert!(
                !page.body.contains(secret),
                "{what}: the response shows a password"
            );
        }
        if caller == Outsider {
            for ours in [
                APP_NAME,
                SHARED_USERNAME,
                PERSONAL_USERNAME,
                LENT_USERNAME,
                OWNER_EMAIL,
                "Acme Corp",
                "Mia Member",
            ] {
                assert!(
                    !page.body.contains(ours),
                    "{what}: shows {ours:?} of another organization"
                );
            }
        }
    }

    /// The people allowed on our app, by id.
    fn allowed_on_target(&self) -> Vec<i64> {
        self.snapshot()
            .allowed_people
            .into_iter()
            .filter(|(target, _)| *target == self.target)
            .map(|(_, user)| user)
            .collect()
    }

    /// The id of our account `username` (personal: of `owner`).
    fn account_id(&self, username: &str, owner: Option<i64>) -> Option<i64> {
        self.snapshot()
            .accounts
            .into_iter()
            .find(|a| a.1 == self.target && a.2 == username && a.6 == owner)
            .map(|a| a.0)
    }

    /// The state of our account `id` ("available", "resetting", "out_of_sync").
    fn account_state(&self, id: i64) -> String {
        self.snapshot()
            .accounts
            .into_iter()
            .find(|a| a.0 == id)
            .map(|a| a.9)
            .unwrap_or_else(|| panic!("account {id} is gone"))
    }

    /// Waits until the password reset started by a check-in has finished (the job runs in the
    /// background, within a poll interval).
    async fn settled(&self, id: i64) {
        for _ in 0..400 {
            match self.account_state(id).as_str() {
                "available" => return,
                "resetting" => tokio::time::sleep(Duration::from_millis(50)).await,
                other => panic!("account {id}: the reset ended {other}"),
            }
        }
        panic!("account {id}: the reset did not finish within 20 seconds");
    }

    /// The owner turns the organization setting "Allow force check-in" on or off.
    async fn allow_force_checkin(&self, on: bool) -> Page {
        let fields = if on { force_on() } else { Vec::new() };
        self.post(Owner, "/organization", &fields).await
    }
}

/// The organization settings form with "Allow force check-in" ticked.
fn force_on() -> Vec<(String, String)> {
    owned(&[("allow_force_checkin", "on")])
}

async fn every_page_opens_only_for_whom_it_is_meant(engine: Engine) {
    let w = World::build(&engine).await;
    let before = w.snapshot();
    let (t, s, p, l) = (w.target, w.shared, w.personal, w.lent);
    let own_edit = Outcome::Redirect(format!("/accounts/{p}/edit"));
    // The member holds the lent account exclusively: it, and so its app, cannot be deleted, and
    // nobody else edits it. Nothing is out of sync, so there is nothing to repair.
    #[rustfmt::skip]
    let matrix: Vec<(String, [Outcome; 7])> = vec![
        //                                                owner admin member other disabled out outsider
        ("/apps".into(),                                  [OK, OK, OK, OK, IN, IN, OK]),
        ("/apps/new".into(),                              [OK, OK, NO, NO, IN, IN, OK]),
        (format!("/apps/{t}"),                            [OK, OK, OK, OK, IN, IN, NF]),
        (format!("/apps/{t}/accounts"),                   [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/apps/{t}/credentials"),                [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/apps/{t}/settings"),                   [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/apps/{t}/delete"),                     [CF, CF, NO, NO, IN, IN, NF]),
        (format!("/apps/{t}/accounts/new?kind=shared"),   [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/apps/{t}/accounts/new?kind=personal"), [OK, OK, own_edit, OK, IN, IN, NF]),
        (format!("/accounts/{s}/edit"),                   [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/accounts/{s}/delete"),                 [OK, OK, NO, NO, IN, IN, NF]),
        (format!("/accounts/{s}/real-password"),          [CF, CF, NO, NO, IN, IN, NF]),
        (format!("/accounts/{l}/edit"),                   [CF, CF, NO, NO, IN, IN, NF]),
        (format!("/accounts/{l}/delete"),                 [CF, CF, NO, NO, IN, IN, NF]),
        (format!("/accounts/{p}/edit"),                   [NO, NO, OK, NO, IN, IN, NF]),
        (format!("/accounts/{p}/delete"),                 [NO, NO, OK, NO, IN, IN, NF]),
        ("/organization".into(),                          [OK, NO, NO, NO, IN, IN, OK]),
        ("/audit".into(),                                 [OK, OK, NO, NO, IN, IN, OK]),
        (format!("/audit?app={t}"),                       [OK, OK, NO, NO, IN, IN, OK]),
    ];
    for (path, row) in &matrix {
        for (caller, expected) in CALLERS.into_iter().zip(row) {
            let page = w.get(caller, path).await;
            w.check(caller, "GET", path, expected, &page);
        }
        assert_eq!(w.snapshot(), before, "GET {path} changed something");
    }

    // What the allowed see is what they should: the app for everyone of the organization, its
    // shared accounts only for the allowed and the admins.
    let overview = format!("/apps/{t}");
    w.get(Member, &overview)
        .await
        .assert_contains(SHARED_USERNAME);
    let page = w.get(OtherMember, &overview).await;
    page.assert_contains("You are not among the people allowed");
    assert!(
        !page.body.contains(SHARED_USERNAME),
        "{OtherMember} GET {overview}: lists the shared accounts"
    );
    w.get(Owner, "/apps").await.assert_contains(APP_NAME);
    w.get(OtherMember, "/apps").await.assert_contains(APP_NAME);

    // The refusals while the member holds the lent account name her.
    for caller in [Owner, Admin] {
        for path in [
            format!("/accounts/{l}/edit"),
            format!("/accounts/{l}/delete"),
        ] {
            w.get(caller, &path).await.assert_contains("Mia Member");
        }
    }
    // Once she checks it in (and its password is reset), the pages open for the admins again.
    w.member
        .check_in(w.checkout)
        .await
        .assert_redirects_to(&format!("/apps/{t}"));
    w.settled(l).await;
    for caller in [Owner, Admin] {
        for path in [
            format!("/apps/{t}/delete"),
            format!("/accounts/{l}/edit"),
            format!("/accounts/{l}/delete"),
        ] {
            let page = w.get(caller, &path).await;
            w.check(caller, "GET", &path, &OK, &page);
        }
    }
}

/// One form of the POST matrix: a complete, valid form, so only authorization can stop it.
struct PostRow {
    label: &'static str,
    path: String,
    fields: Vec<(String, String)>,
    expect: [Outcome; 7],
    /// The organization setting "Allow force check-in" while the row's refusals are tried.
    force_checkin: bool,
}

/// The allowed cells of the POST matrix, ticked off as they are exercised.
#[derive(Default)]
struct Ledger(BTreeSet<(&'static str, Caller)>);

impl Ledger {
    #[track_caller]
    fn redirect(&mut self, label: &'static str, caller: Caller, page: &Page, to: &str) {
        self.0.insert((label, caller));
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{caller} {label} is allowed: {}",
            seen(page)
        );
        let location = page.location.as_deref().unwrap_or("");
        assert!(
            location.starts_with(to),
            "{caller} {label}: redirected to {location:?}, expected {to:?}"
        );
    }

    /// A page that shows a password (Reveal, or Check out); returns the password.
    #[track_caller]
    fn shown(&mut self, label: &'static str, caller: Caller, page: &Page) -> String {
        self.0.insert((label, caller));
        assert_eq!(
            page.status,
            StatusCode::OK,
            "{caller} {label} is allowed: {}",
            seen(page)
        );
        revealed_password(&page.body)
            .unwrap_or_else(|| panic!("{caller} {label}: no password shown: {}", seen(page)))
    }

    #[track_caller]
    fn reveal(&mut self, label: &'static str, caller: Caller, page: &Page, password: &str) {
        let shown = self.shown(label, caller, page);
        assert_eq!(shown, password, "{caller} {label}: the password shown");
    }
}

/// The new target's id from `/apps/ID/accounts`.
fn created_target(page: &Page) -> i64 {
    page.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/apps/"))
        .and_then(|l| l.strip_suffix("/accounts"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a new target's id: {}", seen(page)))
}

async fn every_form_works_only_for_whom_it_is_meant(engine: Engine) {
    let w = World::build(&engine).await;
    let before = w.snapshot();
    let (t, s, p, l, c) = (w.target, w.shared, w.personal, w.lent, w.checkout);
    let none = Vec::new;
    let max = owned(&[("email", OTHER_MEMBER_EMAIL)]);
    let hijack_shared = account_form(
        Some("shared"),
        "backdoor",
        Some(HIJACKED_PASSWORD),
        "hijacked",
    );
    let hijack_personal = account_form(
        Some("personal"),
        "intruder@matrix",
        Some(HIJACKED_PASSWORD),
        "hijacked",
    );
    let rewrite =
        |username: &str| account_form(None, username, Some(HIJACKED_PASSWORD), "hijacked");
    let real_password = owned(&[
        ("password", HIJACKED_PASSWORD),
        ("password_confirm", HIJACKED_PASSWORD),
    ]);
    let row = |label, path: String, fields, expect| PostRow {
        label,
        path,
        fields,
        expect,
        force_checkin: false,
    };
    #[rustfmt::skip]
    let matrix = vec![
        //                                                                                      owner admin member other disabled out outsider
        row("POST /apps/new", "/apps/new".into(), target_form("Hijacked app", "x"),             [AL, AL, NO, NO, IN, IN, AL]),
        row("POST /apps/{id}/people", format!("/apps/{t}/people"), max.clone(),                     [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/people/{user}/remove",
            format!("/apps/{t}/people/{}/remove", w.member_id), none(),                          [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/settings", format!("/apps/{t}/settings"),
            target_form("Hijacked", "hijacked"),                                                 [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/delete", format!("/apps/{t}/delete"), none(),                       [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/delete with an account checked out",
            format!("/apps/{t}/delete"), none(),                                                 [CF, CF, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/accounts/new kind=shared",
            format!("/apps/{t}/accounts/new"), hijack_shared,                                    [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /apps/{id}/accounts/new kind=personal",
            format!("/apps/{t}/accounts/new"), hijack_personal,                                  [AL, AL, UN, AL, IN, IN, NF]),
        row("POST /accounts/{shared}/edit", format!("/accounts/{s}/edit"),
            rewrite(SHARED_USERNAME),                                                            [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /accounts/{shared}/checkout", format!("/accounts/{s}/checkout"), none(),       [NO, AL, AL, NO, IN, IN, NF]),
        row("POST /accounts/{shared}/reveal", format!("/accounts/{s}/reveal"), none(),           [NO, NO, NO, NO, IN, IN, NF]),
        row("POST /accounts/{shared}/delete", format!("/accounts/{s}/delete"), none(),           [AL, AL, NO, NO, IN, IN, NF]),
        row("POST /accounts/{shared}/retry-reset",
            format!("/accounts/{s}/retry-reset"), none(),                                        [CF, CF, NO, NO, IN, IN, NF]),
        row("POST /accounts/{shared}/real-password",
            format!("/accounts/{s}/real-password"), real_password,                               [CF, CF, NO, NO, IN, IN, NF]),
        row("POST /accounts/{lent}/edit", format!("/accounts/{l}/edit"),
            rewrite(LENT_USERNAME),                                                              [CF, CF, NO, NO, IN, IN, NF]),
        row("POST /accounts/{lent}/checkout", format!("/accounts/{l}/checkout"), none(),         [NO, CF, CF, NO, IN, IN, NF]),
        row("POST /accounts/{lent}/reveal", format!("/accounts/{l}/reveal"), none(),             [NO, NO, AL, NO, IN, IN, NF]),
        row("POST /accounts/{lent}/delete", format!("/accounts/{l}/delete"), none(),             [CF, CF, NO, NO, IN, IN, NF]),
        row("POST /accounts/{personal}/edit", format!("/accounts/{p}/edit"),
            rewrite(PERSONAL_USERNAME),                                                          [NO, NO, AL, NO, IN, IN, NF]),
        row("POST /accounts/{personal}/checkout", format!("/accounts/{p}/checkout"), none(),     [CF, CF, CF, CF, IN, IN, NF]),
        row("POST /accounts/{personal}/reveal", format!("/accounts/{p}/reveal"), none(),         [NO, AL, AL, NO, IN, IN, NF]),
        row("POST /accounts/{personal}/delete", format!("/accounts/{p}/delete"), none(),         [NO, NO, AL, NO, IN, IN, NF]),
        row("POST /checkouts/{id}/checkin", format!("/checkouts/{c}/checkin"), none(),           [NO, NO, AL, NO, IN, IN, NF]),
        row("POST /checkouts/{id}/force, force check-in off",
            format!("/checkouts/{c}/force"), none(),                                             [NO, NO, NO, NO, IN, IN, NF]),
        row("POST /organization", "/organization".into(), force_on(),                            [AL, NO, NO, NO, IN, IN, AL]),
        PostRow { force_checkin: true, ..row("POST /checkouts/{id}/force, force check-in on",
            format!("/checkouts/{c}/force"), none(),                                             [AL, NO, NO, NO, IN, IN, NF]) },
    ];

    // 1. Every refusal, each followed by a look at the database: nothing changed.
    let mut before = before;
    for row in &matrix {
        if row.force_checkin != before.allow_force_checkin {
            w.allow_force_checkin(row.force_checkin)
                .await
                .assert_redirects_to("/organization");
            before = w.snapshot();
            assert_eq!(before.allow_force_checkin, row.force_checkin);
        }
        for (caller, expected) in CALLERS.into_iter().zip(&row.expect) {
            if *expected == AL {
                continue;
            }
            let page = w.post(caller, &row.path, &row.fields).await;
            w.check(caller, "POST", &row.path, expected, &page);
            if *expected == CF
                && row.path.starts_with(&format!("/accounts/{l}/"))
                && caller != Member
            {
                // The refusal names who holds the lent account.
                page.assert_contains("Mia Member");
            }
            assert_eq!(
                w.snapshot(),
                before,
                "{caller} POST {}: changed something",
                row.path
            );
            if caller == SignedOut {
                // And without the token of the sign-in page: refused before any handler.
                let page = w.post_with(caller, &row.path, &row.fields, false).await;
                assert_eq!(
                    page.status,
                    StatusCode::FORBIDDEN,
                    "{caller} POST {} without a CSRF token: {}",
                    row.path,
                    seen(&page)
                );
                assert_eq!(
                    w.snapshot(),
                    before,
                    "{caller} POST {} without a CSRF token: changed something",
                    row.path
                );
            }
        }
    }

    // Seen through the web by those allowed to look: all as it was.
    let settings = w.get(Owner, &format!("/apps/{t}/settings")).await;
    settings.assert_contains(&format!("value=\"{APP_NAME}\""));
    settings.assert_contains("A test system");
    let tab = w.get(Admin, &format!("/apps/{t}/accounts")).await;
    for name in ["Adam Admin", "Mia Member", "Dana Disabled"] {
        tab.assert_contains(name);
    }
    assert!(!tab.body.contains("Max Member"), "people list changed");
    assert!(!tab.body.contains("backdoor"), "an extra shared account");
    assert_eq!(
        w.get(Owner, "/apps")
            .await
            .body
            .matches("<td><a href=\"/apps/")
            .count(),
        1,
        "an extra app in the list"
    );

    // 2. Every allowed cell, on throwaway objects where it destroys.
    let mut ledger = Ledger::default();

    let label = "POST /apps/new";
    let mut scratch = Vec::new();
    for (caller, name) in [(Owner, "Owner scratch"), (Admin, "Admin scratch")] {
        let page = w.post(caller, "/apps/new", &target_form(name, "x")).await;
        ledger.redirect(label, caller, &page, "/apps/");
        scratch.push((caller, created_target(&page)));
    }
    let page = w
        .post(Outsider, "/apps/new", &target_form("Globex scratch", "x"))
        .await;
    ledger.redirect(label, Outsider, &page, "/apps/");
    let theirs = created_target(&page);
    w.get(Outsider, "/apps")
        .await
        .assert_contains("Globex scratch");
    assert!(
        !w.get(Owner, "/apps").await.body.contains("Globex scratch"),
        "the outsider's app is in our list"
    );
    let ours: Vec<i64> = w.snapshot().targets.iter().map(|t| t.0).collect();
    assert_eq!(ours.len(), 3, "our apps: {ours:?}");
    assert!(
        !ours.contains(&theirs),
        "the outsider created in our organization"
    );

    let (add, remove) = (
        "POST /apps/{id}/people",
        "POST /apps/{id}/people/{user}/remove",
    );
    let people = format!("/apps/{t}/people");
    let remove_max = format!("/apps/{t}/people/{}/remove", w.other_member_id);
    let tab = format!("/apps/{t}/accounts");
    for (adder, remover) in [(Owner, Admin), (Admin, Owner)] {
        let page = w.post(adder, &people, &max).await;
        ledger.redirect(add, adder, &page, &tab);
        assert!(w.allowed_on_target().contains(&w.other_member_id));
        let page = w.post(remover, &remove_max, &[]).await;
        ledger.redirect(remove, remover, &page, &tab);
        assert!(!w.allowed_on_target().contains(&w.other_member_id));
    }

    let label = "POST /apps/{id}/settings";
    for (caller, description) in [
        (Owner, "Described by the owner"),
        (Admin, "Described by the admin"),
    ] {
        let page = w
            .post(
                caller,
                &format!("/apps/{t}/settings"),
                &target_form(APP_NAME, description),
            )
            .await;
        ledger.redirect(label, caller, &page, &format!("/apps/{t}"));
        w.get(Member, &format!("/apps/{t}"))
            .await
            .assert_contains(description);
    }

    let label = "POST /apps/{id}/accounts/new kind=shared";
    let mut throwaway = Vec::new();
    for (caller, username) in [(Owner, "svc_owner"), (Admin, "svc_admin")] {
        let fields = account_form(Some("shared"), username, Some("Throwaway-Pa55!"), "");
        let page = w
            .post(caller, &format!("/apps/{t}/accounts/new"), &fields)
            .await;
        ledger.redirect(label, caller, &page, &tab);
        let id = w
            .account_id(username, None)
            .expect("the new shared account");
        throwaway.push((caller, id));
    }

    let label = "POST /apps/{id}/accounts/new kind=personal";
    for (caller, username, id) in [
        (Owner, "olivia@matrix", None),
        (Admin, "adam@matrix", Some(w.admin_id)),
        (OtherMember, "max@matrix", Some(w.other_member_id)),
    ] {
        let fields = account_form(Some("personal"), username, Some("Own-Pa55word!"), "");
        let page = w
            .post(caller, &format!("/apps/{t}/accounts/new"), &fields)
            .await;
        ledger.redirect(label, caller, &page, &format!("/apps/{t}"));
        if let Some(id) = id {
            assert!(
                w.account_id(username, Some(id)).is_some(),
                "{caller} {label}: the credential is theirs"
            );
        }
    }

    let label = "POST /accounts/{shared}/edit";
    for (caller, notes) in [
        (Owner, "Checked by the owner"),
        (Admin, "Checked by the admin"),
    ] {
        let page = w
            .post(
                caller,
                &format!("/accounts/{s}/edit"),
                &account_form(None, SHARED_USERNAME, None, notes),
            )
            .await;
        ledger.redirect(label, caller, &page, &tab);
        w.get(Admin, &tab).await.assert_contains(notes);
    }

    let label = "POST /accounts/{personal}/edit";
    let page = w
        .post(
            Member,
            &format!("/accounts/{p}/edit"),
            &account_form(None, PERSONAL_USERNAME, None, "Mine"),
        )
        .await;
    ledger.redirect(label, Member, &page, &format!("/apps/{t}"));

    // The passwords survived everything above: the personal one, seen by its owner and by the
    // admin named in the policy; the lent one, seen by its holder.
    for caller in [Admin, Member] {
        let page = w.post(caller, &format!("/accounts/{p}/reveal"), &[]).await;
        ledger.reveal(
            "POST /accounts/{personal}/reveal",
            caller,
            &page,
            PERSONAL_PASSWORD,
        );
    }
    let page = w.post(Member, &format!("/accounts/{l}/reveal"), &[]).await;
    ledger.reveal("POST /accounts/{lent}/reveal", Member, &page, LENT_PASSWORD);

    // The holder checks the lent account in: AutoReset changes its password, so what she saw
    // is gone, and she sees it no more.
    let label = "POST /checkouts/{id}/checkin";
    let page = w
        .post(Member, &format!("/checkouts/{c}/checkin"), &[])
        .await;
    ledger.redirect(label, Member, &page, &format!("/apps/{t}"));
    w.settled(l).await;
    let path = format!("/accounts/{l}/reveal");
    let page = w.post(Member, &path, &[]).await;
    w.check(Member, "POST", &path, &NO, &page);
    let page = w.member.check_out(l).await;
    let again = revealed_password(&page.body).unwrap_or_else(|| {
        panic!(
            "{Member} checks the lent account out again: {}",
            seen(&page)
        )
    });
    assert_ne!(
        again, LENT_PASSWORD,
        "the check-in did not reset the password"
    );
    let checkout = checkout_id_in(&page.body).expect("the member's second check-out");
    w.member
        .check_in(checkout)
        .await
        .assert_redirects_to(&format!("/apps/{t}"));
    w.settled(l).await;

    // The admin checks the shared account out and is shown its password at once; meanwhile
    // nobody else checks it out, edits or deletes it, and its app stays.
    let label = "POST /accounts/{shared}/checkout";
    let page = w.post(Admin, &format!("/accounts/{s}/checkout"), &[]).await;
    ledger.reveal(label, Admin, &page, SHARED_PASSWORD);
    let admins = checkout_id_in(&page.body).expect("the admin's check-out");
    let page = w.post(Admin, &format!("/accounts/{s}/reveal"), &[]).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some(SHARED_PASSWORD),
        "{Admin} reveals what they hold: {}",
        seen(&page)
    );
    let held = w.snapshot();
    for (caller, path, fields, outcome) in [
        (Member, format!("/accounts/{s}/checkout"), none(), CF),
        (
            Owner,
            format!("/accounts/{s}/edit"),
            account_form(None, SHARED_USERNAME, None, "Edited under the admin"),
            CF,
        ),
        (Owner, format!("/accounts/{s}/delete"), none(), CF),
        (Owner, format!("/apps/{t}/delete"), none(), CF),
        (Member, format!("/checkouts/{admins}/checkin"), none(), NO),
    ] {
        let page = w.post(caller, &path, &fields).await;
        w.check(caller, "POST", &path, &outcome, &page);
        if outcome == CF && path.starts_with("/accounts/") {
            page.assert_contains("Adam Admin");
        }
        assert_eq!(
            w.snapshot(),
            held,
            "{caller} POST {path} while the admin holds the account: changed something"
        );
    }

    // Forcing the admin's check-in: refused while the organization does not allow it, done by
    // the owner once it does. Another organization's setting is its own.
    let label = "POST /organization";
    let page = w.allow_force_checkin(false).await;
    ledger.redirect(label, Owner, &page, "/organization");
    assert!(
        !w.snapshot().allow_force_checkin,
        "{Owner} {label}: still on"
    );
    let force = format!("/checkouts/{admins}/force");
    let page = w.post(Owner, &force, &[]).await;
    w.check(Owner, "POST", &force, &NO, &page);
    let page = w.post(Outsider, "/organization", &force_on()).await;
    ledger.redirect(label, Outsider, &page, "/organization");
    assert!(
        !w.snapshot().allow_force_checkin,
        "{Outsider} {label}: changed our setting"
    );
    let globex_allows: bool = {
        let mut conn = w.app.db();
        let globex: i64 = users::table
            .find(w.outsider_id)
            .select(users::organization_id)
            .first(&mut conn)
            .unwrap();
        organizations::table
            .find(globex)
            .select(organizations::allow_force_checkin)
            .first(&mut conn)
            .unwrap()
    };
    assert!(globex_allows, "{Outsider} {label}: their setting unchanged");
    let page = w.post(Outsider, &force, &[]).await;
    w.check(Outsider, "POST", &force, &NF, &page);
    let page = w.allow_force_checkin(true).await;
    ledger.redirect(label, Owner, &page, "/organization");
    assert!(
        w.snapshot().allow_force_checkin,
        "{Owner} {label}: still off"
    );
    let label = "POST /checkouts/{id}/force, force check-in on";
    let page = w.post(Owner, &force, &[]).await;
    ledger.redirect(label, Owner, &page, &tab);
    w.get(Admin, "/")
        .await
        .assert_contains("Olivia Owner ended your exclusive check-out");
    let path = format!("/accounts/{s}/reveal");
    let page = w.post(Admin, &path, &[]).await;
    w.check(Admin, "POST", &path, &NO, &page);

    // Its password was reset: the member checks it out and sees another one.
    w.settled(s).await;
    let label = "POST /accounts/{shared}/checkout";
    let page = w
        .post(Member, &format!("/accounts/{s}/checkout"), &[])
        .await;
    let shown = ledger.shown(label, Member, &page);
    assert_ne!(
        shown, SHARED_PASSWORD,
        "the forced check-in did not reset the password"
    );
    let checkout = checkout_id_in(&page.body).expect("the member's check-out");
    w.member
        .check_in(checkout)
        .await
        .assert_redirects_to(&format!("/apps/{t}"));
    w.settled(s).await;

    let label = "POST /accounts/{shared}/delete";
    for (caller, id) in throwaway {
        let page = w.post(caller, &format!("/accounts/{id}/delete"), &[]).await;
        ledger.redirect(label, caller, &page, &tab);
        assert!(
            !w.snapshot().accounts.iter().any(|a| a.0 == id),
            "{caller} {label}: still there"
        );
    }

    let label = "POST /apps/{id}/delete";
    for (caller, id) in scratch {
        let page = w.post(caller, &format!("/apps/{id}/delete"), &[]).await;
        ledger.redirect(label, caller, &page, "/apps");
        assert!(
            !w.snapshot().targets.iter().any(|t| t.0 == id),
            "{caller} {label}: still there"
        );
    }

    let label = "POST /accounts/{personal}/delete";
    let page = w.post(Member, &format!("/accounts/{p}/delete"), &[]).await;
    ledger.redirect(label, Member, &page, &format!("/apps/{t}"));
    assert!(
        w.account_id(PERSONAL_USERNAME, Some(w.member_id)).is_none(),
        "{Member} {label}: still there"
    );

    // Every allowed cell of the matrix was exercised, and nothing else was counted as one.
    let allowed: BTreeSet<(&'static str, Caller)> = matrix
        .iter()
        .flat_map(|row| {
            CALLERS
                .into_iter()
                .zip(&row.expect)
                .filter(|(_, outcome)| **outcome == AL)
                .map(|(caller, _)| (row.label, caller))
        })
        .collect();
    let missing: Vec<_> = allowed.difference(&ledger.0).collect();
    let unlisted: Vec<_> = ledger.0.difference(&allowed).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "allowed cells not exercised: {missing:?}; exercised but not allowed in the matrix: {unlisted:?}"
    );
}

async fn another_organization_neither_sees_nor_touches_ours(engine: Engine) {
    let w = World::build(&engine).await;
    // Force check-in is allowed here (and, below, in their organization too): only the boundary
    // between the organizations stops an owner from ending the other's check-outs.
    w.allow_force_checkin(true)
        .await
        .assert_redirects_to("/organization");
    let before = w.snapshot();
    let t = w.target;

    // Their lists and their audit trail hold nothing of ours, whatever they filter on.
    let list = w.get(Outsider, "/apps").await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_contains("No apps yet.");
    for path in [
        "/apps".to_string(),
        "/audit".to_string(),
        format!("/audit?app={t}"),
        format!("/audit?actor={}", w.admin_id),
        format!("/audit?actor={}&app={t}", w.member_id),
    ] {
        let page = w.get(Outsider, &path).await;
        w.check(Outsider, "GET", &path, &OK, &page);
        assert!(
            !page.body.contains("Adam Admin"),
            "{Outsider} GET {path}: shows our people"
        );
    }
    // A search for our app's name finds nothing (the page only repeats the words searched).
    let page = w.get(Outsider, "/apps?q=Matrix").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains(&format!("href=\"/apps/{t}\"")) && !page.body.contains(SHARED_USERNAME),
        "{Outsider} GET /apps?q=Matrix: finds our app"
    );

    // They may name an app like ours: names are per organization, so nothing tells them ours
    // exists.
    let page = w
        .post(
            Outsider,
            "/apps/new",
            &target_form(APP_NAME, "Globex's own"),
        )
        .await;
    page.assert_redirects_to("/apps/");
    let theirs = created_target(&page);
    assert_ne!(theirs, t);
    let their_list = w.get(Outsider, "/apps").await;
    their_list.assert_contains(&format!("href=\"/apps/{theirs}\""));
    assert!(
        !their_list.body.contains(&format!("href=\"/apps/{t}\"")),
        "{Outsider} GET /apps: lists our app"
    );
    let our_list = w.get(Owner, "/apps").await;
    our_list.assert_contains(&format!("href=\"/apps/{t}\""));
    assert!(
        !our_list.body.contains(&format!("href=\"/apps/{theirs}\"")),
        "{Owner} GET /apps: lists the other organization's app"
    );

    // Each side opens its own app's pages and gets 404 on the other's (our app's delete page
    // answers 409 instead: the member holds one of its accounts).
    for suffix in [
        "",
        "/accounts",
        "/credentials",
        "/settings",
        "/delete",
        "/accounts/new?kind=shared",
        "/accounts/new?kind=personal",
    ] {
        for (caller, own, other) in [(Outsider, theirs, t), (Owner, t, theirs)] {
            let path = format!("/apps/{own}{suffix}");
            let page = w.get(caller, &path).await;
            assert_eq!(
                page.status,
                if own == t && suffix == "/delete" {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::OK
                },
                "{caller} GET {path}: {}",
                seen(&page)
            );
            let path = format!("/apps/{other}{suffix}");
            let page = w.get(caller, &path).await;
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{caller} GET {path}: {}",
                seen(&page)
            );
        }
    }

    // People of one organization cannot be put on the other's app, and the refusal reads as
    // for an address nobody has (no way to probe who is a customer).
    for (caller, path, email) in [
        (Outsider, format!("/apps/{theirs}/people"), MEMBER_EMAIL),
        (
            Outsider,
            format!("/apps/{theirs}/people"),
            "nobody@example.com",
        ),
        (Owner, format!("/apps/{t}/people"), OUTSIDER_EMAIL),
    ] {
        let page = w.post(caller, &path, &owned(&[("email", email)])).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{caller} POST {path} email={email}: {}",
            seen(&page)
        );
        page.assert_contains(NOBODY_HERE);
    }
    // Removing someone of the other organization does nothing.
    for (caller, path) in [
        (
            Outsider,
            format!("/apps/{theirs}/people/{}/remove", w.member_id),
        ),
        (Owner, format!("/apps/{t}/people/{}/remove", w.outsider_id)),
    ] {
        let page = w.post(caller, &path, &[]).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{caller} POST {path}: {}",
            seen(&page)
        );
    }

    // Their shared account, checked out by its owner: ours cannot reach it or the check-out, as
    // they cannot reach ours.
    w.app.allow(&w.outsider, theirs, OUTSIDER_EMAIL).await;
    let their_account = w
        .app
        .create_shared_account(&w.outsider, theirs, "globex_svc", "Globex-Pa55word!")
        .await;
    let page = w.outsider.check_out(their_account).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("Globex-Pa55word!"),
        "{Outsider} checks out their own account: {}",
        seen(&page)
    );
    let their_checkout = checkout_id_in(&page.body).expect("their check-out");
    w.post(Outsider, "/organization", &force_on())
        .await
        .assert_redirects_to("/organization");
    for (caller, checkout) in [
        (Owner, their_checkout),
        (Admin, their_checkout),
        (Outsider, w.checkout),
    ] {
        for path in [
            format!("/checkouts/{checkout}/checkin"),
            format!("/checkouts/{checkout}/force"),
        ] {
            let page = w.post(caller, &path, &[]).await;
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{caller} POST {path}: {}",
                seen(&page)
            );
        }
    }
    for (caller, account) in [
        (Owner, their_account),
        (Admin, their_account),
        (Outsider, w.shared),
        (Outsider, w.personal),
        (Outsider, w.lent),
    ] {
        for path in [
            format!("/accounts/{account}/edit"),
            format!("/accounts/{account}/delete"),
        ] {
            let page = w.get(caller, &path).await;
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{caller} GET {path}: {}",
                seen(&page)
            );
        }
        for (path, fields) in [
            (format!("/accounts/{account}/reveal"), Vec::new()),
            (format!("/accounts/{account}/checkout"), Vec::new()),
            (format!("/accounts/{account}/retry-reset"), Vec::new()),
            (
                format!("/accounts/{account}/real-password"),
                owned(&[
                    ("password", HIJACKED_PASSWORD),
                    ("password_confirm", HIJACKED_PASSWORD),
                ]),
            ),
            (format!("/accounts/{account}/delete"), Vec::new()),
            (
                format!("/accounts/{account}/edit"),
                account_form(None, "renamed", Some(HIJACKED_PASSWORD), ""),
            ),
        ] {
            let page = w.post(caller, &path, &fields).await;
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "{caller} POST {path}: {}",
                seen(&page)
            );
            assert!(!page.body.contains("Globex-Pa55word!"));
        }
    }
    assert_eq!(
        revealed_password(&w.outsider.reveal(their_account).await.body).as_deref(),
        Some("Globex-Pa55word!"),
        "their account and its check-out survived our attempts"
    );

    // Nothing of ours changed: the member still holds the lent account, and the shared one is
    // there for the admin to check out.
    assert_eq!(w.snapshot(), before, "our organization changed");
    assert_eq!(
        revealed_password(&w.member.reveal(w.lent).await.body).as_deref(),
        Some(LENT_PASSWORD)
    );
    assert_eq!(
        revealed_password(&w.admin.check_out(w.shared).await.body).as_deref(),
        Some(SHARED_PASSWORD)
    );
}
