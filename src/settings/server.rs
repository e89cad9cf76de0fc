//! Where to connect and how: the endpoint (`--host`, `--socket`, `--port`, spec §1), the protocol, the EHLO
//! name, the source address, the timeouts, and the TLS mode `auto` turns into (spec §4). Imports the command
//! line, the config model, the value types, and the engine's `Endpoint` and TLS options.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::layers::Layers;
use super::{Env, Server, SettingsError, TlsSettings, TlsUse};
use crate::cli::Cli;
use crate::config::Resolved;
use crate::smtp::transport::Endpoint;
use crate::tls::TlsOptions;
use crate::values::{OnOff, Protocol, Timeout, TlsMode, check_ehlo_name};

/// Split `HOST[:PORT]`, `[v6]:PORT`, `[v6]`, a bare IPv6 literal, or a Unix socket path.
fn parse_host(spec: &str) -> Result<(String, Option<u16>), SettingsError> {
    let bad_port = |p: &str| SettingsError::BadPort {
        port: p.to_owned(),
        spec: spec.to_owned(),
    };
    if let Some(rest) = spec.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| SettingsError::UnclosedBracket {
                spec: spec.to_owned(),
            })?;
        return match after {
            "" => Ok((host.to_string(), None)),
            _ => {
                let port = after.strip_prefix(':').ok_or_else(|| bad_port(after))?;
                Ok((
                    host.to_string(),
                    Some(port.parse().map_err(|_| bad_port(port))?),
                ))
            }
        };
    }
    match spec.matches(':').count() {
        0 => Ok((spec.to_string(), None)),
        1 => {
            let (host, port) = spec.split_once(':').unwrap_or((spec, ""));
            Ok((
                host.to_string(),
                Some(port.parse().map_err(|_| bad_port(port))?),
            ))
        }
        _ => Ok((spec.to_string(), None)), // a bare IPv6 literal
    }
}

/// loopback per spec §4: 127.0.0.0/8, ::1, `localhost`.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The EHLO name: the host's FQDN if it has a dot; else `None`, for the `[IP]` literal of the
/// connection's local address, which is known only once connected (RFC 5321 §4.1.4; smtplib takes the
/// host name's address instead: issue 10, point 23).
fn default_ehlo_name(hostname: &str) -> Option<String> {
    hostname.contains('.').then(|| hostname.to_string())
}

/// The endpoint, with what the rest of the resolution needs from the same keys.
pub(super) struct Target {
    pub endpoint: Endpoint,
    /// The host name for SNI and verification, `None` for a Unix socket.
    pub host_name: Option<String>,
    pub protocol: Protocol,
    pub tls_mode: TlsMode,
}

/// The server is one setting given two ways (`host`, `socket`): the command line's --host or --socket beats
/// both keys of the file; at one level, the socket beats the host.
pub(super) fn target(l: &mut Layers, cli: &Cli, from_cli: bool) -> Result<Target, SettingsError> {
    let socket = match from_cli {
        true => l.pick("socket", cli.socket.clone(), |_| None),
        false => l.pick("socket", None, |a| a.socket.clone()),
    };
    let host = match (from_cli, &socket) {
        (true, Some(_)) => None,
        (true, None) => l.pick("host", cli.host.clone(), |_| None),
        (false, None) => l.pick("host", None, |a| a.host.clone()),
        (false, Some(_)) => None,
    };
    let protocol = l
        .pick("protocol", cli.protocol, |a| a.protocol)
        .unwrap_or(Protocol::Smtp);
    let tls_mode = l.pick("tls", cli.tls, |a| a.tls).unwrap_or(TlsMode::Auto);
    let (endpoint, host_name) = match (socket, host) {
        (Some(path), _) => (Endpoint::Unix(path), None),
        (None, Some(h)) if h.starts_with('/') => (Endpoint::Unix(PathBuf::from(&h)), None),
        (None, host) => {
            let given = host.unwrap_or_else(|| {
                l.note_default("host", "localhost");
                "localhost".to_string()
            });
            let (h, in_host) = parse_host(&given)?;
            // A port written in --host beats --port; --port beats a port written in the file's host;
            // that beats the file's `port`.
            let port = match (cli.host.is_some(), in_host, cli.port) {
                (true, Some(p), _) => Some(p),
                (_, _, Some(p)) => l.pick("port", Some(p), |_| None).map(|p| p.get()),
                (_, Some(p), None) => Some(p),
                (_, None, None) => l.pick("port", None, |a| a.port).map(|p| p.get()),
            };
            let port = port.unwrap_or(match (protocol, tls_mode) {
                (Protocol::Lmtp, _) => 24,
                (_, TlsMode::Implicit) => 465,
                _ => 25,
            });
            let endpoint = Endpoint::Tcp {
                host: h.clone(),
                port,
            };
            (endpoint, Some(h))
        }
    };
    Ok(Target {
        endpoint,
        host_name,
        protocol,
        tls_mode,
    })
}

/// What TLS mode `auto` becomes, the certificate options, and the check that a name to verify exists.
pub(super) fn tls(
    l: &mut Layers,
    cli: &Cli,
    target: &Target,
    resolved: &Resolved,
) -> Result<TlsSettings, SettingsError> {
    // Issue 10, point 5: a pin, a trust file or a client certificate given for this server (on the command
    // line or in the account, not merely in [defaults]) means TLS is wanted, even on loopback, where an
    // ssh tunnel to a smarthost lands: `auto` then means STARTTLS, never a silent plaintext send.
    let given_for_this_server = |key: &str| {
        resolved
            .sources
            .get(key)
            .is_some_and(|source| source != "[defaults]")
    };
    let tls_material = cli.tls_fingerprint.is_some()
        || cli.tls_trust_file.is_some()
        || cli.tls_cert_file.is_some()
        || ["tls_fingerprint", "tls_trust_file", "tls_cert_file"]
            .into_iter()
            .any(given_for_this_server);
    let mode = match target.tls_mode {
        TlsMode::Off => TlsUse::None,
        TlsMode::Starttls => TlsUse::StartTls,
        TlsMode::Implicit => TlsUse::Implicit,
        TlsMode::Auto => match &target.endpoint {
            Endpoint::Tcp { port: 465, .. } => TlsUse::Implicit,
            Endpoint::Tcp { host, .. } if !is_loopback(host) => TlsUse::StartTls,
            _ if tls_material => TlsUse::StartTls,
            _ => TlsUse::None,
        },
    };
    let server_name = l.pick("tls_server_name", cli.tls_server_name.clone(), |a| {
        a.tls_server_name.clone()
    });
    let options = TlsOptions {
        server_name: server_name
            .or_else(|| target.host_name.clone())
            .unwrap_or_default(),
        trust_file: l.pick("tls_trust_file", cli.tls_trust_file.clone(), |a| {
            a.tls_trust_file.clone()
        }),
        fingerprint: l.pick("tls_fingerprint", cli.tls_fingerprint.clone(), |a| {
            a.tls_fingerprint.clone()
        }),
        cert_file: l.pick("tls_cert_file", cli.tls_cert_file.clone(), |a| {
            a.tls_cert_file.clone()
        }),
        key_file: l.pick("tls_key_file", cli.tls_key_file.clone(), |a| {
            a.tls_key_file.clone()
        }),
        certcheck: l
            .pick("tls_certcheck", cli.tls_certcheck, |a| a.tls_certcheck)
            .is_none_or(OnOff::is_on),
    };
    if mode != TlsUse::None && options.server_name.is_empty() {
        return Err(SettingsError::SocketTlsWithoutName);
    }
    Ok(TlsSettings {
        requested: target.tls_mode,
        mode,
        options,
    })
}

/// The rest of the server part: timeouts, source address, EHLO name.
pub(super) fn server(
    l: &mut Layers,
    cli: &Cli,
    env: &Env,
    target: &Target,
) -> Result<Server, SettingsError> {
    let given = l.pick("timeout", cli.timeout, |a| a.timeout);
    let timeout = given.unwrap_or(Timeout::DEFAULT).duration();
    // RFC 5321 §4.5.3.2.6: wait 10 minutes for the reply to the final dot, unless the user said otherwise.
    let final_timeout = match given {
        Some(_) => timeout,
        None => timeout.max(Duration::from_secs(600)),
    };
    let source_address = match l.pick("source_address", cli.source_address.clone(), |a| {
        a.source_address.clone()
    }) {
        None => None,
        Some(s) => Some(parse_source(&s)?),
    };
    // Issue 10, point 16: checked here with the other arguments (64), not by the engine after connecting.
    if let Some(d) = &cli.domain {
        check_ehlo_name(d).map_err(|why| SettingsError::BadDomain { why })?;
    }
    let domain = match l.pick("domain", cli.domain.clone(), |a| a.domain.clone()) {
        Some(d) => Some(d),
        None => {
            let d = default_ehlo_name(&env.hostname);
            let shown = d
                .as_deref()
                .unwrap_or("[IP] of the connection's local address");
            l.note_default("domain", shown);
            d
        }
    };
    Ok(Server {
        endpoint: target.endpoint.clone(),
        protocol: target.protocol,
        domain,
        source_address,
        timeout,
        final_timeout,
    })
}

fn parse_source(s: &str) -> Result<SocketAddr, SettingsError> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let (host, port) = parse_host(s)?;
    let ip: IpAddr = host
        .parse()
        .map_err(|_| SettingsError::BadSourceAddress(s.to_owned()))?;
    Ok(SocketAddr::new(ip, port.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        assert_eq!(
            parse_host("mail.example:587").unwrap(),
            ("mail.example".into(), Some(587))
        );
        assert_eq!(
            parse_host("[::1]:2525").unwrap(),
            ("::1".into(), Some(2525))
        );
        assert_eq!(parse_host("[::1]").unwrap(), ("::1".into(), None));
        assert_eq!(parse_host("::1").unwrap(), ("::1".into(), None));
        assert_eq!(
            parse_host("mail.example").unwrap(),
            ("mail.example".into(), None)
        );
        assert_eq!(
            parse_host("h:bogus").unwrap_err(),
            SettingsError::BadPort {
                port: "bogus".into(),
                spec: "h:bogus".into()
            }
        );
        assert_eq!(
            parse_host("h:bogus").unwrap_err().to_string(),
            "invalid port \"bogus\" in --host \"h:bogus\""
        );
    }

    #[test]
    fn loopback_rule() {
        assert!(is_loopback("127.0.0.5"));
        assert!(is_loopback("::1"));
        assert!(is_loopback("LOCALHOST"));
        assert!(!is_loopback("mail.example.org"));
    }

    #[test]
    fn source_address_forms() {
        assert_eq!(
            parse_source("127.0.0.1").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            parse_source("[::1]:2000").unwrap(),
            "[::1]:2000".parse().unwrap()
        );
        assert!(parse_source("example.org").is_err());
    }
}
