//! Small validators shared by the domain types.

use super::RuleError;

/// Trims `value` and checks it is non-empty and at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, RuleError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(RuleError::invalid(field, "must not be empty"));
    }
    bounded_text(field, trimmed, max)
}

/// Checks `value` is at most `max` characters and free of control characters
/// other than line breaks and tabs. Line breaks become `\n`, whatever the
/// client sent (browsers send `\r\n` from text areas).
pub fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, RuleError> {
    let value = &value.replace("\r\n", "\n").replace('\r', "\n");
    if value.chars().count() > max {
        return Err(RuleError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RuleError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.clone())
}

/// A single-line label (category, type, names): trimmed, no line breaks.
/// An empty value means "none".
pub fn optional_label(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, RuleError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.contains(['\n', '\r']) {
        return Err(RuleError::invalid(field, "must be a single line"));
    }
    bounded_text(field, value, max).map(Some)
}

/// A deliberately permissive address check: one `@`, something on both
/// sides, a dot in the domain, no spaces. Delivery is the real test.
pub fn email(field: &str, value: &str) -> Result<String, RuleError> {
    let value = value.trim();
    let valid = value.len() <= 254
        && !value.contains(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(RuleError::invalid(
            field,
            format!("'{value}' is not an email address like name@example.org"),
        ))
    }
}

pub fn optional_email(field: &str, value: Option<&str>) -> Result<Option<String>, RuleError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => email(field, v).map(Some),
    }
}

/// A webhook URL Docket may post to: `https://` to a host on `allowed`
/// (compared without case), or `http://` to a loopback relay allowed with
/// its port (`127.0.0.1:8099`), so that allowing a relay does not open
/// every local service. No credentials in the URL.
pub fn webhook_url(field: &str, value: &str, allowed: &[String]) -> Result<String, RuleError> {
    let value = value.trim();
    let invalid = |message: String| RuleError::invalid(field, message);
    if value.len() > 2048 {
        return Err(invalid("must be at most 2048 characters".into()));
    }
    let url = url::Url::parse(value).map_err(|e| invalid(format!("is not a URL ({e})")))?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid("must name a host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not contain a user name or password".into()));
    }
    let loopback = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    let wanted = match url.scheme() {
        "https" => host.clone(),
        "http" if loopback => format!("{host}:{}", url.port_or_known_default().unwrap_or(80)),
        _ => return Err(invalid("must be an https:// URL".into())),
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(&wanted)) {
        Ok(value.to_owned())
    } else {
        Err(invalid(format!(
            "'{wanted}' is not allowed; an administrator can allow it with DOCKET_WEBHOOK_ALLOW"
        )))
    }
}

/// A URL the server will call (an API base, a download): the same
/// allow-list rule as webhooks.
pub fn outbound_url(field: &str, value: &str, allowed: &[String]) -> Result<String, RuleError> {
    webhook_url(field, value, allowed)
}

/// A web origin (`https://www.example.com`, `http://127.0.0.1:8000`), as
/// browsers send it in `Origin`.
pub fn origin(field: &str, value: &str) -> Result<String, RuleError> {
    let value = value.trim().trim_end_matches('/');
    let invalid = |message: &str| RuleError::invalid(field, format!("'{value}' {message}"));
    let url = url::Url::parse(value)
        .map_err(|_| invalid("is not an origin like https://www.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("must be http:// or https:// with a host"));
    }
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "must be only scheme, host and port, without a path",
        ));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            origin("o", "https://Shop.Example.com/").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            origin("o", "http://127.0.0.1:8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert!(origin("o", "https://x.example/page").is_err());
        assert!(origin("o", "ftp://x.example").is_err());
        assert!(origin("o", "*").is_err());
    }

    #[test]
    fn required_text_trims_and_rejects_blank() {
        assert_eq!(required_text("subject", "  hi ", 10).unwrap(), "hi");
        assert!(required_text("subject", "   ", 10).is_err());
        assert!(required_text("subject", "abcdefghijk", 10).is_err());
        assert!(required_text("subject", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn line_breaks_are_normalised() {
        assert_eq!(bounded_text("d", "a\r\nb\rc\n", 10).unwrap(), "a\nb\nc\n");
    }

    #[test]
    fn email_accepts_ordinary_addresses_only() {
        assert!(email("email", "jane@example.org").is_ok());
        for bad in [
            "jane",
            "@example.org",
            "jane@",
            "jane@localhost",
            "ja ne@example.org",
            "a@b@c.d",
        ] {
            assert!(email("email", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn webhook_urls_need_an_allowed_host_and_https() {
        let allowed = ["hooks.slack.com".to_owned(), "127.0.0.1:9000".to_owned()];
        let check = |url: &str| webhook_url("url", url, &allowed);
        assert!(check("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(check("https://HOOKS.slack.com/services/T/B/X").is_ok());
        assert!(check("http://hooks.slack.com/x").is_err());
        assert!(check("https:///path").is_err());
        assert!(check("https://169.254.169.254/latest").is_err());
        assert!(check("https://hooks.slack.com.evil.example/x").is_err());
        assert!(check("https://user:pw@hooks.slack.com/x").is_err());
        assert!(check("http://127.0.0.1:9000/hook").is_ok());
        assert!(check("http://127.0.0.1:6379/").is_err());
        assert!(check("https://127.0.0.1:9000/hook").is_err());
        assert!(check("http://localhost:9000/hook").is_err());
    }

    #[test]
    fn optional_label_treats_blank_as_none() {
        assert_eq!(optional_label("category", Some("  "), 10).unwrap(), None);
        assert!(optional_label("category", Some("a\nb"), 10).is_err());
    }
}
