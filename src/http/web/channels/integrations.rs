//! A channel's connections to Meta (Instagram and Facebook), the phone
//! provider and the chat widget, kept on the channel page by its managers.
//! Secrets are write-only: a blank field keeps the stored one.

use poem::web::{Form, Path, Redirect};
use poem::{Request, handler};
use serde::Deserialize;

use crate::http::web::session::{WebError, app, require_form_session};
use crate::http::web::shared::filled;
use crate::service::{ChannelChange, IntegrationsChange, MetaChange, PhoneChange, WidgetChange};

#[derive(Deserialize)]
pub struct IntegrationsForm {
    csrf: String,
    #[serde(default)]
    meta_app_secret: String,
    #[serde(default)]
    meta_verify_token: String,
    #[serde(default)]
    meta_page_access_token: String,
    #[serde(default)]
    meta_api_base: String,
    meta_remove: Option<String>,
    #[serde(default)]
    phone_auth_token: String,
    phone_remove: Option<String>,
    #[serde(default)]
    widget_origins: String,
    widget_model_answers: Option<String>,
    #[serde(default)]
    widget_model_instructions: String,
}

#[handler]
pub async fn save(
    req: &Request,
    Path(id): Path<u64>,
    Form(form): Form<IntegrationsForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let service = &app(req).service;
    let shown = service.get_channel(&session.user, id)?;
    let managed = shown.managed.as_ref();
    let has_meta = managed.is_some_and(|m| m.meta.is_some());
    let has_phone = managed.is_some_and(|m| m.phone_auth_token_set.is_some());
    let has_widget = managed.is_some_and(|m| m.widget.is_some());

    let meta_given = [
        &form.meta_app_secret,
        &form.meta_verify_token,
        &form.meta_page_access_token,
    ]
    .iter()
    .any(|v| !v.trim().is_empty());
    let meta = if form.meta_remove.is_some() {
        has_meta.then_some(None)
    } else if meta_given || has_meta {
        Some(Some(MetaChange {
            app_secret: filled(&form.meta_app_secret),
            verify_token: filled(&form.meta_verify_token),
            page_access_token: filled(&form.meta_page_access_token),
            api_base: filled(&form.meta_api_base),
        }))
    } else {
        None
    };
    let phone = if form.phone_remove.is_some() {
        has_phone.then_some(None)
    } else {
        filled(&form.phone_auth_token).map(|token| {
            Some(PhoneChange {
                auth_token: Some(token),
            })
        })
    };
    let origins: Vec<String> = form
        .widget_origins
        .split(['\n', ',', ' '])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    let widget = if origins.is_empty() {
        has_widget.then_some(None)
    } else {
        // The model's settings are on the form only where there is one.
        let has_model = service.llm_model().is_some();
        Some(Some(WidgetChange {
            allowed_origins: origins,
            model_answers: has_model.then_some(form.widget_model_answers.is_some()),
            model_instructions: has_model.then(|| form.widget_model_instructions.clone()),
        }))
    };
    let change = ChannelChange {
        integrations: IntegrationsChange {
            meta,
            phone,
            widget,
        },
        ..ChannelChange::default()
    };
    service.update_channel(&session.user, id, change).await?;
    Ok(Redirect::see_other(format!("/channels/{id}#integrations")))
}
