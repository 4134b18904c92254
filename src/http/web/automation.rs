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
}

#[handler]
pub fn plugins_page(req: &Request) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let service = &app(req).service;
    let report = service.plugin_report(&session.user)?;
    let categories = service.list_categories(&session.user)?;
    let page = PluginsPage {
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
