//! Categories, plugins, case profiles and milestones.

use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::json_body::JsonBody;
use super::{ApiTags, TokenAuth, state};
use crate::domain::category::Category;
use crate::domain::profile::ProfileField;
use crate::http::error::ApiError;
use crate::scripting::ScriptError;

#[derive(Default)]
pub struct AutomationApi;

#[derive(Debug, Object)]
struct CategoryView {
    name: String,
    /// A new case in this category is closed at once and notifies nobody.
    auto_resolve: bool,
    /// The AI agent applies this category itself when at least this sure
    /// (0–1); absent: it only suggests it. On the spam category, the spam
    /// probability above which a case is filed as spam.
    #[oai(nullable)]
    ai_threshold: Option<f32>,
    created_at: DateTime<Utc>,
}

impl From<Category> for CategoryView {
    fn from(c: Category) -> Self {
        CategoryView {
            name: c.name,
            auto_resolve: c.auto_resolve,
            ai_threshold: c.ai_threshold,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct NewCategoryBody {
    name: String,
    #[oai(nullable)]
    auto_resolve: Option<bool>,
    /// See the category's `ai_threshold`.
    #[oai(nullable)]
    ai_threshold: Option<f32>,
}

#[derive(Debug, Object, Deserialize)]
#[oai(deny_unknown_fields)]
#[serde(deny_unknown_fields)]
struct CategoryPatchBody {
    /// A new name.
    #[oai(nullable)]
    name: Option<String>,
    #[oai(nullable)]
    auto_resolve: Option<bool>,
    /// A confidence between 0 and 1, or `null` to only suggest.
    #[serde(default)]
    ai_threshold: MaybeUndefined<f32>,
}

#[derive(ApiResponse)]
enum CategoryCreated {
    #[oai(status = 201)]
    Created(Json<CategoryView>),
}

#[derive(ApiResponse)]
enum Deleted {
    #[oai(status = 204)]
    NoContent,
}

/// Where a script went wrong.
#[derive(Debug, Object)]
struct ScriptErrorView {
    file: String,
    /// The hook that failed; absent for compile errors.
    #[oai(nullable)]
    hook: Option<String>,
    #[oai(nullable)]
    line: Option<u64>,
    #[oai(nullable)]
    column: Option<u64>,
    message: String,
}

impl From<ScriptError> for ScriptErrorView {
    fn from(e: ScriptError) -> Self {
        match e {
            ScriptError::Compile {
                file,
                line,
                column,
                message,
            } => ScriptErrorView {
                file,
                hook: None,
                line: Some(line as u64),
                column: Some(column as u64),
                message,
            },
            ScriptError::Hook {
                file,
                hook,
                message,
            } => ScriptErrorView {
                file,
                hook: Some(hook),
                line: None,
                column: None,
                message,
            },
            ScriptError::Unreadable { path, reason } => ScriptErrorView {
                file: path,
                hook: None,
                line: None,
                column: None,
                message: reason,
            },
        }
    }
}

#[derive(Debug, Object)]
struct PluginView {
    file: String,
    /// `loaded`, `failed` (a version that compiled still runs) or
    /// `broken` (nothing of it runs).
    status: String,
    /// Why the file on disk does not compile.
    #[oai(nullable)]
    error: Option<ScriptErrorView>,
    #[oai(nullable)]
    loaded_at: Option<DateTime<Utc>>,
    /// The hooks it defines.
    hooks: Vec<String>,
}

#[derive(Debug, Object)]
struct HookView {
    hook: String,
    calls: u64,
    failures: u64,
    /// Over the last 1,024 calls, in milliseconds.
    p99_ms: f64,
}

#[derive(Debug, Object)]
struct FailureView {
    at: DateTime<Utc>,
    error: ScriptErrorView,
}

#[derive(Debug, Object)]
struct PluginsView {
    /// The folder the scripts are read from.
    dir: String,
    plugins: Vec<PluginView>,
    hooks: Vec<HookView>,
    /// The most recent hook failures, newest first.
    recent_failures: Vec<FailureView>,
}

#[derive(Debug, Object)]
struct ProfileFieldView {
    name: String,
    label: String,
    /// `text`, `number`, `date`, `choice` or `boolean`.
    kind: String,
    required: bool,
    #[oai(default, skip_serializing_if_is_empty)]
    choices: Vec<String>,
}

impl From<ProfileField> for ProfileFieldView {
    fn from(f: ProfileField) -> Self {
        ProfileFieldView {
            name: f.name,
            label: f.label,
            kind: f.kind.as_str().to_owned(),
            required: f.required,
            choices: f.choices,
        }
    }
}

#[derive(Debug, Object)]
struct ProfileView {
    /// The case type this profile is for.
    case_type: String,
    fields: Vec<ProfileFieldView>,
}

#[derive(Debug, Object)]
struct MilestoneView {
    name: String,
    due_at: DateTime<Utc>,
    /// `completed`, `current` (not yet due), `overdue`, or `paused` (its
    /// clock stands still while the case waits for the customer).
    state: String,
    /// `first_reply`, `resolved` or `field:NAME`.
    completes_on: String,
    /// Its target counts the channel's business hours.
    business: bool,
    /// Its clock stops while the case waits for the customer.
    pauses: bool,
    #[oai(nullable)]
    completed_at: Option<DateTime<Utc>>,
    /// Whether it was completed by its due time.
    #[oai(nullable)]
    met: Option<bool>,
    #[oai(nullable)]
    escalated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
struct LoomingView {
    case: u64,
    subject: String,
    channel: String,
    #[oai(nullable)]
    assignee: Option<String>,
    milestone: String,
    due_at: DateTime<Utc>,
    /// `current` (due soon) or `overdue`.
    state: String,
}

#[OpenApi(tag = "ApiTags::Automation")]
impl AutomationApi {
    /// The organisation's categories.
    #[oai(path = "/categories", method = "get")]
    async fn categories(
        &self,
        req: &Request,
        auth: TokenAuth,
    ) -> Result<Json<Vec<CategoryView>>, ApiError> {
        let categories = state(req).service.list_categories(&auth.0)?;
        Ok(Json(categories.into_iter().map(Into::into).collect()))
    }

    /// Add a category (administrators).
    #[oai(path = "/categories", method = "post")]
    async fn create_category(
        &self,
        req: &Request,
        auth: TokenAuth,
        body: JsonBody<NewCategoryBody>,
    ) -> Result<CategoryCreated, ApiError> {
        let b = body.0;
        let category = state(req)
            .service
            .create_category(
                &auth.0,
                &b.name,
                b.auto_resolve.unwrap_or(false),
                b.ai_threshold,
            )
            .await?;
        Ok(CategoryCreated::Created(Json(category.into())))
    }

    /// Rename a category or change its auto-resolve flag or AI threshold
    /// (administrators).
    #[oai(path = "/categories/:name", method = "patch")]
    async fn update_category(
        &self,
        req: &Request,
        auth: TokenAuth,
        name: Path<String>,
        body: JsonBody<CategoryPatchBody>,
    ) -> Result<Json<CategoryView>, ApiError> {
        let b = body.0;
        let category = state(req)
            .service
            .update_category(
                &auth.0,
                &name.0,
                b.name.as_deref(),
                b.auto_resolve,
                match b.ai_threshold {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(t) => Some(Some(t)),
                },
            )
            .await?;
        Ok(Json(category.into()))
    }

    /// Delete a category (administrators). Cases keep their label.
    #[oai(path = "/categories/:name", method = "delete")]
    async fn delete_category(
        &self,
        req: &Request,
        auth: TokenAuth,
        name: Path<String>,
    ) -> Result<Deleted, ApiError> {
        state(req).service.delete_category(&auth.0, &name.0).await?;
        Ok(Deleted::NoContent)
    }

    /// The plugins, their errors and how their hooks perform
    /// (administrators).
    #[oai(path = "/plugins", method = "get")]
    async fn plugins(&self, req: &Request, auth: TokenAuth) -> Result<Json<PluginsView>, ApiError> {
        let report = state(req).service.plugin_report(&auth.0)?;
        Ok(Json(PluginsView {
            dir: report.dir,
            plugins: report
                .plugins
                .into_iter()
                .map(|p| PluginView {
                    status: match (p.running, &p.error) {
                        (true, None) => "loaded",
                        (true, Some(_)) => "failed",
                        (false, _) => "broken",
                    }
                    .into(),
                    file: p.file,
                    error: p.error.map(Into::into),
                    loaded_at: p.loaded_at,
                    hooks: p.hooks,
                })
                .collect(),
            hooks: report
                .hooks
                .into_iter()
                .map(|h| HookView {
                    hook: h.hook,
                    calls: h.calls,
                    failures: h.failures,
                    p99_ms: h.p99.as_secs_f64() * 1000.0,
                })
                .collect(),
            recent_failures: report
                .failures
                .into_iter()
                .map(|f| FailureView {
                    at: f.at,
                    error: f.error.into(),
                })
                .collect(),
        }))
    }

    /// The profile fields each case type carries, as plugins declare them.
    #[oai(path = "/profiles", method = "get")]
    async fn profiles(
        &self,
        req: &Request,
        auth: TokenAuth,
    ) -> Result<Json<Vec<ProfileView>>, ApiError> {
        let profiles = state(req).service.declared_profiles(&auth.0)?;
        Ok(Json(
            profiles
                .into_iter()
                .map(|(case_type, fields)| ProfileView {
                    case_type,
                    fields: fields.into_iter().map(Into::into).collect(),
                })
                .collect(),
        ))
    }

    /// Milestones nearing or past their due time across the channels you
    /// manage (all, for administrators), soonest first: overdue ones and
    /// those due within `within_hours` (default 24).
    #[oai(path = "/milestones", method = "get")]
    async fn looming(
        &self,
        req: &Request,
        auth: TokenAuth,
        within_hours: poem_openapi::param::Query<Option<u32>>,
    ) -> Result<Json<Vec<LoomingView>>, ApiError> {
        let within = within_hours.0.unwrap_or(24);
        if within > 24 * 365 {
            return Err(crate::service::ServiceError::invalid(
                "within_hours",
                "must be at most 8760 (a year)",
            )
            .into());
        }
        let rows = state(req).service.looming_milestones(&auth.0, within)?;
        Ok(Json(
            rows.into_iter()
                .map(|r| LoomingView {
                    case: r.case.number,
                    subject: r.case.subject,
                    channel: r.channel,
                    assignee: r.case.assignee,
                    milestone: r.milestone.name,
                    due_at: r.milestone.due_at,
                    state: r.state.as_str().to_owned(),
                })
                .collect(),
        ))
    }

    /// A case's milestones, with their due time and state.
    #[oai(path = "/cases/:number/milestones", method = "get")]
    async fn milestones(
        &self,
        req: &Request,
        auth: TokenAuth,
        number: Path<u64>,
    ) -> Result<Json<Vec<MilestoneView>>, ApiError> {
        let milestones = state(req).service.milestones(&auth.0, number.0)?;
        Ok(Json(
            milestones
                .into_iter()
                .map(|m| MilestoneView {
                    state: m.state.as_str().to_owned(),
                    completes_on: m.milestone.completes_on.describe(),
                    business: m.milestone.business,
                    pauses: m.milestone.pauses,
                    met: m.milestone.met(),
                    name: m.milestone.name,
                    due_at: m.milestone.due_at,
                    completed_at: m.milestone.completed_at,
                    escalated_at: m.milestone.escalated_at,
                })
                .collect(),
        ))
    }
}
