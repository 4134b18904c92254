//! What admins' scripts decide, applied: intake (category, assignee,
//! auto-resolve, milestones), case profiles, milestone escalation, and the
//! categories scripts and people choose from.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::WriteTxn;

use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{EventKind, FieldChange};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::category::{self, Category};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::milestone::{self, Milestone, MilestoneSpec, MilestoneState};
use crate::domain::profile::{self, ProfileField, ProfileValues};
use crate::domain::user::User;
use crate::scripting::{CaseView, Route, ScriptHost};
use crate::store::{Reads, Writes};

use super::listing::{CaseQuery, View};

/// The actor recorded for what rules do.
pub const RULES_ACTOR: &str = "docket";

/// What intake decided, with the route already turned into a username.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub category: Option<String>,
    pub assignee: Option<String>,
    pub auto_resolve: bool,
    pub milestones: Vec<MilestoneSpec>,
}

/// What the rules would decide for a stored case, beside what it has.
pub struct ReplayRow {
    pub number: CaseNumber,
    pub subject: String,
    pub stored_category: Option<String>,
    pub category: Option<String>,
    pub stored_assignee: Option<String>,
    /// A username or the strategy that would pick one.
    pub route: Option<String>,
    pub stored_auto_resolved: bool,
    pub auto_resolve: bool,
    pub stored_milestones: Vec<String>,
    /// Name and due time.
    pub milestones: Vec<(String, Timestamp)>,
}

/// A milestone nearing or past its due time, for managers.
#[derive(Debug, Clone)]
pub struct LoomingMilestone {
    pub case: Case,
    pub channel: String,
    pub milestone: Milestone,
    pub state: MilestoneState,
}

/// The most rows the managers' view shows.
const LOOMING_MAX: usize = 500;

/// The state of the plugin host, for admins.
pub struct PluginReport {
    pub dir: String,
    pub plugins: Vec<crate::scripting::PluginStatus>,
    pub hooks: Vec<crate::scripting::HookFigures>,
    pub failures: Vec<crate::scripting::Failure>,
}

/// A milestone as the API shows it.
#[derive(Debug, Clone)]
pub struct MilestoneView {
    pub milestone: Milestone,
    pub state: MilestoneState,
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
pub fn channel_agents(txn: &impl Reads, channel: &Channel) -> ServiceResult<Vec<String>> {
    let mut agents: Vec<String> = txn
        .users()?
        .into_iter()
        .filter(|u| channel.is_member(&u.username) && !u.is_partner())
        .map(|u| u.username)
        .collect();
    agents.sort();
    Ok(agents)
}

/// Finds a category by name, ignoring case.
fn category_named(txn: &impl Reads, name: &str) -> ServiceResult<Option<Category>> {
    if let Some(found) = txn.category(name)? {
        return Ok(Some(found));
    }
    Ok(txn
        .categories()?
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name)))
}

/// Field changes between two sets of profile values, for the activity.
fn profile_changes(before: &ProfileValues, after: &ProfileValues) -> Vec<FieldChange> {
    let show = |v: Option<&serde_json::Value>| {
        v.map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| FieldChange {
            field: format!("profile.{n}"),
            before: show(before.get(n)),
            after: show(after.get(n)),
        })
        .collect()
}

/// Applies what intake decided to a new case inside its transaction and
/// returns the events the rules caused.
pub fn apply_intake(
    txn: &WriteTxn,
    case: &mut Case,
    intake: &Intake,
    at: Timestamp,
) -> ServiceResult<Vec<EventKind>> {
    let mut events = Vec::new();
    if case.category.is_none()
        && let Some(category) = &intake.category
    {
        let name = category_named(txn, category)?
            .map(|c| c.name)
            .unwrap_or_else(|| category.clone());
        case.category = Some(name.clone());
        events.push(EventKind::FieldsChanged {
            changes: vec![FieldChange {
                field: "category".into(),
                before: None,
                after: Some(name),
            }],
        });
    }
    let flagged = match &case.category {
        Some(name) => category_named(txn, name)?.is_some_and(|c| c.auto_resolve),
        None => false,
    };
    if intake.auto_resolve || flagged {
        let from = case.close(RULES_ACTOR, at)?;
        case.auto_resolved = true;
        events.push(EventKind::Closed { from });
        return Ok(events);
    }
    if case.assignee.is_none()
        && let Some(assignee) = &intake.assignee
        && let Some(from) = case.assign(Some(assignee.clone()), RULES_ACTOR, at)?
    {
        events.push(EventKind::Assigned {
            from,
            to: Some(assignee.clone()),
        });
    }
    case.milestones = intake
        .milestones
        .iter()
        .cloned()
        .map(|spec| Milestone::from_spec(spec, case.created_at))
        .collect();
    for m in &case.milestones {
        txn.add_milestone_due(m.due_at.timestamp().max(0) as u64, case.number)?;
    }
    Ok(events)
}

/// Replaces a case's milestones with a new plan (its priority or type
/// changed). Completed milestones stay as they were, planned or not; one
/// whose due time moved may escalate again at the new time.
pub fn replan_milestones(
    txn: &WriteTxn,
    case: &mut Case,
    specs: &[MilestoneSpec],
) -> ServiceResult<()> {
    let previous = std::mem::take(&mut case.milestones);
    for spec in specs {
        let mut milestone = Milestone::from_spec(spec.clone(), case.created_at);
        if let Some(before) = previous.iter().find(|m| m.name == milestone.name) {
            if before.completed_at.is_some() {
                case.milestones.push(before.clone());
                continue;
            }
            if before.due_at == milestone.due_at {
                milestone.escalated_at = before.escalated_at;
            }
        }
        txn.add_milestone_due(milestone.due_at.timestamp().max(0) as u64, case.number)?;
        case.milestones.push(milestone);
    }
    for done in previous.into_iter().filter(|m| m.completed_at.is_some()) {
        if !case.milestones.iter().any(|m| m.name == done.name) {
            case.milestones.push(done);
        }
    }
    Ok(())
}

impl Service {
    /// The milestone plan for a case as it will be after `edit`, when the
    /// edit touches what policies look at (priority, type) and the case is
    /// still open. Scripts run here, before the write, off the workers.
    pub(super) async fn replanned_milestones(
        &self,
        actor: &User,
        number: CaseNumber,
        edit: &crate::domain::case::CaseEdit,
    ) -> ServiceResult<Option<Vec<MilestoneSpec>>> {
        let Some(host) = self.scripts.clone() else {
            return Ok(None);
        };
        if edit.priority.is_none() && edit.case_type.is_none() {
            return Ok(None);
        }
        let (mut case, channel) = self.get_case_with_channel(actor, number)?;
        if case.status.is_resolved() || case.auto_resolved {
            return Ok(None);
        }
        if case
            .apply_edit(edit.clone(), &actor.username, now())
            .is_err()
        {
            // The write reports what is wrong with the edit.
            return Ok(None);
        }
        let agents = channel_agents(&self.store.read()?, &channel)?;
        let view = CaseView::new(&case, &channel, agents, None);
        let specs = tokio::task::spawn_blocking(move || host.milestones(&view))
            .await
            .map_err(|e| ServiceError::BadRequest(format!("the rules were interrupted: {e}")))?;
        Ok(specs)
    }

    /// Uses `host` for intake decisions, profiles and milestones.
    pub fn with_scripts(mut self, host: Arc<ScriptHost>) -> Service {
        self.scripts = Some(host);
        self
    }

    /// Runs the intake hooks for a case about to be opened in `channel`
    /// and turns a routing strategy into an agent. Scripts run off the
    /// async workers; without scripts nothing is decided.
    pub(super) async fn intake(&self, preview: &Case, channel: ChannelId) -> ServiceResult<Intake> {
        let Some(host) = self.scripts.clone() else {
            return Ok(Intake::default());
        };
        let (channel, agents) = {
            let txn = self.store.read()?;
            let Some(channel) = txn.channel(channel)? else {
                return Ok(Intake::default());
            };
            let agents = channel_agents(&txn, &channel)?;
            (channel, agents)
        };
        let view = CaseView::new(preview, &channel, agents.clone(), None);
        let decisions = tokio::task::spawn_blocking(move || host.intake(&view))
            .await
            .map_err(|e| ServiceError::BadRequest(format!("the rules were interrupted: {e}")))?;
        let assignee = match decisions.route {
            None => None,
            Some(Route::User(name)) => Some(name),
            Some(Route::RoundRobin) => self.round_robin.pick(channel.id, &agents),
            Some(Route::LeastOpenCases) => self.least_open_agent(&channel, &agents).await,
        };
        Ok(Intake {
            category: decisions.category,
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

    /// The profile fields of a case type, if a plugin declares one.
    pub fn profile_fields(&self, case_type: Option<&str>) -> Vec<ProfileField> {
        match (case_type, &self.scripts) {
            (Some(case_type), Some(host)) => host.profile_for(case_type).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Checks profile values for a case of `case_type` against what
    /// plugins declare; every refused value is reported.
    pub(super) fn checked_profile(
        &self,
        case_type: Option<&str>,
        current: &ProfileValues,
        changes: &ProfileValues,
    ) -> ServiceResult<ProfileValues> {
        let fields = self.profile_fields(case_type);
        profile::apply(&fields, current, changes).map_err(ServiceError::InvalidFields)
    }

    /// Applies a profile change (and a type change's new profile) to a case
    /// in a transaction; returns the field changes to record.
    pub(super) fn apply_profile(
        fields: &[ProfileField],
        case: &mut Case,
        changes: &ProfileValues,
    ) -> ServiceResult<Vec<FieldChange>> {
        let merged =
            profile::apply(fields, &case.profile, changes).map_err(ServiceError::InvalidFields)?;
        let recorded = profile_changes(&case.profile, &merged);
        case.profile = merged;
        Ok(recorded)
    }

    /// Milestones still to be met that are overdue or due within `within`
    /// hours, across the channels the actor manages (all for
    /// administrators), soonest first.
    pub fn looming_milestones(
        &self,
        actor: &User,
        within_hours: u32,
    ) -> ServiceResult<Vec<LoomingMilestone>> {
        let txn = self.store.read()?;
        let channels: HashMap<ChannelId, Channel> = txn
            .channels()?
            .into_iter()
            .filter(|c| crate::domain::access::can_manage_channel(actor, c))
            .map(|c| (c.id, c))
            .collect();
        if channels.is_empty() && !actor.is_admin() {
            return Err(ServiceError::Forbidden(
                "the milestones overview is for channel managers and administrators".into(),
            ));
        }
        let at = now();
        let until = at + chrono::Duration::hours(i64::from(within_hours));
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::new();
        let mut failure = None;
        txn.visit_open_milestones(until.timestamp().max(0) as u64, &mut |_, number| {
            if !seen.insert(number) {
                return true;
            }
            let case = match txn.case(number) {
                Ok(Some(case)) => case,
                Ok(None) => return true,
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            };
            let Some(channel) = channels.get(&case.channel) else {
                return true;
            };
            for m in &case.milestones {
                if m.completed_at.is_none() && m.due_at <= until {
                    rows.push(LoomingMilestone {
                        case: case.clone(),
                        channel: channel.name.clone(),
                        milestone: m.clone(),
                        state: m.state(at),
                    });
                }
            }
            rows.len() < LOOMING_MAX
        })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        rows.sort_by_key(|r| (r.milestone.due_at, r.case.number));
        Ok(rows)
    }

    /// A case's milestones with their state now.
    pub fn milestones(
        &self,
        actor: &User,
        number: CaseNumber,
    ) -> ServiceResult<Vec<MilestoneView>> {
        let case = self.get_case(actor, number)?;
        let at = now();
        Ok(case
            .milestones
            .into_iter()
            .map(|m| MilestoneView {
                state: m.state(at),
                milestone: m,
            })
            .collect())
    }

    /// Escalates every milestone overdue at `at` that was not escalated
    /// yet: an event on the case (which notifies). Returns how many.
    pub async fn escalate_overdue(&self, at: Timestamp) -> ServiceResult<usize> {
        let due = self
            .store
            .read()?
            .milestones_due(at.timestamp().max(0) as u64, 256)?;
        let mut escalated = 0;
        for (due_at, number) in due {
            escalated += self
                .store
                .write(move |txn| {
                    txn.remove_milestone_due(due_at, number)?;
                    let Some(mut case) = txn.case(number)? else {
                        return Ok::<usize, ServiceError>(0);
                    };
                    let names = milestone::due_for_escalation(&case, at);
                    if names.is_empty() {
                        return Ok(0);
                    }
                    for m in &mut case.milestones {
                        if names.contains(&m.name) && m.escalated_at.is_none() {
                            m.escalated_at = Some(at);
                        }
                    }
                    txn.put_case(&case)?;
                    for name in &names {
                        txn.append_event(
                            &case,
                            RULES_ACTOR,
                            at,
                            EventKind::Escalated {
                                milestone: name.clone(),
                            },
                        )?;
                    }
                    Ok(names.len())
                })
                .await?;
        }
        Ok(escalated)
    }

    /// Runs `host`'s intake hooks on the newest `limit` cases without
    /// changing anything, for `docket check-plugins --replay`.
    pub fn replay_rules(&self, host: &ScriptHost, limit: usize) -> ServiceResult<Vec<ReplayRow>> {
        let txn = self.store.read()?;
        let channels: HashMap<ChannelId, Channel> =
            txn.channels()?.into_iter().map(|c| (c.id, c)).collect();
        let mut cases = Vec::new();
        txn.scan_cases_desc(None, &mut |case| {
            cases.push(case);
            cases.len() < limit
        })?;
        let mut rows = Vec::with_capacity(cases.len());
        for case in cases {
            let Some(channel) = channels.get(&case.channel) else {
                continue;
            };
            let mut first_message = None;
            txn.visit_activity(case.number, &mut |event| {
                if let EventKind::Message {
                    direction: crate::domain::activity::Direction::Inbound,
                    body,
                    ..
                } = event.kind
                {
                    first_message = Some(body);
                    return false;
                }
                true
            })?;
            let mut view = CaseView::new(
                &case,
                channel,
                channel_agents(&txn, channel)?,
                first_message.as_deref(),
            );
            // Ask categorize afresh: the stored category is what to compare.
            view.category = None;
            let decided = host.intake(&view);
            rows.push(ReplayRow {
                number: case.number,
                subject: case.subject.clone(),
                stored_category: case.category.clone(),
                category: decided.category,
                stored_assignee: case.assignee.clone(),
                route: decided.route.map(|r| match r {
                    Route::User(name) => name,
                    Route::RoundRobin => "(round robin)".into(),
                    Route::LeastOpenCases => "(least open cases)".into(),
                }),
                stored_auto_resolved: case.auto_resolved,
                auto_resolve: decided.auto_resolve,
                stored_milestones: case.milestones.iter().map(|m| m.name.clone()).collect(),
                milestones: decided
                    .milestones
                    .into_iter()
                    .map(|spec| {
                        let m = Milestone::from_spec(spec, case.created_at);
                        (m.name, m.due_at)
                    })
                    .collect(),
            });
        }
        Ok(rows)
    }

    /// What runs, what failed and how hooks perform (administrators).
    pub fn plugin_report(&self, actor: &User) -> ServiceResult<PluginReport> {
        Self::require_admin(actor, "see the plugins")?;
        let host = self
            .scripts
            .as_ref()
            .ok_or_else(|| ServiceError::NotFound("this server runs no plugins".into()))?;
        Ok(PluginReport {
            dir: host.dir().display().to_string(),
            plugins: host.status(),
            hooks: host.figures(),
            failures: host.recent_failures(),
        })
    }

    /// Every case type's profile fields (staff).
    pub fn declared_profiles(
        &self,
        actor: &User,
    ) -> ServiceResult<std::collections::BTreeMap<String, Vec<ProfileField>>> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot list case profiles".into(),
            ));
        }
        Ok(self
            .scripts
            .as_ref()
            .map(|h| h.profiles())
            .unwrap_or_default())
    }

    pub fn list_categories(&self, actor: &User) -> ServiceResult<Vec<Category>> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot list categories".into(),
            ));
        }
        Ok(self.store.read()?.categories()?)
    }

    fn require_admin(actor: &User, what: &str) -> ServiceResult<()> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "only administrators can {what}"
            )))
        }
    }

    pub async fn create_category(
        &self,
        actor: &User,
        name: &str,
        auto_resolve: bool,
    ) -> ServiceResult<Category> {
        Self::require_admin(actor, "manage categories")?;
        let name = category::valid_name(name)?;
        self.store
            .write(move |txn| {
                if category_named(txn, &name)?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "a category named '{name}' already exists"
                    )));
                }
                let category = Category {
                    name: name.clone(),
                    auto_resolve,
                    created_at: now(),
                };
                txn.put_category(&category)?;
                Ok(category)
            })
            .await
    }

    /// Renames a category or changes its flag. Cases keep the label they
    /// have; a rename applies to cases categorised from then on.
    pub async fn update_category(
        &self,
        actor: &User,
        name: &str,
        new_name: Option<&str>,
        auto_resolve: Option<bool>,
    ) -> ServiceResult<Category> {
        Self::require_admin(actor, "manage categories")?;
        let name = name.to_owned();
        let new_name = new_name.map(category::valid_name).transpose()?;
        self.store
            .write(move |txn| {
                let mut category = category_named(txn, &name)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no category '{name}'"))
                })?;
                if let Some(new_name) = &new_name
                    && *new_name != category.name
                {
                    if category_named(txn, new_name)?
                        .is_some_and(|other| other.name != category.name)
                    {
                        return Err(ServiceError::Conflict(format!(
                            "a category named '{new_name}' already exists"
                        )));
                    }
                    txn.delete_category(&category.name)?;
                    category.name = new_name.clone();
                }
                if let Some(flag) = auto_resolve {
                    category.auto_resolve = flag;
                }
                txn.put_category(&category)?;
                Ok(category)
            })
            .await
    }

    pub async fn delete_category(&self, actor: &User, name: &str) -> ServiceResult<()> {
        Self::require_admin(actor, "manage categories")?;
        let name = name.to_owned();
        self.store
            .write(move |txn| {
                let category = category_named(txn, &name)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no category '{name}'"))
                })?;
                txn.delete_category(&category.name)?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::domain::activity::Direction;
    use crate::domain::case::{CaseDraft, Source};
    use crate::service::{NewChannel, NewMessage};
    use crate::store::Store;

    const POLICY: &str = r#"
        fn milestones(ticket) {
            [
                #{ name: "First reply", due_in: "2h", completes_on: "first_reply" },
                #{ name: "Resolution", due_in: "1d", completes_on: "resolved" },
            ]
        }
    "#;

    async fn service_with(policy: &str) -> (Service, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let config = FileConfig::default()
            .resolve(Some(dir.path().join("data")), None)
            .unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join("policy.rhai"), policy).unwrap();
        let host = Arc::new(ScriptHost::new(&plugins, &config.scripting));
        assert!(host.reload());
        let store = Store::open(&config.data_dir).unwrap();
        let service = Service::new(store, Arc::new(config)).with_scripts(host);
        (service, dir)
    }

    async fn open_case(service: &Service) -> Case {
        let admin = Service::operator();
        let channel = service
            .create_channel(
                &admin,
                NewChannel {
                    name: "Support".into(),
                    email_address: None,
                    settings: Default::default(),
                    imap: None,
                    integrations: Default::default(),
                },
            )
            .await
            .unwrap();
        let draft = CaseDraft {
            subject: "Printer on fire".into(),
            ..CaseDraft::default()
        };
        service
            .create_case(&admin, channel.id, draft, Source::Api)
            .await
            .unwrap()
    }

    fn escalations(service: &Service, number: CaseNumber) -> Vec<String> {
        service
            .activity(&Service::operator(), number)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.kind {
                EventKind::Escalated { milestone } => Some(milestone),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn an_overdue_milestone_escalates_once_at_its_due_time() {
        let (service, _dir) = service_with(POLICY).await;
        let case = open_case(&service).await;
        let created = case.created_at;
        assert_eq!(case.milestones.len(), 2);
        assert_eq!(
            case.milestones[0].due_at,
            created + chrono::Duration::hours(2)
        );

        // A minute before the first is due: nothing.
        let early = created + chrono::Duration::minutes(119);
        assert_eq!(service.escalate_overdue(early).await.unwrap(), 0);
        assert!(escalations(&service, case.number).is_empty());

        // At its due time: the first reply milestone, and only it.
        let due = created + chrono::Duration::hours(2);
        assert_eq!(service.escalate_overdue(due).await.unwrap(), 1);
        assert_eq!(escalations(&service, case.number), ["First reply"]);
        let views = service
            .milestones(&Service::operator(), case.number)
            .unwrap();
        assert_eq!(views[0].milestone.escalated_at, Some(due));

        // Looking again later escalates nothing twice.
        let later = created + chrono::Duration::hours(3);
        assert_eq!(service.escalate_overdue(later).await.unwrap(), 0);
        assert_eq!(escalations(&service, case.number), ["First reply"]);
    }

    #[tokio::test]
    async fn completed_milestones_never_escalate() {
        let (service, _dir) = service_with(POLICY).await;
        let case = open_case(&service).await;
        let admin = Service::operator();
        service
            .add_message(
                &admin,
                case.number,
                NewMessage {
                    direction: Direction::Outbound,
                    from: None,
                    body: "On our way".into(),
                },
            )
            .await
            .unwrap();
        service.close_case(&admin, case.number).await.unwrap();
        let views = service.milestones(&admin, case.number).unwrap();
        assert!(views.iter().all(|v| v.state == MilestoneState::Completed));
        assert_eq!(views[0].milestone.met(), Some(true));
        let much_later = case.created_at + chrono::Duration::days(3);
        assert_eq!(service.escalate_overdue(much_later).await.unwrap(), 0);
        assert!(escalations(&service, case.number).is_empty());
    }

    #[tokio::test]
    async fn a_priority_change_replans_open_milestones() {
        let policy = r#"
            fn milestones(t) {
                let reply = if t.priority == "urgent" { "30m" } else { "8h" };
                [
                    #{ name: "First reply", due_in: reply, completes_on: "first_reply" },
                    #{ name: "Triage", due_in: reply, completes_on: "field:category" },
                ]
            }
        "#;
        let (service, _dir) = service_with(policy).await;
        let case = open_case(&service).await;
        let admin = Service::operator();
        assert_eq!(
            case.milestones[0].due_at,
            case.created_at + chrono::Duration::hours(8)
        );
        let triaged = crate::service::CaseChange {
            edit: crate::domain::case::CaseEdit {
                category: Some(Some("hardware".into())),
                ..Default::default()
            },
            ..Default::default()
        };
        service
            .update_case(&admin, case.number, triaged)
            .await
            .unwrap();
        let urgent = crate::service::CaseChange {
            edit: crate::domain::case::CaseEdit {
                priority: Some(crate::domain::case::Priority::Urgent),
                ..Default::default()
            },
            ..Default::default()
        };
        let updated = service
            .update_case(&admin, case.number, urgent)
            .await
            .unwrap();
        let reply = &updated.milestones[0];
        assert_eq!(
            reply.due_at,
            case.created_at + chrono::Duration::minutes(30)
        );
        // The completed one keeps its original plan and completion.
        let triage = &updated.milestones[1];
        assert!(triage.completed_at.is_some());
        assert_eq!(triage.due_at, case.created_at + chrono::Duration::hours(8));
        // And the new due time escalates.
        let due = case.created_at + chrono::Duration::minutes(30);
        assert_eq!(service.escalate_overdue(due).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_failing_policy_leaves_the_case_without_milestones() {
        let (service, _dir) = service_with("fn milestones(t) { throw \"broken\" }").await;
        let case = open_case(&service).await;
        assert!(case.milestones.is_empty());
        let host = service.scripts.as_ref().unwrap();
        let failures = host.recent_failures();
        assert!(
            failures[0].error.to_string().contains("broken"),
            "{failures:?}"
        );
    }
}
