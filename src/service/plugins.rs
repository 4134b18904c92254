//! The plugin host as admins see it: replaying the rules on stored cases
//! and the report of what runs, what failed and how hooks perform.

use std::collections::HashMap;

use super::intake::channel_agents;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::Timestamp;
use crate::domain::case::CaseNumber;
use crate::domain::channel::{Channel, ChannelId};
use crate::domain::milestone::Milestone;
use crate::domain::user::User;
use crate::scripting::{CaseView, Route, ScriptHost};
use crate::store::Reads;

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

/// The state of the plugin host, for admins.
pub struct PluginReport {
    pub dir: String,
    pub plugins: Vec<crate::scripting::PluginStatus>,
    pub hooks: Vec<crate::scripting::HookFigures>,
    pub failures: Vec<crate::scripting::Failure>,
}

impl Service {
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
            let first_message = super::ai::first_customer_message(&txn, case.number)?;
            let mut view = CaseView::new(
                &case,
                channel,
                channel_agents(&txn, channel)?,
                first_message.as_deref(),
            );
            // Ask categorize afresh: the stored category is what to compare.
            view.category = None;
            let decided = host.intake(&view, case.ai.as_ref());
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
                        let calendar = channel.settings.calendar.as_ref();
                        let m = Milestone::from_spec(spec, case.created_at, calendar);
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
}
