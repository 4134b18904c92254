//! Saved replies in the web UI: the composer asks for a case's replies,
//! filled in; the channel page keeps them (managers and administrators).

use poem::web::{Form, Json, Path, Redirect};
use poem::{Request, handler};
use serde::{Deserialize, Serialize};

use super::session::{WebError, app, require_form_session, require_session};
use super::shared::parse_number;

#[derive(Serialize)]
pub struct FilledReplyJson {
    id: u64,
    name: String,
    text: String,
}

/// The case's saved replies, filled in, for the composer's picker.
#[handler]
pub fn for_case(
    req: &Request,
    Path(number): Path<String>,
) -> Result<Json<Vec<FilledReplyJson>>, WebError> {
    let session = require_session(req)?;
    let number = parse_number(&number)?;
    let replies = app(req)
        .service
        .saved_replies_for_case(&session.user, number)?;
    Ok(Json(
        replies
            .into_iter()
            .map(|r| FilledReplyJson {
                id: r.id,
                name: r.name,
                text: r.text,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct SavedReplyForm {
    csrf: String,
    name: String,
    body: String,
}

fn to_channel(channel: u64) -> Redirect {
    Redirect::see_other(format!("/channels/{channel}#saved-replies"))
}

#[handler]
pub async fn create(
    req: &Request,
    Path(channel): Path<u64>,
    Form(form): Form<SavedReplyForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    app(req)
        .service
        .create_saved_reply(&session.user, channel, &form.name, &form.body)
        .await?;
    Ok(to_channel(channel))
}

#[handler]
pub async fn update(
    req: &Request,
    Path(id): Path<u64>,
    Form(form): Form<SavedReplyForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let reply = app(req)
        .service
        .update_saved_reply(&session.user, id, Some(form.name), Some(form.body))
        .await?;
    Ok(to_channel(reply.channel))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

#[handler]
pub async fn delete(
    req: &Request,
    Path(id): Path<u64>,
    Form(form): Form<DeleteForm>,
) -> Result<Redirect, WebError> {
    let session = require_form_session(req, &form.csrf)?;
    let service = &app(req).service;
    let channel = service.get_saved_reply(&session.user, id)?.channel;
    service.delete_saved_reply(&session.user, id).await?;
    Ok(to_channel(channel))
}
