//! The new case page: a type's profile fields appear the moment it is
//! chosen, and a refused case comes back with everything typed and each
//! problem beside its field, in words.

use std::collections::BTreeMap;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Html, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::properties::{FieldsQuery, label_of, profile_value};
use super::view::{ProfileInput, render_profile_inputs};
use crate::domain::case::{CaseDraft, Customer, Device, Priority, Source};
use crate::domain::profile::ProfileValues;
use crate::http::web::session::{WebError, app, require_form_session, require_session};
use crate::http::web::shared::{Choice, Nav, priority_choices};
use crate::http::web::shared::{checked, filled, parse_deadline};
use crate::service::ServiceError;

#[derive(Template)]
#[template(path = "case/new.html")]
pub struct NewCasePage {
    pub nav: Nav,
    pub channels: Vec<Choice>,
    pub priorities: Vec<Choice>,
    /// What was typed, by field name, when a case came back refused.
    pub values: BTreeMap<String, String>,
    /// Each refused field's message, by field name.
    pub errors: BTreeMap<String, String>,
    /// A summary of what needs attention.
    pub problem: Option<String>,
    pub profile: Vec<ProfileInput>,
    pub can_work: bool,
    pub categories: Vec<String>,
    pub case_types: Vec<String>,
}

impl NewCasePage {
    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Deserialize)]
pub struct NewCaseQuery {
    channel: Option<u64>,
}

fn page(
    req: &Request,
    session: &crate::service::Session,
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    problem: Option<String>,
) -> Result<NewCasePage, WebError> {
    let service = &app(req).service;
    let user = &session.user;
    let chosen = values.get("channel").and_then(|c| c.parse::<u64>().ok());
    let channels = service
        .list_channels(user)?
        .into_iter()
        .filter(|c| c.rights.can_open_cases)
        .map(|c| Choice {
            value: c.id.to_string(),
            selected: Some(c.id) == chosen,
            label: c.name,
        })
        .collect();
    let priority = values
        .get("priority")
        .and_then(|p| Priority::parse("priority", p).ok())
        .unwrap_or(Priority::Normal);
    let case_type = values.get("case_type").and_then(|t| filled(t));
    let profile = service
        .profile_fields(case_type.as_deref())
        .iter()
        .map(|field| {
            let key = format!("profile.{}", field.name);
            let typed = values
                .get(&key)
                .map(|v| serde_json::Value::String(v.clone()));
            let mut input = ProfileInput::new(field, typed.as_ref());
            input.error = errors.get(&key).cloned();
            input
        })
        .collect();
    let staff = !user.is_partner();
    Ok(NewCasePage {
        nav: Nav::new(session, "new"),
        channels,
        priorities: priority_choices(priority),
        problem,
        errors,
        profile,
        can_work: true,
        categories: if staff {
            service
                .list_categories(user)?
                .into_iter()
                .map(|c| c.name)
                .collect()
        } else {
            Vec::new()
        },
        case_types: if staff {
            service.declared_profiles(user)?.into_keys().collect()
        } else {
            Vec::new()
        },
        values,
    })
}

fn render(page: NewCasePage, status: StatusCode) -> Result<Response, WebError> {
    let body = page
        .render()
        .map_err(|e| WebError::Internal(format!("the page could not be rendered: {e}")))?;
    Ok((status, Html(body)).into_response())
}

#[handler]
pub fn new_case_page(
    req: &Request,
    Query(query): Query<NewCaseQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    let mut values = BTreeMap::new();
    if let Some(channel) = query.channel {
        values.insert("channel".to_owned(), channel.to_string());
    }
    render(
        page(req, &session, values, BTreeMap::new(), None)?,
        StatusCode::OK,
    )
}

/// The draft the form describes.
fn draft_of(
    values: &BTreeMap<String, String>,
    fields: &[crate::domain::profile::ProfileField],
) -> Result<CaseDraft, WebError> {
    let get = |name: &str| values.get(name).map_or("", String::as_str);
    let priority = filled(get("priority"))
        .map(|p| Priority::parse("priority", &p))
        .transpose()?;
    let mut profile = ProfileValues::new();
    for (key, text) in values {
        if let Some(name) = key.strip_prefix("profile.")
            && !text.trim().is_empty()
        {
            profile.insert(name.to_owned(), profile_value(fields, name, text));
        }
    }
    Ok(CaseDraft {
        subject: get("subject").to_owned(),
        description: get("description").to_owned(),
        priority,
        deadline: parse_deadline(get("deadline"))?,
        category: filled(get("category")),
        case_type: filled(get("case_type")),
        important: checked(&values.get("important").cloned()),
        source: None,
        customer: Some(Customer {
            name: filled(get("customer_name")),
            email: filled(get("customer_email")),
            phone: filled(get("customer_phone")),
            handles: Default::default(),
        }),
        device: Some(Device {
            identifier: filled(get("device_identifier")),
            model: filled(get("device_model")),
        }),
        thread: None,
        profile,
    })
}

/// The form's field a refusal is about (the service names the customer's
/// fields `customer.email`, the form `customer_email`).
fn form_field(field: &str) -> String {
    match field {
        "customer.email" | "customer.name" | "customer.phone" | "device.model"
        | "device.identifier" => field.replace('.', "_"),
        "type" => "case_type".into(),
        other => other.to_owned(),
    }
}

#[handler]
pub async fn create_case(
    req: &Request,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in form {
        values.insert(key, value);
    }
    let csrf = values.remove("csrf").unwrap_or_default();
    let session = require_form_session(req, &csrf)?;
    let outcome = async {
        let fields = app(req)
            .service
            .profile_fields(values.get("case_type").and_then(|t| filled(t)).as_deref());
        let draft = draft_of(&values, &fields)?;
        let channel = values
            .get("channel")
            .and_then(|c| c.trim().parse().ok())
            .ok_or_else(|| {
                WebError::Service(ServiceError::invalid("channel", "choose a channel"))
            })?;
        let case = app(req)
            .service
            .create_case(&session.user, channel, draft, Source::Manual)
            .await?;
        Ok::<_, WebError>(case.number)
    }
    .await;
    let error = match outcome {
        Ok(number) => return Ok(Redirect::see_other(format!("/cases/{number}")).into_response()),
        Err(error) => error,
    };
    // The form comes back with everything typed and each problem beside
    // its field.
    let profile = app(req)
        .service
        .profile_fields(values.get("case_type").and_then(|t| filled(t)).as_deref());
    let problems: Vec<(String, String)> = match &error {
        WebError::Service(ServiceError::Invalid { field, message }) => {
            vec![(field.clone(), message.clone())]
        }
        WebError::Service(ServiceError::InvalidFields(problems)) => problems
            .iter()
            .map(|p| (p.field.clone(), p.message.clone()))
            .collect(),
        WebError::Service(ServiceError::Store(_)) | WebError::Internal(_) | WebError::Csrf => {
            return Err(error);
        }
        other => vec![(String::new(), other.to_string())],
    };
    let mut errors = BTreeMap::new();
    let mut summary = Vec::new();
    for (field, message) in problems {
        if field.is_empty() {
            summary.push(message);
            continue;
        }
        let label = label_of(&field, &profile);
        // "Order number is required" says its field already.
        if message.starts_with(&label) {
            summary.push(format!("{message}."));
        } else {
            summary.push(format!("{label}: {message}."));
        }
        errors.insert(form_field(&field), message);
    }
    let status = poem::error::ResponseError::status(&error);
    let page = page(req, &session, values, errors, Some(summary.join(" ")))?;
    render(page, status)
}

/// A type's profile inputs for the new case form, before anything exists.
#[handler]
pub fn profile_fields(
    req: &Request,
    Query(query): Query<FieldsQuery>,
) -> Result<Response, WebError> {
    let session = require_session(req)?;
    // The same rule as the list of case profiles: staff only.
    app(req).service.declared_profiles(&session.user)?;
    let fields = app(req)
        .service
        .profile_fields(filled(&query.case_type).as_deref());
    render_profile_inputs(fields.iter().map(|f| ProfileInput::new(f, None)).collect())
}
