//! Unit tests for the command line: every caller in sendmail-callers.md (glued and split), the
//! debug pre-pass, the own options, and the errors.

use clap::error::ErrorKind;

use super::*;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["sendmail"];
    argv.extend_from_slice(args);
    match parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => panic!("{args:?} did not parse: {e}"),
    }
}

fn parse_err(args: &[&str]) -> clap::Error {
    let mut argv = vec!["mailsend"];
    argv.extend_from_slice(args);
    match parse_from(argv) {
        Ok(cli) => panic!("{args:?} parsed: {cli:?}"),
        Err(e) => e,
    }
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn command_is_consistent() {
    command().debug_assert();
    assert_eq!(command().get_name(), "mailsend");
}

#[test]
fn no_arguments_is_the_default() {
    assert_eq!(parse(&[]), Cli::default());
}

#[test]
fn cronie() {
    for argv in [
        &[
            "-FCronDaemon",
            "-i",
            "-odi",
            "-oem",
            "-oi",
            "-t",
            "-f",
            "alice",
        ][..],
        &[
            "-F",
            "CronDaemon",
            "-i",
            "-o",
            "di",
            "-o",
            "em",
            "-o",
            "i",
            "-t",
            "-falice",
        ],
    ] {
        let cli = parse(argv);
        assert_eq!(cli.full_name.as_deref(), Some("CronDaemon"), "{argv:?}");
        assert!(cli.ignore_dots && cli.read_recipients);
        assert_eq!(cli.from.as_deref(), Some("alice"));
        assert_eq!(cli.sendmail.options, strings(&["di", "em", "i"]));
        assert!(cli.recipients.is_empty());
        assert_eq!(cli.debug, None);
    }
}

#[test]
fn debian_cron() {
    for argv in [
        &["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"][..],
        &[
            "-F",
            "CronDaemon",
            "-i",
            "-B",
            "8BITMIME",
            "-o",
            "em",
            "root",
        ],
    ] {
        let cli = parse(argv);
        assert_eq!(cli.full_name.as_deref(), Some("CronDaemon"));
        assert!(cli.ignore_dots && !cli.read_recipients);
        assert_eq!(cli.body_type, Some(BodyType::EightBitMime));
        assert_eq!(cli.recipients, strings(&["root"]));
        assert_eq!(cli.from, None);
    }
}

#[test]
fn bcron() {
    let cli = parse(&["-FCronDaemon", "-i", "-odi", "-oem", "-t"]);
    assert!(cli.read_recipients && cli.ignore_dots);
    assert_eq!(cli.sendmail.options, strings(&["di", "em"]));
}

#[test]
fn systemd_cron_glued_and_split() {
    for argv in [
        &["-i", "-B8BITMIME", "root"][..],
        &["-i", "-B", "8BITMIME", "root"],
        &["-i", "-B8bitmime", "root"],
    ] {
        let cli = parse(argv);
        assert_eq!(cli.body_type, Some(BodyType::EightBitMime), "{argv:?}");
        assert_eq!(cli.recipients, strings(&["root"]));
    }
    assert_eq!(
        parse(&["-B", "7bit", "x"]).body_type,
        Some(BodyType::SevenBit)
    );
}

#[test]
fn at_mdadm_mailx_logwatch_unattended_upgrades() {
    let at = parse(&["-i", "daemon"]);
    assert!(at.ignore_dots);
    assert_eq!(at.recipients, strings(&["daemon"]));
    let mdadm = parse(&["-t"]);
    assert!(mdadm.read_recipients && !mdadm.ignore_dots);
    let mailx = parse(&["-i", "-t"]);
    assert!(mailx.read_recipients && mailx.ignore_dots);
    let uu = parse(&["-oi", "-t"]);
    assert!(uu.read_recipients && uu.ignore_dots);
    assert_eq!(uu.sendmail.options, strings(&["i"]));
}

#[test]
fn s_nail_recipients_after_double_dash() {
    let cli = parse(&["-i", "--", "ann@example.org", "-oQ/tmp", "-x@y", "--debug"]);
    assert_eq!(
        cli.recipients,
        strings(&["ann@example.org", "-oQ/tmp", "-x@y", "--debug"])
    );
    assert!(cli.sendmail.options.is_empty());
    assert_eq!(cli.debug, None);
}

#[test]
fn mailutils_glued_and_split() {
    for argv in [
        &["-oi", "-f", "user@host.example", "-t"][..],
        &["-oi", "-fuser@host.example", "-t"],
        &["-o", "i", "--from=user@host.example", "-t"],
    ] {
        let cli = parse(argv);
        assert!(cli.ignore_dots && cli.read_recipients, "{argv:?}");
        assert_eq!(cli.from.as_deref(), Some("user@host.example"));
    }
}

#[test]
fn fail2ban_and_git_send_email() {
    let cli = parse(&["-f", "fail2ban@host.example", "admin@example.org"]);
    assert_eq!(cli.from.as_deref(), Some("fail2ban@host.example"));
    assert_eq!(cli.recipients, strings(&["admin@example.org"]));
    let cli = parse(&[
        "-f",
        "me@example.org",
        "-i",
        "to@x.org",
        "cc@y.org",
        "bcc@z.org",
    ]);
    assert_eq!(
        cli.recipients,
        strings(&["to@x.org", "cc@y.org", "bcc@z.org"])
    );
    assert!(cli.ignore_dots);
}

#[test]
fn mutt() {
    let glued = parse(&[
        "-oem",
        "-oi",
        "-B8BITMIME",
        "-fme@example.org",
        "-Nsuccess,failure",
        "-Rhdrs",
        "--",
        "a@x.org",
        "b@y.org",
    ]);
    let split = parse(&[
        "-oem",
        "-oi",
        "-B",
        "8BITMIME",
        "-f",
        "me@example.org",
        "-N",
        "success,failure",
        "-R",
        "hdrs",
        "--",
        "a@x.org",
        "b@y.org",
    ]);
    assert_eq!(glued, split);
    assert!(glued.ignore_dots);
    assert_eq!(glued.body_type, Some(BodyType::EightBitMime));
    assert_eq!(glued.from.as_deref(), Some("me@example.org"));
    assert_eq!(glued.dsn_notify.as_deref(), Some("success,failure"));
    assert_eq!(glued.dsn_ret.as_deref(), Some("hdrs"));
    assert_eq!(glued.recipients, strings(&["a@x.org", "b@y.org"]));
}

#[test]
fn php_mail_fifth_argument_glued() {
    let cli = parse(&["-t", "-i", "-falice@example.org"]);
    assert!(cli.read_recipients && cli.ignore_dots);
    assert_eq!(cli.from.as_deref(), Some("alice@example.org"));
}

#[test]
fn null_sender_forms() {
    assert_eq!(parse(&["-f", "", "x@y.org"]).from.as_deref(), Some(""));
    assert_eq!(parse(&["-f", "<>", "x@y.org"]).from.as_deref(), Some("<>"));
    assert_eq!(parse(&["-f<>"]).from.as_deref(), Some("<>"));
    assert_eq!(parse(&["--from="]).from.as_deref(), Some(""));
    assert_eq!(
        parse(&["-r", "bob@x.org"]).from.as_deref(),
        Some("bob@x.org")
    );
    // The last one wins, as with sendmail's getopt loop.
    assert_eq!(
        parse(&["-f", "a@x", "-r", "b@x"]).from.as_deref(),
        Some("b@x")
    );
}

#[test]
fn modes_other_than_m_p_s_and_i_are_refused() {
    for mode in ["-bv", "-bt", "-bd"] {
        let err = parse_err(&[mode]);
        assert_eq!(err.kind(), ErrorKind::ValueValidation, "{mode}");
        assert!(err.to_string().contains("not supported"), "{err}");
    }
    assert_eq!(parse_err(&["-b", "x"]).kind(), ErrorKind::ValueValidation);
    // Issue 13: -bs speaks SMTP on standard input and output (Symfony Mailer, Laravel).
    assert_eq!(parse(&["-bs"]).sendmail.mode.as_deref(), Some("s"));
    assert_eq!(
        parse(&["-b", "s", "-i"]).sendmail.mode.as_deref(),
        Some("s")
    );
    assert_eq!(parse(&["-bm", "x@y"]).sendmail.mode.as_deref(), Some("m"));
    // Issue 12: -bp lists the queue.
    assert_eq!(parse(&["-bp"]).sendmail.mode.as_deref(), Some("p"));
    // Issue 14: -bi checks the aliases file.
    assert_eq!(parse(&["-bi"]).sendmail.mode.as_deref(), Some("i"));
    assert_eq!(parse(&["-b", "m", "x@y"]).recipients, strings(&["x@y"]));
}

#[test]
fn ignored_sendmail_flags_glued_and_split() {
    let split = parse(&[
        "-A", "c", "-G", "-h", "5", "-L", "tag", "-m", "-n", "-O", "Foo=bar", "-U", "-X",
        "/tmp/log", "x@y",
    ]);
    let glued = parse(&[
        "-Ac",
        "-Gmn",
        "-h5",
        "-Ltag",
        "-OFoo=bar",
        "-U",
        "-X/tmp/log",
        "x@y",
    ]);
    assert_eq!(split, glued);
    let s = &split.sendmail;
    assert_eq!(s.alternate_config.as_deref(), Some("c"));
    assert_eq!(s.hop_count.as_deref(), Some("5"));
    assert_eq!(s.log_tag.as_deref(), Some("tag"));
    assert_eq!(s.long_option.as_deref(), Some("Foo=bar"));
    assert_eq!(split.logfile, Some(PathBuf::from("/tmp/log")));
    assert!(s.gateway && s.me_too && s.no_alias && s.initial_submission);
    assert_eq!(split.recipients, strings(&["x@y"]));
    // The sendmail meanings, not clap's: -h is a hop count, -V an ENVID.
    assert_eq!(parse(&["-V", "id1"]).dsn_envid.as_deref(), Some("id1"));
}

#[test]
fn ignored_flags_are_hidden_from_help() {
    let help = command().render_long_help().to_string();
    for hidden in ["-o <", "-b <", "-A <", "-G", "-h <", "-L <", "-O <", "-U"] {
        assert!(!help.contains(hidden), "{hidden} shown in help");
    }
    assert!(help.contains("-v"));
    assert!(help.contains("mailsend -t < msg.eml"));
}

/// Issue 10, point 21: msmtp's `-X FILE` is the log file (it was accepted and ignored), and msmtp's
/// `--read-envelope-from` is accepted (mailsend already reads the sender from the headers).
#[test]
fn msmtp_log_file_and_read_envelope_from_are_accepted() {
    for args in [
        &["-X", "/tmp/m.log", "x@y"][..],
        &["-X/tmp/m.log", "x@y"],
        &["--logfile", "/tmp/m.log", "x@y"],
    ] {
        let cli = parse(args);
        assert_eq!(cli.logfile, Some(PathBuf::from("/tmp/m.log")), "{args:?}");
        assert_eq!(cli.recipients, strings(&["x@y"]));
    }
    let cli = parse(&["--read-envelope-from", "-t"]);
    assert!(cli.read_envelope_from && cli.read_recipients);
    assert_eq!(cli.from, None);
    let help = command().render_long_help().to_string();
    assert!(help.contains("-X, --logfile <FILE>"), "{help}");
    assert!(help.contains("--read-envelope-from"), "{help}");
}

#[test]
fn debug_prepass() {
    let cases: &[(&[&str], Option<u8>, &[&str])] = &[
        (&["-d"], Some(1), &[]),
        (&["-d0"], Some(0), &[]),
        (&["-d1"], Some(1), &[]),
        (&["-d2", "x@y"], Some(2), &["x@y"]),
        (&["-d", "2", "x@y"], Some(2), &["x@y"]),
        (&["-d", "x@y"], Some(1), &["x@y"]),
        (&["--debug"], Some(1), &[]),
        (&["--debug", "0"], Some(0), &[]),
        (&["--debug", "2"], Some(2), &[]),
        (&["--debug=2"], Some(2), &[]),
        (
            &["--debug", "bob@example.org"],
            Some(1),
            &["bob@example.org"],
        ),
        (
            &["bob@example.org", "--debug"],
            Some(1),
            &["bob@example.org"],
        ),
        (&["-v"], Some(1), &[]),
        (&["-vt"], Some(1), &[]),
        (&["-iv"], Some(1), &[]),
        (&["-td"], Some(1), &[]),
        (&["-v", "--debug", "2"], Some(2), &[]),
        (&["--debug", "2", "-v"], Some(2), &[]),
        (&["--debug", "0", "-v"], Some(1), &[]),
        (&["--debug", "1", "--debug", "2"], Some(2), &[]),
        (&["--", "-d", "--debug"], None, &["-d", "--debug"]),
    ];
    for (argv, debug, recipients) in cases {
        let cli = parse(argv);
        assert_eq!(cli.debug, *debug, "{argv:?}");
        assert_eq!(cli.recipients, strings(recipients), "{argv:?}");
    }
    assert!(parse(&["-vt"]).read_recipients);
}

#[test]
fn debug_out_of_range_is_an_error() {
    for argv in [
        &["--debug", "3"][..],
        &["-d3"],
        &["--debug=9"],
        &["-dfoo"],
        &["-d", "7"],
    ] {
        assert_eq!(
            parse_err(argv).kind(),
            ErrorKind::ValueValidation,
            "{argv:?}"
        );
    }
}

#[test]
fn own_options() {
    let cli = parse(&[
        "-C",
        "/etc/m.toml",
        "-a",
        "work",
        "--host",
        "[::1]:2525",
        "--port",
        "587",
        "--socket",
        "/run/lmtp",
        "--protocol",
        "lmtp",
        "--domain",
        "client.example.com",
        "--source-address",
        "10.0.0.1:0",
        "--timeout",
        "2.5",
        "--tls",
        "starttls",
        "--tls-trust-file",
        "ca.pem",
        "--tls-fingerprint",
        "AB:CD",
        "--tls-cert-file",
        "c.pem",
        "--tls-key-file",
        "k.pem",
        "--tls-certcheck",
        "off",
        "--tls-server-name",
        "mx.example",
        "--auth",
        "PLAIN",
        "--user",
        "me",
        "--password-command",
        "pass show x",
        "--allow-plaintext-auth",
        "--command",
        "NOOP",
        "--command",
        "HELP x",
        "--verify",
        "a@x",
        "--expn",
        "staff",
        "--quit-after",
        "rcpt",
        "--no-initial-response",
        "--input",
        "msg.eml",
        "x@y",
    ]);
    let want = Cli {
        recipients: strings(&["x@y"]),
        config: Some("/etc/m.toml".into()),
        account: Some("work".into()),
        host: Some("[::1]:2525".into()),
        port: Port::new(587),
        socket: Some("/run/lmtp".into()),
        protocol: Some(Protocol::Lmtp),
        domain: Some("client.example.com".into()),
        source_address: Some("10.0.0.1:0".into()),
        timeout: Timeout::new(2.5),
        tls: Some(TlsMode::Starttls),
        tls_trust_file: Some("ca.pem".into()),
        tls_fingerprint: Some("AB:CD".into()),
        tls_cert_file: Some("c.pem".into()),
        tls_key_file: Some("k.pem".into()),
        tls_certcheck: Some(OnOff::Off),
        tls_server_name: Some("mx.example".into()),
        auth: Some(AuthChoice::Only(crate::values::Mechanism::Plain)),
        user: Some("me".into()),
        password_command: Some("pass show x".into()),
        allow_plaintext_auth: true,
        command: strings(&["NOOP", "HELP x"]),
        verify: strings(&["a@x"]),
        expn: strings(&["staff"]),
        quit_after: Some(Stage::Rcpt),
        no_initial_response: true,
        input: Some("msg.eml".into()),
        ..Cli::default()
    };
    assert_eq!(cli, want);
}

#[test]
fn report_modes() {
    assert!(parse(&["--pretend", "x@y"]).pretend);
    assert!(parse(&["--serverinfo"]).serverinfo);
    assert!(parse(&["--interactive"]).interactive);
    assert_eq!(parse(&["--generate", "zsh"]).generate, Some(Generate::Zsh));
    assert_eq!(parse(&["--generate", "man"]).generate, Some(Generate::Man));
    assert_eq!(
        parse_err(&["--pretend", "--serverinfo"]).kind(),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        parse_err(&["--generate", "bash", "--interactive"]).kind(),
        ErrorKind::ArgumentConflict
    );
}

#[test]
fn bad_values_are_errors() {
    // Values our parsers or clap's ranges reject.
    for argv in [
        &["--timeout", "0"][..],
        &["--timeout=-1"],
        &["--timeout", "nan"],
        &["--timeout", "inf"],
        &["--timeout", "1e300"],
        &["--timeout", "1e19"], // found by review: overflowed Instant arithmetic
        &["--timeout", "86401"],
        &["--timeout", "soon"],
        &["--port", "0"],
        &["--port", "65536"],
        &["--port", "x"],
    ] {
        assert_eq!(
            parse_err(argv).kind(),
            ErrorKind::ValueValidation,
            "{argv:?}"
        );
    }
    // Words outside a closed set.
    for argv in [
        &["--tls", "maybe"][..],
        &["--tls-certcheck", "yes"],
        &["-B", "binary"],
        &["--quit-after", "data"],
        &["--protocol", "esmtp"],
        &["--generate", "powershell"],
    ] {
        assert_eq!(parse_err(argv).kind(), ErrorKind::InvalidValue, "{argv:?}");
    }
}

#[test]
fn unknown_flags_are_errors() {
    // -q runs the queue since issue 12; -Q is no flag.
    assert_eq!(parse_err(&["-Q"]).kind(), ErrorKind::UnknownArgument);
    assert_eq!(
        parse_err(&["--frobnicate"]).kind(),
        ErrorKind::UnknownArgument
    );
    assert_eq!(parse_err(&["-f"]).kind(), ErrorKind::InvalidValue);
}

#[test]
fn help_and_version() {
    assert_eq!(parse_err(&["--help"]).kind(), ErrorKind::DisplayHelp);
    assert_eq!(parse_err(&["--version"]).kind(), ErrorKind::DisplayVersion);
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_do_not_panic() {
    use std::os::unix::ffi::OsStringExt as _;
    let argv = vec![
        OsString::from("mailsend"),
        OsString::from("-d"),
        OsString::from_vec(vec![b'x', 0xff]),
    ];
    assert_eq!(
        parse_from(argv).map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::InvalidUtf8)
    );
    let argv = vec![
        OsString::from("mailsend"),
        OsString::from_vec(vec![b'-', b'd', 0xff]),
    ];
    assert!(parse_from(argv).is_err());
}

#[test]
fn value_enums_read_config_spelling() {
    #[derive(serde::Deserialize)]
    struct Doc {
        tls: TlsMode,
        protocol: Protocol,
        check: OnOff,
        body: BodyType,
    }
    let doc: Doc = toml::from_str(
        "tls = \"implicit\"\nprotocol = \"lmtp\"\ncheck = \"off\"\nbody = \"8BITMIME\"\n",
    )
    .expect("valid TOML");
    assert_eq!(doc.tls, TlsMode::Implicit);
    assert_eq!(doc.protocol, Protocol::Lmtp);
    assert_eq!(doc.check, OnOff::Off);
    assert_eq!(doc.body, BodyType::EightBitMime);
}

#[test]
fn stages_are_ordered() {
    assert!(
        Stage::Connect < Stage::Greeting && Stage::Auth < Stage::Mail && Stage::Mail < Stage::Rcpt
    );
}

#[test]
fn man_page_and_completions_render() {
    let mut man = Vec::new();
    clap_mangen::Man::new(command())
        .render(&mut man)
        .expect("rendering into memory");
    let man = String::from_utf8_lossy(&man);
    assert!(man.contains("mailsend"));
    assert!(man.contains("tls\\-trust\\-file"), "{man}");
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut command(), "mailsend", &mut script);
        let script = String::from_utf8_lossy(&script);
        assert!(script.contains("read-recipients"), "{shell}");
    }
}

#[test]
fn value_names_hold_no_colon() {
    // zsh's _arguments splits its specs at ':', so a value name like HOST[:PORT] breaks the
    // generated completion script.
    for arg in command().get_arguments() {
        for name in arg.get_value_names().unwrap_or_default() {
            assert!(!name.contains(':'), "{name}");
        }
    }
}

/// The `--auth` help names the mechanisms in prose; it must name exactly the ones the value type
/// parses, so a mechanism added to `values::Mechanism::ALL` cannot be left out of the help (issue 11).
#[test]
fn auth_help_names_every_mechanism() {
    use clap::CommandFactory;
    let command = Cli::command();
    let auth = command
        .get_arguments()
        .find(|a| a.get_long() == Some("auth"))
        .expect("--auth exists");
    let help = auth
        .get_long_help()
        .expect("--auth has a long help")
        .to_string();
    for mechanism in crate::values::Mechanism::ALL {
        assert!(
            help.contains(mechanism.name()),
            "{} missing from: {help}",
            mechanism.name()
        );
    }
}
