//! Users: who may manage whom, disabling, changing one's own password.

use reqwest::StatusCode;

use crate::helpers::{Engine, OWNER_EMAIL, OWNER_PASSWORD, engine_tests, spawn_app};

engine_tests!(
    user_pages_are_for_owners_and_admins,
    admins_cannot_make_or_touch_owners,
    disabling_a_user_signs_them_out_at_once,
    nobody_changes_their_own_role_or_disables_themselves,
    changing_the_password_signs_out_other_sessions,
    the_last_owner_stays,
    the_admins_dashboard_counts_people_however_they_came,
);

async fn user_pages_are_for_owners_and_admins(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, member_id) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let (admin, _) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;

    for path in ["/users", "/users/new", &format!("/users/{member_id}")] {
        assert_eq!(owner.get(path).await.status, StatusCode::OK, "owner {path}");
        assert_eq!(admin.get(path).await.status, StatusCode::OK, "admin {path}");
        let page = member.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "member {path}");
        page.assert_contains("Only owners and admins");
        app.browser().get(path).await.assert_redirects_to("/login");
    }

    // A member's forged POSTs (with a valid token of their own) change nothing.
    let token = member.get("/").await.csrf();
    let page = member
        .post(
            "/users/new",
            &[
                ("csrf_token", &token),
                ("name", "Sneaky"),
                ("email", "sneaky@example.com"),
                ("role", "owner"),
                ("password", "sneaky password 1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = member
        .post(
            &format!("/users/{member_id}"),
            &[("csrf_token", &token), ("name", "Mia"), ("role", "owner")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    owner
        .get("/users?q=sneaky")
        .await
        .assert_contains("Nobody matches");
    owner
        .get(&format!("/users/{member_id}"))
        .await
        .assert_contains("<option value=\"member\" selected>");

    // Members do not see the Users link.
    let dashboard = member.get("/").await;
    assert!(!dashboard.body.contains("href=\"/users\""));
    assert!(owner.get("/").await.body.contains("href=\"/users\""));
}

async fn admins_cannot_make_or_touch_owners(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (admin, _) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;

    let form = admin.get("/users/new").await;
    assert!(
        !form.body.contains("value=\"owner\""),
        "admins are not offered the owner role"
    );
    let page = admin
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", "Would Be Owner"),
                ("email", "wbo@example.com"),
                ("role", "owner"),
                ("password", "would be owner 1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("Only an owner can add another owner.");

    // The owner's page is read-only for an admin, and forged changes are refused.
    let owner_row = admin.get("/users?q=owner%40example.com").await;
    let owner_id = crate::helpers::first_user_id(&owner_row.body).unwrap();
    let page = admin.get(&format!("/users/{owner_id}")).await;
    page.assert_contains("Only an owner can change or disable another owner.");
    let token = page.csrf();
    let page = admin
        .post(
            &format!("/users/{owner_id}/disable"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = admin
        .post(
            &format!("/users/{owner_id}"),
            &[
                ("csrf_token", &token),
                ("name", "Demoted"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    app.browser()
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");

    // Owners can make owners.
    let page = owner
        .submit(
            "/users/new",
            "/users/new",
            &[
                ("name", "Second Owner"),
                ("email", "second@example.com"),
                ("role", "owner"),
                ("password", "second owner pass"),
            ],
        )
        .await;
    page.assert_redirects_to("/users");
}

async fn disabling_a_user_signs_them_out_at_once(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, member_id) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    assert_eq!(member.get("/").await.status, StatusCode::OK);

    let page = owner
        .submit(
            &format!("/users/{member_id}"),
            &format!("/users/{member_id}/disable"),
            &[],
        )
        .await;
    page.assert_redirects_to(&format!("/users/{member_id}"));
    owner
        .get(&format!("/users/{member_id}"))
        .await
        .assert_contains("is disabled and was signed out everywhere");
    // The signed-in person read with the session is never stored with it, not even by a
    // request that changed the session (the flash message above).
    #[derive(diesel::QueryableByName)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let states: Vec<State> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT state FROM sessions"),
        &mut app.db(),
    )
    .unwrap();
    assert!(!states.is_empty());
    assert!(
        states.iter().all(|s| !s.state.contains("__viewer")),
        "{:?}",
        states.iter().map(|s| &s.state).collect::<Vec<_>>()
    );

    // The very next request of the member is signed out.
    member.get("/").await.assert_redirects_to("/login");
    let page = member
        .sign_in("mia@example.com", "member password 123")
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("Your account is disabled");

    owner
        .submit(
            &format!("/users/{member_id}"),
            &format!("/users/{member_id}/enable"),
            &[],
        )
        .await
        .assert_redirects_to(&format!("/users/{member_id}"));
    member
        .sign_in("mia@example.com", "member password 123")
        .await
        .assert_redirects_to("/");
}

async fn nobody_changes_their_own_role_or_disables_themselves(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (admin, admin_id) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;
    let page = admin.get(&format!("/users/{admin_id}")).await;
    page.assert_contains("This is your own account.");
    let token = page.csrf();
    let page = admin
        .post(
            &format!("/users/{admin_id}"),
            &[("csrf_token", &token), ("name", "Adam"), ("role", "owner")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = admin
        .post(
            &format!("/users/{admin_id}/disable"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(admin.get("/users").await.status, StatusCode::OK);
}

async fn changing_the_password_signs_out_other_sessions(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let laptop = app.browser();
    laptop
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");

    let page = owner
        .submit(
            "/me/password",
            "/me/password",
            &[
                ("current_password", "wrong current password"),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("This is not your current password.");

    let page = owner
        .submit(
            "/me/password",
            "/me/password",
            &[
                ("current_password", OWNER_PASSWORD),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a different new password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("The two new passwords are not the same.");

    let page = owner
        .submit(
            "/me/password",
            "/me/password",
            &[
                ("current_password", OWNER_PASSWORD),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a brand new password"),
            ],
        )
        .await;
    page.assert_redirects_to("/");
    owner
        .get("/")
        .await
        .assert_contains("Your password has been changed.");
    laptop.get("/").await.assert_redirects_to("/login");

    let fresh = app.browser();
    assert_eq!(
        fresh.sign_in(OWNER_EMAIL, OWNER_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    fresh
        .sign_in(OWNER_EMAIL, "a brand new password")
        .await
        .assert_redirects_to("/");
}

async fn the_last_owner_stays(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (second, second_id) = app
        .user_browser(&owner, "Sam Second", "sam@example.com", "owner")
        .await;
    let list = second.get("/users?q=owner%40example.com").await;
    let first_id = crate::helpers::first_user_id(&list.body).unwrap();

    // With two owners, one may demote the other...
    second
        .submit(
            &format!("/users/{first_id}"),
            &format!("/users/{first_id}"),
            &[("name", "Olivia Owner"), ("role", "admin")],
        )
        .await
        .assert_redirects_to("/users");
    // ...who, now an admin, cannot touch the remaining owner.
    let page = owner.get(&format!("/users/{second_id}")).await;
    page.assert_contains("Only an owner can change or disable another owner.");
}

/// The admins' dashboard says how many people the organization has. The count is kept by the
/// database (triggers on `users`) and read with the session, so it follows people added through
/// Keyholder and rows written by anything else — an import, a script — added or removed.
async fn the_admins_dashboard_counts_people_however_they_came(engine: Engine) {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    owner.get("/").await.assert_contains("1 person in ");
    let (member, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    owner.get("/").await.assert_contains("2 people in ");
    // Members are not shown the count.
    let page = member.get("/").await;
    assert!(!page.body.contains("people in "), "{}", page.body);

    let mut conn = app.db();
    conn.batch_execute(
        "INSERT INTO users (organization_id, email, name, role, password_hash, created_at, updated_at)
         VALUES (1, 'imported1@example.com', 'Imported One', 'member', 'x', '2026-01-01 00:00:00',
             '2026-01-01 00:00:00'),
             (1, 'imported2@example.com', 'Imported Two', 'member', 'x', '2026-01-01 00:00:00',
             '2026-01-01 00:00:00')",
    )
    .unwrap();
    owner.get("/").await.assert_contains("4 people in ");
    diesel::sql_query("DELETE FROM users WHERE email = 'imported2@example.com'")
        .execute(&mut conn)
        .unwrap();
    owner.get("/").await.assert_contains("3 people in ");
    // A second organization's people are its own.
    conn.batch_execute(
        "INSERT INTO organizations (name, created_at) VALUES ('Other', '2026-01-01 00:00:00');
         UPDATE users SET organization_id = (SELECT max(id) FROM organizations)
         WHERE email = 'imported1@example.com';",
    )
    .unwrap();
    owner.get("/").await.assert_contains("2 people in ");
    #[derive(diesel::QueryableByName)]
    struct People {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        people: i64,
    }
    let other: People = diesel::sql_query("SELECT people FROM organizations WHERE name = 'Other'")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(other.people, 1);
}
