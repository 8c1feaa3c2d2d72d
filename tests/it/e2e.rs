//! Real-browser journeys: Chromium, driven through chromedriver, clicks and types its way
//! through Keyholder as people do — fields found by their labels, buttons and links by their
//! text, no request sent behind the page's back. Each journey saves screenshots of its key
//! pages under `target/e2e-screenshots/JOURNEY/`.
//!
//! They run when `KEYHOLDER_E2E_CHROMEDRIVER` names a chromedriver (Chromium is
//! `/usr/bin/chromium` unless `KEYHOLDER_E2E_CHROMIUM` says otherwise). Without it each test
//! says `SKIPPED e2e: …` and returns; with `KEYHOLDER_E2E_REQUIRE` set (as in CI) it fails.
//!
//! A new journey is a file beside these: `e2e_tests!(NAME)` and `async fn NAME(env: E2eEnv)`
//! that builds a `Stage` and walks it with the steps of `steps.rs` (people, sign-in, apps,
//! accounts, check-out), adding the steps it needs there.

mod checkout;
mod driver;
mod first_run;
mod request_credentials;
mod steps;

/// Generates `#[tokio::test] fn NAME` from `async fn NAME(env: E2eEnv)`, skipped without a
/// browser.
macro_rules! e2e_tests {
    ($($name:ident),* $(,)?) => {
        mod browser {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = concat!(module_path!(), "::", stringify!($name));
                    if let Some(env) = crate::e2e::driver::E2eEnv::from_env(test) {
                        super::$name(env).await
                    }
                }
            )*
        }
    };
}
use e2e_tests;
