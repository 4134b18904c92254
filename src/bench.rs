//! `docket bench`: sizes a machine for Docket as pgbench does for
//! PostgreSQL. It generates an archive, imports it, starts the real server
//! on loopback and measures writes, freshness and a fixed query mix over
//! HTTP, beside the same queries on the bare index in-process.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use crate::search::{Engine, Filters, Scope, SearchRequest, Sort, SortKey};
use crate::store::Store;

const PASSWORD: &str = "bench-admin-password";

pub struct BenchOptions {
    pub cases: u64,
    pub seed: u64,
    pub data: Option<PathBuf>,
    pub json: bool,
}

/// One measured figure, with its target when the issue sets one.
#[derive(Debug, Clone, Serialize)]
struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    target: Option<String>,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
}

impl Report {
    fn add(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: None,
            met: None,
        });
    }

    /// A figure that should be at most `limit`.
    fn at_most(&mut self, name: impl Into<String>, value: f64, unit: &'static str, limit: f64) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: Some(format!("≤ {limit}")),
            met: Some(value <= limit),
        });
    }

    /// A figure that should be at least `limit`.
    fn at_least(&mut self, name: impl Into<String>, value: f64, unit: &'static str, limit: f64) {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit,
            target: Some(format!("≥ {limit}")),
            met: Some(value >= limit),
        });
    }

    fn print(&self, json: bool) {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&self.figures).unwrap_or_default()
            );
            return;
        }
        println!(
            "{:<58} {:>12} {:<6} {:>10}",
            "figure", "measured", "unit", "target"
        );
        for f in &self.figures {
            let mark = match f.met {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "",
            };
            let value = if f.value >= 100.0 {
                format!("{:.0}", f.value)
            } else {
                format!("{:.3}", f.value)
            };
            println!(
                "{:<58} {:>12} {:<6} {:>10} {}",
                f.name,
                value,
                f.unit,
                f.target.as_deref().unwrap_or(""),
                mark
            );
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Latency percentiles in milliseconds.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        millis(sorted[rank.min(sorted.len() - 1)])
    }
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// The server under test, stopped when dropped.
struct ServerProcess {
    child: Child,
    base: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    fn start(data: &Path) -> Result<(ServerProcess, Duration), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut child = Command::new(exe)
            .args(["serve", "--bind", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("DOCKET_ADMIN_PASSWORD", PASSWORD)
            .env("DOCKET_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(address) = line.strip_prefix("docket listening on ") {
                        break address.trim().to_owned();
                    }
                }
                _ => return Err("the server exited before it was ready".into()),
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok((ServerProcess { child, base }, started.elapsed()))
    }

    /// Resident memory now and at its peak, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(self.http.get(format!("{}{path}", self.base)), path)
            .await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(request, path).await
    }

    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value, String> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(request, path).await
    }

    /// Sends with the token; a non-2xx answer is an error naming `path`.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<Value, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{path}: {status}: {body}"))
        }
    }
}

/// A query of the mix: its name, the API query string, and the same query
/// for the bare index (text and filters) where one applies.
type MixEntry = (&'static str, String, Option<(&'static str, Filters)>);

/// The fixed query mix.
fn query_mix() -> Vec<MixEntry> {
    let all = Filters {
        archived: Some(false),
        ..Filters::default()
    };
    let filtered = Filters {
        archived: Some(false),
        statuses: vec![crate::domain::case::Status::Resolved],
        channels: vec![1],
        priority: Some(crate::domain::case::Priority::High),
        ..Filters::default()
    };
    vec![
        (
            "one term",
            "view=all&q=refund".into(),
            Some(("refund", all.clone())),
        ),
        (
            "two terms",
            "view=all&q=printer%20jam".into(),
            Some(("printer jam", all.clone())),
        ),
        (
            "phrase",
            "view=all&q=%22tracking%20number%22".into(),
            Some(("\"tracking number\"", all.clone())),
        ),
        (
            "OR",
            "view=all&q=refund%20OR%20chargeback".into(),
            Some(("refund OR chargeback", all.clone())),
        ),
        (
            "term with filters",
            "view=all&q=refund&status=resolved&channel=1&priority=high".into(),
            Some(("refund", filtered)),
        ),
        ("filter-only first page", "view=open&channel=1".into(), None),
    ]
}

async fn timed_get(api: &Api, query: &str) -> Result<Duration, String> {
    let started = Instant::now();
    api.get(&format!("/api/v1/cases?limit=25&facets=false&{query}"))
        .await?;
    Ok(started.elapsed())
}

async fn measure_http(api: &Api, query: &str, rounds: usize) -> Result<Latencies, String> {
    timed_get(api, query).await?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        samples.push(timed_get(api, query).await?);
    }
    Ok(Latencies(samples))
}

/// Requests per second with `workers` running the query `total` times.
async fn throughput(
    api: Arc<Api>,
    query: String,
    workers: usize,
    total: usize,
) -> Result<f64, String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let api = api.clone();
        let query = query.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..total / workers {
                timed_get(&api, &query).await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn bare_latencies(
    engine: &Engine,
    text: &str,
    filters: &Filters,
    rounds: usize,
) -> Result<Latencies, String> {
    let parsed = crate::search::syntax::parse(text).map_err(|e| e.to_string())?;
    let lookup = |_: &str| None;
    let request = SearchRequest {
        query: Some(&parsed),
        scope: Scope::Everything,
        filters: filters.clone(),
        sort: Sort {
            key: SortKey::Relevance,
            descending: true,
        },
        limit: 25,
        cursor: None,
        facets: false,
        me: "bench",
        channel_lookup: &lookup,
        staff: true,
    };
    engine.search(&request).map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        engine.search(&request).map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
    }
    Ok(Latencies(samples))
}

/// Runs the intake hooks of the default plugins on `count` generated
/// cases, in-process, and times each intake (categorize, route,
/// auto_resolve and milestones together).
fn intake_hook_latencies(seed: u64, count: usize) -> Result<Latencies, String> {
    use crate::scripting::{CaseView, DEFAULT_PLUGINS, ScriptHost};
    let dir = std::env::temp_dir().join(format!("docket-bench-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (name, text) in DEFAULT_PLUGINS {
        std::fs::write(dir.join(name), text).map_err(|e| e.to_string())?;
    }
    let host = ScriptHost::new(&dir, &crate::config::ScriptingConfig::default());
    host.reload();
    let _ = std::fs::remove_dir_all(&dir);
    let agents: Vec<String> = (1..=12).map(|i| format!("agent{i:02}")).collect();
    let mut generator = crate::archive::generate::Generator::new(seed);
    let mut samples = Vec::with_capacity(count);
    for number in 1..=count as u64 {
        let record = generator.next_case();
        let body = record
            .messages
            .iter()
            .find(|m| m.direction == "inbound")
            .map_or(record.description.clone(), |m| m.body.clone());
        let view = CaseView {
            number,
            subject: record.subject,
            description: record.description,
            body,
            channel: record.channel,
            channel_id: 1,
            source: record.source,
            priority: record.priority,
            status: "open".into(),
            case_type: record.case_type,
            category: None,
            important: record.important,
            customer_name: record.customer.as_ref().and_then(|c| c.name.clone()),
            customer_email: record.customer.as_ref().and_then(|c| c.email.clone()),
            customer_phone: None,
            created_at: record.created_at.timestamp(),
            profile: Default::default(),
            agents: agents.clone(),
        };
        let started = Instant::now();
        std::hint::black_box(host.intake(&view));
        samples.push(started.elapsed());
    }
    let failures = host.recent_failures();
    if let Some(failure) = failures.first() {
        return Err(format!(
            "a default plugin failed in the bench: {}",
            failure.error
        ));
    }
    Ok(Latencies(samples))
}

/// Downloads an export of up to `count` cases while sampling the server's
/// resident memory; returns the rows, the seconds and the growth in MiB.
async fn export_cases(
    api: &Api,
    server: &ServerProcess,
    count: usize,
) -> Result<(usize, f64, f64), String> {
    let before = server.memory().0;
    let started = Instant::now();
    let request = api
        .http
        .get(format!(
            "{}/api/v1/cases/export.xlsx?view=all&sort=number&limit={count}",
            api.base
        ))
        .bearer_auth(&api.token)
        .send();
    tokio::pin!(request);
    let mut peak = before;
    let response = loop {
        tokio::select! {
            response = &mut request => break response.map_err(|e| e.to_string())?,
            _ = tokio::time::sleep(Duration::from_millis(50)) => peak = peak.max(server.memory().0),
        }
    };
    if !response.status().is_success() {
        return Err(format!("the export failed: {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    peak = peak.max(server.memory().0);
    if bytes.len() < 4 || &bytes[..2] != b"PK" {
        return Err("the export is not an xlsx file".into());
    }
    let listed = api.get("/api/v1/cases?view=all&limit=1").await?;
    let total = listed["total"].as_u64().unwrap_or(0) as usize;
    Ok((total.min(count), seconds, peak - before))
}

/// A realistic inbound message: a person's name and address, a subject,
/// a few paragraphs of text, every tenth with a small PDF attached, every
/// third a reply to an earlier one. `marker` makes it findable.
fn bench_mail(i: usize, seed: u64, marker: &str) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9));
    let words = [
        "printer",
        "refund",
        "invoice",
        "delivery",
        "tracking",
        "broken",
        "screen",
        "battery",
        "account",
        "password",
        "order",
        "warranty",
        "replacement",
        "cable",
        "update",
        "error",
    ];
    let mut paragraph = || {
        (0..40)
            .map(|_| words[rng.random_range(0..words.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body = format!(
        "Hello,\r\n\r\n{}\r\n\r\n{}\r\n\r\n{marker}\r\nRegards\r\n",
        paragraph(),
        paragraph()
    );
    let reply = if i % 3 == 2 {
        format!("In-Reply-To: <bench{seed}.{}@mail.example>\r\n", i - 2)
    } else {
        String::new()
    };
    let head = format!(
        "From: Customer {i} <customer{i}@mail.example>\r\nTo: support@desk.example\r\n\
         Subject: Question {i} about my order\r\nMessage-ID: <bench{seed}.{i}@mail.example>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n{reply}MIME-Version: 1.0\r\n"
    );
    if i.is_multiple_of(10) {
        format!(
            "{head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
             --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"receipt-{i}.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK\r\n--b--\r\n"
        )
        .into_bytes()
    } else {
        format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").into_bytes()
    }
}

/// Delivers `count` messages through the mail pipe endpoint with 16 in
/// flight and waits until the last is findable: messages per second from
/// the first request to the last message searchable, and the
/// acknowledgement latencies.
async fn mail_intake(
    api: &Arc<Api>,
    channel: u64,
    count: usize,
    seed: u64,
) -> Result<(f64, Latencies), String> {
    let marker = move |i: usize| format!("mailbench{seed}x{i}");
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let api = api.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(latencies);
                }
                let raw = bench_mail(i, seed, &marker(i));
                let sent = Instant::now();
                api.post_raw(
                    &format!("/api/v1/channels/{channel}/mail"),
                    "message/rfc822",
                    raw,
                )
                .await?;
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    wait_until_findable(api, &marker(count - 1), &started).await?;
    Ok((
        count as f64 / started.elapsed().as_secs_f64(),
        Latencies(latencies),
    ))
}

/// Delivers `count` signed Instagram messages to Meta's webhook endpoint
/// (a third of them follow-ups in an existing conversation), 16 in flight,
/// and waits until the last is searchable: events per second, and the
/// acknowledgement latencies.
async fn social_intake(
    api: &Arc<Api>,
    channel: u64,
    count: usize,
    seed: u64,
) -> Result<(f64, Latencies), String> {
    let secret = format!("bench-secret-{seed}");
    api.send(
        api.http
            .patch(format!("{}/api/v1/channels/{channel}", api.base))
            .json(&json!({"settings": {"integrations": {"meta": {
                "app_secret": secret, "verify_token": "bench", "page_access_token": "bench"}}}})),
        "/api/v1/channels",
    )
    .await?;
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (api, next, secret) = (api.clone(), next.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, String>(latencies);
                }
                let sender = if i % 3 == 2 { i - 2 } else { i };
                let body = json!({"object": "instagram", "entry": [{"id": "bench-page", "time": 1,
                    "messaging": [{"sender": {"id": format!("IGSID{seed}x{sender}")},
                                   "recipient": {"id": "bench-page"}, "timestamp": 1_700_000_000_000_i64,
                                   "message": {"mid": format!("m{seed}x{i}"),
                                               "text": format!("Where is order {i}? socialbench{seed}x{i}")}}]}]})
                .to_string();
                let signature = crate::channels::meta::sign(&secret, body.as_bytes());
                let sent = Instant::now();
                let response = api
                    .http
                    .post(format!("{}/hooks/meta/{channel}", api.base))
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("the webhook answered {}", response.status()));
                }
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    wait_until_findable(api, &format!("socialbench{seed}x{}", count - 1), &started).await?;
    Ok((
        count as f64 / started.elapsed().as_secs_f64(),
        Latencies(latencies),
    ))
}

/// Waits until `word` finds exactly one case, at most two minutes from
/// `started`.
async fn wait_until_findable(api: &Api, word: &str, started: &Instant) -> Result<(), String> {
    loop {
        let found = api
            .get(&format!("/api/v1/cases?view=all&facets=false&q={word}"))
            .await?;
        if found["total"].as_u64() == Some(1) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!("{word} was not findable within 120 s"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Collects up to `count` open cases and closes them with one bulk
/// request; returns how many were closed and how long the request took.
async fn bulk_close(api: &Api, count: usize) -> Result<(usize, f64), String> {
    let mut numbers = Vec::with_capacity(count);
    let mut cursor: Option<String> = None;
    while numbers.len() < count {
        let mut path = "/api/v1/cases?view=open&sort=number&limit=200&facets=false".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.get(&path).await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        numbers.extend(items.iter().filter_map(|i| i["number"].as_u64()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    numbers.truncate(count);
    let started = Instant::now();
    let answer = api
        .post(
            "/api/v1/cases/bulk",
            json!({"numbers": numbers, "action": "close"}),
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let closed = answer["succeeded"].as_array().map_or(0, Vec::len);
    Ok((closed, seconds))
}

pub async fn run(options: BenchOptions) -> Result<(), String> {
    let mut report = Report::default();
    let keep = options.data.is_some();
    let data = options.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("docket-bench-{}", std::process::id()))
    });
    let language = crate::search::Language::English;
    let log = |message: &str| {
        if !options.json {
            eprintln!("bench: {message}");
        }
    };

    // 0. What the default plugins cost a case at intake.
    log("timing the default plugins at intake");
    let hooks = intake_hook_latencies(options.seed, 2_000)?;
    report.add(
        "default plugins per intake: p50",
        hooks.percentile(50.0),
        "ms",
    );
    report.at_most(
        "default plugins per intake: p99",
        hooks.percentile(99.0),
        "ms",
        1.0,
    );

    // 1. Generate and import.
    let has_data = data.join(crate::store::DB_FILE).exists();
    if has_data {
        log(&format!("using the existing archive in {}", data.display()));
    } else {
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let archive = data.with_extension("ndjson");
        log(&format!("generating {} cases", options.cases));
        let started = Instant::now();
        {
            let file = std::fs::File::create(&archive).map_err(|e| e.to_string())?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            crate::archive::generate::write_archive(options.cases, options.seed, &mut out)
                .map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
        report.add("generate archive", started.elapsed().as_secs_f64(), "s");
        report.add("archive size", dir_size(&archive) as f64 / 1e6, "MB");

        log("importing");
        let store = Store::open(&data).map_err(|e| e.to_string())?;
        let (index, _) = crate::search::SearchIndex::open(&data.join("index"), language)
            .map_err(|e| e.to_string())?;
        let imported = crate::archive::import::import_path(store, Arc::new(index), &archive)
            .await
            .map_err(|e| e.to_string())?;
        let import_rate = imported.cases as f64 / imported.seconds;
        report.at_least("import incl. indexing", import_rate, "case/s", 3000.0);

        log(&format!(
            "indexing the same archive with bare {}",
            crate::search::ENGINE
        ));
        let bare_dir = data.with_extension("bare-index");
        let bare = crate::archive::import::index_only(&archive, &bare_dir, language)
            .map_err(|e| e.to_string())?;
        let bare_rate = bare.cases as f64 / bare.seconds;
        report.add(
            format!("bare {} indexing", crate::search::ENGINE),
            bare_rate,
            "case/s",
        );
        report.at_least(
            "import rate / bare indexing rate",
            import_rate / bare_rate,
            "ratio",
            0.5,
        );
        let _ = std::fs::remove_dir_all(&bare_dir);
        let _ = std::fs::remove_file(&archive);
    }
    report.add(
        "store size on disk",
        dir_size(&data.join(crate::store::DB_FILE)) as f64 / 1e6,
        "MB",
    );
    report.add(
        "index size on disk",
        dir_size(&data.join("index")) as f64 / 1e6,
        "MB",
    );

    // 2. Start the server on the archive.
    log("starting the server");
    let (server, startup) = ServerProcess::start(&data)?;
    report.at_most(
        "start-up on the existing data dir",
        startup.as_secs_f64(),
        "s",
        2.0,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let login: Value = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = login["token"]
        .as_str()
        .ok_or("the bench admin could not log in (was the archive made by an earlier bench?)")?;
    let api = Arc::new(Api {
        http,
        base: server.base.clone(),
        token: token.to_owned(),
    });
    // The first search proves the index was opened, not rebuilt.
    api.get("/api/v1/cases?q=refund&limit=1")
        .await
        .map_err(|e| format!("the index was not ready at start: {e}"))?;

    // 3. Queries.
    log("measuring queries");
    let engine =
        Engine::open_read_only(&data.join("index"), language).map_err(|e| e.to_string())?;
    let rounds = 200;
    for (name, query, bare) in query_mix() {
        let http = measure_http(&api, &query, rounds).await?;
        let (p50_limit, p99_limit) = if matches!(name, "phrase" | "OR") {
            (10.0, 60.0)
        } else {
            (3.0, 25.0)
        };
        report.at_most(
            format!("{name}: p50, c=1"),
            http.percentile(50.0),
            "ms",
            p50_limit,
        );
        report.add(format!("{name}: p95, c=1"), http.percentile(95.0), "ms");
        report.at_most(
            format!("{name}: p99, c=1"),
            http.percentile(99.0),
            "ms",
            p99_limit,
        );
        if let Some((text, filters)) = bare {
            let direct = bare_latencies(&engine, text, &filters, rounds)?;
            report.add(
                format!("{name}: bare {} p50", crate::search::ENGINE),
                direct.percentile(50.0),
                "ms",
            );
            let overhead = (http.percentile(50.0) - direct.percentile(50.0)) * 1000.0;
            report.at_most(
                format!("{name}: API overhead at p50"),
                overhead,
                "µs",
                300.0,
            );
        }
    }
    for quick in crate::service::QuickFilter::ALL {
        let http = measure_http(&api, &format!("quick={}", quick.as_str()), 50).await?;
        report.add(
            format!("quick={}: p50", quick.as_str()),
            http.percentile(50.0),
            "ms",
        );
        report.add(
            format!("quick={}: p99", quick.as_str()),
            http.percentile(99.0),
            "ms",
        );
    }
    let mut facet_samples = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        api.get("/api/v1/cases?view=all&limit=25&facets=true")
            .await?;
        facet_samples.push(started.elapsed());
    }
    let facets = Latencies(facet_samples);
    report.add(
        "facet counts (all cases): p50",
        facets.percentile(50.0),
        "ms",
    );
    report.add(
        "facet counts (all cases): p99",
        facets.percentile(99.0),
        "ms",
    );
    let mut cursor: Option<String> = None;
    let mut deep = Duration::ZERO;
    for _ in 0..20 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/cases?view=all&limit=25&facets=false&cursor={c}"),
            None => "/api/v1/cases?view=all&limit=25&facets=false".to_owned(),
        };
        let started = Instant::now();
        let page = api.get(&path).await?;
        deep = started.elapsed();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    report.add("deep page (20th) by cursor", millis(deep), "ms");
    let qps1 = throughput(api.clone(), "view=all&q=refund".into(), 1, 400).await?;
    report.add("one term: throughput, c=1", qps1, "q/s");
    let qps8 = throughput(api.clone(), "view=all&q=refund".into(), 8, 2000).await?;
    report.at_least("one term: throughput, c=8", qps8, "q/s", 1000.0);

    // 4. Durable writes and freshness.
    log("measuring writes");
    let channel = 1;
    let mut creates = Vec::new();
    for i in 0..300 {
        let started = Instant::now();
        api.post(
            "/api/v1/cases",
            json!({"channel": channel, "subject": format!("bench serial create {i}")}),
        )
        .await?;
        creates.push(started.elapsed());
    }
    let creates = Latencies(creates);
    report.at_most(
        "durable create: p50, serial",
        creates.percentile(50.0),
        "ms",
        2.0,
    );
    report.add(
        "durable create: p99, serial",
        creates.percentile(99.0),
        "ms",
    );
    let started = Instant::now();
    let total = 3200;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..total / 16 {
                api.post("/api/v1/cases", json!({"channel": channel, "subject": format!("bench parallel create {w}-{i}")}))
                    .await?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    report.at_least(
        "durable creates, c=16",
        total as f64 / started.elapsed().as_secs_f64(),
        "create/s",
        2000.0,
    );
    let mut fresh = Vec::new();
    for i in 0..50 {
        let word = format!("freshword{}x{i}", options.seed);
        let started = Instant::now();
        api.post(
            "/api/v1/cases",
            json!({"channel": channel, "subject": format!("Freshness probe {word}")}),
        )
        .await?;
        loop {
            let found = api
                .get(&format!("/api/v1/cases?view=all&facets=false&q={word}"))
                .await?;
            if found["total"].as_u64() == Some(1) {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!("{word} was not findable within 10 s"));
            }
        }
        fresh.push(started.elapsed());
    }
    let fresh = Latencies(fresh);
    report.at_most(
        "freshness, write to findable: p99",
        fresh.percentile(99.0) / 1000.0,
        "s",
        1.0,
    );

    // 5. An export of up to 100,000 cases, watching the server's memory.
    log("exporting cases to xlsx");
    let (rows, seconds, growth) = export_cases(&api, &server, 100_000).await?;
    report.add("export: cases", rows as f64, "cases");
    report.at_most("export of 100,000 cases to xlsx", seconds, "s", 5.0);
    report.at_most(
        "server memory growth during the export",
        growth,
        "MiB",
        200.0,
    );

    // 6. A bulk close of up to 10,000 open cases through the API.
    log("closing open cases in bulk");
    let (closed, seconds) = bulk_close(&api, 10_000).await?;
    report.add("bulk close: cases", closed as f64, "cases");
    report.at_most("bulk close of 10,000 cases", seconds, "s", 10.0);

    // 7. Mail intake: raw messages through the MTA pipe endpoint, parsed,
    // stored and indexed.
    log("taking in mail");
    let (rate, acks) = mail_intake(&api, channel, 5_000, options.seed).await?;
    report.at_least(
        "mail intake through the pipe, to searchable",
        rate,
        "msg/s",
        500.0,
    );
    report.add(
        "mail intake: acknowledgement p50, c=16",
        acks.percentile(50.0),
        "ms",
    );
    report.add(
        "mail intake: acknowledgement p99, c=16",
        acks.percentile(99.0),
        "ms",
    );

    // 8. Signed webhook events (Instagram messages) through to stored and
    // searchable.
    log("taking in webhook events");
    let (rate, acks) = social_intake(&api, channel, 5_000, options.seed).await?;
    report.at_least(
        "webhook events, signed to searchable",
        rate,
        "events/s",
        1000.0,
    );
    report.add(
        "webhook acknowledgement p50, c=16",
        acks.percentile(50.0),
        "ms",
    );
    report.at_most(
        "webhook acknowledgement p99, c=16",
        acks.percentile(99.0),
        "ms",
        20.0,
    );

    let (rss, peak) = server.memory();
    report.add("server memory now (RSS)", rss, "MiB");
    report.at_most("server peak memory (RSS high-water)", peak, "MiB", 1024.0);
    drop(server);
    if !keep {
        let _ = std::fs::remove_dir_all(&data);
    }
    report.print(options.json);
    Ok(())
}
