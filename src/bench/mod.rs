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

mod agents;
mod client;
mod report;
mod scenarios;
mod server;

use client::*;
use report::*;
use scenarios::*;
use server::*;

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
        let archive_bytes = dir_size(&archive) as f64;
        report.add("archive size", archive_bytes / 1e6, "MB");

        log("importing");
        let store = Store::open(&data).map_err(|e| e.to_string())?;
        let (index, _) = crate::search::SearchIndex::open(&data.join("index"), language)
            .map_err(|e| e.to_string())?;
        let imported = crate::archive::import::import_path(store, Arc::new(index), &archive)
            .await
            .map_err(|e| e.to_string())?;
        let import_rate = imported.cases as f64 / imported.seconds;
        report.at_least("import incl. indexing", import_rate, "case/s", 3000.0);

        log("building the report figures");
        let store = Store::open(&data).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let cases = crate::service::reports::rebuild_reports(&store, chrono_tz::UTC)
            .await
            .map_err(|e| e.to_string())?;
        report.add(
            "report figures built from the store",
            cases as f64 / started.elapsed().as_secs_f64(),
            "case/s",
        );
        let held = store.allocated_bytes().await.map_err(|e| e.to_string())? as f64;
        report.add("store: pages holding records", held / 1e6, "MB");
        report.at_most(
            "store: pages holding records / archive size",
            held / archive_bytes,
            "ratio",
            0.5,
        );
        drop(store);

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

    // 1b. The AI agent, learning from the archive's categories (offline,
    // before the server takes the data directory).
    log("training the AI agent on the archive");
    ai_figures(&data, &mut report).await?;

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
    let api = Arc::new(
        Api::sign_in(http, &server.base, "admin")
            .await
            .map_err(|e| format!("{e} (was the archive made by an earlier bench?)"))?,
    );
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
        let (p50_limit, p99_limit) = if matches!(name, "phrase" | "phrase of common words" | "OR") {
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
            let direct = bare_latencies(&engine, text, &Scope::Everything, &filters, rounds)?;
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
    report_figures(&api, &mut report).await?;
    let qps1 = throughput(api.clone(), "view=all&q=refund".into(), 1, 400).await?;
    report.add("one term: throughput, c=1", qps1, "q/s");
    let qps8 = throughput(api.clone(), "view=all&q=refund".into(), 8, 2000).await?;
    report.at_least("one term: throughput, c=8", qps8, "q/s", 1000.0);
    let qps32 = throughput(api.clone(), "view=all&q=refund".into(), 32, 3200).await?;
    report.add("one term: throughput, c=32", qps32, "q/s");

    // 3b. What agents do: words by how common they are, as an admin and as
    // an agent of three channels; the inbox as the agent opens it; fifty
    // inboxes open while cases change.
    log("measuring searches by word frequency, as an admin and as an agent");
    let agent = agents::agent_api(&api).await?;
    agents::bands(&engine, &api, &agent, &mut report).await?;
    let mut inbox = Vec::new();
    for _ in 0..30 {
        inbox.push(agents::open_inbox(&agent).await?);
    }
    let inbox = Latencies(inbox);
    report.at_most(
        "inbox as an agent opens it (list and every count): p50",
        inbox.percentile(50.0),
        "ms",
        25.0,
    );
    report.add(
        "inbox as an agent opens it: p99",
        inbox.percentile(99.0),
        "ms",
    );
    log("fifty agents with inboxes open while cases change ten times a second");
    let (cpu_per_change, reloads, changes) = agents::busy_desk(&api, &agent, &server, 10).await?;
    report.add("busy desk: changes", changes as f64, "changes");
    report.add("busy desk: server CPU per change", cpu_per_change, "ms");
    report.add(
        "busy desk: inbox reloads",
        reloads.0.len() as f64,
        "reloads",
    );
    report.add(
        "busy desk: inbox reload p50",
        reloads.percentile(50.0),
        "ms",
    );
    report.add(
        "busy desk: inbox reload p99",
        reloads.percentile(99.0),
        "ms",
    );

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
    let (anonymous, file_backed) = server.memory_kinds();
    report.at_most("server memory now: anonymous", anonymous, "MiB", 512.0);
    report.add(
        "server memory now: file-backed (index, store)",
        file_backed,
        "MiB",
    );
    drop(server);
    if !keep {
        let _ = std::fs::remove_dir_all(&data);
    }
    report.print(options.json);
    Ok(())
}

/// A report over the archive's last year, over HTTP, once the server has
/// the figures (built with the import, or from an earlier run's store).
async fn report_figures(api: &Api, report: &mut Report) -> Result<(), String> {
    // The generator's archives end on 1 November 2026.
    let year = "/api/v1/reports?from=2025-11-01&to=2026-10-31";
    let waiting = Instant::now();
    loop {
        let answer = api.get(year).await?;
        if answer["building"] == json!(false) {
            break;
        }
        if waiting.elapsed() > Duration::from_secs(3600) {
            return Err("the report figures were not built within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut samples = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        api.get(year).await?;
        samples.push(started.elapsed());
    }
    let latencies = Latencies(samples);
    report.at_most(
        "one-year report: p50",
        latencies.percentile(50.0),
        "ms",
        1000.0,
    );
    report.add("one-year report: p99", latencies.percentile(99.0), "ms");
    // Narrowed by an agent, a report reads every slice of the year.
    let one_agent = format!("{year}&agent=agent01");
    let mut samples = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        api.get(&one_agent).await?;
        samples.push(started.elapsed());
    }
    let latencies = Latencies(samples);
    report.at_most(
        "one-year report, one agent: p50",
        latencies.percentile(50.0),
        "ms",
        1000.0,
    );
    Ok(())
}
