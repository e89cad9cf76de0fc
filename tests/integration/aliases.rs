//! Issue 14, points 3 and 4 (spec §12): `newaliases` (and `-bi`) checks the aliases file, `-oAFILE` names
//! another one for sending too, the aliases file applies to local recipients when no `[aliases]` table is
//! configured, and `/etc/mailname` is the default maildomain. The system's files are read in HOME/etc
//! (the harness points MAILSEND_TEST_ETC there), never the machine's own.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fixture::assert_exit;
use crate::harness::{Script, Server, home, mailsend, mailsend_as, mailsend_to};

/// `HOME/etc/NAME` holding `text`: a file of the test's own `/etc`.
fn etc_file(home: &TempDir, name: &str, text: &str) -> PathBuf {
    let etc = home.path().join("etc");
    std::fs::create_dir_all(&etc).expect("create HOME/etc");
    let path = etc.join(name);
    std::fs::write(&path, text).expect("write the file");
    path
}

/// The binary under the name `newaliases`, as the mailsend-mta package links it.
fn newaliases(home: &TempDir) -> PathBuf {
    let link = home.path().join("newaliases");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mailsend"), &link).expect("symlink");
    link
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn newaliases_reports_a_broken_aliases_file_with_its_line_and_78() {
    let home = home();
    let path = etc_file(
        &home,
        "aliases",
        "# Debian's aliases\npostmaster: root\nroot: admin@example.org,\n  ops@example.org\nbroken line\n",
    );
    let out = mailsend_as(&newaliases(&home), &home)
        .output()
        .expect("run newaliases");
    assert_exit(&out, 78);
    assert_eq!(
        text(&out.stderr),
        format!(
            "mailsend: {}:5: no `:` after the alias name (expected `name: target, target`)\n",
            path.display()
        )
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn newaliases_counts_the_aliases_and_warns_about_refused_targets() {
    let home = home();
    let path = etc_file(
        &home,
        "aliases",
        "postmaster: root\nroot: admin@example.org\nlist: |/usr/bin/procmail, root\n",
    );
    let out = mailsend_as(&newaliases(&home), &home)
        .output()
        .expect("run newaliases");
    assert_exit(&out, 0);
    assert_eq!(
        text(&out.stdout),
        format!("{}: 3 aliases\n", path.display())
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "mailsend: warning: {}:3: alias `list`: command target `|/usr/bin/procmail` refused\n",
            path.display()
        )
    );
}

#[test]
fn bi_checks_the_file_oa_names_and_a_missing_system_file_is_no_aliases() {
    let home = home();
    let other = home.path().join("other-aliases");
    std::fs::write(&other, "x: y\n\"a b\" c\n").expect("write");
    let out = mailsend(&home)
        .args(["-bi", &format!("-oA{}", other.display())])
        .output()
        .expect("run -bi");
    assert_exit(&out, 78);
    assert!(text(&out.stderr).contains("other-aliases:2: no `:` after the quoted alias name"));

    let missing = home.path().join("etc/aliases");
    let out = mailsend(&home).arg("-bi").output().expect("run -bi");
    assert_exit(&out, 0);
    assert_eq!(
        text(&out.stdout),
        format!("{}: no such file, so no aliases\n", missing.display())
    );

    let out = mailsend(&home)
        .args(["-bi", "-oA/nonexistent/aliases"])
        .output()
        .expect("run -bi");
    assert_exit(&out, 78);
    assert!(text(&out.stderr).contains("cannot read the aliases file /nonexistent/aliases"));
}

/// Sends a bare message to `args`, returns the RCPT TO and MAIL FROM commands the server saw (without
/// their ESMTP parameters).
fn send(home: &TempDir, args: &[&str]) -> (Vec<String>, Vec<String>) {
    let server = Server::start(Script::new());
    let out = mailsend_to(home, &server)
        .args(args)
        .write_stdin("Subject: aliases\n\nbody\n")
        .output()
        .expect("run mailsend");
    let t = server.finish();
    assert_exit(&out, 0);
    let own = |p: &str| {
        t.matching(p)
            .into_iter()
            .map(|c| c.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    (own("RCPT TO"), own("MAIL FROM"))
}

#[test]
fn a_local_recipient_is_expanded_through_the_file_oa_names() {
    let home = home();
    let file = home.path().join("aliases");
    std::fs::write(
        &file,
        "postmaster: root\nroot: admin@example.org, root\nloop: loop2\nloop2: loop\n",
    )
    .expect("write");
    let oa = format!("-oA{}", file.display());
    let (rcpts, _) = send(
        &home,
        &[
            &oa,
            "-f",
            "cron@example.org",
            "postmaster",
            "loop",
            "bob@example.net",
        ],
    );
    assert_eq!(
        rcpts,
        [
            "RCPT TO:<admin@example.org>",
            "RCPT TO:<root>",
            "RCPT TO:<loop>",
            "RCPT TO:<bob@example.net>"
        ]
    );
}

#[test]
fn mailname_is_the_default_maildomain_and_makes_names_at_it_local() {
    let home = home();
    etc_file(&home, "mailname", "mail.example.org\n");
    etc_file(&home, "aliases", "root: admin\n");
    let (rcpts, from) = send(&home, &["root@mail.example.org", "anna"]);
    assert_eq!(
        rcpts,
        [
            "RCPT TO:<admin@mail.example.org>",
            "RCPT TO:<anna@mail.example.org>"
        ]
    );
    assert_eq!(from, ["MAIL FROM:<tester@mail.example.org>"]);
}

#[test]
fn a_configured_table_and_maildomain_win_over_the_system_files() {
    let home = home();
    etc_file(&home, "mailname", "mail.example.org\n");
    etc_file(&home, "aliases", "root: from-file\nbroken line\n");
    let config = home.path().join(".config/mailsend/config.toml");
    std::fs::create_dir_all(config.parent().unwrap_or(Path::new("."))).expect("mkdir");
    std::fs::write(
        &config,
        "[defaults]\nmaildomain = \"example.org\"\n[aliases]\nroot = \"table@example.org\"\n",
    )
    .expect("write config");
    let (rcpts, from) = send(&home, &["root", "anna"]);
    assert_eq!(
        rcpts,
        ["RCPT TO:<table@example.org>", "RCPT TO:<anna@example.org>"]
    );
    assert_eq!(from, ["MAIL FROM:<tester@example.org>"]);
}
