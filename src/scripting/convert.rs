//! What scripts see (a read-only copy of the case as a rhai map) and how
//! their answers become decisions the host can check.

use std::collections::BTreeMap;

use rhai::{Array, Dynamic, Map};

use crate::domain::case::Case;
use crate::domain::channel::Channel;
use crate::domain::milestone::{Completion, Due, MilestoneSpec};
use crate::domain::profile::{FieldKind, ProfileField, ProfileValues};

/// The case as hooks receive it.
#[derive(Debug, Clone, Default)]
pub struct CaseView {
    pub number: u64,
    pub subject: String,
    pub description: String,
    /// The customer's first message, or the description when there is none.
    pub body: String,
    pub channel: String,
    pub channel_id: u64,
    pub source: String,
    pub priority: String,
    pub status: String,
    pub case_type: Option<String>,
    pub category: Option<String>,
    pub important: bool,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    pub profile: ProfileValues,
    /// Usernames of the channel's agents (members who may be assigned).
    pub agents: Vec<String>,
}

impl CaseView {
    pub fn new(case: &Case, channel: &Channel, agents: Vec<String>, body: Option<&str>) -> Self {
        let customer = case.customer.as_ref();
        CaseView {
            number: case.number,
            subject: case.subject.clone(),
            description: case.description.clone(),
            body: body.unwrap_or(&case.description).to_owned(),
            channel: channel.name.clone(),
            channel_id: channel.id,
            source: case.source.as_str().to_owned(),
            priority: case.priority.as_str().to_owned(),
            status: case.status.as_str().to_owned(),
            case_type: case.case_type.clone(),
            category: case.category.clone(),
            important: case.important,
            customer_name: customer.and_then(|c| c.name.clone()),
            customer_email: customer.and_then(|c| c.email.clone()),
            customer_phone: customer.and_then(|c| c.phone.clone()),
            created_at: case.created_at.timestamp(),
            profile: case.profile.clone(),
            agents,
        }
    }

    pub fn to_dynamic(&self) -> Dynamic {
        let text = |value: &str| Dynamic::from(value.to_owned());
        let optional = |value: &Option<String>| value.as_deref().map_or(Dynamic::UNIT, text);
        let mut map = Map::new();
        map.insert("number".into(), Dynamic::from(self.number as i64));
        map.insert("subject".into(), text(&self.subject));
        map.insert("description".into(), text(&self.description));
        map.insert("body".into(), text(&self.body));
        map.insert("channel".into(), text(&self.channel));
        map.insert("channel_id".into(), Dynamic::from(self.channel_id as i64));
        map.insert("source".into(), text(&self.source));
        map.insert("priority".into(), text(&self.priority));
        map.insert("status".into(), text(&self.status));
        map.insert("type".into(), optional(&self.case_type));
        map.insert("category".into(), optional(&self.category));
        map.insert("important".into(), Dynamic::from(self.important));
        let mut customer = Map::new();
        customer.insert("name".into(), optional(&self.customer_name));
        customer.insert("email".into(), optional(&self.customer_email));
        customer.insert("phone".into(), optional(&self.customer_phone));
        map.insert("customer".into(), Dynamic::from_map(customer));
        map.insert("created_at".into(), Dynamic::from(self.created_at));
        let profile: Map = self
            .profile
            .iter()
            .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
            .collect();
        map.insert("profile".into(), Dynamic::from_map(profile));
        let agents: Array = self.agents.iter().map(|a| text(a)).collect();
        map.insert("agents".into(), Dynamic::from_array(agents));
        Dynamic::from_map(map)
    }
}

/// The AI agent's verdict as hooks see it (`ticket.ai`): `category`,
/// `confidence`, `spam`, `priority` and `applied` (the category it set
/// itself, or `()`).
pub fn ai_to_dynamic(verdict: Option<&crate::domain::ai::AiVerdict>) -> Dynamic {
    let Some(v) = verdict else {
        return Dynamic::UNIT;
    };
    let text = |value: &Option<String>| value.clone().map_or(Dynamic::UNIT, Dynamic::from);
    let number = |value: Option<f32>| value.map_or(Dynamic::UNIT, |n| Dynamic::from(f64::from(n)));
    let mut map = Map::new();
    map.insert("category".into(), text(&v.category));
    map.insert("confidence".into(), number(v.confidence));
    map.insert("spam".into(), number(v.spam));
    map.insert("priority".into(), text(&v.priority));
    map.insert("applied".into(), text(&v.applied));
    Dynamic::from_map(map)
}

fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    use serde_json::Value;
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from(i),
            None => Dynamic::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        other => Dynamic::from(other.to_string()),
    }
}

/// Who a case goes to, as a route hook decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    User(String),
    RoundRobin,
    LeastOpenCases,
}

/// `()` is no decision; a string is a category.
pub fn category(value: Dynamic) -> Result<Option<String>, String> {
    if value.is_unit() {
        return Ok(None);
    }
    let name = value
        .into_string()
        .map_err(|t| format!("returned {t}; return a category name or ()"))?;
    if name.trim().is_empty() {
        return Ok(None);
    }
    crate::domain::category::valid_name(&name)
        .map(Some)
        .map_err(|e| format!("returned a category that cannot be used: {e}"))
}

/// `()` is no decision; a string is a username; `round_robin()` and
/// `least_open_cases()` name a strategy.
pub fn route(value: Dynamic) -> Result<Option<Route>, String> {
    if value.is_unit() {
        return Ok(None);
    }
    if value.is_string() {
        let name = value.into_string().unwrap_or_default();
        let name = name.trim().to_lowercase();
        return Ok((!name.is_empty()).then_some(Route::User(name)));
    }
    if let Some(map) = value.clone().try_cast::<Map>() {
        let strategy = map
            .get("strategy")
            .and_then(|s| s.clone().into_string().ok());
        return match strategy.as_deref() {
            Some("round_robin") => Ok(Some(Route::RoundRobin)),
            Some("least_open_cases") => Ok(Some(Route::LeastOpenCases)),
            _ => Err("returned a map that is not round_robin() or least_open_cases()".into()),
        };
    }
    Err(format!(
        "returned {}; return a username, round_robin(), least_open_cases() or ()",
        value.type_name()
    ))
}

/// `widget_reply`'s answer: (), a string, or `#{reply, escalate}`.
pub fn widget_decision(value: Dynamic) -> Result<Option<super::WidgetDecision>, String> {
    if value.is_unit() {
        return Ok(None);
    }
    let bounded = |text: String| -> Result<Option<String>, String> {
        let text = text.trim().to_owned();
        if text.chars().count() > 2000 {
            return Err("returned a reply over 2,000 characters".into());
        }
        Ok((!text.is_empty()).then_some(text))
    };
    if value.is_string() {
        let reply = bounded(value.into_string().unwrap_or_default())?;
        return Ok(Some(super::WidgetDecision {
            reply,
            escalate: false,
        }));
    }
    let map = value
        .try_cast::<Map>()
        .ok_or("returned neither (), a string nor #{reply, escalate}")?;
    let reply = match map.get("reply") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) => bounded(
            v.clone()
                .into_string()
                .map_err(|t| format!("reply is {t}; use a string"))?,
        )?,
    };
    let escalate = match map.get("escalate") {
        None => false,
        Some(v) => v
            .as_bool()
            .map_err(|t| format!("escalate is {t}; use true or false"))?,
    };
    Ok(Some(super::WidgetDecision { reply, escalate }))
}

pub fn flag(value: Dynamic) -> Result<bool, String> {
    if value.is_unit() {
        return Ok(false);
    }
    value
        .as_bool()
        .map_err(|t| format!("returned {t}; return true or false"))
}

fn field_text(map: &Map, key: &str) -> Option<String> {
    map.get(key)
        .and_then(|v| v.clone().into_string().ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// An array of `#{name, due_in | due_at, completes_on, business?,
/// pause_while_waiting?}`.
pub fn milestones(value: Dynamic) -> Result<Vec<MilestoneSpec>, String> {
    if value.is_unit() {
        return Ok(Vec::new());
    }
    let items = value
        .try_cast::<Array>()
        .ok_or("must return an array of milestones")?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |message: String| format!("milestone {}: {message}", i + 1);
            let map = item
                .try_cast::<Map>()
                .ok_or_else(|| at("is not a map".into()))?;
            let name = field_text(&map, "name").ok_or_else(|| at("has no name".into()))?;
            let due = match (map.get("due_in"), field_text(&map, "due_at")) {
                (Some(due_in), None) => {
                    let text = if due_in.is_int() {
                        due_in.as_int().unwrap_or_default().to_string()
                    } else {
                        due_in.clone().into_string().unwrap_or_default()
                    };
                    Due::parse_duration(&text).map_err(at)?
                }
                (None, Some(due_at)) => Due::At(
                    chrono::DateTime::parse_from_rfc3339(&due_at)
                        .map_err(|_| at(format!("due_at '{due_at}' is not an RFC 3339 time")))?
                        .with_timezone(&chrono::Utc),
                ),
                _ => return Err(at("needs either due_in or due_at".into())),
            };
            let completes_on =
                field_text(&map, "completes_on").ok_or_else(|| at("has no completes_on".into()))?;
            let flag = |key: &str| -> Result<bool, String> {
                match map.get(key) {
                    None => Ok(false),
                    Some(value) => value
                        .as_bool()
                        .map_err(|_| at(format!("{key} must be true or false"))),
                }
            };
            Ok(MilestoneSpec {
                name,
                due,
                completes_on: Completion::parse(&completes_on).map_err(at)?,
                business: flag("business")?,
                pauses: flag("pause_while_waiting")?,
            })
        })
        .collect()
}

/// `#{ type_name: [ #{name, label, kind, required, choices}, ... ] }`.
pub fn profiles(value: Dynamic) -> Result<BTreeMap<String, Vec<ProfileField>>, String> {
    let map = value
        .try_cast::<Map>()
        .ok_or("must return a map of case type to fields")?;
    let mut profiles = BTreeMap::new();
    for (case_type, fields) in map {
        let case_type = case_type.to_string();
        let fields = fields
            .try_cast::<Array>()
            .ok_or_else(|| format!("profile '{case_type}' must be an array of fields"))?;
        let fields = fields
            .into_iter()
            .map(|field| profile_field(&case_type, field))
            .collect::<Result<Vec<_>, _>>()?;
        crate::domain::profile::check_declaration(&case_type, &fields)?;
        profiles.insert(case_type, fields);
    }
    Ok(profiles)
}

fn profile_field(case_type: &str, field: Dynamic) -> Result<ProfileField, String> {
    let map = field
        .try_cast::<Map>()
        .ok_or_else(|| format!("profile '{case_type}': every field must be a map"))?;
    let name = field_text(&map, "name")
        .ok_or_else(|| format!("profile '{case_type}': a field has no name"))?;
    let kind_text = field_text(&map, "kind").unwrap_or_else(|| "text".into());
    let kind = FieldKind::parse(&kind_text).ok_or_else(|| {
        format!(
            "profile '{case_type}': field '{name}' has kind '{kind_text}'; use text, number, date, choice or boolean"
        )
    })?;
    let choices = match map.get("choices") {
        None => Vec::new(),
        Some(list) => list
            .clone()
            .try_cast::<Array>()
            .ok_or_else(|| format!("profile '{case_type}': choices of '{name}' must be an array"))?
            .into_iter()
            .map(|c| c.to_string())
            .collect(),
    };
    Ok(ProfileField {
        label: field_text(&map, "label").unwrap_or_else(|| name.clone()),
        name,
        kind,
        required: map
            .get("required")
            .and_then(|r| r.as_bool().ok())
            .unwrap_or(false),
        choices,
    })
}
