//! The automation page (administrators): plugins and their errors, hook
//! figures, recent failures, and categories.

use askama::Template;
use poem::web::{Form, Html, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::session::{CsrfForm, WebError, app, require_form_session, require_session, urlencode};
use super::shared::{Nav, When};

pub struct PluginRow {
    pub file: String,
    pub status: &'static str,
    pub error: Option<String>,
    pub hooks: String,
    pub loaded_at: Option<When>,
}

pub struct HookRow {
    pub hook: String,
    pub calls: u64,
    pub failures: u64,
    pub p99: String,
}

pub struct FailureRow {
    pub at: When,
    pub message: String,
}

pub struct CategoryRow {
    pub name: String,
    /// The name as a URL path segment.
    pub path: String,
    pub auto_resolve: bool,
    /// The AI threshold as a percentage for the form ("90"), or empty.
    pub ai_threshold: String,
}

/// One label the AI agent knows, with its held-out figures.
pub struct AiLabelRow {
    pub label: String,
    pub examples: u32,
    pub precision: String,
    pub recall: String,
    pub applied_last_week: u32,
}

/// The AI agent's part of the page.
pub struct AiPanel {
    pub note: Option<String>,
    pub trained_at: Option<When>,
    pub category_accuracy: String,
    pub held_out: u32,
    pub spam_recall: String,
    pub ham_marked_spam: String,
    pub new_labels: u64,
    pub labels: Vec<AiLabelRow>,
    /// After "Learn now": what happened.
    pub outcome: Option<String>,
}

fn percent(p: Option<f32>) -> String {
    p.map_or_else(|| "—".into(), |p| format!("{:.1} %", p * 100.0))
}

fn ai_panel(status: crate::service::AiStatus, outcome: Option<String>) -> AiPanel {
    let models = status.models.as_deref();
    let category = models.and_then(|m| m.category_report());
    let spam = models
        .and_then(|m| m.spam_report())
        .map(|r| r.held_out.scores());
    let spam_score = |label: &str| {
        spam.as_ref()
            .and_then(|s| s.iter().find(|l| l.label == label).and_then(|l| l.recall))
    };
    let applied = |name: &str| {
        status
            .applied_last_week
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(name))
            .map_or(0, |(_, n)| *n)
    };
    AiPanel {
        note: match (status.enabled, models) {
            (false, _) => Some("The AI agent is switched off ([ai] enabled = false in docket.toml).".into()),
            (true, None) => Some("The AI agent has not learned yet: it learns from cases whose category people chose, and predicts nothing until then.".into()),
            _ => None,
        },
        trained_at: models.map(|m| When::new(m.trained_at)),
        category_accuracy: percent(category.and_then(|r| r.accuracy())),
        held_out: category.map_or(0, |r| r.held_out.total()),
        spam_recall: percent(spam_score("spam")),
        ham_marked_spam: percent(spam_score("ham").map(|r| 1.0 - r)),
        new_labels: status.new_labels,
        labels: category
            .map(|r| {
                r.held_out
                    .scores()
                    .into_iter()
                    .map(|s| AiLabelRow {
                        examples: r
                            .examples
                            .iter()
                            .find(|(l, _)| *l == s.label)
                            .map_or(0, |(_, n)| *n),
                        precision: percent(s.precision),
                        recall: percent(s.recall),
                        applied_last_week: applied(&s.label),
                        label: s.label,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        outcome,
    }
}

#[derive(Deserialize)]
pub struct PluginsQuery {
    /// What "Learn now" did: `swapped` or `kept`.
    ai: Option<String>,
}

/// "Learn now" on the automation page.
#[handler]
pub async fn train_ai(req: &Request, Form(form): Form<CsrfForm>) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let outcome = app(req).service.train_ai(Some(&session.user)).await?;
    Ok(Redirect::see_other(if outcome.swapped {
        "/admin/plugins?ai=swapped#ai-h"
    } else {
        "/admin/plugins?ai=kept#ai-h"
    }))
}

#[derive(Template)]
#[template(path = "automation/plugins.html")]
pub struct PluginsPage {
    pub nav: Nav,
    pub dir: String,
    pub plugins: Vec<PluginRow>,
    pub hooks: Vec<HookRow>,
    pub failures: Vec<FailureRow>,
    pub categories: Vec<CategoryRow>,
    pub ai: AiPanel,
}

#[handler]
pub fn plugins_page(
    req: &Request,
    poem::web::Query(query): poem::web::Query<PluginsQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let service = &app(req).service;
    let report = service.plugin_report(&session.user)?;
    let categories = service.list_categories(&session.user)?;
    let outcome = match query.ai.as_deref() {
        Some("swapped") => Some("The AI agent learned again; the new models are in use.".into()),
        Some("kept") => Some("The AI agent learned again, but the new models scored worse on the held-out cases, so the current ones stay.".into()),
        _ => None,
    };
    let page = PluginsPage {
        ai: ai_panel(service.ai_status(&session.user)?, outcome),
        nav: Nav::new(&session, "automation"),
        dir: report.dir,
        plugins: report
            .plugins
            .into_iter()
            .map(|p| PluginRow {
                status: match (p.running, &p.error) {
                    (true, None) => "loaded",
                    (true, Some(_)) => "failed",
                    (false, _) => "broken",
                },
                error: p.error.map(|e| e.to_string()),
                hooks: p.hooks.join(", "),
                loaded_at: When::maybe(p.loaded_at),
                file: p.file,
            })
            .collect(),
        hooks: report
            .hooks
            .into_iter()
            .map(|h| HookRow {
                p99: format!("{:.3} ms", h.p99.as_secs_f64() * 1000.0),
                hook: h.hook,
                calls: h.calls,
                failures: h.failures,
            })
            .collect(),
        failures: report
            .failures
            .into_iter()
            .map(|f| FailureRow {
                at: When::new(f.at),
                message: f.error.to_string(),
            })
            .collect(),
        categories: categories
            .into_iter()
            .map(|c| CategoryRow {
                path: urlencode(&c.name),
                ai_threshold: c
                    .ai_threshold
                    .map(|t| format!("{}", (t * 100.0).round()))
                    .unwrap_or_default(),
                name: c.name,
                auto_resolve: c.auto_resolve,
            })
            .collect(),
    };
    page.render()
        .map(|body| Html(body).into_response())
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))
}

pub struct LoomingRow {
    pub due: When,
    pub state: &'static str,
    pub milestone: String,
    pub number: u64,
    pub subject: String,
    pub channel: String,
    pub assignee: String,
}

#[derive(Template)]
#[template(path = "automation/milestones.html")]
pub struct MilestonesPage {
    pub nav: Nav,
    pub within: u32,
    pub choices: Vec<u32>,
    pub rows: Vec<LoomingRow>,
}

#[derive(Deserialize)]
pub struct MilestonesQuery {
    within: Option<u32>,
}

/// Milestones nearing or past a breach across the channels one manages.
#[handler]
pub fn milestones_page(
    req: &Request,
    poem::web::Query(query): poem::web::Query<MilestonesQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let within = query.within.unwrap_or(24).clamp(1, 24 * 365);
    let rows = app(req)
        .service
        .looming_milestones(&session.user, within)?
        .into_iter()
        .map(|r| LoomingRow {
            due: When::new(r.milestone.due_at),
            state: r.state.as_str(),
            milestone: r.milestone.name,
            number: r.case.number,
            subject: r.case.subject,
            channel: r.channel,
            assignee: r.case.assignee.unwrap_or_default(),
        })
        .collect();
    let page = MilestonesPage {
        nav: Nav::new(&session, "milestones"),
        within,
        choices: vec![4, 24, 72, 168],
        rows,
    };
    page.render()
        .map(|body| Html(body).into_response())
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))
}

#[derive(Deserialize)]
pub struct CategoryForm {
    csrf: String,
    #[serde(default)]
    name: String,
    auto_resolve: Option<String>,
    /// A percentage, blank to only suggest; absent when the form has no
    /// such field.
    ai_threshold: Option<String>,
}

/// The form's AI threshold: a percentage (`90` or `90%`), blank to clear.
fn threshold_of(text: &str) -> Result<Option<f32>, WebError> {
    let text = text.trim().trim_end_matches('%').trim();
    if text.is_empty() {
        return Ok(None);
    }
    let percent: f32 = text.parse().map_err(|_| {
        WebError::Fields(vec![(
            "AI threshold".into(),
            format!("'{text}' is not a percentage such as 90"),
        )])
    })?;
    Ok(Some(percent / 100.0))
}

#[handler]
pub async fn create_category(
    req: &Request,
    Form(form): Form<CategoryForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let auto_resolve = form.auto_resolve.as_deref() == Some("on");
    app(req)
        .service
        .create_category(
            &session.user,
            &form.name,
            auto_resolve,
            threshold_of(form.ai_threshold.as_deref().unwrap_or_default())?,
        )
        .await?;
    Ok(Redirect::see_other("/admin/plugins"))
}

#[handler]
pub async fn update_category(
    req: &Request,
    Path(name): Path<String>,
    Form(form): Form<CategoryForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let auto_resolve = form.auto_resolve.as_deref().map(|v| v == "on");
    app(req)
        .service
        .update_category(
            &session.user,
            &name,
            None,
            auto_resolve,
            form.ai_threshold.as_deref().map(threshold_of).transpose()?,
        )
        .await?;
    Ok(Redirect::see_other("/admin/plugins"))
}

#[handler]
pub async fn delete_category(
    req: &Request,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    app(req)
        .service
        .delete_category(&session.user, &name)
        .await?;
    Ok(Redirect::see_other("/admin/plugins"))
}
