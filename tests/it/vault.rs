//! The vault: secrets at rest, tampering, the master key, and key rotation.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use keyholder::schema::{accounts, data_keys};
use reqwest::StatusCode;

use crate::helpers::{
    Engine, OWNER_EMAIL, OWNER_PASSWORD, TestApp, engine_tests, revealed_password, spawn_app,
};

engine_tests!(
    a_stolen_database_reveals_no_password,
    a_tampered_ciphertext_fails_cleanly,
    a_ciphertext_moved_to_another_row_does_not_decrypt,
    a_missing_or_wrong_master_key_stops_start_up,
    rotate_key_re_encrypts_everything_and_can_be_resumed,
);

const NEEDLE: &str = "Needle-Pa55word-7Q";

async fn app_with_secret(engine: &Engine) -> (TestApp, crate::helpers::Browser, i64, i64) {
    let app = spawn_app(engine).await;
    let owner = app.set_up().await;
    let target = app.create_target(&owner, "Vaulted", &[]).await;
    app.allow(&owner, target, OWNER_EMAIL).await;
    let account = app
        .create_shared_account(&owner, target, "svc", NEEDLE)
        .await;
    // The owner holds it, so Reveal shows it while the test runs.
    assert_eq!(
        revealed_password(&owner.check_out(account).await.body).as_deref(),
        Some(NEEDLE)
    );
    (app, owner, target, account)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn a_stolen_database_reveals_no_password(engine: Engine) {
    let (app, owner, _, account) = app_with_secret(&engine).await;
    assert_eq!(
        revealed_password(&owner.reveal(account).await.body).as_deref(),
        Some(NEEDLE)
    );
    match &engine {
        Engine::Sqlite => {
            let mut searched = 0;
            for entry in std::fs::read_dir(&app.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("keyholder.db")
                {
                    let bytes = std::fs::read(&path).unwrap();
                    assert!(
                        !contains(&bytes, NEEDLE.as_bytes()),
                        "{} holds the password",
                        path.display()
                    );
                    searched += 1;
                }
            }
            assert!(searched >= 1);
        }
        Engine::Postgres(_) => {
            let dump = std::process::Command::new("pg_dump")
                .arg("--no-owner")
                .arg(&app.database_url)
                .output()
                .expect("pg_dump runs");
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            assert!(contains(&dump.stdout, b"Vaulted"), "the dump has the data");
            assert!(
                !contains(&dump.stdout, NEEDLE.as_bytes()),
                "the dump holds the password"
            );
            let hex: String = NEEDLE.bytes().map(|b| format!("{b:02x}")).collect();
            assert!(
                !contains(&dump.stdout, hex.as_bytes()),
                "the dump holds the password in hex"
            );
        }
    }
    // The master key is not in the database either.
    let key = std::fs::read_to_string(app.data_dir.join("master.key")).unwrap();
    let mut conn = app.db();
    let wrapped: Vec<Vec<u8>> = data_keys::table
        .select(data_keys::wrapped_key)
        .load(&mut conn)
        .unwrap();
    assert!(!wrapped.is_empty());
    for blob in wrapped {
        assert!(!contains(&blob, key.trim().as_bytes()));
    }
}

async fn a_tampered_ciphertext_fails_cleanly(engine: Engine) {
    let (app, owner, _, account) = app_with_secret(&engine).await;
    let mut conn = app.db();
    let mut blob: Vec<u8> = accounts::table
        .find(account)
        .select(accounts::secret)
        .first(&mut conn)
        .unwrap();
    let last = blob.len() - 1;
    blob[last] ^= 0x01;
    diesel::update(accounts::table.find(account))
        .set(accounts::secret.eq(&blob))
        .execute(&mut conn)
        .unwrap();

    let page = owner.reveal(account).await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    page.assert_contains("Something went wrong");
    assert!(!page.body.contains(NEEDLE));
    assert!(revealed_password(&page.body).is_none());
    // Everything else keeps working.
    assert_eq!(owner.get("/apps").await.status, StatusCode::OK);
}

async fn a_ciphertext_moved_to_another_row_does_not_decrypt(engine: Engine) {
    let (app, owner, target, account) = app_with_secret(&engine).await;
    let other = app
        .create_shared_account(&owner, target, "other", "the-other-password")
        .await;
    let mut conn = app.db();
    let blob: Vec<u8> = accounts::table
        .find(account)
        .select(accounts::secret)
        .first(&mut conn)
        .unwrap();
    diesel::update(accounts::table.find(other))
        .set(accounts::secret.eq(&blob))
        .execute(&mut conn)
        .unwrap();
    let page = owner.check_out(other).await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!page.body.contains(NEEDLE));
    assert_eq!(
        revealed_password(&owner.reveal(account).await.body).as_deref(),
        Some(NEEDLE)
    );
}

async fn a_missing_or_wrong_master_key_stops_start_up(engine: Engine) {
    let (app, _, _, _) = app_with_secret(&engine).await;
    app.stop().await;

    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let error = app
        .try_restart(&[("KEYHOLDER_MASTER_KEY", wrong)])
        .await
        .err()
        .expect("refused");
    let message = format!("{error:#}");
    assert!(message.contains("master key does not open"), "{message}");

    let key_file = app.data_dir.join("master.key");
    let saved = std::fs::read(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let error = app.try_restart(&[]).await.err().expect("refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("master key file") && message.contains("is missing"),
        "{message}"
    );
    assert!(!key_file.exists(), "no new key was made in its place");

    // With the key back, everything is there.
    std::fs::write(&key_file, saved).unwrap();
    let again = app.restart().await;
    let owner = again.browser();
    owner
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD)
        .await
        .assert_redirects_to("/");
    let tab = owner.get("/apps").await;
    tab.assert_contains("Vaulted");
}

fn run_rotate(app: &TestApp) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_keyholder"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("KEYHOLDER_DATA_DIR", &app.data_dir)
        .env("KEYHOLDER_LOG", "warn")
        .arg("rotate-key")
        .output()
        .unwrap()
}

fn key_ids(app: &TestApp) -> Vec<i64> {
    let mut conn = app.db();
    let blobs: Vec<Vec<u8>> = accounts::table
        .order(accounts::id)
        .select(accounts::secret)
        .load(&mut conn)
        .unwrap();
    blobs
        .iter()
        .map(|b| keyholder::vault::cipher::key_id_of(b).unwrap())
        .collect()
}

async fn rotate_key_re_encrypts_everything_and_can_be_resumed(engine: Engine) {
    let (app, owner, target, first) = app_with_secret(&engine).await;
    let second = app
        .create_shared_account(&owner, target, "two", "password-number-two")
        .await;
    let third = app
        .create_shared_account(&owner, target, "three", "password-number-three")
        .await;
    owner.check_out(second).await;
    owner.check_out(third).await;
    let before = key_ids(&app);
    assert!(before.iter().all(|id| *id == before[0]));

    // A complete rotation, while the server runs.
    let output = run_rotate(&app);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Created data key"), "{stdout}");
    assert!(stdout.contains("Re-encrypted 3 secret(s)"), "{stdout}");
    let after = key_ids(&app);
    assert!(
        after.iter().all(|id| *id == after[0] && *id != before[0]),
        "{after:?}"
    );
    let mut conn = app.db();
    let keys: i64 = data_keys::table.count().get_result(&mut conn).unwrap();
    assert_eq!(keys, 1, "the old key, no longer used, is gone");
    for (account, password) in [
        (first, NEEDLE),
        (second, "password-number-two"),
        (third, "password-number-three"),
    ] {
        assert_eq!(
            revealed_password(&owner.reveal(account).await.body).as_deref(),
            Some(password)
        );
    }

    // An interrupted rotation: a new key exists and only one row was re-encrypted when the
    // process died. Everything stays readable; a re-run finishes with the same key.
    {
        use keyholder::vault::{MasterKey, Vault};
        let (master, _) = MasterKey::load(
            &keyholder::config::MasterKeySource::File {
                path: app.data_dir.join("master.key"),
                create_if_missing: false,
            },
            false,
        )
        .unwrap();
        let now = chrono::Utc::now().naive_utc();
        let vault = Vault::open(&mut conn, &master, now).unwrap();
        vault.create_key(&mut conn, now).unwrap();
        let slot = keyholder::models::account::secret_slot(keyholder::domain::AccountId(first));
        let old: Vec<u8> = accounts::table
            .find(first)
            .select(accounts::secret)
            .first(&mut conn)
            .unwrap();
        let plain = vault.decrypt(&mut conn, &old, slot).unwrap();
        let new = vault.encrypt(&mut conn, &plain, slot).unwrap();
        keyholder::models::Account::replace_secret(&mut conn, first, &old, &new).unwrap();
    }
    let mixed = key_ids(&app);
    assert_ne!(mixed[0], mixed[1], "half way: two keys in use");
    for (account, password) in [(first, NEEDLE), (second, "password-number-two")] {
        assert_eq!(
            revealed_password(&owner.reveal(account).await.body).as_deref(),
            Some(password)
        );
    }
    let output = run_rotate(&app);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Finished rotating to data key"), "{stdout}");
    assert!(stdout.contains("Re-encrypted 2 secret(s)"), "{stdout}");
    let done = key_ids(&app);
    assert!(done.iter().all(|id| *id == mixed[0]), "{done:?}");
    for (account, password) in [
        (first, NEEDLE),
        (second, "password-number-two"),
        (third, "password-number-three"),
    ] {
        assert_eq!(
            revealed_password(&owner.reveal(account).await.body).as_deref(),
            Some(password)
        );
    }
}
