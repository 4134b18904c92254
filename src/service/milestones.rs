//! Milestones: replanning when a case's priority or type changes, the
//! managers' view of looming breaches, and escalating overdue ones.

use std::collections::HashMap;

use super::intake::{RULES_ACTOR, channel_agents};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::EventKind;
use crate::domain::case::{Case, CaseNumber};
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::milestone::{self, Milestone, MilestoneSpec, MilestoneState};
use crate::domain::user::User;
use crate::scripting::CaseView;
use crate::store::{Reads, WriteTxn, Writes};

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

/// A milestone as the API shows it.
#[derive(Debug, Clone)]
pub struct MilestoneView {
    pub milestone: Milestone,
    pub state: MilestoneState,
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
    let calendar = super::intake::channel_calendar(txn, case.channel)?;
    for spec in specs {
        let mut milestone = Milestone::from_spec(spec.clone(), case.created_at, calendar.as_ref());
        if let Some(before) = previous.iter().find(|m| m.name == milestone.name) {
            if before.completed_at.is_some() {
                case.milestones.push(before.clone());
                continue;
            }
            // The clock's pauses so far carry over to the new target.
            if milestone.pauses {
                milestone.paused_since = before.paused_since;
                milestone.paused_seconds = before.paused_seconds;
                milestone.reckon_due(case.created_at, calendar.as_ref());
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

/// A channel's business hours changed: the open milestones of its cases
/// that count them are due at new times.
pub fn reckon_channel_milestones(txn: &WriteTxn, channel: &Channel) -> ServiceResult<()> {
    let mut numbers = Vec::new();
    txn.visit_open_milestones(u64::MAX, &mut |_, number| {
        numbers.push(number);
        true
    })?;
    numbers.sort_unstable();
    numbers.dedup();
    let calendar = channel.settings.calendar.as_ref();
    for number in numbers {
        let Some(mut case) = txn.case(number)? else {
            continue;
        };
        if case.channel != channel.id {
            continue;
        }
        let created_at = case.created_at;
        let mut moved = Vec::new();
        for milestone in case
            .milestones
            .iter_mut()
            .filter(|m| m.business && m.completed_at.is_none() && m.paused_since.is_none())
        {
            let before = milestone.due_at;
            milestone.reckon_due(created_at, calendar);
            if milestone.due_at != before {
                milestone.escalated_at = None;
                moved.push(milestone.due_at);
            }
        }
        if moved.is_empty() {
            continue;
        }
        for due in moved {
            txn.add_milestone_due(due.timestamp().max(0) as u64, case.number)?;
        }
        txn.put_case(&case)?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::domain::activity::Direction;
    use crate::domain::case::{CaseDraft, Source};
    use crate::scripting::ScriptHost;
    use crate::service::NewMessage;
    use crate::store::Store;
    use std::sync::Arc;

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
        let channel = service.support_channel_for_tests().await;
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
