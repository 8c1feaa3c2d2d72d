//! First run: the one-time setup link, and what happens after.

use reqwest::StatusCode;

use crate::helpers::{Engine, OWNER_EMAIL, OWNER_PASSWORD, engine_tests, spawn_app};

engine_tests!(
    setup_link_creates_owner_and_dies,
    setup_link_needs_the_right_token,
    data_survives_a_restart,
    healthz_answers_when_the_database_does,
    autovacuum_is_read_from_the_server,
);

async fn setup_link_creates_owner_and_dies(engine: Engine) {
    let app = spawn_app(&engine).await;
    // Before setup the sign-in page says why nobody can sign in, and what to do.
    let before = app.browser().get("/login").await;
    assert_eq!(before.status, StatusCode::OK);
    before.assert_contains("Keyholder is not set up yet");
    before.assert_contains("keyholder setup --org");
    let owner = app.set_up().await;
    let after = app.browser().get("/login").await;
    assert!(!after.body.contains("not set up yet"), "{}", after.body);

    let dashboard = owner.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    dashboard.assert_contains("Acme Corp");
    dashboard.assert_contains("Olivia Owner");

    // The link is dead now, for anyone.
    let again = app.browser().get(&app.setup_path()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    again.assert_contains("already set up");

    // Posting the old form again changes nothing.
    let stranger = app.browser();
    let login = stranger.get("/login").await;
    let token = app
        .setup_path()
        .trim_start_matches("/setup?token=")
        .to_string();
    let retry = stranger
        .post(
            "/setup",
            &[
                ("csrf_token", &login.csrf()),
                ("token", &token),
                ("organization", "Evil Corp"),
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("password", "mallory password 1"),
                ("password_confirm", "mallory password 1"),
            ],
        )
        .await;
    retry.assert_redirects_to("/login");
    let denied = app
        .browser()
        .sign_in("mallory@example.com", "mallory password 1")
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
}

async fn setup_link_needs_the_right_token(engine: Engine) {
    let app = spawn_app(&engine).await;
    let browser = app.browser();
    let page = browser.get("/setup?token=guessed").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("not valid");
    let page = browser.get("/setup").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // A forged post with a wrong token creates nothing.
    let login = browser.get("/login").await;
    let page = browser
        .post(
            "/setup",
            &[
                ("csrf_token", &login.csrf()),
                ("token", "guessed"),
                ("organization", "Acme"),
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("password", "eve password 1234"),
                ("password_confirm", "eve password 1234"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The real link still works afterwards.
    app.set_up().await;
}

async fn data_survives_a_restart(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    app.add_user(
        &owner,
        "Mia Member",
        "mia@example.com",
        "member",
        "mia password 1234",
    )
    .await;

    app.stop().await;
    let again = app.restart().await;
    assert!(
        again.setup_link.is_none(),
        "a set-up installation prints no setup link"
    );
    let owner = again.browser();
    owner
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    owner.get("/users").await.assert_contains("mia@example.com");
    let mia = again.browser();
    mia.sign_in("mia@example.com", "mia password 1234")
        .await
        .assert_redirects_to("/");
}

async fn healthz_answers_when_the_database_does(engine: Engine) {
    let app = spawn_app(&engine).await;
    let page = app.browser().get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(json["status"], "ok");
}

/// The startup warning's question: is PostgreSQL's autovacuum off? (SQLite has none.)
async fn autovacuum_is_read_from_the_server(engine: Engine) {
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        autovacuum: String,
    }
    let app = spawn_app(&engine).await;
    let mut conn = app.db();
    let off = keyholder::db::autovacuum_is_off(&mut conn).unwrap();
    match engine {
        Engine::Sqlite => assert!(!off),
        Engine::Postgres(_) => {
            use diesel::RunQueryDsl;
            let shown: Setting = diesel::sql_query("SHOW autovacuum")
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(
                off,
                shown.autovacuum == "off",
                "SHOW autovacuum: {}",
                shown.autovacuum
            );
        }
    }
}
