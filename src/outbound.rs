//! One policy for every connection Docket opens to another machine
//! (webhooks, Meta's Graph API, call recordings, IMAP, SMTP, the language
//! model): an address inside the network — loopback, private, link-local,
//! shared, unique-local, or a cloud metadata address — is refused unless an
//! administrator allowed that host and port by name. Names are checked
//! after they are resolved, when saved and again on every connection, so a
//! name cannot be pointed inward later.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why a connection is refused. The texts name the host and port the user
/// typed, never anything the remote sent.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OutboundError {
    /// The address it resolved to is logged, never shown: names typed by
    /// a channel manager must not map the inside of the network.
    #[error(
        "'{host}:{port}' is inside this server's network; an administrator can allow it with DOCKET_INTERNAL_ALLOW"
    )]
    Internal { host: String, port: u16, ip: IpAddr },
    #[error("'{host}' could not be found (DNS)")]
    Unknown { host: String },
}

/// The hosts and ports an administrator allowed although they are inside
/// the network, as `host:port` (names compared without case).
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed_inside: Arc<Vec<String>>,
}

impl OutboundPolicy {
    /// `allowed` holds `host:port` entries; others (plain host names of the
    /// webhook allow-list) allow nothing inside the network.
    pub fn new<'a>(allowed: impl IntoIterator<Item = &'a String>) -> OutboundPolicy {
        let allowed_inside = allowed
            .into_iter()
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| {
                entry
                    .rsplit_once(':')
                    .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            })
            .collect();
        OutboundPolicy {
            allowed_inside: Arc::new(allowed_inside),
        }
    }

    /// Also allows `host:port` (an address the administrator configured
    /// directly, such as the SMTP relay).
    pub fn also_allowing(&self, host: &str, port: u16) -> OutboundPolicy {
        let mut allowed = (*self.allowed_inside).clone();
        allowed.push(format!("{}:{port}", host.to_ascii_lowercase()));
        OutboundPolicy {
            allowed_inside: Arc::new(allowed),
        }
    }

    fn allows_inside(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let wanted = format!("{}:{port}", host.to_ascii_lowercase());
        let bracketed = format!("[{}]:{port}", host.to_ascii_lowercase());
        self.allowed_inside
            .iter()
            .any(|entry| *entry == wanted || *entry == bracketed)
    }

    /// Whether the administrator allowed some port of `host` inside the
    /// network (what a resolver, which does not know the port, can check).
    fn allows_some_port_of(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_inside
            .iter()
            .any(|entry| entry.rsplit_once(':').is_some_and(|(h, _)| h == host))
    }

    /// Checks one address `host` resolved to.
    pub fn check(&self, host: &str, port: u16, ip: IpAddr) -> Result<(), OutboundError> {
        if is_inside(ip) && !self.allows_inside(host, port) {
            tracing::info!(%host, port, %ip, "refused a connection inside the network");
            return Err(OutboundError::Internal {
                host: host.to_owned(),
                port,
                ip,
            });
        }
        Ok(())
    }

    /// Resolves `host` and checks every address it names; the addresses to
    /// connect to (and only those: connecting by name again could reach
    /// another address).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|_| OutboundError::Unknown {
                    host: host.to_owned(),
                })?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(OutboundError::Unknown {
                host: host.to_owned(),
            });
        }
        for address in &addresses {
            self.check(host, port, address.ip())?;
        }
        Ok(addresses)
    }

    /// Checks the host and port of a URL before a request is sent to it.
    pub async fn check_url(&self, url: &str) -> Result<(), OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::Unknown {
            host: url.to_owned(),
        })?;
        let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
            return Err(OutboundError::Unknown {
                host: redact_url(url),
            });
        };
        self.resolve(host, port).await.map(|_| ())
    }

    /// An HTTP client that follows no redirects and resolves names through
    /// this policy, so a name that turns inward after the check above is
    /// still refused.
    pub fn http_client(&self) -> reqwest::ClientBuilder {
        // No proxy from the environment either: a proxy would resolve the
        // name itself, after the check.
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PolicyResolver {
                policy: self.clone(),
            }))
    }
}

struct PolicyResolver {
    policy: OutboundPolicy,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for address in &addresses {
                if is_inside(address.ip()) && !policy.allows_some_port_of(&host) {
                    let refused = OutboundError::Internal {
                        host: host.clone(),
                        port: 0,
                        ip: address.ip(),
                    };
                    return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `ip` is inside the network: loopback, private, link-local
/// (which holds the cloud metadata service), carrier-grade shared,
/// unspecified, broadcast, multicast, or their IPv6 counterparts and
/// IPv4-mapped forms.
pub fn is_inside(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_inside(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_inside(v4),
            None => v6_inside(v6),
        },
    }
}

fn v4_inside(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // 240.0.0.0/4, reserved.
        || a >= 240
        // 100.64.0.0/10, shared address space behind carrier NAT.
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24, protocol assignments (some clouds' metadata).
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        // 198.18.0.0/15, benchmarking networks.
        || (a == 198 && (b == 18 || b == 19))
}

fn v6_inside(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        v4_inside(Ipv4Addr::new(a, b, c, d))
    };
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7, unique local (AWS's metadata is fd00:ec2::254).
        || (first & 0xfe00) == 0xfc00
        // fe80::/10 link-local and fec0::/10 site-local.
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // ::/96 embeds an IPv4 address.
        || ip.to_ipv4().is_some_and(v4_inside)
        // 64:ff9b::/96 (NAT64) ends in one; 64:ff9b:1::/48 is local NAT64.
        || (first == 0x64 && segments[1] == 0xff9b && segments[2..6] == [0; 4]
            && embedded(segments[6], segments[7]))
        || (first == 0x64 && segments[1] == 0xff9b && segments[2] == 1)
        // 2002::/16 (6to4) carries one in its next 32 bits.
        || (first == 0x2002 && embedded(segments[1], segments[2]))
}

/// A URL fit for a log line: scheme, host and port only, since paths and
/// query strings carry credentials (a Slack webhook's path is its secret).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match parsed.host_str() {
            Some(host) => {
                let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
                let hidden = if parsed.path().len() > 1 || parsed.query().is_some() {
                    "/…"
                } else {
                    ""
                };
                format!("{}://{host}{port}{hidden}", parsed.scheme())
            }
            None => "(a URL)".into(),
        },
        Err(_) => "(a URL)".into(),
    }
}

/// An HTTP client's error, described without its URL.
pub fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        // The policy's refusal is the reason worth showing.
        if let Some(refused) = inner.downcast_ref::<OutboundError>() {
            return refused.to_string();
        }
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_the_network_are_recognised() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "fec0::1",
            "240.0.0.1",
        ] {
            assert!(is_inside(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "172.32.0.1",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(!is_inside(outside.parse().unwrap()), "{outside}");
        }
    }

    #[test]
    fn only_the_allowed_host_and_port_may_be_inside() {
        let allowed = vec!["127.0.0.1:1143".to_owned(), "hooks.slack.com".to_owned()];
        let policy = OutboundPolicy::new(&allowed);
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(policy.check("127.0.0.1", 1143, loopback).is_ok());
        assert!(policy.check("127.0.0.1", 22, loopback).is_err());
        assert!(policy.check("localhost", 1143, loopback).is_err());
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let refused = policy.check("evil.example", 80, metadata).unwrap_err();
        assert!(refused.to_string().contains("DOCKET_INTERNAL_ALLOW"));
        assert!(
            policy
                .check("imap.example.com", 993, "93.184.216.34".parse().unwrap())
                .is_ok()
        );
        let relay = policy.also_allowing("Relay.local", 25);
        assert!(
            relay
                .check("relay.local", 25, "10.0.0.2".parse().unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_without_dns() {
        let policy = OutboundPolicy::default();
        assert!(policy.resolve("169.254.169.254", 80).await.is_err());
        assert!(policy.resolve("[::1]", 22).await.is_err());
        assert!(policy.resolve("localhost", 22).await.is_err());
        assert!(policy.check_url("http://127.0.0.1:6379/").await.is_err());
    }

    #[tokio::test]
    async fn the_http_client_refuses_a_name_that_resolves_inward() {
        let client = OutboundPolicy::default().http_client().build().unwrap();
        let refused = client.get("http://localhost:9/").send().await.unwrap_err();
        let said = describe(refused);
        assert!(said.contains("inside this server's network"), "{said}");
        assert!(!said.contains("localhost:9/"), "no URL: {said}");
    }

    #[test]
    fn urls_in_logs_lose_their_paths() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact_url("http://127.0.0.1:8099"), "http://127.0.0.1:8099");
        assert_eq!(redact_url("not a url"), "(a URL)");
    }
}
