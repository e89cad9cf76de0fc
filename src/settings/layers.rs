//! The precedence of spec §8 for one key at a time: the command line's value, else the resolved account's
//! (which already holds its parents' and `[defaults]`'s), recording where each value came from for
//! `--pretend` as it goes. Imports the config model and the value types only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::Account;
use crate::values::{AuthChoice, OnOff, Port, Protocol, Timeout, TlsMode};

/// One line of `--pretend`'s settings: the key, the value as shown, and where it came from.
pub type Origin = (String, String, String);

/// How `--pretend` shows a value: a string quoted, a number or a boolean as it is, a word of a closed set
/// as the configuration file spells it.
pub(super) trait Shown {
    fn shown(&self) -> String;
}

macro_rules! shown_by_debug {
    ($($t:ty),*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                format!("{self:?}")
            }
        }
    )*};
}

shown_by_debug!(String, PathBuf, bool, u8, crate::log::Syslog);

impl Shown for Port {
    fn shown(&self) -> String {
        self.get().to_string()
    }
}

impl Shown for Timeout {
    fn shown(&self) -> String {
        format!("{:?}", self.seconds())
    }
}

impl Shown for OnOff {
    fn shown(&self) -> String {
        self.is_on().shown()
    }
}

impl Shown for AuthChoice {
    fn shown(&self) -> String {
        self.word().shown()
    }
}

/// Words of a closed set, by the name clap and the file know them by.
macro_rules! shown_by_name {
    ($($t:ty),*) => {$(
        impl Shown for $t {
            fn shown(&self) -> String {
                let name = clap::ValueEnum::to_possible_value(self)
                    .map(|p| p.get_name().to_owned())
                    .unwrap_or_default();
                name.shown()
            }
        }
    )*};
}

shown_by_name!(TlsMode, Protocol, crate::values::QueuePolicy);

impl Shown for crate::values::Span {
    fn shown(&self) -> String {
        self.duration().as_secs().to_string()
    }
}

impl Shown for crate::values::Connections {
    fn shown(&self) -> String {
        self.get().to_string()
    }
}

/// The account a value may come from, where each of its keys came from, and the record so far.
pub(super) struct Layers<'a> {
    pub account: &'a Account,
    pub sources: &'a BTreeMap<&'static str, String>,
    pub origins: Vec<Origin>,
}

impl Layers<'_> {
    /// Take the command-line value, else the config's, recording where it came from.
    pub fn pick<T: Clone + Shown>(
        &mut self,
        key: &'static str,
        cli: Option<T>,
        conf: impl Fn(&Account) -> Option<T>,
    ) -> Option<T> {
        if let Some(v) = cli {
            self.origins
                .push((key.into(), v.shown(), "command line".into()));
            return Some(v);
        }
        let v = conf(self.account)?;
        let source = self
            .sources
            .get(key)
            .cloned()
            .unwrap_or_else(|| "config".into());
        self.origins.push((key.into(), v.shown(), source));
        Some(v)
    }

    /// A boolean the file alone sets, else `default`.
    pub fn flag(
        &mut self,
        key: &'static str,
        f: fn(&Account) -> Option<bool>,
        default: bool,
    ) -> bool {
        self.pick(key, None, f).unwrap_or(default)
    }

    pub fn note(&mut self, key: &str, value: impl std::fmt::Display, source: &str) {
        self.origins
            .push((key.into(), value.to_string(), source.into()));
    }

    pub fn note_default(&mut self, key: &str, value: impl std::fmt::Display) {
        self.note(key, value, "default");
    }
}
