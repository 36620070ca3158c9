//! The browser-test harness: the real `mace` binary, Debian's headless Chromium driven through
//! `chromedriver` by fantoccini, axe-core from `node_modules`, and artifacts on failure.
//!
//! A test is one call to [`run`]:
//!
//! ```ignore
//! #[test]
//! fn e2e_something() {
//!     run("e2e_something", Js::On, async |t| {
//!         t.check_page("/accessibility", "Accessibility statement").await;
//!     });
//! }
//! ```
//!
//! [`run`] checks the gate (`MACE_E2E=1`, Chromium present), starts a fresh server (its own
//! temporary SQLite database and demo data) and a fresh browser (its own profile), runs the body,
//! and, if the body panics, saves a screenshot, the page source and the server log under
//! `<repo>/.e2e-artifacts/`.

use base64::Engine as _;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one test body may take before it is failed (with artifacts) rather than hanging CI.
const BODY_TIMEOUT: Duration = Duration::from_secs(180);

/// The accessibility standard every page must meet: WCAG 2.2 AA, as axe-core tags it.
pub const AXE_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

// ---------------------------------------------------------------------------------------------
// Gate

fn chromium() -> PathBuf {
    std::env::var_os("MACE_E2E_CHROMIUM").map_or_else(|| CHROMIUM.into(), PathBuf::from)
}

fn chromedriver() -> PathBuf {
    std::env::var_os("MACE_E2E_CHROMEDRIVER").map_or_else(|| CHROMEDRIVER.into(), PathBuf::from)
}

/// `MACE_TEST_REQUIRE` is a comma-separated list (`postgres`, `browser`); `browser` turns a
/// missing browser from a skip into a failure.
fn browser_required() -> bool {
    std::env::var("MACE_TEST_REQUIRE")
        .map(|v| v.split(',').any(|s| s.trim() == "browser"))
        .unwrap_or(false)
}

/// Whether browser tests should run here. Prints why not, or panics when they are required
/// (`MACE_TEST_REQUIRE=browser`) but cannot run.
pub fn enabled() -> bool {
    if std::env::var("MACE_E2E").as_deref() != Ok("1") {
        if browser_required() {
            panic!(
                "MACE_TEST_REQUIRE=browser, but MACE_E2E is not 1: browser tests would be skipped"
            );
        }
        println!("skipped: set MACE_E2E=1 to run browser tests");
        return false;
    }
    let missing: Vec<String> = [chromium(), chromedriver()]
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "browser tests need Debian's Chromium and ChromeDriver, missing: {} \
             (install with `apt-get install chromium chromium-driver`; never a downloaded browser)",
            missing.join(", ")
        );
        if browser_required() {
            panic!("{msg} (MACE_TEST_REQUIRE=browser)");
        }
        println!("skipped: {msg}");
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Concurrency: each test runs its own server, chromedriver and Chromium. On 2 cores more than a
// couple of Chromiums at once only makes every test slower and flakier.

static SLOTS_USED: Mutex<usize> = Mutex::new(0);
static SLOT_FREED: Condvar = Condvar::new();

fn max_browsers() -> usize {
    std::env::var("MACE_E2E_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(2)
}

struct Slot;

impl Slot {
    fn acquire() -> Self {
        let max = max_browsers();
        let mut used = SLOTS_USED.lock().unwrap_or_else(|e| e.into_inner());
        while *used >= max {
            used = SLOT_FREED.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut used = SLOTS_USED.lock().unwrap_or_else(|e| e.into_inner());
        *used -= 1;
        SLOT_FREED.notify_one();
    }
}

// ---------------------------------------------------------------------------------------------
// Paths

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where failing tests leave screenshots, page sources and server logs (git-ignored).
pub fn artifacts_dir() -> PathBuf {
    repo_root().join(".e2e-artifacts")
}

fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../web/frontend/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read axe-core at {} ({e}); the web crate's build script installs it with \
                 `npm ci` from crates/web/frontend/package-lock.json",
                path.display()
            )
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.1 over std (readiness probes, and raw WebDriver calls that must work while a
// test is unwinding, when the async runtime can no longer be used).

/// One request with `Connection: close`; returns the status and the (de-chunked) body.
pub fn http(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    // Read until the message is complete: ChromeDriver answers `Connection: close` but keeps the
    // socket open, so reading to EOF would wait for the timeout.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let body_len = raw.len() - split - 4;
            let length = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>())
            });
            match length {
                Some(Ok(len)) if body_len >= len => break,
                Some(_) => {}
                None if head.contains("transfer-encoding") && raw.ends_with(b"0\r\n\r\n") => break,
                None => {}
            }
        }
    }
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut rest = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("chunk"))?;
            let size_line = String::from_utf8_lossy(&rest[..eol]).to_string();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("chunk size"))?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            let end = start + size;
            if rest.len() < end {
                return Err(bad("short chunk"));
            }
            out.extend_from_slice(&rest[start..end]);
            rest = rest.get(end + 2..).unwrap_or_default().to_vec();
        }
        rest = out;
    }
    Ok((status, rest))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// Server

/// The real `mace` binary serving on a free loopback port, with its own data directory (SQLite)
/// and demo data. Killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    log: PathBuf,
    /// The file the server reads its clock offset from, and the offset written there.
    clock: PathBuf,
    offset: std::cell::Cell<i64>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Move the server's clock forward (sessions then expire as they would).
    pub fn advance(&self, by: Duration) {
        let total = self.offset.get() + i64::try_from(by.as_secs()).expect("a sane offset");
        std::fs::write(&self.clock, total.to_string()).expect("write the clock offset");
        self.offset.set(total);
    }

    /// How far the server's clock runs ahead, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.get()
    }

    /// `mace serve --addr 127.0.0.1:0 --data-dir <tmp> --demo`.
    pub fn start() -> Self {
        Self::start_with(&["--demo"])
    }

    /// `mace serve --addr 127.0.0.1:0 --data-dir <tmp>` plus `extra` arguments.
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("server tempdir");
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mace"));
        // The caller's MACE_* settings must not leak in (a DATABASE_URL would move the data).
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("MACE_") || k == "DATABASE_URL" {
                cmd.env_remove(k.as_ref());
            }
        }
        cmd.arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data);
        cmd.args(extra);
        // The server's clock runs this many seconds ahead (debug builds only; see
        // `crates/mace/src/test_clock.rs`); [`E2e::advance`] moves it.
        let clock = dir.path().join("clock");
        cmd.env("MACE_TEST_CLOCK_FILE", &clock);
        cmd.env("MACE_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("server log"));
        let mut child = cmd.spawn().expect("start the mace binary");

        // Read stdout on a thread (and keep draining it) so a timeout can't hang the test.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut seen = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.trim().strip_prefix("mace listening on http://") {
                        break rest
                            .parse::<SocketAddr>()
                            .unwrap_or_else(|e| panic!("bad listening line {line:?}: {e}"));
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "mace serve printed no `mace listening on http://…` line ({e:?}).\n\
                         stdout:\n{}\nstderr (last lines):\n{}",
                        seen.join("\n"),
                        tail(&log, 30)
                    );
                }
            }
        };
        let server = Server {
            child,
            addr,
            base: format!("http://{addr}"),
            log,
            clock,
            offset: std::cell::Cell::new(0),
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            match http("GET", self.addr, "/readyz", None, Duration::from_secs(5)) {
                Ok((200, _)) => return,
                Ok((status, body)) => {
                    last = format!("{status} {}", String::from_utf8_lossy(&body));
                }
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{}/readyz never answered 200 (last: {last}); server log:\n{}",
            self.base,
            tail(&self.log, 30)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Browser

/// Whether the browser runs page scripts. Key journeys must work with [`Js::Off`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

/// `chromedriver` on a free port, and one fantoccini session in a fresh headless Chromium.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_addr: SocketAddr,
    session: String,
    closed: bool,
    _profile: tempfile::TempDir,
}

/// Injected before any page script runs (see [`E2e::csp_violations`]).
const CSP_LISTENER: &str = "window.__cspViolations = [];\
    document.addEventListener('securitypolicyviolation', function (e) {\
      window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,\
        source: e.sourceFile, line: e.lineNumber, sample: e.sample});\
    }, true);";

impl Browser {
    pub async fn start(js: Js) -> Self {
        let profile = tempfile::tempdir().expect("chromium profile dir");
        let (driver, driver_addr) = Self::start_driver(profile.path());

        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1024".to_owned(),
        ];
        args.push(format!(
            "--user-data-dir={}",
            profile.path().join("chromium").display()
        ));
        let mut prefs = serde_json::Map::new();
        if js == Js::Off {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        let caps = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": args,
                "prefs": prefs,
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };

        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let client = match builder.connect(&format!("http://{driver_addr}")).await {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot start a Chromium session through chromedriver: {e}\nchromedriver log:\n{}",
                tail(&profile.path().join("chromedriver.log"), 30)
            ),
        };
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set WebDriver timeouts");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let browser = Browser {
            client,
            driver,
            driver_addr,
            session,
            closed: false,
            _profile: profile,
        };
        if js == Js::On {
            browser.cdp(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": CSP_LISTENER }),
            );
        }
        browser
    }

    fn start_driver(dir: &Path) -> (Child, SocketAddr) {
        let mut last = String::new();
        // The free port could be taken between probing and binding: try a few.
        for _ in 0..3 {
            let port = free_port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let log = dir.join("chromedriver.log");
            let mut child = Command::new(chromedriver())
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("chromedriver exited with {status}: {}", tail(&log, 10));
                    break;
                }
                if let Ok((200, body)) = http("GET", addr, "/status", None, Duration::from_secs(2))
                {
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    if v["value"]["ready"] == json!(true) {
                        return (child, addr);
                    }
                    last = format!("not ready: {v}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("chromedriver did not start: {last}");
    }

    /// A raw WebDriver call over std HTTP: works even while the test is unwinding.
    fn webdriver(&self, method: &str, path: &str, body: Option<&Value>) -> Option<Value> {
        let body = body.map(Value::to_string);
        let path = format!("/session/{}{path}", self.session);
        let (status, bytes) = http(
            method,
            self.driver_addr,
            &path,
            body.as_deref(),
            Duration::from_secs(30),
        )
        .ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        (status == 200).then(|| v["value"].clone())
    }

    /// A Chrome DevTools Protocol command through chromedriver's `goog/cdp/execute`.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.webdriver(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({ "cmd": cmd, "params": params })),
        )
        .unwrap_or_else(|| panic!("CDP command {cmd} failed"))
    }

    /// The browser console so far (chromedriver's legacy log endpoint; entries are consumed).
    pub fn console_log(&self) -> Vec<Value> {
        match self.webdriver("POST", "/se/log", Some(&json!({ "type": "browser" }))) {
            Some(Value::Array(entries)) => entries,
            _ => Vec::new(),
        }
    }

    fn screenshot_png(&self) -> Option<Vec<u8>> {
        let b64 = self.webdriver("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str()?)
            .ok()
    }

    fn page_source(&self) -> Option<String> {
        Some(self.webdriver("GET", "/source", None)?.as_str()?.to_owned())
    }

    async fn close(mut self) {
        self.closed = true;
        let client = self.client.clone();
        let _ = client.close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session first so chromedriver takes Chromium down with it, then the driver.
        if !self.closed {
            let _ = self.webdriver("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Test context

/// What a test body gets: the server and the browser, plus page-level helpers.
pub struct E2e {
    pub server: Server,
    pub browser: Browser,
    pub js: Js,
}

impl E2e {
    pub fn client(&self) -> &Client {
        &self.browser.client
    }

    /// Navigate to `path` on the server and wait for the load event.
    pub async fn goto(&self, path: &str) {
        let url = self.server.url(path);
        self.client()
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    pub async fn current_path(&self) -> String {
        self.client()
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_owned()
    }

    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client()
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
            .is_empty()
    }

    /// The visible text of the first element matching `css`. A page that was still being
    /// replaced (a form's redirect landing) can leave the element found stale: find it again.
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            let el = self
                .client()
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| {
                    panic!("no element matches {css:?} on {}: {e}", self.server.base)
                });
            match el.text().await {
                Ok(text) => return text,
                Err(e) if tries < 20 && format!("{e:?}").contains("StaleElementReference") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("element text of {css:?}: {e}"),
            }
        }
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self
            .client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css:?}: {e}"));
        el.attr(name).await.expect("attribute")
    }

    /// Run `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Assert the common shape of every page: a language, a title, exactly one `h1` containing
    /// `heading`, and a skip link to `#main-content` that exists.
    pub async fn assert_page_shape(&self, heading: &str) {
        let path = self.current_path().await;
        let lang = self.attr("html", "lang").await.unwrap_or_default();
        assert!(!lang.is_empty(), "{path}: <html> has no lang");
        let title = self.client().title().await.expect("title");
        assert!(!title.trim().is_empty(), "{path}: empty <title>");
        let h1s = self
            .client()
            .find_all(Locator::Css("h1"))
            .await
            .expect("h1s");
        assert_eq!(h1s.len(), 1, "{path}: expected exactly one h1");
        let h1 = h1s[0].text().await.expect("h1 text");
        assert!(
            h1.contains(heading),
            "{path}: h1 is {h1:?}, expected it to contain {heading:?}"
        );
        let skip = self.attr("a.govuk-skip-link", "href").await;
        assert_eq!(skip.as_deref(), Some("#main-content"), "{path}: skip link");
        assert!(
            self.exists("#main-content").await,
            "{path}: the skip link's target #main-content is missing"
        );
    }

    /// Navigate to `path`, check its shape ([`Self::assert_page_shape`]) and run axe.
    pub async fn check_page(&self, path: &str, heading: &str) {
        self.goto(path).await;
        self.assert_page_shape(heading).await;
        self.assert_axe_clean().await;
    }

    /// Inject axe-core (once per document) and run it for [`AXE_TAGS`]. Returns the violations,
    /// summarised: `{id, impact, help, helpUrl, nodes: [{target, summary}]}`.
    pub async fn axe(&self) -> Vec<Value> {
        let loaded = self
            .eval("return typeof window.axe === 'object';", vec![])
            .await;
        if loaded != json!(true) {
            let script = format!("{}\n;return typeof window.axe;", axe_source());
            let t = self.eval(&script, vec![]).await;
            assert_eq!(t, json!("object"), "axe-core did not load");
        }
        let run = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
              .then(r => done({ ok: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                  nodes: v.nodes.map(n => ({ target: n.target, summary: n.failureSummary })) })) }))
              .catch(e => done({ error: String(e && e.stack || e) }));
        "#;
        let out = self
            .client()
            .execute_async(run, vec![json!(AXE_TAGS)])
            .await
            .unwrap_or_else(|e| panic!("axe.run failed: {e}"));
        if let Some(err) = out.get("error") {
            panic!("axe.run threw: {err}");
        }
        match out.get("ok") {
            Some(Value::Array(v)) => v.clone(),
            other => panic!("unexpected axe result: {other:?}"),
        }
    }

    /// Zero axe violations on the current page, or a readable list of them.
    pub async fn assert_axe_clean(&self) {
        let violations = self.axe().await;
        if violations.is_empty() {
            return;
        }
        let path = self.current_path().await;
        panic!(
            "axe: {} violation(s) on {path} ({})\n{}",
            violations.len(),
            self.js_label(),
            format_violations(&violations)
        );
    }

    /// Whether page scripts run in this browser.
    pub fn js(&self) -> Js {
        self.js
    }

    fn js_label(&self) -> &'static str {
        match self.js {
            Js::On => "JavaScript on",
            Js::Off => "JavaScript off",
        }
    }

    /// Content Security Policy violations seen since the current document started loading
    /// (collected by a listener injected before any page script). JavaScript must be on.
    pub async fn csp_violations(&self) -> Vec<Value> {
        assert_eq!(
            self.js,
            Js::On,
            "CSP violations are only collected with JavaScript on"
        );
        match self.eval("return window.__cspViolations;", vec![]).await {
            Value::Array(v) => v,
            other => {
                panic!("the CSP listener was not installed (window.__cspViolations = {other})")
            }
        }
    }

    /// Browser console entries at SEVERE level, or that mention the Content Security Policy.
    pub fn console_errors(&self) -> Vec<String> {
        self.browser
            .console_log()
            .into_iter()
            .filter(|e| {
                let msg = e["message"].as_str().unwrap_or("");
                e["level"] == "SEVERE" || msg.contains("Content Security Policy")
            })
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// One line per violation, then up to three node targets each.
pub fn format_violations(violations: &[Value]) -> String {
    let mut out = String::new();
    for v in violations {
        let nodes = v["nodes"].as_array().cloned().unwrap_or_default();
        out.push_str(&format!(
            "- [{}] {}: {} ({} node(s)) {}\n",
            v["impact"].as_str().unwrap_or("?"),
            v["id"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or("?"),
            nodes.len(),
            v["helpUrl"].as_str().unwrap_or(""),
        ));
        for n in nodes.iter().take(3) {
            out.push_str(&format!("    at {}\n", n["target"]));
            if let Some(s) = n["summary"].as_str() {
                for line in s.lines().take(4) {
                    out.push_str(&format!("       {line}\n"));
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Failure artifacts

/// Saves a screenshot, the page source and the server log if dropped while panicking.
struct Artifacts<'a> {
    name: &'a str,
    ctx: &'a E2e,
}

impl Drop for Artifacts<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let dir = artifacts_dir();
        if std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let mut saved = Vec::new();
        if let Some(png) = self.ctx.browser.screenshot_png() {
            let p = dir.join(format!("{}.png", self.name));
            if std::fs::write(&p, png).is_ok() {
                saved.push(p);
            }
        }
        if let Some(html) = self.ctx.browser.page_source() {
            let p = dir.join(format!("{}.html", self.name));
            if std::fs::write(&p, html).is_ok() {
                saved.push(p);
            }
        }
        let p = dir.join(format!("{}.server.log", self.name));
        if std::fs::copy(self.ctx.server.log_path(), &p).is_ok() {
            saved.push(p);
        }
        for p in saved {
            eprintln!("e2e artifact: {}", p.display());
        }
    }
}

/// Run one browser test: gate, fresh server and browser, the body, artifacts on failure.
pub fn run(name: &str, js: Js, body: impl AsyncFnOnce(&E2e)) {
    if !enabled() {
        return;
    }
    let _slot = Slot::acquire();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = Server::start();
    let browser = rt.block_on(Browser::start(js));
    let ctx = E2e {
        server,
        browser,
        js,
    };
    {
        let _artifacts = Artifacts { name, ctx: &ctx };
        rt.block_on(async {
            if tokio::time::timeout(BODY_TIMEOUT, body(&ctx))
                .await
                .is_err()
            {
                panic!("{name} took longer than {BODY_TIMEOUT:?}");
            }
        });
    }
    let E2e {
        server, browser, ..
    } = ctx;
    rt.block_on(browser.close());
    drop(server);
    println!("{name}: passed in {:.1}s", started.elapsed().as_secs_f64());
}
