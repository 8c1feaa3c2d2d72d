//! Journey 1: the first run — setup link, owner, sign-in, two members added under Users.

use super::driver::{BrowserOptions, E2eEnv};
use super::e2e_tests;
use super::steps::{ALICE, BOB, OWNER, Stage, add_user, set_up_organization, sign_in, sign_out};

e2e_tests!(journey_1_first_run);

async fn journey_1_first_run(env: E2eEnv) {
    let stage = Stage::new(
        env,
        "journey-1-first-run",
        BrowserOptions { javascript: true },
    )
    .await;
    let owner = stage.browser("owner").await;

    set_up_organization(&owner, &stage.app, true).await;
    owner.expect_text("You are an owner of Acme Corp.").await;
    owner.screenshot("dashboard-after-setup").await;

    // The setup link is single-use.
    let link = stage.app.setup_link.clone().expect("setup link");
    sign_out(&owner, OWNER).await;
    owner.screenshot("signed-out").await;
    owner.visit(&link).await;
    owner.expect_heading("Keyholder is already set up").await;
    owner.screenshot("setup-link-used").await;
    owner.follow("Sign in").await;
    owner.expect_heading("Sign in to Keyholder").await;

    owner.fill("Email", OWNER.email).await;
    owner.fill("Password", "not the password").await;
    owner.press("Sign in").await;
    owner.expect_heading("Sign in to Keyholder").await;
    assert_eq!(
        owner.value("Email").await,
        OWNER.email,
        "the form comes back filled in"
    );
    owner.screenshot("sign-in-wrong-password").await;

    // Keyboard only: Tab to each field (every stop shows where the focus is), type, Enter.
    owner.visit("/login").await;
    owner.expect_heading("Sign in to Keyholder").await;
    owner.tab_to("Email", 8).await;
    owner.keys(OWNER.email).await;
    owner.tab_to("Password", 3).await;
    owner.keys(OWNER.password).await;
    owner.keys("\u{E007}").await;
    owner.expect_heading("Dashboard").await;
    // The skip link comes first and leads past the navigation; the account menu opens and its
    // entries are reached with the keyboard too.
    owner.visit("/").await;
    assert_eq!(owner.tab_to("Skip to content", 1).await, 1);
    owner.tab_to(OWNER.name, 12).await;
    owner.keys("\u{E007}").await;
    owner.tab_to("Change password", 3).await;
    owner.keys("\u{E007}").await;
    owner.expect_heading("Change password").await;
    owner.screenshot("keyboard-only-change-password").await;

    add_user(&owner, ALICE, "Member").await;
    add_user(&owner, BOB, "Member").await;
    owner.screenshot("users-with-two-members").await;

    // A mistake on Add user comes back with a message beside the field.
    owner.follow("Add user").await;
    owner.expect_heading("Add user").await;
    owner.fill("Name", "Carol Clark").await;
    owner.fill("Email", "not an email").await;
    owner.fill("Initial password", "short").await;
    owner.press("Add user").await;
    owner.expect_heading("Add user").await;
    owner
        .expect_text("Please correct the fields marked below.")
        .await;
    assert_eq!(owner.value("Name").await, "Carol Clark");
    owner.screenshot("add-user-errors").await;

    // A member signs in with the initial password and sees a member's pages.
    let alice = stage.browser("alice").await;
    sign_in(&alice, ALICE).await;
    alice.expect_text("You are a member of Acme Corp.").await;
    assert!(
        !alice.offers(None, "Users").await && !alice.offers(None, "Manage Apps").await,
        "members do not manage people or apps"
    );
    alice.screenshot("member-dashboard").await;

    alice.close().await;
    owner.close().await;
}
