//! Tests of parsing, validation, resolution, file discovery and the permission rule on real files.

use std::os::unix::fs::{PermissionsExt, symlink};

use super::*;
use crate::values::Mechanism;

const PATH: &str = "/home/a/.config/mailsend/config.toml";
const EXAMPLE: &str = include_str!("../../config.example.toml");

fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_str(Path::new(PATH), text)
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn example_parses_and_resolves() {
    let config = parse(EXAMPLE).expect("the example is valid");
    assert_eq!(config.aliases["default"], "admin@example.org");
    let work = config.resolve(None).expect("default account");
    assert_eq!(work.name.as_deref(), Some("work"));
    assert_eq!(work.account.host.as_deref(), Some("smtp.example.org"));
    assert_eq!(work.account.port, Port::new(587));
    assert_eq!(work.account.tls, Some(TlsMode::Auto));
    assert_eq!(work.sources["port"], "[accounts.base] via parent");
    let config = parse(EXAMPLE).expect("the example is valid");
    let local = config.resolve(Some("local")).expect("local account");
    assert_eq!(local.account.protocol, Some(Protocol::Lmtp));
    assert_eq!(local.account.tls, Some(TlsMode::Off));
}

/// The example's lines of the form `key = value` or `# key = value`, with the `# ` removed.
fn example_key_lines() -> Vec<(String, String)> {
    EXAMPLE
        .lines()
        .filter_map(|line| {
            let line = line.strip_prefix("# ").unwrap_or(line);
            let key = line.split(" = ").next()?;
            ACCOUNT_KEYS
                .contains(&key)
                .then(|| (key.to_owned(), line.to_owned()))
        })
        .collect()
}

#[test]
fn example_documents_every_key() {
    let documented: Vec<String> = example_key_lines().into_iter().map(|(k, _)| k).collect();
    for key in ACCOUNT_KEYS {
        assert!(
            documented.iter().any(|d| d == key),
            "config.example.toml does not show `{key}`"
        );
    }
    for key in TOP_KEYS {
        assert!(EXAMPLE.contains(key), "config.example.toml lacks `{key}`");
    }
}

#[test]
fn example_commented_values_are_valid() {
    for (key, line) in example_key_lines() {
        let text = format!("[accounts.base]\n[accounts.x]\n{line}\n");
        let config = parse(&text).unwrap_or_else(|e| panic!("{line}: {e}"));
        let resolved = config.resolve(Some("x")).expect("resolves");
        assert!(resolved.sources.contains_key(key.as_str()), "{line}");
    }
}

const CHAIN: &str = r#"
default_account = "work"
[defaults]
timeout = 30
tls = "starttls"
user = "default-user"
debug = 1
[accounts.root]
host = "root.example"
port = 25
tls = "implicit"
[accounts.base]
parent = "root"
port = 587
[accounts.work]
parent = "base"
user = "me@example.org"
"#;

#[test]
fn account_beats_parent_beats_grandparent_beats_defaults() {
    let config = parse(CHAIN).expect("valid");
    let r = config.resolve(Some("work")).expect("resolves");
    assert_eq!(r.account.user.as_deref(), Some("me@example.org"));
    assert_eq!(r.account.port, Port::new(587));
    assert_eq!(r.account.host.as_deref(), Some("root.example"));
    assert_eq!(r.account.tls, Some(TlsMode::Implicit));
    assert_eq!(r.account.timeout, Timeout::new(30.0));
    assert_eq!(r.account.debug, Some(1));
    assert_eq!(r.account.parent.as_deref(), Some("base"));
    let expected = [
        ("user", "[accounts.work]"),
        ("parent", "[accounts.work]"),
        ("port", "[accounts.base] via parent"),
        ("host", "[accounts.root] via parent"),
        ("tls", "[accounts.root] via parent"),
        ("timeout", "[defaults]"),
        ("debug", "[defaults]"),
    ];
    for (key, source) in expected {
        assert_eq!(r.sources[key], source, "{key}");
    }
    assert_eq!(r.sources.len(), expected.len());
    assert!(!r.sources.contains_key("password"));
}

#[test]
fn no_name_uses_default_account_else_defaults_alone() {
    // Resolving uses the file up, so each resolution parses it afresh.
    let chain = || parse(CHAIN).expect("valid");
    assert_eq!(
        chain().resolve(None).expect("resolves").account,
        chain().resolve(Some("work")).expect("resolves").account
    );
    let config = parse("[defaults]\nhost = \"h\"\n[accounts.a]\nport = 2\n").expect("valid");
    let r = config.resolve(None).expect("resolves");
    assert_eq!(r.name, None);
    assert_eq!(r.account.host.as_deref(), Some("h"));
    assert_eq!(r.account.port, None);
    assert_eq!(r.sources["host"], "[defaults]");
    let empty = parse("").expect("an empty file is valid");
    assert_eq!(
        empty.resolve(None).expect("resolves").account,
        Account::default()
    );
}

#[test]
fn unknown_account_names_the_file_and_the_accounts() {
    let config = parse(CHAIN).expect("valid");
    let e = config.resolve(Some("play")).expect_err("unknown");
    assert_eq!(
        e.to_string(),
        format!("{PATH}: unknown account `play`; the file defines `base`, `root`, `work`")
    );
    assert_eq!(
        error("default_account = \"nope\"\n"),
        format!("{PATH}:1: unknown account `nope`; the file defines no accounts")
    );
}

#[test]
fn missing_parent_and_cycles_are_refused_at_load() {
    assert_eq!(
        error("[accounts.a]\nhost = \"h\"\nparent = \"b\"\n"),
        format!("{PATH}:3: account `a` has parent `b`, which does not exist")
    );
    assert_eq!(
        error(
            "[accounts.a]\nparent = \"b\"\n[accounts.b]\nparent = \"c\"\n[accounts.c]\nparent = \"a\"\n"
        ),
        format!("{PATH}:6: accounts inherit from each other in a cycle: a -> b -> c -> a")
    );
    assert_eq!(
        error("[accounts.a]\nparent = \"a\"\n"),
        format!("{PATH}:2: accounts inherit from each other in a cycle: a -> a")
    );
    assert_eq!(
        error("[defaults]\nparent = \"a\"\n[accounts.a]\n"),
        format!(
            "{PATH}:2: bad value for `parent` in [defaults]: only an [accounts.NAME] table can have a parent"
        )
    );
}

#[test]
fn resolve_checks_chains_of_a_config_built_in_code() {
    let config = |parents: &[(&str, &str)]| {
        let mut config = Config {
            path: PathBuf::from(PATH),
            ..Config::default()
        };
        for (name, parent) in parents {
            let child = Account {
                parent: Some((*parent).to_owned()),
                ..Account::default()
            };
            config.accounts.insert((*name).to_owned(), child);
        }
        config
    };
    let e = config(&[("a", "b")])
        .resolve(Some("a"))
        .expect_err("missing parent");
    assert!(matches!(e, ConfigError::MissingParent { .. }), "{e}");
    let e = config(&[("a", "b"), ("b", "a")])
        .resolve(Some("a"))
        .expect_err("cycle");
    assert_eq!(
        e.to_string(),
        format!("{PATH}: accounts inherit from each other in a cycle: a -> b -> a")
    );
}

#[test]
fn unknown_keys_name_line_table_and_likely_key() {
    let text = "default_account = \"work\"\n\n[defaults]\ntls = \"auto\"\n\n[accounts.work]\nhots = \"x\"\n";
    assert_eq!(
        error(text),
        format!("{PATH}:7: unknown key `hots` in [accounts.work] (did you mean `host`?)")
    );
    assert_eq!(
        error("[defaults]\nfrobnicate = 1\n"),
        format!("{PATH}:2: unknown key `frobnicate` in [defaults]")
    );
    assert_eq!(
        error("defaults_account = \"x\"\n"),
        format!(
            "{PATH}:1: unknown key `defaults_account` in the top level (did you mean `default_account`?)"
        )
    );
    assert_eq!(
        error("[defaults]\ndefault_account = \"x\"\n"),
        format!(
            "{PATH}:2: unknown key `default_account` in [defaults] \
             (`default_account` belongs at the top of the file, before the first [table])"
        )
    );
    assert_eq!(
        error("host = \"x\"\n"),
        format!(
            "{PATH}:1: unknown key `host` in the top level \
             (`host` belongs in [defaults] or an [accounts.NAME] table)"
        )
    );
    assert_eq!(
        error("[accounts]\nisp = { host = \"h\", prot = 1 }\n"),
        format!("{PATH}:2: unknown key `prot` in [accounts.isp] (did you mean `port`?)")
    );
    assert_eq!(
        error("[accounts]\n\"my.isp\".hots = 1\n"),
        format!("{PATH}:2: unknown key `hots` in [accounts.\"my.isp\"] (did you mean `host`?)")
    );
    assert_eq!(
        error("[accounts.work.tls]\nmode = 1\n"),
        format!(
            "{PATH}:1: bad value for `tls` in [accounts.work]: expected auto, off, starttls or implicit, not {{ mode = 1 }}"
        )
    );
}

#[test]
fn bad_values_name_line_table_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "tls = \"tsl\"",
            "tls",
            "expected auto, off, starttls or implicit, not \"tsl\"",
        ),
        (
            "protocol = \"esmtp\"",
            "protocol",
            "expected smtp or lmtp, not \"esmtp\"",
        ),
        (
            "auth = \"digest-md5\"",
            "auth",
            "expected on, off, plain, login, cram-md5, scram-sha-256, xoauth2 or oauthbearer, not \"digest-md5\"",
        ),
        (
            "tls_certcheck = \"maybe\"",
            "tls_certcheck",
            "expected true, false, \"on\" or \"off\", not \"maybe\"",
        ),
        ("debug = 3", "debug", "expected 0, 1 or 2, not 3"),
        ("debug = -1", "debug", "expected 0, 1 or 2, not -1"),
        (
            "timeout = 0",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not 0",
        ),
        (
            "timeout = -1.5",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not -1.5",
        ),
        (
            "timeout = nan",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not nan",
        ),
        (
            "timeout = inf",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not inf",
        ),
        (
            // Found by review: 1e20 passed and panicked when made a Duration.
            "timeout = 1e20",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not 100000000000000000000.0",
        ),
        (
            "timeout = \"60\"",
            "timeout",
            "expected a number of seconds greater than 0 and at most 86400, not \"60\"",
        ),
        (
            "port = 0",
            "port",
            "expected a port number from 1 to 65535, not 0",
        ),
        (
            "port = 65536",
            "port",
            "expected a port number from 1 to 65535, not 65536",
        ),
        (
            "port = \"587\"",
            "port",
            "expected a port number from 1 to 65535, not \"587\"",
        ),
        ("host = \"\"", "host", "expected a host name, not \"\""),
        (
            "from = \"a@b\\r\\nRCPT TO:<x@y>\"",
            "from",
            "must not contain CR",
        ),
        ("user = \"me\\n\"", "user", "must not contain LF"),
        (
            "maildomain = \"example.org\\u0000\"",
            "maildomain",
            "must not contain NUL",
        ),
        ("domain = \"a\\nb\"", "domain", "must not contain LF"),
        (
            "tls_server_name = \"a\\rb\"",
            "tls_server_name",
            "must not contain CR",
        ),
        (
            "source_address = 5",
            "source_address",
            "expected a string, not 5",
        ),
        (
            "tls_fingerprint = \"ab:cd\"",
            "tls_fingerprint",
            "expected a SHA-256 fingerprint as 64 hex digits (colons optional), not \"ab:cd\"",
        ),
        (
            "syslog = \"yes\"",
            "syslog",
            "expected true, false or a facility (LOG_USER, LOG_MAIL, LOG_LOCAL0, LOG_LOCAL1, \
             LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7), not \"yes\"",
        ),
    ];
    for (line, key, message) in cases {
        let text = format!("# comment\n[accounts.work]\n\n{line}\n");
        let expected = format!("{PATH}:4: bad value for `{key}` in [accounts.work]: {message}");
        assert_eq!(error(&text), expected, "{line}");
    }
}

#[test]
fn enumerated_values_are_case_insensitive_and_stored_lowercase() {
    let text = "[defaults]\ntls = \"STARTTLS\"\nauth = \"CRAM-MD5\"\nprotocol = \"LMTP\"\n\
                tls_certcheck = \"Off\"\ntimeout = 2.5\nport = 65535\ndebug = 2\n\
                tls_fingerprint = \"3a5f0c119b2e47d860a17ce4931b55c08e2df6493b70aa1e9cd2648f05b3e711\"\n";
    let d = parse(text).expect("valid").defaults;
    assert_eq!(d.tls, Some(TlsMode::Starttls));
    assert_eq!(d.auth, Some(AuthChoice::Only(Mechanism::CramMd5)));
    assert_eq!(d.protocol, Some(Protocol::Lmtp));
    assert_eq!(d.tls_certcheck, Some(OnOff::Off));
    assert_eq!(d.timeout, Timeout::new(2.5));
    assert_eq!(d.port, Port::new(65535));
    assert_eq!(d.debug, Some(2));
    let on = parse("[defaults]\ntls_certcheck = \"ON\"\n").expect("valid");
    assert_eq!(on.defaults.tls_certcheck, Some(OnOff::On));
    let boolean = parse("[defaults]\ntls_certcheck = false\n").expect("valid");
    assert_eq!(boolean.defaults.tls_certcheck, Some(OnOff::Off));
}

#[test]
fn a_password_never_appears_in_errors_or_debug_output() {
    let e = error("[accounts.a]\npassword = 918273645\n");
    assert_eq!(
        e,
        format!("{PATH}:2: bad value for `password` in [accounts.a]: expected a string")
    );
    let e = error("[accounts.a]\npassword = [\"hunter2\"]\n");
    assert!(!e.contains("hunter2"), "{e}");
    let e = error("[accounts.a]\npassword = \"hunter2\"\nport = 0\n");
    assert!(!e.contains("hunter2"), "{e}");
    let e = error("[accounts.a]\npassword = \"hunter2\" x\n");
    assert!(!e.contains("hunter2"), "{e}");
    let config = parse("[accounts.a]\npassword = \"hunter2\"\n").expect("valid");
    assert!(config.holds_password());
    assert_eq!(
        config.accounts["a"].password.as_ref().map(Secret::expose),
        Some("hunter2")
    );
    assert!(!format!("{config:?}").contains("hunter2"));
    let resolved = config.resolve(Some("a")).expect("resolves");
    assert!(!format!("{resolved:?}").contains("hunter2"));
}

#[test]
fn syntax_errors_name_the_line() {
    let e = error("[defaults]\nhost = \"h\"\nport = = 1\n");
    assert!(
        e.starts_with(&format!("{PATH}:3: TOML syntax error: ")),
        "{e}"
    );
    let e = error("[defaults]\nhost = \"h\"\nhost = \"i\"\n");
    assert_eq!(e, format!("{PATH}:3: TOML syntax error: duplicate key"));
    let e = error("[defaults]\nhost = \"unterminated\n");
    assert!(
        e.starts_with(&format!("{PATH}:2: TOML syntax error: ")),
        "{e}"
    );
}

#[test]
fn tables_of_the_wrong_shape_are_bad_values() {
    assert_eq!(
        error("\naccounts = 5\n"),
        format!(
            "{PATH}:2: bad value for `accounts` in the top level: invalid type: integer `5`, expected a map"
        )
    );
    let e = error("[[accounts]]\nhost = \"h\"\n");
    assert!(
        e.starts_with(&format!(
            "{PATH}:1: bad value for `accounts` in the top level: "
        )),
        "{e}"
    );
    let e = error("[aliases]\nroot = [\"a@b\"]\n");
    assert!(
        e.starts_with(&format!("{PATH}:2: bad value for `root` in [aliases]: ")),
        "{e}"
    );
}

#[test]
fn aliases_are_checked() {
    let config =
        parse("[aliases]\nroot = \"a@example.org, b@example.org\"\ndefault = \"c@example.org\"\n")
            .expect("valid");
    assert_eq!(config.aliases.len(), 2);
    let cases: &[(&str, &str, &str)] = &[
        ("root = \"a@b\\r\\nx\"", "root", "must not contain CR"),
        (
            "root = \" \"",
            "root",
            "expected one or more addresses, not \"\"",
        ),
        (
            "\"root@host\" = \"a@b\"",
            "\"root@host\"",
            "aliases apply only to names without `@` (spec §2)",
        ),
        (
            "\"ro\\not\" = \"a@b\"",
            "\"ro\\not\"",
            "the alias name must not contain LF",
        ),
    ];
    for (line, key, message) in cases {
        let text = format!("[aliases]\nok = \"a@b\"\n{line}\n");
        assert_eq!(
            error(&text),
            format!("{PATH}:3: bad value for `{key}` in [aliases]: {message}"),
            "{line}"
        );
    }
}

// --- file discovery ---

#[test]
fn locate_follows_spec_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let system = root.join("etc-mailsend.toml");
    let home = root.join("home");
    let xdg = root.join("xdg");
    let home_file = home.join(".config/mailsend/config.toml");
    let xdg_file = xdg.join("mailsend/config.toml");
    let some = |p: &Path| Some(p.to_path_buf());

    assert_eq!(
        locate(None, Some(&xdg), Some(&home), &system).expect("ok"),
        None
    );
    fs::write(&system, "").expect("write");
    assert_eq!(
        locate(None, Some(&xdg), Some(&home), &system).expect("ok"),
        some(&system)
    );
    fs::create_dir_all(home_file.parent().expect("parent")).expect("mkdir");
    fs::write(&home_file, "").expect("write");
    // XDG_CONFIG_HOME set: ~/.config is not consulted (XDG base directory rule).
    assert_eq!(
        locate(None, Some(&xdg), Some(&home), &system).expect("ok"),
        some(&system)
    );
    assert_eq!(
        locate(None, None, Some(&home), &system).expect("ok"),
        some(&home_file)
    );
    assert_eq!(
        locate(None, Some(Path::new("relative")), Some(&home), &system).expect("ok"),
        some(&home_file)
    );
    fs::create_dir_all(xdg_file.parent().expect("parent")).expect("mkdir");
    fs::write(&xdg_file, "").expect("write");
    assert_eq!(
        locate(None, Some(&xdg), Some(&home), &system).expect("ok"),
        some(&xdg_file)
    );
    assert_eq!(
        locate(Some(&system), Some(&xdg), Some(&home), &system).expect("ok"),
        some(&system)
    );
    let missing = root.join("missing.toml");
    let e = locate(Some(&missing), Some(&xdg), Some(&home), &system).expect_err("must exist");
    assert_eq!(
        e.to_string(),
        format!("{}: no such configuration file", missing.display())
    );
    // A dangling link is chosen, so that loading it reports the problem instead of silently
    // falling back to another file.
    fs::remove_file(&xdg_file).expect("rm");
    symlink(root.join("nowhere"), &xdg_file).expect("symlink");
    assert_eq!(
        locate(None, Some(&xdg), Some(&home), &system).expect("ok"),
        some(&xdg_file)
    );
    assert!(matches!(load(&xdg_file), Err(ConfigError::Read { .. })));
}

// --- load and the permission rule (catalogue 23) ---

const WITH_PASSWORD: &str = "[accounts.a]\nuser = \"me\"\npassword = \"hunter2\"\n";

fn file_with(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

#[test]
fn permission_matrix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = file_with(dir.path(), "0600.toml", WITH_PASSWORD, 0o600);
    let config = load(&ok).expect("0600 accepted");
    assert_eq!(config.path, ok);
    assert!(config.holds_password());
    let uid = permissions::current_uid().expect("uid");
    for mode in [0o640, 0o604, 0o660, 0o644] {
        let path = file_with(dir.path(), &format!("{mode:o}.toml"), WITH_PASSWORD, mode);
        let e = load(&path).expect_err("refused");
        assert_eq!(
            e.to_string(),
            format!(
                "{} must be mode 0600 and owned by you because it holds a password \
                 (it is mode {mode:04o} and owned by uid {uid}; you are uid {uid})",
                path.display()
            )
        );
        assert!(!e.to_string().contains("hunter2"));
    }
    let open = file_with(
        dir.path(),
        "open.toml",
        "[accounts.a]\nuser = \"me\"\n",
        0o644,
    );
    load(&open).expect("no password: any mode");
    let in_defaults = file_with(
        dir.path(),
        "defaults.toml",
        "[defaults]\npassword = \"x\"\n",
        0o640,
    );
    assert!(matches!(
        load(&in_defaults),
        Err(ConfigError::Permissions { .. })
    ));
}

#[test]
fn symlinks_are_judged_by_their_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let private = file_with(dir.path(), "private.toml", WITH_PASSWORD, 0o600);
    let link = dir.path().join("link.toml");
    symlink(&private, &link).expect("symlink");
    load(&link).expect("link to a 0600 file accepted");
    let shared = file_with(dir.path(), "shared.toml", WITH_PASSWORD, 0o644);
    let bad_link = dir.path().join("bad-link.toml");
    symlink(&shared, &bad_link).expect("symlink");
    let e = load(&bad_link).expect_err("link to a 0644 file refused");
    assert!(
        matches!(e, ConfigError::Permissions { ref path, .. } if *path == bad_link),
        "{e}"
    );
}

#[test]
fn file_owned_by_another_user_is_refused() {
    if permissions::current_uid().expect("uid") != 0 {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = file_with(dir.path(), "nobody.toml", WITH_PASSWORD, 0o600);
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
    let e = load(&path).expect_err("another owner");
    assert!(
        e.to_string()
            .contains("(it is mode 0600 and owned by uid 65534; you are uid 0)"),
        "{e}"
    );
}

#[test]
fn load_reports_unreadable_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.toml");
    let e = load(&missing).expect_err("missing");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );
    assert!(matches!(load(dir.path()), Err(ConfigError::Read { .. })));
    let binary = dir.path().join("binary.toml");
    fs::write(&binary, b"[defaults]\nhost = \"h\xff\"\n").expect("write");
    assert_eq!(
        load(&binary).expect_err("not UTF-8").to_string(),
        format!("{}:2: not UTF-8 text", binary.display())
    );
    let huge = dir.path().join("huge.toml");
    fs::write(&huge, vec![b'#'; (MAX_SIZE + 1) as usize]).expect("write");
    assert!(matches!(load(&huge), Err(ConfigError::TooLarge { .. })));
    let syntax = file_with(dir.path(), "syntax.toml", "[defaults\n", 0o600);
    assert!(matches!(load(&syntax), Err(ConfigError::Syntax { .. })));
}
