//! Who a request really comes from, behind reverse proxies.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses trusted proxies: single addresses or networks (`10.0.0.0/8`).
pub fn parse_networks(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{entry}' is not an address or a network like 10.0.0.0/8"))
        })
        .collect()
}

/// The client's address: the connection's peer, unless that peer is a
/// trusted proxy; then `X-Forwarded-For` is read from its right end (what
/// the nearest proxy appended) past every trusted hop. A value that is not
/// an address ends the walk: nothing left of it can be believed.
pub fn client_behind_proxies(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty());
    let mut client = peer;
    for hop in hops.collect::<Vec<_>>().into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// `203.0.113.9`, `2001:db8::1`, `[2001:db8::1]:443` or `203.0.113.9:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted = parse_networks(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let proxy = ip("127.0.0.1");
        assert_eq!(
            client_behind_proxies(proxy, &["198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // A client's own claim, left of what the proxies appended, is ignored.
        assert_eq!(
            client_behind_proxies(proxy, &["1.2.3.4, 198.51.100.7, 10.0.0.5"], &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_behind_proxies(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9"),
            "a stranger's header is not read"
        );
        assert_eq!(
            client_behind_proxies(proxy, &["junk, 198.51.100.7:443"], &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_behind_proxies(proxy, &[], &trusted), proxy);
        assert_eq!(
            client_behind_proxies(ip("::ffff:127.0.0.1"), &["198.51.100.7"], &trusted),
            ip("198.51.100.7"),
            "an IPv4 proxy seen through a dual-stack listener"
        );
        assert!(parse_networks(&["not an address".into()]).is_err());
    }
}
