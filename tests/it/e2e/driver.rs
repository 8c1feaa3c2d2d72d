//! A small WebDriver layer over fantoccini: start chromedriver, open Chromium sessions, and act
//! on pages the way a person does — fields by their label, buttons and links by their text.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a page may take to show what a step expects.
const PATIENCE: Duration = Duration::from_secs(15);

/// Where the browser comes from: chromedriver (required) and the Chromium binary.
#[derive(Clone, Debug)]
pub struct E2eEnv {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl E2eEnv {
    /// The browser to use when `KEYHOLDER_E2E_CHROMEDRIVER` is set. Otherwise the test is
    /// skipped loudly — or fails, when `KEYHOLDER_E2E_REQUIRE` is set (as CI does).
    pub fn from_env(test: &str) -> Option<E2eEnv> {
        match std::env::var("KEYHOLDER_E2E_CHROMEDRIVER") {
            Ok(path) if !path.trim().is_empty() => Some(E2eEnv {
                chromedriver: PathBuf::from(path),
                chromium: std::env::var("KEYHOLDER_E2E_CHROMIUM")
                    .ok()
                    .filter(|p| !p.trim().is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium")),
            }),
            _ => {
                if std::env::var_os("KEYHOLDER_E2E_REQUIRE").is_some() {
                    panic!(
                        "{test}: KEYHOLDER_E2E_REQUIRE is set but KEYHOLDER_E2E_CHROMEDRIVER is not: browser tests must run"
                    );
                }
                // Straight to the process's stderr: the test harness captures eprintln! of
                // passing tests, and this line must show (CI looks for it).
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIPPED e2e: {test} (set KEYHOLDER_E2E_CHROMEDRIVER=/usr/bin/chromedriver to run it)"
                );
                None
            }
        }
    }
}

/// A chromedriver process of one test, in its own process group so that the browsers it
/// starts go with it.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    pub async fn start(env: &E2eEnv) -> Chromedriver {
        use std::os::unix::process::CommandExt;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&env.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.chromedriver.display()));
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium a failed test left open.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One journey: its screenshot folder and the running count of its screenshots.
pub struct Journey {
    dir: PathBuf,
    count: AtomicU32,
}

impl Journey {
    /// Starts `target/e2e-screenshots/NAME/` afresh.
    pub fn new(name: &str) -> Arc<Journey> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("e2e-screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        Arc::new(Journey {
            dir,
            count: AtomicU32::new(0),
        })
    }
}

/// Chromium options for one session.
#[derive(Clone, Copy, Debug)]
pub struct BrowserOptions {
    pub javascript: bool,
}

/// Escapes `text` as an XPath 1.0 string literal.
pub fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// XPath condition: the element's text, or its first own text (without hidden extras such as
/// " for alice"), is `text`.
fn text_is(text: &str) -> String {
    let lit = xpath_literal(text);
    format!("(normalize-space(.)={lit} or normalize-space(text()[1])={lit})")
}

/// One person at one browser: a Chromium session with its own cookies.
pub struct Browser {
    pub client: Client,
    pub base: String,
    who: String,
    journey: Arc<Journey>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens a new Chromium window for `who` (used in screenshot names) on the app at `base`.
    pub async fn open(
        driver: &Chromedriver,
        env: &E2eEnv,
        journey: &Arc<Journey>,
        base: &str,
        who: &str,
        options: BrowserOptions,
    ) -> Browser {
        let profile = tempfile::tempdir().expect("profile folder");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut prefs = json!({ "credentials_enable_service": false });
        if !options.javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
            prefs["profile.default_content_setting_values.javascript"] = json!(2);
        }
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": env.chromium.display().to_string(),
                "args": args,
                "prefs": prefs,
            },
        }))
        .expect("capabilities");
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open Chromium through chromedriver: {e}"));
        Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            who: who.to_string(),
            journey: journey.clone(),
            _profile: profile,
        }
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Types an address into the address bar: a full URL, or a path on the app.
    pub async fn visit(&self, url_or_path: &str) {
        let url = if url_or_path.starts_with("http") {
            url_or_path.to_string()
        } else {
            format!("{}{url_or_path}", self.base)
        };
        self.client.goto(&url).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        url.path().to_string()
    }

    /// Waits until the address bar shows `needle` (a search that was sent, for instance).
    pub async fn expect_url_containing(&self, needle: &str) {
        let started = Instant::now();
        loop {
            let url = self.client.current_url().await.expect("current URL");
            if url.as_str().contains(needle) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!(
                    "{}: expected an address with {needle:?}, still on {url}",
                    self.who
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of what the window shows as `NN-WHO-NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let n = self.journey.count.fetch_add(1, Ordering::SeqCst) + 1;
        // The whole page, not only the window: grow the window to the page's height for
        // the picture (capped), then give it back its size.
        let height = self
            .client
            .execute(
                "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
                vec![],
            )
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .map(|h| u32::try_from(h).unwrap_or(4000).clamp(1000, 4000));
        if let Some(height) = height {
            let _ = self.client.set_window_size(1280, height).await;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        if height.is_some() {
            let _ = self.client.set_window_size(1280, 1000).await;
        }
        let file = self
            .journey
            .dir
            .join(format!("{n:02}-{}-{name}.png", self.who));
        std::fs::write(&file, png).expect("write screenshot");
    }

    /// The visible text of the page body.
    pub async fn text(&self) -> String {
        // A page may be replaced between finding its body and reading it; read the new one.
        let mut last_error = None;
        for _ in 0..50 {
            match self.client.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(text) => return text,
                    Err(e) => last_error = Some(e),
                },
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{}: cannot read the page: {last_error:?}", self.who);
    }

    /// The page's main heading.
    pub async fn heading(&self) -> String {
        match self.client.find(Locator::Css("h1")).await {
            Ok(h1) => h1.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the page's main heading is `title`.
    pub async fn expect_heading(&self, title: &str) {
        let started = Instant::now();
        loop {
            let heading = self.heading().await;
            if heading.trim() == title {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!(
                    "{}: expected the page {title:?}, but {} shows {heading:?}:\n{}",
                    self.who,
                    self.path().await,
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page shows `needle` somewhere.
    pub async fn expect_text(&self, needle: &str) {
        let started = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!(
                    "{}: expected {needle:?} on {}:\n{text}",
                    self.who,
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The displayed elements matching `xpath`, within `scope` (whose XPath then starts with
    /// `.//`) or the whole page.
    async fn displayed(&self, scope: Option<&Element>, xpath: &str) -> Vec<Element> {
        let found = match scope {
            Some(element) => element.find_all(Locator::XPath(xpath)).await,
            None => self.client.find_all(Locator::XPath(xpath)).await,
        }
        .unwrap_or_default();
        let mut shown = Vec::new();
        for element in found {
            if element.is_displayed().await.unwrap_or(false) {
                shown.push(element);
            }
        }
        shown
    }

    /// The one displayed element matching `xpath`, waiting for it to appear.
    async fn the_one(&self, scope: Option<&Element>, xpath: &str, what: &str) -> Element {
        let started = Instant::now();
        loop {
            let mut shown = self.displayed(scope, xpath).await;
            match shown.len() {
                1 => return shown.remove(0),
                0 if started.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                n => panic!(
                    "{}: expected one {what} on {}, found {n}:\n{}",
                    self.who,
                    self.path().await,
                    self.text().await
                ),
            }
        }
    }

    /// The form control labelled `label` (the label's text, without its hints in nested
    /// elements such as "(optional)").
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!("//label[{}]", text_is(label));
        let labels = self
            .client
            .find_all(Locator::XPath(&xpath))
            .await
            .unwrap_or_default();
        let mut fields = Vec::new();
        for l in labels {
            let field = match l.attr("for").await.ok().flatten() {
                Some(id) => self.client.find(Locator::Id(&id)).await.ok(),
                None => l
                    .find(Locator::XPath(".//input|.//select|.//textarea"))
                    .await
                    .ok(),
            };
            if let Some(field) = field
                && field.is_displayed().await.unwrap_or(false)
            {
                fields.push(field);
            }
        }
        match fields.len() {
            1 => fields.remove(0),
            n => panic!(
                "{}: expected one field labelled {label:?} on {}, found {n}:\n{}",
                self.who,
                self.path().await,
                self.text().await
            ),
        }
    }

    /// Clears the field labelled `label` and types `value`.
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label).await;
        field.clear().await.expect("clear field");
        field.send_keys(value).await.expect("type into field");
    }

    /// The current value of the field labelled `label`.
    pub async fn value(&self, label: &str) -> String {
        self.field(label)
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// Picks the option shown as `option` in the list labelled `label`.
    pub async fn select(&self, label: &str, option: &str) {
        self.field(label)
            .await
            .select_by_label(option)
            .await
            .unwrap_or_else(|e| panic!("{}: no option {option:?} in {label:?}: {e}", self.who));
    }

    /// Whether the checkbox or radio button labelled `label` is ticked.
    pub async fn is_checked(&self, label: &str) -> bool {
        self.field(label)
            .await
            .is_selected()
            .await
            .expect("checked")
    }

    /// Ticks or unticks the checkbox labelled `label`, by clicking its label.
    pub async fn set_checked(&self, label: &str, on: bool) {
        if self.is_checked(label).await != on {
            self.click_label(label).await;
        }
        assert_eq!(self.is_checked(label).await, on, "{label} did not change");
    }

    /// Chooses the radio button labelled `label`.
    pub async fn choose(&self, label: &str) {
        self.set_checked(label, true).await;
    }

    async fn click_label(&self, label: &str) {
        let xpath = format!("//label[{}]", text_is(label));
        self.the_one(None, &xpath, &format!("label {label:?}"))
            .await
            .click()
            .await
            .expect("click label");
    }

    /// Presses the button whose text is `text`.
    pub async fn press(&self, text: &str) {
        self.press_in(None, text).await;
    }

    /// Presses the button whose text is `text` inside `scope`.
    pub async fn press_in(&self, scope: Option<&Element>, text: &str) {
        let lit = xpath_literal(text);
        let prefix = if scope.is_some() { "." } else { "" };
        let xpath = format!(
            "{prefix}//button[{}] | {prefix}//input[(@type='submit' or @type='button') and @value={lit}]",
            text_is(text)
        );
        self.the_one(scope, &xpath, &format!("button {text:?}"))
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot press {text:?}: {e}", self.who));
    }

    /// Presses keys on whatever has the keyboard focus (WebDriver key codes: Tab is
    /// `\u{E004}`, Enter `\u{E007}`).
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot type {keys:?}: {e}", self.who));
    }

    /// Presses Tab until the focused element is described by `wanted` (its label, text or
    /// accessible name), at most `limit` times; then checks the focus can be seen (an outline
    /// or a box shadow). Returns how many Tabs it took.
    pub async fn tab_to(&self, wanted: &str, limit: usize) -> usize {
        let describe = r#"
            const el = document.activeElement;
            if (!el || el === document.body) return ["", false];
            const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
            const name = (el.getAttribute("aria-label") || label || el.innerText || el.value || "").trim();
            const style = getComputedStyle(el);
            const visible = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                || (style.boxShadow && style.boxShadow !== "none");
            return [name, visible];
        "#;
        let mut seen = Vec::new();
        for tabs in 1..=limit {
            self.keys("\u{E004}").await;
            let value = self
                .client
                .execute(describe, vec![])
                .await
                .expect("describe the focused element");
            let name = value[0].as_str().unwrap_or("").to_string();
            let visible = value[1].as_bool().unwrap_or(false);
            if name.contains(wanted) {
                assert!(
                    visible,
                    "{}: the focus on {name:?} cannot be seen",
                    self.who
                );
                return tabs;
            }
            seen.push(name);
        }
        panic!(
            "{}: {wanted:?} not reached with {limit} Tabs; focus went through {seen:?}",
            self.who
        );
    }

    /// Clicks the button or link one of whose parts reads `text`, such as a notification in
    /// the Dashboard's inbox (its message, beside an unread mark and a date).
    pub async fn click_item(&self, text: &str) {
        let inner = format!(".//*[{}]", text_is(text));
        let xpath = format!("//button[{inner}] | //a[{inner}]");
        self.the_one(None, &xpath, &format!("item {text:?}"))
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot click {text:?}: {e}", self.who));
    }

    /// Whether the field labelled `label` can be typed into.
    pub async fn is_enabled(&self, label: &str) -> bool {
        self.field(label).await.is_enabled().await.expect("enabled")
    }

    /// Follows the link whose text is `text`.
    pub async fn follow(&self, text: &str) {
        self.follow_in(None, text).await;
    }

    /// Follows the link whose text is `text` inside `scope`.
    pub async fn follow_in(&self, scope: Option<&Element>, text: &str) {
        let prefix = if scope.is_some() { "." } else { "" };
        let xpath = format!("{prefix}//a[{}]", text_is(text));
        // Several links with the same text and destination (a button in the header and
        // another in an empty list) are one choice for a person.
        let started = Instant::now();
        let mut links = self.displayed(scope, &xpath).await;
        while links.is_empty() && started.elapsed() < PATIENCE {
            tokio::time::sleep(Duration::from_millis(100)).await;
            links = self.displayed(scope, &xpath).await;
        }
        let mut targets = Vec::new();
        for link in &links {
            targets.push(link.attr("href").await.ok().flatten());
        }
        targets.dedup();
        if links.is_empty() || targets.len() > 1 {
            panic!(
                "{}: expected one link {text:?} on {}, found {} going to {targets:?}:\n{}",
                self.who,
                self.path().await,
                links.len(),
                self.text().await
            );
        }
        links
            .remove(0)
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot follow {text:?}: {e}", self.who));
    }

    /// Follows `text` in the main navigation bar.
    pub async fn navigate(&self, text: &str) {
        let nav = self
            .client
            .find(Locator::Css("nav[aria-label='Main']"))
            .await
            .unwrap_or_else(|_| panic!("{}: no main navigation on {}", self.who, self.base));
        self.follow_in(Some(&nav), text).await;
    }

    /// Whether a displayed button or link reads `text` inside `scope`.
    pub async fn offers(&self, scope: Option<&Element>, text: &str) -> bool {
        let prefix = if scope.is_some() { "." } else { "" };
        let xpath = format!(
            "{prefix}//button[{t}] | {prefix}//a[{t}]",
            t = text_is(text)
        );
        !self.displayed(scope, &xpath).await.is_empty()
    }

    /// The table row showing `cell` in one of its cells.
    pub async fn row(&self, cell: &str) -> Element {
        let xpath = format!("//tr[td[{}]]", text_is(cell));
        self.the_one(None, &xpath, &format!("table row {cell:?}"))
            .await
    }

    /// The visible text of the row showing `cell`.
    pub async fn row_text(&self, cell: &str) -> String {
        self.row(cell).await.text().await.expect("row text")
    }

    /// Opens the context menu of the table row showing `cell` (its summary reads `menu`) and
    /// returns the row, to press one of the menu's items.
    pub async fn open_menu(&self, cell: &str, menu: &str) -> Element {
        let row = self.row(cell).await;
        let xpath = format!(".//summary[{}]", text_is(menu));
        let summary = self
            .the_one(Some(&row), &xpath, &format!("menu {menu:?}"))
            .await;
        summary.click().await.expect("open the menu");
        row
    }

    /// The text shown for the term `term` of a definition list (`<dt>`/`<dd>`).
    pub async fn definition(&self, term: &str) -> String {
        let xpath = format!("//dt[{}]/following-sibling::dd[1]", text_is(term));
        self.the_one(None, &xpath, &format!("{term:?} on the page"))
            .await
            .text()
            .await
            .expect("definition text")
    }

    /// Waits, without reloading, until the row showing `cell` reads `wanted` (the page's
    /// script may put in a new row meanwhile).
    pub async fn wait_for_row_in_place(&self, cell: &str, wanted: &str, limit: Duration) {
        let xpath = format!("//tr[td[{}]]", text_is(cell));
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Ok(row) = self.client.find(Locator::XPath(&xpath)).await
                && let Ok(text) = row.text().await
            {
                if text.contains(wanted) {
                    return;
                }
                last = Some(text);
            }
            if started.elapsed() > limit {
                panic!(
                    "{}: without a reload, the row {cell:?} never showed {wanted:?}; it shows {last:?}",
                    self.who
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Reloads until the row showing `cell` reads `wanted`, for at most `limit`.
    pub async fn wait_for_row(&self, cell: &str, wanted: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let text = self.row_text(cell).await;
            if text.contains(wanted) {
                return text;
            }
            if started.elapsed() > limit {
                panic!(
                    "{}: the row {cell:?} never showed {wanted:?} on {}; it shows {text:?}",
                    self.who,
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            self.client.refresh().await.expect("reload");
        }
    }
}
