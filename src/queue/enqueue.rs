//! Putting a message into the queue, in the commit order of spec §9: the data to `tmp/` (created O_EXCL
//! under the new ID, locked), fsync, rename to `data/ID`, fsync `data/`; then the state the same way into
//! `queue/ID`. That last rename is the commit point: only after it may mailsend say the message is
//! queued. A crash before it leaves garbage that [`super::sweep`] removes; a failure before it (a full
//! disk) removes what was written, so nothing partial is ever left. Each step has a name for the
//! crash-safety tests' kill hook.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use super::clock::backoff;
use super::error::QueueError;
use super::hooks;
use super::id::Id;
use super::state::{Kind, Parameters, Recipient, Route, State};
use super::store::{Dir, Queue};
use crate::smtp::data::DataEncoder;

/// Everything an entry needs besides its ID, its time and its data.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: Kind,
    pub uid: u32,
    pub route: Route,
    /// "" is the null sender.
    pub sender: String,
    pub params: Parameters,
    pub recipients: Vec<String>,
    /// Recipients a delivery attempt just failed for (`queue = "on-failure"`), with why: they start
    /// with that attempt counted, its reason as their last reply and the backoff before the next try,
    /// like a recipient a queue run deferred. Empty for `-odq` and notices, which were never tried.
    pub tried: Vec<(String, String)>,
}

/// The steps of an enqueue, in order, as the kill hook names them.
pub const STEPS: &[&str] = &[
    "enqueue:reserved",
    "enqueue:data-written",
    "enqueue:data-renamed",
    "enqueue:data-synced",
    "enqueue:state-written",
    "enqueue:committed",
    "enqueue:synced",
];

/// Files written so far, removed again when the enqueue fails.
struct Written {
    tmp_data: PathBuf,
    tmp_state: PathBuf,
    data: Option<PathBuf>,
}

impl Written {
    fn undo(&self) {
        let _ = fs::remove_file(&self.tmp_data);
        let _ = fs::remove_file(&self.tmp_state);
        if let Some(data) = &self.data {
            let _ = fs::remove_file(data);
        }
    }
}

impl Queue {
    /// Queue `data` (the message as it would be sent) for `draft`'s recipients: the new entry's ID.
    pub fn enqueue(&self, draft: &Draft, data: &mut dyn Read) -> Result<Id, QueueError> {
        let (id, file) = self.reserve(None)?.ok_or(QueueError::Nowhere)?;
        self.fill(id, file, draft, data)
    }

    /// Queue under an ID chosen beforehand (a failure notice, whose ID its message's state records
    /// first): `Ok(())` too when that entry exists already, so it is queued at most once.
    pub fn enqueue_as(
        &self,
        id: &Id,
        draft: &Draft,
        data: &mut dyn Read,
    ) -> Result<(), QueueError> {
        match self.reserve(Some(id))? {
            Some((id, file)) => self.fill(id, file, draft, data).map(|_| ()),
            None => Ok(()),
        }
    }

    /// A new ID and its temporary data file, created O_EXCL and locked. With `wanted`, that ID or
    /// `None` when its entry exists already.
    fn reserve(&self, wanted: Option<&Id>) -> Result<Option<(Id, File)>, QueueError> {
        let mut micros = self.clock.micros();
        loop {
            let id = wanted
                .cloned()
                .unwrap_or_else(|| Id::new(micros, std::process::id()));
            micros += 1;
            let taken = [Dir::Queue, Dir::Hold, Dir::Failed]
                .iter()
                .map(|d| self.state_path(*d, &id))
                .chain([self.data_path(&id)])
                .any(|p| fs::symlink_metadata(p).is_ok());
            match (taken, wanted) {
                (true, Some(_)) => return Ok(None),
                (true, None) => continue,
                (false, _) => {}
            }
            let tmp = self.tmp_data(&id);
            match self.create_new(&tmp) {
                Ok(file) => {
                    file.lock().map_err(|e| self.failure(&tmp, e))?;
                    hooks::kill_at("enqueue:reserved");
                    return Ok(Some((id, file)));
                }
                // A dead writer's file for the chosen ID (a notice retried): take its place.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && wanted.is_some() => {
                    fs::remove_file(&tmp).map_err(|e| self.failure(&tmp, e))?;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(self.failure(&tmp, e)),
            }
        }
    }

    fn tmp_data(&self, id: &Id) -> PathBuf {
        self.path("tmp").join(format!("{id}.data"))
    }

    /// Write the data and the state of the reserved `id`; on failure, remove every file written.
    fn fill(
        &self,
        id: Id,
        file: File,
        draft: &Draft,
        data: &mut dyn Read,
    ) -> Result<Id, QueueError> {
        let mut written = Written {
            tmp_data: self.tmp_data(&id),
            tmp_state: self.path("tmp").join(format!("{id}.state")),
            data: None,
        };
        let result = self.write_entry(&id, file, draft, data, &mut written);
        if result.is_err() {
            written.undo();
        }
        result.map(|()| id)
    }

    fn write_entry(
        &self,
        id: &Id,
        mut file: File,
        draft: &Draft,
        data: &mut dyn Read,
        written: &mut Written,
    ) -> Result<(), QueueError> {
        let size = copy_crlf(data, &mut file)
            .and_then(|size| file.sync_all().map(|()| size))
            .map_err(|e| self.failure(&written.tmp_data, e))?;
        hooks::kill_at("enqueue:data-written");
        let data_path = self.data_path(id);
        fs::rename(&written.tmp_data, &data_path).map_err(|e| self.failure(&data_path, e))?;
        written.data = Some(data_path);
        hooks::kill_at("enqueue:data-renamed");
        self.sync_dir("data")?;
        hooks::kill_at("enqueue:data-synced");
        let state = self.new_state(id, draft, size);
        self.write_file(
            &written.tmp_state,
            state.render().as_bytes(),
            "enqueue:state",
        )?;
        hooks::kill_at("enqueue:state-written");
        let dest = self.state_path(Dir::Queue, id);
        fs::rename(&written.tmp_state, &dest).map_err(|e| self.failure(&dest, e))?;
        // The commit point: from here the entry exists, and a failure must not undo it.
        hooks::kill_at("enqueue:committed");
        let synced = self.sync_dir("queue");
        hooks::kill_at("enqueue:synced");
        if let Err(e) = synced {
            eprintln!("mailsend: warning: queue entry {id} was queued but {e}");
        }
        drop(file);
        Ok(())
    }

    fn new_state(&self, id: &Id, draft: &Draft, size: u64) -> State {
        State {
            id: id.clone(),
            created: self.clock.now(),
            uid: draft.uid,
            kind: draft.kind,
            route: draft.route.clone(),
            sender: draft.sender.clone(),
            size,
            params: draft.params.clone(),
            held: None,
            inflight: None,
            notice: None,
            recipients: draft
                .recipients
                .iter()
                .map(|address| {
                    let mut r = Recipient::pending(address);
                    if let Some((_, why)) = draft.tried.iter().find(|(a, _)| a == address) {
                        r.attempts = 1;
                        r.next_try = self.clock.now() + backoff(id, 1);
                        r.last_reply = Some(why.clone());
                    }
                    r
                })
                .collect(),
        }
    }
}

/// Copy the message with every line end made CRLF (the data file holds it as sent, spec §9): the
/// octets written. A failure of the test hook stands for a full disk here.
fn copy_crlf(data: &mut dyn Read, out: &mut File) -> io::Result<u64> {
    let mut encoder = DataEncoder::plain();
    let mut input = vec![0u8; 64 * 1024];
    let mut encoded = Vec::with_capacity(input.len() * 2);
    let mut size = 0u64;
    loop {
        let n = match data.read(&mut input) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        encoded.clear();
        encoder.encode(&input[..n], &mut encoded);
        hooks::fail_at("enqueue:data")?;
        out.write_all(&encoded)?;
        size += encoded.len() as u64;
    }
    encoded.clear();
    encoder.finish(&mut encoded);
    hooks::fail_at("enqueue:data")?;
    out.write_all(&encoded)?;
    Ok(size + encoded.len() as u64)
}
