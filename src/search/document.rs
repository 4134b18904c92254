//! Turns a case and its activity into an index document.

use tantivy::{DateTime, TantivyDocument};

use super::schema::{Fields, sort_key};
use crate::domain::activity::{ActivityEvent, Direction, EventKind};
use crate::domain::case::{Case, Priority};

fn date(at: crate::domain::Timestamp) -> DateTime {
    super::schema::index_date(at.timestamp())
}

pub fn priority_rank(priority: Priority) -> u64 {
    match priority {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

/// When the customer last wrote, and whether that message still awaits an
/// answer from the help desk.
pub fn conversation_state(activity: &[ActivityEvent]) -> (Option<crate::domain::Timestamp>, bool) {
    let mut last_customer = None;
    let mut awaiting = false;
    for event in activity {
        if let EventKind::Message { direction, .. } = &event.kind {
            match direction {
                Direction::Inbound => {
                    last_customer = Some(event.at);
                    awaiting = true;
                }
                Direction::Outbound => awaiting = false,
            }
        }
    }
    (last_customer, awaiting)
}

/// The bodies of a case's messages.
pub fn message_texts(activity: &[ActivityEvent]) -> impl Iterator<Item = &str> {
    activity.iter().filter_map(|event| match &event.kind {
        EventKind::Message { body, .. } => Some(body.as_str()),
        _ => None,
    })
}

/// The bodies of a case's internal notes.
pub fn note_texts(activity: &[ActivityEvent]) -> impl Iterator<Item = &str> {
    activity.iter().filter_map(|event| match &event.kind {
        EventKind::Note { body } => Some(body.as_str()),
        _ => None,
    })
}

pub fn case_document(fields: &Fields, case: &Case, activity: &[ActivityEvent]) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(fields.number, case.number);
    doc.add_text(fields.subject, &case.subject);
    // Everything a plain word finds besides the subject and notes goes to
    // one `text` field: a word then searches three fields, not seven.
    doc.add_text(fields.text, &case.description);
    for body in message_texts(activity) {
        doc.add_text(fields.text, body);
    }
    for body in note_texts(activity) {
        doc.add_text(fields.notes, body);
    }
    let mut add_from = |value: &str| {
        doc.add_text(fields.from, value);
        doc.add_text(fields.text, value);
    };
    for event in activity {
        if let EventKind::Message {
            direction: Direction::Inbound,
            from: Some(from),
            ..
        } = &event.kind
        {
            add_from(from);
        }
    }
    if let Some(customer) = &case.customer {
        for value in [&customer.name, &customer.email, &customer.phone]
            .into_iter()
            .flatten()
        {
            add_from(value);
        }
        for handle in customer.handles.values() {
            add_from(handle);
        }
    }
    if let Some(device) = &case.device {
        for value in [&device.identifier, &device.model].into_iter().flatten() {
            doc.add_text(fields.text, value);
        }
    }
    if let Some(category) = &case.category {
        doc.add_text(fields.category, category);
    }
    if let Some(case_type) = &case.case_type {
        doc.add_text(fields.case_type, case_type);
    }
    doc.add_text(fields.status, case.status.as_str());
    doc.add_u64(fields.channel, case.channel);
    match &case.assignee {
        Some(assignee) => {
            doc.add_text(fields.assignee, assignee);
            doc.add_u64(fields.assigned, 1);
        }
        None => doc.add_u64(fields.assigned, 0),
    }
    doc.add_text(fields.creator, &case.created_by);
    let mut editors: Vec<&str> = activity.iter().map(|e| e.actor.as_str()).collect();
    editors.sort_unstable();
    editors.dedup();
    for editor in editors {
        doc.add_text(fields.editors, editor);
    }
    doc.add_text(fields.source, case.source.as_str());
    doc.add_u64(fields.priority, priority_rank(case.priority));
    doc.add_u64(fields.important, u64::from(case.important));
    doc.add_u64(fields.archived, u64::from(case.archived));
    doc.add_u64(fields.deleted, u64::from(case.deleted_at.is_some()));
    doc.add_u64(fields.resolved, u64::from(case.status.is_resolved()));
    doc.add_date(fields.created, date(case.created_at));
    doc.add_date(fields.updated, date(case.updated_at));
    if let Some(closed) = case.closed_at {
        doc.add_date(fields.closed, date(closed));
    }
    if let Some(deadline) = case.deadline {
        doc.add_date(fields.deadline, date(deadline));
    }
    let (last_customer, awaiting) = conversation_state(activity);
    if let Some(at) = last_customer {
        doc.add_date(fields.last_customer, date(at));
    }
    doc.add_u64(fields.awaiting_reply, u64::from(awaiting));
    let news = last_customer.map_or(case.created_at, |at| at.max(case.created_at));
    doc.add_u64(
        fields.unread_key,
        sort_key::time(news.timestamp(), case.number),
    );
    doc.add_u64(
        fields.sort_updated,
        sort_key::time(case.updated_at.timestamp(), case.number),
    );
    doc.add_u64(
        fields.sort_priority,
        sort_key::rank(priority_rank(case.priority), case.number),
    );
    doc.add_u64(
        fields.sort_deadline,
        sort_key::deadline(case.deadline.map(|d| d.timestamp()), case.number),
    );
    // The description first: for most cases it is what the customer wrote
    // first, and a long conversation would otherwise crowd it out.
    let texts = std::iter::once(case.description.as_str()).chain(message_texts(activity));
    doc.add_text(fields.excerpt, super::highlight::text_source(texts));
    doc.add_text(
        fields.excerpt_notes,
        super::highlight::notes_source(note_texts(activity)),
    );
    doc
}
