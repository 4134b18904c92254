//! Opening a case: the one way every intake (a person or partner, email,
//! Instagram and Facebook, phone calls, the chat widget) opens one. Before
//! the write, the new case is checked and admins' scripts decide its
//! category, assignee, auto-resolve and milestones (`plan_case`, off the
//! writer thread); inside the write, `open_case` allocates the number,
//! applies those decisions and stores the case with its first events.

use std::collections::HashMap;
use std::sync::Arc;

use super::categories::category_named;
use super::listing::{CaseQuery, View};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, EventKind, FieldChange};
use crate::domain::case::{Case, CaseDraft, Source};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::milestone::{self, Milestone, MilestoneSpec};
use crate::domain::profile::ProfileValues;
use crate::scripting::{CaseView, Route, ScriptHost};
use crate::store::{Reads, WriteTxn, Writes};

/// The actor recorded for what rules do.
pub const RULES_ACTOR: &str = "docket";

/// What intake decided, with the route already turned into a username.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub category: Option<String>,
    /// Who chose `category`: the rules or the AI agent.
    pub category_by: Option<crate::domain::ai::Decider>,
    /// What the AI agent said, kept on the case.
    pub ai: Option<crate::domain::ai::AiVerdict>,
    pub assignee: Option<String>,
    pub auto_resolve: bool,
    pub milestones: Vec<MilestoneSpec>,
}

/// Picks agents in turn, per channel. Kept in memory: after a restart the
/// turn starts again from the first agent, which is fair enough.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: std::sync::Mutex<HashMap<ChannelId, usize>>,
}

impl RoundRobin {
    fn pick(&self, channel: ChannelId, agents: &[String]) -> Option<String> {
        if agents.is_empty() {
            return None;
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let turn = next.entry(channel).or_insert(0);
        let agent = agents[*turn % agents.len()].clone();
        *turn = (*turn + 1) % agents.len();
        Some(agent)
    }
}

/// Open cases per assignee and channel, counted from the index at most
/// once per [`OPEN_COUNTS_FRESH_FOR`] and kept current in between by the
/// picks themselves, so a burst of new cases (a mail flood) neither counts
/// the index for each case nor sends every case to the same agent.
#[derive(Debug, Default)]
pub struct OpenCounts {
    channels: std::sync::Mutex<HashMap<ChannelId, CountedAt>>,
}

/// When a channel's open cases were counted, and the counts by assignee.
type CountedAt = (std::time::Instant, HashMap<String, u64>);

const OPEN_COUNTS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl OpenCounts {
    /// The agent with the fewest open cases (ties to the first by name),
    /// counted as theirs at once; `None` when the counts are stale.
    fn pick(&self, channel: ChannelId, agents: &[String]) -> Option<String> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let (counted_at, counts) = channels.get_mut(&channel)?;
        if counted_at.elapsed() > OPEN_COUNTS_FRESH_FOR {
            return None;
        }
        let agent = agents
            .iter()
            .min_by_key(|a| counts.get(a.as_str()).copied().unwrap_or(0))?
            .clone();
        *counts.entry(agent.clone()).or_insert(0) += 1;
        Some(agent)
    }

    fn refresh(&self, channel: ChannelId, counts: std::collections::BTreeMap<String, u64>) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.insert(
            channel,
            (std::time::Instant::now(), counts.into_iter().collect()),
        );
    }
}

/// The channel's agents: members who work cases (not partners), by name.
/// The business hours of a channel, if it keeps any.
pub(super) fn channel_calendar(
    txn: &impl Reads,
    channel: crate::domain::channel::ChannelId,
) -> ServiceResult<Option<crate::domain::calendar::Calendar>> {
    Ok(txn.channel(channel)?.and_then(|c| c.settings.calendar))
}

pub fn channel_agents(txn: &impl Reads, channel: &Channel) -> ServiceResult<Vec<String>> {
    let mut agents: Vec<String> = txn
        .users()?
        .into_iter()
        .filter(|u| channel.is_member(&u.username) && !u.is_partner() && u.is_active())
        .map(|u| u.username)
        .collect();
    agents.sort();
    Ok(agents)
}

/// A case about to be opened, with what is specific to its intake.
#[derive(Debug, Clone)]
pub(super) struct NewCase {
    pub draft: CaseDraft,
    /// The source when the draft names none.
    pub source: Source,
    /// Who opens it: a user, or an intake's actor (`mail`, `phone`...).
    pub opened_by: String,
    /// The conversation later messages are threaded by (a Message-ID, a
    /// Meta conversation, a caller's number, a chat).
    pub thread: Option<String>,
    /// Profile values, already checked against the case type's fields.
    pub profile: ProfileValues,
}

impl NewCase {
    pub fn new(draft: CaseDraft, source: Source, opened_by: &str) -> NewCase {
        NewCase {
            draft,
            source,
            opened_by: opened_by.to_owned(),
            thread: None,
            profile: ProfileValues::new(),
        }
    }

    pub fn threaded_by(mut self, thread: Option<String>) -> NewCase {
        self.thread = thread;
        self
    }

    /// The case as it would be, without a number: checks every field.
    pub fn preview(&self, channel: ChannelId) -> ServiceResult<Case> {
        Ok(self
            .draft
            .clone()
            .into_case(0, channel, &self.opened_by, self.source, now())?)
    }
}

/// A checked new case and what the intake rules decided for it.
#[derive(Debug, Clone)]
pub(super) struct PlannedCase {
    channel: ChannelId,
    new: NewCase,
    /// `None`: no rules run (mail that looked like a reply when planned).
    intake: Option<Intake>,
}

impl PlannedCase {
    /// The same decisions for another new case of the same intake (the
    /// event actually written, when rules ran on a sibling event).
    pub fn with_case(&self, new: NewCase) -> PlannedCase {
        PlannedCase {
            channel: self.channel,
            new,
            intake: self.intake.clone(),
        }
    }

    /// The same case judged spam before the rules (the sender's mail
    /// system said so): it goes to `category`, closed, unannounced.
    pub fn judged_spam(mut self, category: String) -> PlannedCase {
        let intake = self.intake.get_or_insert_with(Intake::default);
        intake.category = Some(category);
        intake.category_by = Some(crate::domain::ai::Decider::Rules);
        intake.auto_resolve = true;
        intake.assignee = None;
        self
    }

    /// The same case as history being migrated: written long ago, it has
    /// no service targets to meet (they would all be overdue at once).
    pub fn without_targets(mut self) -> PlannedCase {
        if let Some(intake) = self.intake.as_mut() {
            intake.milestones.clear();
        }
        self
    }

    /// A new case no rules are run for.
    pub fn without_rules(channel: ChannelId, new: NewCase) -> ServiceResult<PlannedCase> {
        new.preview(channel)?;
        Ok(PlannedCase {
            channel,
            new,
            intake: None,
        })
    }
}

/// One of the events a case opens with, after `created` and what the rules
/// did: its first message, a call, a chat's transcript.
pub(super) struct FirstEvent {
    pub at: Timestamp,
    pub kind: EventKind,
    /// Whether it may meet a milestone. What happened before the case
    /// existed (a chat's transcript) or is not a reply (a call) does not.
    pub meets_milestones: bool,
}

/// Opens the planned case in `txn` at `at`, the one place a case number is
/// allocated: applies the rules' decisions and stores the case once with
/// its events. `first` is given the new case (with its number, before it
/// is stored) to complete it and record what belongs to it, and returns
/// its first events, which are returned as appended.
pub(super) fn open_case(
    txn: &WriteTxn,
    plan: &PlannedCase,
    at: Timestamp,
    first: impl FnOnce(&mut Case) -> ServiceResult<Vec<FirstEvent>>,
) -> ServiceResult<(Case, Vec<ActivityEvent>)> {
    let new = &plan.new;
    let number = txn.allocate_case_number()?;
    let mut case =
        new.draft
            .clone()
            .into_case(number, plan.channel, &new.opened_by, new.source, at)?;
    if new.thread.is_some() {
        case.thread = new.thread.clone();
    }
    case.profile = new.profile.clone();
    // A priority nobody chose is the default, not a decision to learn from.
    if case.priority_by.is_none() {
        case.priority_by = Some(crate::domain::ai::Decider::Rules);
    }
    let created = EventKind::Created {
        source: case.source,
        subject: case.subject.clone(),
    };
    let rules = match &plan.intake {
        Some(intake) => apply_intake(txn, &mut case, intake, at)?,
        None => Vec::new(),
    };
    let first = first(&mut case)?;
    for event in first.iter().filter(|e| e.meets_milestones) {
        milestone::complete(&mut case, &event.kind, event.at);
    }
    txn.put_case(&case)?;
    txn.append_event(&case, &new.opened_by, at, created)?;
    for (actor, kind) in rules {
        txn.append_event(&case, actor, at, kind)?;
    }
    let mut appended = Vec::with_capacity(first.len());
    for event in first {
        appended.push(txn.append_event(&case, &new.opened_by, event.at, event.kind)?);
    }
    Ok((case, appended))
}

/// Applies what intake decided to a new case inside its transaction and
/// returns the events the rules (or the AI agent) caused, with whose.
fn apply_intake(
    txn: &WriteTxn,
    case: &mut Case,
    intake: &Intake,
    at: Timestamp,
) -> ServiceResult<Vec<(&'static str, EventKind)>> {
    let mut events = Vec::new();
    case.ai = intake.ai.clone();
    if case.category.is_some()
        && let Some(verdict) = case.ai.as_mut()
    {
        // The case came with its category: the agent applied nothing.
        verdict.applied = None;
    }
    if case.category.is_none()
        && let Some(category) = &intake.category
    {
        let name = category_named(txn, category)?
            .map(|c| c.name)
            .unwrap_or_else(|| category.clone());
        case.category = Some(name.clone());
        case.category_by = intake.category_by;
        let by = match intake.category_by {
            Some(crate::domain::ai::Decider::Ai) => super::ai::AI_ACTOR,
            _ => RULES_ACTOR,
        };
        events.push((
            by,
            EventKind::FieldsChanged {
                changes: vec![FieldChange {
                    field: "category".into(),
                    before: None,
                    after: Some(name),
                }],
            },
        ));
    }
    let flagged = match &case.category {
        Some(name) => category_named(txn, name)?.is_some_and(|c| c.auto_resolve),
        None => false,
    };
    if intake.auto_resolve || flagged {
        // Closed by whoever chose the category that closes it.
        let by = match (intake.auto_resolve, case.category_by) {
            (false, Some(crate::domain::ai::Decider::Ai)) => super::ai::AI_ACTOR,
            _ => RULES_ACTOR,
        };
        let from = case.close(by, at)?;
        case.auto_resolved = true;
        events.push((by, EventKind::Closed { from }));
        return Ok(events);
    }
    if case.assignee.is_none()
        && let Some(assignee) = &intake.assignee
        && let Some(from) = case.assign(Some(assignee.clone()), RULES_ACTOR, at)?
    {
        events.push((
            RULES_ACTOR,
            EventKind::Assigned {
                from,
                to: Some(assignee.clone()),
            },
        ));
    }
    let calendar = channel_calendar(txn, case.channel)?;
    case.milestones = intake
        .milestones
        .iter()
        .cloned()
        .map(|spec| Milestone::from_spec(spec, case.created_at, calendar.as_ref()))
        .collect();
    for m in &case.milestones {
        txn.add_milestone_due(m.due_at.timestamp().max(0) as u64, case.number)?;
    }
    Ok(events)
}

impl Service {
    /// Uses `host` for intake decisions, profiles and milestones.
    pub fn with_scripts(mut self, host: Arc<ScriptHost>) -> Service {
        self.scripts = Some(host);
        self
    }

    /// Checks a case about to be opened in `channel` and runs the intake
    /// rules on it. The caller has checked that the case may be opened
    /// there: scripts never run for a request that would be refused.
    pub(super) async fn plan_case(
        &self,
        channel: &Channel,
        new: NewCase,
    ) -> ServiceResult<PlannedCase> {
        let intake = self.intake(&new.preview(channel.id)?, channel).await?;
        Ok(PlannedCase {
            channel: channel.id,
            new,
            intake: Some(intake),
        })
    }

    /// As [`Service::plan_case`] for intakes that prove who they are by a
    /// signature or a session rather than a user: the channel is loaded
    /// here, and a missing one is reported as such.
    pub(super) async fn plan_case_in(
        &self,
        channel: ChannelId,
        new: NewCase,
    ) -> ServiceResult<PlannedCase> {
        let found = self.store.read()?.channel(channel)?;
        let found =
            found.ok_or_else(|| ServiceError::NotFound(format!("channel {channel} not found")))?;
        self.plan_case(&found, new).await
    }

    /// Runs the intake hooks for a case about to be opened in `channel`
    /// and turns a routing strategy into an agent. Scripts run off the
    /// async workers; without scripts nothing is decided.
    async fn intake(&self, preview: &Case, channel: &Channel) -> ServiceResult<Intake> {
        let agent = self.ai_agent();
        let host = self.scripts.clone();
        if host.is_none() && agent.is_none() {
            return Ok(Intake::default());
        }
        let (agents, categories) = {
            let txn = self.store.read()?;
            (channel_agents(&txn, channel)?, txn.categories()?)
        };
        let view = CaseView::new(preview, channel, agents.clone(), None);
        let doc = super::ai::document_of(preview, &channel.name, None);
        let spam_category = self.config.ai.spam_category.clone();
        // The agent decides first, so that the rules can see and overrule it.
        let (mut ai, decisions) = tokio::task::spawn_blocking(move || {
            let verdict = agent
                .and_then(|a| a.predict(&doc))
                .map(|p| super::ai::verdict(&p, &spam_category, &categories));
            let decisions = host
                .map(|h| h.intake(&view, verdict.as_ref()))
                .unwrap_or_default();
            (verdict, decisions)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("the rules were interrupted: {e}")))?;
        let (category, category_by) = match decisions.category {
            Some(category) => {
                // The rules decided: the agent's choice stays a suggestion.
                if let Some(verdict) = ai.as_mut() {
                    verdict.applied = None;
                }
                (Some(category), Some(crate::domain::ai::Decider::Rules))
            }
            None => match ai.as_ref().and_then(|v| v.applied.clone()) {
                Some(category) => (Some(category), Some(crate::domain::ai::Decider::Ai)),
                None => (None, None),
            },
        };
        let assignee = match decisions.route {
            None => None,
            Some(Route::User(name)) => Some(name),
            Some(Route::RoundRobin) => self.round_robin.pick(channel.id, &agents),
            Some(Route::LeastOpenCases) => self.least_open_agent(channel, &agents).await,
        };
        Ok(Intake {
            category,
            category_by,
            ai,
            assignee,
            auto_resolve: decisions.auto_resolve,
            milestones: decisions.milestones,
        })
    }

    /// The agent with the fewest unresolved cases in the channel (ties go
    /// to the first by name); round robin while the search index is not
    /// ready to count.
    async fn least_open_agent(&self, channel: &Channel, agents: &[String]) -> Option<String> {
        if agents.is_empty() {
            return None;
        }
        if let Some(agent) = self.open_counts.pick(channel.id, agents) {
            return Some(agent);
        }
        let query = CaseQuery {
            view: View::Open,
            channels: vec![channel.id],
            facets: true,
            limit: Some(1),
            ..CaseQuery::default()
        };
        let counts = match self.list_cases(&Service::operator(), &query).await {
            Ok(page) => page.facets.map(|f| f.assignee).unwrap_or_default(),
            Err(_) => return self.round_robin.pick(channel.id, agents),
        };
        self.open_counts.refresh(channel.id, counts);
        self.open_counts.pick(channel.id, agents)
    }
}
