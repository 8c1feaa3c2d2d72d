//! Journeys 2 and 4: the first seed, exclusive check-out — with JavaScript, and again with
//! JavaScript turned off in Chromium.

use std::time::Duration;

use keyholder::clock::Clock;

use super::driver::{Browser, BrowserOptions, E2eEnv};
use super::e2e_tests;
use super::steps::{
    ALICE, BOB, Person, Stage, Target, add_user, allow_person, check_in, check_out,
    create_exclusive_target, create_shared_account, open_app, reveal, set_auto_reset,
    set_up_organization,
};

e2e_tests!(
    journey_2_exclusive_checkout,
    journey_4_exclusive_checkout_without_javascript
);

async fn journey_2_exclusive_checkout(env: E2eEnv) {
    exclusive_checkout(env, "journey-2-exclusive-checkout", true).await;
}

async fn journey_4_exclusive_checkout_without_javascript(env: E2eEnv) {
    exclusive_checkout(env, "journey-4-exclusive-checkout-no-js", false).await;
}

const BILLING: Target = Target {
    name: "Billing DB",
    exclusive_minutes: 2,
};
const ACCOUNT: &str = "billing_admin";

/// How long the expiry sweep may take once the time is up.
const EXPIRY_PATIENCE: Duration = Duration::from_secs(20);

async fn exclusive_checkout(env: E2eEnv, journey: &str, javascript: bool) {
    let stage = Stage::new(env, journey, BrowserOptions { javascript }).await;

    // The owner sets up the organization, two members and an exclusive app.
    let owner = stage.browser("owner").await;
    set_up_organization(&owner, &stage.app, false).await;
    add_user(&owner, ALICE, "Member").await;
    add_user(&owner, BOB, "Member").await;
    create_exclusive_target(&owner, BILLING).await;
    owner.expect_heading(BILLING.name).await;
    allow_person(&owner, ALICE).await;
    allow_person(&owner, BOB).await;
    create_shared_account(&owner, ACCOUNT, true).await;
    owner.screenshot("accounts-tab").await;

    let alice = stage.browser("alice").await;
    super::steps::sign_in(&alice, ALICE).await;
    let bob = stage.browser("bob").await;
    super::steps::sign_in(&bob, BOB).await;

    // 1. AutoReset enabled, ended by CheckIn credential.
    let first = check_out(&alice, BILLING, ACCOUNT).await;
    assert_javascript(&alice, javascript).await;
    alice
        .expect_text("When it ends, the password is reset.")
        .await;
    alice.screenshot("checked-out").await;
    assert_eq!(
        reveal(&alice, BILLING, ACCOUNT).await,
        first,
        "Reveal shows the password of the check-out"
    );

    expect_locked_for(&bob, &stage, ALICE).await;
    bob.screenshot("sees-locked-by-alice").await;

    check_in(&alice, BILLING, ACCOUNT).await;
    // A Vault-only app's reset is done within the check-in itself.
    alice
        .expect_text("Checked in. The password was reset")
        .await;
    alice.screenshot("checked-in").await;
    if javascript {
        // While the password is reset the page keeps the row up to date by itself.
        alice
            .wait_for_row_in_place(ACCOUNT, "Available", Duration::from_secs(10))
            .await;
    } else {
        let row = alice.row_text(ACCOUNT).await;
        assert!(
            row.contains("Available") || row.contains("Reload the page to see."),
            "a Resetting account says what happens: {row:?}"
        );
    }
    wait_until_available(&bob, Duration::from_secs(10)).await;
    let second = check_out(&bob, BILLING, ACCOUNT).await;
    assert_ne!(
        second, first,
        "CheckIn credential with AutoReset enabled changes the password"
    );
    bob.screenshot("checked-out-after-reset").await;

    // 2. AutoReset enabled, the time runs out.
    expect_locked_for(&alice, &stage, BOB).await;
    stage.app.clock.advance(Duration::from_secs(
        u64::from(BILLING.exclusive_minutes + 1) * 60,
    ));
    wait_until_available(&alice, EXPIRY_PATIENCE).await;
    alice.screenshot("available-after-expiry").await;
    let third = check_out(&alice, BILLING, ACCOUNT).await;
    assert_ne!(
        third, second,
        "expiry with AutoReset enabled changes the password"
    );
    check_in(&alice, BILLING, ACCOUNT).await;
    wait_until_available(&alice, Duration::from_secs(10)).await;

    // 3. AutoReset disabled on Edit account: the password stays the same.
    set_auto_reset(&owner, BILLING, ACCOUNT, false).await;
    owner.screenshot("autoreset-disabled").await;

    let fourth = check_out(&alice, BILLING, ACCOUNT).await;
    alice
        .expect_text("AutoReset is disabled: the password stays the same when it ends.")
        .await;
    alice.screenshot("checked-out-autoreset-disabled").await;
    check_in(&alice, BILLING, ACCOUNT).await;
    alice
        .expect_text("The password was not changed: AutoReset is disabled for this account.")
        .await;
    alice.screenshot("checked-in-autoreset-disabled").await;
    wait_until_available(&bob, Duration::from_secs(10)).await;
    let fifth = check_out(&bob, BILLING, ACCOUNT).await;
    assert_eq!(
        fifth, fourth,
        "CheckIn credential with AutoReset disabled keeps the password"
    );

    expect_locked_for(&alice, &stage, BOB).await;
    stage.app.clock.advance(Duration::from_secs(
        u64::from(BILLING.exclusive_minutes + 1) * 60,
    ));
    wait_until_available(&alice, EXPIRY_PATIENCE).await;
    let sixth = check_out(&alice, BILLING, ACCOUNT).await;
    assert_eq!(
        sixth, fifth,
        "expiry with AutoReset disabled keeps the password"
    );
    check_in(&alice, BILLING, ACCOUNT).await;

    for browser in [alice, bob, owner] {
        browser.close().await;
    }
}

/// On the app's page, `viewer` sees the account held by `holder` with the end time, and its
/// menu offers nothing to do.
async fn expect_locked_for(viewer: &Browser, stage: &Stage, holder: Person) {
    open_app(viewer, BILLING, false).await;
    let row = viewer.row_text(ACCOUNT).await;
    assert!(
        row.contains("Checked out") && row.contains(&format!("by {} until", holder.name)),
        "the row shows who holds the account: {row:?}"
    );
    let until = viewer
        .client
        .find(fantoccini::Locator::XPath(&format!(
            "//tr[td[normalize-space(.)='{ACCOUNT}']]//time"
        )))
        .await
        .expect("the end time");
    let shown = until.text().await.expect("end time text");
    assert!(shown.contains("(in "), "the end time reads {shown:?}");
    let at = until
        .attr("datetime")
        .await
        .expect("datetime")
        .expect("a machine-readable end time");
    let at = chrono::DateTime::parse_from_rfc3339(&at).expect("an RFC 3339 end time");
    let left = at.signed_duration_since(stage.app.clock.now());
    assert!(
        left > chrono::Duration::zero()
            && left <= chrono::Duration::minutes(i64::from(BILLING.exclusive_minutes)),
        "the end time {at} is within the exclusive duration from now"
    );

    let row = viewer
        .open_menu(ACCOUNT, &format!("Actions for {ACCOUNT}"))
        .await;
    assert!(
        !viewer.offers(Some(&row), "Check out").await
            && !viewer.offers(Some(&row), "Reveal").await
            && !viewer.offers(Some(&row), "CheckIn credential").await,
        "someone else's exclusive check-out offers no action"
    );
    let menu = row.text().await.expect("menu text");
    assert!(
        menu.contains("Locked until the holder checks in"),
        "the open menu says why: {menu:?}"
    );
}

/// Reloads the app's page until the account is Available again.
async fn wait_until_available(viewer: &Browser, limit: Duration) {
    open_app(viewer, BILLING, false).await;
    viewer.wait_for_row(ACCOUNT, "Available", limit).await;
}

/// Proves which kind of browser this is: the copy button and the live countdown need scripts.
async fn assert_javascript(browser: &Browser, javascript: bool) {
    let copy = browser.offers(None, "Copy password").await;
    let notice = browser.text().await;
    if javascript {
        assert!(copy, "with JavaScript the Copy password button shows");
        assert!(
            !notice.contains(" UTC ("),
            "with JavaScript the end time is shown in local time: {notice}"
        );
    } else {
        assert!(
            !copy,
            "without JavaScript the Copy password button stays hidden"
        );
        assert!(
            notice.contains(" UTC (in "),
            "without JavaScript the server's end time shows: {notice}"
        );
    }
}
