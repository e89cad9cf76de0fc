use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::exit;
use crate::password::PasswordSource;
use crate::secret::Secret;
use crate::settings::{Auth, EnvelopePolicy, Input, Logging, Login, Mode, Server, TlsSettings};
use crate::smtp::auth::Mechanism;
use crate::smtp::transport::Endpoint;
use crate::tls::TlsOptions;
use crate::values::{Protocol, TlsMode};

/// Settings for a plaintext loopback server, as `--host 127.0.0.1` resolves them.
pub(crate) fn settings() -> Settings {
    Settings {
        mode: Mode::Send,
        server: Server {
            endpoint: Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 25,
            },
            protocol: Protocol::Smtp,
            domain: Some("client.example".into()),
            source_address: None,
            timeout: Duration::from_secs(5),
            final_timeout: Duration::from_secs(5),
        },
        tls: TlsSettings {
            requested: TlsMode::Auto,
            mode: TlsUse::None,
            options: TlsOptions {
                server_name: "127.0.0.1".into(),
                trust_file: None,
                fingerprint: None,
                cert_file: None,
                key_file: None,
                certcheck: true,
            },
        },
        auth: Auth {
            login: None,
            allow_plaintext: false,
            initial_response: true,
        },
        envelope: EnvelopePolicy {
            from: None,
            full_name: None,
            maildomain: None,
            default_domain: "client.example".into(),
            default_sender: crate::settings::DefaultSender::from_login(
                Some(&("tester".into(), "$USER")),
                "client.example",
            ),
            aliases: BTreeMap::new(),
            aliases_file: crate::settings::aliases::AliasesFile {
                path: "/etc/aliases".into(),
                named: false,
            },
            file_aliases: None,
            qualify_headers: false,
            add_missing_from: true,
            add_missing_date: true,
            add_missing_message_id: true,
            read_recipients: false,
            body_type: None,
            dsn_notify: None,
            dsn_ret: None,
            dsn_envid: None,
            recipients: Vec::new(),
            set_fields: Vec::new(),
        },
        input: Input {
            path: None,
            dot_ends_input: false,
            compose: None,
            stdin_is_terminal: false,
        },
        logging: Logging {
            debug: 0,
            debug_file: None,
            stderr: true,
            logfile: None,
            syslog: None,
        },
        queue: crate::settings::QueueSettings {
            policy: crate::values::QueuePolicy::Never,
            location: None,
            lifetime: crate::queue::clock::DEFAULT_LIFETIME,
            warn: crate::queue::clock::DEFAULT_WARN,
            connections: crate::values::Connections::DEFAULT,
            config_file: None,
            route: crate::queue::state::Route::default(),
            uid: 1000,
        },
        origins: Vec::new(),
    }
}

pub(crate) fn login(mechanism: Option<Mechanism>) -> Login {
    Login {
        mechanism,
        user: "u".into(),
        password: PasswordSource::File(Secret::new("p")),
    }
}

#[test]
fn verbs_are_upper_case_first_words() {
    assert_eq!(verb_of("  starttls "), "STARTTLS");
    assert_eq!(verb_of("vrfy bob"), "VRFY");
    assert_eq!(verb_of(""), "");
}

#[test]
fn reply_text_joins_lines_like_docmd() {
    let reply = Reply {
        code: Code::new(214),
        lines: vec![b"first".to_vec(), b"second \x1b[2J".to_vec()],
    };
    assert_eq!(reply_text(&reply), "214 first\nsecond \\x1b[2J");
    assert_eq!(reply_text(&Reply::new(250, "")), "250");
    assert_eq!(reply_text(&Reply::new(252, "2.0.0 bob")), "252 2.0.0 bob");
}

fn code_of(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => exit::OK,
        Err(e) => exit::classify(&e),
    }
}

#[test]
fn planned_commands_are_checked_before_connecting() {
    let ok = vec![
        Probe::Typed("NOOP".into()),
        Probe::Vrfy("bob".into()),
        Probe::Expn("staff".into()),
    ];
    assert_eq!(code_of(check_planned(&ok)), exit::OK);
    for bad in [
        Probe::Typed("NOOP\r\nRSET".into()),
        Probe::Typed("NOOP\nRSET".into()),
        Probe::Typed("NOOP\0".into()),
        Probe::Vrfy("bob\r\nDATA".into()),
        Probe::Expn("x\ny".into()),
        Probe::Typed("AUTH PLAIN se\ncret".into()),
    ] {
        let result = check_planned(&[Probe::Typed("NOOP".into()), bad.clone()]);
        let message = result
            .as_ref()
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert_eq!(code_of(result), exit::DATAERR, "{bad:?}");
        assert!(message.contains("(command 2 of 2)"), "{message}");
        assert!(
            !message.contains("cret"),
            "the value is never repeated: {message}"
        );
    }
}

#[test]
fn empty_commands_and_typed_starttls_are_usage_errors() {
    assert_eq!(
        code_of(check_planned(&[Probe::Typed(" ".into())])),
        exit::USAGE
    );
    assert_eq!(
        code_of(check_planned(&[Probe::Typed("starttls".into())])),
        exit::USAGE
    );
}

#[test]
fn stop_points_that_cannot_be_reached_are_usage_errors() {
    let settings = settings();
    let code = |r: anyhow::Result<Outcome>| match r {
        Ok(outcome) => exit::for_outcome(&outcome),
        Err(e) => exit::classify(&e),
    };
    // Neither connects: both are refused before any connection is tried.
    assert_eq!(
        code(quit_after(&settings, StopAt::Starttls, None)),
        exit::USAGE
    );
    assert_eq!(code(quit_after(&settings, StopAt::Auth, None)), exit::USAGE);
}
