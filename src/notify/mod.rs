//! Slack notifications and posts to other services: what the notify
//! consumer of the outbox turns case events into (messages for the
//! channel's incoming webhook, stored as deliveries), and how a delivery
//! is posted. `workers` runs both, retrying failed posts with backoff. A
//! failing webhook never holds up or loses a case change, and nothing is
//! sent for an auto-resolved case.

mod slack;

use std::time::Duration;

use crate::config::NotifyConfig;
use crate::domain::activity::{Direction, EventKind, EventName};
use crate::domain::retry::RetryPolicy;
use crate::outbound::OutboundPolicy;
use crate::store::{Delivery, OutboxEvent, QueueReads, QueueWrites, Reads, Store, StoreError};

/// Deliveries looked at per round.
const SEND_BATCH: usize = 64;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The Slack messages a batch of outbox entries calls for.
pub fn deliveries_for(
    txn: &impl Reads,
    entries: &[(u64, OutboxEvent)],
    config: &NotifyConfig,
) -> Result<Vec<Delivery>, StoreError> {
    let mut deliveries = Vec::new();
    for (_, entry) in entries {
        if let Some(delivery) = delivery_for(txn, entry, config)? {
            deliveries.push(delivery);
        }
    }
    Ok(deliveries)
}

/// The Slack message an outbox entry calls for, if any.
fn delivery_for(
    txn: &impl Reads,
    entry: &OutboxEvent,
    config: &NotifyConfig,
) -> Result<Option<Delivery>, StoreError> {
    let OutboxEvent::CaseChanged {
        number,
        channel,
        event_seq,
        event,
        ..
    } = entry;
    if !matches!(
        event,
        EventName::Created
            | EventName::Message
            | EventName::StatusChanged
            | EventName::Closed
            | EventName::Reopened
            | EventName::Escalated
            | EventName::HandedOver
    ) {
        return Ok(None);
    }
    let Some(channel) = txn.channel(*channel)? else {
        return Ok(None);
    };
    let Some(url) = channel.settings.slack_webhook_url.clone() else {
        return Ok(None);
    };
    let Some(case) = txn.case(*number)? else {
        return Ok(None);
    };
    if case.auto_resolved || case.deleted_at.is_some() || case.held_by_ai {
        return Ok(None);
    }
    let Some(event) = txn.activity_event(*number, *event_seq)? else {
        return Ok(None);
    };
    // History written now (a migrated mailbox keeps its mail's dates) is
    // not news.
    if chrono::Utc::now() - event.at > chrono::Duration::days(1) {
        return Ok(None);
    }
    // While the AI agent answered a chat, the team was not disturbed; the
    // AI's hand-over to the team is the news.
    if let Some(released) = case.ai_released_at {
        let handed_to_team = matches!(
            event.kind,
            EventKind::HandedOver {
                status: Some(_),
                ..
            }
        );
        if event.at <= released && !handed_to_team {
            return Ok(None);
        }
    }
    // Only what the customer says is news; the team's own replies are not,
    // nor out-of-office replies and bounces.
    match &event.kind {
        EventKind::Message {
            direction: Direction::Outbound,
            ..
        } => return Ok(None),
        EventKind::Message {
            email: Some(email), ..
        } if email.noise.is_machine() => return Ok(None),
        _ => {}
    }
    let text = slack::text(&case, &channel, &event, config.public_url.as_deref());
    Ok(Some(Delivery {
        url,
        payload: slack::payload(&text),
        case: case.number,
        attempts: 0,
        next_at: 0,
        meta_channel: None,
        event: None,
    }))
}

/// The HTTP client deliveries are posted with.
pub fn client(policy: &OutboundPolicy) -> Result<reqwest::Client, reqwest::Error> {
    // It follows no redirect, which could lead past the allow-list.
    policy.http_client().timeout(SEND_TIMEOUT).build()
}

/// Sends every delivery that is due, recording the outcome of each.
pub async fn send_due(
    store: &Store,
    config: &NotifyConfig,
    policy: &OutboundPolicy,
    client: &reqwest::Client,
) -> Result<(), StoreError> {
    let now = chrono::Utc::now().timestamp();
    let due = store.read()?.due_deliveries(now, SEND_BATCH)?;
    for (id, mut delivery) in due {
        let bearer = match delivery.meta_channel {
            None => Ok(None),
            Some(channel) => store
                .read()?
                .channel(channel)?
                .and_then(|c| c.settings.integrations.meta)
                .map(|m| Some(m.page_access_token))
                .ok_or_else(|| {
                    (
                        "the channel is no longer connected to Meta".to_owned(),
                        true,
                    )
                }),
        };
        let outcome = match bearer {
            Ok(bearer) => send(client, config, policy, &delivery, bearer.as_deref()).await,
            Err(refused) => Err(refused),
        };
        let report = outcome.clone();
        let finished = match outcome {
            Ok(()) => true,
            Err((reason, permanent)) => {
                delivery.attempts += 1;
                match RetryPolicy::POST.after_failure(delivery.attempts, permanent) {
                    None => {
                        tracing::warn!(case = delivery.case, %reason, "an outbound delivery (Slack or a reply) failed for good and was dropped");
                        true
                    }
                    Some(delay) => {
                        tracing::info!(case = delivery.case, %reason, attempt = delivery.attempts, "an outbound delivery (Slack or a reply) failed; will retry");
                        delivery.next_at = now + delay;
                        false
                    }
                }
            }
        };
        store
            .write(move |txn| {
                if let Some(seq) = delivery.event {
                    show_outcome(txn, &delivery, seq, &report, finished)?;
                }
                if finished {
                    txn.delete_delivery(id)
                } else {
                    txn.put_delivery(id, &delivery)
                }
            })
            .await?;
    }
    Ok(())
}

/// Mirrors a delivery attempt on the outbound message it carries.
fn show_outcome(
    txn: &crate::store::WriteTxn,
    delivery: &Delivery,
    seq: u64,
    outcome: &Result<(), (String, bool)>,
    finished: bool,
) -> Result<(), StoreError> {
    use crate::store::{Reads, Writes};
    let Some(mut event) = txn.activity_event(delivery.case, seq)? else {
        return Ok(());
    };
    let at = chrono::Utc::now();
    let report = match outcome {
        Ok(()) => crate::domain::mail::DeliveryReport {
            state: "sent".into(),
            attempts: delivery.attempts + 1,
            last_error: None,
            at: Some(at),
        },
        Err((reason, _)) => crate::domain::mail::DeliveryReport {
            state: if finished { "failed" } else { "pending" }.into(),
            attempts: delivery.attempts,
            last_error: Some(reason.chars().take(500).collect()),
            at: finished.then_some(at),
        },
    };
    if let EventKind::Message {
        delivery: shown, ..
    } = &mut event.kind
    {
        *shown = Some(report);
    }
    txn.rewrite_event(delivery.case, &event, EventName::Delivery, "docket")
}

/// Posts one delivery; an error says why and whether retrying is useless
/// (the receiver refused the request itself).
async fn send(
    client: &reqwest::Client,
    config: &NotifyConfig,
    policy: &OutboundPolicy,
    delivery: &Delivery,
    bearer: Option<&str>,
) -> Result<(), (String, bool)> {
    // The allow-list may have changed since the URL was saved.
    crate::domain::validate::webhook_url("url", &delivery.url, &config.webhook_allow)
        .map_err(|e| (e.to_string(), true))?;
    policy
        .check_url(&delivery.url)
        .await
        .map_err(|e| (e.to_string(), false))?;
    let mut request = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(delivery.payload.clone());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| (crate::outbound::describe(e), false))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // Only for replies (Meta): a 4xx other than throttling will not change.
    let permanent = delivery.event.is_some()
        && status.is_client_error()
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
    // The reason is shown to agents, so it never quotes raw bytes of the
    // answer: only the message of a Graph API error, a field made to be read.
    let body = response.text().await.unwrap_or_default();
    let reason = match graph_error_message(&body) {
        Some(message) => format!("the receiver answered {status}: {message}"),
        None => format!("the receiver answered {status}"),
    };
    Err((reason, permanent))
}

/// `error.message` of a Graph API error answer, without control characters.
fn graph_error_message(body: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = answer.get("error")?.get("message")?.as_str()?;
    Some(
        message
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect(),
    )
}
