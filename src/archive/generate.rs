//! A realistic, deterministic synthetic archive: the same seed gives the same
//! archive, byte for byte.
//!
//! Shapes follow real help desks: subjects of 3–12 words; messages per case
//! log-normal with median 3 and mean about 4.3 (p99 about 25) plus a rare
//! tail of cases with thousands; bodies log-normal with median about 1.2 KB,
//! p90 about 7 KB and p99 about 30 KB, drawn from a Zipf vocabulary of
//! support language with order numbers, error codes, addresses, some
//! non-English text, quoted replies and signatures; three years of dates.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use super::prose::{self, Lexicon, Subject, Voice};
use super::vocabulary::*;
use super::{
    CaseRecord, ChannelRecord, CustomerRecord, DeviceRecord, MemberRecord, MessageRecord,
    NoteRecord, Record, UserRecord,
};
use crate::domain::Timestamp;

struct ChannelSpec {
    name: &'static str,
    email: Option<&'static str>,
    source: &'static str,
    weight: u32,
    reply_window_hours: Option<u32>,
}

const CHANNELS: &[ChannelSpec] = &[
    ChannelSpec {
        name: "Support",
        email: Some("support@example.com"),
        source: "email",
        weight: 40,
        reply_window_hours: None,
    },
    ChannelSpec {
        name: "Billing",
        email: Some("billing@example.com"),
        source: "email",
        weight: 15,
        reply_window_hours: None,
    },
    ChannelSpec {
        name: "Sales",
        email: Some("sales@example.com"),
        source: "manual",
        weight: 10,
        reply_window_hours: None,
    },
    ChannelSpec {
        name: "Instagram",
        email: None,
        source: "instagram",
        weight: 10,
        reply_window_hours: Some(24),
    },
    ChannelSpec {
        name: "Facebook",
        email: None,
        source: "facebook",
        weight: 10,
        reply_window_hours: Some(24),
    },
    ChannelSpec {
        name: "Phone",
        email: None,
        source: "phone",
        weight: 10,
        reply_window_hours: None,
    },
    ChannelSpec {
        name: "Partners",
        email: None,
        source: "partner",
        weight: 3,
        reply_window_hours: None,
    },
    ChannelSpec {
        name: "Web chat",
        email: None,
        source: "widget",
        weight: 2,
        reply_window_hours: None,
    },
];

const AGENTS: usize = 40;
const AGENTS_PER_CHANNEL: usize = 12;
const PARTNERS: usize = 3;
/// Cases that automatic intake opened name this creator.
pub const INTAKE: &str = "intake";

pub struct Generator {
    rng: ChaCha8Rng,
    lexicon: Lexicon,
    messages: LogNormal<f64>,
    body_bytes: LogNormal<f64>,
    end: Timestamp,
    next_number: u64,
    channel_weight_total: u32,
}
/// The spam topic's index in `CATEGORIES` and `TOPICS`.
fn spam_topic() -> usize {
    CATEGORIES
        .iter()
        .position(|c| *c == "spam")
        .expect("spam is a category")
}

fn agent(i: usize) -> String {
    format!("agent{:02}", i + 1)
}

/// The agents of channel `c`: a window over all agents, overlapping.
fn channel_agents(c: usize) -> Vec<String> {
    (0..AGENTS_PER_CHANNEL)
        .map(|k| agent((c * 5 + k) % AGENTS))
        .collect()
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            lexicon: Lexicon::new(),
            // Median 3, mean about 4.3, p99 about 25 once rounded.
            messages: LogNormal::new(2.7f64.ln(), 0.95).expect("valid log-normal"),
            body_bytes: LogNormal::new(1200f64.ln(), 1.376).expect("valid log-normal"),
            // A fixed end keeps archives identical whenever they are made.
            end: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .expect("a valid date"),
            next_number: 1,
            channel_weight_total: CHANNELS.iter().map(|c| c.weight).sum(),
        }
    }

    /// Users and channels, which come before any case.
    pub fn preamble(&self) -> Vec<Record> {
        let mut records = Vec::new();
        for i in 0..AGENTS {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i * 7) % LAST_NAMES.len()];
            records.push(Record::User(UserRecord {
                username: agent(i),
                display_name: Some(format!("{first} {last}")),
                email: Some(format!("{}@example.com", agent(i))),
                role: "user".into(),
            }));
        }
        for p in 0..PARTNERS {
            records.push(Record::User(UserRecord {
                username: format!("partner{}", p + 1),
                display_name: Some(format!("Partner {}", p + 1)),
                email: Some(format!("partner{}@partner.example", p + 1)),
                role: "partner".into(),
            }));
        }
        for (c, spec) in CHANNELS.iter().enumerate() {
            let mut members: Vec<MemberRecord> = channel_agents(c)
                .into_iter()
                .enumerate()
                .map(|(k, username)| MemberRecord {
                    username,
                    role: if k == 0 { "manager" } else { "agent" }.into(),
                })
                .collect();
            if spec.source == "partner" {
                members.extend((0..PARTNERS).map(|p| MemberRecord {
                    username: format!("partner{}", p + 1),
                    role: "agent".into(),
                }));
            }
            records.push(Record::Channel(ChannelRecord {
                name: spec.name.into(),
                email_address: spec.email.map(str::to_owned),
                reply_window_hours: spec.reply_window_hours,
                time_tracking: c % 2 == 0,
                members,
            }));
        }
        records
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())].clone()
    }

    /// A message of roughly `bytes` bytes in `voice`, about `subject`:
    /// a greeting, a few sentences in paragraphs, a closing; what a long
    /// message has beyond that is a pasted log.
    fn body(&mut self, subject: &Subject, voice: Voice, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 200);
        let greeting = prose::greeting(voice, subject, &mut self.rng);
        if !greeting.is_empty() {
            out.push_str(&greeting);
            out.push_str("\n\n");
        }
        let sentences = match voice {
            Voice::Customer => self.rng.random_range(4..14),
            Voice::Agent => self.rng.random_range(3..9),
            Voice::Note => self.rng.random_range(1..4),
        };
        let mut used = Vec::new();
        let mut in_paragraph = 0;
        while out.len() < bytes && used.len() < sentences {
            prose::sentence(
                voice,
                subject,
                &self.lexicon,
                &mut self.rng,
                &mut used,
                &mut out,
            );
            in_paragraph += 1;
            if in_paragraph >= self.rng.random_range(3..6) {
                out.pop();
                out.push_str("\n\n");
                in_paragraph = 0;
            }
        }
        if out.len() < bytes {
            let heading = prose::log_heading(subject, &self.lexicon, &mut self.rng);
            out.truncate(out.trim_end().len());
            out.push_str(&format!("\n\n{heading}\n\n"));
            while out.len() < bytes {
                prose::log_line(subject, &self.lexicon, &mut self.rng, &mut out);
            }
        }
        let mut out = out.trim_end().to_owned();
        let closing = prose::closing(voice, &mut self.rng);
        if !closing.is_empty() {
            out.push_str("\n\n");
            out.push_str(closing);
        }
        out
    }

    /// A few sentences, as a case's description.
    fn description(&mut self, subject: &Subject, bytes: usize) -> String {
        let mut out = String::with_capacity(bytes + 200);
        let mut used = Vec::new();
        while out.len() < bytes && used.len() < 6 {
            prose::sentence(
                Voice::Customer,
                subject,
                &self.lexicon,
                &mut self.rng,
                &mut used,
                &mut out,
            );
        }
        out.trim_end().to_owned()
    }

    fn person(&mut self) -> (String, String) {
        let first = self.pick(FIRST_NAMES);
        let last = self.pick(LAST_NAMES);
        let email = format!(
            "{}.{}{}@example.net",
            first.to_lowercase(),
            last.to_lowercase().replace(['ü', 'ö', '\''], ""),
            self.rng.random_range(1..1000)
        );
        (format!("{first} {last}"), email)
    }

    fn message_count(&mut self) -> usize {
        if self.rng.random_ratio(1, 20_000) {
            return self.rng.random_range(1000..4000);
        }
        (self.messages.sample(&mut self.rng).round() as usize).clamp(1, 300)
    }

    fn body_size(&mut self) -> usize {
        // Kept under the 100,000-character limit on a message, with room
        // for a quote and a signature.
        (self.body_bytes.sample(&mut self.rng) as usize).clamp(40, 90_000)
    }

    fn channel(&mut self) -> usize {
        let mut roll = self.rng.random_range(0..self.channel_weight_total);
        for (i, spec) in CHANNELS.iter().enumerate() {
            if roll < spec.weight {
                return i;
            }
            roll -= spec.weight;
        }
        0
    }

    pub fn next_case(&mut self) -> CaseRecord {
        let number = self.next_number;
        self.next_number += 1;
        let c = self.channel();
        let spec = &CHANNELS[c];
        let agents = channel_agents(c);
        let three_years = 3 * 365 * 24 * 3600;
        let created_at = self.end - Duration::seconds(self.rng.random_range(0..three_years));
        let (name, mut email) = self.person();
        let topic = {
            let rank =
                (self.rng.random_range(0.0f64..1.0).powi(2) * CATEGORIES.len() as f64) as usize;
            rank.min(CATEGORIES.len() - 1)
        };
        let spam = topic == spam_topic();
        if spam {
            let domain = self.pick(SPAM_DOMAINS);
            email = format!("{}@{domain}", email.split('@').next().unwrap_or("offers"));
        }

        let agent_first = {
            let helper = self.pick(&agents);
            let index = helper[5..].parse::<usize>().unwrap_or(1) - 1;
            FIRST_NAMES[index % FIRST_NAMES.len()]
        };
        let customer_first = name.split(' ').next().unwrap_or("there").to_owned();
        let about = Subject::new(
            &self.lexicon,
            topic,
            &customer_first,
            agent_first,
            &mut self.rng,
        );
        let title = about.title(&self.lexicon, &mut self.rng);
        let opening = match self.rng.random_range(0..100) {
            0..=7 if !spam => "Urgent",
            8..=15 => "Re",
            16..=19 => "Fwd",
            _ => "",
        };
        let subject = if opening.is_empty() {
            title
        } else {
            format!("{opening}: {title}")
        };
        let description_bytes = self.rng.random_range(60..400);
        let description = self.description(&about, description_bytes);

        let mut messages = Vec::new();
        let mut at = created_at;
        let mut previous: Option<String> = None;
        for i in 0..self.message_count() {
            at += Duration::seconds(self.rng.random_range(60..48 * 3600));
            let inbound = i % 2 == 0;
            let size = self.body_size();
            let voice = if inbound {
                Voice::Customer
            } else {
                Voice::Agent
            };
            let mut body = self.body(&about, voice, size);
            if let Some(prev) = previous.as_ref().filter(|_| self.rng.random_ratio(2, 5)) {
                let quoted: String = prev.chars().take(300).collect();
                body.push_str(&format!(
                    "\n\nOn {}, someone wrote:\n",
                    at.format("%Y-%m-%d")
                ));
                for line in quoted.lines() {
                    body.push_str("> ");
                    body.push_str(line);
                    body.push('\n');
                }
            }
            let from = if inbound {
                name.clone()
            } else {
                self.pick(&agents)
            };
            body.push_str(&format!("\n-- \n{from}\n"));
            previous = Some(body.clone());
            messages.push(MessageRecord {
                at,
                direction: if inbound { "inbound" } else { "outbound" }.into(),
                from: Some(from),
                body,
            });
        }

        let age_days = (self.end - created_at).num_days();
        let status = if age_days > 30 || self.rng.random_ratio(1, 4) {
            if self.rng.random_ratio(92, 100) {
                "resolved"
            } else {
                "waiting_for_customer"
            }
        } else {
            self.pick(&["open", "open", "in_progress", "waiting_for_customer"])
        };
        let resolved = status == "resolved";
        let updated_at = at;
        let closed_at =
            resolved.then(|| updated_at + Duration::seconds(self.rng.random_range(60..3600)));
        let updated_at = closed_at.unwrap_or(updated_at);
        let notes = if self.rng.random_ratio(1, 5) {
            (0..self.rng.random_range(1..=2))
                .map(|_| {
                    let size = self.rng.random_range(40..600);
                    NoteRecord {
                        at: created_at + Duration::minutes(30),
                        author: self.pick(&agents),
                        body: self.body(&about, Voice::Note, size),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut handles = BTreeMap::new();
        if matches!(spec.source, "instagram" | "facebook") {
            handles.insert(
                spec.source.to_owned(),
                format!("@{}", name.to_lowercase().replace(' ', "_")),
            );
        }
        CaseRecord {
            number: Some(number),
            channel: spec.name.into(),
            subject,
            description,
            status: status.into(),
            archived: resolved && age_days > 365 && self.rng.random_ratio(3, 5),
            priority: if opening == "Urgent" {
                self.pick(&["urgent", "high", "high", "normal"])
            } else {
                self.pick(&["low", "normal", "normal", "normal", "high", "normal", "low"])
            }
            .into(),
            category: self
                .rng
                .random_ratio(85, 100)
                .then(|| CATEGORIES[topic].to_owned()),
            case_type: self.rng.random_ratio(7, 10).then(|| {
                self.pick(&["question", "incident", "request", "complaint"])
                    .to_owned()
            }),
            important: self.rng.random_ratio(1, 20),
            source: spec.source.into(),
            assignee: self.rng.random_ratio(4, 5).then(|| self.pick(&agents)),
            created_by: if spec.source == "manual" {
                self.pick(&agents)
            } else {
                INTAKE.into()
            },
            created_at,
            updated_at,
            closed_at,
            deadline: self
                .rng
                .random_ratio(1, 10)
                .then(|| created_at + Duration::days(self.rng.random_range(1..14))),
            customer: Some(CustomerRecord {
                name: Some(name),
                email: Some(email),
                phone: self
                    .rng
                    .random_ratio(2, 5)
                    .then(|| format!("+49 30 {:07}", self.rng.random_range(0..10_000_000))),
                handles,
            }),
            device: self.rng.random_ratio(3, 10).then(|| DeviceRecord {
                identifier: Some(format!("SN-{:08}", self.rng.random_range(0..100_000_000))),
                model: Some(self.pick(DEVICE_MODELS).to_owned()),
            }),
            thread: Some(match spec.source {
                "email" => format!(
                    "<case{number}.{}@mail.example.net>",
                    self.rng.random::<u32>()
                ),
                other => format!("{other}-conversation-{number}"),
            }),
            messages,
            notes,
        }
    }
}

/// Writes an archive of `cases` cases as NDJSON.
pub fn write_archive(cases: u64, seed: u64, out: &mut impl Write) -> io::Result<()> {
    let mut generator = Generator::new(seed);
    for record in generator.preamble() {
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    for _ in 0..cases {
        let record = Record::Case(Box::new(generator.next_case()));
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_archive() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_archive(20, 7, &mut a).unwrap();
        write_archive(20, 7, &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        write_archive(20, 8, &mut c).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn shapes_are_like_real_mail() {
        let mut generator = Generator::new(1);
        let cases: Vec<CaseRecord> = (0..3000).map(|_| generator.next_case()).collect();
        // The rare tail of huge threads is left out: one in a sample this
        // size would dominate the mean.
        let mut counts: Vec<usize> = cases
            .iter()
            .map(|c| c.messages.len())
            .filter(|n| *n < 1000)
            .collect();
        counts.sort_unstable();
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert_eq!(counts[counts.len() / 2], 3, "median messages per case");
        assert!((3.7..4.9).contains(&mean), "mean messages per case {mean}");
        let p99 = counts[counts.len() * 99 / 100];
        assert!((18..=32).contains(&p99), "p99 messages per case {p99}");
        let mut sizes: Vec<usize> = cases
            .iter()
            .flat_map(|c| c.messages.iter().map(|m| m.body.len()))
            .collect();
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        let p90 = sizes[sizes.len() * 9 / 10];
        assert!((900..1800).contains(&median), "median body {median}");
        assert!((5000..10_000).contains(&p90), "p90 body {p90}");
        for case in &cases {
            let words = case.subject.split_whitespace().count();
            assert!((2..=14).contains(&words), "{}", case.subject);
        }
    }
}
