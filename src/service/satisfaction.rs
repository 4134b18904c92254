//! Satisfaction ratings: asking the customer when a person resolves a case,
//! and recording what the signed link brings back. The link needs no
//! sign-in; its signature and the case's own record of what was rated make
//! it work once per resolution.

use super::updates::{AutomaticMail, queue_automatic_mail};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::Timestamp;
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, CaseNumber};
use crate::domain::channel::Channel;
use crate::domain::satisfaction::{Rating, RatingLink, SatisfactionRating, checked_comment};
use crate::store::{Reads, WriteTxn, Writes};

/// What a rating request needs from the server: the key that signs links
/// and the address customers reach Docket at.
#[derive(Clone)]
pub(super) struct Survey {
    key: [u8; 32],
    public_url: String,
}

/// The actor of the customer's rating events.
pub const CUSTOMER_ACTOR: &str = "customer";

/// Where a rating link stands, for the page it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingReceipt {
    pub case: CaseNumber,
    pub subject: String,
    pub channel: String,
    pub rating: Rating,
    pub comment: Option<String>,
}

impl Service {
    /// How rating requests are signed and addressed; `None` while Docket
    /// does not know its public address.
    pub(super) fn survey(&self) -> ServiceResult<Option<Survey>> {
        let Some(public_url) = &self.config.notify.public_url else {
            return Ok(None);
        };
        Ok(Some(Survey {
            key: self.server_key()?,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }))
    }

    /// Records the rating a link brings. A link rates its resolution once;
    /// a forged link is reported like a missing case.
    pub async fn rate(&self, token: &str, rating: Rating) -> ServiceResult<RatingReceipt> {
        let link = self.verified_link(token)?;
        self.store
            .write(move |txn| {
                let (mut case, channel) = rated_case(txn, link)?;
                if case.ratings.iter().any(|r| r.resolution == link.resolution) {
                    return Err(ServiceError::Conflict(
                        "this resolution has been rated already; thank you".into(),
                    ));
                }
                let at = now();
                case.ratings.push(SatisfactionRating {
                    resolution: link.resolution,
                    rating,
                    comment: None,
                    at,
                });
                record(txn, &mut case, link, rating, None, at)?;
                Ok(receipt(&case, &channel, link))
            })
            .await
    }

    /// Adds the customer's comment to the rating their link recorded, once.
    pub async fn comment_on_rating(
        &self,
        token: &str,
        comment: &str,
    ) -> ServiceResult<RatingReceipt> {
        let link = self.verified_link(token)?;
        let comment = checked_comment(comment)?;
        self.store
            .write(move |txn| {
                let (mut case, channel) = rated_case(txn, link)?;
                let Some(rated) = case
                    .ratings
                    .iter_mut()
                    .find(|r| r.resolution == link.resolution)
                else {
                    return Err(ServiceError::Conflict(
                        "choose good or bad before commenting".into(),
                    ));
                };
                if rated.comment.is_some() {
                    return Err(ServiceError::Conflict(
                        "a comment was added to this rating already; thank you".into(),
                    ));
                }
                rated.comment = Some(comment.clone());
                let rating = rated.rating;
                record(txn, &mut case, link, rating, Some(comment.clone()), now())?;
                Ok(receipt(&case, &channel, link))
            })
            .await
    }

    /// The rating a link already recorded, if any (the page shown again).
    pub fn rating_of(&self, token: &str) -> ServiceResult<Option<RatingReceipt>> {
        let link = self.verified_link(token)?;
        let txn = self.store.read()?;
        let (case, channel) = rated_case(&txn, link)?;
        Ok(case
            .ratings
            .iter()
            .any(|r| r.resolution == link.resolution)
            .then(|| receipt(&case, &channel, link)))
    }

    fn verified_link(&self, token: &str) -> ServiceResult<RatingLink> {
        RatingLink::verify(token, &self.server_key()?)
            .ok_or_else(|| ServiceError::NotFound("this rating link is not valid".into()))
    }
}

/// The case a signed link names, with the resolution it names checked.
fn rated_case(txn: &impl Reads, link: RatingLink) -> ServiceResult<(Case, Channel)> {
    let missing = || ServiceError::NotFound("this rating link is not valid".into());
    let case = txn
        .case(link.case)?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(missing)?;
    match txn.activity_event(link.case, link.resolution)? {
        Some(ActivityEvent {
            kind: EventKind::Closed { .. },
            ..
        }) => {}
        _ => return Err(missing()),
    }
    let channel = txn.channel(case.channel)?.ok_or_else(missing)?;
    Ok((case, channel))
}

fn record(
    txn: &WriteTxn,
    case: &mut Case,
    link: RatingLink,
    rating: Rating,
    comment: Option<String>,
    at: Timestamp,
) -> ServiceResult<()> {
    txn.put_case(case)?;
    txn.append_event(
        case,
        CUSTOMER_ACTOR,
        at,
        EventKind::Rated {
            resolution: link.resolution,
            rating,
            comment,
        },
    )?;
    Ok(())
}

fn receipt(case: &Case, channel: &Channel, link: RatingLink) -> RatingReceipt {
    let rated = case
        .ratings
        .iter()
        .find(|r| r.resolution == link.resolution);
    RatingReceipt {
        case: case.number,
        subject: case.subject.clone(),
        channel: channel.name.clone(),
        rating: rated.map_or(Rating::Good, |r| r.rating),
        comment: rated.and_then(|r| r.comment.clone()),
    }
}

/// After people changed a case: when they resolved it and the channel asks
/// for ratings, mails the customer a rating link for this resolution. Never
/// to machines, merged cases or cases closed by the rules.
pub(super) fn ask_after_resolution(
    txn: &WriteTxn,
    case: &mut Case,
    channel: &Channel,
    appended: &[ActivityEvent],
    survey: Option<&Survey>,
    at: Timestamp,
) -> ServiceResult<()> {
    let Some(survey) = survey else {
        return Ok(());
    };
    let Some(closed) = appended
        .iter()
        .find(|e| matches!(e.kind, EventKind::Closed { .. }))
    else {
        return Ok(());
    };
    if !channel.settings.satisfaction || case.merge.is_some() || case.auto_resolved {
        return Ok(());
    }
    let Some(to) = case.customer.as_ref().and_then(|c| c.email.clone()) else {
        return Ok(());
    };
    if crate::domain::mail::is_machine_address(&to) || last_inbound_was_a_machine(txn, case)? {
        return Ok(());
    }
    let link = RatingLink {
        case: case.number,
        resolution: closed.seq,
    };
    let url = format!("{}/rate/{}", survey.public_url, link.token(&survey.key));
    let body = format!(
        "We have resolved case #{number}: {subject}\n\n\
         How did we do? One click records your answer:\n\n\
         Good: {url}?rating=good\n\
         Bad:  {url}?rating=bad\n\n\
         You may add a comment on the page that opens.\n",
        number = case.number,
        subject = case.subject,
    );
    let mail = AutomaticMail {
        to,
        subject: format!("How did we do? {}", case.subject),
        body,
        in_reply_to: None,
    };
    queue_automatic_mail(txn, channel, case, mail, at)
}

/// Whether the newest message from outside was an auto-reply or a bounce:
/// a rating request would only start a loop.
fn last_inbound_was_a_machine(txn: &impl Reads, case: &Case) -> ServiceResult<bool> {
    let activity = txn.activity(case.number)?;
    let last_inbound = activity.iter().rev().find_map(|e| match &e.kind {
        EventKind::Message {
            direction: Direction::Inbound,
            email,
            ..
        } => Some(email.as_ref().is_some_and(|m| m.noise.is_machine())),
        _ => None,
    });
    Ok(last_inbound.unwrap_or(false))
}
