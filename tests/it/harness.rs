//! Starting the server and talking to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "password-123";

pub fn docket_bin() -> &'static str {
    env!("CARGO_BIN_EXE_docket")
}

/// A running server; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub data: PathBuf,
    /// Everything the server printed to stdout before it was ready.
    pub banner: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// A new server on a fresh data directory, without plugins: tests of
    /// the core behaviour are not shaped by the default rules.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("data").join("plugins")).expect("plugins dir");
        let mut server = Server::start_in(
            &dir.path().join("data"),
            &[("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)],
        );
        server._dir = Some(dir);
        server
    }

    /// A new server on a fresh data directory, seeded with the default
    /// plugins as a real first start is, with extra environment.
    pub fn start_fresh(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all = vec![("DOCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)];
        all.extend_from_slice(env);
        let mut server = Server::start_in(&dir.path().join("data"), &all);
        server._dir = Some(dir);
        server
    }

    /// A server on `data`, with extra environment.
    pub fn start_in(data: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_logging(data, env, Stdio::inherit())
    }

    /// A server on `data` whose log (at `info`) goes to `log`.
    pub fn start_logged_to(data: &Path, env: &[(&str, &str)], log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("log file");
        let mut all = vec![("DOCKET_LOG", "info")];
        all.extend_from_slice(env);
        Server::start_logging(data, &all, Stdio::from(file))
    }

    fn start_logging(data: &Path, env: &[(&str, &str)], log: Stdio) -> Server {
        let mut command = Command::new(docket_bin());
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data)
            .env_remove("DOCKET_ADMIN_PASSWORD")
            .env("DOCKET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("docket starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut banner = Vec::new();
        let base = loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("docket did not start; it printed: {banner:?}"));
            if let Some(address) = line.strip_prefix("docket listening on ") {
                break address.trim().to_owned();
            }
            banner.push(line);
        };
        Server {
            child: Some(child),
            base,
            data: data.to_owned(),
            banner,
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the process without warning, as a crash or power cut would.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("docket did not stop within 10 seconds of SIGTERM");
    }

    /// Ties a directory the caller made to the server's life.
    pub fn keep_dir(&mut self, dir: tempfile::TempDir) {
        self._dir = Some(dir);
    }

    /// Keeps the data directory alive past the server (for restarts).
    pub fn take_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }

    pub async fn admin(&self) -> Client {
        Client::login(self, "admin", ADMIN_PASSWORD).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// An answer: status, headers and parsed JSON (or `Value::Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The length of a JSON array body.
    pub fn array_len(&self) -> usize {
        self.body
            .as_array()
            .map_or_else(|| panic!("not an array: {}", self.text), Vec::len)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with `status` and returns its detail.
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], json!(status));
        let detail = self.body["detail"].as_str().expect("a detail").to_owned();
        assert!(!detail.is_empty());
        detail
    }
}

/// An API client, optionally authenticated.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    pub fn anonymous(server: &Server) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: server.base.clone(),
            token: None,
        }
    }

    pub fn with_token(server: &Server, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..Client::anonymous(server)
        }
    }

    pub async fn login(server: &Server, username: &str, password: &str) -> Client {
        let anon = Client::anonymous(server);
        let answer = anon
            .post(
                "/api/v1/auth/login",
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(
            answer.status, 200,
            "login of {username} failed: {}",
            answer.text
        );
        Client::with_token(server, answer.body["token"].as_str().expect("token"))
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.expect("request is answered")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn post_empty(&self, path: &str) -> Answer {
        self.send(reqwest::Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Answer::from(request.send().await.expect("request is answered")).await
    }

    // Shortcuts for building fixtures.

    pub async fn create_user(&self, username: &str, role: &str) -> Value {
        let answer = self
            .post(
                "/api/v1/users",
                json!({"username": username, "password": PASSWORD, "role": role}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body
    }

    pub async fn create_channel(&self, name: &str) -> u64 {
        let answer = self.post("/api/v1/channels", json!({"name": name})).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body["id"].as_u64().expect("channel id")
    }

    pub async fn add_member(&self, channel: u64, username: &str, role: &str) {
        let answer = self
            .put(
                &format!("/api/v1/channels/{channel}/members/{username}"),
                json!({"role": role}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }

    pub async fn create_case(&self, channel: u64, subject: &str) -> u64 {
        let answer = self
            .post(
                "/api/v1/cases",
                json!({"channel": channel, "subject": subject}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.body["number"].as_u64().expect("case number")
    }
}

impl Answer {
    async fn from(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }
}

/// Two channels; `amy` agent of Support, `max` manager of Support, `bob`
/// agent of Sales, `pat` a partner in Support.
pub struct Org {
    pub server: Server,
    pub admin: Client,
    pub support: u64,
    pub sales: u64,
    pub amy: Client,
    pub max: Client,
    pub bob: Client,
    pub pat: Client,
}

impl Org {
    pub async fn new() -> Org {
        Org::on(Server::start()).await
    }

    /// The same organisation on a server started some other way.
    pub async fn on(server: Server) -> Org {
        let admin = server.admin().await;
        let support = admin.create_channel("Support").await;
        let sales = admin.create_channel("Sales").await;
        for (user, role) in [
            ("amy", "user"),
            ("max", "user"),
            ("bob", "user"),
            ("pat", "partner"),
        ] {
            admin.create_user(user, role).await;
        }
        admin.add_member(support, "amy", "agent").await;
        admin.add_member(support, "max", "manager").await;
        admin.add_member(sales, "bob", "agent").await;
        admin.add_member(support, "pat", "agent").await;
        let amy = Client::login(&server, "amy", PASSWORD).await;
        let max = Client::login(&server, "max", PASSWORD).await;
        let bob = Client::login(&server, "bob", PASSWORD).await;
        let pat = Client::login(&server, "pat", PASSWORD).await;
        Org {
            server,
            admin,
            support,
            sales,
            amy,
            max,
            bob,
            pat,
        }
    }
}

/// Runs the CLI on a data directory and returns (success, stdout, stderr).
pub fn run_cli(data: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut command = Command::new(docket_bin());
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .env("DOCKET_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("docket runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let output = child.wait_with_output().expect("docket finishes");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file below `dir`, in any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}
