//! The `keyholder` command: `serve` (the default) and `setup`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::Database;
use crate::models::organization::NewInstallation;
use crate::models::{Installation, SetupError};
use crate::routes::setup::SetupInput;
use crate::security::password::hash_password_blocking;
use crate::startup::Application;

#[derive(Parser)]
#[command(
    name = "keyholder",
    version,
    about = "Keyholder: a self-hosted vault for privileged and shared credentials.",
    long_about = "Keyholder: a self-hosted vault for privileged and shared credentials.\n\n\
        Settings come from environment variables (see the README), optionally preloaded from \
        a file of NAME=value lines given with --config."
)]
struct Cli {
    /// A file of NAME=value lines (the same names as the environment variables).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default when no command is given).
    Serve,
    /// Create the organization and its owner without a browser. The password is read from
    /// standard input.
    Setup {
        /// The organization's name.
        #[arg(long, value_name = "NAME")]
        org: String,
        /// The owner's email address, used to sign in.
        #[arg(long)]
        email: String,
        /// The owner's name.
        #[arg(long)]
        name: String,
    },
    /// Re-encrypt every stored secret under a new data key. Safe to run while Keyholder
    /// serves, and to interrupt: running it again finishes the job.
    RotateKey,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("keyholder: {error:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log_filter);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Setup { org, email, name } => setup(config, &org, &email, &name),
        Command::RotateKey => rotate_key(config),
    }
}

fn serve(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("keyholder: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listen = config.listen;
        let public_url = config.public_url.clone();
        let app = Application::build(config).await?;
        tracing::info!(%listen, %public_url, "Keyholder is listening");
        app.run_until_stopped().await?;
        Ok::<_, anyhow::Error>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("keyholder: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn read_password() -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Owner's password (at least 12 characters): ")?;
        let second = rpassword::prompt_password("Repeat the password: ")?;
        if first != second {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the two passwords are not the same",
            ));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn setup(config: Config, org: &str, email: &str, name: &str) -> ExitCode {
    let db = match Database::open_with_cache(&config.database, 2, config.sqlite_cache_mb) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("keyholder: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let already = db
        .get()
        .and_then(|mut conn| Ok(Installation::is_set_up(&mut conn)?));
    match already {
        Ok(true) => {
            eprintln!(
                "keyholder: Keyholder is already set up; nothing was changed. Sign in at {}",
                config.public_url
            );
            return ExitCode::FAILURE;
        }
        Ok(false) => {}
        Err(error) => {
            eprintln!("keyholder: {error:#}");
            return ExitCode::FAILURE;
        }
    }
    let password = match read_password() {
        Ok(password) => zeroize::Zeroizing::new(password),
        Err(error) => {
            eprintln!("keyholder: cannot read the password from standard input: {error}");
            return ExitCode::from(2);
        }
    };
    let input = match SetupInput::parse(org, name, email, &password, None) {
        Ok(input) => input,
        Err(errors) => {
            for (field, flag) in [
                ("organization", "--org"),
                ("name", "--name"),
                ("email", "--email"),
                ("password", "password"),
            ] {
                if let Some(message) = errors.get(field) {
                    eprintln!("keyholder: {flag}: {message}");
                }
            }
            return ExitCode::from(2);
        }
    };
    let result = (|| -> anyhow::Result<Result<(), SetupError>> {
        let hash = hash_password_blocking(input.password.expose())?;
        let mut conn = db.get()?;
        let now = chrono::Utc::now().naive_utc();
        Ok(Installation::create(
            &mut conn,
            NewInstallation {
                organization: &input.organization,
                owner_name: &input.name,
                owner_email: &input.email,
                owner_password_hash: &hash,
            },
            None,
            now,
            now,
            Some("command line"),
        )
        .map(|_| ()))
    })();
    match result {
        Ok(Ok(())) => {
            let _ = writeln!(
                std::io::stdout(),
                "Created {} with owner {}. Start the server and sign in at {}",
                input.organization.as_str(),
                input.email.as_str(),
                config.public_url
            );
            ExitCode::SUCCESS
        }
        Ok(Err(SetupError::AlreadySetUp)) => {
            eprintln!("keyholder: Keyholder is already set up; nothing was changed.");
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("keyholder: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("keyholder: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn rotate_key(config: Config) -> ExitCode {
    let result = (|| -> anyhow::Result<crate::vault::rotate::RotationReport> {
        let db = Database::open_with_cache(&config.database, 2, config.sqlite_cache_mb)?;
        let mut conn = db.get()?;
        let has_keys = !crate::models::data_key::DataKeyRow::all(&mut conn)?.is_empty();
        let (master, _) = crate::vault::MasterKey::load(&config.master_key, !has_keys)?;
        let now = chrono::Utc::now().naive_utc();
        let vault = crate::vault::Vault::open(&mut conn, &master, now)?;
        let report = crate::vault::rotate::rotate(&mut conn, &vault, now, |done| {
            if done % 1000 == 0 {
                eprintln!("keyholder: {done} secrets re-encrypted so far");
            }
        })?;
        Ok(report)
    })();
    match result {
        Ok(report) => {
            println!(
                "{} data key {}. Re-encrypted {} secret(s); removed {} old key(s) no longer in use.",
                if report.new_key_created {
                    "Created"
                } else {
                    "Finished rotating to"
                },
                report.active_key,
                report.re_encrypted,
                report.keys_removed
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "keyholder: key rotation stopped: {error:#}. Secrets already re-encrypted stay readable; run the command again to finish."
            );
            ExitCode::FAILURE
        }
    }
}
