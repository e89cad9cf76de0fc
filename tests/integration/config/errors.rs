//! Configuration errors (spec §8): exit 78 naming the file, the line and the key, found before anything
//! connects; and the 0600 rule for a file holding a password (spec §5, catalogue C23).

use super::{auth_server, run_config_with};
use crate::fixture::{MSG, assert_stderr_mentions};
use crate::harness::{Run, Script, Server, home, mailsend};

// ---- errors: exit 78, file:line:key, nothing connects ----

/// A configuration error: exit 78, nothing connects, and stderr holds every one of `needles`.
#[track_caller]
fn config_error(config: &str, mode: u32, args: &[&str], needles: &[&str]) -> Run {
    let r = run_config_with(Script::new(), config, mode, args, MSG);
    assert_eq!(r.code, Some(78), "{config}: {}", r.stderr);
    assert!(
        !r.transcript.connected,
        "{config}: the server was contacted"
    );
    for needle in needles {
        assert_stderr_mentions(&r, needle);
    }
    r
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    for (config, line, key) in [
        ("[defaults]\nhost = \"{HOST}\"\nhots = \"x\"\n", 3, "hots"),
        (
            "[defaults]\nhost = \"{HOST}\"\n[accounts.work]\n\nfrom_adress = \"a@b.c\"\n",
            5,
            "from_adress",
        ),
        (
            "defualt_account = \"work\"\n[defaults]\nhost = \"{HOST}\"\n",
            1,
            "defualt_account",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\n[account.work]\nhost = \"x\"\n",
            3,
            "account",
        ),
    ] {
        config_error(
            config,
            0o600,
            &["bob@example.org"],
            &[&format!("config.toml:{line}"), key],
        );
    }
}

#[test]
fn bad_values_and_syntax_name_file_and_line() {
    for (config, line, key) in [
        (
            "[defaults]\nhost = \"{HOST}\"\nport = \"twenty-five\"\n",
            3,
            "port",
        ),
        ("[defaults]\nhost = \"{HOST}\"\ntls = \"maybe\"\n", 3, "tls"),
        (
            "[defaults]\nhost = \"{HOST}\"\ntimeout = -1\n",
            3,
            "timeout",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\nprotocol = \"esmtp\"\n",
            3,
            "protocol",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\ndomain = \"a\\nb\"\n",
            3,
            "domain",
        ),
    ] {
        config_error(
            config,
            0o600,
            &["bob@example.org"],
            &[&format!("config.toml:{line}"), key],
        );
    }
}

#[test]
fn unknown_account_and_missing_parent_are_config_errors() {
    let base = "[defaults]\nhost = \"{HOST}\"\n[accounts.work]\nparent = \"nowhere\"\n";
    config_error(
        base,
        0o600,
        &["-a", "work", "bob@example.org"],
        &["config.toml", "nowhere"],
    );
    config_error(
        "[defaults]\nhost = \"{HOST}\"\n[accounts.work]\ndomain = \"x.example\"\n",
        0o600,
        &["-a", "play", "bob@example.org"],
        &["config.toml", "play"],
    );
    config_error(
        "[defaults]\nhost = \"{HOST}\"\n[accounts.a]\nparent = \"b\"\n[accounts.b]\nparent = \"a\"\n",
        0o600,
        &["-a", "a", "bob@example.org"],
        &["config.toml", "cycle"],
    );
    config_error(
        "default_account = \"gone\"\n[defaults]\nhost = \"{HOST}\"\n",
        0o600,
        &["bob@example.org"],
        &["config.toml:1", "gone"],
    );
}

#[test]
fn explicit_config_file_that_does_not_exist_is_a_config_error() {
    let home = home();
    let server = Server::start(Script::new());
    let out = mailsend(&home)
        .args(["--host", &server.host_arg(), "-C"])
        .arg(home.path().join("missing.toml"))
        .arg("bob@example.org")
        .write_stdin(MSG)
        .output()
        .expect("run");
    let t = server.finish();
    assert_eq!(out.status.code(), Some(78));
    assert!(!t.connected);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

// ---- the password file rule (catalogue C23) ----

const WITH_PASSWORD: &str = "[defaults]\nhost = \"{HOST}\"\ndomain = \"c.example\"\n\
allow_plaintext_auth = true\nuser = \"me\"\npassword = \"s3cret-pw\"\n";

#[test]
fn a_file_with_a_password_must_be_mode_0600() {
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let r = config_error(
            WITH_PASSWORD,
            mode,
            &["bob@example.org"],
            &["config.toml", "0600"],
        );
        assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
    }
    let r = run_config_with(
        auth_server(),
        WITH_PASSWORD,
        0o600,
        &["-f", "alice@example.org", "bob@example.org"],
        MSG,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.transcript.auth.len(), 1);
    assert!(r.transcript.auth[0].success);
}

#[test]
fn a_file_without_a_password_may_be_world_readable() {
    let r = run_config_with(
        Script::new(),
        "[defaults]\nhost = \"{HOST}\"\ndomain = \"c.example\"\n",
        0o644,
        &["-f", "alice@example.org", "bob@example.org"],
        MSG,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn configured_addresses_that_are_not_addresses_are_config_errors() {
    // Issue 10, point 14: `from` used to end in 65 with no file or line; every address the file holds is a
    // configuration value, 78 naming the file, the line and the key, whether or not this run uses it.
    for (config, line, key) in [
        (
            "[defaults]\nhost = \"{HOST}\"\nfrom = \"not an address\"\n",
            3,
            "from",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\n[accounts.work]\n\nfrom = \"<me@example.org\"\n",
            5,
            "from",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\nfrom = \"a@example.org, b@example.org\"\n",
            3,
            "from",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\nmaildomain = \"example .org\"\n",
            3,
            "maildomain",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\nmaildomain = \"@example.org\"\n",
            3,
            "maildomain",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\n[aliases]\nroot = \"admin@\"\n",
            4,
            "root",
        ),
        (
            "[defaults]\nhost = \"{HOST}\"\n[aliases]\nops = \"Ops Team\"\n",
            4,
            "ops",
        ),
    ] {
        config_error(
            config,
            0o600,
            &["-f", "alice@example.org", "bob@example.org"],
            &[&format!("config.toml:{line}"), key],
        );
    }
    // What stays valid: a bare name (qualified later), the null sender, a domain literal.
    for ok in [
        "from = \"root\"\n",
        "from = \"<>\"\n",
        "from = \"Me <me@example.org>\"\n",
        "maildomain = \"[192.0.2.1]\"\n",
    ] {
        let config = format!("[defaults]\nhost = \"{{HOST}}\"\ndomain = \"c.example\"\n{ok}");
        let r = run_config_with(Script::new(), &config, 0o600, &["bob@example.org"], MSG);
        assert_eq!(r.code, Some(0), "{ok}: {}", r.stderr);
    }
}
