//! Which file is read (spec §8: `-C`, else `$XDG_CONFIG_HOME/mailsend/config.toml`, else `~/.config/…`),
//! and `--pretend`, which prints the resolved settings with their sources, masks secrets, runs no
//! password command and connects nowhere.

use std::path::Path;

use tempfile::TempDir;

use super::{auth_server, ehlo, write, xdg_file};
use crate::fixture::MSG;
use crate::harness::{Run, Script, Server, home, mailsend};

// ---- which file is read (spec §8) ----

fn run_with_files(files: &[(&Path, &str)], env: &[(&str, &Path)], args: &[&str]) -> (Run, TempDir) {
    let home = home();
    let server = Server::start(Script::new());
    for (path, text) in files {
        let path = home.path().join(path);
        write(&path, text, &server.host_arg(), 0o600);
    }
    let mut cmd = mailsend(&home);
    for (key, value) in env {
        if value.as_os_str().is_empty() {
            cmd.env_remove(key);
        } else {
            cmd.env(key, home.path().join(value));
        }
    }
    let out = cmd
        .args(args)
        .args(["-f", "alice@example.org", "bob@example.org"])
        .write_stdin(MSG)
        .output()
        .expect("run");
    let r = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        port: server.port(),
        transcript: server.finish(),
    };
    (r, home)
}

fn named(domain: &str) -> String {
    format!("[defaults]\nhost = \"{{HOST}}\"\ndomain = \"{domain}\"\n")
}

#[test]
fn xdg_config_home_is_where_the_user_file_is_found() {
    let custom = named("xdg.example");
    let dotconfig = named("dotconfig.example");
    let (r, _home) = run_with_files(
        &[
            (Path::new("xdg/mailsend/config.toml"), &custom),
            (Path::new(".config/mailsend/config.toml"), &dotconfig),
        ],
        &[("XDG_CONFIG_HOME", Path::new("xdg"))],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(ehlo(&r.transcript), "EHLO xdg.example");

    // XDG_CONFIG_HOME unset: ~/.config.
    let (r, _home) = run_with_files(
        &[(Path::new(".config/mailsend/config.toml"), &dotconfig)],
        &[("XDG_CONFIG_HOME", Path::new(""))],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(ehlo(&r.transcript), "EHLO dotconfig.example");
}

#[test]
fn dash_c_beats_the_user_file() {
    let home = home();
    let server = Server::start(Script::new());
    let explicit = home.path().join("explicit.toml");
    write(
        &explicit,
        &named("explicit.example"),
        &server.host_arg(),
        0o600,
    );
    write(
        &xdg_file(&home),
        &named("user.example"),
        &server.host_arg(),
        0o600,
    );
    let out = mailsend(&home)
        .arg("-C")
        .arg(&explicit)
        .args(["-f", "alice@example.org", "bob@example.org"])
        .write_stdin(MSG)
        .output()
        .expect("run");
    let t = server.finish();
    crate::fixture::assert_exit(&out, 0);
    assert_eq!(ehlo(&t), "EHLO explicit.example");
}

// ---- --pretend ----

#[test]
fn pretend_shows_sources_masks_the_password_and_connects_nowhere() {
    let home = home();
    let server = Server::start(auth_server());
    let marker = home.path().join("password-command-ran");
    let config = format!(
        "default_account = \"work\"\n[defaults]\nmaildomain = \"example.org\"\n\
         [accounts.base]\nhost = \"{{HOST}}\"\ndomain = \"parent.example\"\n\
         [accounts.work]\nparent = \"base\"\nuser = \"me\"\npassword = \"s3cret-pw\"\nfrom = \"me@example.org\"\n\
         [accounts.cmd]\nparent = \"base\"\nuser = \"me\"\npassword_command = \"touch {}; printf 's3cret-%s' pw\"\n",
        marker.display()
    );
    write(&xdg_file(&home), &config, &server.host_arg(), 0o600);
    let out = mailsend(&home)
        .args(["--pretend", "--timeout", "7", "root"])
        .write_stdin(b"Subject: x\n\nhello\n".to_vec())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for needle in [
        "config.toml",
        "[accounts.work]",
        "[accounts.base]",
        "parent.example",
        "[defaults]",
        "command line",
        "<redacted>",
        "MAIL FROM:<me@example.org>",
        "RCPT TO:<root@example.org>",
        "hello",
    ] {
        assert!(
            stdout.contains(needle),
            "--pretend should show {needle:?}:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("s3cret-pw") && !stderr.contains("s3cret-pw"),
        "the password is masked:\n{stdout}"
    );

    let out = mailsend(&home)
        .args(["--pretend", "-a", "cmd", "bob@example.org"])
        .write_stdin(b"Subject: x\n\nhello\n".to_vec())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout.contains("s3cret-pw"), "{stdout}");
    assert!(
        !marker.exists(),
        "--pretend has no side effects: the password command is not run"
    );
    let t = server.finish();
    assert!(!t.connected, "--pretend connects to nothing");
}

/// Issue 10, point 19: --pretend said `password = <redacted> # from password_command` as if it had
/// run the command, and did not show what `tls = auto` became, the authentication, the timeout in
/// effect, or where it looked for a configuration file when there was none.
#[test]
fn pretend_shows_effective_tls_auth_timeout_and_where_it_looked() {
    let home = home();
    let pretend = |args: &[&str]| {
        let out = mailsend(&home)
            .arg("--pretend")
            .args(args)
            .arg("bob@example.org")
            .write_stdin(b"Subject: x\n\nhello\n".to_vec())
            .output()
            .expect("run");
        crate::fixture::assert_exit(&out, 0);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = pretend(&["--host", "smtp.example.org:587"]);
    let user_file = xdg_file(&home);
    for needle in [
        "config file = none",
        &user_file.display().to_string(),
        "/etc/mailsend.toml",
        "tls = starttls",
        "auth = off",
        "timeout = 60",
    ] {
        assert!(stdout.contains(needle), "should show {needle:?}:\n{stdout}");
    }

    let marker = home.path().join("password-command-ran");
    let stdout = pretend(&[
        "--host",
        "127.0.0.1:2525",
        "--user",
        "me",
        "--password-command",
        &format!("touch {}", marker.display()),
        "--timeout",
        "7",
    ]);
    for needle in ["tls = off", "auth = on", "timeout = 7", "(not run)"] {
        assert!(stdout.contains(needle), "should show {needle:?}:\n{stdout}");
    }
    assert!(!marker.exists(), "the password command is not run");
}
