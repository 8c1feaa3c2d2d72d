//! Exclusive and regular check-out, CheckIn credential, expiry and resets on a real
//! PostgreSQL target — the first seed, through HTTP.

use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;

use crate::helpers::{
    Browser, Engine, OWNER_EMAIL, TestApp, checkout_id_in, engine_tests, revealed_password,
    spawn_app_with,
};

engine_tests!(
    seed_one_with_a_real_postgresql_target,
    overdue_check_outs_are_reset_after_a_restart,
    a_refusing_target_ends_out_of_sync_and_loses_nothing,
    a_crash_after_the_change_converges_after_restart,
    fifty_simultaneous_check_outs_make_exactly_one_holder,
    regular_check_outs_share_and_reset_after_the_last,
    a_crowd_holding_one_account_is_counted_not_listed,
    someone_holding_many_accounts_turns_pages_of_them,
    a_vault_only_check_out_that_runs_out_is_reset_as_it_ends,
    a_check_out_that_waited_starts_after_the_check_in_it_waited_for,
    only_the_holder_checks_in_and_owners_force_only_when_allowed,
    holders_are_reminded_before_the_end,
    an_early_check_in_withdraws_the_expiry_job,
);

const FAST: &[(&str, &str)] = &[
    ("KEYHOLDER_SWEEP_INTERVAL", "1s"),
    // The tests move the clock by hours; sessions must outlast that.
    ("KEYHOLDER_SESSION_IDLE_TIMEOUT", "1d"),
    ("KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT", "7d"),
    ("KEYHOLDER_LOGIN_ATTEMPTS_PER_ADDRESS", "1000"),
];

/// A PostgreSQL server playing the target system: an admin login with CREATEROLE and one role
/// whose password Keyholder manages. Both are dropped at the end.
struct PgTarget {
    server: String,
    admin: String,
    admin_password: String,
    role: String,
}

impl PgTarget {
    fn create(test: &str) -> Option<PgTarget> {
        let server = match std::env::var("KEYHOLDER_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if std::env::var_os("KEYHOLDER_TEST_REQUIRE_POSTGRES").is_some() {
                    panic!("{test}: a PostgreSQL target is required (KEYHOLDER_TEST_POSTGRES_URL)");
                }
                crate::helpers::skipped(&format!(
                    "SKIPPED: {test} needs a PostgreSQL server as its target system (set KEYHOLDER_TEST_POSTGRES_URL)"
                ));
                return None;
            }
        };
        let suffix = keyholder::security::tokens::random_token(6)
            .to_lowercase()
            .replace(['-', '_'], "x");
        let target = PgTarget {
            server,
            admin: format!("keyholder_target_admin_{suffix}"),
            admin_password: "admin-Pa55word".into(),
            role: format!("keyholder_target_app_{suffix}"),
        };
        target.sql(&format!(
            "CREATE ROLE {} LOGIN CREATEROLE PASSWORD '{}' IN ROLE keyholder_targets",
            target.admin, target.admin_password
        ));
        target.sql(&format!(
            "CREATE ROLE {} LOGIN PASSWORD 'Initial-Pa55word' IN ROLE keyholder_targets",
            target.role
        ));
        assert!(
            !target.logs_in(&target.role, "not the password"),
            "PostgreSQL accepts any password for {}: run .ci/postgres-password-auth once so target roles need passwords",
            target.role
        );
        Some(target)
    }

    fn sql(&self, statement: &str) {
        let mut conn = diesel::PgConnection::establish(&self.server).expect("PostgreSQL");
        diesel::sql_query(statement)
            .execute(&mut conn)
            .expect(statement);
    }

    fn logs_in(&self, role: &str, password: &str) -> bool {
        crate::helpers::pg_logs_in(&self.server, role, password)
    }
}

impl Drop for PgTarget {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.server) {
            for role in [&self.role, &self.admin] {
                let _ = diesel::sql_query(format!("DROP ROLE IF EXISTS {role}")).execute(&mut conn);
            }
        }
    }
}

/// Waits (up to 15 s) until `path` shows `text`.
async fn wait_for(browser: &Browser, path: &str, text: &str) {
    for _ in 0..150 {
        if browser.get(path).await.body.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{path} never showed {text:?}:\n{}",
        browser.get(path).await.body
    );
}

/// Owner, two allowed members, and an exclusive app with one shared account.
struct Scene {
    app: TestApp,
    owner: Browser,
    alice: Browser,
    bob: Browser,
    target: i64,
    account: i64,
}

async fn scene(
    engine: &Engine,
    connector: &[(&str, &str)],
    password: &str,
    checkout_type: &str,
) -> Scene {
    let app = spawn_app_with(engine, FAST).await;
    let owner = app.set_up().await;
    let (alice, _) = app
        .user_browser(&owner, "Alice Anders", "alice@example.com", "member")
        .await;
    let (bob, _) = app
        .user_browser(&owner, "Bob Berg", "bob@example.com", "member")
        .await;
    let mut fields = vec![
        ("checkout_type", checkout_type),
        ("exclusive_minutes", "60"),
    ];
    fields.extend_from_slice(connector);
    let target = app
        .create_target(&owner, "Production PostgreSQL", &fields)
        .await;
    for email in ["alice@example.com", "bob@example.com", OWNER_EMAIL] {
        app.allow(&owner, target, email).await;
    }
    let username = connector
        .iter()
        .find(|(k, _)| *k == "username")
        .map(|(_, v)| *v)
        .unwrap_or("app_user");
    let account = app
        .create_shared_account(&owner, target, username, password)
        .await;
    Scene {
        app,
        owner,
        alice,
        bob,
        target,
        account,
    }
}

fn pg_fields(pg: &PgTarget) -> Vec<(&str, &str)> {
    vec![
        ("connector", "postgres"),
        ("pg_host", "127.0.0.1"),
        ("pg_port", "5432"),
        ("pg_database", "postgres"),
        ("pg_admin_username", pg.admin.as_str()),
        ("pg_admin_password", pg.admin_password.as_str()),
        ("username", pg.role.as_str()),
    ]
}

async fn seed_one_with_a_real_postgresql_target(engine: Engine) {
    let Some(pg) = PgTarget::create("checkout::seed_one_with_a_real_postgresql_target") else {
        return;
    };
    let s = scene(&engine, &pg_fields(&pg), "Initial-Pa55word", "exclusive").await;
    let overview = format!("/apps/{}", s.target);

    // Alice checks out and logs into PostgreSQL with what she sees.
    let page = s.alice.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = revealed_password(&page.body).unwrap();
    assert_eq!(first, "Initial-Pa55word");
    assert!(pg.logs_in(&pg.role, &first));
    let alice_checkout = checkout_id_in(&page.body).unwrap();

    // Bob is told who holds it and until when; he cannot check out or reveal. Nor can the
    // owner, who may not edit or delete it either.
    let page = s.bob.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_contains("Alice Anders has checked this account out exclusively until");
    s.bob.get(&overview).await.assert_contains("Alice Anders");
    assert_eq!(s.bob.reveal(s.account).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.owner.check_out(s.account).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        s.owner.reveal(s.account).await.status,
        StatusCode::FORBIDDEN
    );
    let edit = format!("/accounts/{}/edit", s.account);
    let page = s.owner.get(&edit).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_contains("Alice Anders");
    assert_eq!(
        s.owner
            .get(&format!("/accounts/{}/delete", s.account))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Bob's forged CheckIn of Alice's check-out is refused and changes nothing.
    assert_eq!(
        s.bob.check_in(alice_checkout).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.bob.check_out(s.account).await.status,
        StatusCode::CONFLICT
    );

    // Alice checks in early: the password is reset on the server.
    s.alice
        .check_in(alice_checkout)
        .await
        .assert_redirects_to(&overview);
    wait_for(&s.bob, &overview, "state-ok\">Available").await;
    assert!(
        !pg.logs_in(&pg.role, &first),
        "the old password must no longer log in"
    );
    let page = s.bob.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let second = revealed_password(&page.body).unwrap();
    assert_ne!(second, first);
    assert!(pg.logs_in(&pg.role, &second), "the new password logs in");

    // Bob's time runs out: the sweep ends it and resets again.
    s.app.clock.advance(Duration::from_secs(61 * 60));
    wait_for(&s.alice, &overview, "state-ok\">Available").await;
    assert!(!pg.logs_in(&pg.role, &second));
    let page = s.alice.check_out(s.account).await;
    let third = revealed_password(&page.body).unwrap();
    assert_ne!(third, second);
    assert!(pg.logs_in(&pg.role, &third));
    let audit = s.owner.get(&format!("/audit?app={}", s.target)).await;
    audit.assert_contains("Check-out expired for");
    audit.assert_contains("Password reset");

    // With AutoReset disabled the password stays the same at check-in.
    let checkout = checkout_id_in(&page.body).unwrap();
    s.alice.check_in(checkout).await;
    wait_for(&s.owner, &overview, "state-ok\">Available").await;
    let page = s.alice.check_out(s.account).await;
    let fourth = revealed_password(&page.body).unwrap();
    let checkout = checkout_id_in(&page.body).unwrap();
    s.alice.check_in(checkout).await;
    wait_for(&s.owner, &overview, "state-ok\">Available").await;
    s.owner
        .submit(
            &edit,
            &edit,
            &[
                ("username", &pg.role),
                ("password_mode", "keep"),
                ("auto_reset", ""),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{}/accounts", s.target));
    let page = s.bob.check_out(s.account).await;
    let fifth = revealed_password(&page.body).unwrap();
    let checkout = checkout_id_in(&page.body).unwrap();
    s.bob.check_in(checkout).await;
    s.owner
        .get(&overview)
        .await
        .assert_contains("state-ok\">Available");
    let page = s.alice.check_out(s.account).await;
    assert_eq!(
        revealed_password(&page.body).unwrap(),
        fifth,
        "AutoReset disabled: unchanged"
    );
    assert!(pg.logs_in(&pg.role, &fifth));
    let _ = fourth;
}

async fn overdue_check_outs_are_reset_after_a_restart(engine: Engine) {
    let s = scene(&engine, &[], "Before-Restart-1", "exclusive").await;
    let page = s.alice.check_out(s.account).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("Before-Restart-1")
    );
    s.app.stop().await;

    // The server was down when the deadline passed.
    let again = s.app.restart().await;
    again.clock.advance(Duration::from_secs(61 * 60));
    let bob = again.browser();
    bob.sign_in("bob@example.com", "member password 123").await;
    let overview = format!("/apps/{}", s.target);
    wait_for(&bob, &overview, "state-ok\">Available").await;
    let page = bob.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_ne!(
        revealed_password(&page.body).as_deref(),
        Some("Before-Restart-1")
    );
}

async fn a_refusing_target_ends_out_of_sync_and_loses_nothing(engine: Engine) {
    let Some(pg) =
        PgTarget::create("checkout::a_refusing_target_ends_out_of_sync_and_loses_nothing")
    else {
        return;
    };
    let mut fields = pg_fields(&pg);
    for field in fields.iter_mut() {
        if field.0 == "pg_admin_password" {
            field.1 = "the-wrong-admin-password";
        }
    }
    let s = scene(&engine, &fields, "Initial-Pa55word", "exclusive").await;
    let accounts_tab = format!("/apps/{}/accounts", s.target);
    let page = s.alice.check_out(s.account).await;
    s.alice.check_in(checkout_id_in(&page.body).unwrap()).await;

    // Every attempt is refused; with time passing, the retries run out.
    for _ in 0..8 {
        s.app.clock.advance(Duration::from_secs(10 * 60));
        tokio::time::sleep(Duration::from_millis(1300)).await;
        if s.owner
            .get(&accounts_tab)
            .await
            .body
            .contains("Out of sync")
        {
            break;
        }
    }
    let tab = s.owner.get(&accounts_tab).await;
    tab.assert_contains("Out of sync");
    tab.assert_contains("password authentication failed");
    // Nothing is lost: the system still has the old password, and Keyholder says so.
    assert!(pg.logs_in(&pg.role, "Initial-Pa55word"));
    let page = s.bob.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_contains("out of sync");
    s.owner.get("/").await.assert_contains("could not be reset");
    // Owners and admins are told, members are not.
    for member in [&s.alice, &s.bob] {
        let page = member.get("/").await;
        assert!(!page.body.contains("could not be reset"), "{}", page.body);
    }

    // An admin fixes the connector and retries: the pending password goes through.
    let settings = format!("/apps/{}/settings", s.target);
    let form = s.owner.get(&settings).await;
    form.assert_contains("A password is stored (encrypted)");
    s.owner
        .submit(
            &settings,
            &settings,
            &[
                ("name", "Production PostgreSQL"),
                ("connector", "postgres"),
                ("checkout_type", "exclusive"),
                ("exclusive_minutes", "60"),
                ("policy_length", "20"),
                ("policy_lower", "on"),
                ("policy_lower_min", "1"),
                ("policy_digits", "on"),
                ("policy_digits_min", "1"),
                ("pg_host", "127.0.0.1"),
                ("pg_port", "5432"),
                ("pg_database", "postgres"),
                ("pg_admin_username", &pg.admin),
                ("pg_admin_password", &pg.admin_password),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{}", s.target));
    s.owner
        .submit(
            &accounts_tab,
            &format!("/accounts/{}/retry-reset", s.account),
            &[],
        )
        .await
        .assert_redirects_to(&accounts_tab);
    wait_for(&s.owner, &accounts_tab, "state-ok\">Available").await;
    assert!(!pg.logs_in(&pg.role, "Initial-Pa55word"));
    let page = s.bob.check_out(s.account).await;
    let new = revealed_password(&page.body).unwrap();
    assert!(pg.logs_in(&pg.role, &new));
}

async fn a_crash_after_the_change_converges_after_restart(engine: Engine) {
    let Some(pg) = PgTarget::create("checkout::a_crash_after_the_change_converges_after_restart")
    else {
        return;
    };
    let s = scene(&engine, &pg_fields(&pg), "Initial-Pa55word", "exclusive").await;
    let page = s.alice.check_out(s.account).await;
    let checkout = checkout_id_in(&page.body).unwrap();
    s.app.stop().await;

    // What the server had done when it died: the check-in was recorded with its pending
    // password, the system had accepted that password, but the vault was not yet told.
    let pending = {
        use keyholder::vault::{MasterKey, Vault};
        let mut conn = s.app.db();
        let (master, _) = MasterKey::load(
            &keyholder::config::MasterKeySource::File {
                path: s.app.data_dir.join("master.key"),
                create_if_missing: false,
            },
            false,
        )
        .unwrap();
        let now = chrono::Utc::now().naive_utc();
        let vault = Vault::open(&mut conn, &master, now).unwrap();
        keyholder::lending::end_checkout(
            &mut conn,
            &vault,
            checkout,
            keyholder::models::EndReason::CheckedIn,
            None,
            now,
            None,
        )
        .unwrap();
        let account =
            keyholder::models::Account::find(&mut conn, keyholder::domain::AccountId(s.account))
                .unwrap()
                .unwrap();
        let pending = vault
            .decrypt(
                &mut conn,
                account.pending_secret.as_ref().unwrap(),
                keyholder::models::account::pending_slot(account.id),
            )
            .unwrap()
            .to_string();
        pg.sql(&format!(
            "ALTER ROLE {} PASSWORD '{}'",
            pg.role,
            pending.replace('\'', "''")
        ));
        pending
    };
    assert!(pg.logs_in(&pg.role, &pending));
    assert!(!pg.logs_in(&pg.role, "Initial-Pa55word"));

    let again = s.app.restart().await;
    let bob = again.browser();
    bob.sign_in("bob@example.com", "member password 123").await;
    let overview = format!("/apps/{}", s.target);
    wait_for(&bob, &overview, "state-ok\">Available").await;
    let page = bob.check_out(s.account).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some(pending.as_str()),
        "the system's password is the vault's"
    );
    assert!(pg.logs_in(&pg.role, &pending));
}

async fn fifty_simultaneous_check_outs_make_exactly_one_holder(engine: Engine) {
    let s = scene(&engine, &[], "Contended-Pa55", "exclusive").await;
    // Fifty people, each signed in in their own browser and allowed on the app.
    let hash =
        keyholder::security::password::hash_password_blocking("member password 123").unwrap();
    {
        use diesel::ExpressionMethods;
        use keyholder::schema::{target_users, users};
        let mut conn = s.app.db();
        let now = chrono::Utc::now().naive_utc();
        for i in 0..50 {
            let id: i64 = diesel::insert_into(users::table)
                .values((
                    users::organization_id.eq(1_i64),
                    users::email.eq(format!("racer{i}@example.com")),
                    users::name.eq(format!("Racer {i}")),
                    users::role.eq("member"),
                    users::password_hash.eq(&hash),
                    users::disabled.eq(false),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .returning(users::id)
                .get_result(&mut conn)
                .unwrap();
            diesel::insert_into(target_users::table)
                .values((
                    target_users::target_id.eq(s.target),
                    target_users::user_id.eq(id),
                ))
                .execute(&mut conn)
                .unwrap();
        }
    }
    let mut racers = Vec::new();
    for i in 0..50 {
        let browser = s.app.browser();
        browser
            .sign_in(&format!("racer{i}@example.com"), "member password 123")
            .await
            .assert_redirects_to("/");
        let token = browser.get("/").await.csrf();
        racers.push((browser, token));
    }
    let account = s.account;
    let handles: Vec<_> = racers
        .into_iter()
        .map(|(browser, token)| {
            tokio::spawn(async move {
                browser
                    .post(
                        &format!("/accounts/{account}/checkout"),
                        &[("csrf_token", &token)],
                    )
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    let granted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((granted, refused), (1, 49), "{statuses:?}");
    let mut conn = s.app.db();
    let active: i64 = {
        use diesel::{ExpressionMethods, QueryDsl};
        use keyholder::schema::checkouts;
        checkouts::table
            .filter(checkouts::account_id.eq(account))
            .filter(checkouts::ended_at.is_null())
            .count()
            .get_result(&mut conn)
            .unwrap()
    };
    assert_eq!(active, 1);
    // A refusal is an answer, not a failed statement (which PostgreSQL would log as an error).
    let now = chrono::Utc::now().naive_utc();
    let again = keyholder::models::Checkout::insert(
        &mut conn,
        keyholder::models::checkout::NewCheckout {
            organization: keyholder::domain::OrganizationId(1),
            account: keyholder::domain::AccountId(account),
            target: keyholder::domain::TargetId(s.target),
            user: keyholder::domain::UserId(1),
            mode: keyholder::domain::CheckoutType::Exclusive,
            started_at: now,
            expires_at: now + chrono::Duration::minutes(5),
        },
    );
    assert!(matches!(again, Ok(None)), "{again:?}");
}

async fn regular_check_outs_share_and_reset_after_the_last(engine: Engine) {
    let s = scene(&engine, &[], "Shared-Pa55word", "regular").await;
    let overview = format!("/apps/{}", s.target);
    let a = s.alice.check_out(s.account).await;
    let b = s.bob.check_out(s.account).await;
    assert_eq!(
        revealed_password(&a.body).as_deref(),
        Some("Shared-Pa55word")
    );
    assert_eq!(
        revealed_password(&b.body).as_deref(),
        Some("Shared-Pa55word")
    );
    // Holding it twice is refused politely.
    assert_eq!(
        s.alice.check_out(s.account).await.status,
        StatusCode::CONFLICT
    );
    s.alice.check_in(checkout_id_in(&a.body).unwrap()).await;
    // Bob still holds it: no reset yet, and Alice is told why.
    s.alice.get(&overview).await.assert_contains(
        "Checked in. The password was not changed: someone else still has it checked out",
    );
    assert_eq!(
        revealed_password(&s.bob.reveal(s.account).await.body).as_deref(),
        Some("Shared-Pa55word")
    );
    s.bob.check_in(checkout_id_in(&b.body).unwrap()).await;
    // A Vault-only app's reset is done within the check-in: Available at once, nothing queued.
    s.bob
        .get(&overview)
        .await
        .assert_contains("Checked in. The password was reset");
    s.owner
        .get(&overview)
        .await
        .assert_contains("state-ok\">Available");
    let page = s.alice.check_out(s.account).await;
    assert_ne!(
        revealed_password(&page.body).as_deref(),
        Some("Shared-Pa55word")
    );
}

/// Seven people hold a regular account at once: pages name the first three and count the
/// rest, a holder reads "by you" and how many others, and a refused delete says the same.
async fn a_crowd_holding_one_account_is_counted_not_listed(engine: Engine) {
    let s = scene(&engine, &[], "Shared-Pa55word", "regular").await;
    let overview = format!("/apps/{}", s.target);
    let holds = |page: crate::helpers::Page| {
        assert_eq!(
            revealed_password(&page.body).as_deref(),
            Some("Shared-Pa55word"),
            "{}",
            page.body
        )
    };
    holds(s.alice.check_out(s.account).await);
    holds(s.bob.check_out(s.account).await);
    let mut crowd = Vec::new();
    for n in 1..=5 {
        let email = format!("holder{n}@example.com");
        // The last is an admin, who may try to delete the account.
        let role = if n == 5 { "admin" } else { "member" };
        let (browser, id) = s
            .app
            .user_browser(&s.owner, &format!("Holder Number{n}"), &email, role)
            .await;
        s.app.allow(&s.owner, s.target, &email).await;
        holds(browser.check_out(s.account).await);
        crowd.push((browser, id));
    }
    // The statement itself reads three holders and the viewer's own, not seven.
    let found = |viewer: i64| {
        let mut conn = s.app.db();
        keyholder::models::Checkout::active_for_accounts(
            &mut conn,
            &[s.account],
            keyholder::domain::UserId(viewer),
        )
        .unwrap()
        .into_iter()
        .map(|a| (a.holder_name, a.holders))
        .collect::<Vec<_>>()
    };
    let first_three = ["Alice Anders", "Bob Berg", "Holder Number1"].map(|n| (n.to_string(), 7));
    assert_eq!(found(0), first_three);
    let mut with_mine = first_three.to_vec();
    with_mine.push(("Holder Number5".to_string(), 7));
    assert_eq!(found(crowd[4].1), with_mine);
    let named = |page: &crate::helpers::Page| {
        [
            "Alice Anders",
            "Bob Berg",
            "Holder Number1",
            "Holder Number2",
            "Holder Number5",
        ]
        .map(|name| page.body.contains(&format!("{name} until")))
    };
    // The owner holds nothing: the three who took it first, then a count.
    for path in [overview.as_str(), "/"] {
        let page = s.owner.get(path).await;
        page.assert_contains("and 4 others");
        assert_eq!(named(&page), [true, true, true, false, false], "{path}");
    }
    // A holder is told it is theirs, and how many others have it too.
    let page = s.alice.get(&overview).await;
    page.assert_contains("by <strong>you</strong> until");
    page.assert_contains("6 other people hold it too");
    assert_eq!(named(&page), [false; 5]);
    let page = crowd[4].0.get("/").await;
    page.assert_contains("6 other people hold it too");
    // The last one to take it, deleting: "you", the first three others and the rest counted.
    let page = crowd[4]
        .0
        .get(&format!("/accounts/{}/delete", s.account))
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    page.assert_contains(
        "is checked out by you, Alice Anders, Bob Berg, Holder Number1 and 3 others. \
         It can be deleted once it is checked in.",
    );
    // Fewer holders, fewer names and no count.
    for (browser, _) in &crowd {
        let mine = checkout_id_in(&browser.get(&overview).await.body).unwrap();
        browser.check_in(mine).await;
    }
    let page = s.owner.get(&overview).await;
    assert!(!page.body.contains("others"), "{}", page.body);
    assert_eq!(named(&page), [true, true, false, false, false]);
}

/// My check-outs on the dashboard turns pages, soonest to end first, whatever page the shared
/// accounts are on; an account held on another page is listed there only.
async fn someone_holding_many_accounts_turns_pages_of_them(engine: Engine) {
    let app = spawn_app_with(&engine, FAST).await;
    let owner = app.set_up().await;
    let (mia, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let long = app
        .create_target(&owner, "Long shift", &[("exclusive_minutes", "480")])
        .await;
    let short = app
        .create_target(&owner, "Short shift", &[("exclusive_minutes", "30")])
        .await;
    app.allow(&owner, long, "mia@example.com").await;
    app.allow(&owner, short, "mia@example.com").await;
    let mut accounts = Vec::new();
    for i in 0..11 {
        accounts.push(
            app.create_shared_account(&owner, long, &format!("long{i:02}"), "Shared-Pa55word")
                .await,
        );
    }
    let brief = app
        .create_shared_account(&owner, short, "brief", "Shared-Pa55word")
        .await;
    // The long ones first: the short one, taken last, ends first.
    for account in accounts.iter().chain([&brief]) {
        let page = mia.check_out(*account).await;
        assert!(checkout_id_in(&page.body).is_some(), "{}", page.body);
    }
    let held = |body: &str| -> Vec<String> {
        let start = body.find("My check-outs").unwrap();
        let end = body.find("Shared accounts you can use").unwrap();
        let mut names = Vec::new();
        let mut rest = &body[start..end];
        while let Some(at) = rest.find("<td><strong>") {
            rest = &rest[at + "<td><strong>".len()..];
            names.push(rest[..rest.find('<').unwrap()].to_string());
        }
        names
    };
    let first = mia.get("/").await;
    first.assert_contains("12 check-outs, soonest to end first · page 1 of 2");
    first.assert_contains("My check-outs <span class=\"badge\">12</span>");
    first.assert_contains("href=\"/?held=2\"");
    let mut expected = vec!["brief".to_string()];
    expected.extend((0..9).map(|i| format!("long{i:02}")));
    assert_eq!(held(&first.body), expected);
    // long09 and long10 are among the shared accounts, held by Mia, but not listed as hers
    // on this page.
    let shared = &first.body[first.body.find("Shared accounts you can use").unwrap()..];
    assert!(shared.contains(">long10<"), "{shared}");
    // The second page has the rest, and keeps the shared accounts' page.
    let second = mia.get("/?held=2&shared=1").await;
    assert_eq!(held(&second.body), ["long09", "long10"]);
    second.assert_contains("href=\"/\" rel=\"prev\"");
    // Held accounts come with the page of them, not with the shared accounts listed.
    let alone = mia.get("/?held=2&shared=2").await;
    alone.assert_contains("12 accounts, on 1 page: this page is past the last.");
    assert_eq!(held(&alone.body), ["long09", "long10"]);
    alone.assert_contains("href=\"/?shared=2\" rel=\"prev\"");
    let past = mia.get("/?held=9").await;
    past.assert_contains("You hold 12 accounts, on 2 pages: this page is past the last.");
    assert!(held(&past.body).is_empty());
    // Checking one in moves the next one up.
    let page = mia.get(&format!("/apps/{short}")).await;
    mia.check_in(checkout_id_in(&page.body).unwrap()).await;
    let after = mia.get("/").await;
    assert_eq!(
        held(&after.body),
        (0..10).map(|i| format!("long{i:02}")).collect::<Vec<_>>()
    );
    after.assert_contains("11 check-outs, soonest to end first · page 1 of 2");
}

/// A Vault-only app has no system to change: when a check-out runs out, the same transaction
/// that ends it makes a new password current, and the account never shows Resetting.
async fn a_vault_only_check_out_that_runs_out_is_reset_as_it_ends(engine: Engine) {
    use diesel::QueryDsl;
    use keyholder::schema::accounts;
    let s = scene(&engine, &[], "Expiring-Pa55word", "exclusive").await;
    let overview = format!("/apps/{}", s.target);
    let page = s.alice.check_out(s.account).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("Expiring-Pa55word")
    );
    s.app.clock.advance(Duration::from_secs(61 * 60));
    let audit = format!("/audit?app={}", s.target);
    wait_for(&s.owner, &audit, "Check-out expired for").await;
    let trail = s.owner.get(&audit).await;
    trail.assert_contains("; password reset<");
    assert!(
        !trail.body.contains("password reset started"),
        "{}",
        trail.body
    );
    trail.assert_contains("vault connector, verified");
    // Newest first: the reset, then the end of the check-out it followed.
    assert!(
        trail.body.find("vault connector, verified") < trail.body.find("Check-out expired for"),
        "{}",
        trail.body
    );
    let (state, pending): (String, Option<Vec<u8>>) = accounts::table
        .find(s.account)
        .select((accounts::state, accounts::pending_secret))
        .first(&mut s.app.db())
        .unwrap();
    assert_eq!((state.as_str(), pending), ("available", None));
    s.owner
        .get(&overview)
        .await
        .assert_contains("state-ok\">Available");
    let page = s.bob.check_out(s.account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let next = revealed_password(&page.body).unwrap();
    assert_ne!(next, "Expiring-Pa55word");
}

/// A check-out request reads the time before it gets the database's lock; one that waited for
/// the previous holder's check-in can carry an earlier time. On record it starts when that
/// check-in ended, never before, and keeps its full time limit.
async fn a_check_out_that_waited_starts_after_the_check_in_it_waited_for(engine: Engine) {
    use keyholder::domain::{AccountId, EmailAddress, TargetId};
    use keyholder::models::{Account, Checkout, Target, User};
    let s = scene(&engine, &[], "Queue-Pa55word", "exclusive").await;
    let page = s.alice.check_out(s.account).await;
    let first = checkout_id_in(&page.body).unwrap();
    s.app.clock.advance(Duration::from_secs(10 * 60));
    s.alice.check_in(first).await;

    let mut conn = s.app.db();
    let ended = Checkout::find(&mut conn, first)
        .unwrap()
        .unwrap()
        .ended_at
        .expect("checked in");
    let bob = User::with_password_hash(&mut conn, &EmailAddress::parse("bob@example.com").unwrap())
        .unwrap()
        .unwrap()
        .0;
    let account = Account::find(&mut conn, AccountId(s.account))
        .unwrap()
        .unwrap();
    let target = Target::find(&mut conn, TargetId(s.target))
        .unwrap()
        .unwrap();
    let read_before_the_lock = ended - chrono::Duration::milliseconds(400);
    let second = keyholder::lending::check_out(
        &mut conn,
        &bob,
        &account,
        &target,
        read_before_the_lock,
        None,
    )
    .unwrap()
    .expect("granted");
    assert_eq!(second.started_at, ended, "starts when the check-in ended");
    assert_eq!(
        second.expires_at - second.started_at,
        chrono::Duration::minutes(60),
        "keeps its whole time limit"
    );
    let stored = Checkout::find(&mut conn, second.id).unwrap().unwrap();
    assert_eq!(
        (stored.started_at, stored.expires_at),
        (second.started_at, second.expires_at)
    );
}

/// A check-out's expiry job waits in the queue for the end time; the holder's early check-in
/// withdraws it (moments later, in the background), and a refused check-in by someone else
/// leaves it waiting.
async fn an_early_check_in_withdraws_the_expiry_job(engine: Engine) {
    let s = scene(&engine, &[], "Early-Pa55word", "exclusive").await;
    let mut queue = crate::jobs::Queue::open(&s.app);
    let page = s.alice.check_out(s.account).await;
    let checkout = checkout_id_in(&page.body).unwrap();
    let expiry = format!("expire-checkout-{checkout}");
    assert_eq!(queue.statuses_of(&expiry), ["Pending"], "waits for the end");
    assert_eq!(s.bob.check_in(checkout).await.status, StatusCode::FORBIDDEN);
    // A withdrawal would have happened within milliseconds.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.statuses_of(&expiry), ["Pending"], "still waiting");
    s.alice
        .check_in(checkout)
        .await
        .assert_redirects_to(&format!("/apps/{}", s.target));
    queue
        .wait_until_gone(&expiry, "withdrawn after the check-in")
        .await;
    // The next check-out has an expiry job of its own.
    let page = s.bob.check_out(s.account).await;
    let next = checkout_id_in(&page.body).unwrap();
    assert_eq!(
        queue.statuses_of(&format!("expire-checkout-{next}")),
        ["Pending"]
    );
}

async fn only_the_holder_checks_in_and_owners_force_only_when_allowed(engine: Engine) {
    let s = scene(&engine, &[], "Force-Pa55word", "exclusive").await;
    let mut queue = crate::jobs::Queue::open(&s.app);
    let page = s.alice.check_out(s.account).await;
    let checkout = checkout_id_in(&page.body).unwrap();
    let expiry = format!("expire-checkout-{checkout}");
    let accounts_tab = format!("/apps/{}/accounts", s.target);
    // Off by default.
    assert_eq!(
        s.owner
            .submit(&accounts_tab, &format!("/checkouts/{checkout}/force"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.owner.check_in(checkout).await.status,
        StatusCode::FORBIDDEN
    );
    s.owner
        .submit(
            "/organization",
            "/organization",
            &[("allow_force_checkin", "on")],
        )
        .await
        .assert_redirects_to("/organization");
    s.owner
        .get(&accounts_tab)
        .await
        .assert_contains("Force check-in");
    // Admins who are not owners still cannot.
    let (admin, _) = s
        .app
        .user_browser(&s.owner, "Adam Admin", "adam@example.com", "admin")
        .await;
    assert_eq!(
        admin
            .submit(&accounts_tab, &format!("/checkouts/{checkout}/force"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.statuses_of(&expiry), ["Pending"], "refusals leave it");
    s.owner
        .submit(&accounts_tab, &format!("/checkouts/{checkout}/force"), &[])
        .await
        .assert_redirects_to(&accounts_tab);
    queue
        .wait_until_gone(&expiry, "withdrawn after the forced check-in")
        .await;
    s.alice
        .get("/")
        .await
        .assert_contains("ended your exclusive check-out");
    s.owner
        .get("/audit")
        .await
        .assert_contains("Check-in forced");
}

async fn holders_are_reminded_before_the_end(engine: Engine) {
    let s = scene(&engine, &[], "Remind-Pa55word", "exclusive").await;
    s.alice.check_out(s.account).await;
    s.app.clock.advance(Duration::from_secs(56 * 60));
    for _ in 0..50 {
        if s.alice.get("/").await.body.contains("ends at") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dashboard = s.alice.get("/").await;
    dashboard.assert_contains("Your check-out of app_user ends at");
    dashboard.assert_contains("class=\"badge\"");
    // Opening it marks it read and leads to the app.
    let id: i64 = dashboard
        .body
        .match_indices("action=\"/notifications/")
        .find_map(|(at, marker)| {
            let rest = &dashboard.body[at + marker.len()..];
            rest.split('/').next().and_then(|id| id.parse().ok())
        })
        .expect("a notification to open");
    let page = s
        .alice
        .post(
            &format!("/notifications/{id}/open"),
            &[("csrf_token", &dashboard.csrf())],
        )
        .await;
    page.assert_redirects_to(&format!("/apps/{}", s.target));
    assert!(!s.alice.get("/").await.body.contains("class=\"badge\""));
}
