//! What people do in Keyholder, step by step, in a real browser. Journeys are written with
//! these; each step starts from wherever the person is and ends on the page the app shows next.

use std::sync::Arc;

use crate::helpers::{TestApp, spawn_app_with};

use super::driver::{Browser, BrowserOptions, Chromedriver, E2eEnv, Journey};

pub const OWNER_NAME: &str = "Olivia Owner";
pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner password 123";
pub const MEMBER_PASSWORD: &str = "member password 123";

/// Settings for browser journeys: the sweep runs every second and sessions outlast the
/// minutes the tests move the clock by.
const SETTINGS: &[(&str, &str)] = &[
    ("KEYHOLDER_SWEEP_INTERVAL", "1s"),
    ("KEYHOLDER_SESSION_IDLE_TIMEOUT", "1d"),
    ("KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT", "7d"),
    ("KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS", "1000"),
];

/// One journey's world: a fresh Keyholder, a chromedriver and the screenshot folder.
pub struct Stage {
    pub app: TestApp,
    pub env: E2eEnv,
    pub journey: Arc<Journey>,
    pub options: BrowserOptions,
    // Last, so that browsers are gone before the server stops.
    driver: Chromedriver,
}

impl Stage {
    pub async fn new(env: E2eEnv, journey: &str, options: BrowserOptions) -> Stage {
        Stage::with_settings(env, journey, options, &[]).await
    }

    /// A stage whose Keyholder also gets `extra` settings (a mail server, for instance).
    pub async fn with_settings(
        env: E2eEnv,
        journey: &str,
        options: BrowserOptions,
        extra: &[(&str, &str)],
    ) -> Stage {
        let driver = Chromedriver::start(&env).await;
        let settings: Vec<(&str, &str)> = SETTINGS.iter().chain(extra).copied().collect();
        let app = spawn_app_with(&crate::helpers::Engine::Sqlite, &settings).await;
        Stage {
            app,
            env,
            journey: Journey::new(journey),
            options,
            driver,
        }
    }

    /// A new browser window, for the person `who`.
    pub async fn browser(&self, who: &str) -> Browser {
        Browser::open(
            &self.driver,
            &self.env,
            &self.journey,
            &self.app.address,
            who,
            self.options,
        )
        .await
    }
}

/// A person of the organization, as the tests know them.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const OWNER: Person = Person {
    name: OWNER_NAME,
    email: OWNER_EMAIL,
    password: OWNER_PASSWORD,
};
pub const ALICE: Person = Person {
    name: "Alice Anders",
    email: "alice@example.com",
    password: MEMBER_PASSWORD,
};
pub const BOB: Person = Person {
    name: "Bob Berg",
    email: "bob@example.com",
    password: MEMBER_PASSWORD,
};

/// Opens the one-time setup link, creates the organization and its owner, and lands on the
/// owner's Dashboard.
pub async fn set_up_organization(owner: &Browser, app: &TestApp, shots: bool) {
    let link = app
        .setup_link
        .as_deref()
        .expect("a fresh app prints a setup link");
    owner.visit(link).await;
    owner.expect_heading("Set up Keyholder").await;
    owner.fill("Organization name", "Acme Corp").await;
    owner.fill("Your name", OWNER.name).await;
    owner.fill("Your email", OWNER.email).await;
    owner.fill("Password", OWNER.password).await;
    owner.fill("Repeat the password", OWNER.password).await;
    if shots {
        owner.screenshot("setup-filled").await;
    }
    owner.press("Create organization").await;
    owner.expect_heading("Dashboard").await;
}

/// Signs in on the sign-in page (opening it first) and lands on the Dashboard.
pub async fn sign_in(browser: &Browser, person: Person) {
    browser.visit("/login").await;
    browser.expect_heading("Sign in to Keyholder").await;
    browser.fill("Email", person.email).await;
    browser.fill("Password", person.password).await;
    browser.press("Sign in").await;
    browser.expect_heading("Dashboard").await;
    browser.expect_text(person.name).await;
}

/// Signs out from the account menu in the top bar.
pub async fn sign_out(browser: &Browser, person: Person) {
    let menu = browser
        .client
        .find(fantoccini::Locator::Css(".account-menu"))
        .await
        .expect("the account menu");
    let summary = menu
        .find(fantoccini::Locator::XPath(&format!(
            ".//summary[contains(normalize-space(.), {})]",
            super::driver::xpath_literal(person.name)
        )))
        .await
        .expect("the account menu shows who is signed in");
    summary.click().await.expect("open the account menu");
    browser.press_in(Some(&menu), "Sign out").await;
    browser.expect_heading("Sign in to Keyholder").await;
    browser.expect_text("You have signed out.").await;
}

/// Users → Add user, as an owner or admin.
pub async fn add_user(admin: &Browser, person: Person, role: &str) {
    admin.navigate("Users").await;
    admin.expect_heading("Users").await;
    admin.follow("Add user").await;
    admin.expect_heading("Add user").await;
    admin.fill("Name", person.name).await;
    admin.fill("Email", person.email).await;
    admin.select("Role", role).await;
    admin.fill("Initial password", person.password).await;
    admin.press("Add user").await;
    admin.expect_heading("Users").await;
    let row = admin.row_text(person.email).await;
    assert!(
        row.contains(person.name) && row.contains(role) && row.contains("Active"),
        "the new user's row: {row:?}"
    );
}

/// The target a journey creates.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub name: &'static str,
    pub exclusive_minutes: u32,
}

/// Manage Apps → Create target, an Exclusive one changed in the vault only; ends on its
/// Accounts tab.
pub async fn create_exclusive_target(admin: &Browser, target: Target) {
    admin.navigate("Manage Apps").await;
    admin.expect_heading("Manage Apps").await;
    admin.follow("Create target").await;
    admin.expect_heading("Create target").await;
    admin.fill("Name", target.name).await;
    admin
        .fill("Address or URL", "billing-db.internal:5432")
        .await;
    admin
        .fill("Description", "The billing database of the finance team.")
        .await;
    admin
        .select(
            "How passwords are changed",
            "Vault only — password is changed in Keyholder only",
        )
        .await;
    admin.choose("Exclusive").await;
    admin
        .fill(
            "Exclusive duration (minutes)",
            &target.exclusive_minutes.to_string(),
        )
        .await;
    admin.fill("Length", "24").await;
    admin.screenshot("create-target-filled").await;
    admin.press("Create target").await;
    admin.expect_heading(target.name).await;
    admin.expect_text("Shared accounts").await;
}

/// On an app's Accounts tab: allows the person to use its shared accounts.
pub async fn allow_person(admin: &Browser, person: Person) {
    admin.fill("Add a person by email", person.email).await;
    admin.press("Add person").await;
    admin
        .expect_text(&format!("{} {}", person.name, person.email))
        .await;
}

/// On an app's Accounts tab: Create account with a generated password.
pub async fn create_shared_account(admin: &Browser, username: &str, auto_reset: bool) {
    admin.follow("Create account").await;
    admin.expect_heading("Create account").await;
    admin.fill("Username", username).await;
    assert!(
        admin.is_checked("Generate a password").await,
        "shared accounts get a generated password by default"
    );
    assert!(
        admin.is_checked("AutoReset enabled").await,
        "AutoReset is enabled by default"
    );
    admin.set_checked("AutoReset enabled", auto_reset).await;
    admin.screenshot("create-account-filled").await;
    admin.press("Create account").await;
    admin.expect_text("Shared accounts").await;
    let row = admin.row_text(username).await;
    let expected = if auto_reset { "Enabled" } else { "Disabled" };
    assert!(
        row.contains("Available") && row.contains(expected),
        "the new account's row: {row:?}"
    );
}

/// Edit account from the account's context menu on the Accounts tab: sets AutoReset.
pub async fn set_auto_reset(admin: &Browser, target: Target, username: &str, on: bool) {
    open_app(admin, target, true).await;
    admin.follow("Accounts").await;
    let row = admin
        .open_menu(username, &format!("Actions for {username}"))
        .await;
    admin.follow_in(Some(&row), "Edit account").await;
    admin.expect_heading("Edit account").await;
    assert!(
        admin.is_checked("Keep the current password").await,
        "editing keeps the password unless asked"
    );
    admin.set_checked("AutoReset enabled", on).await;
    admin.screenshot("edit-account-autoreset").await;
    admin.press("Save changes").await;
    admin.expect_text("The account was saved.").await;
    let row = admin.row_text(username).await;
    let expected = if on { "Enabled" } else { "Disabled" };
    assert!(row.contains(expected), "the edited account's row: {row:?}");
}

/// Opens the app from the navigation bar (Manage Apps for admins, Apps for members).
pub async fn open_app(browser: &Browser, target: Target, admin: bool) {
    let (nav, heading) = if admin {
        ("Manage Apps", "Manage Apps")
    } else {
        ("Apps", "Apps")
    };
    browser.navigate(nav).await;
    browser.expect_heading(heading).await;
    browser.follow(target.name).await;
    browser.expect_heading(target.name).await;
}

/// The password on a reveal page.
pub async fn shown_password(browser: &Browser) -> String {
    let password = browser.definition("Password").await;
    assert!(!password.trim().is_empty(), "an empty password is shown");
    password.trim().to_string()
}

/// Check out from the account's context menu on the app's page; returns the password the
/// page then shows.
pub async fn check_out(browser: &Browser, target: Target, username: &str) -> String {
    open_app(browser, target, false).await;
    let row = browser
        .open_menu(username, &format!("Actions for {username}"))
        .await;
    browser.press_in(Some(&row), "Check out").await;
    browser
        .expect_heading(&format!("{username} on {}", target.name))
        .await;
    browser
        .expect_text("You hold this account exclusively until")
        .await;
    shown_password(browser).await
}

/// Reveal from the context menu of an account the person holds.
pub async fn reveal(browser: &Browser, target: Target, username: &str) -> String {
    open_app(browser, target, false).await;
    let row = browser
        .open_menu(username, &format!("Actions for {username}"))
        .await;
    browser.press_in(Some(&row), "Reveal").await;
    browser
        .expect_heading(&format!("{username} on {}", target.name))
        .await;
    shown_password(browser).await
}

/// CheckIn credential from the account's context menu on the app's page.
pub async fn check_in(browser: &Browser, target: Target, username: &str) {
    open_app(browser, target, false).await;
    let row = browser
        .open_menu(username, &format!("Actions for {username}"))
        .await;
    browser.press_in(Some(&row), "CheckIn credential").await;
    browser.expect_heading(target.name).await;
}

/// On an app's Credentials & Policies tab, as an owner: names an admin in the app's policy.
pub async fn add_to_policy(owner: &Browser, admin: Person) {
    owner.fill("Add an admin to the policy", admin.email).await;
    owner.press("Add to policy").await;
    owner
        .expect_text(&format!("{} {}", admin.name, admin.email))
        .await;
}

/// Apps → the app → Add my credential, with a typed password; `admin_access` says whether
/// "Allow admin access to the password" stays ticked. Ends on the app's page.
pub async fn add_my_credential(
    member: &Browser,
    target: Target,
    username: &str,
    password: &str,
    admin_access: bool,
) {
    open_app(member, target, false).await;
    member.follow("Add my credential").await;
    member.expect_heading("Add my credential").await;
    member.fill("Username", username).await;
    assert!(
        member.is_checked("Type the password").await,
        "a personal credential's password is typed by default"
    );
    member.fill("Password", password).await;
    member.fill("Repeat the password", password).await;
    assert!(
        member
            .is_checked("Allow admin access to the password")
            .await,
        "admin access is allowed by default"
    );
    member
        .set_checked("Allow admin access to the password", admin_access)
        .await;
    member.screenshot("add-my-credential-filled").await;
    member.press("Save my credential").await;
    member.expect_heading(target.name).await;
    member
        .expect_text(if admin_access {
            "Your credential was saved. It is Managed"
        } else {
            "Your credential was saved. It is Unmanaged"
        })
        .await;
}
