//! Every form, given empty, far too long, non-UTF-8 or markup input, answers with messages
//! beside the fields, shows the input escaped, and never fails with a 500.

use reqwest::StatusCode;

use crate::helpers::{
    Browser, Engine, OWNER_EMAIL, account_id_for, engine_tests, hidden_value, revealed_password,
    spawn_app,
};

engine_tests!(
    setup_form_survives_bad_input,
    login_form_survives_bad_input,
    add_user_form_survives_bad_input,
    edit_user_form_survives_bad_input,
    password_form_survives_bad_input,
    create_target_form_survives_bad_input,
    edit_target_form_survives_bad_input,
    create_account_form_survives_bad_input,
    personal_credential_form_survives_bad_input,
    edit_account_form_survives_bad_input,
    add_person_form_survives_bad_input,
    audit_filters_survive_bad_input,
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

/// A valid Create/Edit target form; its values need no percent-encoding.
const TARGET: &[(&str, &str)] = &[
    ("name", "Billing"),
    ("address", "db.example.com:5432"),
    ("description", "Invoices"),
    ("connector", "vault"),
    ("checkout_type", "exclusive"),
    ("exclusive_minutes", "45"),
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
];

/// Valid settings of the PostgreSQL connector.
const POSTGRES: &[(&str, &str)] = &[
    ("connector", "postgres"),
    ("pg_host", "10.0.0.5"),
    ("pg_port", "5433"),
    ("pg_database", "warehouse"),
    ("pg_admin_username", "keyholder_admin"),
    ("pg_admin_password", "admin-Pa55word"),
];

/// A valid Create/Edit account form with a typed password; its values need no
/// percent-encoding.
const ACCOUNT: &[(&str, &str)] = &[
    ("username", "app_user"),
    ("password_mode", "type"),
    ("password", "typed-Pa55word"),
    ("password_confirm", "typed-Pa55word"),
    ("notes", "Main"),
    ("auto_reset", "on"),
];

/// `base` with `changes` applied: a field already there takes the new value, others are added.
fn with<'a>(
    base: &[(&'a str, &'a str)],
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = base.to_vec();
    for (name, value) in changes {
        match fields.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

/// How many apps Manage Apps lists.
async fn app_count(browser: &Browser) -> usize {
    browser
        .get("/apps")
        .await
        .body
        .matches("</strong></a>")
        .count()
}

/// Refusals every target form gives, on Create target and on an app's Settings.
async fn target_form_refuses_bad_input(browser: &Browser, form_page: &str, action: &str) {
    let page = browser.submit(form_page, action, &[]).await;
    assert_refused(
        &page,
        &[
            "Enter the app&#39;s name.",
            "Choose how passwords are changed.",
            "Choose Exclusive or Regular.",
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "Enter the length as a whole number.",
        ],
    );

    let long = long();
    let all_long: Vec<(&str, &str)> = TARGET
        .iter()
        .map(|(name, _)| (*name, long.as_str()))
        .collect();
    let page = browser.submit(form_page, action, &all_long).await;
    assert_refused(
        &page,
        &[
            "The name must be at most 100 characters (this one has 10000).",
            "The address must be at most 500 characters (this one has 10000).",
            "The description must be at most 2000 characters (this one has 10000).",
            "Choose how passwords are changed.",
            "Choose Exclusive or Regular.",
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "Enter the length as a whole number.",
            "Enter the minimum as a whole number.",
        ],
    );
    // The long input comes back in the form.
    page.assert_contains(&long);

    // Numbers out of range.
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("exclusive_minutes", "99999999999999999999"),
                    ("policy_upper_min", "-1"),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "Enter the minimum as a whole number.",
        ],
    );
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("exclusive_minutes", "10081"),
                    ("policy_length", "129"),
                    ("policy_digits_min", "129"),
                    ("policy_excluded", &long),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "The length must be from 8 to 128 characters.",
            "A minimum is at most 128.",
            "List at most 100 excluded characters.",
        ],
    );

    // Markup.
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("name", SCRIPT),
                    ("address", SCRIPT),
                    ("description", SCRIPT),
                    ("connector", SCRIPT),
                    ("checkout_type", SCRIPT),
                    ("exclusive_minutes", SCRIPT),
                    ("policy_length", SCRIPT),
                    ("policy_lower_min", SCRIPT),
                    ("policy_excluded", SCRIPT),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "The name cannot contain &#60; or &#62;.",
            "An address or URL cannot contain &#60;, &#62; or &#34;.",
            "Choose how passwords are changed.",
            "Choose Exclusive or Regular.",
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "Enter the length as a whole number.",
            "Enter the minimum as a whole number.",
        ],
    );
    page.assert_contains(ESCAPED);
    // A javascript: address is no link.
    let page = browser
        .submit(
            form_page,
            action,
            &with(TARGET, &[("name", ""), ("address", "javascript:alert(1)")]),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter the app&#39;s name.",
            "Use a host name or an http(s) URL.",
        ],
    );

    // Bytes that are not UTF-8, and control characters.
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(
            TARGET,
            &[
                ("name", "%FF%FE"),
                ("address", "db%FF.example.com"),
                ("description", "Invoices%FF"),
                ("connector", "vault%FF"),
                ("checkout_type", "%FF"),
                ("exclusive_minutes", "%FF"),
                ("policy_excluded", "%FF"),
            ],
        ),
    )
    .await;
    assert_refused(
        &page,
        &[
            "The name contains characters that could not be read",
            "The address contains characters that could not be read",
            "The description contains characters that could not be read",
            "Choose how passwords are changed.",
            "Choose Exclusive or Regular.",
            "Enter a whole number of minutes from 1 to 10080 (7 days).",
            "Excluded characters must be printable ASCII characters",
        ],
    );
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(
            TARGET,
            &[
                ("name", "Bill%00ing"),
                ("address", "db%01.example.com"),
                ("description", "Invoices%00"),
            ],
        ),
    )
    .await;
    assert_refused(
        &page,
        &[
            "The name must not contain control characters.",
            "The address must not contain control characters.",
            "The description must not contain control characters.",
        ],
    );

    // PostgreSQL without its settings.
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("connector", "postgres"),
                    ("pg_host", ""),
                    ("pg_port", ""),
                    ("pg_database", ""),
                    ("pg_admin_username", ""),
                    ("pg_admin_password", ""),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter the PostgreSQL server&#39;s host name or address.",
            "Enter the database to connect to (at most 63 characters).",
            "Enter the login Keyholder uses to change passwords",
        ],
    );
    // PostgreSQL settings far too long; the password is never sent back.
    let long_password = "P".repeat(10_000);
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("connector", "postgres"),
                    ("pg_host", &long),
                    ("pg_port", &long),
                    ("pg_database", &long),
                    ("pg_admin_username", &long),
                    ("pg_admin_password", &long_password),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter a host name or address only, like db.example.com or 10.0.0.5.",
            "Enter a port from 1 to 65535.",
            "Enter the database to connect to (at most 63 characters).",
            "Enter the login Keyholder uses to change passwords",
            "The password contains characters that could not be read, or is too long.",
        ],
    );
    assert!(
        !page.body.contains("PPPPPPPPPPPPPPPP"),
        "the admin password is never sent back"
    );
    // PostgreSQL settings with markup.
    let page = browser
        .submit(
            form_page,
            action,
            &with(
                TARGET,
                &[
                    ("connector", "postgres"),
                    ("pg_host", SCRIPT),
                    ("pg_port", "0"),
                    ("pg_database", SCRIPT),
                    ("pg_admin_username", SCRIPT),
                    ("pg_admin_password", SCRIPT),
                ],
            ),
        )
        .await;
    assert_refused(
        &page,
        &[
            "Enter a host name or address only, like db.example.com or 10.0.0.5.",
            "Enter a port from 1 to 65535.",
        ],
    );
    page.assert_contains(ESCAPED);
    // A PostgreSQL admin password that is not UTF-8.
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(
            &with(TARGET, POSTGRES),
            &[("pg_admin_password", "%FF%FEsecret")],
        ),
    )
    .await;
    assert_refused(
        &page,
        &["The password contains characters that could not be read, or is too long."],
    );
}

async fn create_target_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let new = "/apps/new";
    target_form_refuses_bad_input(&owner, new, new).await;
    // A missing admin password is a field message on Create target (nothing is stored yet).
    let page = owner
        .submit(
            new,
            new,
            &with(&with(TARGET, POSTGRES), &[("pg_admin_password", "")]),
        )
        .await;
    assert_refused(&page, &["Enter the password of this login."]);
    page.assert_contains("value=\"10.0.0.5\"");
    // Nothing was created.
    owner.get("/apps").await.assert_contains("No apps yet.");

    // A name already in use, whatever its case.
    app.create_target(&owner, "Billing", &[]).await;
    let page = owner
        .submit(new, new, &with(TARGET, &[("name", "BILLING")]))
        .await;
    assert_refused(
        &page,
        &["An app with this name already exists. Choose another name."],
    );
    page.assert_contains("value=\"BILLING\"");
    page.assert_contains("value=\"db.example.com:5432\"");
    assert_eq!(app_count(&owner).await, 1);

    // PostgreSQL settings that are not UTF-8 or hold control characters, each on its own, are
    // refused beside their field rather than stored altered.
    let accepted = unreadable_postgres_settings_accepted(&owner, new, new, true).await;
    assert!(
        accepted.is_empty(),
        "Create target accepted unreadable PostgreSQL settings: {accepted:#?}"
    );
    assert_eq!(app_count(&owner).await, 1);
}

/// Submits, one at a time, PostgreSQL settings that are not UTF-8 or hold control characters;
/// returns those not refused with a message beside their field, with the answer's status.
async fn unreadable_postgres_settings_accepted(
    browser: &Browser,
    form_page: &str,
    action: &str,
    rename: bool,
) -> Vec<String> {
    let mut accepted = Vec::new();
    let cases = [
        ("pg_host", "db%FF%FE.example.com"),
        ("pg_host", "db%01.example.com"),
        ("pg_database", "ware%FFhouse"),
        ("pg_admin_username", "keyholder%FF"),
    ];
    for (n, (field, value)) in cases.into_iter().enumerate() {
        let name = format!("Warehouse{n}");
        let mut changes = vec![(field, value)];
        if rename {
            changes.push(("name", name.as_str()));
        }
        let fields = with(&with(TARGET, POSTGRES), &changes);
        let page = post_raw_fields(browser, form_page, action, &fields).await;
        assert_ne!(
            page.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            page.body
        );
        let refused = page.status == StatusCode::UNPROCESSABLE_ENTITY
            && page.body.contains(&format!("id=\"{field}-error\""));
        if !refused {
            accepted.push(format!("{field}={value}: status {}", page.status));
        }
    }
    accepted
}

async fn edit_target_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let id = app
        .create_target(
            &owner,
            "Billing DB",
            &[
                ("description", "Invoices and payments"),
                ("checkout_type", "regular"),
                ("exclusive_minutes", "45"),
                ("policy_length", "16"),
                ("policy_excluded", "0O1lI"),
            ],
        )
        .await;
    app.create_target(&owner, "Payroll", &[]).await;
    // Shows (and so clears) the flash of the last creation.
    owner
        .get("/apps")
        .await
        .assert_contains("Payroll was created");
    let settings = format!("/apps/{id}/settings");
    let overview = format!("/apps/{id}");
    let before = owner.get(&overview).await;
    before.assert_contains("Invoices and payments");
    before.assert_contains("16 characters");
    before.assert_contains("never 0O1lI");

    target_form_refuses_bad_input(&owner, &settings, &settings).await;
    // Another app's name, whatever its case.
    let page = owner
        .submit(&settings, &settings, &with(TARGET, &[("name", "payroll")]))
        .await;
    assert_refused(
        &page,
        &["An app with this name already exists. Choose another name."],
    );
    page.assert_contains("value=\"payroll\"");
    // PostgreSQL without an admin password, none stored yet.
    let page = owner
        .submit(
            &settings,
            &settings,
            &with(&with(TARGET, POSTGRES), &[("pg_admin_password", "")]),
        )
        .await;
    assert_refused(&page, &["Enter the password of this login."]);

    // Nothing stored was lost.
    let after = owner.get(&overview).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body, before.body, "the Overview page changed");
    let page = owner.get(&settings).await;
    page.assert_contains("value=\"Billing DB\"");
    page.assert_contains("value=\"0O1lI\"");
    page.assert_contains(">Invoices and payments</textarea>");
    assert_eq!(app_count(&owner).await, 2);

    // A refused edit of a PostgreSQL app keeps its settings and its stored admin password.
    let warehouse = app
        .create_target(&owner, "Warehouse", &with(&[], POSTGRES))
        .await;
    let settings = format!("/apps/{warehouse}/settings");
    let page = owner.get(&settings).await;
    page.assert_contains("A password is stored (encrypted)");
    let page = owner
        .submit(
            &settings,
            &settings,
            &with(TARGET, &[("name", ""), ("connector", "vault")]),
        )
        .await;
    assert_refused(&page, &["Enter the app&#39;s name."]);
    // An empty admin password keeps the stored one: only the host is missing here.
    let page = owner
        .submit(
            &settings,
            &settings,
            &with(
                &with(TARGET, POSTGRES),
                &[("pg_host", ""), ("pg_admin_password", "")],
            ),
        )
        .await;
    assert_refused(
        &page,
        &["Enter the PostgreSQL server&#39;s host name or address."],
    );
    assert!(
        !page.body.contains("Enter the password of this login."),
        "a stored admin password is kept:\n{}",
        page.body
    );
    let page = owner.get(&settings).await;
    page.assert_contains("value=\"Warehouse\"");
    page.assert_contains("value=\"10.0.0.5\"");
    page.assert_contains("value=\"5433\"");
    page.assert_contains("value=\"warehouse\"");
    page.assert_contains("value=\"keyholder_admin\"");
    page.assert_contains("A password is stored (encrypted)");

    // Unreadable PostgreSQL settings are refused, and the stored ones stay.
    let accepted = unreadable_postgres_settings_accepted(&owner, &settings, &settings, false).await;
    let page = owner.get(&settings).await;
    assert!(
        accepted.is_empty(),
        "Edit target accepted unreadable PostgreSQL settings: {accepted:#?}\nstored now: {stored:?}",
        stored =
            ["pg_host", "pg_database", "pg_admin_username"].map(|f| hidden_value(&page.body, f)),
    );
    page.assert_contains("value=\"10.0.0.5\"");
    page.assert_contains("value=\"warehouse\"");
    page.assert_contains("value=\"keyholder_admin\"");
}

/// Submits the account form `base` + `changes` (over the valid `ACCOUNT`).
async fn submit_account(
    browser: &Browser,
    form_page: &str,
    action: &str,
    base: &[(&str, &str)],
    changes: &[(&str, &str)],
) -> crate::helpers::Page {
    let fields = with(&with(ACCOUNT, base), changes);
    browser.submit(form_page, action, &fields).await
}

/// Refusals every account form gives: Create account, Add my credential and Edit account.
/// `base` holds the fields always sent (`kind` on the Create forms).
async fn account_form_refuses_bad_input(
    browser: &Browser,
    form_page: &str,
    action: &str,
    base: &[(&str, &str)],
) {
    let page = browser.submit(form_page, action, base).await;
    assert_refused(
        &page,
        &["Enter the username.", "Choose how to set the password."],
    );
    let page = submit_account(
        browser,
        form_page,
        action,
        base,
        &[("username", ""), ("password", ""), ("password_confirm", "")],
    )
    .await;
    assert_refused(
        &page,
        &[
            "Enter the username.",
            "Type the password, or choose to generate one.",
        ],
    );

    // The two passwords differ.
    let page = submit_account(
        browser,
        form_page,
        action,
        base,
        &[("password_confirm", "typed-Pa55wore")],
    )
    .await;
    assert_refused(&page, &["The two passwords are not the same."]);
    page.assert_contains("value=\"app_user\"");
    assert!(
        !page.body.contains("typed-Pa55wor"),
        "passwords are never sent back"
    );

    // Unknown ways of setting the password.
    let long = long();
    for mode in ["reveal", "TYPE", " type", SCRIPT, long.as_str()] {
        let page =
            submit_account(browser, form_page, action, base, &[("password_mode", mode)]).await;
        assert_refused(&page, &["Choose how to set the password."]);
    }

    // Far too long.
    let long_password = "P".repeat(10_000);
    let page = submit_account(
        browser,
        form_page,
        action,
        base,
        &[
            ("username", &long),
            ("notes", &long),
            ("password", &long_password),
            ("password_confirm", &long_password),
        ],
    )
    .await;
    assert_refused(
        &page,
        &[
            "The username must be at most 200 characters (this one has 10000).",
            "The notes must be at most 2000 characters (this one has 10000).",
            "A password has at most 1024 characters.",
        ],
    );
    page.assert_contains(&long);
    assert!(
        !page.body.contains("PPPPPPPPPPPPPPPP"),
        "passwords are never sent back"
    );

    // Markup: a username or notes may hold it, shown escaped; the password never comes back.
    let page = submit_account(
        browser,
        form_page,
        action,
        base,
        &[
            ("username", SCRIPT),
            ("notes", SCRIPT),
            ("password", "<b>secret-Pa55</b>"),
            ("password_confirm", SCRIPT),
        ],
    )
    .await;
    assert_refused(&page, &["The two passwords are not the same."]);
    page.assert_contains(&format!("value=\"{ESCAPED}\""));
    page.assert_contains(&format!(">{ESCAPED}</textarea>"));
    assert!(
        !page.body.contains("secret-Pa55"),
        "passwords are never sent back"
    );

    // Bytes that are not UTF-8, and control characters.
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(
            &with(ACCOUNT, base),
            &[
                ("username", "app%FF"),
                ("notes", "%FE"),
                ("password", "%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF"),
                ("password_confirm", "%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF"),
            ],
        ),
    )
    .await;
    assert_refused(
        &page,
        &[
            "The username contains characters that could not be read",
            "The notes contains characters that could not be read",
            "The password contains characters that could not be read (not valid UTF-8).",
        ],
    );
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(
            &with(ACCOUNT, base),
            &[
                ("username", "app%00user"),
                ("notes", "Main%01"),
                ("password_confirm", "typed-Pa55word%FF"),
            ],
        ),
    )
    .await;
    assert_refused(
        &page,
        &[
            "The username must not contain control characters.",
            "The notes must not contain control characters.",
            "The two passwords are not the same.",
        ],
    );
    let page = post_raw_fields(
        browser,
        form_page,
        action,
        &with(&with(ACCOUNT, base), &[("password_mode", "%FF")]),
    )
    .await;
    assert_refused(&page, &["Choose how to set the password."]);
}

async fn create_account_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Billing", &[]).await;
    let form = format!("/apps/{target}/accounts/new?kind=shared");
    let action = format!("/apps/{target}/accounts/new");
    let shared = [("kind", "shared")];
    account_form_refuses_bad_input(&owner, &form, &action, &shared).await;
    // Keeping the current password is for Edit account only.
    let page = submit_account(
        &owner,
        &form,
        &action,
        &shared,
        &[("password_mode", "keep")],
    )
    .await;
    assert_refused(&page, &["Choose how to set the password."]);
    // Nothing was created.
    let tab = format!("/apps/{target}/accounts");
    owner
        .get(&tab)
        .await
        .assert_contains("No shared accounts yet");

    // The same username twice on one app.
    let account = app
        .create_shared_account(&owner, target, "app_user", "first-Pa55word")
        .await;
    let page = submit_account(&owner, &form, &action, &shared, &[]).await;
    assert_refused(
        &page,
        &["This app already has a shared account with this username."],
    );
    page.assert_contains("value=\"app_user\"");
    page.assert_contains(">Main</textarea>");
    let page = submit_account(
        &owner,
        &form,
        &action,
        &shared,
        &[("password_mode", "generate")],
    )
    .await;
    assert_refused(
        &page,
        &["This app already has a shared account with this username."],
    );
    // Another app may have an account of the same name.
    let other = app.create_target(&owner, "Payroll", &[]).await;
    app.create_shared_account(&owner, other, "app_user", "other-Pa55word")
        .await;

    // Nothing stored was lost: one account, with its first password.
    let page = owner.get(&tab).await;
    assert_eq!(page.body.matches("<strong>app_user</strong>").count(), 1);
    assert_eq!(account_id_for(&page.body, "app_user"), Some(account));
    app.allow(&owner, target, OWNER_EMAIL).await;
    assert_eq!(
        revealed_password(&owner.check_out(account).await.body).as_deref(),
        Some("first-Pa55word")
    );
}

/// The id of the viewer's own credential, from the Reveal button on an app's Overview.
fn own_credential_id(html: &str) -> Option<i64> {
    let marker = "action=\"/accounts/";
    let start = html.find(marker)? + marker.len();
    let digits: String = html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

async fn personal_credential_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Expense tool", &[]).await;
    let (member, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let form = format!("/apps/{target}/accounts/new?kind=personal");
    let action = format!("/apps/{target}/accounts/new");
    let overview = format!("/apps/{target}");
    let personal = [("kind", "personal")];
    account_form_refuses_bad_input(&member, &form, &action, &personal).await;
    let page = submit_account(
        &member,
        &form,
        &action,
        &personal,
        &[("password_mode", "keep")],
    )
    .await;
    assert_refused(&page, &["Choose how to set the password."]);
    // A member asking for a shared account is refused, not failed.
    let page = post_raw_fields(
        &member,
        &form,
        &action,
        &with(ACCOUNT, &[("kind", "shared")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    // Nothing was stored: Add my credential is still offered.
    member
        .get(&overview)
        .await
        .assert_contains("Add my credential");

    // Stored once; a second credential for the same app is a field message.
    submit_account(
        &member,
        &form,
        &action,
        &personal,
        &[
            ("password", "mias-Pa55word"),
            ("password_confirm", "mias-Pa55word"),
        ],
    )
    .await
    .assert_redirects_to(&overview);
    let page = post_raw_fields(
        &member,
        &overview,
        &action,
        &with(&with(ACCOUNT, &personal), &[("username", "second")]),
    )
    .await;
    assert_refused(
        &page,
        &["You already have a credential for this app: edit it instead."],
    );
    page.assert_contains("value=\"second\"");

    // Edit my credential: refused edits keep the password and the Unmanaged setting.
    let page = member.get(&overview).await;
    page.assert_contains("Unmanaged");
    let account = own_credential_id(&page.body).expect("the credential's Reveal button");
    let edit = format!("/accounts/{account}/edit");
    account_form_refuses_bad_input(&member, &edit, &edit, &[]).await;
    let page = submit_account(
        &member,
        &edit,
        &edit,
        &[],
        &[
            ("username", ""),
            ("password_mode", "keep"),
            ("admin_access", "on"),
        ],
    )
    .await;
    assert_refused(&page, &["Enter the username."]);
    let page = member.get(&overview).await;
    page.assert_contains("Unmanaged");
    assert_eq!(own_credential_id(&page.body), Some(account));
    let page = member.get(&edit).await;
    page.assert_contains("value=\"app_user\"");
    page.assert_contains(">Main</textarea>");
    assert_eq!(
        revealed_password(&member.reveal(account).await.body).as_deref(),
        Some("mias-Pa55word")
    );
}

async fn edit_account_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Billing", &[]).await;
    let account = app
        .create_shared_account(&owner, target, "app_user", "original-Pa55word")
        .await;
    let other = app
        .create_shared_account(&owner, target, "other_user", "other-Pa55word")
        .await;
    let edit = format!("/accounts/{account}/edit");
    let page = owner.get(&edit).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("value=\"app_user\"");

    account_form_refuses_bad_input(&owner, &edit, &edit, &[]).await;
    let page = submit_account(
        &owner,
        &edit,
        &edit,
        &[],
        &[("username", ""), ("password_mode", "keep")],
    )
    .await;
    assert_refused(&page, &["Enter the username."]);
    // Another account's username, with a new password: neither is saved.
    let page = submit_account(
        &owner,
        &edit,
        &edit,
        &[],
        &[
            ("username", "other_user"),
            ("password", "changed-Pa55word"),
            ("password_confirm", "changed-Pa55word"),
        ],
    )
    .await;
    assert_refused(
        &page,
        &["This app already has a shared account with this username."],
    );
    page.assert_contains("value=\"other_user\"");
    assert!(
        !page.body.contains("changed-Pa55word"),
        "passwords are never sent back"
    );
    let page = submit_account(
        &owner,
        &edit,
        &edit,
        &[],
        &[("username", "other_user"), ("password_mode", "generate")],
    )
    .await;
    assert_refused(
        &page,
        &["This app already has a shared account with this username."],
    );

    // Nothing stored was lost.
    let page = owner.get(&edit).await;
    page.assert_contains("value=\"app_user\"");
    page.assert_contains("></textarea>");
    let tab = owner.get(&format!("/apps/{target}/accounts")).await;
    assert_eq!(account_id_for(&tab.body, "app_user"), Some(account));
    assert_eq!(account_id_for(&tab.body, "other_user"), Some(other));
    app.allow(&owner, target, OWNER_EMAIL).await;
    assert_eq!(
        revealed_password(&owner.check_out(account).await.body).as_deref(),
        Some("original-Pa55word")
    );
    assert_eq!(
        revealed_password(&owner.check_out(other).await.body).as_deref(),
        Some("other-Pa55word")
    );
}

async fn add_person_form_survives_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Billing", &[]).await;
    app.add_user(
        &owner,
        "Mia Member",
        "mia@example.com",
        "member",
        "mia password 1234",
    )
    .await;
    let tab = format!("/apps/{target}/accounts");
    let action = format!("/apps/{target}/people");

    let page = owner.submit(&tab, &action, &[]).await;
    assert_refused(&page, &["Enter an email address."]);
    let page = owner.submit(&tab, &action, &[("email", "")]).await;
    assert_refused(&page, &["Enter an email address."]);
    let long = long();
    let page = owner.submit(&tab, &action, &[("email", &long)]).await;
    assert_refused(&page, &["at most 254 characters"]);
    for malformed in ["not-an-email", "mia@", "@example.com", "mia example.com"] {
        let page = owner.submit(&tab, &action, &[("email", malformed)]).await;
        assert_refused(&page, &["Enter an email address like name@example.com."]);
    }
    let page = owner.submit(&tab, &action, &[("email", SCRIPT)]).await;
    assert_refused(&page, &["Enter an email address like name@example.com."]);
    page.assert_contains(&format!("value=\"{ESCAPED}\""));
    let page = post_raw_fields(&owner, &tab, &action, &[("email", "mia%FF@example.com")]).await;
    assert_refused(&page, &["could not be read"]);
    let page = owner
        .submit(&tab, &action, &[("email", "nobody@example.com")])
        .await;
    assert_refused(
        &page,
        &["Nobody in your organization has this email address. Add them under Users first."],
    );
    page.assert_contains("value=\"nobody@example.com\"");

    // Nobody was added.
    owner.get(&tab).await.assert_contains("Nobody yet.");
    // The form still works.
    app.allow(&owner, target, "mia@example.com").await;
    owner.get(&tab).await.assert_contains("Mia Member");
}

async fn audit_filters_survive_bad_input(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    app.create_target(&owner, "Billing", &[]).await;
    let long = long();
    let long_from = format!("from={long}");
    let bad_dates = [
        "from=yesterday",
        "to=2024-02-30",
        "from=2024-13-01",
        "from=2024-1-1x",
        "from=20240101",
        "to=01%2F02%2F2024",
        "from=2024-01-01T00%3A00",
        "from=%FF%FE",
        "to=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "from=2024-01-01%00",
        long_from.as_str(),
    ];
    for query in bad_dates {
        let page = owner.get(&format!("/audit?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}:\n{}", page.body);
        page.assert_contains("Enter a date as YYYY-MM-DD.");
        assert!(
            !page.body.contains("<script>alert"),
            "markup must be escaped:\n{}",
            page.body
        );
    }
    // Markup comes back escaped (and cut short).
    owner
        .get("/audit?to=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await
        .assert_contains("value=\"&#60;script&#62;alert(1)");
    // An end before the start.
    let page = owner.get("/audit?from=2024-05-02&to=2024-05-01").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("The end date is before the start date.");
    // Dates far outside any stored time: a message or no events, never a failure.
    let mut failed = Vec::new();
    for query in [
        "from=0000-01-01",
        "to=0000-01-01",
        "from=-5000-01-01",
        "to=-5000-01-01",
        "from=99999-01-01",
        "from=%2B262143-12-31",
        "to=%2B262143-12-31",
        "from=-262144-01-01&to=%2B262143-12-31",
    ] {
        let page = owner.get(&format!("/audit?{query}")).await;
        if page.status != StatusCode::OK {
            failed.push(format!("/audit?{query}: status {}", page.status));
        }
    }
    assert!(
        failed.is_empty(),
        "the Audit page failed on dates far outside any stored time: {failed:#?}"
    );
    // Other filters given nonsense are ignored.
    for query in [
        "actor=abc&action=%3Cscript%3Ealert(1)%3C%2Fscript%3E&app=99999999999999999999&page=-1",
        "actor=-1&app=-1&page=99999999999999999999",
        "actor=%FF&action=%FF&app=%FF&page=%FF",
    ] {
        let page = owner.get(&format!("/audit?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}:\n{}", page.body);
        assert!(
            !page.body.contains("<script>alert"),
            "markup must be escaped:\n{}",
            page.body
        );
    }
}
