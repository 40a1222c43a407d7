//! The SSRF guard for destination URLs.
//!
//! A destination may only reach public addresses unless `KANSOKU_DESTINATION_ALLOWLIST` names the
//! host or a network containing the address. The URL is parsed with the WHATWG rules (so decimal,
//! octal and hex IPv4 forms and internationalised names are normalised before checking), user
//! info is refused outright (`https://hooks.slack.com@10.0.0.1/`), every address the name resolves
//! to must pass, and the caller connects to exactly the address that was checked (no second DNS
//! lookup that a rebinding attacker could answer differently). Redirects are never followed and
//! response bodies are never shown to users (see `deliver.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

use crate::error::{Error, Result};

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a single address.
    pub fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.trim_matches(['[', ']']).parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Network { address, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_match(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_match(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn prefix_match(net: u128, ip: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (net >> shift) == (ip >> shift)
}

/// Hosts and networks that destinations may reach although they are not public.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    hosts: Vec<String>,
    networks: Vec<Network>,
}

impl Allowlist {
    /// Parses a comma-separated list of host names, addresses and CIDR networks.
    pub fn parse(text: &str) -> std::result::Result<Allowlist, String> {
        let mut allowlist = Allowlist::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Some(network) = Network::parse(entry) {
                allowlist.networks.push(network);
            } else if entry.contains('/') {
                return Err(format!("'{entry}' is not a valid CIDR network"));
            } else {
                let host = Url::parse(&format!("http://{entry}/"))
                    .ok()
                    .and_then(|url| url.host_str().map(str::to_string))
                    .ok_or_else(|| format!("'{entry}' is not a valid host name"))?;
                allowlist.hosts.push(host);
            }
        }
        Ok(allowlist)
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }
}

/// IPv4-mapped and -compatible IPv6 addresses as IPv4, so they are judged as what they reach.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                // NAT64 (64:ff9b::/96) embeds an IPv4 address in its last 32 bits.
                if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                    let bits = u128::from(v6) as u32;
                    return IpAddr::V4(Ipv4Addr::from(bits));
                }
                IpAddr::V6(v6)
            }
        },
        v4 => v4,
    }
}

/// Why an address is not public, or `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        return Some("an unspecified (0.0.0.0/8) address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if a == 169 && b == 254 {
        return Some("a link-local or cloud metadata address");
    }
    if ip.is_private() {
        return Some("a private address");
    }
    if a == 100 && (64..128).contains(&b) {
        return Some("a shared (CGNAT) address");
    }
    if a == 192 && b == 0 && c == 0 {
        return Some("an IETF protocol address");
    }
    if a == 198 && (b == 18 || b == 19) {
        return Some("a benchmarking address");
    }
    if a >= 224 {
        return Some("a multicast or reserved address");
    }
    None
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if first & 0xfe00 == 0xfc00 {
        return Some("a unique local (fc00::/7) address");
    }
    if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        return Some("a link-local address");
    }
    if first & 0xff00 == 0xff00 {
        return Some("a multicast address");
    }
    if u128::from(ip) >> 32 == 0 {
        return Some("an IPv4-compatible address");
    }
    None
}

/// A checked destination: the URL and the one address to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL.
    pub url: Url,
    /// The host name to pin (None for IP literals).
    pub host: Option<String>,
    /// The address that was checked; connect here.
    pub address: SocketAddr,
}

/// Parses and checks `raw` without resolving names (for saving a destination).
pub fn parse_destination_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::InvalidDestination(format!("invalid URL '{raw}': {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::InvalidDestination(format!(
            "destination URLs must be http or https, not '{}'",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidDestination(
            "destination URLs must not contain user info (user@host); put credentials in headers"
                .to_string(),
        ));
    }
    if url.host().is_none() {
        return Err(Error::InvalidDestination(format!("'{raw}' has no host")));
    }
    Ok(url)
}

/// Checks what can be known of `raw` when a destination is saved, without resolving names: an
/// address literal (`127.0.0.1`, `2130706433`, `[::1]`, `169.254.169.254`) or a `localhost`
/// name that is not public and not allowed is refused at once. Names are checked again, resolved,
/// at every delivery ([`check`]).
pub fn check_saved(raw: &str, allowlist: &Allowlist) -> Result<()> {
    let url = parse_destination_url(raw)?;
    let host = url.host_str().unwrap_or_default().to_string();
    if allowlist.allows_host(&host) {
        return Ok(());
    }
    let literal = match url.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(ip) = literal
        && let Some(reason) = non_public_reason(ip)
        && !allowlist.allows_ip(ip)
    {
        return Err(Error::Blocked(format!(
            "destination address {ip} is {reason}; allow it with KANSOKU_DESTINATION_ALLOWLIST"
        )));
    }
    let name = host.trim_end_matches('.');
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(Error::Blocked(format!(
            "destination {host} is the local host; allow it with KANSOKU_DESTINATION_ALLOWLIST"
        )));
    }
    Ok(())
}

/// Checks `raw` against the guard and resolves it to the address to connect to.
pub async fn check(raw: &str, allowlist: &Allowlist) -> Result<Target> {
    let url = parse_destination_url(raw)?;
    let port = url.port_or_known_default().unwrap_or(80);
    let (host, addresses): (Option<String>, Vec<IpAddr>) = match url.host() {
        Some(Host::Ipv4(v4)) => (None, vec![IpAddr::V4(v4)]),
        Some(Host::Ipv6(v6)) => (None, vec![IpAddr::V6(v6)]),
        Some(Host::Domain(name)) => {
            let name = name.to_string();
            let resolved = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|e| Error::DeliveryFailed(format!("could not resolve '{name}': {e}")))?
                .map(|address| address.ip())
                .collect::<Vec<_>>();
            (Some(name), resolved)
        }
        None => return Err(Error::InvalidDestination(format!("'{raw}' has no host"))),
    };
    let Some(first) = addresses.first().copied() else {
        return Err(Error::DeliveryFailed(format!(
            "'{raw}' resolves to no address"
        )));
    };
    let host_allowed = host.as_deref().is_some_and(|h| allowlist.allows_host(h));
    if !host_allowed {
        for ip in &addresses {
            if let Some(reason) = non_public_reason(*ip)
                && !allowlist.allows_ip(*ip)
            {
                return Err(Error::Blocked(format!(
                    "destination {} resolves to {ip}, {reason}; allow it with KANSOKU_DESTINATION_ALLOWLIST",
                    url.host_str().unwrap_or_default()
                )));
            }
        }
    }
    Ok(Target {
        url,
        host,
        address: SocketAddr::new(first, port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_destinations_refuse_private_literals_and_localhost() {
        let none = Allowlist::default();
        for raw in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5:8080/hook",
            "http://localhost./hook",
            "http://api.localhost/hook",
        ] {
            assert!(
                matches!(check_saved(raw, &none), Err(Error::Blocked(_))),
                "{raw} was accepted"
            );
        }
        assert!(check_saved("https://hooks.slack.com/services/x", &none).is_ok());
        assert!(check_saved("http://93.184.216.34/hook", &none).is_ok());
        let allowed = Allowlist::parse("127.0.0.1,localhost").unwrap_or_default();
        assert!(check_saved("http://127.0.0.1:9000/hook", &allowed).is_ok());
        assert!(check_saved("http://localhost:9000/hook", &allowed).is_ok());
    }

    fn blocked(raw: &str) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        match runtime.block_on(check(raw, &Allowlist::default())) {
            Err(Error::Blocked(_) | Error::InvalidDestination(_)) => true,
            Err(other) => panic!("{raw}: unexpected {other}"),
            Ok(_) => false,
        }
    }

    #[test]
    fn the_bypass_list_is_refused() {
        for raw in [
            "http://127.0.0.1/",
            "http://localhost:8080/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://0.0.0.0/",
            "http://0/",
            "http://2130706433/",
            "http://017700000001/",
            "http://0x7f.0.0.1/",
            "http://127.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "https://hooks.slack.com@10.0.0.1/",
            "https://user:pass@example.com/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:6379/",
            "http://224.0.0.1/",
        ] {
            assert!(blocked(raw), "{raw} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass_and_the_checked_address_is_pinned() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let target = runtime
            .block_on(check(
                "https://93.184.215.14:8443/hook",
                &Allowlist::default(),
            ))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            target.address,
            "93.184.215.14:8443"
                .parse()
                .unwrap_or_else(|e| panic!("{e}"))
        );
        assert!(target.host.is_none());
    }

    #[test]
    fn the_allowlist_admits_hosts_and_networks() {
        let allowlist = Allowlist::parse("127.0.0.1, 10.0.0.0/8,receiver.local,[fd00::]/8")
            .unwrap_or_else(|e| panic!("{e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        for raw in [
            "http://127.0.0.1:9000/",
            "http://10.20.30.40/",
            "http://[fd00::5]/",
        ] {
            assert!(runtime.block_on(check(raw, &allowlist)).is_ok(), "{raw}");
        }
        assert!(
            runtime
                .block_on(check("http://127.0.0.2/", &allowlist))
                .is_err()
        );
        assert!(
            runtime
                .block_on(check("http://192.168.0.1/", &allowlist))
                .is_err()
        );
        assert!(Allowlist::parse("10.0.0.0/99").is_err());
        assert!(Allowlist::parse("bad host/").is_err());
    }

    #[test]
    fn networks_match_by_prefix() {
        let network = Network::parse("10.0.0.0/8").unwrap_or_else(|| panic!("parse"));
        assert!(network.contains("10.255.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(!network.contains("11.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(network.contains("::ffff:10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert!(
            Network::parse("0.0.0.0/0")
                .is_some_and(|n| n.contains(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8))))
        );
    }
}
