//! Journeys 5 and 6: the second seed, Request Credentials — an admin asks for access to a
//! member's Unmanaged credential, the member grants it from the Dashboard notification and,
//! the second time, from the email's link; with JavaScript, and again with it turned off.

use std::time::{Duration, Instant};

use super::driver::{Browser, BrowserOptions, E2eEnv};
use super::e2e_tests;
use super::steps::{
    MEMBER_PASSWORD, Person, Stage, Target, add_my_credential, add_to_policy, add_user,
    create_exclusive_target, open_app, set_up_organization, shown_password, sign_in, sign_out,
};
use crate::smtp::{Received, SmtpServer};

e2e_tests!(
    journey_5_request_credentials,
    journey_6_request_credentials_without_javascript
);

async fn journey_5_request_credentials(env: E2eEnv) {
    request_credentials(env, "journey-5-request-credentials", true).await;
}

async fn journey_6_request_credentials_without_javascript(env: E2eEnv) {
    request_credentials(env, "journey-6-request-credentials-no-js", false).await;
}

const PAYROLL: Target = Target {
    name: "Payroll",
    exclusive_minutes: 30,
};
const ADAM: Person = Person {
    name: "Adam Admin",
    email: "adam@example.com",
    password: MEMBER_PASSWORD,
};
const BETH: Person = Person {
    name: "Beth Baker",
    email: "beth@example.com",
    password: MEMBER_PASSWORD,
};
const MIA: Person = Person {
    name: "Mia Miller",
    email: "mia@example.com",
    password: MEMBER_PASSWORD,
};
const USERNAME: &str = "mia.miller";
const SECRET: &str = "Mia's payroll secret 42";

/// How long an email may take to reach the mail server.
const MAIL_PATIENCE: Duration = Duration::from_secs(20);

async fn request_credentials(env: E2eEnv, journey: &str, javascript: bool) {
    let smtp = SmtpServer::start().await;
    let mail = SmtpServer::settings(smtp.port);
    let mail: Vec<(&str, &str)> = mail.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stage = Stage::with_settings(env, journey, BrowserOptions { javascript }, &mail).await;

    // The owner sets up the organization, two admins and a member, the app, and names Adam
    // in the app's policy.
    let owner = stage.browser("owner").await;
    set_up_organization(&owner, &stage.app, false).await;
    add_user(&owner, ADAM, "Admin").await;
    add_user(&owner, BETH, "Admin").await;
    add_user(&owner, MIA, "Member").await;
    create_exclusive_target(&owner, PAYROLL).await;
    owner.follow("Credentials & Policies").await;
    owner.expect_heading(PAYROLL.name).await;
    owner
        .expect_text("No admin is named in this app's policy")
        .await;
    add_to_policy(&owner, ADAM).await;
    shot(&owner, javascript, "policy-with-adam").await;
    owner.close().await;

    // Mia stores her login and does not allow admin access.
    let mia = stage.browser("mia").await;
    sign_in(&mia, MIA).await;
    add_my_credential(&mia, PAYROLL, USERNAME, SECRET, false).await;
    assert!(
        mia.definition("Admin access").await.contains("Unmanaged"),
        "the app's page says the credential is Unmanaged"
    );
    shot(&mia, javascript, "credential-unmanaged").await;

    // Adam finds it Unmanaged and presses Request Credentials.
    let adam = stage.browser("adam").await;
    sign_in(&adam, ADAM).await;
    let row = open_credentials(&adam, "Mia").await;
    assert!(
        row.contains("Mia Miller") && row.contains("Unmanaged"),
        "Mia's credential is listed as Unmanaged: {row:?}"
    );
    shot(&adam, javascript, "credentials-unmanaged").await;
    request(&adam).await;
    shot(&adam, javascript, "requested").await;

    // Mia gets an email and a notification; she grants access from the notification.
    let first = wait_for_mail(&smtp, MIA.email, "requested access", 1).await;
    assert_eq!(
        first.subject(),
        "Adam Admin requested access to your credentials for Payroll"
    );
    assert!(
        first.link_containing("/review?token=").is_some(),
        "the email carries the approval link:\n{}",
        first.text()
    );
    mia.navigate("Dashboard").await;
    mia.expect_heading("Dashboard").await;
    let note = "Adam Admin requested access to your credentials for Payroll";
    mia.expect_text(note).await;
    mia.screenshot("dashboard-notification").await;
    mia.click_item(note).await;
    grant(&mia).await;
    shot(&mia, javascript, "granted").await;

    // Adam now sees it Managed and reveals Mia's password.
    let row = open_credentials(&adam, USERNAME).await;
    assert_managed(&row, true);
    if javascript {
        reveal_as_admin(&adam).await;
        adam.screenshot("revealed").await;
    }

    // Beth, an admin not named in the policy, gets no Reveal (checked once: it does not
    // depend on scripts).
    if javascript {
        beth_gets_no_reveal(&stage).await;
    }

    // Mia withdraws admin access on Edit account; Adam is told.
    open_app(&mia, PAYROLL, false).await;
    mia.follow("Edit").await;
    mia.expect_heading("Edit account").await;
    assert!(mia.is_checked("Keep the current password").await);
    assert_eq!(
        mia.is_enabled("Password").await,
        !javascript,
        "with JavaScript the password fields are off while the password is kept"
    );
    if !javascript {
        mia.expect_text("used only with “Type the password”").await;
    }
    assert!(mia.is_checked("Allow admin access to the password").await);
    mia.set_checked("Allow admin access to the password", false)
        .await;
    mia.screenshot("edit-account-withdraw").await;
    mia.press("Save changes").await;
    mia.expect_text("The account was saved.").await;
    assert!(mia.definition("Admin access").await.contains("Unmanaged"));

    adam.navigate("Dashboard").await;
    adam.expect_heading("Dashboard").await;
    adam.expect_text("Mia Miller withdrew admin access to their credentials for Payroll")
        .await;
    shot(&adam, javascript, "dashboard-withdrawn").await;

    // Adam asks again; this time Mia answers from the email's link, signing in first.
    let row = open_credentials(&adam, USERNAME).await;
    assert_managed(&row, false);
    request(&adam).await;
    let second = wait_for_mail(&smtp, MIA.email, "requested access", 2).await;
    let link = second
        .link_containing("/review?token=")
        .unwrap_or_else(|| panic!("an approval link in:\n{}", second.text()));
    assert!(
        link.starts_with(&stage.app.address),
        "the link leads to this Keyholder: {link}"
    );

    sign_out(&mia, MIA).await;
    mia.visit(&link).await;
    mia.expect_heading("Sign in to Keyholder").await;
    mia.screenshot("link-asks-to-sign-in").await;
    mia.fill("Email", MIA.email).await;
    mia.fill("Password", MIA.password).await;
    mia.press("Sign in").await;
    mia.expect_heading("Access request for Payroll").await;
    mia.screenshot("request-from-email").await;
    grant(&mia).await;

    let row = open_credentials(&adam, USERNAME).await;
    assert_managed(&row, true);
    assert!(
        !row.contains("Requested by"),
        "the answered request is no longer pending: {row:?}"
    );
    reveal_as_admin(&adam).await;
    shot(&adam, javascript, "managed-again").await;

    mia.close().await;
    adam.close().await;
}

/// Beth, an admin outside the app's policy, sees Mia's Managed credential without Reveal.
async fn beth_gets_no_reveal(stage: &Stage) {
    let beth = stage.browser("beth").await;
    sign_in(&beth, BETH).await;
    let row = open_credentials(&beth, USERNAME).await;
    assert_managed(&row, true);
    assert!(
        row.contains("Only admins in the policy can reveal it"),
        "Beth is told why: {row:?}"
    );
    let element = beth.row(USERNAME).await;
    assert!(
        !beth.offers(Some(&element), "Reveal").await
            && !beth.offers(Some(&element), "Request Credentials").await,
        "an admin outside the policy cannot reveal a Managed password"
    );
    beth.screenshot("no-reveal-outside-policy").await;
    beth.close().await;
}

/// A screenshot of a page that looks the same without JavaScript: taken in the run with it.
async fn shot(browser: &Browser, javascript: bool, name: &str) {
    if javascript {
        browser.screenshot(name).await;
    }
}

/// Manage Apps → search the app → open it → Credentials & Policies → search the credentials
/// for `query`; returns the text of Mia's row.
async fn open_credentials(admin: &Browser, query: &str) -> String {
    admin.navigate("Manage Apps").await;
    admin.expect_heading("Manage Apps").await;
    admin.fill("Search apps", PAYROLL.name).await;
    admin.press("Search").await;
    admin.expect_url_containing("q=Payroll").await;
    admin.follow(PAYROLL.name).await;
    admin.expect_heading(PAYROLL.name).await;
    admin.follow("Credentials & Policies").await;
    admin.expect_text("Search credentials").await;
    admin.fill("Search credentials", query).await;
    admin.press("Search").await;
    admin
        .expect_url_containing(&format!("/credentials?q={query}"))
        .await;
    admin.expect_text("1 credential ·").await;
    admin.row_text(USERNAME).await
}

/// Request Credentials on Mia's row; the row then says the request is pending.
async fn request(admin: &Browser) {
    let row = admin.row(USERNAME).await;
    admin.press_in(Some(&row), "Request Credentials").await;
    admin
        .expect_text("Request sent. Mia Miller will get an email and a notification")
        .await;
    let row = admin.row_text(USERNAME).await;
    assert!(
        row.contains("Requested by you on") && !row.contains("Request Credentials"),
        "a pending request replaces the button: {row:?}"
    );
}

/// On the request page, as its owner: Grant access.
async fn grant(owner: &Browser) {
    owner.expect_heading("Access request for Payroll").await;
    owner
        .expect_text("Adam Admin (adam@example.com), an admin, requested access to your credentials for Payroll.")
        .await;
    owner
        .expect_text(
            "These admins, named in the app's policy, will be able to view it: Adam Admin.",
        )
        .await;
    owner.press("Grant access").await;
    owner
        .expect_text("Access granted. Your credential is now Managed; Adam Admin has been told.")
        .await;
}

/// Reveal on Mia's row shows her password.
async fn reveal_as_admin(admin: &Browser) {
    let row = admin.row(USERNAME).await;
    admin.press_in(Some(&row), "Reveal").await;
    admin
        .expect_heading(&format!("{USERNAME} on {}", PAYROLL.name))
        .await;
    assert_eq!(shown_password(admin).await, SECRET);
}

fn assert_managed(row: &str, managed: bool) {
    let unmanaged = row.contains("Unmanaged");
    assert!(
        if managed {
            row.contains("Managed") && !unmanaged
        } else {
            unmanaged
        },
        "expected {} in the row: {row:?}",
        if managed { "Managed" } else { "Unmanaged" }
    );
}

/// The `nth` email (from 1) to `to` whose subject contains `subject`.
async fn wait_for_mail(smtp: &SmtpServer, to: &str, subject: &str, nth: usize) -> Received {
    let started = Instant::now();
    loop {
        let mut found: Vec<Received> = smtp
            .mailbox
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r.contains(to)) && m.subject().contains(subject))
            .collect();
        if found.len() >= nth {
            return found.swap_remove(nth - 1);
        }
        assert!(
            started.elapsed() < MAIL_PATIENCE,
            "email {nth} to {to} about {subject:?} did not arrive; the mail server has {:#?}",
            smtp.mailbox.messages()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
