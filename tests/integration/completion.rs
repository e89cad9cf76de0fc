//! The shell completions `mailsend --generate` writes, run in the shell they are for.

use std::path::Path;
use std::process::Command;

use crate::harness::{home, mailsend};

/// Completes `mailsend WORDS…` (the last word is the one being completed; the program is the binary
/// under test) with the generated bash script, in `home` as HOME and working directory; returns the
/// candidates, sorted.
fn bash_complete(home: &Path, script: &Path, words: &[&str]) -> Vec<String> {
    let program = env!("CARGO_BIN_EXE_mailsend");
    let body = r#"
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
        prev=""; (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
        _mailsend "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$prev"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .current_dir(home)
        .args(["--norc", "--noprofile", "-c", body, "bash"])
        .arg(script)
        .arg(program)
        .args(words)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    got.sort();
    got
}

/// Issue 10, point 24: bash completed `-a`/`--account` to file names; it offers the accounts of the
/// configuration file mailsend would read, or of the one -C names.
#[test]
fn bash_account_completion_offers_the_config_accounts_not_files() {
    let home = home();
    let dir = home.path();
    let config = dir.join(".config/mailsend/config.toml");
    std::fs::create_dir_all(config.parent().expect("parent")).expect("config dir");
    std::fs::write(
        &config,
        "default_account = \"work\"\n[accounts.work]\nhost = \"smtp.example.org\"\n\
         [accounts.personal]\nhost = \"mail.example.net\"\n",
    )
    .expect("write config");
    let other = dir.join("other.toml");
    std::fs::write(&other, "[accounts.lab]\nhost = \"lab.example\"\n").expect("write other");
    // A file whose name a file-name completion would offer.
    std::fs::write(dir.join("wobble.txt"), "").expect("write a file");

    let out = mailsend(&home)
        .args(["--generate", "bash"])
        .output()
        .expect("generate");
    crate::fixture::assert_exit(&out, 0);
    let script = dir.join("mailsend.bash");
    std::fs::write(&script, &out.stdout).expect("write script");

    assert_eq!(
        bash_complete(dir, &script, &["-a", ""]),
        ["personal", "work"]
    );
    assert_eq!(bash_complete(dir, &script, &["--account", "w"]), ["work"]);
    let other = other.to_str().expect("UTF-8 path");
    assert_eq!(
        bash_complete(dir, &script, &["-C", other, "-a", ""]),
        ["lab"]
    );
    let glued = format!("--config={other}");
    assert_eq!(
        bash_complete(dir, &script, &[&glued, "--account", ""]),
        ["lab"]
    );
}
