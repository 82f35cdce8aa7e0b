//! Test harness: the real `visa-local` binary on a free port with its own
//! data dir, driven over real HTTP, and the store read back from SQLite.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const WEBHOOK_SECRET: &str = "whsec_test_secret_for_gateway_tests";

pub struct Gateway {
    child: Child,
    pub base: String,
    pub admin_token: String,
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub http: reqwest::Client,
}

impl Gateway {
    pub fn start() -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut gw = Gateway::start_in(dir.path());
        gw._dir = Some(dir);
        gw
    }

    /// Starts with extra environment (e.g. a short checkout lifetime).
    pub fn start_with(env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut gw = Gateway::start_in_with(dir.path(), env);
        gw._dir = Some(dir);
        gw
    }

    /// Starts on `data_dir` (kept by the caller, for restarts).
    pub fn start_in(data_dir: &Path) -> Gateway {
        Gateway::start_in_with(data_dir, &[])
    }

    fn start_in_with(data_dir: &Path, env: &[(&str, &str)]) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_visa-local"))
            .envs(env.iter().copied())
            .env("VISA_ADDR", "127.0.0.1:0")
            .env("VISA_DATA_DIR", data_dir)
            .env("PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("VISA_DEMO", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("visa-local starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut base, mut admin_token) = (None, None);
        while base.is_none() {
            let line = lines
                .next()
                .expect("visa-local printed its address")
                .expect("readable stdout");
            if let Some(t) = line.strip_prefix("admin token: ") {
                admin_token = Some(t.to_owned());
            }
            if let Some(addr) = line.strip_prefix("visa-local listening on ") {
                base = Some(addr.to_owned());
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            base: base.unwrap(),
            admin_token: admin_token.expect("admin token printed"),
            data_dir: data_dir.to_owned(),
            _dir: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// SIGKILL: no graceful shutdown, as a crash would be.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// One request whose target goes out byte for byte as given (an HTTP
    /// client would resolve `..` and `.` first): status and body.
    pub async fn raw_get(&self, target: &str) -> (u16, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("sends");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("reads");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let status = String::from_utf8_lossy(&raw[..split])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (status, raw[split + 4..].to_vec())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String, Value) {
        let mut req = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        read(req.send().await.expect("request sent")).await
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.expect("request sent")).await
    }

    pub async fn create_invitation(&self, invitation: Value) -> Value {
        let admin = self.admin_token.clone();
        let (status, _, body) = self
            .send(
                "POST",
                "/api/admin/invitations",
                Some(&admin),
                Some(invitation),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// A new account, its address confirmed from the emailed link, and
    /// its session token.
    pub async fn applicant(&self, email: &str) -> String {
        let token = self.unverified_applicant(email).await;
        self.confirm_email(email).await;
        token
    }

    /// A new account whose address is not confirmed, and its session token.
    pub async fn unverified_applicant(&self, email: &str) -> String {
        let creds = json!({"email": email, "password": "correct horse battery"});
        let (status, _, body) = self
            .send("POST", "/api/accounts", None, Some(creds.clone()))
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, _, body) = self.send("POST", "/api/sessions", None, Some(creds)).await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Follows the newest confirmation link emailed to `email`.
    pub async fn confirm_email(&self, email: &str) {
        let link = self.emailed_link(email, "/confirm-email#", &[]).await;
        let token = link.split_once('#').unwrap().1;
        let (status, _, body) = self
            .send(
                "POST",
                "/api/email-verifications/confirmation",
                None,
                Some(json!({ "token": token })),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    /// The newest link containing `marker` in an outbox message to
    /// `email` (other than those in `not`), waiting up to 10 s for it.
    pub async fn emailed_link(&self, email: &str, marker: &str, not: &[String]) -> String {
        let outbox = self.data_dir.join("outbox");
        let start = std::time::Instant::now();
        loop {
            let mut found: Vec<(String, String)> = std::fs::read_dir(&outbox)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("message-"))
                .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(e.path()).unwrap_or_default())
                })
                .filter(|(_, text)| text.contains(&format!("To: {email}\r\n")))
                .filter(|(_, text)| text.contains(marker))
                .collect();
            found.sort();
            if let Some((_, text)) = found.last() {
                let link = text
                    .split_whitespace()
                    .find(|w| w.contains(marker))
                    .expect("a link")
                    .to_owned();
                if !not.contains(&link) {
                    return link;
                }
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "no email with {marker} for {email}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Invitation + account + application, confirmed to awaiting_payment.
    pub async fn awaiting_payment(&self, email: &str) -> (String, Value) {
        let inv = self.create_invitation(invitation("tourist", "IND")).await;
        let token = self.applicant(email).await;
        let (status, _, app) = self
            .send(
                "POST",
                "/api/applications",
                Some(&token),
                Some(application(&inv)),
            )
            .await;
        assert_eq!(status, 201, "{app}");
        let path = format!(
            "/api/applications/{}/confirmation",
            app["id"].as_str().unwrap()
        );
        let (status, _, app) = self
            .send(
                "POST",
                &path,
                Some(&token),
                Some(json!({"details_match_passport": true})),
            )
            .await;
        assert_eq!(status, 200, "{app}");
        (token, app)
    }

    /// Every row of every table, to prove a refused request changed nothing.
    pub fn snapshot(&self) -> Vec<String> {
        snapshot(&self.data_dir.join("visa.sqlite3"), &[])
    }

    pub fn snapshot_without(&self, skip: &[&str]) -> Vec<String> {
        snapshot(&self.data_dir.join("visa.sqlite3"), skip)
    }

    pub fn count(&self, table: &str) -> i64 {
        let c = rusqlite::Connection::open(self.data_dir.join("visa.sqlite3")).unwrap();
        c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn read(res: reqwest::Response) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = res.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, ct, body)
}

fn snapshot(db: &Path, skip: &[&str]) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|t: &String| !skip.contains(&t.as_str()))
        .collect();
    let mut rows = Vec::new();
    for t in tables {
        let mut stmt = c.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([]).unwrap();
        while let Some(row) = q.next().unwrap() {
            let cols: Vec<String> = (0..n)
                .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                .collect();
            rows.push(format!("{t}: {}", cols.join(" | ")));
        }
    }
    rows.sort();
    rows
}

pub fn date_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

pub fn invitation(category: &str, nationality: &str) -> Value {
    json!({
        "category": category,
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Müller", "given_names": "Anna  Maria", "nationality": nationality,
                    "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
        "valid_from": date_in(10),
        "valid_until": date_in(39),
    })
}

/// An application body matching `inv` (diacritics and case differ on purpose).
pub fn application(inv: &Value) -> Value {
    json!({
        "invitation_number": inv["number"],
        "passport": {
            "number": "z1234567", "surname": "MULLER", "given_names": "anna maria",
            "nationality": inv["invitee"]["nationality"], "sex": "F", "date_of_birth": "1990-04-12",
            "issuing_state": inv["invitee"]["nationality"], "expiry_date": date_in(3000),
        },
        "declarations": {"two_blank_pages": true, "passport_undamaged": true}
    })
}

/// Asserts an RFC 9457 problem with this status and slug.
#[track_caller]
pub fn assert_problem(got: &(u16, String, Value), status: u16, slug: &str) {
    let (s, ct, body) = got;
    assert_eq!(*s, status, "status for {slug}: {body}");
    assert_eq!(ct, "application/problem+json", "content type for {slug}");
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

/// Everything visa-local writes to stdout and stderr, collected as it runs.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<String>>);

impl Logs {
    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    fn collect(&self, stream: impl std::io::Read + Send + 'static) {
        let logs = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut all = logs.0.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
    }
}

impl Gateway {
    /// Like `start`, at `RUST_LOG=debug`, with stdout and stderr captured.
    pub fn start_logged() -> (Gateway, Logs) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut gw, logs) = Gateway::start_logged_in(dir.path());
        gw._dir = Some(dir);
        (gw, logs)
    }

    /// Like `start_in` (a data dir the caller keeps), logged as `start_logged`.
    pub fn start_logged_in(data_dir: &Path) -> (Gateway, Logs) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_visa-local"))
            .env("VISA_ADDR", "127.0.0.1:0")
            .env("VISA_DATA_DIR", data_dir)
            .env("PAYMENT_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("VISA_DEMO", "0")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("visa-local starts");
        let logs = Logs::default();
        logs.collect(child.stderr.take().expect("stderr"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut base, mut admin_token) = (None, None);
        while base.is_none() {
            let line = lines
                .next()
                .expect("visa-local printed its address")
                .expect("readable stdout");
            logs.0.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(t) = line.strip_prefix("admin token: ") {
                admin_token = Some(t.to_owned());
            }
            if let Some(addr) = line.strip_prefix("visa-local listening on ") {
                base = Some(addr.to_owned());
            }
        }
        let rest = logs.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                rest.0.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let gw = Gateway {
            child,
            base: base.unwrap(),
            admin_token: admin_token.expect("admin token printed"),
            data_dir: data_dir.to_owned(),
            _dir: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        (gw, logs)
    }

    /// Pays `app` through the sandbox checkout's Pay button (a signed
    /// webhook) and waits until the background issuer has issued the visa.
    pub async fn pay_and_wait_issued(&self, token: &str, app: &Value) -> Value {
        let url = app["payment"]["checkout_url"]
            .as_str()
            .expect("checkout url");
        let res = self.http.post(format!("{url}/pay")).send().await.unwrap();
        assert_eq!(res.status(), 303, "sandbox pay");
        let path = format!("/api/applications/{}", app["id"].as_str().unwrap());
        let start = std::time::Instant::now();
        loop {
            let (_, _, app) = self.send("GET", &path, Some(token), None).await;
            if app["status"] == "issued" {
                return app;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "not issued: {app}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
