//! A real browser for the end-to-end tests: Debian's headless Chromium, driven through
//! Debian's chromedriver (WebDriver) by fantoccini.
//!
//! - Missing packages fail the test with the command that installs them (never a skip).
//! - Chromium resolves only the names the test maps (`--host-resolver-rules`); every other
//!   name is NOTFOUND and no proxy is used, so no page or background fetch leaves loopback.
//! - chromedriver runs in a process group of its own, with Chromium under it: the whole
//!   group is killed when the [`Browser`] is dropped, even when a test panics.
//! - Every WebDriver call is bounded in time; a failure carries chromedriver's and Chromium's
//!   logs.
//!
//! Test files include it beside the shared support: `#[path = "support/browser.rs"] mod
//! browser;`, so the other end-to-end tests don't compile it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::future::Future;
use std::net::{IpAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};

/// How to get the browser, for the failure message when it is missing.
pub const INSTALL: &str = "install Debian's packages: `apt-get install chromium chromium-driver` \
     (as .ci/run does); the browser tests never skip";

/// The Chromium binary itself, not Debian's /usr/bin/chromium wrapper: the wrapper adds
/// Google API keys, remote extensions and flags of its own from /etc/chromium.d.
const CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// Bound on any one WebDriver command (a page load, a click, a screenshot).
const COMMAND: Duration = Duration::from_secs(15);
/// Bound on starting chromedriver and then Chromium (slow on a loaded 2-core machine).
const START: Duration = Duration::from_secs(30);

/// The window size, so screenshots are the same on every machine.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 800;

/// Where chromedriver and Chromium are, or how to install them.
pub fn locate(path_var: &str) -> Result<(PathBuf, PathBuf), String> {
    let driver = std::env::split_paths(path_var)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("chromedriver is not on PATH ({path_var}): {INSTALL}"))?;
    let chromium = PathBuf::from(CHROMIUM);
    if !chromium.is_file() {
        return Err(format!("{CHROMIUM} is missing: {INSTALL}"));
    }
    Ok((driver, chromium))
}

/// A name Chromium resolves, and the address it resolves to.
pub struct HostMap<'a> {
    pub name: &'a str,
    pub addr: IpAddr,
}

/// `--host-resolver-rules`: the mapped names, and NOTFOUND for every other name.
pub fn resolver_rules(hosts: &[HostMap<'_>]) -> String {
    let mut rules = String::new();
    for h in hosts {
        match h.addr {
            IpAddr::V4(a) => write!(rules, "MAP {} {a}, ", h.name),
            IpAddr::V6(a) => write!(rules, "MAP {} [{a}], ", h.name),
        }
        .expect("write to a String");
    }
    rules.push_str("MAP * ~NOTFOUND");
    rules
}

/// chromedriver and the Chromium it started, killed together on drop.
struct Driver {
    child: Child,
    port: u16,
    /// The logs and Chromium's profile.
    dir: tempfile::TempDir,
}

impl Driver {
    fn start(driver: &Path) -> Driver {
        let dir = tempfile::tempdir().expect("tempdir for the browser");
        let port = crate::support::free_port();
        let log = |name: &str| {
            std::fs::File::create(dir.path().join(name))
                .unwrap_or_else(|e| panic!("create {name}: {e}"))
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.path().join("chromedriver.log").display()
            ))
            // Chromium's own files (cache, NSS database) go in the temp dir, not ~.
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_CACHE_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log("chromedriver.out"))
            .stderr(log("chromedriver.err"))
            // A group of its own: Chromium and its helpers join it, and drop kills them all.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}; {INSTALL}", driver.display()));
        let mut d = Driver { child, port, dir };
        let deadline = Instant::now() + START;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("chromedriver exited with {status}\n{}", d.logs());
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on 127.0.0.1:{port} within {START:?}\n{}",
                d.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// The last lines of chromedriver's output and log and of Chromium's log.
    fn logs(&self) -> String {
        let mut all = String::new();
        for name in [
            "chromedriver.out",
            "chromedriver.err",
            "chromedriver.log",
            "profile/chrome_debug.log",
        ] {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            writeln!(all, "--- {name} (last {} lines) ---", tail.len()).expect("write");
            for line in tail {
                writeln!(all, "{line}").expect("write");
            }
        }
        all
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session.
pub struct Browser {
    client: Client,
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that resolves only `hosts`.
    pub async fn start(hosts: &[HostMap<'_>]) -> Browser {
        let path = std::env::var("PATH").unwrap_or_default();
        let (driver_bin, chromium) = locate(&path).unwrap_or_else(|e| panic!("{e}"));
        let driver = Driver::start(&driver_bin);
        let profile = driver.dir.path().join("profile");
        let args = vec![
            "--headless=new".to_string(),
            // Root (CI) cannot use the sandbox; the pages are the test's own.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
            "--force-device-scale-factor=1".into(),
            "--lang=en-GB".into(),
            // Nothing leaves loopback: only the mapped names resolve, no proxy, and none of
            // Chromium's own fetches (updates, sync, safe browsing, metrics).
            format!("--host-resolver-rules={}", resolver_rules(hosts)),
            "--no-proxy-server".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-client-side-phishing-detection".into(),
            "--disable-domain-reliability".into(),
            "--disable-breakpad".into(),
            "--disable-crash-reporter".into(),
            "--no-pings".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            // An http:// address is opened as http://: no HTTPS upgrade attempt first.
            "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,Translate,OptimizationHints,MediaRouter".into(),
            // Chromium's log goes to <profile>/chrome_debug.log, shown on failure.
            "--enable-logging".into(),
            "--v=0".into(),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let url = format!("http://127.0.0.1:{}", driver.port);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match tokio::time::timeout(
            START,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&url),
        )
        .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("no Chromium session: {e}\n{}", driver.logs()),
            Err(_) => panic!("no Chromium session within {START:?}\n{}", driver.logs()),
        };
        let browser = Browser { client, driver };
        let timeouts =
            TimeoutConfiguration::new(Some(COMMAND), Some(COMMAND), Some(Duration::ZERO));
        browser
            .bounded("set timeouts", browser.client.update_timeouts(timeouts))
            .await;
        browser
    }

    /// Runs one WebDriver command within [`COMMAND`]; panics with `what` and the logs.
    async fn bounded<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        match tokio::time::timeout(COMMAND, command).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => self.fail(&format!("{what}: {e}")).await,
            Err(_) => {
                self.fail(&format!("{what}: no answer within {COMMAND:?}"))
                    .await
            }
        }
    }

    /// Panics with `message`, the page's address and the browser's logs.
    async fn fail(&self, message: &str) -> ! {
        let url = tokio::time::timeout(Duration::from_secs(2), self.client.current_url())
            .await
            .ok()
            .and_then(Result::ok)
            .map_or_else(|| "?".to_string(), |u| u.to_string());
        panic!("browser: {message}\n(at {url})\n{}", self.driver.logs())
    }

    /// The WebDriver client, for what the helpers don't cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for the page to load. Panics if it cannot be loaded.
    pub async fn goto(&self, url: &str) {
        self.bounded(&format!("open {url}"), self.client.goto(url))
            .await;
    }

    /// Opens `url` and returns the WebDriver error, or None if it loaded.
    pub async fn try_goto(&self, url: &str) -> Option<String> {
        match tokio::time::timeout(COMMAND, self.client.goto(url)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => self.fail(&format!("open {url}: no answer")).await,
        }
    }

    pub async fn url(&self) -> String {
        self.bounded("current url", self.client.current_url())
            .await
            .to_string()
    }

    pub async fn title(&self) -> String {
        self.bounded("title", self.client.title()).await
    }

    /// The one element that matches the CSS selector.
    pub async fn css(&self, selector: &str) -> Element {
        self.bounded(
            &format!("find {selector:?}"),
            self.client.find(Locator::Css(selector)),
        )
        .await
    }

    /// The one element that matches the XPath expression.
    pub async fn xpath(&self, expression: &str) -> Element {
        self.bounded(
            &format!("find {expression:?}"),
            self.client.find(Locator::XPath(expression)),
        )
        .await
    }

    /// An element's visible text.
    pub async fn element_text(&self, element: &Element) -> String {
        self.bounded("element text", element.text()).await
    }

    /// Every element that matches the CSS selector (maybe none).
    pub async fn css_all(&self, selector: &str) -> Vec<Element> {
        self.bounded(
            &format!("find all {selector:?}"),
            self.client.find_all(Locator::Css(selector)),
        )
        .await
    }

    /// The form field whose `<label>` text starts with `label` (as a person reads it, hints
    /// after it aside): the label's `for` target, or the field inside the label. Exactly one
    /// label must match.
    pub async fn field(&self, label: &str) -> Element {
        let xpath = format!(
            "//label[starts-with(normalize-space(.), {})]",
            xpath_literal(label)
        );
        let labels = self
            .bounded(
                &format!("find label {label:?}"),
                self.client.find_all(Locator::XPath(&xpath)),
            )
            .await;
        if labels.len() != 1 {
            self.fail(&format!(
                "{} labels start with {label:?}, expected one",
                labels.len()
            ))
            .await;
        }
        let for_id = self.bounded("label's for", labels[0].attr("for")).await;
        match for_id {
            Some(id) => {
                self.bounded(
                    &format!("field #{id} of label {label:?}"),
                    self.client.find(Locator::Id(&id)),
                )
                .await
            }
            None => {
                self.bounded(
                    &format!("field inside label {label:?}"),
                    labels[0].find(Locator::Css("input, textarea, select")),
                )
                .await
            }
        }
    }

    /// Types `text` into the field labelled `label`, after clearing it.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        self.bounded(&format!("clear {label:?}"), field.clear())
            .await;
        self.bounded(&format!("type into {label:?}"), field.send_keys(text))
            .await;
    }

    /// The value a field holds now.
    pub async fn value(&self, field: &Element) -> String {
        self.bounded("field value", field.prop("value"))
            .await
            .unwrap_or_default()
    }

    /// Clicks the button whose text (or value) is `text` and waits for the next page.
    pub async fn submit(&self, text: &str) {
        let t = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={t}] | //input[(@type='submit' or @type='button') and @value={t}]"
        );
        let button = self
            .bounded(
                &format!("find button {text:?}"),
                self.client.find(Locator::XPath(&xpath)),
            )
            .await;
        self.click_and_wait(&button, &format!("button {text:?}"))
            .await;
    }

    /// Clicks `element` and waits until the page it was on is gone and the next one loaded.
    pub async fn click_and_wait(&self, element: &Element, what: &str) {
        let old = self.css("html").await;
        self.bounded(&format!("click {what}"), element.click())
            .await;
        self.wait_for_new_page(&old, what).await;
    }

    /// Waits until `old` (the previous page's root) is stale and the document is loaded.
    pub async fn wait_for_new_page(&self, old: &Element, what: &str) {
        let deadline = Instant::now() + COMMAND;
        loop {
            // A stale element answers with an error: the old page is gone.
            if tokio::time::timeout(COMMAND, old.tag_name())
                .await
                .is_ok_and(|r| r.is_err())
            {
                let ready = self
                    .bounded(
                        "document.readyState",
                        self.client.execute("return document.readyState", vec![]),
                    )
                    .await;
                if ready == "complete" {
                    return;
                }
            }
            if Instant::now() > deadline {
                self.fail(&format!("no new page after {what} within {COMMAND:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        let body = self.css("body").await;
        self.bounded("page text", body.text()).await
    }

    /// The page's HTML source.
    pub async fn source(&self) -> String {
        self.bounded("page source", self.client.source()).await
    }

    /// Presses keys on the keyboard, one after the other, wherever the focus is, as a
    /// person would: e.g. `&[Key::Tab]`.
    pub async fn press(&self, keys: &[Key]) {
        for key in keys {
            self.keystrokes((*key).into()).await;
        }
    }

    /// Presses `key` (Enter on a button, say) and waits for the page it leads to.
    pub async fn press_and_wait(&self, key: Key, what: &str) {
        let old = self.css("html").await;
        self.press(&[key]).await;
        self.wait_for_new_page(&old, what).await;
    }

    /// Types `text` wherever the focus is.
    pub async fn type_text(&self, text: &str) {
        for c in text.chars() {
            self.keystrokes(c).await;
        }
    }

    /// One key down and up.
    async fn keystrokes(&self, value: char) {
        let actions = KeyActions::new("keyboard".to_string())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.bounded("press a key", self.client.perform_actions(actions))
            .await;
    }

    /// A description of the focused element, e.g. `input#reason[name=reason]` or
    /// `button "Send request"`; `body` when nothing is focused.
    pub async fn focused(&self) -> String {
        let described = self
            .bounded(
                "describe the focused element",
                self.client.execute(
                    "const e = document.activeElement;
                     if (!e) return 'none';
                     let d = e.tagName.toLowerCase();
                     if (e.id) d += '#' + e.id;
                     if (e.name) d += '[name=' + e.name + ']';
                     if (e.tagName === 'BUTTON' || e.tagName === 'A')
                         d += ' \"' + e.textContent.trim().replace(/\\s+/g, ' ') + '\"';
                     if (e.tagName === 'INPUT' && (e.type === 'submit' || e.type === 'button'))
                         d += ' \"' + e.value + '\"';
                     return d;",
                    vec![],
                ),
            )
            .await;
        described.as_str().unwrap_or("?").to_string()
    }

    /// Presses Tab `n` times and lists what each press focused. It starts where the focus
    /// is: on a page just opened, the top of the page. (Blurring the focused element would
    /// not do: Chromium keeps it as the starting point of the next Tab.)
    pub async fn tab_order(&self, n: usize) -> Vec<String> {
        let mut order = Vec::with_capacity(n);
        for _ in 0..n {
            self.press(&[Key::Tab]).await;
            order.push(self.focused().await);
        }
        order
    }

    /// Saves a PNG of the viewport at `path` and returns its bytes.
    pub async fn screenshot(&self, path: &Path) -> Vec<u8> {
        let png = self.bounded("screenshot", self.client.screenshot()).await;
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        png
    }

    /// Saves a PNG of the whole page, `width` pixels wide, at `path` and returns its bytes:
    /// the window is made as tall as the page for the shot, then put back.
    pub async fn full_page_screenshot(&self, path: &Path, width: u32) -> Vec<u8> {
        let measured = self
            .bounded(
                "measure the page",
                self.client.execute(
                    "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
                    vec![],
                ),
            )
            .await;
        let number = |i: usize| measured[i].as_u64().unwrap_or(0) as u32;
        let (page, frame) = (number(0), number(1));
        self.bounded(
            "grow the window",
            self.client.set_window_size(width, page + frame),
        )
        .await;
        let png = self.screenshot(path).await;
        self.bounded(
            "restore the window",
            self.client.set_window_size(WIDTH, HEIGHT),
        )
        .await;
        png
    }

    /// Ends the session (Chromium exits), then chromedriver is killed on drop.
    pub async fn close(self) {
        let _ = tokio::time::timeout(COMMAND, self.client.clone().close()).await;
    }
}

/// `s` as an XPath string literal (XPath 1.0 has no escapes: concat() around quotes).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// A PNG's width and height, from its IHDR chunk.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&png[16..20]), be(&png[20..24])))
}
