//! A language model the organisation chooses, spoken to over the OpenAI
//! chat completions API (`POST {url}/chat/completions`), which Ollama,
//! llama.cpp's server, vLLM and the hosted providers all answer. It writes
//! text for a person to read or edit, and answers chat widget visitors
//! only where an admin turned that on for the widget.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::config::LlmConfig;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("no language model is configured ([llm] url in docket.toml)")]
    NotConfigured,
    #[error("the language model's address is not allowed: {0}")]
    NotAllowed(String),
    #[error("the language model could not be reached: {0}")]
    Unreachable(String),
    #[error("the language model answered {status}: {detail}")]
    Refused { status: u16, detail: String },
    #[error("the language model's answer could not be read: {0}")]
    Unreadable(String),
}

/// The most of an answer read: a reply of a few hundred tokens is a few
/// kilobytes; anything far larger is not an answer.
const ANSWER_BYTES: usize = 1 << 20;

async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, LlmError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| LlmError::Unreachable(crate::outbound::describe(e)))?
    {
        if bytes.len() + chunk.len() > ANSWER_BYTES {
            return Err(LlmError::Unreadable(format!(
                "it was larger than {ANSWER_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// One turn of a conversation the model continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// What the other side wrote (a visitor, an agent's request).
    User(String),
    /// What the model (or the team, in its place) answered.
    Assistant(String),
}

/// The configured model.
pub struct LanguageModel {
    client: reqwest::Client,
    policy: crate::outbound::OutboundPolicy,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    max_tokens: u32,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

/// The provider's error body, when it sends the usual one.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

impl LanguageModel {
    /// The model `config` names, if any; its address must pass the
    /// outbound allow-list (`allowed`), like every address the server calls.
    pub fn from_config(
        config: &LlmConfig,
        allowed: &[String],
        policy: &crate::outbound::OutboundPolicy,
    ) -> Result<Option<LanguageModel>, LlmError> {
        let Some(url) = config.url.as_deref() else {
            return Ok(None);
        };
        let base = crate::domain::validate::outbound_url("llm.url", url, allowed)
            .map_err(|e| LlmError::NotAllowed(e.to_string()))?;
        let client = policy
            .http_client()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .build()
            .map_err(|e| LlmError::Unreachable(e.to_string()))?;
        Ok(Some(LanguageModel {
            policy: policy.clone(),
            client,
            endpoint: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: config.model.clone(),
            api_key: config.api_key.clone(),
            max_tokens: config.max_tokens,
        }))
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// One completion: `instructions` as the system message, `text` as the
    /// user's.
    pub async fn complete(&self, instructions: &str, text: &str) -> Result<String, LlmError> {
        self.chat(instructions, &[Turn::User(text.to_owned())])
            .await
    }

    /// The next turn of a conversation: `instructions` as the system
    /// message, then `turns` in order.
    pub async fn chat(&self, instructions: &str, turns: &[Turn]) -> Result<String, LlmError> {
        let mut messages = vec![json!({"role": "system", "content": instructions})];
        messages.extend(turns.iter().map(|turn| match turn {
            Turn::User(text) => json!({"role": "user", "content": text}),
            Turn::Assistant(text) => json!({"role": "assistant", "content": text}),
        }));
        let body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": 0.2,
            "stream": false,
        });
        // The resolver checks names; an address written in the URL is
        // checked here.
        self.policy
            .check_url(&self.endpoint)
            .await
            .map_err(|e| LlmError::NotAllowed(e.to_string()))?;
        let mut request = self.client.post(&self.endpoint).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| LlmError::Unreachable(crate::outbound::describe(e)))?;
        let status = response.status();
        let bytes = read_bounded(response).await?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(LlmError::Refused {
                status: status.as_u16(),
                detail: detail.chars().take(300).collect(),
            });
        }
        let completion: Completion =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::Unreadable(e.to_string()))?;
        completion
            .choices
            .into_iter()
            .find_map(|c| c.message.content)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
            .ok_or_else(|| LlmError::Unreadable("it contained no text".into()))
    }
}
