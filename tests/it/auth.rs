//! Signing in and out, sessions, CSRF, throttling and security headers.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{
    Engine, OWNER_EMAIL, OWNER_PASSWORD, engine_tests, spawn_app, spawn_app_with,
};

engine_tests!(
    sign_in_and_out,
    wrong_password_and_unknown_email_look_the_same,
    sign_in_is_throttled,
    posts_without_the_csrf_token_are_refused,
    session_id_is_renewed_at_sign_in,
    idle_sessions_time_out,
    sessions_end_after_the_absolute_timeout,
    pages_carry_security_headers,
    https_turns_on_secure_cookies_and_hsts,
    unknown_pages_get_a_styled_404,
);

async fn sign_in_and_out(engine: Engine) {
    let app = spawn_app(&engine).await;
    app.set_up().await;
    let browser = app.browser();

    // Signed out, a page sends you to sign in and back.
    let page = browser.get("/users").await;
    page.assert_redirects_to("/login?next=%2Fusers");

    let page = browser
        .submit(
            "/login?next=%2Fusers",
            "/login",
            &[
                ("email", "  Owner@Example.com "),
                ("password", OWNER_PASSWORD),
                ("next", "/users"),
            ],
        )
        .await;
    page.assert_redirects_to("/users");
    assert_eq!(browser.get("/").await.status, StatusCode::OK);

    // Sign-in never redirects off-site.
    let other = app.browser();
    let page = other
        .submit(
            "/login",
            "/login",
            &[
                ("email", OWNER_EMAIL),
                ("password", OWNER_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    page.assert_redirects_to("/");
    assert_eq!(page.location.as_deref(), Some("/"));

    let dashboard = browser.get("/").await;
    let page = browser
        .post("/logout", &[("csrf_token", &dashboard.csrf())])
        .await;
    page.assert_redirects_to("/login?signed_out=1");
    browser
        .get("/login?signed_out=1")
        .await
        .assert_contains("You have signed out.");
    browser.get("/").await.assert_redirects_to("/login");
    // The other browser is still signed in: sign-out ends one session only.
    assert_eq!(other.get("/").await.status, StatusCode::OK);
}

async fn wrong_password_and_unknown_email_look_the_same(engine: Engine) {
    let app = spawn_app(&engine).await;
    app.set_up().await;
    let browser = app.browser();
    let wrong = browser.sign_in(OWNER_EMAIL, "not the password").await;
    let unknown = browser
        .sign_in("nobody@example.com", "not the password")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("The email or password is not right");
    unknown.assert_contains("The email or password is not right");
    // The email is kept in the form; the password never is.
    unknown.assert_contains("value=\"nobody@example.com\"");
    assert!(!wrong.body.contains("not the password"));
    browser.get("/").await.assert_redirects_to("/login");
}

async fn sign_in_is_throttled(engine: Engine) {
    let app = spawn_app(&engine).await;
    app.set_up().await;
    let browser = app.browser();
    for _ in 0..5 {
        let page = browser.sign_in(OWNER_EMAIL, "wrong password!!").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now.
    let page = browser.sign_in(OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    page.assert_contains("Too many sign-in attempts");
    page.assert_contains("wait");
    let retry: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "Retry-After {retry}");
    // The limit is per account: another account from the same address may still try.
    let other = app.browser();
    assert_eq!(
        other
            .sign_in("someone@example.com", "whatever pass")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn posts_without_the_csrf_token_are_refused(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;

    // Sign-in itself needs the token.
    let stranger = app.browser();
    let page = stranger
        .post(
            "/login",
            &[("email", OWNER_EMAIL), ("password", OWNER_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("This form has expired");
    stranger.get("/").await.assert_redirects_to("/login");

    // A wrong token, a token from another session, and no form at all: all refused.
    let fields = [
        ("name", "Forged Person"),
        ("email", "forged@example.com"),
        ("role", "admin"),
        ("password", "forged password 1"),
    ];
    let mut with_wrong = vec![("csrf_token", "not-the-token")];
    with_wrong.extend_from_slice(&fields);
    assert_eq!(
        owner.post("/users/new", &with_wrong).await.status,
        StatusCode::FORBIDDEN
    );

    let other_token = app.browser().get("/login").await.csrf();
    let mut with_other = vec![("csrf_token", other_token.as_str())];
    with_other.extend_from_slice(&fields);
    assert_eq!(
        owner.post("/users/new", &with_other).await.status,
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        owner.post("/users/new", &fields).await.status,
        StatusCode::FORBIDDEN
    );

    let json = owner
        .client
        .post(format!("{}/users/new", app.address))
        .json(&serde_json::json!({"name": "Forged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::FORBIDDEN);

    let page = owner.post("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        owner.get("/").await.status,
        StatusCode::OK,
        "still signed in"
    );

    // Nothing was created.
    owner
        .get("/users?q=forged")
        .await
        .assert_contains("Nobody matches");
}

async fn session_id_is_renewed_at_sign_in(engine: Engine) {
    let app = spawn_app(&engine).await;
    app.set_up().await;

    // The attacker gets a session id before signing in and plants it in the victim's browser.
    let (attacker, attacker_jar) = app.browser_with_jar();
    attacker.get("/login").await;
    let planted = attacker
        .session_cookie(&attacker_jar)
        .expect("a pre-login session cookie");

    let (victim, victim_jar) = app.browser_with_jar();
    victim_jar.add_cookie_str(
        &format!("keyholder={planted}; Path=/"),
        &app.address.parse().unwrap(),
    );
    victim
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    let after = victim.session_cookie(&victim_jar).unwrap();
    assert_ne!(after, planted, "sign-in must issue a new session id");
    assert_eq!(victim.get("/").await.status, StatusCode::OK);

    // The planted id gives the attacker nothing.
    attacker.get("/").await.assert_redirects_to("/login");
    attacker.get("/users").await.assert_redirects_to("/login");
}

async fn idle_sessions_time_out(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;

    // Activity keeps the session alive past the idle timeout...
    for _ in 0..3 {
        app.clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(owner.get("/").await.status, StatusCode::OK);
    }
    // ...thirty idle minutes end it, on the server.
    app.clock.advance(Duration::from_secs(31 * 60));
    owner.get("/").await.assert_redirects_to("/login");
}

async fn sessions_end_after_the_absolute_timeout(engine: Engine) {
    let app = spawn_app_with(
        &engine,
        &[
            ("KEYHOLDER_SESSION_IDLE_TIMEOUT", "30m"),
            ("KEYHOLDER_SESSION_ABSOLUTE_TIMEOUT", "1h"),
        ],
    )
    .await;
    let owner = app.set_up().await;
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(25 * 60));
        assert_eq!(owner.get("/").await.status, StatusCode::OK);
    }
    app.clock.advance(Duration::from_secs(11 * 60));
    owner.get("/").await.assert_redirects_to("/login");
    // Signing in again starts a new absolute period.
    owner
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    assert_eq!(owner.get("/").await.status, StatusCode::OK);
}

async fn pages_carry_security_headers(engine: Engine) {
    let app = spawn_app(&engine).await;
    let page = app.browser().get("/login").await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers.get("strict-transport-security").is_none());
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!page.body.contains("<script>"), "no inline script");

    let css = app.browser().get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(css.headers["content-security-policy"].to_str().is_ok());
}

async fn https_turns_on_secure_cookies_and_hsts(engine: Engine) {
    let app = spawn_app_with(
        &engine,
        &[("KEYHOLDER_PUBLIC_URL", "https://vault.example.com")],
    )
    .await;
    let page = app.browser().get("/login").await;
    assert!(
        page.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-keyholder="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
}

async fn unknown_pages_get_a_styled_404(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    for path in ["/no-such-page", "/users/999999", "/users/not-a-number"] {
        let page = owner.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        page.assert_contains("Page not found");
        page.assert_contains("/static/app.css");
    }
}

#[derive(diesel::QueryableByName)]
struct TableUpdates {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n_tup_upd: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n_tup_hot_upd: i64,
}

/// On PostgreSQL a change of a session's state (a flash message left by a form, taken by the
/// next page) rewrites no indexed column, so the row is updated in place (HOT) and the
/// sessions table's indexes do not grow with every form sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_changes_are_updated_in_place_on_postgres() {
    use diesel::{Connection, RunQueryDsl};
    let Some(engine) =
        Engine::postgres("auth::session_state_changes_are_updated_in_place_on_postgres")
    else {
        return;
    };
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    for _ in 0..5 {
        owner
            .submit("/organization", "/organization", &[])
            .await
            .assert_redirects_to("/organization");
        owner
            .get("/organization")
            .await
            .assert_contains("Organization settings saved.");
    }
    // Each form and the page after it changed the session: ten updates at least, once the
    // server's statistics reach the view (PostgreSQL sends them within a second or so).
    let mut conn = diesel::PgConnection::establish(&app.database_url).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let updates = loop {
        let updates: TableUpdates = diesel::sql_query(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'sessions'",
        )
        .get_result(&mut conn)
        .unwrap();
        if updates.n_tup_upd >= 10 || std::time::Instant::now() > deadline {
            break updates;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(updates.n_tup_upd >= 10, "{} updates", updates.n_tup_upd);
    assert_eq!(
        updates.n_tup_hot_upd, updates.n_tup_upd,
        "every session update in place"
    );
    app.handle.stop(true).await;
}
