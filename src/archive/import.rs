//! `docket import`: loads an NDJSON archive into a data directory in batched
//! transactions, and indexes it as it goes so the server answers at once.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;

use super::{CaseRecord, ChannelRecord, Record, UserRecord};
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, CaseDraft, Customer, Device, Priority, Source, Status};
use crate::domain::channel::{self, Channel, ChannelSettings, MemberRole};
use crate::domain::user::{self, Role, User};
use crate::domain::{RuleError, validate};
use crate::search::{BulkBuilder, SearchError, SearchIndex};
use crate::store::{Reads, Store, StoreError, Writes};

/// Case numbers share index sort keys with a timestamp in 30 bits.
const MAX_CASE_NUMBER: u64 = 1 << 30;

/// Cases per write transaction.
const BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("cannot read the archive: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
}

#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub users: u64,
    pub channels: u64,
    pub cases: u64,
    pub seconds: f64,
}

struct Importer {
    store: Store,
    channels: HashMap<String, Channel>,
    builder: Option<BulkBuilder>,
    pending: Vec<(Case, Vec<ActivityEvent>)>,
    report: ImportReport,
    /// Imported accounts get a password nobody knows: an admin sets real
    /// ones (`docket user passwd`).
    password_hash: String,
}

fn line_error(line: usize) -> impl Fn(RuleError) -> ImportError {
    move |e| ImportError::Line {
        line,
        message: e.to_string(),
    }
}

/// Imports `reader` into `store`, indexing into `index`.
pub async fn import(
    store: Store,
    index: Arc<SearchIndex>,
    reader: impl BufRead,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let txn = store.read()?;
    let fresh = txn.outbox_head()? == 0 && {
        let mut any = false;
        txn.scan_cases_desc(None, &mut |_| {
            any = true;
            false
        })?;
        !any
    };
    let channels = txn
        .channels()?
        .into_iter()
        .map(|c| (c.name.to_lowercase(), c))
        .collect();
    drop(txn);
    // Imported cases bypass the outbox: the report figures are built again
    // from the store when the server next starts.
    store
        .write(|txn| {
            use crate::store::ReportWrites;
            txn.request_report_rebuild()
        })
        .await?;
    let password_hash = crate::service::unusable_password_hash().await;
    let mut importer = Importer {
        store: store.clone(),
        channels,
        builder: if fresh {
            Some(index.bulk_builder()?)
        } else {
            None
        },
        pending: Vec::with_capacity(BATCH),
        report: ImportReport::default(),
        password_hash,
    };
    if let Err(e) = importer.load(reader).await {
        // Batches committed before the failure are in the store but not in
        // any index: rebuild it so they are found, then report the error.
        if importer.report.cases > 0 {
            drop(importer.builder.take());
            if let Err(rebuild) = crate::search::indexer::rebuild_from_store(index, store).await {
                tracing::error!(error = %rebuild, "the index could not be rebuilt after the failed import");
            }
        }
        return Err(e);
    }
    match importer.builder.take() {
        Some(builder) => {
            let seq = store.read()?.outbox_head()?;
            let index = index.clone();
            tokio::task::spawn_blocking(move || index.finish_bulk(builder, seq))
                .await
                .map_err(|e| SearchError::Index(e.to_string()))??;
        }
        None => {
            crate::search::indexer::rebuild_from_store(index, store.clone())
                .await
                .map_err(|e| SearchError::Index(e.to_string()))?;
        }
    }
    // What was imported before the first dictionary, compressed with it.
    // Only space is at stake: the server's worker finishes it otherwise.
    if let Err(e) = store.compress_stored_events().await {
        tracing::warn!(error = %e, "imported events stay uncompressed until the server compresses them");
    }
    importer.report.seconds = started.elapsed().as_secs_f64();
    Ok(importer.report)
}

impl Importer {
    async fn load(&mut self, reader: impl BufRead) -> Result<(), ImportError> {
        for (i, line) in reader.lines().enumerate() {
            let number = i + 1;
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(&line).map_err(|e| ImportError::Line {
                line: number,
                message: format!("not a valid record: {e}"),
            })?;
            self.record(record, number).await?;
        }
        self.flush().await
    }

    async fn record(&mut self, record: Record, line: usize) -> Result<(), ImportError> {
        match record {
            Record::User(user) => self.user(user, line).await,
            Record::Channel(channel) => self.channel(channel, line).await,
            Record::Case(case) => {
                let converted = self.case(*case, line)?;
                self.pending.push(converted);
                if self.pending.len() >= BATCH {
                    self.flush().await?;
                }
                Ok(())
            }
        }
    }

    async fn user(&mut self, record: UserRecord, line: usize) -> Result<(), ImportError> {
        self.flush().await?;
        let username = user::username(&record.username).map_err(line_error(line))?;
        let user = User {
            display_name: user::display_name(record.display_name.as_deref(), &username)
                .map_err(line_error(line))?,
            email: validate::optional_email("email", record.email.as_deref())
                .map_err(line_error(line))?,
            role: Role::parse("role", &record.role).map_err(line_error(line))?,
            password_hash: self.password_hash.clone(),
            created_at: chrono::Utc::now(),
            deactivated_at: None,
            second_factor: None,
            pending_second_factor: None,
            username,
        };
        let added = self
            .store
            .write(move |txn| {
                if txn.user(&user.username)?.is_some() {
                    return Ok(false);
                }
                txn.put_user(&user)?;
                Ok::<_, StoreError>(true)
            })
            .await?;
        self.report.users += u64::from(added);
        Ok(())
    }

    async fn channel(&mut self, record: ChannelRecord, line: usize) -> Result<(), ImportError> {
        self.flush().await?;
        let name = channel::channel_name(&record.name).map_err(line_error(line))?;
        let mut members = std::collections::BTreeMap::new();
        for member in &record.members {
            members.insert(
                member.username.to_lowercase(),
                MemberRole::parse("role", &member.role).map_err(line_error(line))?,
            );
        }
        let settings = ChannelSettings {
            time_tracking: record.time_tracking,
            reply_window_hours: record.reply_window_hours,
            slack_webhook_url: None,
            ..Default::default()
        }
        .validated(&[])
        .map_err(line_error(line))?;
        let email_address =
            validate::optional_email("email_address", record.email_address.as_deref())
                .map_err(line_error(line))?;
        let existing = self.channels.get(&name.to_lowercase()).cloned();
        let channel = self
            .store
            .write(move |txn| {
                let mut channel = match &existing {
                    Some(channel) => channel.clone(),
                    None => Channel {
                        id: txn.allocate_channel_id()?,
                        name: name.clone(),
                        email_address: email_address.clone(),
                        settings: settings.clone(),
                        members: Default::default(),
                        created_at: chrono::Utc::now(),
                    },
                };
                for (username, role) in &members {
                    if txn.user(username)?.is_some() {
                        channel.members.insert(username.clone(), *role);
                    }
                }
                txn.put_channel(&channel)?;
                Ok::<_, StoreError>(channel)
            })
            .await?;
        self.report.channels += 1;
        self.channels.insert(channel.name.to_lowercase(), channel);
        Ok(())
    }

    fn case(
        &self,
        record: CaseRecord,
        line: usize,
    ) -> Result<(Case, Vec<ActivityEvent>), ImportError> {
        convert_case(&self.channels, record, line)
    }

    async fn flush(&mut self) -> Result<(), ImportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = Arc::new(std::mem::take(&mut self.pending));
        let written = batch.clone();
        self.store
            .write(move |txn| {
                for (case, events) in written.iter() {
                    if txn.case(case.number)?.is_some() {
                        return Err(ImportError::Line {
                            line: 0,
                            message: format!("case #{} already exists in this data directory; nothing of its batch was imported", case.number),
                        });
                    }
                    txn.import_case(case, events)?;
                }
                Ok(())
            })
            .await?;
        if let Some(builder) = self.builder.as_mut() {
            for (case, events) in batch.iter() {
                builder.add(case, events)?;
            }
        }
        self.report.cases += batch.len() as u64;
        // A dictionary learned early compresses the rest of the import.
        if let Err(e) = self.store.train_event_dictionary_if_due().await {
            tracing::warn!(error = %e, "could not train the store's event dictionary");
        }
        Ok(())
    }
}

/// Imports the archive at `path` (or standard input for `-`).
pub async fn import_path(
    store: Store,
    index: Arc<SearchIndex>,
    path: &Path,
) -> Result<ImportReport, ImportError> {
    if path == Path::new("-") {
        let stdin = std::io::stdin();
        import(store, index, stdin.lock()).await
    } else {
        let file = std::fs::File::open(path)?;
        import(
            store,
            index,
            std::io::BufReader::with_capacity(1 << 20, file),
        )
        .await
    }
}

/// Turns a record into a case and its history, validated like any other.
fn convert_case(
    channels: &HashMap<String, Channel>,
    record: CaseRecord,
    line: usize,
) -> Result<(Case, Vec<ActivityEvent>), ImportError> {
    let err = line_error(line);
    let channel = channels
        .get(&record.channel.to_lowercase())
        .ok_or_else(|| ImportError::Line {
            line,
            message: format!(
                "the channel '{}' is not defined above this case",
                record.channel
            ),
        })?;
    let number = record
        .number
        .filter(|n| (1..MAX_CASE_NUMBER).contains(n))
        .ok_or_else(|| ImportError::Line {
            line,
            message: format!(
                "the case needs a number between 1 and {}",
                MAX_CASE_NUMBER - 1
            ),
        })?;
    let status = Status::parse("status", &record.status).map_err(&err)?;
    let draft = CaseDraft {
        subject: record.subject,
        description: record.description,
        priority: Some(Priority::parse("priority", &record.priority).map_err(&err)?),
        deadline: record.deadline,
        category: record.category,
        case_type: record.case_type,
        important: record.important,
        source: Some(Source::parse("source", &record.source).map_err(&err)?),
        customer: record.customer.map(|c| Customer {
            name: c.name,
            email: c.email,
            phone: c.phone,
            handles: c.handles,
        }),
        device: record.device.map(|d| Device {
            identifier: d.identifier,
            model: d.model,
        }),
        thread: record.thread,
        profile: Default::default(),
    };
    let creator = record.created_by.to_lowercase();
    let mut case = draft
        .into_case(number, channel.id, &creator, Source::Api, record.created_at)
        .map_err(&err)?;
    let mut events: Vec<(chrono::DateTime<chrono::Utc>, String, EventKind)> = vec![(
        record.created_at,
        creator.clone(),
        EventKind::Created {
            source: case.source,
            subject: case.subject.clone(),
        },
    )];
    for note in record.notes {
        let body =
            validate::required_text("notes.body", &note.body, crate::domain::activity::NOTE_MAX)
                .map_err(&err)?;
        events.push((
            note.at,
            note.author.to_lowercase(),
            EventKind::Note { body },
        ));
    }
    for message in record.messages {
        let direction = match message.direction.as_str() {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            other => {
                return Err(ImportError::Line {
                    line,
                    message: format!("'{other}' is not a direction; use inbound or outbound"),
                });
            }
        };
        let body = validate::required_text(
            "messages.body",
            &message.body,
            crate::domain::activity::NOTE_MAX,
        )
        .map_err(&err)?;
        let actor = match (&direction, &message.from) {
            (Direction::Outbound, Some(from)) if user::username(from).is_ok() => {
                from.to_lowercase()
            }
            _ => creator.clone(),
        };
        events.push((
            message.at,
            actor,
            EventKind::Message {
                direction,
                from: message.from,
                body,
                email: None,
                delivery: None,
            },
        ));
    }
    if let Some(assignee) = record.assignee {
        let at = record.created_at + Duration::minutes(1);
        events.push((
            at,
            assignee.to_lowercase(),
            EventKind::Assigned {
                from: None,
                to: Some(assignee.to_lowercase()),
            },
        ));
        case.assignee = Some(assignee.to_lowercase());
        case.assigned_at = Some(at);
        case.assigned_by = case.assignee.clone();
    }
    case.status = status;
    if status.is_resolved() {
        let closed_at = record.closed_at.unwrap_or(record.updated_at);
        let closer = case.assignee.clone().unwrap_or_else(|| creator.clone());
        events.push((
            closed_at,
            closer.clone(),
            EventKind::Closed { from: Status::Open },
        ));
        case.closed_at = Some(closed_at);
        case.closed_by = Some(closer.clone());
        if record.archived {
            events.push((closed_at, closer, EventKind::Archived));
            case.archived = true;
        }
    } else if status != Status::Open {
        events.push((
            record.created_at,
            creator.clone(),
            EventKind::StatusChanged {
                from: Status::Open,
                to: status,
            },
        ));
    }
    events.sort_by_key(|(at, _, _)| *at);
    let activity: Vec<ActivityEvent> = events
        .into_iter()
        .enumerate()
        .map(|(i, (at, actor, kind))| ActivityEvent {
            seq: i as u64 + 1,
            at,
            actor,
            kind,
        })
        .collect();
    case.updated_at = record.updated_at.max(record.created_at);
    case.updated_by = activity.last().map(|e| e.actor.clone()).unwrap_or(creator);
    Ok((case, activity))
}

/// Indexes an archive without storing it: bare engine indexing of the same
/// text, for `docket bench` to compare the import against.
pub fn index_only(
    archive: &Path,
    dir: &Path,
    language: crate::search::Language,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    let (index, _) = SearchIndex::open(dir, language)?;
    let mut builder = index.bulk_builder()?;
    let mut channels = HashMap::new();
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(archive)?);
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        let record: Record = serde_json::from_str(&line).map_err(|e| ImportError::Line {
            line: i + 1,
            message: format!("not a valid record: {e}"),
        })?;
        match record {
            Record::Channel(c) => {
                let channel = Channel {
                    id: channels.len() as u64 + 1,
                    name: c.name.clone(),
                    email_address: None,
                    settings: ChannelSettings::default(),
                    members: Default::default(),
                    created_at: chrono::Utc::now(),
                };
                channels.insert(c.name.to_lowercase(), channel);
            }
            Record::Case(case) => {
                let (case, activity) = convert_case(&channels, *case, i + 1)?;
                builder.add(&case, &activity)?;
            }
            Record::User(_) => {}
        }
    }
    let cases = index.finish_bulk(builder, 0)?;
    Ok(ImportReport {
        cases,
        seconds: started.elapsed().as_secs_f64(),
        ..ImportReport::default()
    })
}
