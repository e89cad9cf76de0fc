//! Replays the committed fuzz corpora (fuzz/corpus/TARGET/) through the checks of the cargo-fuzz
//! targets in fuzz/fuzz_targets/, so that `cargo test` on a stable compiler keeps every input the
//! fuzzers found interesting passing (catalogue item 32). The checks are the targets' own
//! (fuzz/checks/), included here by path. Every corpus directory must belong to a target known here,
//! and every target must have a non-empty corpus, so a new target cannot go unreplayed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// A target's checks over one input; panics when one fails.
type Check = fn(&[u8]);

/// Each target with its check.
const TARGETS: &[(&str, Check)] = &[
    ("reply", reply::check),
    ("capabilities", capabilities::check),
    ("data_encoder", data_encoder::check),
    ("envelope", envelope::check),
    ("auth_challenge", auth_challenge::check),
];

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// The corpus files of one target (hidden files, which libFuzzer uses for its own state, skipped).
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("read a corpus directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// The inputs of the target's corpus on which `check` panics, named with their bytes in hex.
fn failures(target: &str, check: impl Fn(&[u8])) -> Vec<String> {
    let files = corpus(target);
    assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(format!("{} ({})", file.display(), hex(&data)));
        }
    }
    failed
}

/// Runs the target's check on every file of its corpus, then fails naming every input that failed.
fn replay(target: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let failed = failures(target, check);
    assert!(
        failed.is_empty(),
        "{} {target} inputs failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// A failing input is caught, named, and does not stop the replay of the others.
#[test]
fn replay_reports_each_failing_input() {
    let files = corpus("data_encoder");
    let first = std::fs::read(&files[0]).expect("read a corpus file");
    let failed = failures("data_encoder", |d| assert_ne!(d, first.as_slice()));
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with(&files[0].display().to_string()));
    assert!(failed[0].ends_with(&format!("({})", hex(&first))));
}

#[test]
fn every_corpus_has_a_target() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_root())
        .expect("fuzz/corpus exists")
        .map(|e| {
            e.expect("read fuzz/corpus")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    known.sort();
    assert_eq!(names, known);
}

#[test]
fn reply_corpus() {
    replay("reply");
}

#[test]
fn capabilities_corpus() {
    replay("capabilities");
}

#[test]
fn data_encoder_corpus() {
    replay("data_encoder");
}

#[test]
fn envelope_corpus() {
    replay("envelope");
}

#[test]
fn auth_challenge_corpus() {
    replay("auth_challenge");
}

#[path = "../fuzz/checks/reply.rs"]
mod reply;

#[path = "../fuzz/checks/capabilities.rs"]
mod capabilities;

#[path = "../fuzz/checks/data_encoder.rs"]
mod data_encoder;

#[path = "../fuzz/checks/envelope.rs"]
mod envelope;

#[path = "../fuzz/checks/auth_challenge.rs"]
mod auth_challenge;
