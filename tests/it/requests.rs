//! Managed / Unmanaged credentials, the app's policy, Request Credentials, the owner's answer by
//! email link or dashboard, and the mail that carries it — over HTTP, with a real SMTP
//! conversation.

use std::time::Duration;

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use keyholder::domain::{TargetId, UserId};
use keyholder::models::Account;
use keyholder::schema::{access_requests, audit_events, notifications, outbound_emails};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;

use crate::helpers::{
    Browser, Engine, TestApp, add_own_credential, engine_tests, revealed_password, spawn_app_with,
};
use crate::smtp::{Mailbox, Received, SmtpServer, free_port};

engine_tests!(
    seed_request_credentials_from_the_email_link,
    approval_links_are_refused_when_misused,
    denial_from_the_dashboard_and_withdrawal_are_told_to_the_admins,
    a_mail_server_that_is_down_delays_mail_but_loses_none,
    without_smtp_mail_is_written_as_files,
    only_owners_edit_the_policy,
    requests_waiting_on_the_dashboard_turn_pages,
);

const APP: &str = "Payroll Portal";
const MEMBER_PASSWORD: &str = "Mias-Own-Pa55word";
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// The cast of the seed: the organization's owner, an admin named in the app's policy, an admin
/// who is not, and a member with a personal credential for the app.
pub struct Cast {
    pub app: TestApp,
    pub owner: Browser,
    pub admin: Browser,
    pub admin_id: i64,
    pub other_admin: Browser,
    pub member: Browser,
    pub member_id: i64,
    pub target: i64,
    pub account: i64,
}

pub async fn cast(engine: &Engine, smtp_port: Option<u16>) -> Cast {
    let settings = smtp_port.map(SmtpServer::settings).unwrap_or_default();
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(engine, &extra).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, APP, &[]).await;
    let (admin, admin_id) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;
    let (other_admin, _) = app
        .user_browser(&owner, "Beth Admin", "beth@example.com", "admin")
        .await;
    let (member, member_id) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    // The owner names Adam in the app's policy on the Credentials & Policies tab.
    let tab = format!("/apps/{target}/credentials");
    owner
        .submit(
            &tab,
            &format!("/apps/{target}/policy"),
            &[("user_id", &admin_id.to_string())],
        )
        .await
        .assert_redirects_to(&tab);
    // Mia stores her own login for the app, with "Allow admin access" unticked.
    store_unmanaged(&member, target, "mia@payroll").await;
    let account = personal_account(&app, target, member_id);
    Cast {
        app,
        owner,
        admin,
        admin_id,
        other_admin,
        member,
        member_id,
        target,
        account,
    }
}

/// `member` stores their own login for the app with "Allow admin access" unticked.
async fn store_unmanaged(member: &Browser, target: i64, username: &str) {
    add_own_credential(member, target, username, MEMBER_PASSWORD).await;
}

fn personal_account(app: &TestApp, target: i64, owner: i64) -> i64 {
    let mut conn = app.db();
    Account::personal_of(&mut conn, TargetId(target), UserId(owner))
        .unwrap()
        .expect("the personal credential")
        .id
        .0
}

fn is_managed(app: &TestApp, account: i64) -> bool {
    use keyholder::schema::accounts;
    let mut conn = app.db();
    accounts::table
        .find(account)
        .select(accounts::admin_access)
        .first(&mut conn)
        .unwrap()
}

/// (id, status, token used) of every request for `account`, oldest first.
fn requests_of(app: &TestApp, account: i64) -> Vec<(i64, String, bool)> {
    let mut conn = app.db();
    access_requests::table
        .filter(access_requests::account_id.eq(account))
        .order(access_requests::id.asc())
        .select((
            access_requests::id,
            access_requests::status,
            access_requests::token_used_at.is_not_null(),
        ))
        .load(&mut conn)
        .unwrap()
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    let mut conn = app.db();
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

/// The admin presses Request Credentials on the credential's row.
pub async fn press_request_credentials(
    admin: &Browser,
    target: i64,
    account: i64,
) -> crate::helpers::Page {
    let tab = format!("/apps/{target}/credentials");
    admin
        .submit(
            &tab,
            &format!("/accounts/{account}/request-access"),
            &[("back", &tab)],
        )
        .await
}

/// The path and query of the approval link in an email.
fn approval_path(mail: &Received) -> String {
    let link = mail
        .link_containing("/review?token=")
        .unwrap_or_else(|| panic!("an approval link in:\n{}", mail.text()));
    let start = link.find("/requests/").expect("a path");
    link[start..].to_string()
}

/// The request's state in the database, to prove a step changed nothing.
fn snapshot(app: &TestApp, account: i64) -> (bool, Vec<(i64, String, bool)>) {
    (is_managed(app, account), requests_of(app, account))
}

async fn seed_request_credentials_from_the_email_link(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let Cast {
        app,
        owner,
        admin,
        admin_id,
        other_admin,
        member,
        target,
        account,
        ..
    } = cast(&engine, Some(smtp.port)).await;

    // 1–4. Manage Apps → search the app → Credentials & Policies.
    let list = admin.get("/apps?q=payroll").await;
    list.assert_contains(APP);
    list.assert_contains(&format!("/apps/{target}"));
    // 5. Search the credentials: listed as Unmanaged, with Request Credentials.
    let tab = admin
        .get(&format!("/apps/{target}/credentials?q=mia%40example.com"))
        .await;
    tab.assert_contains("mia@payroll");
    tab.assert_contains("state-warn\">Unmanaged");
    tab.assert_contains("Request Credentials");
    assert!(
        !tab.body.contains(&format!("/accounts/{account}/reveal")),
        "no reveal button for an Unmanaged credential"
    );
    press_request_credentials(&admin, target, account)
        .await
        .assert_redirects_to(&format!("/apps/{target}/credentials"));
    let tab = admin.get(&format!("/apps/{target}/credentials")).await;
    tab.assert_contains("Request sent");
    tab.assert_contains("Requested by you on");
    assert!(
        !tab.body
            .contains(&format!("/accounts/{account}/request-access"))
    );
    // Pressing twice (a second tab, a double click) does not ask twice.
    let again = admin
        .post(
            &format!("/accounts/{account}/request-access"),
            &[("csrf_token", &tab.csrf())],
        )
        .await;
    again.assert_redirects_to(&format!("/apps/{target}/credentials"));
    admin
        .get(&format!("/apps/{target}/credentials"))
        .await
        .assert_contains("Nothing was sent again");
    assert_eq!(requests_of(&app, account).len(), 1);
    // The other admin sees who asked, and no second button.
    let tab = other_admin
        .get(&format!("/apps/{target}/credentials"))
        .await;
    tab.assert_contains("Requested by Adam Admin on");
    assert!(
        !tab.body
            .contains(&format!("/accounts/{account}/request-access"))
    );

    // 6. The owner gets an email and a dashboard notification.
    let dashboard = member.get("/").await;
    dashboard.assert_contains("Adam Admin requested access to your credentials for Payroll Portal");
    dashboard.assert_contains("aria-label=\"1 unread notifications\"");
    dashboard.assert_contains("Requests waiting for your answer");
    let mails = smtp.mailbox.wait_for(1, MAIL_WAIT).await;
    let mail = &mails[0];
    assert!(mail.to[0].contains("mia@example.com"), "{:?}", mail.to);
    assert!(mail.from.contains("keyholder@example.com"), "{}", mail.from);
    assert_eq!(
        mail.subject(),
        "Adam Admin requested access to your credentials for Payroll Portal"
    );
    let parsed = mail.parsed();
    assert!(
        parsed
            .content_type()
            .is_some_and(|ct| ct.ctype() == "multipart" && ct.subtype() == Some("alternative")),
        "multipart/alternative:\n{}",
        mail.data
    );
    for body in [mail.text(), mail.html()] {
        assert!(body.contains("Adam Admin"), "{body}");
        assert!(body.contains("Payroll Portal"), "{body}");
        assert!(body.contains("mia@payroll"), "{body}");
        assert!(body.contains("/review?token="), "{body}");
    }
    let link = approval_path(mail);
    let token = link.split("token=").nth(1).unwrap().to_string();
    // At least 128 bits from the OS: 32 random bytes, base64url.
    assert!(token.len() >= 43, "{token}");
    // Stored only as a hash.
    {
        let mut conn = app.db();
        let stored: Option<String> = access_requests::table
            .select(access_requests::token_hash)
            .first(&mut conn)
            .unwrap();
        let stored = stored.expect("a token hash");
        assert_ne!(stored, token);
        assert!(!stored.contains(&token));
    }

    // 7. The link: a mail scanner (no session) is sent to sign in; nothing changes.
    let before = snapshot(&app, account);
    let scanner = app.browser();
    let page = scanner.get(&link).await;
    page.assert_redirects_to("/login?next=");
    assert_eq!(snapshot(&app, account), before);
    // Opened twice by the signed-in owner: the same page, nothing changes.
    for _ in 0..2 {
        let page = member.get(&link).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.assert_contains("Adam Admin");
        page.assert_contains(
            "requested access to your credentials for <strong>Payroll Portal</strong>",
        );
        page.assert_contains("Grant access");
        page.assert_contains("Deny");
        assert_eq!(snapshot(&app, account), before);
    }
    // Signing in from the link comes back to it.
    let fresh = app.browser();
    let login = fresh.get(&link).await;
    let next = login.location.clone().unwrap();
    let form = fresh.get(&next).await;
    let page = fresh
        .post(
            "/login",
            &[
                ("csrf_token", &form.csrf()),
                ("email", "mia@example.com"),
                ("password", "member password 123"),
                (
                    "next",
                    &crate::helpers::hidden_value(&form.body, "next").unwrap(),
                ),
            ],
        )
        .await;
    page.assert_redirects_to(&link);
    // Grant access, with the link's token.
    let page = member.get(&link).await;
    let grant = member
        .post(
            &format!("/requests/{}/decision", before.1[0].0),
            &[
                ("csrf_token", &page.csrf()),
                ("token", &token),
                ("decision", "grant"),
            ],
        )
        .await;
    grant.assert_redirects_to(&format!("/requests/{}", before.1[0].0));
    member
        .get(&format!("/requests/{}", before.1[0].0))
        .await
        .assert_contains("Access granted");

    // The notification that asked is read now that it has been answered.
    assert!(!member.get("/").await.body.contains("unread notifications"));

    // 8. Managed. The admin in the policy reveals it; the other admin and the owner cannot.
    assert!(is_managed(&app, account));
    assert_eq!(requests_of(&app, account)[0].1, "granted");
    let tab = admin.get(&format!("/apps/{target}/credentials")).await;
    tab.assert_contains("state-ok\">Managed");
    tab.assert_contains(&format!("/accounts/{account}/reveal"));
    let page = admin.reveal(account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some(MEMBER_PASSWORD)
    );
    let tab = other_admin
        .get(&format!("/apps/{target}/credentials"))
        .await;
    assert!(!tab.body.contains(&format!("/accounts/{account}/reveal")));
    let page = other_admin.reveal(account).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.body.contains(MEMBER_PASSWORD));
    assert_eq!(owner.reveal(account).await.status, StatusCode::FORBIDDEN);

    // The admin is told: notification and email.
    admin.get("/").await.assert_contains(
        "Mia Member granted your request for access to their credentials for Payroll Portal",
    );
    let mails = smtp.mailbox.wait_for(2, MAIL_WAIT).await;
    assert!(mails[1].to[0].contains("adam@example.com"));
    assert!(
        mails[1].subject().contains("granted"),
        "{}",
        mails[1].subject()
    );
    // The admin's list of requests.
    let list = admin.get("/requests?status=granted").await;
    list.assert_contains("Payroll Portal");
    list.assert_contains("state-ok\">Granted");
    assert!(
        admin
            .get("/requests?status=pending")
            .await
            .body
            .contains("No pending requests")
    );
    // Audited.
    assert_eq!(audit_count(&app, "access.request"), 1);
    assert_eq!(audit_count(&app, "access.grant"), 1);
    // Exactly one email per event, even after the sweep has run a few more times.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.mailbox.count(), 2);
    let _ = admin_id;
}

async fn approval_links_are_refused_when_misused(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let Cast {
        app,
        owner,
        admin,
        other_admin,
        member,
        member_id,
        target,
        account,
        ..
    } = cast(&engine, Some(smtp.port)).await;
    // A second app and credential of Mia's, for a second request.
    let second_target = app.create_target(&owner, "Ledger", &[]).await;
    store_unmanaged(&member, second_target, "mia@ledger").await;
    let second_account = personal_account(&app, second_target, member_id);
    press_request_credentials(&admin, target, account).await;
    let first_mail = smtp.mailbox.wait_for(1, MAIL_WAIT).await.remove(0);
    press_request_credentials(&admin, second_target, second_account).await;
    let second_mail = smtp.mailbox.wait_for(2, MAIL_WAIT).await.remove(1);
    let first = approval_path(&first_mail);
    let second = approval_path(&second_mail);
    let first_id = requests_of(&app, account)[0].0;
    let second_id = requests_of(&app, second_account)[0].0;
    let first_token = first.split("token=").nth(1).unwrap().to_string();
    let second_token = second.split("token=").nth(1).unwrap().to_string();
    let state = || (snapshot(&app, account), snapshot(&app, second_account));
    let before = state();

    let cases: Vec<(&str, &Browser, String, StatusCode, &str)> = vec![
        (
            "absent",
            &member,
            format!("/requests/{first_id}/review"),
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
        ),
        (
            "empty",
            &member,
            format!("/requests/{first_id}/review?token="),
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
        ),
        (
            "tampered",
            &member,
            format!("/requests/{first_id}/review?token={}", tamper(&first_token)),
            StatusCode::FORBIDDEN,
            "This link is not valid",
        ),
        (
            "for another request",
            &member,
            format!("/requests/{first_id}/review?token={second_token}"),
            StatusCode::FORBIDDEN,
            "This link is not valid",
        ),
        (
            "for a request that does not exist",
            &member,
            format!("/requests/999999/review?token={first_token}"),
            StatusCode::FORBIDDEN,
            "This link is not valid",
        ),
        (
            "by another user",
            &other_admin,
            first.clone(),
            StatusCode::FORBIDDEN,
            "This request is not addressed to you",
        ),
        (
            "by the requesting admin",
            &admin,
            first.clone(),
            StatusCode::FORBIDDEN,
            "This request is not addressed to you",
        ),
    ];
    for (case, browser, path, status, says) in &cases {
        let page = browser.get(path).await;
        assert_eq!(page.status, *status, "{case}: {}", page.body);
        page.assert_contains(says);
        assert!(
            !page.body.contains("Grant access"),
            "{case}: nothing to press"
        );
        assert_eq!(state(), before, "{case}: nothing changed");
    }
    // Decisions posted with a bad token, or by someone else, are refused the same way.
    let csrf = member.get("/").await.csrf();
    for (case, browser, token, status) in [
        (
            "tampered",
            &member,
            tamper(&first_token),
            StatusCode::FORBIDDEN,
        ),
        (
            "another request's",
            &member,
            second_token.clone(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let page = browser
            .post(
                &format!("/requests/{first_id}/decision"),
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("decision", "grant"),
                ],
            )
            .await;
        assert_eq!(page.status, status, "{case}: {}", page.body);
        assert_eq!(state(), before, "{case}: nothing changed");
    }
    let csrf_other = other_admin.get("/").await.csrf();
    for token in [Some(first_token.as_str()), None] {
        let mut fields = vec![("csrf_token", csrf_other.as_str()), ("decision", "grant")];
        if let Some(token) = token {
            fields.push(("token", token));
        }
        let page = other_admin
            .post(&format!("/requests/{first_id}/decision"), &fields)
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert_eq!(state(), before, "another user's decision changed nothing");
    }
    // Without CSRF, nothing either.
    let page = member
        .post(
            &format!("/requests/{first_id}/decision"),
            &[("token", first_token.as_str()), ("decision", "grant")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(state(), before);

    // Used: the first link grants once, then is refused.
    let page = member
        .post(
            &format!("/requests/{first_id}/decision"),
            &[
                ("csrf_token", &csrf),
                ("token", &first_token),
                ("decision", "grant"),
            ],
        )
        .await;
    page.assert_redirects_to(&format!("/requests/{first_id}"));
    assert!(is_managed(&app, account));
    let after_grant = state();
    let page = member.get(&first).await;
    assert_eq!(page.status, StatusCode::GONE);
    page.assert_contains("This link has already been used");
    assert!(!page.body.contains("Grant access"));
    let page = member
        .post(
            &format!("/requests/{first_id}/decision"),
            &[
                ("csrf_token", &csrf),
                ("token", &first_token),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::GONE);
    assert_eq!(state(), after_grant, "a reused link changed nothing");

    // Expired: eight days later the second link says so and offers nothing to press.
    app.clock.advance(Duration::from_secs(8 * 86_400));
    // Sessions have long timed out by then: both sign in again.
    for (browser, email) in [(&member, "mia@example.com"), (&admin, "adam@example.com")] {
        browser
            .sign_in(email, "member password 123")
            .await
            .assert_redirects_to("/");
    }
    let csrf = member.get("/").await.csrf();
    let page = member.get(&second).await;
    assert_eq!(page.status, StatusCode::GONE, "{}", page.body);
    page.assert_contains("This request has expired");
    assert!(!page.body.contains("Grant access"));
    let page = member.get(&format!("/requests/{second_id}")).await;
    page.assert_contains("Expired");
    assert!(!page.body.contains("Grant access"));
    let page = member
        .post(
            &format!("/requests/{second_id}/decision"),
            &[
                ("csrf_token", &csrf),
                ("token", &second_token),
                ("decision", "grant"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(!is_managed(&app, second_account));
    // The sweep marks it expired and tells the admin; the admin's list shows it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while requests_of(&app, second_account)[0].1 != "expired" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweep expires the request"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = admin.get("/requests?status=expired").await;
    list.assert_contains("Ledger");
    admin
        .get("/")
        .await
        .assert_contains("expired without an answer");
    assert_eq!(audit_count(&app, "access.expire"), 1);
    // A new request is possible after expiry.
    press_request_credentials(&admin, second_target, second_account).await;
    assert_eq!(requests_of(&app, second_account).len(), 2);
}

/// The token with one character changed.
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

async fn denial_from_the_dashboard_and_withdrawal_are_told_to_the_admins(engine: Engine) {
    let smtp = SmtpServer::start().await;
    let Cast {
        app,
        admin,
        member,
        target,
        account,
        ..
    } = cast(&engine, Some(smtp.port)).await;
    press_request_credentials(&admin, target, account).await;
    smtp.mailbox.wait_for(1, MAIL_WAIT).await;
    let request = requests_of(&app, account)[0].0;

    // Mia clicks the notification on her dashboard: it opens the request page.
    let dashboard = member.get("/").await;
    let notification: i64 = {
        let mut conn = app.db();
        notifications::table
            .filter(notifications::link.eq(format!("/requests/{request}")))
            .select(notifications::id)
            .first(&mut conn)
            .unwrap()
    };
    let opened = member
        .post(
            &format!("/notifications/{notification}/open"),
            &[("csrf_token", &dashboard.csrf())],
        )
        .await;
    opened.assert_redirects_to(&format!("/requests/{request}"));
    let page = member.get(&format!("/requests/{request}")).await;
    page.assert_contains("Grant access");
    // The requesting admin can look at it too, with nothing to press.
    let seen = admin.get(&format!("/requests/{request}")).await;
    seen.assert_contains("Waiting for Mia Member to answer");
    assert!(!seen.body.contains("Grant access"));
    // Deny.
    member
        .post(
            &format!("/requests/{request}/decision"),
            &[("csrf_token", &page.csrf()), ("decision", "deny")],
        )
        .await
        .assert_redirects_to(&format!("/requests/{request}"));
    assert!(!is_managed(&app, account));
    assert_eq!(requests_of(&app, account)[0].1, "denied");
    admin.get("/").await.assert_contains(
        "Mia Member denied your request for access to their credentials for Payroll Portal",
    );
    let mails = smtp.mailbox.wait_for(2, MAIL_WAIT).await;
    assert!(
        mails[1].subject().contains("denied"),
        "{}",
        mails[1].subject()
    );
    admin
        .get("/requests?status=denied")
        .await
        .assert_contains("state-danger\">Denied");
    assert_eq!(audit_count(&app, "access.deny"), 1);
    // The row is Unmanaged again with a button (the denied request is not pending).
    admin
        .get(&format!("/apps/{target}/credentials"))
        .await
        .assert_contains(&format!("/accounts/{account}/request-access"));

    // Mia later allows admin access herself, then withdraws it: the admins in the policy are
    // told each time it is withdrawn.
    let edit = format!("/accounts/{account}/edit");
    for allow in [true, false] {
        let mut fields = vec![("username", "mia@payroll"), ("password_mode", "keep")];
        if allow {
            fields.push(("admin_access", "on"));
        }
        member
            .submit(&edit, &edit, &fields)
            .await
            .assert_redirects_to(&format!("/apps/{target}"));
        assert_eq!(is_managed(&app, account), allow);
    }
    admin.get("/").await.assert_contains(
        "Mia Member withdrew admin access to their credentials for Payroll Portal",
    );
    let mails = smtp.mailbox.wait_for(3, MAIL_WAIT).await;
    assert!(mails[2].to[0].contains("adam@example.com"));
    assert!(
        mails[2].subject().contains("withdrew"),
        "{}",
        mails[2].subject()
    );
    assert_eq!(admin.reveal(account).await.status, StatusCode::FORBIDDEN);
}

async fn a_mail_server_that_is_down_delays_mail_but_loses_none(engine: Engine) {
    let port = free_port();
    let Cast {
        app,
        admin,
        member,
        target,
        account,
        ..
    } = cast(&engine, Some(port)).await;
    press_request_credentials(&admin, target, account)
        .await
        .assert_redirects_to(&format!("/apps/{target}/credentials"));
    // The request and the notification exist at once.
    assert_eq!(requests_of(&app, account).len(), 1);
    member
        .get("/")
        .await
        .assert_contains("Adam Admin requested access to your credentials for Payroll Portal");
    // The first delivery fails and is put off.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (attempts, error): (i32, Option<String>) = {
            let mut conn = app.db();
            outbound_emails::table
                .select((outbound_emails::attempts, outbound_emails::last_error))
                .first(&mut conn)
                .unwrap()
        };
        if attempts >= 1 {
            assert!(error.is_some());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a first attempt is made"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server comes back; when the retry falls due, the email arrives — once.
    let smtp = SmtpServer::start_on(port, Mailbox::default()).await;
    app.clock.advance(Duration::from_secs(120));
    let mails = smtp.mailbox.wait_for(1, MAIL_WAIT).await;
    assert!(mails[0].subject().contains("requested access"));
    app.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.mailbox.count(), 1, "no duplicate after the retry");
    // Its link works (after signing in again: the hour passed ended the session).
    member
        .sign_in("mia@example.com", "member password 123")
        .await
        .assert_redirects_to("/");
    let link = approval_path(&mails[0]);
    assert_eq!(member.get(&link).await.status, StatusCode::OK);
}

async fn without_smtp_mail_is_written_as_files(engine: Engine) {
    let Cast {
        app,
        admin,
        member,
        target,
        account,
        ..
    } = cast(&engine, None).await;
    press_request_credentials(&admin, target, account).await;
    let dir = app.data_dir.join("mail");
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    let file = loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        });
        if let Some(file) = found {
            break file;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "an .eml file in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mail = Received {
        from: String::new(),
        to: Vec::new(),
        data: std::fs::read_to_string(&file).unwrap(),
    };
    assert!(mail.subject().contains("Adam Admin requested access"));
    let link = approval_path(&mail);
    let page = member.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("Grant access");
}

async fn only_owners_edit_the_policy(engine: Engine) {
    let Cast {
        app,
        owner,
        admin,
        admin_id,
        other_admin,
        member_id,
        target,
        ..
    } = cast(&engine, None).await;
    let tab = format!("/apps/{target}/credentials");
    // The owner sees the controls; an admin sees the policy, read-only.
    let page = owner.get(&tab).await;
    page.assert_contains("Add to policy");
    // Admins not yet named are not listed: the owner types an address.
    assert!(!page.body.contains("beth@example.com"), "{}", page.body);
    let page = admin.get(&tab).await;
    page.assert_contains("Only the organization");
    assert!(!page.body.contains("Add to policy"));
    // An admin cannot add themselves, nor remove anyone.
    let csrf = other_admin.get(&tab).await.csrf();
    let own_id = {
        use keyholder::schema::users;
        let mut conn = app.db();
        users::table
            .filter(users::email.eq("beth@example.com"))
            .select(users::id)
            .first::<i64>(&mut conn)
            .unwrap()
    };
    let page = other_admin
        .post(
            &format!("/apps/{target}/policy"),
            &[("csrf_token", &csrf), ("user_id", &own_id.to_string())],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = other_admin
        .post(
            &format!("/apps/{target}/policy/{admin_id}/remove"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    owner.get(&tab).await.assert_contains("Adam Admin");
    // A member cannot be named: the owner gets a clear message, nothing stored.
    owner
        .submit(
            &tab,
            &format!("/apps/{target}/policy"),
            &[("user_id", &member_id.to_string())],
        )
        .await
        .assert_redirects_to(&tab);
    owner
        .get(&tab)
        .await
        .assert_contains("Only enabled admins and owners can be named");
    // Nonsense input: a clear message, not a 500.
    owner
        .submit(
            &tab,
            &format!("/apps/{target}/policy"),
            &[("user_id", "x'); drop")],
        )
        .await
        .assert_redirects_to(&tab);
    owner.get(&tab).await.assert_contains("Choose an admin");
    // The form names an admin by email, whatever its case: never a list of every admin.
    owner
        .get(&tab)
        .await
        .assert_contains("<input id=\"policy-user\" name=\"email\" type=\"email\"");
    for (email, message) in [
        (
            "nobody@example.com",
            "No one in your organization has the address",
        ),
        (
            "mia@example.com",
            "Only enabled admins and owners can be named",
        ),
        (
            "BETH@example.com",
            "Beth Admin may now view this app&#39;s Managed passwords.",
        ),
        (
            "beth@example.com",
            "Beth Admin is already named in this policy.",
        ),
    ] {
        owner
            .submit(&tab, &format!("/apps/{target}/policy"), &[("email", email)])
            .await
            .assert_redirects_to(&tab);
        owner.get(&tab).await.assert_contains(message);
    }
    // Beth's naming was audited once.
    {
        use diesel::TextExpressionMethods;
        let mut conn = app.db();
        let named: i64 = audit_events::table
            .filter(audit_events::action.eq("target.policy_add"))
            .filter(audit_events::detail.like("Named Beth Admin%"))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(named, 1);
    }
    // The owner removes Adam: audited, and Adam leaves the policy.
    owner
        .submit(
            &tab,
            &format!("/apps/{target}/policy/{admin_id}/remove"),
            &[],
        )
        .await
        .assert_redirects_to(&tab);
    owner
        .get(&tab)
        .await
        .assert_contains("was removed from the policy");
    // Adam's naming and Beth's.
    assert_eq!(audit_count(&app, "target.policy_add"), 2);
    assert_eq!(audit_count(&app, "target.policy_remove"), 1);
}

/// Twelve requests wait for Mia: the dashboard counts them all and shows ten a page, newest
/// first; the second page has the two oldest; answered ones leave the count.
async fn requests_waiting_on_the_dashboard_turn_pages(engine: Engine) {
    let Cast {
        app,
        owner,
        admin,
        member,
        member_id,
        target,
        account,
        ..
    } = cast(&engine, None).await;
    let mut apps = vec![(target, account)];
    for n in 2..=12 {
        let target = app
            .create_target(&owner, &format!("Ledger {n:02}"), &[])
            .await;
        let tab = format!("/apps/{target}/credentials");
        owner
            .submit(
                &tab,
                &format!("/apps/{target}/policy"),
                &[("email", "adam@example.com")],
            )
            .await
            .assert_redirects_to(&tab);
        store_unmanaged(&member, target, &format!("mia{n:02}@ledger")).await;
        apps.push((target, personal_account(&app, target, member_id)));
    }
    for (target, account) in &apps {
        press_request_credentials(&admin, *target, *account)
            .await
            .assert_redirects_to(&format!("/apps/{target}/credentials"));
    }
    let shown = |page: &crate::helpers::Page| -> Vec<String> {
        page.body
            .match_indices(
                "<strong>Adam Admin</strong> requested access to your credentials for <strong>",
            )
            .map(|(at, found)| {
                let rest = &page.body[at + found.len()..];
                rest[..rest.find("</strong>").unwrap()].to_string()
            })
            .collect()
    };
    let first = member.get("/").await;
    first.assert_contains("Requests waiting for your answer <span class=\"badge\">12</span>");
    first.assert_contains("12 requests · page 1 of 2");
    let newest: Vec<String> = (3..=12).rev().map(|n| format!("Ledger {n:02}")).collect();
    assert_eq!(shown(&first), newest);
    // Other lists keep their page while this one turns.
    let second = member.get("/?mine=2&asked=2").await;
    assert_eq!(shown(&second), ["Ledger 02", APP]);
    second.assert_contains("href=\"/?mine=2\" rel=\"prev\"");
    let past = member.get("/?asked=5").await;
    past.assert_contains("This page is past the last of the requests waiting for you.");
    // Mia answers the oldest: eleven left, one page.
    let review = format!("/requests/{}", requests_of(&app, account)[0].0);
    member
        .submit(
            &review,
            &format!("{review}/decision"),
            &[("decision", "deny")],
        )
        .await
        .assert_redirects_to(&review);
    let after = member.get("/").await;
    after.assert_contains("<span class=\"badge\">11</span>");
    assert_eq!(shown(&after).len(), 10);
    let last = member.get("/?asked=2").await;
    assert_eq!(shown(&last), ["Ledger 02"]);
}
