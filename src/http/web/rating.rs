//! The page a customer's rating link opens: no sign-in, the signed token in
//! the address is the whole credential. One click on *Good* or *Bad* in the
//! mail records the rating; the page then offers a comment, once.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Html, Path, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::session::{app, capitalise};
use crate::domain::satisfaction::Rating;
use crate::service::{RatingReceipt, ServiceError};

#[derive(Template, Default)]
#[template(path = "rating.html")]
struct RatingPage {
    title: String,
    channel: String,
    case: Option<u64>,
    subject: String,
    message: Option<String>,
    refused: bool,
    choose: bool,
    comment_form: bool,
    comment: String,
    comment_error: Option<String>,
}

impl RatingPage {
    fn about(receipt: &RatingReceipt) -> RatingPage {
        RatingPage {
            channel: receipt.channel.clone(),
            case: Some(receipt.case),
            subject: receipt.subject.clone(),
            ..Default::default()
        }
    }

    /// Thanks for a rating, with the comment form while none was given.
    fn thanks(receipt: &RatingReceipt) -> RatingPage {
        let said = match receipt.rating {
            Rating::Good => "You rated our answer good.",
            Rating::Bad => "You rated our answer bad. We are sorry it did not help.",
        };
        RatingPage {
            title: "Thank you".into(),
            message: Some(match &receipt.comment {
                None => said.to_owned(),
                Some(_) => format!("{said} We have your comment too."),
            }),
            comment_form: receipt.comment.is_none(),
            ..RatingPage::about(receipt)
        }
    }

    fn refusal(error: &ServiceError) -> (StatusCode, RatingPage) {
        let status = crate::http::error::status_of(error);
        let title = match status {
            StatusCode::NOT_FOUND => "Link not valid",
            StatusCode::CONFLICT => "Already rated",
            _ => "Not recorded",
        };
        let page = RatingPage {
            title: title.into(),
            channel: "Docket".into(),
            message: Some(capitalise(&error.to_string())),
            refused: true,
            ..Default::default()
        };
        (status, page)
    }

    fn respond(self, status: StatusCode) -> Response {
        let html = self.render().unwrap_or_else(|_| "error".into());
        (status, Html(html)).into_response()
    }
}

#[derive(Deserialize)]
pub struct RatingQuery {
    rating: Option<String>,
}

/// `GET /rate/{token}?rating=good|bad`: records the rating; without one,
/// offers the choice (or shows the rating already given).
#[handler]
pub async fn rate(
    req: &Request,
    Path(token): Path<String>,
    Query(query): Query<RatingQuery>,
) -> Response {
    let service = &app(req).service;
    let outcome = match query.rating.as_deref() {
        Some(text) => match Rating::parse(text) {
            Ok(rating) => service.rate(&token, rating).await.map(Some),
            Err(e) => Err(e.into()),
        },
        None => service.rating_of(&token),
    };
    match outcome {
        Ok(Some(receipt)) => RatingPage::thanks(&receipt).respond(StatusCode::OK),
        Ok(None) => choice(service, &token),
        Err(ServiceError::Conflict(_)) if query.rating.is_some() => {
            // The link was used before: say so, with what was recorded.
            match service.rating_of(&token) {
                Ok(Some(receipt)) => RatingPage {
                    title: "Already rated".into(),
                    message: Some(format!(
                        "This answer was rated {} already; a link counts once. Thank you.",
                        receipt.rating.as_str()
                    )),
                    refused: true,
                    comment_form: receipt.comment.is_none(),
                    ..RatingPage::about(&receipt)
                }
                .respond(StatusCode::CONFLICT),
                _ => refused(&ServiceError::Conflict("this link was used already".into())),
            }
        }
        Err(e) => refused(&e),
    }
}

/// The page for a valid link not used yet: good or bad.
fn choice(service: &crate::service::Service, token: &str) -> Response {
    match service.rating_of(token) {
        Ok(_) => RatingPage {
            title: "How did we do?".into(),
            channel: "Docket".into(),
            choose: true,
            ..Default::default()
        }
        .respond(StatusCode::OK),
        Err(e) => refused(&e),
    }
}

fn refused(error: &ServiceError) -> Response {
    let (status, page) = RatingPage::refusal(error);
    page.respond(status)
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    comment: String,
}

/// `POST /rate/{token}`: the optional comment, kept once.
#[handler]
pub async fn comment(
    req: &Request,
    Path(token): Path<String>,
    Form(form): Form<CommentForm>,
) -> Response {
    let service = &app(req).service;
    match service.comment_on_rating(&token, &form.comment).await {
        Ok(receipt) => RatingPage::thanks(&receipt).respond(StatusCode::OK),
        Err(ServiceError::Invalid { message, .. }) => match service.rating_of(&token) {
            Ok(Some(receipt)) => RatingPage {
                comment: form.comment,
                comment_error: Some(capitalise(&message)),
                ..RatingPage::thanks(&receipt)
            }
            .respond(StatusCode::UNPROCESSABLE_ENTITY),
            Ok(None) => choice(service, &token),
            Err(e) => refused(&e),
        },
        Err(e) => refused(&e),
    }
}
