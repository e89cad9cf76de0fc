//! The per-message log line (`logfile`, `-X FILE`, `syslog`): where it goes and what it says about a
//! failure (issue 10, points 6 and 21).

use std::net::TcpListener;

use crate::fixture::{ALICE_TO_BOB, MSG};
use crate::harness::{Script, Server, home, mailsend, mailsend_to};

/// A loopback port nobody listens on: bound, then let go.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address").port()
}

/// Issue 10, point 21: `logfile = "~/mailsend.log"` is the file in the home directory (it was taken
/// as a relative path starting with a directory named `~`), and the line states the cause of a
/// failure once ("Connection refused (os error 111): Connection refused (os error 111)").
#[test]
fn logfile_tilde_is_home_and_the_cause_is_logged_once() {
    let home = home();
    let config_dir = home.path().join(".config/mailsend");
    std::fs::create_dir_all(&config_dir).expect("config dir");
    std::fs::write(
        config_dir.join("config.toml"),
        format!(
            "[defaults]\nhost = \"127.0.0.1:{}\"\nlogfile = \"~/mailsend.log\"\n",
            closed_port()
        ),
    )
    .expect("write config");
    let out = mailsend(&home)
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run");
    crate::fixture::assert_exit(&out, 75);
    let log = std::fs::read_to_string(home.path().join("mailsend.log"))
        .expect("the log is in the home directory");
    assert!(!home.path().join("~").exists());
    assert_eq!(log.lines().count(), 1, "{log}");
    assert_eq!(
        log.to_lowercase().matches("connection refused").count(),
        1,
        "{log}"
    );
    assert!(log.contains("exitcode=EX_TEMPFAIL"), "{log}");
}

/// Issue 10, point 21: msmtp's `-X FILE` names the log file (it was accepted and ignored).
#[test]
fn x_option_is_the_log_file() {
    let home = home();
    let server = Server::start(Script::new());
    let log = home.path().join("x.log");
    let out = mailsend_to(&home, &server)
        .arg("-X")
        .arg(&log)
        .arg("--read-envelope-from")
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run");
    crate::fixture::assert_exit(&out, 0);
    server.finish();
    let text = std::fs::read_to_string(&log).expect("-X wrote the log");
    assert!(text.contains("from=alice@example.org"), "{text}");
    assert!(text.contains("exitcode=EX_OK"), "{text}");
}

/// Issue 10, point 6: a log path that is a symbolic link is not followed; the warning names it and
/// the mail still goes out.
#[test]
fn logfile_symlink_is_refused_with_its_path() {
    let home = home();
    let server = Server::start(Script::new());
    let target = home.path().join("target");
    std::fs::write(&target, b"keep\n").expect("write target");
    let link = home.path().join("link.log");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = mailsend_to(&home, &server)
        .arg("-X")
        .arg(&link)
        .args(ALICE_TO_BOB)
        .write_stdin(MSG)
        .output()
        .expect("run");
    crate::fixture::assert_exit(&out, 0);
    server.finish();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&link.display().to_string()), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read(&target).expect("read target"), b"keep\n");
}
