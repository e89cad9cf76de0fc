//! The envelope sender of spec §2 rule 4, used when nothing else names one: the login name `@` the
//! default domain, judged once when the settings are resolved (issue 10, point 4).

use std::ffi::OsString;

use super::SettingsError;

/// The sender of spec §2 rule 4, or why there is none. Judged once here, but reported only when used, so
/// that an odd login name never blocks a send whose sender comes from `-f`, `from` or the headers.
#[derive(Debug, Clone)]
pub struct DefaultSender(Result<String, SettingsError>);

impl DefaultSender {
    /// The address, or why there is none: a login name no address can hold, or none at all.
    pub fn get(&self) -> Result<String, SettingsError> {
        self.0.clone()
    }

    /// Issue 10, point 4: the login name went into `MAIL FROM` unchecked (`a> SIZE=1` added a parameter).
    /// A dot-string is used as it is; any other printable name is quoted (RFC 5321 §4.1.2 Quoted-string);
    /// a name with control characters is refused. A name that is itself an address (SSSD's
    /// `alice@corp.example`) is the sender as it is, since appending `@domain` could never be right.
    pub fn from_login(login: Option<&(OsString, &'static str)>, domain: &str) -> DefaultSender {
        let Some((name, source)) = login else {
            return DefaultSender(Err(SettingsError::NoLoginName));
        };
        let refuse = |why: &str| {
            DefaultSender(Err(SettingsError::UnusableLoginName {
                quoted: format!("{name:?}"),
                from: source,
                why: why.to_owned(),
            }))
        };
        let Some(name) = name.to_str() else {
            return refuse("it is not UTF-8");
        };
        if name.chars().any(char::is_control) {
            return refuse("it holds control characters");
        }
        let address = if name.contains('@') {
            name.to_owned()
        } else if is_dot_string(name) {
            format!("{name}@{domain}")
        } else {
            let quoted: String = name
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    _ => vec![c],
                })
                .collect();
            format!("\"{quoted}\"@{domain}")
        };
        // The envelope's own parser has the last word: the address must read back as exactly itself.
        match crate::message::envelope::parse_address_list(&address) {
            Ok(list) if list == [address.clone()] => DefaultSender(Ok(address)),
            Ok(_) => refuse("it is not one address"),
            Err(e) => refuse(&e.to_string()),
        }
    }
}

/// RFC 5321 §4.1.2 Dot-string (atoms of atext joined by single dots), with RFC 6531's UTF-8.
fn is_dot_string(s: &str) -> bool {
    s.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender_for(name: &str) -> Result<String, SettingsError> {
        let login = (OsString::from(name), "$LOGNAME");
        DefaultSender::from_login(Some(&login), "host.example").get()
    }

    /// Issue 10, point 4: `USER='a> SIZE=1'` gave `MAIL FROM:<a> SIZE=1@host> SIZE=…`.
    #[test]
    fn login_name_is_quoted_or_refused_in_the_default_sender() {
        assert_eq!(sender_for("alice").unwrap(), "alice@host.example");
        assert_eq!(sender_for("a.b-c_d").unwrap(), "a.b-c_d@host.example");
        assert_eq!(
            sender_for("a> SIZE=1").unwrap(),
            "\"a> SIZE=1\"@host.example"
        );
        assert_eq!(sender_for("john doe").unwrap(), "\"john doe\"@host.example");
        assert_eq!(
            sender_for("a\"b\\c").unwrap(),
            "\"a\\\"b\\\\c\"@host.example"
        );
        assert_eq!(sender_for(".x").unwrap(), "\".x\"@host.example");
        assert_eq!(sender_for("jürgen").unwrap(), "jürgen@host.example");
        for bad in [
            "a\u{1b}[31mb",
            "tester\r\nRCPT TO:<x@evil>",
            "a\tb",
            &"x".repeat(65),
        ] {
            let e = sender_for(bad).unwrap_err();
            assert!(
                matches!(e, SettingsError::UnusableLoginName { .. }),
                "{bad:?}"
            );
            let text = e.to_string();
            assert!(text.contains("$LOGNAME") && text.contains("-f"), "{e}");
            assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{e}");
        }
    }

    /// Issue 10, point 4: SSSD's `alice@corp.example` became `alice@corp.example@host`.
    #[test]
    fn login_name_that_is_an_address_is_the_sender() {
        assert_eq!(
            sender_for("alice@corp.example").unwrap(),
            "alice@corp.example"
        );
        for bad in ["alice@", "a@b@c", "Alice <alice@corp.example>", "a@x, b@y"] {
            assert!(
                matches!(
                    sender_for(bad),
                    Err(SettingsError::UnusableLoginName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn no_login_name_at_all_is_a_missing_setting_not_nobody() {
        let e = DefaultSender::from_login(None, "host.example")
            .get()
            .unwrap_err();
        assert_eq!(e, SettingsError::NoLoginName);
        assert!(!e.to_string().contains("nobody"), "{e}");
        use std::os::unix::ffi::OsStringExt;
        let login = (OsString::from_vec(b"a\xffb".to_vec()), "$USER");
        let e = DefaultSender::from_login(Some(&login), "h.example")
            .get()
            .unwrap_err();
        assert!(matches!(e, SettingsError::UnusableLoginName { .. }), "{e}");
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }
}
