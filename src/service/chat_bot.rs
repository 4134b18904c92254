//! The chat widget's answering bot through the language model, where an
//! admin turned it on for the widget. From the visitor's first line the
//! chat is a case in progress by the AI agent (`held_by_ai`): visitors'
//! lines are its inbound messages, the model's answers its outbound ones
//! (by the AI agent, meeting no milestone, sent by no email). The AI hands
//! over when the visitor asks for a person, when the model cannot help or
//! fails, or when a person replies or takes over; the case is then the
//! team's like any other.

use std::collections::HashMap;
use std::sync::Arc;

use super::ai::AI_ACTOR;
use super::cases::{live_case, workable_case};
use super::intake::open_case;
use super::widget::{WidgetAnswer, chat_draft, transcript_of};
use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, CaseNumber, Status};
use crate::domain::channel::ChannelId;
use crate::domain::user::User;
use crate::domain::widget::{self, ChatLine, ChatSide, HANDOVER_MARKER};
use crate::llm::{LanguageModel, Turn};
use crate::store::{Reads, WidgetReads, WidgetWrites, WriteTxn, Writes};

/// The most conversation the model reads, in characters (the latest
/// lines; a chat rarely comes near it).
const CHAT_CHARS: usize = 12_000;

/// Why the AI stops answering, as the activity records it.
const VISITOR_ASKED: &str = "the visitor asked for a person";
const MODEL_UNSURE: &str = "the AI agent could not answer";
const CHAT_TOO_LONG: &str = "the chat went on too long for the AI agent";

/// The most answers the AI gives in one chat before a person takes it: a
/// chat that long needs one, and it bounds what a visitor can make the
/// model do.
const ANSWERS_MAX: usize = 20;
/// Model calls for the widget at once, server-wide; more wait their turn.
const MODEL_CALLS_MAX: usize = 8;

/// One turn at a time per chat (a second line waits for the answer to
/// the first, so answers never cross), and a bounded number of model calls
/// in all.
pub struct ChatTurns {
    chats: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    model_calls: tokio::sync::Semaphore,
}

impl Default for ChatTurns {
    fn default() -> Self {
        ChatTurns {
            chats: std::sync::Mutex::default(),
            model_calls: tokio::sync::Semaphore::new(MODEL_CALLS_MAX),
        }
    }
}

impl ChatTurns {
    async fn turn(&self, chat: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut chats = self.chats.lock().unwrap_or_else(|e| e.into_inner());
            // Chats nobody is taking a turn in are forgotten.
            chats.retain(|_, lock| Arc::strong_count(lock) > 1);
            chats.entry(chat.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// The model and what it is told, for one widget.
pub(super) struct ChatBot {
    model: Arc<LanguageModel>,
    instructions: String,
}

/// What the model is told before the chat: who it answers for, when to
/// hand over, and what the admin wrote for it.
fn instructions_for(channel_name: &str, admin_notes: &str) -> String {
    let mut text = format!(
        "You answer visitors in the chat on the website of the support team \"{channel_name}\". \
         Answer in the visitor's language, briefly and politely, in plain text. \
         Only state what you know from these instructions or the conversation; \
         never invent order details, prices, dates or promises. \
         If you cannot answer, if the visitor needs something only a person can do \
         (refunds, account changes, anything about a specific order), or if they are upset, \
         answer with the single word {HANDOVER_MARKER} and nothing else: \
         a person from the team will then take over."
    );
    if !admin_notes.trim().is_empty() {
        text.push_str("\n\nWhat the team wants you to know:\n");
        text.push_str(admin_notes.trim());
    }
    text
}

/// The chat as the model continues it: the visitor's lines as the user's,
/// the AI's and the team's answers as the assistant's, the latest that fit.
fn turns_of(events: &[ActivityEvent]) -> Vec<Turn> {
    let mut turns = Vec::new();
    let mut size = 0;
    for event in events.iter().rev() {
        let EventKind::Message {
            direction, body, ..
        } = &event.kind
        else {
            continue;
        };
        if size + body.len() > CHAT_CHARS && !turns.is_empty() {
            break;
        }
        size += body.len();
        turns.push(match direction {
            Direction::Inbound => Turn::User(body.clone()),
            Direction::Outbound => Turn::Assistant(body.clone()),
        });
    }
    turns.reverse();
    // A conversation starts with the visitor.
    while matches!(turns.first(), Some(Turn::Assistant(_))) {
        turns.remove(0);
    }
    turns
}

impl Service {
    /// The bot for the channel's widget, when the model answers there.
    pub(super) fn chat_bot(&self, channel: ChannelId) -> ServiceResult<Option<ChatBot>> {
        let Some(model) = self.llm.clone() else {
            return Ok(None);
        };
        let Some(widget) = self.channel_integrations(channel)?.widget else {
            return Ok(None);
        };
        if !widget.model_answers {
            return Ok(None);
        }
        let name = self.channel_name(channel)?;
        Ok(Some(ChatBot {
            model,
            instructions: instructions_for(&name, &widget.model_instructions),
        }))
    }

    /// A visitor's line where the model answers the widget: onto the
    /// chat's case (the first line opens it), then the model's turn. One
    /// line of a chat at a time.
    pub(super) async fn model_line(
        &self,
        channel: ChannelId,
        id: &str,
        text: &str,
        bot: &ChatBot,
    ) -> ServiceResult<WidgetAnswer> {
        let _turn = self.chat_turns.turn(id).await;
        // Read again under the turn: the line before may have opened it.
        let session = self
            .store
            .read()?
            .widget_session(id)?
            .ok_or_else(|| ServiceError::Unauthorized("the chat session ended".into()))?;
        let case = match session.case {
            Some(case) => {
                let case = self.chat_case(case)?;
                self.widget_to_case(case, &session, text).await?;
                case
            }
            None => self.open_held_chat(channel, id, text).await?,
        };
        self.bot_turn(case, text, bot).await
    }

    /// The visitor's first line opens the chat's case, held by the AI.
    async fn open_held_chat(
        &self,
        channel: ChannelId,
        id: &str,
        text: &str,
    ) -> ServiceResult<CaseNumber> {
        let session = self
            .store
            .read()?
            .widget_session(id)?
            .ok_or_else(|| ServiceError::Unauthorized("the chat session ended".into()))?;
        let mut first = session.clone();
        first.transcript.push(ChatLine {
            from: ChatSide::Visitor,
            text: text.to_owned(),
            at: now(),
        });
        let plan = self
            .plan_case_in(channel, chat_draft(id, &first, None))
            .await?;
        let (id, line) = (id.to_owned(), first.transcript.pop());
        self.store
            .write(move |txn| {
                let mut session = txn
                    .widget_session(&id)?
                    .ok_or_else(|| ServiceError::Unauthorized("the chat session ended".into()))?;
                if session.case.is_some() {
                    // A hand-over from another request got there first.
                    return Err(ServiceError::Conflict(
                        "the chat changed meanwhile; send your message again".into(),
                    ));
                }
                session.transcript.extend(line.clone());
                let at = now();
                let (case, _) = open_case(txn, &plan, at, |case| {
                    let mut first = Vec::new();
                    // Spam the rules closed is nobody's to answer.
                    if case.status == Status::Open {
                        case.change_status(Status::InProgress, AI_ACTOR, at)?;
                        case.held_by_ai = true;
                        first.push(super::intake::FirstEvent {
                            at,
                            kind: EventKind::StatusChanged {
                                from: Status::Open,
                                to: Status::InProgress,
                            },
                            meets_milestones: false,
                        });
                    }
                    first.extend(transcript_of(&session));
                    Ok(first)
                })?;
                session.case = Some(case.number);
                txn.put_widget_session(&id, &session)?;
                Ok(case.number)
            })
            .await
    }

    /// The visitor's line is on the case: the model answers it, or the AI
    /// hands the chat over.
    async fn bot_turn(
        &self,
        case: CaseNumber,
        text: &str,
        bot: &ChatBot,
    ) -> ServiceResult<WidgetAnswer> {
        if !self.store.read()?.case(case)?.is_some_and(|c| c.held_by_ai) {
            return Ok(WidgetAnswer::handed_over(case));
        }
        if widget::asks_for_a_person(text) {
            return self.hand_over(case, VISITOR_ASKED).await;
        }
        let events = self.store.read()?.activity(case)?;
        let answers = events
            .iter()
            .filter(|e| e.actor == AI_ACTOR && matches!(e.kind, EventKind::Message { .. }))
            .count();
        if answers >= ANSWERS_MAX {
            return self.hand_over(case, CHAT_TOO_LONG).await;
        }
        let turns = turns_of(&events);
        let answer = {
            let _call = self.chat_turns.model_calls.acquire().await;
            bot.model.chat(&bot.instructions, &turns).await
        };
        match answer {
            Ok(answer) if widget::model_hands_over(&answer) => {
                self.hand_over(case, MODEL_UNSURE).await
            }
            Ok(answer) => match widget::clean_chat_text(&answer) {
                Some(answer) => self.record_bot_answer(case, answer).await,
                None => self.hand_over(case, MODEL_UNSURE).await,
            },
            Err(e) => {
                tracing::warn!(case, error = %e, "the widget's language model failed; handing over");
                self.hand_over(case, &format!("the language model failed ({e})"))
                    .await
            }
        }
    }

    /// Stores the model's answer on the case, unless someone took the
    /// chat over while the model was writing.
    async fn record_bot_answer(
        &self,
        number: CaseNumber,
        answer: String,
    ) -> ServiceResult<WidgetAnswer> {
        let stored = self
            .store
            .write(move |txn| {
                let Some(mut case) = txn.case(number)?.filter(|c| c.held_by_ai) else {
                    return Ok::<_, ServiceError>(None);
                };
                let at = now();
                case.updated_at = at;
                case.updated_by = AI_ACTOR.to_owned();
                txn.put_case(&case)?;
                // Not a reply by the team: it meets no milestone.
                let kind = EventKind::Message {
                    direction: Direction::Outbound,
                    from: Some(AI_ACTOR.to_owned()),
                    body: answer.clone(),
                    email: None,
                    delivery: None,
                };
                txn.append_event(&case, AI_ACTOR, at, kind)?;
                Ok(Some(ChatLine {
                    from: ChatSide::Bot,
                    text: answer.clone(),
                    at,
                }))
            })
            .await?;
        Ok(match stored {
            Some(line) => WidgetAnswer {
                replies: vec![line],
                case: Some(number),
                handed_over: false,
                from_model: true,
            },
            None => WidgetAnswer::handed_over(number),
        })
    }

    /// The AI stops answering: the case is open for the team.
    pub(super) async fn hand_over(
        &self,
        number: CaseNumber,
        reason: &str,
    ) -> ServiceResult<WidgetAnswer> {
        // Most lines of a handed-over chat come here: only a held case is
        // written to.
        if !live_case(&self.store.read()?, number)?.is_some_and(|c| c.held_by_ai) {
            return Ok(WidgetAnswer::handed_over(number));
        }
        let reason = reason.to_owned();
        self.store
            .write(move |txn| {
                let Some(mut case) = live_case(txn, number)?.filter(|c| c.held_by_ai) else {
                    return Ok::<_, ServiceError>(());
                };
                let at = now();
                case.change_status(Status::Open, AI_ACTOR, at)?;
                super::cases::store_case(txn, &mut case, at)?;
                let kind = EventKind::HandedOver {
                    reason: reason.clone(),
                    status: Some(Status::Open),
                };
                txn.append_event(&case, AI_ACTOR, at, kind)?;
                Ok(())
            })
            .await?;
        Ok(WidgetAnswer::handed_over(number))
    }

    /// A person takes a chat from the AI agent: it stops answering, and
    /// the case becomes theirs when nobody has it yet.
    pub async fn take_over_from_ai(&self, actor: &User, number: CaseNumber) -> ServiceResult<Case> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot take over chats".into(),
            ));
        }
        let viewer = actor.clone();
        let actor = actor.clone();
        let case = self
            .store
            .write(move |txn| {
                let (mut case, channel) = workable_case(txn, &actor, number)?;
                if !case.held_by_ai {
                    return Err(ServiceError::Conflict(
                        "the AI agent is not answering this case".into(),
                    ));
                }
                let (at, who) = (now(), actor.username.as_str());
                case.release_from_ai(at);
                let assigned = if case.assignee.is_none()
                    && crate::domain::access::can_be_assigned(&actor, &channel)
                {
                    case.assign(Some(who.to_owned()), who, at)?
                } else {
                    None
                };
                case.updated_at = at;
                case.updated_by = who.to_owned();
                txn.put_case(&case)?;
                let reason = format!("{} took over", actor.display_name);
                txn.append_event(
                    &case,
                    who,
                    at,
                    EventKind::HandedOver {
                        reason,
                        status: None,
                    },
                )?;
                if let Some(from) = assigned {
                    let to = Some(who.to_owned());
                    txn.append_event(&case, who, at, EventKind::Assigned { from, to })?;
                }
                Ok(case)
            })
            .await?;
        Ok(super::visibility::shown_case(&viewer, case))
    }
}

/// A held chat whose visitor left without asking for anyone: the AI
/// agent answered what they wanted, so it closes the case.
pub(super) fn close_left_chat(
    txn: &WriteTxn,
    number: CaseNumber,
    at: crate::domain::Timestamp,
) -> ServiceResult<()> {
    let Some(mut case) = live_case(txn, number)?.filter(|c| c.held_by_ai) else {
        return Ok(());
    };
    let from = case.close(AI_ACTOR, at)?;
    super::cases::store_case(txn, &mut case, at)?;
    txn.append_event(&case, AI_ACTOR, at, EventKind::Closed { from })?;
    Ok(())
}

/// A person's reply on a case the AI holds ends the hold, inside the
/// reply's own write; the event that says so, if it did.
pub(super) fn release_for_reply(
    case: &mut Case,
    actor: &User,
    at: crate::domain::Timestamp,
) -> Option<EventKind> {
    if !case.held_by_ai || actor.is_partner() || actor.username == Service::operator().username {
        return None;
    }
    case.release_from_ai(at);
    Some(EventKind::HandedOver {
        reason: format!("{} replied", actor.display_name),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::activity::ActivityEvent;

    fn message(seq: u64, direction: Direction, body: &str) -> ActivityEvent {
        ActivityEvent {
            seq,
            at: chrono::Utc::now(),
            actor: "x".into(),
            kind: EventKind::Message {
                direction,
                from: None,
                body: body.into(),
                email: None,
                delivery: None,
            },
        }
    }

    #[test]
    fn the_model_reads_the_chat_from_the_visitors_side_newest_last() {
        let events = vec![
            message(1, Direction::Outbound, "Welcome!"),
            message(2, Direction::Inbound, "Where is my parcel?"),
            message(3, Direction::Outbound, "It left the depot."),
            message(4, Direction::Inbound, "Thanks, when will it come?"),
        ];
        assert_eq!(
            turns_of(&events),
            vec![
                Turn::User("Where is my parcel?".into()),
                Turn::Assistant("It left the depot.".into()),
                Turn::User("Thanks, when will it come?".into()),
            ]
        );
    }

    #[test]
    fn a_long_chat_keeps_its_latest_lines() {
        let long = "x".repeat(CHAT_CHARS / 2);
        let events: Vec<_> = (0..6)
            .map(|i| message(i, Direction::Inbound, &format!("{i}{long}")))
            .collect();
        let turns = turns_of(&events);
        assert_eq!(turns.len(), 1);
        assert!(matches!(&turns[0], Turn::User(t) if t.starts_with('5')));
    }

    #[test]
    fn the_instructions_carry_the_marker_and_the_admins_notes() {
        let text = instructions_for("Support", "We open at 9.");
        assert!(text.contains(HANDOVER_MARKER));
        assert!(text.contains("We open at 9."));
        assert!(!instructions_for("Support", "  ").contains("wants you to know"));
    }
}
