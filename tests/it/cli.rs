//! The `keyholder` command line.

use std::io::Write;
use std::process::{Command, Stdio};

fn keyholder(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyholder"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KEYHOLDER_DATA_DIR", dir)
        .env("KEYHOLDER_LOG", "warn");
    command
}

fn setup(dir: &std::path::Path, email: &str, password: &str) -> std::process::Output {
    let mut child = keyholder(dir)
        .args([
            "setup",
            "--org",
            "Acme Corp",
            "--email",
            email,
            "--name",
            "Olivia Owner",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let output = keyholder(dir.path()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("serve"), "{text}");
    assert!(text.contains("setup"), "{text}");
}

#[test]
fn setup_from_the_command_line_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = setup(dir.path(), "owner@example.com", "owner password 123");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Created Acme Corp"), "{stdout}");
    assert!(dir.path().join("keyholder.db").exists());

    let again = setup(dir.path(), "other@example.com", "other password 123");
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already set up"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[test]
fn setup_explains_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let output = setup(dir.path(), "not-an-email", "short");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--email: Enter an email address like name@example.com."),
        "{stderr}"
    );
    assert!(
        stderr.contains("password: Use at least 12 characters"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_setting_stops_start_up_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let output = keyholder(dir.path())
        .env("KEYHOLDER_LISTEN", "everywhere")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("KEYHOLDER_LISTEN"), "{stderr}");
    assert!(stderr.contains("127.0.0.1:8080"), "{stderr}");
}
