//! The chat widget: visitor sessions on signed tokens, a bot answering
//! through the `widget_reply` hook, and the hand-over to a person, which
//! opens a case holding the whole transcript. Agents' replies on that case
//! reach the visitor while the page is open.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::intake::{FirstEvent, NewCase, open_case};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::activity::{Direction, EventKind};
use crate::domain::case::{CaseDraft, CaseNumber, Customer, Source};
use crate::domain::channel::ChannelId;
use crate::domain::widget::{self, ChatLine, ChatSide, WidgetSession};
use crate::store::{Reads, WidgetReads, WidgetWrites};

/// The actor recorded for what visitors write.
pub const WIDGET_ACTOR: &str = "widget";
/// How long a visitor's session lasts.
const SESSION_HOURS: i64 = 12;
/// Messages one session may send per minute.
const MESSAGES_PER_MINUTE: u32 = 20;
/// Chats one address may start per ten minutes on one widget.
const SESSIONS_PER_ADDRESS: u32 = 30;
/// Chats a widget takes per ten minutes in all.
const SESSIONS_PER_WIDGET: u32 = 3000;
/// Long polls held open at once, server-wide.
const POLLS_MAX: usize = 512;

/// The session id of a token (its first part), for bookkeeping only: the
/// token itself is checked before this is used.
fn token_id(token: &str) -> String {
    token.split('.').next().unwrap_or_default().to_owned()
}

/// Open long polls: one per chat, a bounded number in all.
#[derive(Debug, Default)]
pub struct PollBoard {
    open: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Leaves the board when the poll ends.
pub struct PollGuard<'a> {
    board: &'a PollBoard,
    id: String,
}

impl PollBoard {
    fn enter(&self, id: &str) -> ServiceResult<PollGuard<'_>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.contains(id) || open.len() >= POLLS_MAX {
            return Err(ServiceError::SenderThrottled {
                sender: "this chat".into(),
                retry_after_secs: 2,
            });
        }
        open.insert(id.to_owned());
        Ok(PollGuard {
            board: self,
            id: id.to_owned(),
        })
    }
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        let mut open = self.board.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
    }
}
/// Longest transcript kept before a hand-over.
const TRANSCRIPT_MAX: usize = 200;

/// A started session: the token the page keeps.
#[derive(Debug, Clone)]
pub struct WidgetStart {
    pub token: String,
    pub expires_at: crate::domain::Timestamp,
}

/// What the visitor sees after writing.
#[derive(Debug, Clone)]
pub struct WidgetAnswer {
    pub replies: Vec<ChatLine>,
    /// The chat's case, once there is one: from the first line when the
    /// language model answers, else from the hand-over.
    pub case: Option<CaseNumber>,
    /// A person has the conversation now.
    pub handed_over: bool,
    /// The replies came from the language model (not a plugin).
    pub from_model: bool,
}

impl WidgetAnswer {
    pub(super) fn handed_over(case: CaseNumber) -> WidgetAnswer {
        WidgetAnswer {
            replies: Vec::new(),
            case: Some(case),
            handed_over: true,
            from_model: false,
        }
    }
}

/// A reply from the team, for the visitor's page.
#[derive(Debug, Clone)]
pub struct AgentLine {
    pub seq: u64,
    pub text: String,
    pub at: crate::domain::Timestamp,
}

impl Service {
    pub(super) fn server_key(&self) -> ServiceResult<[u8; 32]> {
        if let Some(key) = self.server_key.get() {
            return Ok(*key);
        }
        // One first use at a time, so every caller ends with the key on disk.
        static FIRST_USE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = FIRST_USE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = self.server_key.get() {
            return Ok(*key);
        }
        let key = crate::store::blobs::server_key(&self.config.data_dir)?;
        Ok(*self.server_key.get_or_init(|| key))
    }

    fn sign_session(&self, body: &str) -> ServiceResult<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.server_key()?)
            .expect("HMAC takes keys of any length");
        mac.update(body.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    /// The session a token names, if the signature holds, it is for this
    /// channel and it has not expired.
    fn session_of(
        &self,
        channel: ChannelId,
        token: &str,
    ) -> ServiceResult<(String, WidgetSession)> {
        let refused =
            || ServiceError::Unauthorized("the chat session is not valid; reload the page".into());
        let (body, signature) = token.rsplit_once('.').ok_or_else(refused)?;
        let expected = self.sign_session(body)?;
        use subtle::ConstantTimeEq;
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Err(refused());
        }
        let mut parts = body.split('.');
        let (Some(id), Some(token_channel), Some(expires)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(refused());
        };
        let expires: i64 = expires.parse().map_err(|_| refused())?;
        if token_channel != channel.to_string() || expires < now().timestamp() {
            return Err(refused());
        }
        let session = self.store.read()?.widget_session(id)?.ok_or_else(refused)?;
        Ok((id.to_owned(), session))
    }

    /// Forgets chat sessions that have expired (their cases stay). A chat
    /// the AI agent still held ended well: the visitor left without asking
    /// for anyone, so the AI closes it.
    pub async fn purge_expired_widget_sessions(&self) -> ServiceResult<usize> {
        let at = now();
        self.store
            .write(move |txn| {
                let cases = txn.delete_widget_sessions_expired_by(at)?;
                for number in cases.iter().flatten() {
                    super::chat_bot::close_left_chat(txn, *number, at)?;
                }
                Ok(cases.len())
            })
            .await
    }

    /// Whether pages of `origin` may use the channel's widget.
    pub fn widget_allows(&self, channel: ChannelId, origin: &str) -> bool {
        self.channel_integrations(channel)
            .ok()
            .and_then(|i| i.widget)
            .is_some_and(|w| w.allowed_origins.iter().any(|o| o == origin))
    }

    /// Starts a visitor's chat on a channel with the widget.
    pub async fn widget_start(
        &self,
        channel: ChannelId,
        client: &str,
        name: Option<String>,
        email: Option<String>,
    ) -> ServiceResult<WidgetStart> {
        if self.channel_integrations(channel)?.widget.is_none() {
            return Err(ServiceError::NotFound(format!(
                "channel {channel} has no chat widget"
            )));
        }
        // One address cannot open chats without end, nor can everyone
        // together (behind a proxy, many visitors share an address).
        let window = Duration::from_secs(600);
        if !self.mail_senders.admit(
            &format!("widget-start:{channel}:{client}"),
            SESSIONS_PER_ADDRESS,
            window,
        ) || !self.mail_senders.admit(
            &format!("widget-start:{channel}"),
            SESSIONS_PER_WIDGET,
            window,
        ) {
            return Err(ServiceError::SenderThrottled {
                sender: "this address".into(),
                retry_after_secs: 600,
            });
        }
        let name = crate::domain::validate::optional_label("name", name.as_deref(), 100)?;
        let email = crate::domain::validate::optional_email("email", email.as_deref())?;
        let id = hex::encode(rand::random::<[u8; 16]>());
        let at = now();
        let expires_at = at + chrono::Duration::hours(SESSION_HOURS);
        let body = format!("{id}.{channel}.{}", expires_at.timestamp());
        let token = format!("{body}.{}", self.sign_session(&body)?);
        let session = WidgetSession {
            channel,
            created_at: at,
            expires_at,
            name,
            email,
            transcript: Vec::new(),
            case: None,
        };
        self.store
            .write(move |txn| {
                txn.put_widget_session(&id, &session)?;
                Ok::<_, ServiceError>(())
            })
            .await?;
        Ok(WidgetStart { token, expires_at })
    }

    /// A visitor's message: kept, answered by the bot, or — once a person
    /// has the chat — added to its case.
    pub async fn widget_message(
        &self,
        channel: ChannelId,
        token: &str,
        text: &str,
    ) -> ServiceResult<WidgetAnswer> {
        let (id, session) = self.session_of(channel, token)?;
        let text = widget::clean_chat_text(text)
            .ok_or_else(|| ServiceError::invalid("text", "write something first"))?;
        if !self.mail_senders.admit(
            &format!("widget:{id}"),
            MESSAGES_PER_MINUTE,
            Duration::from_secs(60),
        ) {
            return Err(ServiceError::SenderThrottled {
                sender: "this chat".into(),
                retry_after_secs: 60,
            });
        }
        if let Some(bot) = self.chat_bot(channel)? {
            return self.model_line(channel, &id, &text, &bot).await;
        }
        if let Some(case) = session.case {
            let case = self.chat_case(case)?;
            self.widget_to_case(case, &session, &text).await?;
            // The model was turned off mid-chat: the team has it now.
            return self
                .hand_over(case, "the widget's model answers were turned off")
                .await;
        }
        let decision = match &self.scripts {
            Some(host) => {
                let host = host.clone();
                let (asked, channel_name, count) = (
                    text.clone(),
                    self.channel_name(channel)?,
                    session.transcript.len(),
                );
                tokio::task::spawn_blocking(move || host.widget_reply(&asked, &channel_name, count))
                    .await
                    .unwrap_or_default()
            }
            None => Default::default(),
        };
        let at = now();
        let mut lines = vec![ChatLine {
            from: ChatSide::Visitor,
            text: text.clone(),
            at,
        }];
        if let Some(reply) = decision.reply {
            lines.push(ChatLine {
                from: ChatSide::Bot,
                text: reply,
                at,
            });
        }
        let replies: Vec<ChatLine> = lines.iter().skip(1).cloned().collect();
        let escalate = decision.escalate || widget::asks_for_a_person(&text);
        let stored = lines.clone();
        self.store
            .write(move |txn| {
                let mut session = txn
                    .widget_session(&id)?
                    .ok_or_else(|| ServiceError::Unauthorized("the chat session ended".into()))?;
                if session.transcript.len() + stored.len() > TRANSCRIPT_MAX {
                    return Err(ServiceError::Conflict(
                        "this chat is long; ask for a person to go on".into(),
                    ));
                }
                session.transcript.extend(stored.iter().cloned());
                txn.put_widget_session(&id, &session)?;
                Ok(())
            })
            .await?;
        let case = if escalate {
            Some(self.widget_escalate(channel, token, None).await?)
        } else {
            None
        };
        Ok(WidgetAnswer {
            replies,
            case,
            handed_over: case.is_some(),
            from_model: false,
        })
    }

    pub(super) fn channel_name(&self, channel: ChannelId) -> ServiceResult<String> {
        Ok(self
            .store
            .read()?
            .channel(channel)?
            .map(|c| c.name)
            .unwrap_or_default())
    }

    /// Hands the chat to a person: a case with the whole transcript.
    pub async fn widget_escalate(
        &self,
        channel: ChannelId,
        token: &str,
        email: Option<String>,
    ) -> ServiceResult<CaseNumber> {
        let (id, session) = self.session_of(channel, token)?;
        if let Some(case) = session.case {
            let case = self.chat_case(case)?;
            // Held by the AI: the visitor pressed *Talk to a person*.
            self.hand_over(case, "the visitor asked for a person")
                .await?;
            return Ok(case);
        }
        let email = crate::domain::validate::optional_email("email", email.as_deref())?;
        let plan = self
            .plan_case_in(channel, chat_draft(&id, &session, email.clone()))
            .await?;
        self.store
            .write(move |txn| {
                let mut session = txn
                    .widget_session(&id)?
                    .ok_or_else(|| ServiceError::Unauthorized("the chat session ended".into()))?;
                if let Some(case) = session.case {
                    return Ok(case);
                }
                // The transcript, as it happened.
                let (case, _) = open_case(txn, &plan, now(), |_| Ok(transcript_of(&session)))?;
                session.case = Some(case.number);
                if session.email.is_none() {
                    session.email = email.clone();
                }
                txn.put_widget_session(&id, &session)?;
                Ok(case.number)
            })
            .await
    }

    /// The case a chat's case went into, when it was merged.
    pub(super) fn chat_case(&self, case: CaseNumber) -> ServiceResult<CaseNumber> {
        let live = super::cases::live_case(&self.store.read()?, case)?;
        Ok(live.map_or(case, |c| c.number))
    }

    pub(super) async fn widget_to_case(
        &self,
        case: CaseNumber,
        session: &WidgetSession,
        text: &str,
    ) -> ServiceResult<()> {
        let case = self.chat_case(case)?;
        let message = super::NewMessage {
            direction: Direction::Inbound,
            from: Some(session.name.clone().unwrap_or_else(|| "Visitor".into())),
            body: text.to_owned(),
        };
        self.add_message(&Service::operator(), case, message)
            .await
            .map(|_| ())
    }

    /// A reply to a chat also goes by email when the visitor left an
    /// address (they may have closed the page), from the channel's address.
    /// Failures are logged: the reply itself is already stored.
    pub(super) async fn copy_chat_reply_by_email(
        &self,
        actor: &crate::domain::user::User,
        number: CaseNumber,
        body: &str,
    ) {
        let Ok((case, channel)) = self.get_case_with_channel(actor, number) else {
            return;
        };
        let Some(address) = case.customer.as_ref().and_then(|c| c.email.clone()) else {
            return;
        };
        if case.source != Source::Widget || channel.email_address.is_none() {
            return;
        }
        let update = super::NewUpdate {
            to: vec![address],
            subject: Some(
                format!("Re: {}", case.subject)
                    .chars()
                    .take(crate::domain::case::SUBJECT_MAX)
                    .collect(),
            ),
            body: body.to_owned(),
            ..Default::default()
        };
        if let Err(e) = self.send_update(actor, number, update).await {
            tracing::warn!(case = number, error = %e, "could not send a chat reply by email");
        }
    }

    /// The team's replies on the chat's case after `after` (an event seq),
    /// waiting up to `wait` for one to arrive.
    pub async fn widget_updates(
        &self,
        channel: ChannelId,
        token: &str,
        after: u64,
        wait: Duration,
    ) -> ServiceResult<(Option<CaseNumber>, Vec<AgentLine>)> {
        let (_, session) = self.session_of(channel, token)?;
        let Some(case) = session.case else {
            return Ok((None, Vec::new()));
        };
        let case = self.chat_case(case)?;
        let _poll = self.widget_polls.enter(&token_id(token))?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut commits = self.store.commits();
        loop {
            let mut lines = Vec::new();
            self.store.read()?.visit_activity(case, &mut |event| {
                // Email copies of replies are not shown twice.
                // Nor the AI's answers: the visitor had them at once.
                if event.seq > after
                    && event.actor != WIDGET_ACTOR
                    && event.actor != super::ai::AI_ACTOR
                    && let EventKind::Message {
                        direction: Direction::Outbound,
                        body,
                        email: None,
                        ..
                    } = event.kind
                {
                    lines.push(AgentLine {
                        seq: event.seq,
                        text: body,
                        at: event.at,
                    });
                }
                true
            })?;
            if !lines.is_empty() {
                return Ok((Some(case), lines));
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep_until(deadline) => return Ok((Some(case), Vec::new())),
            }
        }
    }
}

/// The case a chat opens: its first line as the subject, the visitor as
/// the customer, threaded by the chat.
pub(super) fn chat_draft(id: &str, session: &WidgetSession, email: Option<String>) -> NewCase {
    let first = session
        .transcript
        .iter()
        .find(|l| l.from == ChatSide::Visitor)
        .map(|l| l.text.clone())
        .unwrap_or_else(|| "Chat from the website".into());
    let draft = CaseDraft {
        subject: first
            .split_whitespace()
            .take(12)
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(crate::domain::case::SUBJECT_MAX)
            .collect(),
        source: Some(Source::Widget),
        customer: Some(Customer {
            name: session.name.clone(),
            email: email.or(session.email.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    NewCase::new(draft, Source::Widget, WIDGET_ACTOR).threaded_by(Some(format!("widget:{id}")))
}

/// A chat's transcript as the messages a case opens with, at their own
/// times. They happened before the case existed: they meet no milestone.
pub(super) fn transcript_of(session: &WidgetSession) -> Vec<FirstEvent> {
    session
        .transcript
        .iter()
        .map(|line| {
            let (direction, from) = match line.from {
                ChatSide::Visitor => (
                    Direction::Inbound,
                    session.name.clone().unwrap_or_else(|| "Visitor".into()),
                ),
                _ => (Direction::Outbound, "Chat bot".to_owned()),
            };
            FirstEvent {
                at: line.at,
                kind: EventKind::Message {
                    direction,
                    from: Some(from),
                    body: line.text.clone(),
                    email: None,
                    delivery: None,
                },
                meets_milestones: false,
            }
        })
        .collect()
}
