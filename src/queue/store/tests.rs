use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::queue::enqueue::Draft;
use crate::queue::state::{Kind as EntryKind, Parameters, RcptState, Route};

/// A user's queue in a fresh directory, its clock at `now`.
pub(crate) fn queue_at(now: i64) -> (tempfile::TempDir, Queue) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = Location {
        path: dir.path().join("state/mailsend/queue"),
        kind: Kind::Own,
    };
    let queue = Queue::open(&location, Clock::fixed(now), true)
        .expect("opens")
        .expect("made");
    (dir, queue)
}

pub(crate) fn draft(recipients: &[&str]) -> Draft {
    Draft {
        kind: EntryKind::Message,
        uid: 1000,
        route: Route::default(),
        sender: "alice@example.org".into(),
        params: Parameters::default(),
        recipients: recipients.iter().map(|r| r.to_string()).collect(),
        tried: Vec::new(),
    }
}

fn names(queue: &Queue, sub: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(queue.path(sub))
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_users_queue_is_made_0700_with_its_subdirectories() {
    let (_dir, queue) = queue_at(1_000);
    let mode = fs::metadata(&queue.location.path)
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    for sub in SUBDIRS {
        assert!(queue.path(sub).is_dir(), "{sub}");
    }
    // Without `create`, a missing queue is an empty one, and nothing is made.
    let missing = Location {
        path: queue.location.path.join("nope"),
        kind: Kind::Own,
    };
    assert!(
        Queue::open(&missing, Clock::fixed(0), false)
            .expect("ok")
            .is_none()
    );
    assert!(!missing.path.exists());
}

/// Spec §9: the data as sent (CRLF), the state committed in `queue/`, nothing left in `tmp/`.
#[test]
fn an_entry_holds_the_message_as_sent_and_its_state() {
    let (_dir, queue) = queue_at(1_767_225_600);
    let id = queue
        .enqueue(
            &draft(&["bob@example.org", "carol@example.org"]),
            &mut &b"Subject: hi\n\nline\n"[..],
        )
        .expect("queued");
    assert_eq!(
        fs::read(queue.data_path(&id)).expect("data"),
        b"Subject: hi\r\n\r\nline\r\n"
    );
    let state = queue.load(Dir::Queue, &id).expect("state");
    assert_eq!(state.size, 21);
    assert_eq!(state.created, 1_767_225_600);
    assert_eq!(state.pending().count(), 2);
    assert!(names(&queue, "tmp").is_empty());
    assert_eq!(
        queue.ids(Dir::Queue).expect("ids"),
        std::slice::from_ref(&id)
    );
    let mode = fs::metadata(queue.data_path(&id))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A second entry in the same microsecond gets the next ID.
    let second = queue
        .enqueue(&draft(&["x@y"]), &mut &b"x"[..])
        .expect("queued");
    assert!(second > id);
}

/// Issue 12, test 5: ENOSPC while writing the data or the state is exit 75 and leaves nothing.
#[test]
fn a_full_disk_leaves_no_partial_entry() {
    let (_dir, queue) = queue_at(1_000);
    let error = classify(
        queue.path("tmp"),
        io::Error::from_raw_os_error(libc::ENOSPC),
        &String::new,
    );
    assert!(matches!(error, QueueError::NoSpace { .. }), "{error}");
    assert!(error.to_string().contains("was not queued"), "{error}");
    assert_eq!(
        crate::exit::classify(&anyhow::Error::new(error)),
        crate::exit::TEMPFAIL
    );
    // A failure after the data was renamed into place removes it again.
    let file = queue
        .create_new(&queue.path("tmp/blocker.state"))
        .expect("create");
    drop(file);
    let id = Id::new(1_000_000_000, std::process::id());
    fs::create_dir(queue.path("tmp").join(format!("{id}.state"))).expect("block the state file");
    let result = queue.enqueue(&draft(&["b@y"]), &mut &b"x"[..]);
    assert!(result.is_err(), "{result:?}");
    assert!(names(&queue, "data").is_empty());
    assert!(names(&queue, "queue").is_empty());
    assert_eq!(
        names(&queue, "tmp"),
        [format!("{id}.state"), "blocker.state".to_string()]
    );
}

#[test]
fn an_entry_lock_excludes_a_second_holder_until_dropped() {
    let (_dir, queue) = queue_at(1_000);
    let id = queue
        .enqueue(&draft(&["b@y"]), &mut &b"x"[..])
        .expect("queued");
    let first = queue.lock(&id).expect("lock").expect("free");
    assert!(queue.lock(&id).expect("lock").is_none());
    drop(first);
    assert!(queue.lock(&id).expect("lock").is_some());
    let runner = queue.runner_lock().expect("lock").expect("free");
    assert!(queue.runner_lock().expect("lock").is_none());
    drop(runner);
    assert!(queue.runner_lock().expect("lock").is_some());
    let missing = Id::new(5, 5);
    assert!(matches!(queue.lock(&missing), Err(QueueError::NotFound(_))));
}

/// Issue 12, test 5: a link planted in the spool is never followed.
#[test]
fn planted_symbolic_links_are_refused() {
    let (dir, queue) = queue_at(1_000);
    let id = queue
        .enqueue(&draft(&["b@y"]), &mut &b"x"[..])
        .expect("queued");
    let target = dir.path().join("secret");
    fs::write(&target, "not yours").expect("write");
    let state = queue.state_path(Dir::Queue, &id);
    fs::remove_file(&state).expect("rm");
    std::os::unix::fs::symlink(&target, &state).expect("plant");
    assert!(matches!(
        queue.load(Dir::Queue, &id),
        Err(LoadError::Refused(_))
    ));
    let data = queue.data_path(&id);
    fs::remove_file(&data).expect("rm");
    std::os::unix::fs::symlink(&target, &data).expect("plant");
    assert!(matches!(queue.lock(&id), Err(QueueError::NotPlain { .. })));
    // A link in place of a directory refuses the queue.
    fs::remove_dir_all(queue.path("hold")).expect("rm");
    std::os::unix::fs::symlink(dir.path(), queue.path("hold")).expect("plant");
    let reopened = Queue::open(&queue.location, Clock::fixed(0), true);
    assert!(
        matches!(reopened, Err(QueueError::NotPlain { .. })),
        "{reopened:?}"
    );
    assert_eq!(fs::read(&target).expect("read"), b"not yours");
}

#[test]
fn states_move_between_directories_and_entries_go_whole() {
    let (_dir, queue) = queue_at(1_000);
    let id = queue
        .enqueue(&draft(&["b@y"]), &mut &b"x"[..])
        .expect("queued");
    let mut state = queue.load(Dir::Queue, &id).expect("state");
    state.recipients[0].state = RcptState::Failed;
    queue
        .relocate(Dir::Queue, Dir::Failed, &state)
        .expect("moved");
    assert!(queue.ids(Dir::Queue).expect("ids").is_empty());
    assert_eq!(queue.load(Dir::Failed, &id).expect("state"), state);
    queue.remove(Dir::Failed, &id).expect("removed");
    for sub in SUBDIRS {
        assert!(names(&queue, sub).is_empty(), "{sub}");
    }
}

/// Spec §9: what a crash leaves is garbage a later run removes; what a live writer holds is not.
#[test]
fn the_sweep_removes_dead_writers_files_only() {
    let (_dir, queue) = queue_at(1_000);
    let live = queue
        .enqueue(&draft(&["b@y"]), &mut &b"x"[..])
        .expect("queued");
    let orphan = queue
        .enqueue(&draft(&["c@y"]), &mut &b"x"[..])
        .expect("queued");
    let moved = queue
        .enqueue(&draft(&["d@y"]), &mut &b"x"[..])
        .expect("queued");
    fs::remove_file(queue.state_path(Dir::Queue, &orphan)).expect("lose the state");
    let state = queue.load(Dir::Queue, &moved).expect("state");
    queue.commit(Dir::Hold, &state).expect("half a move");
    fs::write(queue.path("tmp/dead.data"), "x").expect("garbage");
    let held_tmp = queue.path("tmp/alive.data");
    let alive = queue.create_new(&held_tmp).expect("create");
    alive.lock().expect("lock");
    // Young files are left alone: their writers may not hold their locks yet. A half move is
    // finished at once (hold and failed win over queue).
    let first = queue.sweep().expect("sweep");
    assert_eq!(
        (
            first.temporary,
            first.orphaned_data,
            first.interrupted_moves
        ),
        (0, 0, 1)
    );
    let later = queue.with_clock(Clock::fixed(i64::MAX / 2));
    let swept = later.sweep().expect("sweep");
    assert_eq!(
        swept,
        crate::queue::sweep::Swept {
            temporary: 1,
            orphaned_data: 1,
            interrupted_moves: 0
        }
    );
    assert_eq!(names(&queue, "tmp"), ["alive.data"]);
    assert_eq!(
        queue.ids(Dir::Queue).expect("ids"),
        std::slice::from_ref(&live)
    );
    assert_eq!(
        queue.ids(Dir::Hold).expect("ids"),
        std::slice::from_ref(&moved)
    );
    let mut data = names(&queue, "data");
    data.sort();
    assert_eq!(data, [live.to_string(), moved.to_string()]);
}

#[test]
fn the_config_stamp_changes_with_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    assert_eq!(config_stamp(Some(&path)), "none");
    assert_eq!(config_stamp(None), "none");
    fs::write(&path, "a = 1\n").expect("write");
    let before = config_stamp(Some(&path));
    fs::write(&path, "a = 22\n").expect("write");
    assert_ne!(config_stamp(Some(&path)), before);
}
