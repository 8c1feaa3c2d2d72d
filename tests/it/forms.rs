//! Every form, given empty, far too long, non-UTF-8 or markup input, answers with messages
//! beside the fields, shows the input escaped, and never fails with a 500.

use reqwest::StatusCode;

use crate::helpers::{Browser, Engine, OWNER_EMAIL, engine_tests, hidden_value, spawn_app};

engine_tests!(
    setup_form_survives_bad_input,
    login_form_survives_bad_input,
    add_user_form_survives_bad_input,
    edit_user_form_survives_bad_input,
    password_form_survives_bad_input,
);

const SCRIPT: &str = "<script>alert(1)</script>";
const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

fn long() -> String {
    "x".repeat(10_000)
}

/// Posts `fields` (raw, already percent-encoded values allowed) with the page's token.
async fn post_raw_fields(
    browser: &Browser,
    form_page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> crate::helpers::Page {
    let token = browser.get(form_page).await.csrf();
    let mut body = format!("csrf_token={token}");
    for (name, value) in fields {
        body.push('&');
        body.push_str(name);
        body.push('=');
        body.push_str(value);
    }
    browser.post_raw(action, body.into_bytes()).await
}

#[track_caller]
fn assert_refused(page: &crate::helpers::Page, messages: &[&str]) {
    assert_ne!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    for message in messages {
        page.assert_contains(message);
    }
    assert!(
        !page.body.contains(SCRIPT),
        "markup must be escaped:\n{}",
        page.body
    );
}

async fn setup_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let browser = app.browser();
    let path = app.setup_path();
    let token = path.trim_start_matches("/setup?token=").to_string();
    let submit = |fields: Vec<(&'static str, String)>| {
        let browser = browser.clone();
        let path = path.clone();
        let token = token.clone();
        async move {
            let mut all: Vec<(&str, String)> = vec![("token", token)];
            all.extend(fields);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.submit(&path, "/setup", &borrowed).await
        }
    };

    let page = submit(vec![]).await;
    assert_refused(
        &page,
        &[
            "Enter the organization",
            "Enter a name.",
            "Enter an email address.",
            "Enter a password.",
        ],
    );

    let page = submit(vec![
        ("organization", long()),
        ("name", long()),
        ("email", long()),
        ("password", long()),
        ("password_confirm", long()),
    ])
    .await;
    assert_refused(
        &page,
        &[
            "at most 100 characters",
            "at most 254 characters",
            "at most 256 characters",
        ],
    );

    let page = submit(vec![
        ("organization", SCRIPT.into()),
        ("name", SCRIPT.into()),
        ("email", SCRIPT.into()),
        ("password", "short".into()),
    ])
    .await;
    assert_refused(
        &page,
        &[
            "cannot contain &#60; or &#62;",
            "Use at least 12 characters",
        ],
    );
    page.assert_contains(ESCAPED);

    let page = post_raw_fields(
        &browser,
        &path,
        "/setup",
        &[
            ("token", &token),
            ("organization", "%FF%FEAcme"),
            ("name", "Ol%C3%ADvia%FF"),
            ("email", "a%FF@example.com"),
            ("password", "%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF"),
            ("password_confirm", "x"),
        ],
    )
    .await;
    assert_refused(&page, &["could not be read"]);
    // The setup link still works: nothing was created.
    app.set_up().await;
}

async fn login_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    app.set_up().await;
    let browser = app.browser();
    let page = browser
        .submit("/login", "/login", &[("email", ""), ("password", "")])
        .await;
    assert_refused(&page, &["Enter an email address.", "Enter your password."]);

    let long = long();
    let page = browser
        .submit("/login", "/login", &[("email", &long), ("password", &long)])
        .await;
    assert_refused(
        &page,
        &[
            "at most 254 characters",
            "longer than any Keyholder password",
        ],
    );

    let page = browser
        .submit(
            "/login",
            "/login",
            &[("email", SCRIPT), ("password", "whatever password")],
        )
        .await;
    assert_refused(&page, &["Enter an email address like name@example.com."]);
    page.assert_contains(ESCAPED);

    let page = post_raw_fields(
        &browser,
        "/login",
        "/login",
        &[("email", "%FF%FE"), ("password", "x")],
    )
    .await;
    assert_refused(&page, &["could not be read"]);
    browser.get("/").await.assert_redirects_to("/login");
}

async fn add_user_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let page = owner.submit("/users/new", "/users/new", &[]).await;
    assert_refused(
        &page,
        &[
            "Enter a name.",
            "Enter an email address.",
            "Choose owner, admin or member.",
            "Enter a password.",
        ],
    );

    let long = long();
    let page = owner
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", &long),
                ("email", &long),
                ("role", &long),
                ("password", &long),
            ],
        )
        .await;
    assert_refused(
        &page,
        &[
            "at most 100 characters",
            "at most 254 characters",
            "Choose owner, admin or member.",
            "at most 256 characters",
        ],
    );
    // The long input comes back in the form.
    page.assert_contains(&long);

    let page = owner
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", SCRIPT),
                ("email", SCRIPT),
                ("role", SCRIPT),
                ("password", SCRIPT),
            ],
        )
        .await;
    assert_refused(&page, &["cannot contain &#60; or &#62;"]);
    page.assert_contains(ESCAPED);

    let page = post_raw_fields(
        &owner,
        "/users/new",
        "/users/new",
        &[
            ("name", "%FF"),
            ("email", "x%FE@example.com"),
            ("role", "member"),
            ("password", "valid password 12"),
        ],
    )
    .await;
    assert_refused(&page, &["could not be read"]);

    // An address already in use is a field message too, and the form comes back filled in.
    let page = owner
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", "Copy Cat"),
                ("email", OWNER_EMAIL),
                ("role", "member"),
                ("password", "copycat password"),
            ],
        )
        .await;
    assert_refused(&page, &["already has a Keyholder account"]);
    page.assert_contains("value=\"Copy Cat\"");
    assert!(
        !page.body.contains("copycat password"),
        "passwords are never sent back"
    );
    owner
        .get("/users?q=copy")
        .await
        .assert_contains("Nobody matches");
}

async fn edit_user_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let id = app
        .add_user(
            &owner,
            "Mia Member",
            "mia@example.com",
            "member",
            "mia password 1234",
        )
        .await;
    let path = format!("/users/{id}");
    let page = owner
        .submit(&path, &path, &[("name", ""), ("role", "")])
        .await;
    assert_refused(&page, &["Enter a name.", "Choose owner, admin or member."]);
    let long = long();
    let page = owner
        .submit(&path, &path, &[("name", &long), ("role", &long)])
        .await;
    assert_refused(&page, &["at most 100 characters"]);
    let page = owner
        .submit(&path, &path, &[("name", SCRIPT), ("role", "member")])
        .await;
    assert_refused(&page, &["cannot contain &#60; or &#62;"]);
    page.assert_contains(ESCAPED);
    let page = post_raw_fields(
        &owner,
        &path,
        &path,
        &[("name", "%FF%FE"), ("role", "member")],
    )
    .await;
    assert_refused(&page, &["could not be read"]);
    // Nothing stored was lost.
    owner
        .get(&path)
        .await
        .assert_contains("value=\"Mia Member\"");
}

async fn password_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let page = owner.submit("/me/password", "/me/password", &[]).await;
    assert_refused(
        &page,
        &["Enter your current password.", "Enter a password."],
    );
    let long = long();
    let page = owner
        .submit(
            "/me/password",
            "/me/password",
            &[
                ("current_password", &long),
                ("new_password", &long),
                ("new_password_confirm", &long),
            ],
        )
        .await;
    assert_refused(&page, &["at most 256 characters"]);
    let page = owner
        .submit(
            "/me/password",
            "/me/password",
            &[
                ("current_password", SCRIPT),
                ("new_password", SCRIPT),
                ("new_password_confirm", SCRIPT),
            ],
        )
        .await;
    // Any character may be part of a password; the wrong current one is the problem here.
    assert_refused(&page, &["This is not your current password."]);
    let page = post_raw_fields(
        &owner,
        "/me/password",
        "/me/password",
        &[
            ("current_password", "%FF"),
            ("new_password", "%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF"),
            ("new_password_confirm", "x"),
        ],
    )
    .await;
    assert_refused(&page, &["could not be read"]);
    // The old password still works.
    assert!(hidden_value(&page.body, "csrf_token").is_some());
    app.browser()
        .sign_in(OWNER_EMAIL, crate::helpers::OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
}
