//! Whole sessions that succeed (spec §1–3, §7 exit 0 only after the final 250): the exact wire bytes of a
//! simple send, pipelining, the sender rules, HELO fallback, QUIT tolerance, IPv6 and the `sendmail` name.

use crate::fixture::{ALICE_TO_BOB, MSG, assert_quiet_success, crlf, mail_command, msg_on_wire};
use crate::harness::{Action, Script, Server, Stage, home, mailsend_as, mailsend_to, run};

#[test]
fn simple_send_has_exact_wire_bytes() {
    let r = run(Script::new().no_pipelining(), &ALICE_TO_BOB, MSG);
    assert_quiet_success(&r);
    let mut expected = format!(
        "EHLO client.example\r\nMAIL FROM:<alice@example.org> SIZE={}\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
        crlf(MSG).len()
    )
    .into_bytes();
    expected.extend_from_slice(&msg_on_wire());
    expected.extend_from_slice(b".\r\nQUIT\r\n");
    assert_eq!(
        String::from_utf8_lossy(&r.transcript.received),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn pipelined_send_has_the_same_commands_and_data() {
    let r = run(
        Script::new(),
        &[
            "-f",
            "alice@example.org",
            "bob@example.org",
            "carol@example.org",
        ],
        MSG,
    );
    assert_quiet_success(&r);
    let t = &r.transcript;
    assert_eq!(
        t.commands,
        [
            "EHLO client.example".to_string(),
            format!("MAIL FROM:<alice@example.org> SIZE={}", crlf(MSG).len()),
            "RCPT TO:<bob@example.org>".to_string(),
            "RCPT TO:<carol@example.org>".to_string(),
            "DATA".to_string(),
            "QUIT".to_string(),
        ]
    );
    assert_eq!(t.data, vec![msg_on_wire()]);
    assert_eq!(t.unstuffed(0), crlf(MSG));
}

#[test]
fn sender_defaults_to_the_from_header() {
    let r = run(Script::new(), &["bob@example.org"], MSG);
    assert_quiet_success(&r);
    assert!(mail_command(&r.transcript).starts_with("MAIL FROM:<alice@example.org>"));
}

#[test]
fn sender_header_beats_from() {
    let message = [b"Sender: Secretary <sec@example.org>\n".as_slice(), MSG].concat();
    let r = run(Script::new(), &["bob@example.org"], &message);
    assert_quiet_success(&r);
    assert!(mail_command(&r.transcript).starts_with("MAIL FROM:<sec@example.org>"));
}

#[test]
fn f_flag_beats_the_headers_in_every_spelling() {
    for args in [
        &["-f", "env@example.org", "bob@example.org"][..],
        &["-fenv@example.org", "bob@example.org"],
        &["-r", "env@example.org", "bob@example.org"],
        &["--from", "env@example.org", "bob@example.org"],
    ] {
        let r = run(Script::new(), args, MSG);
        assert_quiet_success(&r);
        assert!(
            mail_command(&r.transcript).starts_with("MAIL FROM:<env@example.org>"),
            "{args:?}"
        );
    }
}

#[test]
fn sender_without_any_source_is_user_at_the_host() {
    let r = run(
        Script::new(),
        &["bob@example.org"],
        b"Subject: no from\n\nbody\n",
    );
    r.expect_code(0);
    assert!(
        mail_command(&r.transcript).starts_with("MAIL FROM:<tester@"),
        "{:?}",
        r.transcript.commands
    );
}

#[test]
fn null_sender_in_both_spellings() {
    for null in ["", "<>"] {
        let r = run(Script::new(), &["-f", null, "bob@example.org"], MSG);
        assert_quiet_success(&r);
        let mail = mail_command(&r.transcript);
        assert!(
            mail.starts_with("MAIL FROM:<> ") || mail == "MAIL FROM:<>",
            "{mail}"
        );
    }
}

#[test]
fn one_argument_may_hold_several_addresses() {
    let r = run(
        Script::new(),
        &[
            "-f",
            "alice@example.org",
            "\"Ann B\" <ann@example.org>, bob@example.org",
        ],
        MSG,
    );
    assert_quiet_success(&r);
    assert_eq!(
        r.transcript.matching("RCPT"),
        ["RCPT TO:<ann@example.org>", "RCPT TO:<bob@example.org>"]
    );
}

#[test]
fn ehlo_refused_falls_back_to_helo_without_esmtp_parameters() {
    let r = run(Script::new().helo_only(), &ALICE_TO_BOB, MSG);
    assert_quiet_success(&r);
    assert_eq!(
        r.transcript.commands,
        [
            "EHLO client.example",
            "HELO client.example",
            "MAIL FROM:<alice@example.org>",
            "RCPT TO:<bob@example.org>",
            "DATA",
            "QUIT"
        ]
    );
    assert_eq!(r.transcript.data, vec![msg_on_wire()]);
}

#[test]
fn any_non_2xx_ehlo_reply_falls_back_to_helo() {
    // Spec §3: "on a non-2xx reply, HELO" (smtplib's ehlo_or_helo_if_needed); 421 is the exception (faults.rs).
    for reply in [
        "500 5.5.1 unknown",
        "451 4.3.0 try later",
        "554 5.7.1 no ESMTP for you",
    ] {
        let script = Script::new().on(Stage::Ehlo, Action::reply(reply));
        let r = run(script, &ALICE_TO_BOB, MSG);
        assert_quiet_success(&r);
        assert_eq!(
            r.transcript.verbs()[..3],
            ["EHLO", "HELO", "MAIL"],
            "{reply}"
        );
        assert_eq!(mail_command(&r.transcript), "MAIL FROM:<alice@example.org>");
    }
}

#[test]
fn no_size_parameter_without_the_size_extension() {
    let r = run(
        Script::new().ehlo_lines(&["PIPELINING"]),
        &ALICE_TO_BOB,
        MSG,
    );
    assert_quiet_success(&r);
    assert_eq!(mail_command(&r.transcript), "MAIL FROM:<alice@example.org>");
}

#[test]
fn a_missing_or_odd_quit_reply_is_not_an_error_after_acceptance() {
    for action in [
        Action::Close,
        Action::Reset,
        Action::reply("500 5.5.1 what"),
        Action::Stall(std::time::Duration::from_secs(10)),
    ] {
        let script = Script::new().on(Stage::Quit, action.clone());
        let home = home();
        let server = Server::start(script);
        let out = mailsend_to(&home, &server)
            .args(["--timeout", "1"])
            .args(ALICE_TO_BOB)
            .write_stdin(MSG)
            .output()
            .expect("run mailsend");
        let t = server.finish();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{action:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(t.data.len(), 1);
    }
}

#[test]
fn ipv6_literal_host() {
    let Some(server) = Server::start_v6(Script::new()) else {
        return;
    };
    let home = home();
    assert_eq!(server.host_arg(), format!("[::1]:{}", server.port()));
    let out = mailsend_to(&home, &server)
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run mailsend");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 0);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

#[test]
fn invoked_as_sendmail_it_behaves_the_same() {
    let home = home();
    let link = home.path().join("sendmail");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mailsend"), &link).expect("symlink");
    let server = Server::start(Script::new());
    let output = mailsend_as(&link, &home)
        .args([
            "--host",
            &server.host_arg(),
            "--domain",
            "client.example",
            "-oi",
        ])
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run sendmail");
    let t = server.finish();
    crate::fixture::assert_exit(&output, 0);
    assert_eq!(t.data, vec![msg_on_wire()]);
}

#[test]
fn missing_from_date_and_message_id_are_added_and_nothing_else_changes() {
    let r = run(
        Script::new(),
        &["-f", "alice@example.org", "bob@example.org"],
        b"Subject: bare\n\nbody\n",
    );
    assert_quiet_success(&r);
    let data = String::from_utf8_lossy(&r.transcript.unstuffed(0)).into_owned();
    let (head, body) = data.split_once("\r\n\r\n").expect("header/body separator");
    assert_eq!(body, "body\r\n");
    let names: Vec<String> = head
        .split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_ascii_lowercase()))
        .collect();
    for wanted in ["subject", "from", "date", "message-id"] {
        assert_eq!(
            names.iter().filter(|n| *n == wanted).count(),
            1,
            "{wanted} in {head}"
        );
    }
    assert_eq!(names.len(), 4, "only the three headers are added: {head}");
}

#[test]
fn full_name_goes_into_a_generated_from() {
    let r = run(
        Script::new(),
        &[
            "-F",
            "Cron Daemon",
            "-f",
            "root@example.org",
            "bob@example.org",
        ],
        b"Subject: cron\n\nout\n",
    );
    assert_quiet_success(&r);
    let data = String::from_utf8_lossy(&r.transcript.data[0]).into_owned();
    let from = data
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))
        .unwrap_or_default();
    assert!(from.contains("Cron Daemon"), "{from}");
}

#[test]
fn a_2xx_reply_other_than_250_is_success() {
    // Issue 10, point 8: 2yz is a positive completion (RFC 5321 §4.2.1); 251 after the data, 252 to a
    // RCPT (RFC 5321 §3.5.3: will accept the message) and 251 to MAIL were reported as failures.
    let script = Script::new()
        .on(Stage::Mail, Action::reply("251 2.1.0 ok, unusual"))
        .on(
            Stage::Rcpt(1),
            Action::reply("252 2.1.5 cannot verify, will accept"),
        )
        .on(
            Stage::FinalReply,
            Action::reply("251 2.0.0 queued elsewhere"),
        );
    for script in [script.clone(), script.no_pipelining()] {
        let r = run(script, &ALICE_TO_BOB, MSG);
        assert_quiet_success(&r);
        assert_eq!(r.transcript.data, vec![msg_on_wire()]);
    }
}
#[test]
fn default_ehlo_literal_is_the_connections_local_address() {
    // Issue 10, point 23: RFC 5321 §4.1.4 asks for the client's own address in the literal, the local end
    // of this connection (bound here to 127.0.0.2), not the address of the host name.
    let home = home();
    let server = Server::start(Script::new());
    let out = crate::harness::mailsend(&home)
        .args([
            "--host",
            &server.host_arg(),
            "--source-address",
            "127.0.0.2",
        ])
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run mailsend");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 0);
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    let expected = match hostname.contains('.') {
        true => format!("EHLO {hostname}"),
        false => "EHLO [127.0.0.2]".to_string(),
    };
    assert_eq!(t.commands[0], expected);
}
