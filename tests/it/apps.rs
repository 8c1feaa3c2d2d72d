//! Targets (apps) and accounts through HTTP, as an admin and a member use them.

use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::{
    Engine, add_own_credential, engine_tests, revealed_password, spawn_app, unescape,
};

engine_tests!(
    admin_creates_a_target_and_an_account_and_reveals_it,
    generated_passwords_follow_the_policy,
    accounts_and_targets_are_edited_and_deleted,
    manage_apps_searches_sorts_and_pages,
    personal_credentials_follow_the_managed_rules,
    impossible_policies_are_refused_with_reasons,
    audit_page_filters_events,
    audit_person_filter_finds_people_by_name_or_email,
    the_audit_log_is_counted_up_to_ten_thousand,
    audit_pages_follow_on_while_events_are_written,
    dashboard_lists_turn_pages_of_their_own,
    usable_accounts_keep_one_plan_for_everyone,
    dashboard_check_outs_keep_one_plan_for_every_page,
    usable_accounts_pages_are_slices_of_the_whole_list,
    inbox_pages_are_slices_of_the_whole_inbox,
    app_lists_turn_pages_of_their_own,
);

async fn admin_creates_a_target_and_an_account_and_reveals_it(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Production DB", &[]).await;
    let tab = owner.get(&format!("/apps/{target}/accounts")).await;
    tab.assert_contains("Production DB was created");
    let account = app
        .create_shared_account(&owner, target, "postgres_admin", "s3cret-Pa55word!")
        .await;

    // Owners manage shared accounts, but see a password only by checking the account out, and
    // only when they are among the people allowed on the app.
    let page = owner.reveal(account).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("shown to the person who has checked it out");
    let page = owner.check_out(account).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("not among the people allowed");
    app.allow(&owner, target, crate::helpers::OWNER_EMAIL).await;
    let page = owner.check_out(account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("s3cret-Pa55word!")
    );
    assert_eq!(page.headers["cache-control"], "no-store");
    page.assert_contains("CheckIn credential");
    // While holding it, Reveal shows it again.
    let page = owner.reveal(account).await;
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("s3cret-Pa55word!")
    );

    // Reveal is a POST: a GET changes nothing and shows nothing.
    assert_eq!(
        owner
            .get(&format!("/accounts/{account}/reveal"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Both actions are in the audit trail, without the secret.
    let audit = owner.get(&format!("/audit?app={target}")).await;
    audit.assert_contains("Password revealed");
    audit.assert_contains("Account created");
    assert!(!audit.body.contains("s3cret-Pa55word!"));

    // The edit form never sends the current password back.
    let edit = owner.get(&format!("/accounts/{account}/edit")).await;
    assert!(!edit.body.contains("s3cret-Pa55word!"));
    edit.assert_contains("Keep the current password");
}

async fn generated_passwords_follow_the_policy(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app
        .create_target(
            &owner,
            "Router",
            &[
                ("policy_length", "16"),
                ("policy_digits_min", "4"),
                ("policy_symbols", ""),
                ("policy_excluded", "0O1lI"),
            ],
        )
        .await;
    app.allow(&owner, target, crate::helpers::OWNER_EMAIL).await;
    owner
        .submit(
            &format!("/apps/{target}/accounts/new?kind=shared"),
            &format!("/apps/{target}/accounts/new"),
            &[
                ("kind", "shared"),
                ("username", "admin"),
                ("password_mode", "generate"),
                ("auto_reset", "on"),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts"));
    let tab = owner.get(&format!("/apps/{target}/accounts")).await;
    let account = crate::helpers::account_id_for(&tab.body, "admin").unwrap();
    let password = revealed_password(&owner.check_out(account).await.body).unwrap();
    assert_eq!(password.chars().count(), 16, "{password}");
    assert!(
        password.chars().filter(char::is_ascii_digit).count() >= 4,
        "{password}"
    );
    assert!(
        password.chars().all(|c| c.is_ascii_alphanumeric()),
        "no symbols: {password}"
    );
    assert!(!password.contains(['0', 'O', '1', 'l', 'I']), "{password}");
}

async fn accounts_and_targets_are_edited_and_deleted(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Mail server", &[]).await;
    app.allow(&owner, target, crate::helpers::OWNER_EMAIL).await;
    let account = app
        .create_shared_account(&owner, target, "root", "first-password-1")
        .await;
    let checkout = crate::helpers::checkout_id_in(&owner.check_out(account).await.body).unwrap();

    // The holder edits, keeping the password.
    let path = format!("/accounts/{account}/edit");
    owner
        .submit(
            &path,
            &path,
            &[
                ("username", "root2"),
                ("password_mode", "keep"),
                ("notes", "rack 4"),
                ("auto_reset", ""),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts"));
    let tab = owner.get(&format!("/apps/{target}/accounts")).await;
    tab.assert_contains("<strong>root2</strong>");
    tab.assert_contains("rack 4");
    tab.assert_contains("Disabled");
    assert_eq!(
        revealed_password(&owner.reveal(account).await.body).as_deref(),
        Some("first-password-1")
    );

    // Edit with a new typed password.
    owner
        .submit(
            &path,
            &path,
            &[
                ("username", "root2"),
                ("password_mode", "type"),
                ("password", "second-password-2"),
                ("password_confirm", "second-password-2"),
                ("auto_reset", ""),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts"));
    assert_eq!(
        revealed_password(&owner.reveal(account).await.body).as_deref(),
        Some("second-password-2")
    );

    // Neither the account nor its app can be deleted while it is checked out.
    let page = owner
        .submit(
            &format!("/apps/{target}/accounts"),
            &format!("/accounts/{account}/delete"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    page.assert_contains("is checked out by you. It can be deleted once it is checked in.");
    let page = owner
        .submit(
            &format!("/apps/{target}/accounts"),
            &format!("/apps/{target}/delete"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    // AutoReset is off: checking in leaves the password as it is.
    owner
        .check_in(checkout)
        .await
        .assert_redirects_to(&format!("/apps/{target}"));

    // Edit target settings.
    let settings = format!("/apps/{target}/settings");
    let form = owner.get(&settings).await;
    form.assert_contains("value=\"Mail server\"");
    let page = owner
        .submit(
            &settings,
            &settings,
            &[
                ("name", "Mail relay"),
                ("address", "smtp.example.com"),
                ("description", "Outgoing mail"),
                ("connector", "vault"),
                ("checkout_type", "regular"),
                ("exclusive_minutes", "30"),
                ("policy_length", "12"),
                ("policy_lower", "on"),
                ("policy_lower_min", "1"),
                ("policy_digits", "on"),
                ("policy_digits_min", "1"),
            ],
        )
        .await;
    page.assert_redirects_to(&format!("/apps/{target}"));
    let overview = owner.get(&format!("/apps/{target}")).await;
    overview.assert_contains("Mail relay");
    overview.assert_contains("Regular");
    overview.assert_contains("12 characters: lower-case letters (at least 1), digits (at least 1)");
    // The search index follows the edit: the new name and address are found, the old are not.
    owner
        .get("/apps?q=RELAY")
        .await
        .assert_contains("1 app · page 1 of 1");
    owner
        .get("/apps?q=smtp.example")
        .await
        .assert_contains("Mail relay");
    owner
        .get("/apps?q=server")
        .await
        .assert_contains("No app matches");

    // Delete the account after confirming.
    owner
        .get(&format!("/accounts/{account}/delete"))
        .await
        .assert_contains("Delete root2?");
    owner
        .submit(
            &format!("/accounts/{account}/delete"),
            &format!("/accounts/{account}/delete"),
            &[],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts"));
    assert_eq!(owner.reveal(account).await.status, StatusCode::NOT_FOUND);

    // Delete the target after confirming.
    let confirm = owner.get(&format!("/apps/{target}/delete")).await;
    confirm.assert_contains("Delete Mail relay?");
    owner
        .submit(
            &format!("/apps/{target}/delete"),
            &format!("/apps/{target}/delete"),
            &[],
        )
        .await
        .assert_redirects_to("/apps");
    assert_eq!(
        owner.get(&format!("/apps/{target}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Its search entry went with it (the organization has no app left to find).
    owner.get("/apps").await; // shows, and so clears, the "was deleted" message
    let search = owner.get("/apps?q=relay").await;
    search.assert_contains("No apps yet.");
    assert!(!search.body.contains("Mail relay"));
    owner.get("/audit").await.assert_contains("App deleted");
}

async fn manage_apps_searches_sorts_and_pages(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let empty = owner.get("/apps").await;
    empty.assert_contains("No apps yet.");
    empty.assert_contains("Create target");
    for i in 0..27 {
        let name = format!("App {i:02}");
        let description = if i == 7 {
            "The PAYROLL system"
        } else {
            "internal"
        };
        let address = if i == 9 {
            "ldap.corp.example"
        } else {
            "host.example"
        };
        app.create_target(
            &owner,
            &name,
            &[("description", description), ("address", address)],
        )
        .await;
    }
    owner.get("/apps").await; // shows, and so clears, the last "was created" message
    let first = owner.get("/apps").await;
    first.assert_contains("27 apps · page 1 of 2");
    first.assert_contains("App 00");
    assert!(!first.body.contains("App 26"));
    let second = owner.get("/apps?page=2").await;
    second.assert_contains("App 26");
    let descending = owner.get("/apps?sort=name_desc").await;
    let at_26 = descending.body.find("App 26").unwrap();
    let at_25 = descending.body.find("App 25").unwrap();
    assert!(at_26 < at_25, "sorted Z to A");

    // Case-insensitive, partial, across name, address and description.
    let page = owner.get("/apps?q=payRoll").await;
    page.assert_contains("App 07");
    page.assert_contains("1 app · page 1 of 1");
    owner
        .get("/apps?q=LDAP.CORP")
        .await
        .assert_contains("App 09");
    owner.get("/apps?q=app+1").await.assert_contains("10 apps");
    // LIKE wildcards are matched literally.
    owner
        .get("/apps?q=%25")
        .await
        .assert_contains("No app matches");
    owner
        .get("/apps?q=_")
        .await
        .assert_contains("No app matches");
    // Quotes and the index's own syntax are text to find, never an error.
    for term in [
        "%22pay",
        "pay%22roll",
        "AND+OR",
        "NEAR(app",
        "app*",
        "%5E00",
    ] {
        let page = owner.get(&format!("/apps?q={term}")).await;
        assert_eq!(page.status, StatusCode::OK, "{term}");
    }
    owner.get("/apps?q=app+0").await.assert_contains("10 apps");
    // A nonsense page number is page 1, not an error.
    assert_eq!(owner.get("/apps?page=abc").await.status, StatusCode::OK);

    // Counts of accounts and Unmanaged credentials.
    let target = app.create_target(&owner, "Counted", &[]).await;
    app.create_shared_account(&owner, target, "svc", "service-password")
        .await;
    let (member, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    member
        .submit(
            &format!("/apps/{target}/accounts/new"),
            &format!("/apps/{target}/accounts/new"),
            &[
                ("kind", "personal"),
                ("username", "mia"),
                ("password_mode", "type"),
                ("password", "mia-app-password"),
                ("password_confirm", "mia-app-password"),
                ("auto_reset", "on"),
                ("admin_access", ""),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}"));
    let row = owner.get("/apps?q=counted").await;
    row.assert_contains("<td class=\"num\">2</td>");
    row.assert_contains("1 Unmanaged");
    // The same counts where the list is read in name order, and for a term too short for
    // the trigram index ("co": Counted, and App 09 at ldap.corp.example).
    for path in ["/apps?page=2", "/apps?q=co"] {
        let page = owner.get(path).await;
        page.assert_contains("Counted");
        page.assert_contains("<td class=\"num\">2</td>");
        page.assert_contains("1 Unmanaged");
    }
    owner.get("/apps?q=co").await.assert_contains("2 apps");
    // A search sorted Z to A, its first page and a later one (the matches' last two).
    for (path, heading, earlier, later, absent) in [
        (
            "/apps?q=app&sort=name_desc",
            "27 apps · page 1 of 2",
            "App 26",
            "App 25",
            "App 01",
        ),
        (
            "/apps?q=app&sort=name_desc&page=2",
            "27 apps · page 2 of 2",
            "App 01",
            "App 00",
            "App 02",
        ),
    ] {
        let page = owner.get(path).await;
        page.assert_contains(heading);
        let (at_earlier, at_later) = (
            page.body.find(earlier).unwrap(),
            page.body.find(later).unwrap(),
        );
        assert!(at_earlier < at_later, "{path}: sorted Z to A");
        assert!(!page.body.contains(absent), "{path}: {}", page.body);
    }

    // A list turned past its last page says so and leads back, rather than calling it empty.
    let past = owner.get("/apps?q=app+0&page=9").await;
    past.assert_contains("10 apps, on 1 page: this page is past the last.");
    past.assert_contains("href=\"/apps?q=app%200&amp;page=1\"");
    owner
        .get(&format!("/apps/{target}/credentials"))
        .await
        .assert_contains("2 credentials · page 1 of 1");
    owner
        .get(&format!("/apps/{target}/credentials?q=MIA"))
        .await
        .assert_contains("1 credential · page 1 of 1");
    let past = owner
        .get(&format!("/apps/{target}/credentials?page=4"))
        .await;
    past.assert_contains("2 credentials, on 1 page: this page is past the last.");
    assert!(
        !past.body.contains("No credentials stored"),
        "{}",
        past.body
    );
    owner
        .get("/users?page=30")
        .await
        .assert_contains("this page is past the last.");
    owner
        .get("/audit?page=999")
        .await
        .assert_contains("this page is past the last.");
}

async fn personal_credentials_follow_the_managed_rules(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Expense tool", &[]).await;
    let (member, member_id) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let (admin, admin_id) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;

    // The member stores their own login, Unmanaged.
    let overview = member.get(&format!("/apps/{target}")).await;
    overview.assert_contains("Add my credential");
    member
        .submit(
            &format!("/apps/{target}/accounts/new?kind=personal"),
            &format!("/apps/{target}/accounts/new"),
            &[
                ("kind", "personal"),
                ("username", "mia@expenses"),
                ("password_mode", "type"),
                ("password", "mias-own-password"),
                ("password_confirm", "mias-own-password"),
                ("auto_reset", "on"),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}"));
    let overview = member.get(&format!("/apps/{target}")).await;
    overview.assert_contains("Unmanaged");
    let account: i64 = {
        let marker = "action=\"/accounts/";
        let start = overview.body.find(marker).unwrap() + marker.len();
        overview.body[start..]
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        revealed_password(&member.reveal(account).await.body).as_deref(),
        Some("mias-own-password")
    );

    // Admins see it listed as Unmanaged and cannot reveal it, even when named in the policy.
    let tab = admin.get(&format!("/apps/{target}/credentials")).await;
    tab.assert_contains("Mia Member");
    tab.assert_contains("Unmanaged");
    {
        use diesel::ExpressionMethods;
        use keyholder::schema::target_policy_admins;
        let mut conn = app.db();
        diesel::insert_into(target_policy_admins::table)
            .values((
                target_policy_admins::target_id.eq(target),
                target_policy_admins::user_id.eq(admin_id),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let page = admin.reveal(account).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("Unmanaged");
    assert!(!page.body.contains("mias-own-password"));
    // Not even the owner of the organization.
    assert_eq!(owner.reveal(account).await.status, StatusCode::FORBIDDEN);
    // Nor can an admin edit someone's personal credential.
    assert_eq!(
        admin.get(&format!("/accounts/{account}/edit")).await.status,
        StatusCode::FORBIDDEN
    );

    // The member allows admin access: Managed. The admin named in the policy may reveal; the
    // owner, not named, still may not.
    let edit = format!("/accounts/{account}/edit");
    member
        .submit(
            &edit,
            &edit,
            &[
                ("username", "mia@expenses"),
                ("password_mode", "keep"),
                ("auto_reset", "on"),
                ("admin_access", "on"),
            ],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}"));
    admin
        .get(&format!("/apps/{target}/credentials"))
        .await
        .assert_contains("state-ok\">Managed");
    let page = admin.reveal(account).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        revealed_password(&page.body).as_deref(),
        Some("mias-own-password")
    );
    let page = owner.reveal(account).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    page.assert_contains("can see Managed passwords");

    // A member cannot create shared accounts.
    let page = member
        .get(&format!("/apps/{target}/accounts/new?kind=shared"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // One personal credential per person and app: Add my credential leads to Edit.
    member
        .get(&format!("/apps/{target}/accounts/new?kind=personal"))
        .await
        .assert_redirects_to(&format!("/accounts/{account}/edit"));
    let _ = member_id;
}

async fn impossible_policies_are_refused_with_reasons(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let base = [
        ("name", "Impossible"),
        ("connector", "vault"),
        ("checkout_type", "exclusive"),
        ("exclusive_minutes", "60"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("policy_length", "8"),
                ("policy_lower", "on"),
                ("policy_lower_min", "5"),
                ("policy_upper", "on"),
                ("policy_upper_min", "5"),
            ],
            "The minimums add up to 10 characters, more than the length of 8",
        ),
        (
            vec![("policy_length", "20")],
            "Turn on at least one kind of character",
        ),
        (
            vec![
                ("policy_length", "20"),
                ("policy_symbols", "on"),
                ("policy_excluded", "!#$%&()*+,-./:;<=>?@[]^_{|}~"),
            ],
            "Every symbols character is excluded",
        ),
        (
            vec![("policy_length", "4"), ("policy_lower", "on")],
            "The length must be from 8 to 128 characters.",
        ),
        (
            vec![("policy_length", "twenty"), ("policy_lower", "on")],
            "Enter the length as a whole number.",
        ),
    ];
    for (policy, message) in cases {
        let mut fields: Vec<(&str, &str)> = base.to_vec();
        fields.extend(policy);
        let page = owner.submit("/apps/new", "/apps/new", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(
            unescape(&page.body).contains(message),
            "expected {message:?}:\n{}",
            page.body
        );
        page.assert_contains("value=\"Impossible\"");
    }
    owner.get("/apps").await.assert_contains("No apps yet.");
}

async fn audit_page_filters_events(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (admin, admin_id) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;
    let target = app.create_target(&admin, "Audited", &[]).await;
    app.create_target(&owner, "Other", &[]).await;

    let page = owner
        .get(&format!("/audit?actor={admin_id}&action=target.create"))
        .await;
    page.assert_contains("Created app &#34;Audited&#34;");
    assert!(
        !page.body.contains("Created app &#34;Other&#34;"),
        "{}",
        page.body
    );
    let page = owner.get(&format!("/audit?app={target}")).await;
    page.assert_contains("Audited");
    assert!(!page.body.contains("<td>Signed in</td>"), "{}", page.body);
    page.assert_contains("<td>App created</td>");
    let today = chrono::Utc::now().date_naive();
    let page = owner.get(&format!("/audit?from={today}&to={today}")).await;
    page.assert_contains("App created");
    let tomorrow = today.succ_opt().unwrap();
    owner
        .get(&format!("/audit?from={tomorrow}"))
        .await
        .assert_contains("No event matches");
    let page = owner.get("/audit?from=yesterday").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Enter a date as YYYY-MM-DD.");
    // Members have no audit page.
    let (member, _) = app
        .user_browser(&owner, "Mia", "mia@example.com", "member")
        .await;
    assert_eq!(member.get("/audit").await.status, StatusCode::FORBIDDEN);
}

/// The Person filter never lists the whole organization: it takes part of a name or an email,
/// picks the one person it matches, offers the people it matches when there are several, and
/// says so when there is nobody.
async fn audit_person_filter_finds_people_by_name_or_email(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (admin, admin_id) = app
        .user_browser(&owner, "Adam Admin", "adam@example.com", "admin")
        .await;
    app.create_target(&admin, "Audited", &[]).await;
    app.create_target(&owner, "Other", &[]).await;
    let mut marks = Vec::new();
    // Twelve people whose names sort before "Al" and whose addresses contain "al" too.
    for n in 1..=12 {
        let email = format!("mark.al{n:02}@example.com");
        let id = app
            .add_user(
                &owner,
                &format!("Aardvark Mark {n:02}"),
                &email,
                "member",
                "member password 123",
            )
            .await;
        marks.push(id);
    }
    let al = app
        .add_user(
            &owner,
            "Al",
            "al@example.com",
            "member",
            "member password 123",
        )
        .await;
    app.add_user(
        &owner,
        "Val Alan",
        "val@example.com",
        "member",
        "member password 123",
    )
    .await;

    // One match: that person is chosen and only their events are shown.
    let page = owner.get("/audit?person=adam").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&format!("name=\"actor\" value=\"{admin_id}\""));
    page.assert_contains("Adam Admin (adam@example.com) · <a href=\"/audit?action=");
    page.assert_contains("Created app &#34;Audited&#34;");
    assert!(
        !page.body.contains("Created app &#34;Other&#34;"),
        "{}",
        page.body
    );

    // A whole email picks its owner whatever the case, even where it is part of others' too.
    for (term, id) in [
        ("MARK.AL01@example.com", marks[0]),
        ("al@example.com", al),
        (" AL@Example.com ", al),
    ] {
        owner
            .get(&format!(
                "/audit?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("person", term)
                    .finish()
            ))
            .await
            .assert_contains(&format!("name=\"actor\" value=\"{id}\""));
    }
    // A whole name picks its owner among longer ones: "Al", not "Val Alan", though fourteen
    // people match "al" and Al is not among the first ten of them by name.
    owner
        .get("/audit?person=al")
        .await
        .assert_contains(&format!("name=\"actor\" value=\"{al}\""));

    // Several: the first ten are offered, by name, with how many more there are; no events yet.
    let page = owner.get("/audit?person=Mark&action=user.create").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = unescape(&page.body);
    assert!(
        text.contains("12 people match \u{201c}Mark\u{201d}: choose one"),
        "{text}"
    );
    for id in &marks[..10] {
        let link = format!("href=\"/audit?actor={id}&action=user.create&app=&");
        assert!(text.contains(&link), "{link}:\n{text}");
    }
    assert!(!text.contains(&format!("actor={}&", marks[10])), "{text}");
    page.assert_contains("and 2 more: type more of the name, or the whole email.");
    page.assert_contains("value=\"Mark\"");
    assert!(!page.body.contains("<table"), "{}", page.body);
    // A name in the log links to that person's events.
    let text = unescape(&owner.get("/audit?action=target.create").await.body);
    let link = format!("<a href=\"/audit?actor={admin_id}&action=target.create&app=&");
    assert!(text.contains(&link), "{link}:\n{text}");

    // Nobody: the field says so, keeps the words, and no event is shown.
    let page = owner.get("/audit?person=%3Cb%3Ezzz").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        unescape(&page.body)
            .contains("No one here has a name or email containing \u{201c}<b>zzz\u{201d}."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>zzz"), "markup must be escaped");
    page.assert_contains("aria-invalid=\"true\" aria-describedby=\"person-error\"");
    page.assert_contains("No event matches these filters.");
    // An id that is not one of ours, or no id at all: no one's events, not everyone's.
    for actor in ["99999999", "12x", "abc"] {
        let page = owner.get(&format!("/audit?actor={actor}")).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_contains("That person is not in this organization.");
        page.assert_contains("No event matches these filters.");
    }
    // Percent signs and underscores are letters, not wildcards.
    for term in ["%25", "_"] {
        owner
            .get(&format!("/audit?person={term}"))
            .await
            .assert_contains("No one here has a name or email containing");
    }
    // Dropping the app keeps the person.
    let page = owner
        .get(&format!("/audit?actor={admin_id}&app=99999999"))
        .await;
    assert!(
        unescape(&page.body).contains(&format!(
            "<a href=\"/audit?actor={admin_id}&action=&from=&to=\">any app</a>"
        )),
        "{}",
        page.body
    );
    // The user's page links to their events.
    owner
        .get(&format!("/users/{admin_id}"))
        .await
        .assert_contains(&format!("href=\"/audit?actor={admin_id}\""));
}

/// The audit log only grows: its page counts matches up to 10 000 and says "more than" past
/// that, while its pages still turn to the end.
async fn the_audit_log_is_counted_up_to_ten_thousand(engine: Engine) {
    use diesel::QueryDsl as _;
    use keyholder::schema::audit_events;

    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let mut conn = app.db();
    let before: i64 = audit_events::table.count().get_result(&mut conn).unwrap();
    let base = chrono::Utc::now().naive_utc() - chrono::Duration::days(30);
    // 10 000 events in all, then one more.
    let add = |conn: &mut keyholder::db::DbConnection, from: i64, to: i64| {
        record_events(
            conn,
            from..to,
            |n| format!("Imported event {n:05}"),
            |n| base + chrono::Duration::seconds(n),
        )
    };
    add(&mut conn, 0, 10_000 - before);
    let page = owner.get("/audit").await;
    page.assert_contains("10,000 events · page 1 of 200<");
    let last = owner.get("/audit?page=200").await;
    last.assert_contains("10,000 events · page 200 of 200<");
    assert!(!last.body.contains("rel=\"next\""), "{}", last.body);

    add(&mut conn, 10_000 - before, 10_001 - before);
    let page = owner.get("/audit").await;
    page.assert_contains("More than 10,000 events · page 1<");
    page.assert_contains("rel=\"next\"");
    // The page past the cap's last still shows events, and the one after that is the end.
    let past = owner.get("/audit?page=201").await;
    past.assert_contains("More than 10,000 events · page 201<");
    past.assert_contains("Imported event 00000");
    assert!(!past.body.contains("rel=\"next\""), "{}", past.body);
    owner
        .get("/audit?page=202")
        .await
        .assert_contains("More than 10,000 events: this page is past the last.");
    // Filters are counted the same way.
    add(&mut conn, 10_001 - before, 10_030);
    owner
        .get("/audit?action=user.login")
        .await
        .assert_contains("More than 10,000 events · page 1<");
}

/// The dashboard's shared accounts and own credentials are paginated, each list with its own
/// pager that keeps the other lists where they were; held accounts stay under My check-outs.
async fn dashboard_lists_turn_pages_of_their_own(engine: Engine) {
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let shared = app.create_target(&owner, "Shared estate", &[]).await;
    let mut first_account = 0;
    for i in 0..23 {
        let account = app
            .create_shared_account(&owner, shared, &format!("svc{i:02}"), "service-password")
            .await;
        if i == 0 {
            first_account = account;
        }
    }
    app.allow(&owner, shared, "mia@example.com").await;
    // Another allowed app sorts first (its accounts by username, whatever their case); an app
    // Mia is not allowed on is not listed.
    let another = app.create_target(&owner, "Another estate", &[]).await;
    app.create_shared_account(&owner, another, "Beta", "service-password")
        .await;
    let alpha = app
        .create_shared_account(&owner, another, "alpha", "service-password")
        .await;
    app.allow(&owner, another, "mia@example.com").await;
    let hidden = app.create_target(&owner, "Hidden estate", &[]).await;
    app.create_shared_account(&owner, hidden, "hidden0", "service-password")
        .await;
    for i in 0..12 {
        let target = app
            .create_target(&owner, &format!("Own app {i:02}"), &[])
            .await;
        member
            .submit(
                &format!("/apps/{target}/accounts/new"),
                &format!("/apps/{target}/accounts/new"),
                &[
                    ("kind", "personal"),
                    ("username", &format!("mia{i:02}")),
                    ("password_mode", "type"),
                    ("password", "mia-app-password"),
                    ("password_confirm", "mia-app-password"),
                    ("auto_reset", "on"),
                    ("admin_access", "on"),
                ],
            )
            .await
            .assert_redirects_to(&format!("/apps/{target}"));
    }
    member.get("/").await; // shows, and so clears, the last flash message
    let page = member.get("/").await;
    page.assert_contains("25 accounts · page 1 of 2");
    let at = |name: &str| {
        page.body
            .find(name)
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert!(
        at(">alpha<") < at(">Beta<") && at(">Beta<") < at(">svc00<"),
        "by app, then username"
    );
    page.assert_contains("svc17");
    assert!(!page.body.contains("svc18"), "20 shared accounts a page");
    assert!(!page.body.contains("hidden0"), "only the apps Mia may use");
    page.assert_contains("12 credentials · page 1 of 2");
    page.assert_contains("Own app 09");
    assert!(!page.body.contains("Own app 10"), "10 credentials a page");
    page.assert_contains("href=\"/?shared=2\"");
    page.assert_contains("href=\"/?mine=2\"");

    let both = member.get("/?shared=2&mine=2").await;
    both.assert_contains("svc22");
    both.assert_contains("svc18");
    assert!(!both.body.contains("svc17"));
    both.assert_contains("Own app 11");
    both.assert_contains("href=\"/?mine=2\""); // back to the first page of shared accounts
    both.assert_contains("href=\"/?shared=2\""); // back to the first page of credentials
    // Past the last page, the lists still say how many there are.
    let past = member.get("/?shared=9&mine=9").await;
    past.assert_contains("25 accounts, on 2 pages: this page is past the last.");
    past.assert_contains("12 credentials, on 2 pages: this page is past the last.");
    assert!(!past.body.contains("You have not stored any login yet"));

    // A held account is listed under My check-outs whatever page the shared list is on.
    member
        .submit("/", &format!("/accounts/{first_account}/checkout"), &[])
        .await;
    let later = member.get("/?shared=2").await;
    let held = later.body.find("My check-outs").unwrap();
    let listed = later.body.find("Shared accounts you can use").unwrap();
    let svc00 = later.body.find("svc00").expect("svc00 is listed as held");
    assert!(held < svc00 && svc00 < listed, "svc00 under My check-outs");

    // On the first page it is also among the shared accounts, held by Mia; an account someone
    // else holds there names them and offers Mia no check-out; only Mia's own check-out is
    // under My check-outs.
    let (max, _) = app
        .user_browser(&owner, "Max Member", "max@example.com", "member")
        .await;
    app.allow(&owner, another, "max@example.com").await;
    max.submit("/", &format!("/accounts/{alpha}/checkout"), &[])
        .await;
    let first = member.get("/").await;
    let (mine, shared) = first
        .body
        .split_once("Shared accounts you can use")
        .unwrap();
    let mine = &mine[mine.find("My check-outs").unwrap()..];
    assert!(
        mine.contains(">svc00<") && !mine.contains(">alpha<"),
        "{mine}"
    );
    let row_of = |id: i64| {
        let start = shared.find(&format!("id=\"account-{id}\"")).unwrap();
        let end = start + shared[start..].find("</tr>").unwrap();
        &shared[start..end]
    };
    let alpha_row = row_of(alpha);
    assert!(
        alpha_row.contains("by <strong>Max Member</strong> until"),
        "{alpha_row}"
    );
    assert!(!alpha_row.contains("/checkout\""), "{alpha_row}");
    let svc00_row = row_of(first_account);
    assert!(
        svc00_row.contains("by <strong>you</strong> until"),
        "{svc00_row}"
    );
    assert!(svc00_row.contains("CheckIn credential"), "{svc00_row}");
}

/// The one id column of each row `sql` returns.
fn ids(conn: &mut keyholder::db::DbConnection, sql: &str) -> Vec<i64> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(sql)
        .load::<Id>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

/// How often PostgreSQL planned the one statement this connection prepared that matches
/// `condition` (on `pg_prepared_statements`): with its generic plan, and for the run's values.
#[derive(diesel::QueryableByName, Debug)]
struct Plans {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    custom_plans: i64,
}

fn plans_of(conn: &mut keyholder::db::DbConnection, condition: &str) -> Plans {
    diesel::sql_query(format!(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE {condition}"
    ))
    .get_result(conn)
    .unwrap()
}

/// PostgreSQL: `members` members and `apps` apps of five shared accounts each, in the first
/// organization, written by SQL (the plan tests need more rows than forms would write quickly).
fn members_and_apps(conn: &mut keyholder::db::DbConnection, members: u32, apps: u32) {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "INSERT INTO users (organization_id, email, name, role, password_hash, created_at, updated_at)
         SELECT 1, 'member' || g || '@example.com', 'Member ' || g, 'member', 'x', now(), now()
         FROM generate_series(1, {members}) AS g;
         INSERT INTO targets (organization_id, name, name_key, address, description, connector,
             connector_settings, checkout_type, exclusive_minutes, password_policy, created_at,
             updated_at)
         SELECT 1, 'App ' || g, 'app ' || g, '', '', 'none', '{{}}', 'regular', 60, '{{}}', now(), now()
         FROM generate_series(1, {apps}) AS g;
         INSERT INTO accounts (organization_id, target_id, username, secret, notes, auto_reset,
             admin_access, created_at, updated_at)
         SELECT 1, t.id, 'user' || g, '\\x00', '', false, true, now(), now()
         FROM targets t, generate_series(1, 5) AS g;"
    ))
    .unwrap();
}

/// PostgreSQL plans a prepared statement for its first five runs, then keeps a generic plan
/// only if it is estimated no dearer than the specific ones. With one person allowed on many
/// apps and the others on one each, the dashboard's shared-accounts statement was planned anew
/// on every run for those others (planning cost twice the run itself). It now passes the
/// person's id so that the planner cannot tell people apart, and keeps one plan.
async fn usable_accounts_keep_one_plan_for_everyone(engine: Engine) {
    use diesel::connection::SimpleConnection;
    use keyholder::models::Account;
    let app = spawn_app(&engine).await;
    let _owner = app.set_up().await;
    let mut conn = app.db();
    let Engine::Postgres(_) = engine else {
        // SQLite plans a prepared statement once; its answers are checked by the dashboard's
        // tests on both engines.
        let page = Account::usable_by(&mut conn, 1.into(), 1, 20).unwrap();
        assert_eq!(page.total, 0);
        return;
    };
    // 3 000 apps of five shared accounts each; 201 members.
    members_and_apps(&mut conn, 201, 3000);
    // The first member may use 1 000 apps, every other one a single app.
    conn.batch_execute(
        "INSERT INTO target_users (target_id, user_id)
         SELECT t.id, (SELECT min(id) FROM users WHERE role = 'member')
         FROM targets t ORDER BY t.id LIMIT 1000;
         INSERT INTO target_users (target_id, user_id)
         SELECT (SELECT min(id) FROM targets) + 1000 + u.id % 2000, u.id FROM users u
         WHERE u.role = 'member' AND u.id > (SELECT min(id) FROM users WHERE role = 'member');
         ANALYZE;",
    )
    .unwrap();
    let one_app = ids(
        &mut conn,
        "SELECT max(id) AS id FROM users WHERE role = 'member'",
    )[0];
    for _ in 0..10 {
        let page = Account::usable_by(&mut conn, one_app.into(), 1, 20).unwrap();
        assert_eq!(
            page.total, 5,
            "the five shared accounts of the member's one app"
        );
    }
    // The person's apps with their counts, then the page's accounts in those apps.
    for statement in ["%(SELECT COUNT(*) FROM%", "%= ANY(CAST(%"] {
        let plans = plans_of(
            &mut conn,
            &format!("statement LIKE '%target_users%' AND statement LIKE '{statement}'"),
        );
        assert!(
            plans.generic_plans >= 4 && plans.custom_plans <= 6,
            "the statement like {statement} was planned for each person: {plans:?}"
        );
    }
}

/// The dashboard reads the active check-outs of the page's 20 accounts and of the person's
/// held ones in one statement. Given the lists as parameters, PostgreSQL found a plan for each
/// run's lists cheaper than its generic plan (an empty list of held ones costs nothing), so the
/// statement was planned on every dashboard, at ten times the cost of running it. The lists
/// are now hidden from the planner and the statement keeps one plan, whoever looks, while its
/// answers stay those of the check-outs in the database.
async fn dashboard_check_outs_keep_one_plan_for_every_page(engine: Engine) {
    use diesel::connection::SimpleConnection;
    use keyholder::models::Checkout;
    let app = spawn_app(&engine).await;
    let _owner = app.set_up().await;
    let mut conn = app.db();
    let Engine::Postgres(_) = engine else {
        // SQLite plans a prepared statement once; the answers are checked below on PostgreSQL
        // and by the dashboard's tests on both engines.
        assert!(
            Checkout::active_for_accounts_or_held(&mut conn, &[1, 2], &[], 1.into())
                .unwrap()
                .is_empty()
        );
        return;
    };
    // 300 members; 400 apps of five shared accounts; 20 000 ended check-outs; now, the last
    // four members hold every seventh of the first 240 accounts, three of them each. A quiet
    // organization: most people hold nothing, so most dashboards ask about no held check-out.
    members_and_apps(&mut conn, 300, 400);
    conn.batch_execute(
        "INSERT INTO checkouts (organization_id, account_id, target_id, user_id, mode, started_at,
             expires_at, ended_at, end_reason, reminded)
         SELECT 1, a.id, a.target_id, u.id, 'regular', now() - interval '2 days',
             now() - interval '1 day', now() - interval '1 day', 'checked_in', false
         FROM accounts a, (SELECT id FROM users WHERE role = 'member' ORDER BY id LIMIT 10) AS u;
         INSERT INTO checkouts (organization_id, account_id, target_id, user_id, mode, started_at,
             expires_at, reminded)
         SELECT 1, a.id, a.target_id, u.id, 'regular', now() - interval '1 minute' * u.id,
             now() + interval '1 hour', false
         FROM (SELECT id, target_id FROM accounts ORDER BY id LIMIT 240) AS a
         JOIN (SELECT id FROM users WHERE role = 'member' ORDER BY id DESC LIMIT 4) AS u
             ON (u.id + a.id) % 4 < 3
         WHERE a.id % 7 = 0;
         ANALYZE;",
    )
    .unwrap();
    let members = ids(
        &mut conn,
        "SELECT id FROM users WHERE role = 'member' ORDER BY id",
    );
    let accounts = ids(&mut conn, "SELECT id FROM accounts ORDER BY id");
    // Eight who hold nothing, then the four who do.
    let viewers = members.iter().take(8).chain(&members[members.len() - 4..]);
    for (turn, member) in viewers.enumerate() {
        // Each dashboard its own page of 20 accounts and the member's own held check-outs.
        let page = &accounts[turn * 20..turn * 20 + 20];
        let held = ids(
            &mut conn,
            &format!(
                "SELECT id FROM checkouts WHERE user_id = {member} AND ended_at IS NULL ORDER BY id LIMIT 10"
            ),
        );
        let found = Checkout::active_for_accounts_or_held(&mut conn, page, &held, (*member).into())
            .unwrap();
        let on_page = Checkout::active_for_accounts(&mut conn, page, (*member).into()).unwrap();
        // What the database holds: of each account of the page, its first three holders and
        // the member's own; and every check-out the member holds.
        let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let expected_on_page = ids(
            &mut conn,
            &format!(
                "SELECT id FROM (SELECT id, user_id, ROW_NUMBER() OVER (PARTITION BY account_id
                 ORDER BY started_at, id) AS place FROM checkouts
                 WHERE account_id IN ({}) AND ended_at IS NULL) AS ranked
                 WHERE place <= 3 OR user_id = {member} ORDER BY id",
                list(page)
            ),
        );
        let mut shown: Vec<i64> = on_page.iter().map(|a| a.checkout.id).collect();
        shown.sort_unstable();
        assert_eq!(
            shown, expected_on_page,
            "the page's holders for member {member}"
        );
        assert!(
            !expected_on_page.is_empty() || turn > 0,
            "the first page has holders to show"
        );
        let mut both: Vec<i64> = found.iter().map(|(a, _, _)| a.checkout.id).collect();
        both.sort_unstable();
        let mut expected = expected_on_page.clone();
        expected.extend(&held);
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(
            both, expected,
            "the dashboard's check-outs for member {member}"
        );
        for (active, account, _) in &found {
            assert_eq!(active.checkout.account_id, account.id);
            assert!(active.holders >= 1 && !active.holder_name.is_empty());
        }
    }
    // With the page's accounts and their apps (the dashboard); the check-outs alone (an app's
    // accounts).
    let plans = [true, false].map(|joined| {
        plans_of(
            &mut conn,
            &format!(
                "statement LIKE '%ROW_NUMBER() OVER%'
                 AND (statement LIKE '%JOIN \"accounts\"%') = {joined}"
            ),
        )
    });
    assert!(
        plans
            .iter()
            .all(|p| p.generic_plans >= 6 && p.custom_plans <= 6),
        "the check-outs statements (joined with accounts or not) were planned for each page: \
         {plans:?}"
    );
}

/// The shared accounts a person may use are read app by app: whatever the page size, the
/// pages read one after another are the whole list in order (app name, then username whatever
/// its case, then id), with apps of no shared account, apps the person may not use and
/// personal credentials left out, and the total on every page.
async fn usable_accounts_pages_are_slices_of_the_whole_list(engine: Engine) {
    use keyholder::models::Account;
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, mia) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    // (app, shared accounts, Mia allowed)
    let apps = [
        ("delta", 3, true),
        ("Alpha", 0, true),
        ("charlie", 5, true),
        ("Echo", 1, true),
        ("bravo", 4, false),
        ("Foxtrot", 7, true),
        ("golf", 2, true),
    ];
    let mut expected = Vec::new();
    for (name, shared, allowed) in apps {
        let target = app.create_target(&owner, name, &[]).await;
        for i in 0..shared {
            // Case that differs from the order of the bytes: svcB sorts after svca.
            let username = ["svcB", "svca", "Svcc", "svcD", "SVCe", "svcf", "svcG"][i];
            let id = app
                .create_shared_account(&owner, target, username, "service-password")
                .await;
            if allowed {
                expected.push((name.to_lowercase(), username.to_lowercase(), id));
            }
        }
        if allowed {
            app.allow(&owner, target, "mia@example.com").await;
        }
        if name == "charlie" {
            add_own_credential(&member, target, "mia", "mia-app-password").await;
        }
    }
    expected.sort();
    let expected: Vec<i64> = expected.into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(expected.len(), 18);
    let mut conn = app.db();
    for per_page in [1, 2, 3, 4, 5, 7, 17, 18, 20] {
        let mut read = Vec::new();
        for page in 1.. {
            let listed = Account::usable_by(&mut conn, mia.into(), page, per_page).unwrap();
            assert_eq!(listed.total, 18, "page {page}, {per_page} a page");
            if listed.items.is_empty() {
                assert!(page > 1 && (page - 1) * per_page >= 18);
                break;
            }
            assert!(listed.items.len() as i64 <= per_page);
            read.extend(listed.items.into_iter().map(|(account, _)| account.id.0));
        }
        assert_eq!(read, expected, "{per_page} a page");
    }
}

/// The inbox shows unread notifications first, then read ones, each newest first; every page
/// of it, at any size, is the next slice of that order and carries the person's total, and a
/// page past the last says so. Someone else's notifications never show.
async fn inbox_pages_are_slices_of_the_whole_inbox(engine: Engine) {
    use diesel::{ExpressionMethods, QueryDsl};
    use keyholder::models::Notification;
    use keyholder::schema::notifications;
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, mia) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let mut conn = app.db();
    let organization: i64 = keyholder::schema::users::table
        .find(mia)
        .select(keyholder::schema::users::organization_id)
        .first(&mut conn)
        .unwrap();
    let organization = keyholder::domain::OrganizationId::from(organization);
    let owner_id: i64 = keyholder::schema::users::table
        .filter(keyholder::schema::users::email.eq(crate::helpers::OWNER_EMAIL))
        .select(keyholder::schema::users::id)
        .first(&mut conn)
        .unwrap();
    let start = chrono::Utc::now().naive_utc() - chrono::Duration::days(3);
    // The owner's notifications interleave Mia's: they must not be counted or shown.
    for i in 0..23 {
        let at = start + chrono::Duration::minutes(i);
        Notification::send(
            &mut conn,
            organization,
            mia.into(),
            &format!("Note {i:02}"),
            "/",
            at,
        )
        .unwrap();
        if i % 4 == 0 {
            Notification::send(
                &mut conn,
                organization,
                owner_id.into(),
                "Not Mia's",
                "/",
                at,
            )
            .unwrap();
        }
    }
    let ids: Vec<i64> = notifications::table
        .filter(notifications::user_id.eq(mia))
        .order(notifications::id)
        .select(notifications::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(ids.len(), 23);
    let read = [2, 5, 6, 11, 17, 22];
    for i in read {
        let link = Notification::open(&mut conn, mia.into(), ids[i], start).unwrap();
        assert_eq!(link.as_deref(), Some("/"));
    }
    let unread = (0..23).rev().filter(|i| !read.contains(i));
    let expected: Vec<i64> = unread
        .chain(read.into_iter().rev())
        .map(|i| ids[i])
        .collect();
    for per_page in [1, 3, 5, 10, 17, 23, 30] {
        let mut shown = Vec::new();
        for page in 1.. {
            let inbox = Notification::inbox(&mut conn, mia.into(), page, per_page).unwrap();
            assert_eq!(inbox.total, 23, "page {page}, {per_page} a page");
            if inbox.items.is_empty() {
                assert!(page > 1 && (page - 1) * per_page >= 23);
                break;
            }
            assert!(inbox.items.len() as i64 <= per_page);
            for note in &inbox.items {
                assert_eq!(
                    note.read_at.is_none(),
                    !read.iter().any(|&i| ids[i] == note.id)
                );
            }
            shown.extend(inbox.items.iter().map(|note| note.id));
        }
        assert_eq!(shown, expected, "{per_page} a page");
    }
    let nobody = Notification::inbox(&mut conn, 999.into(), 1, 10).unwrap();
    assert_eq!((nobody.items.len(), nobody.total), (0, 0));

    // The dashboard: ten a page, unread first.
    let first = member.get("/").await;
    first.assert_contains("Page 1 of 3");
    first.assert_contains("17 unread");
    let at = |name: &str| {
        first
            .body
            .find(name)
            .unwrap_or_else(|| panic!("{name} shown"))
    };
    assert!(at(">Note 21<") < at(">Note 20<") && at(">Note 20<") < at(">Note 19<"));
    assert!(
        !first.body.contains(">Note 22<"),
        "read, so on a later page"
    );
    assert!(!first.body.contains("Not Mia's"));
    let last = member.get("/?page=3").await;
    last.assert_contains("Page 3 of 3");
    let at = |name: &str| {
        last.body
            .find(name)
            .unwrap_or_else(|| panic!("{name} shown"))
    };
    assert!(at(">Note 06<") < at(">Note 05<") && at(">Note 05<") < at(">Note 02<"));
    let past = member.get("/?page=4").await;
    assert_eq!(past.status, reqwest::StatusCode::OK);
    past.assert_contains("past the last of your notifications");
}

/// An app's shared accounts (Overview and Accounts tab) and the people allowed to use them are
/// paginated, each list with its own pager; a page past the last says how many there are.
async fn app_lists_turn_pages_of_their_own(engine: Engine) {
    use keyholder::domain::{EmailAddress, PersonName, Role};
    use keyholder::models::{NewUser, Target, User};
    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let (member, _) = app
        .user_browser(&owner, "Mia Member", "mia@example.com", "member")
        .await;
    let target = app.create_target(&owner, "Big estate", &[]).await;
    for i in 0..27 {
        app.create_shared_account(&owner, target, &format!("svc{i:02}"), "service-password")
            .await;
    }
    app.allow(&owner, target, "mia@example.com").await;
    // 51 more people allowed (through the models: signing each in would only take time).
    let mut conn = app.db();
    let now = chrono::Utc::now().naive_utc();
    let mut last = 0;
    for i in 0..51 {
        let email = EmailAddress::parse(&format!("person{i:02}@example.com")).unwrap();
        let name = PersonName::parse(&format!("Person {i:02}")).unwrap();
        let person = User::insert(
            &mut conn,
            NewUser {
                organization_id: 1.into(),
                email: &email,
                name: &name,
                role: Role::Member,
                password_hash: "unused",
            },
            now,
        )
        .unwrap();
        assert!(Target::allow(&mut conn, target.into(), person.id).unwrap());
        last = person.id.0;
    }

    let tab = owner.get(&format!("/apps/{target}/accounts")).await;
    tab.assert_contains("27 shared accounts · page 1 of 2");
    tab.assert_contains(">svc24<");
    assert!(!tab.body.contains(">svc25<"), "25 shared accounts a page");
    tab.assert_contains("52 people · page 1 of 2");
    assert!(
        tab.body.find("Mia Member").unwrap() < tab.body.find("Person 00").unwrap(),
        "people by name"
    );
    tab.assert_contains("Person 48");
    assert!(!tab.body.contains("Person 49"), "50 people a page");
    tab.assert_contains(&format!("href=\"/apps/{target}/accounts?page=2\""));
    tab.assert_contains(&format!("href=\"/apps/{target}/accounts?people=2#people\""));

    let both = owner
        .get(&format!("/apps/{target}/accounts?page=2&people=2"))
        .await;
    both.assert_contains(">svc25<");
    both.assert_contains(">svc26<");
    assert!(!both.body.contains(">svc24<"));
    both.assert_contains("Person 49");
    both.assert_contains("Person 50");
    assert!(!both.body.contains("Person 48"));
    // Each pager keeps the other list's page.
    both.assert_contains(&format!("href=\"/apps/{target}/accounts?people=2\""));
    both.assert_contains(&format!("href=\"/apps/{target}/accounts?page=2#people\""));

    // Past the last page, the lists still say how many there are; a nonsense page is the first.
    let past = owner
        .get(&format!("/apps/{target}/accounts?page=9&people=9"))
        .await;
    past.assert_contains("27 shared accounts, on 2 pages: this page is past the last.");
    past.assert_contains("52 people, on 2 pages: this page is past the last.");
    assert!(!past.body.contains("No shared accounts yet"));
    assert!(!past.body.contains("Nobody yet"));
    let nonsense = owner
        .get(&format!("/apps/{target}/accounts?page=abc&people=-3"))
        .await;
    assert_eq!(nonsense.status, StatusCode::OK);
    nonsense.assert_contains("27 shared accounts · page 1 of 2");
    nonsense.assert_contains("52 people · page 1 of 2");

    // Removing someone from the second page of people comes back to that page.
    owner
        .submit(
            &format!("/apps/{target}/accounts?people=2"),
            &format!("/apps/{target}/people/{last}/remove"),
            &[("people", "2")],
        )
        .await
        .assert_redirects_to(&format!("/apps/{target}/accounts?people=2"));
    let after = owner
        .get(&format!("/apps/{target}/accounts?people=2"))
        .await;
    after.assert_contains("Person 49");
    assert!(!after.body.contains("Person 50"), "removed");

    // The Overview lists the shared accounts 25 a page too, for members allowed to use them.
    let overview = member.get(&format!("/apps/{target}")).await;
    overview.assert_contains("27 shared accounts · page 1 of 2");
    overview.assert_contains(">svc24<");
    assert!(!overview.body.contains(">svc25<"));
    overview.assert_contains(&format!("href=\"/apps/{target}?page=2\""));
    let second = member.get(&format!("/apps/{target}?page=2")).await;
    second.assert_contains(">svc26<");
    assert!(!second.body.contains(">svc00<"));
    second.assert_contains(&format!("href=\"/apps/{target}?page=1\""));
    let past = member.get(&format!("/apps/{target}?page=5")).await;
    past.assert_contains("27 shared accounts, on 2 pages: this page is past the last.");
}

/// The links between the audit log's pages start beside the event the page before ended (or
/// began) with: events written while someone reads the log repeat no row on the next page and
/// hide none, several events of one second keep their order, and a link's event that is not
/// this organization's, or not a number, falls back to the page's number.
async fn audit_pages_follow_on_while_events_are_written(engine: Engine) {
    use diesel::QueryDsl as _;
    use keyholder::schema::audit_events;

    let app = spawn_app(&engine).await;
    let owner = app.set_up().await;
    let mut conn = app.db();
    // Set-up's own events are older than these.
    let base = chrono::Utc::now().naive_utc() + chrono::Duration::days(1);
    let add = |conn: &mut keyholder::db::DbConnection, numbers: std::ops::Range<i64>| {
        record_events(
            conn,
            numbers,
            |n| format!("Numbered event {n:03}"),
            // Three events a second: the id orders those of one moment.
            |n| base + chrono::Duration::seconds(n / 3),
        )
    };
    add(&mut conn, 0..120);
    let numbers = |page: &crate::helpers::Page| -> Vec<i64> {
        page.body
            .match_indices("Numbered event ")
            .map(|(at, found)| {
                page.body[at + found.len()..at + found.len() + 3]
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let link = |page: &crate::helpers::Page, rel: &str| -> String {
        let body = crate::helpers::unescape(&page.body);
        let end = body
            .find(&format!("\" rel=\"{rel}\""))
            .unwrap_or_else(|| panic!("a {rel} link in:\n{body}"));
        let start = body[..end].rfind("href=\"").unwrap() + "href=\"".len();
        body[start..end].to_string()
    };
    let first = owner.get("/audit").await;
    assert_eq!(numbers(&first), (70..120).rev().collect::<Vec<_>>());
    let second = owner.get(&link(&first, "next")).await;
    assert_eq!(numbers(&second), (20..70).rev().collect::<Vec<_>>());
    second.assert_contains("page 2 of 3<");
    // Ten events are written while the second page is read: the third follows on from it.
    add(&mut conn, 120..130);
    let third = owner.get(&link(&second, "next")).await;
    let mut expected: Vec<i64> = (0..20).rev().collect();
    assert_eq!(numbers(&third)[..20], expected[..]);
    assert!(third.body.contains("page 3 of 3<"), "{}", third.body);
    // Back: the second page is the one read before, and the first is the newest.
    let back = owner.get(&link(&third, "prev")).await;
    assert_eq!(numbers(&back), (20..70).rev().collect::<Vec<_>>());
    let newest = owner.get(&link(&back, "prev")).await;
    assert_eq!(numbers(&newest), (80..130).rev().collect::<Vec<_>>());
    // A number, as typed, still counts from the newest.
    expected = (30..80).rev().collect();
    assert_eq!(numbers(&owner.get("/audit?page=2").await), expected);
    // A link's event that is not this organization's, or not a number: the page by its number.
    let other: i64 = audit_events::table
        .select(diesel::dsl::max(audit_events::id))
        .first::<Option<i64>>(&mut conn)
        .unwrap()
        .unwrap()
        + 1000;
    for odd in [
        format!("before={other}"),
        "before=x1".into(),
        format!("after={other}"),
    ] {
        let page = owner.get(&format!("/audit?page=2&{odd}")).await;
        assert_eq!(numbers(&page), expected, "{odd}");
    }
}

/// The organization of the installation's people (tests have one).
fn organization_of(conn: &mut keyholder::db::DbConnection) -> i64 {
    use diesel::QueryDsl as _;
    keyholder::schema::users::table
        .select(keyholder::schema::users::organization_id)
        .first(conn)
        .unwrap()
}

/// Sign-ins of nobody, recorded straight into the audit log in one transaction: event `n`
/// says `detail(n)` and happened at `at(n)`.
fn record_events(
    conn: &mut keyholder::db::DbConnection,
    numbers: std::ops::Range<i64>,
    detail: impl Fn(i64) -> String,
    at: impl Fn(i64) -> chrono::NaiveDateTime,
) {
    use keyholder::domain::OrganizationId;
    use keyholder::models::{AuditEvent, NewAuditEvent};
    let organization = OrganizationId(organization_of(conn));
    keyholder::db::transaction(conn, |conn| {
        for n in numbers {
            AuditEvent::record(
                conn,
                NewAuditEvent {
                    organization_id: organization,
                    actor: None,
                    action: "user.login",
                    object_type: "user",
                    object_id: None,
                    detail: detail(n),
                    client_addr: None,
                    target_id: None,
                },
                at(n),
            )?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
}
