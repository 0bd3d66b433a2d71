//! A small W3C WebDriver client for the browser tests: Debian's `/usr/bin/chromedriver`
//! driving a headless `/usr/bin/chromium`, over HTTP on loopback. Every failure is a panic
//! naming the step and what chromedriver answered (this is test code); nothing is skipped.
//!
//! ```ignore
//! let browser = Browser::start();
//! browser.navigate("file:///tmp/report/report.html");
//! let title = browser.execute("return document.title", &[]);
//! ```

use base64::Engine as _;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The bound on chromedriver's start, the browser's start, a page's load, a script's run
/// and each HTTP exchange: generous, as the machine may be busy building.
const BROWSER_WAIT: Duration = Duration::from_secs(60);

/// A chromedriver process and one browser session in it. Dropping it ends the session
/// (which closes chromium) and kills chromedriver, so a failing test leaves no process
/// behind.
pub(crate) struct Browser {
    driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`: every command's URL starts with it.
    session: String,
    /// Chromium's own process, killed directly when ending the session fails.
    browser_pid: Option<u64>,
    agent: ureq::Agent,
    /// Chromium's `--user-data-dir`, removed after the session has ended (fields drop
    /// after [`Drop::drop`] runs).
    profile: tempfile::TempDir,
    /// chromedriver's output, drained by a reader thread as long as this lives: a full pipe
    /// would block it.
    _output: mpsc::Receiver<String>,
}

impl Browser {
    /// Starts chromedriver on a free loopback port, waits until it says it is ready, and
    /// opens a headless chromium session with a fresh profile.
    pub(crate) fn start() -> Browser {
        for program in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: install Debian's `chromium` and `chromium-driver` \
                 (`scripts/test.sh` does it)"
            );
        }
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {CHROMEDRIVER}: {error}"));
        let output = super::lines(
            driver
                .stdout
                .take()
                .expect("chromedriver's stdout is piped"),
        );
        let port = match listening_port(&output) {
            Ok(port) => port,
            Err(said) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("starting chromedriver: {said}");
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // WebDriver's errors are JSON bodies of 4xx and 5xx answers: read, not dropped.
            .http_status_as_error(false)
            // Loopback only; a proxy from the environment must not see it.
            .proxy(None)
            .timeout_global(Some(BROWSER_WAIT))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::Builder::new()
            .prefix("mltools-chromium-")
            .tempdir()
            .expect("a temp dir for chromium's profile");
        // From here on a panic drops `browser`, which kills chromedriver.
        let mut browser = Browser {
            driver,
            session: String::new(),
            browser_pid: None,
            agent,
            profile,
            _output: output,
        };
        browser.wait_until_ready(&base);
        browser.open_session(&base);
        browser.command(
            "setting the page-load and script timeouts",
            "POST",
            "/timeouts",
            Some(&json!({
                "pageLoad": BROWSER_WAIT.as_millis() as u64,
                "script": BROWSER_WAIT.as_millis() as u64,
            })),
        );
        browser
    }

    /// Polls `GET /status` until chromedriver answers `ready: true`, within
    /// [`BROWSER_WAIT`].
    fn wait_until_ready(&self, base: &str) {
        let deadline = Instant::now() + BROWSER_WAIT;
        loop {
            let said = match request(&self.agent, "GET", &format!("{base}/status"), None) {
                Ok(status) if status["ready"] == true => return,
                Ok(status) => status.to_string(),
                Err(error) => error,
            };
            assert!(
                Instant::now() < deadline,
                "waiting for chromedriver's /status to say ready: it said {said}"
            );
            // chromedriver has no readiness push: its status is polled, within the deadline.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates the session: headless chromium with a fresh profile, its console logged.
    fn open_session(&mut self, base: &str) {
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            profile,
                            "--window-size=1280,2000",
                        ],
                    },
                    "goog:loggingPrefs": { "browser": "ALL" },
                },
            },
        });
        let created = request(
            &self.agent,
            "POST",
            &format!("{base}/session"),
            Some(&capabilities),
        )
        .unwrap_or_else(|said| panic!("creating a chromium session: chromedriver said {said}"));
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("creating a chromium session: no sessionId in {created}"));
        self.session = format!("{base}/session/{id}");
        self.browser_pid = created["capabilities"]["goog:processID"].as_u64();
    }

    /// Opens `url` and waits until its `document.readyState` is `complete`.
    #[track_caller]
    pub(crate) fn navigate(&self, url: &str) {
        self.command(
            &format!("navigating to {url}"),
            "POST",
            "/url",
            Some(&json!({ "url": url })),
        );
        // chromedriver awaits a returned promise, bounded by the script timeout.
        let loaded = self.execute(
            "return document.readyState === 'complete' || new Promise(resolve => \
             window.addEventListener('load', () => resolve(true), { once: true }));",
            &[],
        );
        assert_eq!(loaded, true, "waiting for {url} to load");
    }

    /// Runs `script` (a function body: `return` gives the result) with `args` as
    /// `arguments`, and returns its result. A script that throws is a panic.
    #[track_caller]
    pub(crate) fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.command(
            &format!("running the script `{}`", first_line(script)),
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// A PNG of what the viewport shows: 1280 pixels wide, and as tall as the 2000-pixel
    /// window less its frame (1861 with chromium 148), not the whole page.
    #[track_caller]
    pub(crate) fn screenshot_png(&self) -> Vec<u8> {
        let encoded = self.command("taking a screenshot", "GET", "/screenshot", None);
        let Some(encoded) = encoded.as_str() else {
            panic!("taking a screenshot: expected base64, got {encoded}");
        };
        match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(png) => png,
            Err(error) => panic!("decoding the screenshot's base64: {error}"),
        }
    }

    /// The console's errors (level `SEVERE`: `console.error` and uncaught exceptions) logged
    /// since the previous call: chromedriver hands each log entry out once.
    #[track_caller]
    pub(crate) fn console_errors(&self) -> Vec<String> {
        let entries = self.command(
            "reading the browser's console log",
            "POST",
            "/se/log",
            Some(&json!({ "type": "browser" })),
        );
        let Some(entries) = entries.as_array() else {
            panic!("reading the browser's console log: expected a list, got {entries}");
        };
        entries
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| match entry["message"].as_str() {
                Some(message) => message.to_owned(),
                None => entry.to_string(),
            })
            .collect()
    }

    /// Sends a command of the session and returns the answer's `value`; panics naming
    /// `step` on an error.
    #[track_caller]
    fn command(&self, step: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
        match request(
            &self.agent,
            method,
            &format!("{}{path}", self.session),
            body,
        ) {
            Ok(value) => value,
            Err(said) => panic!("{step}: chromedriver said {said}"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty()
            && request(&self.agent, "DELETE", &self.session, None).is_err()
            && let Some(pid) = self.browser_pid
        {
            // The session did not end cleanly, so chromium may outlive chromedriver.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The port chromedriver (started with `--port=0`) says it listens on, from its line
/// `ChromeDriver was started successfully on port 41797.`; or what it said instead.
fn listening_port(output: &mpsc::Receiver<String>) -> Result<u16, String> {
    const MARKER: &str = "started successfully on port ";
    let deadline = Instant::now() + BROWSER_WAIT;
    let mut said = Vec::new();
    loop {
        match output.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some((_, rest)) = line.split_once(MARKER) {
                    let port = rest.trim_end_matches('.').trim();
                    return port
                        .parse()
                        .map_err(|_| format!("a port that is not a number: `{line}`"));
                }
                said.push(line);
            }
            Err(RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "no `{MARKER}N` line within {BROWSER_WAIT:?}; it printed:\n{}",
                    said.join("\n")
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(format!(
                    "it exited before listening; it printed:\n{}",
                    said.join("\n")
                ));
            }
        }
    }
}

/// One WebDriver exchange: the answer's `value` on success; otherwise what went wrong,
/// with WebDriver's error code and message (its stack trace left out).
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let sent = match (method, body) {
        ("GET", None) => agent.get(url).call(),
        ("DELETE", None) => agent.delete(url).call(),
        ("POST", body) => agent
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .send(body.unwrap_or(&json!({})).to_string()),
        _ => panic!("no WebDriver request is {method} with body {body:?}"),
    };
    let mut answer = sent.map_err(|error| format!("{method} {url} failed: {error}"))?;
    let status = answer.status();
    let text = answer
        .body_mut()
        .with_config()
        // A screenshot of a tall window is megabytes of base64; ureq's default cap is 10 MB.
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|error| format!("{method} {url}: reading the answer ({status}): {error}"))?;
    let parsed: Value = serde_json::from_str(&text)
        .map_err(|error| format!("{method} {url}: {status}, not JSON ({error}): {text}"))?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() && value.get("error").is_none() {
        return Ok(value);
    }
    let code = value["error"].as_str().unwrap_or("(no error code)");
    let message = value["message"].as_str().unwrap_or(&text);
    // chromedriver's messages mostly start with their code already.
    if message.starts_with(code) {
        Err(format!("{status}: {message}"))
    } else {
        Err(format!("{status} {code}: {message}"))
    }
}

/// A script's first line, for messages.
fn first_line(script: &str) -> &str {
    script.lines().next().unwrap_or_default().trim()
}
