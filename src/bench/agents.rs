//! What agents do, measured: searches by how common their words are (rare,
//! medium, common, very common, picked from the index by document
//! frequency) and by kind, as an administrator and as an agent who sees
//! three of the eight channels, each beside the bare engine on the same
//! query; the inbox as an agent opens it; fifty agents with inboxes open
//! while cases change.

use super::*;
use crate::domain::case::Status;

/// The frequency bands, as shares of all cases.
const BANDS: &[(&str, f64, f64)] = &[
    ("rare", 0.0, 0.0001),
    ("medium", 0.003, 0.008),
    ("common", 0.03, 0.08),
    ("very common", 0.30, 1.0),
];

/// The channels the bench agent works in (of the generator's eight):
/// Billing, Instagram and Phone.
pub(super) const AGENT_CHANNELS: [u64; 3] = [2, 4, 6];
pub(super) const AGENT: &str = "bench-agent";

/// Creates the bench agent in its three channels and signs it in.
pub(super) async fn agent_api(admin: &Api) -> Result<Arc<Api>, String> {
    let created = admin
        .http
        .post(format!("{}/api/v1/users", admin.base))
        .bearer_auth(&admin.token)
        .json(&json!({"username": AGENT, "password": PASSWORD, "role": "user"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    // An earlier run on the same data may have made it already.
    if !created.status().is_success() && created.status().as_u16() != 409 {
        return Err(format!("the bench agent was refused: {}", created.status()));
    }
    for channel in AGENT_CHANNELS {
        let answer = admin
            .http
            .put(format!(
                "{}/api/v1/channels/{channel}/members/{AGENT}",
                admin.base
            ))
            .bearer_auth(&admin.token)
            .json(&json!({"role": "agent"}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!(
                "the bench agent's channel {channel}: {}",
                answer.status()
            ));
        }
    }
    Ok(Arc::new(
        Api::sign_in(admin.http.clone(), &admin.base, AGENT).await?,
    ))
}

/// Two words of a band and a phrase that occurs in the archive.
struct BandWords {
    name: &'static str,
    first: String,
    second: String,
    share: f64,
    phrase: Option<String>,
}

/// The band's words, and a phrase found by reading where the first word
/// occurs: the word and the one after it.
fn band_words(engine: &Engine) -> Result<Vec<BandWords>, String> {
    // A small archive has no word in 0.01 % of cases: rare is then a word
    // in one or two.
    let fewest = 2.0 / engine.num_docs().max(1) as f64;
    let bounds: Vec<(f64, f64)> = BANDS
        .iter()
        .map(|(name, low, high)| {
            (
                *low,
                if *name == "rare" {
                    high.max(fewest)
                } else {
                    *high
                },
            )
        })
        .collect();
    let picked = engine
        .words_by_share(&bounds, 2)
        .map_err(|e| e.to_string())?;
    let mut bands = Vec::new();
    for ((name, ..), words) in BANDS.iter().zip(picked) {
        let [first, second] = <[(String, f64); 2]>::try_from(words)
            .map_err(|_| format!("no two words in the {name} band of this archive"))?;
        let (first_typed, phrase) = as_written(engine, &first.0);
        let (second_typed, _) = as_written(engine, &second.0);
        bands.push(BandWords {
            name,
            phrase,
            first: first_typed,
            second: second_typed,
            share: first.1,
        });
    }
    Ok(bands)
}

/// An indexed word as people write it (the index keeps stems), read where
/// it occurs, with a phrase of it and the word after it.
fn as_written(engine: &Engine, stem: &str) -> (String, Option<String>) {
    let Ok(parsed) = crate::search::syntax::parse(stem) else {
        return (stem.to_owned(), None);
    };
    let lookup = |_: &str| None;
    let request = bare_request(&parsed, &Scope::Everything, view_all(), &lookup);
    let Ok(hits) = engine.search(&request) else {
        return (stem.to_owned(), None);
    };
    let mut written = None;
    for source in &hits.sources {
        let lower = source.text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        // The word itself, or the stem with a few letters stemming took
        // off ("deliveri" for "delivery"), not a longer word it begins.
        let Some(at) = words
            .iter()
            .position(|w| w.starts_with(stem) && w.len() <= stem.len() + 3)
        else {
            continue;
        };
        written.get_or_insert_with(|| words[at].to_owned());
        if let Some(next) = words.get(at + 1).filter(|next| next.len() >= 2) {
            return (words[at].to_owned(), Some(format!("{} {next}", words[at])));
        }
    }
    (written.unwrap_or_else(|| stem.to_owned()), None)
}

fn view_all() -> Filters {
    Filters {
        archived: Some(false),
        deleted: Some(false),
        ..Filters::default()
    }
}

/// A query kind: its name, the words as typed, and the extra API
/// filters and bare filters it carries.
struct Kind {
    name: &'static str,
    text: String,
    filtered: bool,
}

fn kinds(band: &BandWords) -> Vec<Kind> {
    let prefix: String = {
        let letters = band.first.chars().count();
        band.first
            .chars()
            .take(if letters > 5 { 4 } else { 3 })
            .collect()
    };
    let mut kinds = vec![
        Kind {
            name: "term",
            text: band.first.clone(),
            filtered: false,
        },
        Kind {
            name: "two terms",
            text: format!("{} {}", band.first, band.second),
            filtered: false,
        },
        Kind {
            name: "OR",
            text: format!("{} OR {}", band.first, band.second),
            filtered: false,
        },
        Kind {
            name: "prefix",
            text: format!("{prefix}*"),
            filtered: false,
        },
        Kind {
            name: "term + filters",
            text: band.first.clone(),
            filtered: true,
        },
    ];
    if let Some(phrase) = &band.phrase {
        kinds.push(Kind {
            name: "phrase",
            text: format!("\"{phrase}\""),
            filtered: false,
        });
    }
    kinds
}

/// p50 and p99 targets of a kind (the table), doubled for the
/// very common band.
fn targets(kind: &str, band: &str) -> (Option<f64>, Option<f64>) {
    let (p50, p99) = match kind {
        "term" => (Some(3.0), Some(25.0)),
        "two terms" | "term + filters" => (Some(3.0), None),
        "phrase" => (Some(10.0), Some(60.0)),
        "OR" => (Some(10.0), None),
        _ => (None, None),
    };
    let factor = if band == "very common" { 2.0 } else { 1.0 };
    (p50.map(|t| t * factor), p99.map(|t| t * factor))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Every band and kind, as the administrator and as the agent.
pub(super) async fn bands(
    engine: &Engine,
    admin: &Api,
    agent: &Api,
    report: &mut Report,
) -> Result<(), String> {
    let rounds = 60;
    for band in band_words(engine)? {
        report.add(
            format!(
                "{} band: '{}' in {:.3} % of cases{}",
                band.name,
                band.first,
                band.share * 100.0,
                band.phrase
                    .as_ref()
                    .map(|p| format!(", phrase \"{p}\""))
                    .unwrap_or_default()
            ),
            band.share * 100.0,
            "%",
        );
        for kind in kinds(&band) {
            for (who, api, scope) in [
                ("admin", admin, Scope::Everything),
                (
                    "agent",
                    agent,
                    Scope::Channels {
                        channels: AGENT_CHANNELS.to_vec(),
                        creator: None,
                    },
                ),
            ] {
                let mut query = format!("view=all&q={}", encode(&kind.text));
                let mut filters = view_all();
                if kind.filtered {
                    let channel = AGENT_CHANNELS[0];
                    query.push_str(&format!("&status=resolved&channel={channel}"));
                    filters.statuses = vec![Status::Resolved];
                    filters.channels = vec![channel];
                }
                let http = measure_http(api, &query, rounds).await?;
                let bare = bare_latencies(engine, &kind.text, &scope, &filters, rounds)?;
                let name = format!("{} {} ({who})", band.name, kind.name);
                let (p50_target, p99_target) = targets(kind.name, band.name);
                match p50_target {
                    Some(target) => {
                        report.at_most(format!("{name}: p50"), http.percentile(50.0), "ms", target)
                    }
                    None => report.add(format!("{name}: p50"), http.percentile(50.0), "ms"),
                }
                match p99_target {
                    Some(target) => {
                        report.at_most(format!("{name}: p99"), http.percentile(99.0), "ms", target)
                    }
                    None => report.add(format!("{name}: p99"), http.percentile(99.0), "ms"),
                }
                report.add(
                    format!("{name}: bare {} p50", crate::search::ENGINE),
                    bare.percentile(50.0),
                    "ms",
                );
                report.at_most(
                    format!("{name}: API overhead at p50"),
                    (http.percentile(50.0) - bare.percentile(50.0)) * 1000.0,
                    "µs",
                    300.0,
                );
            }
        }
    }
    Ok(())
}

/// The inbox as an agent opens it: the open cases' first page, the
/// sidebar's counts by status, channel, category and assignee, and the
/// count of every quick filter, as the inbox page asks for them.
pub(super) async fn open_inbox(api: &Api) -> Result<Duration, String> {
    let started = Instant::now();
    api.get("/api/v1/cases?view=open&limit=25&facets=false")
        .await?;
    api.get("/api/v1/cases?view=open&limit=1&facets=true")
        .await?;
    api.get("/api/v1/cases?view=open&limit=1&facets=false")
        .await?;
    for quick in crate::service::QuickFilter::ALL {
        api.get(&format!(
            "/api/v1/cases?view=open&limit=1&facets=false&quick={}",
            quick.as_str()
        ))
        .await?;
    }
    Ok(started.elapsed())
}

/// The server's CPU time so far (user and system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 12th and 13th of them.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Linux reports clock ticks of 1/100 s on every common platform.
    (ticks(11) + ticks(12)) / 100.0
}

/// Fifty agents keep an inbox open, each reloading it (list and counts)
/// whenever the live feed says a case changed, while cases change ten
/// times a second for `seconds`: the server's CPU time per change and how
/// long a reload takes.
pub(super) async fn busy_desk(
    admin: &Arc<Api>,
    agent: &Arc<Api>,
    server: &ServerProcess,
    seconds: u64,
) -> Result<(f64, Latencies, usize), String> {
    const AGENTS: usize = 50;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut watchers = Vec::new();
    for _ in 0..AGENTS {
        let agent = agent.clone();
        let stop = stop.clone();
        watchers.push(tokio::spawn(async move {
            let mut feed = agent
                .http
                .get(format!("{}/api/v1/events", agent.base))
                .bearer_auth(&agent.token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !feed.status().is_success() {
                return Err(format!("the live feed answered {}", feed.status()));
            }
            let mut reloads = Vec::new();
            let is_event = |chunk: &[u8]| chunk.windows(5).any(|w| w == b"data:");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let chunk = tokio::time::timeout(Duration::from_millis(500), feed.chunk()).await;
                let Ok(chunk) = chunk else { continue };
                let Some(chunk) = chunk.map_err(|e| e.to_string())? else {
                    break;
                };
                if !is_event(&chunk) {
                    continue;
                }
                // As an open page does: changes that came in together
                // bring one reload.
                while let Ok(Ok(Some(_))) =
                    tokio::time::timeout(Duration::from_millis(1), feed.chunk()).await
                {
                }
                reloads.push(open_inbox(&agent).await?);
            }
            Ok::<_, String>(reloads)
        }));
    }
    // Cases of the agent's channels change: a note each, ten a second.
    let changing = change_cases(admin, server, seconds).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reloads = Vec::new();
    for watcher in watchers {
        reloads.extend(watcher.await.map_err(|e| e.to_string())??);
    }
    let (cpu, changes) = changing?;
    Ok((cpu / changes as f64 * 1000.0, Latencies(reloads), changes))
}

/// Adds a note to open cases of the agent's first channel ten times a
/// second for `seconds`: the server's CPU seconds meanwhile and the count.
async fn change_cases(
    admin: &Api,
    server: &ServerProcess,
    seconds: u64,
) -> Result<(f64, usize), String> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_before = cpu_seconds(server.child.id());
    let listed = admin
        .get(&format!(
            "/api/v1/cases?view=open&limit=50&facets=false&channel={}",
            AGENT_CHANNELS[0]
        ))
        .await?;
    let numbers: Vec<u64> = listed["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|c| c["number"].as_u64()).collect())
        .unwrap_or_default();
    if numbers.is_empty() {
        return Err("the agent's channels have no open cases to change".into());
    }
    let changes = (seconds * 10) as usize;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for i in 0..changes {
        tick.tick().await;
        let number = numbers[i % numbers.len()];
        admin
            .post(
                &format!("/api/v1/cases/{number}/notes"),
                json!({"body": format!("bench change {i}")}),
            )
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok((cpu_seconds(server.child.id()) - cpu_before, changes))
}
