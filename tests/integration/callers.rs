//! Real sendmail callers (issue 4; shared/reference/sendmail-callers.md): every line of that table except
//! `-bs` (Symfony Mailer, planned in spec §9), run with exactly its argv and a message shaped like that
//! caller's, against the scripted server, with a configuration file giving `maildomain = "example.org"`
//! and `qualify_headers = true` (spec §2, §8). Each run must exit 0 with the envelope the caller meant,
//! and a bare sender such as cron's `root` must reach the server fully qualified, in MAIL FROM and, with
//! `qualify_headers`, in the From header ("need fully-qualified address" is the pain point in the table).

use crate::harness::{Run, Script, home, run_in};

/// Where the configuration file is found: `$XDG_CONFIG_HOME/mailsend/config.toml`, or `-C FILE`.
#[derive(Clone, Copy, Debug)]
enum Config {
    Xdg,
    Explicit,
}

struct Caller {
    name: &'static str,
    argv: &'static [&'static str],
    message: &'static str,
    config: Config,
    /// The envelope sender expected in MAIL FROM.
    from: &'static str,
    rcpts: &'static [&'static str],
    /// Substrings the From header that reaches the server must hold.
    from_header: &'static [&'static str],
}

const CONFIG: &str = "[defaults]\nmaildomain = \"example.org\"\nqualify_headers = true\n";

#[rustfmt::skip]
const CALLERS: &[Caller] = &[
    Caller {
        name: "cronie",
        argv: &["-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"],
        message: "From: \"(Cron Daemon)\" <root>\nTo: root\nSubject: Cron <root@host> /usr/local/bin/job\n\
                  MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\njob output\n",
        config: Config::Xdg,
        from: "root@example.org",
        rcpts: &["root@example.org"],
        from_header: &["<root@example.org>", "Cron Daemon"],
    },
    Caller {
        name: "Debian cron",
        argv: &["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "admin"],
        message: "From: root (Cron Daemon)\nTo: admin\nSubject: Cron <root@host> run-parts /etc/cron.daily\n\
                  Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n\
                  sortie du travail: termin\u{e9}\n",
        config: Config::Explicit,
        from: "root@example.org",
        rcpts: &["admin@example.org"],
        from_header: &["root@example.org", "Cron Daemon"],
    },
    Caller {
        name: "bcron",
        argv: &["-FCronDaemon", "-i", "-odi", "-oem", "-t"],
        message: "From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> job\n\nout\n",
        config: Config::Xdg,
        from: "root@example.org",
        rcpts: &["root@example.org"],
        from_header: &["root@example.org", "Cron Daemon"],
    },
    Caller {
        name: "systemd-cron, glued -B",
        argv: &["-i", "-B8BITMIME", "root"],
        message: "From: root (systemd-cron)\nTo: root\nSubject: [host] result of cron-daily.service\n\
                  Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: binary\n\n\
                  \u{2713} done\n",
        config: Config::Xdg,
        from: "root@example.org",
        rcpts: &["root@example.org"],
        from_header: &["root@example.org", "systemd-cron"],
    },
    Caller {
        name: "systemd-cron, split -B",
        argv: &["-i", "-B", "8BITMIME", "root"],
        message: "From: root (systemd-cron)\nTo: root\nSubject: [host] result of cron-daily.service\n\
                  Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: binary\n\n\
                  \u{2713} done\n",
        config: Config::Explicit,
        from: "root@example.org",
        rcpts: &["root@example.org"],
        from_header: &["root@example.org", "systemd-cron"],
    },
    Caller {
        name: "at (Debian)",
        argv: &["-i", "tester"],
        message: "Subject: Output from your job        7\nTo: tester\n\nhello from at\n",
        config: Config::Xdg,
        from: "tester@example.org",
        rcpts: &["tester@example.org"],
        from_header: &["tester@example.org"],
    },
    Caller {
        name: "mdadm",
        argv: &["-t"],
        message: "From: mdadm monitoring <root@host.example.net>\nTo: root\n\
                  Subject: Fail event on /dev/md0:host\n\nA Fail event had been detected on md device /dev/md0.\n",
        config: Config::Xdg,
        from: "root@host.example.net",
        rcpts: &["root@example.org"],
        from_header: &["<root@host.example.net>"],
    },
    Caller {
        name: "bsd-mailx",
        argv: &["-i", "-t"],
        message: "To: bob@example.org\nCc: carol@example.org\nBcc: dave@example.org\nSubject: hi\n\nbody\n",
        config: Config::Xdg,
        from: "tester@example.org",
        rcpts: &["bob@example.org", "carol@example.org", "dave@example.org"],
        from_header: &["tester@example.org"],
    },
    Caller {
        name: "s-nail",
        argv: &["-i", "--", "bob@example.org", "dave@example.org"],
        message: "Date: Mon, 01 Jan 2024 00:00:00 +0000\nTo: bob@example.org\nBcc: dave@example.org\n\
                  Subject: hi\nMessage-ID: <20240101000000.1@host>\nUser-Agent: s-nail v14.9.24\n\nbody\n",
        config: Config::Xdg,
        from: "tester@example.org",
        rcpts: &["bob@example.org", "dave@example.org"],
        from_header: &["tester@example.org"],
    },
    Caller {
        name: "GNU mailutils mail",
        argv: &["-oi", "-f", "user@host.example.org", "-t"],
        message: "From: user@host.example.org\nTo: bob@example.org\nSubject: hi\n\nbody\n",
        config: Config::Xdg,
        from: "user@host.example.org",
        rcpts: &["bob@example.org"],
        from_header: &["user@host.example.org"],
    },
    Caller {
        name: "logwatch",
        argv: &["-t"],
        message: "To: root\nFrom: Logwatch\nSubject: Logwatch for host (Linux)\n\
                  Content-Type: text/plain; charset=\"iso-8859-1\"\n\n ### Logwatch 7.8 ###\n",
        config: Config::Xdg,
        from: "Logwatch@example.org",
        rcpts: &["root@example.org"],
        from_header: &["Logwatch@example.org"],
    },
    Caller {
        name: "unattended-upgrades",
        argv: &["-oi", "-t"],
        message: "From: root\nTo: root\nSubject: unattended-upgrades result for host: True\n\
                  Content-Type: text/plain; charset=\"utf-8\"\n\nUnattended upgrade result: All upgrades installed\n",
        config: Config::Explicit,
        from: "root@example.org",
        rcpts: &["root@example.org"],
        from_header: &["root@example.org"],
    },
    Caller {
        name: "fail2ban",
        argv: &["-f", "fail2ban@host.example.org", "root"],
        message: "Subject: [Fail2Ban] sshd: started on host\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\
                  From: Fail2Ban <fail2ban@host.example.org>\nTo: root\n\nHi,\nThe jail sshd has been started.\n",
        config: Config::Xdg,
        from: "fail2ban@host.example.org",
        rcpts: &["root@example.org"],
        from_header: &["<fail2ban@host.example.org>"],
    },
    Caller {
        name: "git send-email",
        argv: &["-i", "bob@example.org", "carol@example.org", "dave@example.org"],
        message: "From: Alice <alice@example.org>\nTo: bob@example.org\nCc: carol@example.org\n\
                  Subject: [PATCH] fix it\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\
                  Message-ID: <20240101.1-1-alice@example.org>\nX-Mailer: git-send-email 2.39.2\n\n---\n.\n..\n",
        config: Config::Xdg,
        from: "alice@example.org",
        rcpts: &["bob@example.org", "carol@example.org", "dave@example.org"],
        from_header: &["<alice@example.org>"],
    },
    Caller {
        name: "git send-email, envelope sender",
        argv: &["-f", "alice@example.org", "-i", "bob@example.org"],
        message: "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: [PATCH] fix it\n\
                  Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <20240101.2-1-alice@example.org>\n\n---\n",
        config: Config::Xdg,
        from: "alice@example.org",
        rcpts: &["bob@example.org"],
        from_header: &["<alice@example.org>"],
    },
    Caller {
        name: "mutt, every option",
        argv: &["-oem", "-oi", "-B8BITMIME", "-f", "alice@example.org", "-N", "success,failure",
                "-R", "hdrs", "--", "bob@example.org", "carol@example.org"],
        message: "Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: Alice <alice@example.org>\n\
                  To: bob@example.org\nBcc: carol@example.org\nSubject: hi\n\
                  Message-ID: <m1@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\
                  Content-Disposition: inline\nContent-Transfer-Encoding: 8bit\n\nGr\u{fc}\u{df}e\n",
        config: Config::Xdg,
        from: "alice@example.org",
        rcpts: &["bob@example.org", "carol@example.org"],
        from_header: &["<alice@example.org>"],
    },
    Caller {
        name: "mutt, plain",
        argv: &["-oem", "-oi", "--", "bob@example.org"],
        message: "Date: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: Alice <alice@example.org>\n\
                  To: bob@example.org\nSubject: hi\nMessage-ID: <m2@example.org>\n\nhello\n",
        config: Config::Xdg,
        from: "alice@example.org",
        rcpts: &["bob@example.org"],
        from_header: &["<alice@example.org>"],
    },
    Caller {
        name: "PHP mail() with the fifth argument",
        argv: &["-t", "-i", "-falice@example.org"],
        message: "To: bob@example.org\nSubject: contact form\nFrom: Website <www@example.org>\n\
                  X-Mailer: PHP/8.2.7\n\nsomeone wrote\n",
        config: Config::Xdg,
        from: "alice@example.org",
        rcpts: &["bob@example.org"],
        from_header: &["<www@example.org>"],
    },
];

fn run_caller(caller: &Caller) -> Run {
    let home = home();
    let config = match caller.config {
        Config::Xdg => home.path().join(".config/mailsend/config.toml"),
        Config::Explicit => home.path().join("mailsend.toml"),
    };
    if let Some(dir) = config.parent() {
        std::fs::create_dir_all(dir).expect("config dir");
    }
    std::fs::write(&config, CONFIG).expect("write config");
    let server = crate::harness::Server::start(Script::new());
    run_in(&home, server, caller.message.as_bytes(), |cmd| {
        if let Config::Explicit = caller.config {
            cmd.arg("-C").arg(&config);
        }
        cmd.args(caller.argv);
    })
}

/// The From header of the message as the server got it, unfolded.
fn from_header(r: &Run) -> Option<String> {
    let data = r.transcript.data.first()?;
    let text = String::from_utf8_lossy(data);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))
        .map(str::to_string)
}

fn check(caller: &Caller, r: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let t = &r.transcript;
    if r.code != Some(0) {
        problems.push(format!("exit {:?}: {}", r.code, r.stderr.trim_end()));
    }
    let mail = t.matching("MAIL FROM:").first().map(|m| m.to_string());
    let want_mail = format!("MAIL FROM:<{}>", caller.from);
    if !mail.as_deref().is_some_and(|m| m.starts_with(&want_mail)) {
        problems.push(format!("{mail:?}, want {want_mail}"));
    }
    // Spec §1: -B 8BITMIME (glued or split) → BODY=8BITMIME, as the server offers 8BITMIME.
    let eight_bit = caller.argv.contains(&"-B8BITMIME")
        || caller.argv.windows(2).any(|w| w == ["-B", "8BITMIME"]);
    if eight_bit {
        let params = mail
            .as_deref()
            .map(crate::fixture::params)
            .unwrap_or_default();
        if !params.contains(&"BODY=8BITMIME".to_string()) {
            problems.push(format!("{mail:?} lacks BODY=8BITMIME"));
        }
    }
    let rcpts: Vec<&str> = t.matching("RCPT TO:");
    let want: Vec<String> = caller
        .rcpts
        .iter()
        .map(|r| format!("RCPT TO:<{r}>"))
        .collect();
    if rcpts != want {
        problems.push(format!("{rcpts:?}, want {want:?}"));
    }
    match from_header(r) {
        None => problems.push("no From header reached the server".to_string()),
        Some(from) => {
            for needle in caller.from_header {
                if !from.contains(needle) {
                    problems.push(format!("{from:?} lacks {needle:?}"));
                }
            }
        }
    }
    if let Some(data) = t.data.first() {
        let text = String::from_utf8_lossy(data).to_ascii_lowercase();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        if head.starts_with("bcc:") || head.contains("\r\nbcc:") {
            problems.push("a Bcc header reached the server".to_string());
        }
    }
    problems
}

#[test]
fn every_caller_in_the_table_works_with_its_exact_argv() {
    let mut failures = Vec::new();
    for caller in CALLERS {
        let r = run_caller(caller);
        let problems = check(caller, &r);
        let verdict = if problems.is_empty() { "ok  " } else { "FAIL" };
        eprintln!(
            "{verdict} {:<34} {:?} exit {:?}",
            caller.name, caller.argv, r.code
        );
        if !problems.is_empty() {
            eprintln!("     {}", problems.join("; "));
            failures.push(format!("{}: {}", caller.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cron_without_qualify_headers_still_gets_a_qualified_envelope() {
    // maildomain alone qualifies the envelope (spec §2); the header is left as written.
    let home = home();
    let dir = home.path().join(".config/mailsend");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[defaults]\nmaildomain = \"example.org\"\n",
    )
    .expect("write config");
    let server = crate::harness::Server::start(Script::new());
    let r = run_in(
        &home,
        server,
        b"From: root (Cron Daemon)\nTo: root\nSubject: x\n\nout\n",
        |cmd| {
            cmd.args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]);
        },
    );
    r.expect_code(0);
    assert!(r.transcript.matching("MAIL FROM:")[0].starts_with("MAIL FROM:<root@example.org>"));
    assert_eq!(
        r.transcript.matching("RCPT"),
        ["RCPT TO:<root@example.org>"]
    );
    assert_eq!(
        from_header(&r).as_deref(),
        Some("From: root (Cron Daemon)"),
        "without qualify_headers the From header is not rewritten"
    );
}
