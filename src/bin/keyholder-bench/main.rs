//! Keyholder's benchmarks (built with `--features bench`):
//!
//! - `keyholder-bench load`: a seeded organization (1 000 people, 10 000 apps, 100 000 accounts,
//!   history) served by the release `keyholder` binary, driven by many signed-in sessions, beside
//!   a ceiling server of the same shape; writes a Markdown table. See docs/BENCHMARKS.md.
//! - `keyholder-bench expiry`: check-out expiry and password reset delays.
//! - `keyholder-bench ceiling`: the ceiling server itself (started by `load`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ceiling;
mod expiry;
mod load;
mod seed;
mod wrk;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

const USAGE: &str = "usage: keyholder-bench load   [--database-url URL] [--data-dir DIR] \
                     [--scale 1.0] [--seconds 10] [--connections 32] [--out FILE]
       keyholder-bench expiry [--spread 1000] [--burst 10000] [--targets 10000] \
                     [--database-url URL]";

/// The arguments, or the usage (exit 0 when asked for with --help, 2 after a mistake).
fn parsed<T>(args: anyhow::Result<T>) -> T {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    args.unwrap_or_else(|error| {
        eprintln!("keyholder-bench: {error:#}\n\n{USAGE}");
        std::process::exit(2);
    })
}

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("load") => {
            let args = parsed(load::parse_args());
            runtime().block_on(load::run(args))
        }
        Some("expiry") => {
            let args = parsed(expiry::parse_args());
            runtime().block_on(expiry::run(args))
        }
        Some("ceiling") => ceiling::serve(),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}
