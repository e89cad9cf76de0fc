//! The typed values a setting can take, each parsed and range-checked once, here, for both places a user
//! writes it: the command line (clap: a `ValueEnum` or a `value_parser` function) and the configuration
//! file (serde: `Deserialize`, whose message the config module completes with the file, the line and the
//! key). Timeout, port, TLS mode, protocol, authentication choice and SASL mechanism names, on/off, the
//! MAIL BODY type (RFC 6152), the `--quit-after` stages, and the EHLO name rule (RFC 5321 §4.1.1.1).
//!
//! A leaf: it imports nothing of the crate (only std, clap, serde and toml's value model), so `cli`,
//! `config`, `settings` and the engine can all depend on it without a cycle.

use std::fmt;
use std::time::Duration;

use clap::ValueEnum;
use serde::de::{Deserialize, Deserializer, Error as _};
use toml::Value;

/// The longest `--timeout` (one day): bounds every wait, and far below what `Instant` arithmetic and
/// `Duration` can hold, so no value a user gives can overflow them.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// A bound in seconds on connecting and on every wait for the server (spec §1 `--timeout`): above 0 and
/// at most [`MAX_TIMEOUT_SECS`], which also rules out NaN and infinity, so [`Timeout::duration`] never
/// panics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeout(f64);

impl Timeout {
    /// The default bound of spec §1.
    pub const DEFAULT: Timeout = Timeout(60.0);

    /// `None` when `seconds` is outside the range.
    pub fn new(seconds: f64) -> Option<Timeout> {
        (seconds > 0.0 && seconds <= MAX_TIMEOUT_SECS).then_some(Timeout(seconds))
    }

    pub fn seconds(self) -> f64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0)
    }

    /// `--timeout SECONDS`.
    pub fn parse(text: &str) -> Result<Timeout, String> {
        let seconds: f64 = text
            .parse()
            .map_err(|_| format!("'{text}' is not a number of seconds"))?;
        Timeout::new(seconds).ok_or_else(|| {
            format!("'{text}' must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}")
        })
    }
}

/// Seconds, integer or fractional.
impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        #[allow(clippy::cast_precision_loss)] // a timeout of 2^53 seconds is as good as exact
        let seconds = match &value {
            Value::Integer(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        seconds.and_then(Timeout::new).ok_or_else(|| {
            D::Error::custom(format!(
                "expected a number of seconds greater than 0 and at most {MAX_TIMEOUT_SECS}, not {value}"
            ))
        })
    }
}

/// A TCP port, 1 to 65535 (0 would ask the system for any port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(u16);

impl Port {
    pub fn new(port: u16) -> Option<Port> {
        (port != 0).then_some(Port(port))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// `--port N`.
    pub fn parse(text: &str) -> Result<Port, String> {
        text.parse()
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| format!("'{text}' is not a port number from 1 to 65535"))
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match &value {
            Value::Integer(n) => u16::try_from(*n).ok().and_then(Port::new),
            _ => None,
        }
        .ok_or_else(|| {
            D::Error::custom(format!(
                "expected a port number from 1 to 65535, not {value}"
            ))
        })
    }
}

/// A word of a closed set in the configuration file, case-insensitive, by the names clap knows it by:
/// one list of names for both surfaces, and the error lists them (`expected a, b or c, not "x"`).
fn choice<'de, T: ValueEnum, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let value = Value::deserialize(d)?;
    if let Value::String(s) = &value
        && let Ok(v) = T::from_str(s, true)
    {
        return Ok(v);
    }
    let names: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_ascii_lowercase())
        .collect();
    Err(D::Error::custom(format!(
        "expected {}, not {value}",
        one_of(&names)
    )))
}

/// `a, b or c`.
fn one_of(names: &[String]) -> String {
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Implements `Deserialize` through [`choice`] for `ValueEnum`s.
macro_rules! deserialize_by_name {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                choice(d)
            }
        }
    )*};
}

deserialize_by_name!(TlsMode, Protocol, BodyType, QueuePolicy);

/// `--tls` and `tls` (spec section 4).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Implicit TLS on port 465, none to loopback or a Unix socket (unless a pin, trust file or client
    /// certificate is given for it), else STARTTLS required
    Auto,
    /// No TLS
    Off,
    /// STARTTLS required (RFC 3207)
    Starttls,
    /// TLS from the first byte (RFC 8314)
    Implicit,
}

/// `--protocol` and `protocol`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    /// RFC 2033
    Lmtp,
}

/// `--tls-certcheck` and `tls_certcheck`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn is_on(self) -> bool {
        self == OnOff::On
    }
}

/// The file takes TOML booleans as well as the option's words.
impl<'de> Deserialize<'de> for OnOff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match &value {
            Value::Boolean(true) => Ok(OnOff::On),
            Value::Boolean(false) => Ok(OnOff::Off),
            Value::String(s) if s.eq_ignore_ascii_case("on") => Ok(OnOff::On),
            Value::String(s) if s.eq_ignore_ascii_case("off") => Ok(OnOff::Off),
            _ => Err(D::Error::custom(format!(
                "expected true, false, \"on\" or \"off\", not {value}"
            ))),
        }
    }
}

/// `-B`: the BODY parameter of MAIL FROM (RFC 6152).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    #[value(name = "8BITMIME")]
    EightBitMime,
    #[value(name = "7BIT")]
    SevenBit,
}

/// `--quit-after`: the last stage reached before QUIT. The first five are the dialer's (connection set-up),
/// the last two the transaction's.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Connect,
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    Mail,
    Rcpt,
}

/// A SASL mechanism this client implements (spec §5); the one list of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    ScramSha256,
    CramMd5,
    Plain,
    Login,
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism, in the order the help and the errors list them (the preference order of
    /// `--auth on` is the engine's `AUTO_ORDER`).
    pub const ALL: [Mechanism; 6] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha256,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
    ];

    /// The name as it appears in the EHLO AUTH list and the AUTH command.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism with this name, case-insensitively (SASL names are case-insensitive in the
    /// configuration; the session decides how to match the server's list).
    pub fn from_name(s: &str) -> Option<Self> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--auth` and `auth`: on (the best advertised mechanism), off, or one mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    On,
    Off,
    Only(Mechanism),
}

impl AuthChoice {
    /// The words, lowercased: `on`, `off`, then every mechanism name.
    fn words() -> Vec<String> {
        ["on", "off"]
            .into_iter()
            .chain(Mechanism::ALL.iter().map(|m| m.name()))
            .map(str::to_ascii_lowercase)
            .collect()
    }

    fn from_word(word: &str) -> Option<AuthChoice> {
        match word.to_ascii_lowercase().as_str() {
            "on" => Some(AuthChoice::On),
            "off" => Some(AuthChoice::Off),
            _ => Mechanism::from_name(word).map(AuthChoice::Only),
        }
    }

    /// `--auth on|off|MECH`, case-insensitive.
    pub fn parse(text: &str) -> Result<AuthChoice, String> {
        AuthChoice::from_word(text).ok_or_else(|| {
            format!(
                "unknown authentication mechanism {text:?}: expected {}",
                one_of(&AuthChoice::words())
            )
        })
    }

    /// The word as the configuration file spells it, for `--pretend`.
    pub fn word(self) -> String {
        match self {
            AuthChoice::On => "on".to_owned(),
            AuthChoice::Off => "off".to_owned(),
            AuthChoice::Only(m) => m.name().to_ascii_lowercase(),
        }
    }
}

impl<'de> Deserialize<'de> for AuthChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        if let Value::String(s) = &value
            && let Some(choice) = AuthChoice::from_word(s)
        {
            return Ok(choice);
        }
        Err(D::Error::custom(format!(
            "expected {}, not {value}",
            one_of(&AuthChoice::words())
        )))
    }
}

/// `queue` (spec §9 "When mail is queued"): `--queue-on-failure`, `-odq` and `--no-queue` choose per run.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuePolicy {
    /// Try at once; queue what a temporary failure left undelivered
    OnFailure,
    /// Queue without trying (-odq)
    Always,
    /// Never queue: a temporary failure is exit 75
    Never,
}

/// A span of time for `queue_lifetime` and `queue_warn`: seconds as a number, or a number with a unit,
/// `s`, `m`, `h` or `d` (`"5d"`, `"30m"`), above zero and at most a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(Duration);

impl Span {
    /// The longest span: a year.
    pub const MAX_SECS: u64 = 366 * 86_400;

    pub fn from_secs(seconds: u64) -> Option<Span> {
        (seconds > 0 && seconds <= Span::MAX_SECS).then(|| Span(Duration::from_secs(seconds)))
    }

    pub fn duration(self) -> Duration {
        self.0
    }

    /// `"5d"`, `"90m"`, `"3600"`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        let (number, unit) = match text.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
            _ => (text, 's'),
        };
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 0,
        };
        number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .and_then(Span::from_secs)
            .ok_or_else(|| {
                format!(
                    "expected a time above zero and at most a year, in seconds or with a unit \
                     (\"30m\", \"1h\", \"5d\"), not {text:?}"
                )
            })
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Integer(n) => u64::try_from(*n)
                .ok()
                .and_then(Span::from_secs)
                .ok_or_else(|| Span::parse(&n.to_string()).unwrap_err()),
            Value::String(s) => Span::parse(s),
            _ => Err(format!(
                "expected a time such as \"5d\" or a number of seconds, not {value}"
            )),
        };
        parsed.map_err(D::Error::custom)
    }
}

/// `queue_connections`: how many connections the runner may open to one server at once, 1 to 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections(u8);

impl Connections {
    pub const DEFAULT: Connections = Connections(4);

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Connections {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match &value {
            Value::Integer(n @ 1..=16) => Ok(Connections(u8::try_from(*n).unwrap_or(4))),
            _ => Err(D::Error::custom(format!(
                "expected a number of connections from 1 to 16, not {value}"
            ))),
        }
    }
}

/// The EHLO/HELO/LHLO argument: one word (RFC 5321 §4.1.1.1: a Domain or an address literal) of
/// printable characters, so it can neither add a command (CR, LF) nor split into arguments (a space).
pub fn check_ehlo_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    match name.chars().find(|c| c.is_control() || c.is_whitespace()) {
        Some(c) => Err(format!(
            "must be one host name or address literal, without spaces or control characters \
             ({c:?} in {name:?})"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Doc {
        v: Option<AuthChoice>,
    }

    fn auth(text: &str) -> Result<Option<AuthChoice>, String> {
        toml::from_str::<Doc>(text)
            .map(|d| d.v)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn timeout_range_is_checked_once_for_both_surfaces() {
        assert_eq!(Timeout::parse("2.5").map(Timeout::seconds), Ok(2.5));
        for bad in ["0", "-1", "nan", "inf", "86401", "1e19"] {
            assert!(Timeout::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Timeout::new(MAX_TIMEOUT_SECS).map(Timeout::seconds),
            Some(MAX_TIMEOUT_SECS)
        );
        assert_eq!(Timeout::DEFAULT.duration(), Duration::from_secs(60));
    }

    #[test]
    fn auth_words_come_from_the_one_mechanism_list() {
        assert_eq!(
            AuthChoice::words().join(" "),
            "on off plain login cram-md5 scram-sha-256 xoauth2 oauthbearer"
        );
        assert_eq!(
            AuthChoice::parse("Cram-MD5"),
            Ok(AuthChoice::Only(Mechanism::CramMd5))
        );
        assert_eq!(AuthChoice::parse("ON"), Ok(AuthChoice::On));
        assert!(AuthChoice::parse("digest-md5").is_err());
        assert_eq!(
            auth("v = \"xoauth2\"\n"),
            Ok(Some(AuthChoice::Only(Mechanism::XOAuth2)))
        );
        assert_eq!(
            auth("v = 1\n"),
            Err(
                "expected on, off, plain, login, cram-md5, scram-sha-256, xoauth2 or oauthbearer, not 1"
                    .to_owned()
            )
        );
        for m in Mechanism::ALL {
            assert_eq!(
                Mechanism::from_name(&m.name().to_ascii_lowercase()),
                Some(m)
            );
        }
    }

    #[test]
    fn spans_take_a_unit_and_stay_in_range() {
        let secs = |t: &str| Span::parse(t).map(|s| s.duration().as_secs());
        assert_eq!(secs("5d"), Ok(432_000));
        assert_eq!(secs("30m"), Ok(1800));
        assert_eq!(secs("1H"), Ok(3600));
        assert_eq!(secs("90"), Ok(90));
        for bad in [
            "0",
            "0d",
            "-1",
            "5w",
            "d",
            "",
            "367d",
            "99999999999999999999d",
        ] {
            assert!(Span::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            QueuePolicy::from_str("on-failure", true),
            Ok(QueuePolicy::OnFailure)
        );
    }

    #[test]
    fn ports_exclude_zero() {
        assert_eq!(Port::parse("587").map(Port::get), Ok(587));
        for bad in ["0", "65536", "x", "-1"] {
            assert!(Port::parse(bad).is_err(), "{bad}");
        }
    }
}
