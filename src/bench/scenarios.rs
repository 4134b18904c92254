//! What the bench measures beside plain queries: the query mix, the bare
//! engine in-process, intake hooks, exports, mail and social intake, bulk
//! actions.

use super::*;

/// A query of the mix: its name, the API query string, and the same query
/// for the bare index (text and filters) where one applies.
pub(super) type MixEntry = (&'static str, String, Option<(&'static str, Filters)>);

/// The fixed query mix.
pub(super) fn query_mix() -> Vec<MixEntry> {
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
            "phrase of common words",
            "view=all&q=%22of%20the%22".into(),
            Some(("\"of the\"", all.clone())),
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
/// A search on the bare index as the bench makes it: relevance, a page of
/// 25, as staff.
pub(super) fn bare_request<'a>(
    parsed: &'a crate::search::ParsedQuery,
    scope: &Scope,
    filters: Filters,
    lookup: &'a dyn Fn(&str) -> Option<u64>,
) -> SearchRequest<'a> {
    SearchRequest {
        query: Some(parsed),
        scope: scope.clone(),
        filters,
        sort: Sort {
            key: SortKey::Relevance,
            descending: true,
        },
        limit: 25,
        cursor: None,
        facets: false,
        me: "bench",
        channel_lookup: lookup,
        staff: true,
    }
}

/// `text` searched on the bare index `rounds` times (after one to warm up).
pub(super) fn bare_latencies(
    engine: &Engine,
    text: &str,
    scope: &Scope,
    filters: &Filters,
    rounds: usize,
) -> Result<Latencies, String> {
    let parsed = crate::search::syntax::parse(text).map_err(|e| e.to_string())?;
    let lookup = |_: &str| None;
    let request = bare_request(&parsed, scope, filters.clone(), &lookup);
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
pub(super) fn intake_hook_latencies(seed: u64, count: usize) -> Result<Latencies, String> {
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
        std::hint::black_box(host.intake(&view, None));
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
pub(super) async fn export_cases(
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
pub(super) fn bench_mail(i: usize, seed: u64, marker: &str) -> Vec<u8> {
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
pub(super) async fn mail_intake(
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
pub(super) async fn social_intake(
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
pub(super) async fn wait_until_findable(
    api: &Api,
    word: &str,
    started: &Instant,
) -> Result<(), String> {
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
pub(super) async fn bulk_close(api: &Api, count: usize) -> Result<(usize, f64), String> {
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

/// The AI agent on the archive's categories: reading the labelled cases,
/// their terms, the fit, held-out figures and the cost of one prediction.
pub(super) async fn ai_figures(data: &Path, report: &mut Report) -> Result<(), String> {
    use crate::ai::{Featurizer, Models, is_held_out, terms_of};
    let config = crate::config::FileConfig::default()
        .resolve(Some(data.to_owned()), None)
        .map_err(|e| e.to_string())?;
    let store = Store::open(data).map_err(|e| e.to_string())?;
    let service = crate::service::Service::new(store, Arc::new(config));
    let started = Instant::now();
    let cases = service.ai_labelled_cases().map_err(|e| e.to_string())?;
    let read = started.elapsed();
    let analyzer = crate::search::Analyzer::new(crate::search::Language::English);
    let started = Instant::now();
    let terms = terms_of(&cases, &analyzer);
    let tokenize = started.elapsed();
    let started = Instant::now();
    let models =
        Models::train_on_terms(&cases, &terms, chrono::Utc::now()).map_err(|e| e.to_string())?;
    let fit = started.elapsed();
    let n = cases.len().max(1) as f64;
    report.add("AI: labelled cases learned from", n, "cases");
    report.add("AI: reading them from the store", read.as_secs_f64(), "s");
    report.add(
        "AI: their terms (the search analyser)",
        tokenize.as_secs_f64(),
        "s",
    );
    report.add(
        format!(
            "AI: vocabulary and naive Bayes fit (bare {})",
            crate::ai::ENGINE
        ),
        fit.as_secs_f64(),
        "s",
    );
    report.at_most(
        "AI: training, scaled to 100,000 labelled cases",
        (read + tokenize + fit).as_secs_f64() * 100_000.0 / n,
        "s",
        60.0,
    );
    if let Some(category) = models.category_report() {
        report.at_least(
            "AI: held-out category accuracy",
            f64::from(category.accuracy().unwrap_or(0.0)) * 100.0,
            "%",
            90.0,
        );
    }
    if let Some(spam) = models.spam_report() {
        let scores = spam.held_out.scores();
        let recall = |label: &str| {
            scores
                .iter()
                .find(|s| s.label == label)
                .and_then(|s| s.recall)
                .map_or(0.0, f64::from)
        };
        report.at_least(
            "AI: held-out spam recall",
            recall("spam") * 100.0,
            "%",
            95.0,
        );
        report.at_most(
            "AI: held-out cases not spam taken for spam",
            (1.0 - recall("ham")) * 100.0,
            "%",
            1.0,
        );
    }
    let mut featurizer = Featurizer::new(analyzer);
    let mut samples = Vec::new();
    for case in cases.iter().filter(|c| is_held_out(c.number)).take(2_000) {
        let started = Instant::now();
        std::hint::black_box(models.predict(&mut featurizer, &case.doc));
        samples.push(started.elapsed());
    }
    let predictions = Latencies(samples);
    report.add(
        "AI: prediction per intake: p50",
        predictions.percentile(50.0),
        "ms",
    );
    report.at_most(
        "AI: prediction per intake: p99",
        predictions.percentile(99.0),
        "ms",
        1.0,
    );
    // The same through the service, which also stores what it learned (so
    // the server starts with it rather than learning while measured).
    let outcome = service.train_ai(None).await.map_err(|e| e.to_string())?;
    report.at_most(
        "AI: training through the service incl. storing, per 100,000 cases",
        outcome.seconds * 100_000.0 / n,
        "s",
        60.0,
    );
    Ok(())
}
