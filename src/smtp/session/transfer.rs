//! The message data on its way out (RFC 5321 §4.1.1.4, RFC 3030 §2): the dot-stuffed stream after a
//! 354, written 64 KiB at a time with its tail left queued for the write that ends the data, and BDAT
//! chunks, each read whole from the message before `BDAT n [LAST]` is queued with it. Reading stops at
//! the first failure and the connection is given up, so the end of the data never follows data that
//! could not be read (catalogue F43). Imports the engine's command, data, error and reply modules.

use std::io::{self, Read};

use super::Session;
use crate::lines::MAX_LINE;
use crate::smtp::command::Command;
use crate::smtp::data::DataEncoder;
use crate::smtp::error::{Error, Stage};
use crate::smtp::reply::Reply;

/// The data goes out in writes of this size (one system call each, no per-line writes: issue 6).
const WRITE_CHUNK: usize = 64 * 1024;
/// BDAT chunk size: large enough that the reply after each chunk costs little, small enough to bound memory.
pub(super) const BDAT_CHUNK: usize = 1024 * 1024;

/// Where one message's BDAT transfer stands: the encoder, and whether the input and the chunks are done.
pub(super) struct Chunker {
    encoder: DataEncoder,
    eof: bool,
    /// The chunk queued last was the LAST one: the whole message is queued.
    pub(super) last: bool,
}

impl Chunker {
    pub(super) fn new() -> Chunker {
        Chunker {
            encoder: DataEncoder::plain(),
            eof: false,
            last: false,
        }
    }
}

/// Buffers for building chunks, shared by every message of a batch (one message's chunk is built at a
/// time, so a flight of many messages does not hold one buffer each).
#[derive(Default)]
pub(super) struct Scratch {
    input: Vec<u8>,
    chunk: Vec<u8>,
}

/// Read from the message, retrying interrupted reads; a failure is an input error (exit 74).
fn read_input(data: &mut dyn Read, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match data.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Input(e)),
        }
    }
}

impl Session {
    /// Encode the next chunk (up to [`BDAT_CHUNK`] octets) and queue `BDAT n [LAST]` with it.
    pub(super) fn queue_chunk(
        &mut self,
        chunker: &mut Chunker,
        data: &mut dyn Read,
        scratch: &mut Scratch,
    ) -> Result<(), Error> {
        scratch.chunk.clear();
        scratch.input.resize(WRITE_CHUNK, 0);
        while !chunker.eof && scratch.chunk.len() < BDAT_CHUNK {
            let n = read_input(data, &mut scratch.input).map_err(|e| self.fail(e))?;
            if n == 0 {
                chunker.eof = true;
                chunker.encoder.finish(&mut scratch.chunk);
            } else {
                chunker
                    .encoder
                    .encode(&scratch.input[..n], &mut scratch.chunk);
            }
        }
        chunker.last = chunker.eof;
        if chunker.last {
            self.note_long_lines(&chunker.encoder);
        }
        let cmd = Command::Bdat {
            size: scratch.chunk.len() as u64,
            last: chunker.last,
        };
        self.queue(&cmd)?;
        self.trace.data_begin();
        self.trace.data_chunk(&scratch.chunk);
        self.trace.data_end(scratch.chunk.len() as u64);
        self.wbuf.extend_from_slice(&scratch.chunk);
        Ok(())
    }

    /// `--interactive` DATA: after the caller's `DATA` got 354, send `data` dot-stuffed and return the
    /// reply to the final dot.
    pub fn send_data(&mut self, data: &mut dyn Read) -> Result<Reply, Error> {
        self.transfer(data)?;
        self.flush_data()?;
        let reply = self.read_reply(Stage::FinalReply)?;
        self.trace.data_reply(reply.code.get(), &reply.message());
        Ok(reply)
    }

    /// Stream the data dot-stuffed, one write per 64 KiB; the tail (with the end of data) stays queued
    /// for the caller's last write.
    pub(super) fn transfer(&mut self, data: &mut dyn Read) -> Result<(), Error> {
        let mut encoder = DataEncoder::dot_stuffing();
        self.trace.data_begin();
        let mut input = vec![0u8; WRITE_CHUNK];
        let mut total = 0u64;
        loop {
            // Never send the end of the data for data we could not read (catalogue F43).
            let n = read_input(data, &mut input).map_err(|e| self.fail(e))?;
            if n == 0 {
                break;
            }
            let start = self.wbuf.len();
            encoder.encode(&input[..n], &mut self.wbuf);
            total += (self.wbuf.len() - start) as u64;
            self.trace.data_chunk(&self.wbuf[start..]);
            if self.wbuf.len() >= WRITE_CHUNK {
                self.flush_data()?;
            }
        }
        let start = self.wbuf.len();
        encoder.finish(&mut self.wbuf);
        total += (self.wbuf.len() - start) as u64;
        self.trace.data_chunk(&self.wbuf[start..]);
        self.trace.data_end(total);
        self.note_long_lines(&encoder);
        Ok(())
    }

    /// Lines over 998 octets go out unchanged (never folded silently); the trace says so.
    fn note_long_lines(&mut self, encoder: &DataEncoder) {
        if encoder.long_lines() > 0 {
            let text = format!(
                "{} line(s) longer than {MAX_LINE} octets sent unchanged (RFC 5321 §4.5.3.1.6); the \
                 server may refuse them",
                encoder.long_lines()
            );
            self.trace.note("note", &text);
        }
    }

    /// A write failure during the data: if the server said why (a 5xx before closing, catalogue E37),
    /// report that reply.
    pub(super) fn flush_data(&mut self) -> Result<(), Error> {
        let queued = self.wbuf.len() as u64;
        match self.flush(Stage::DataTransfer) {
            Ok(()) => {
                if let Some(progress) = &mut self.progress {
                    progress.advance(queued);
                }
                Ok(())
            }
            Err(e) => match self.read_parting_reply(Stage::DataTransfer) {
                Some(reply) if !reply.is_positive() => Err(Error::Rejected {
                    stage: Stage::DataTransfer,
                    reply,
                }),
                _ => Err(e),
            },
        }
    }
}
