//! Transport: TCP (IPv4/IPv6) and Unix-domain streams, and TLS on top of either.
//!
//! Owns connect with a timeout, binding the source address (socket2), TCP_NODELAY (we write one buffer per
//! protocol step, so Nagle would only add a delayed-ACK stall: issue 6), and read/write timeouts. The session
//! sees every stream as a boxed [`Stream`], which lets STARTTLS replace the plain stream in place and lets
//! tests drive the engine in memory.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::error::{Error, Stage};

/// A byte stream the session can talk over and bound in time.
///
/// The time bounds do nothing by default, which suits only a stream with no clock of its own (the
/// in-memory test stream, the stand-in while STARTTLS moves the socket); sockets and TLS give their own.
pub trait Stream: Read + Write + Send {
    /// Bound every later read and write by `timeout`.
    fn set_timeout(&self, _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
    /// From now on, all reads together may take at most `timeout` (until the next call).
    fn bound_reads(&self, _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
    /// From now on, all writes together may take at most `timeout` (until the next call): one send of
    /// one protocol step is one wait, however many partial writes it takes (issue 10, point 10).
    fn bound_writes(&self, _timeout: Duration) -> io::Result<()> {
        Ok(())
    }
    /// This end's IP address, for the EHLO address literal (RFC 5321 §4.1.4); `None` for a Unix socket.
    fn local_ip(&self) -> Option<IpAddr> {
        None
    }
    /// Send `buf` whole: one protocol step, one write where the stream allows it (issue 6).
    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_all(buf)?;
        self.flush()
    }
}

/// A plain socket whose reads share one deadline, set by [`Stream::bound_reads`], and whose writes
/// share another, set by [`Stream::bound_writes`]: each system call waits only for what is left of its
/// wait. A server trickling bytes cannot stretch a wait, not even through TLS, where one record takes
/// many reads (found by review: `--timeout 2` held for minutes), and a server that reads the data
/// slowly or not at all cannot either, though each partial write makes progress (issue 10, point 10:
/// `--timeout 2` ran about 7 s).
pub struct Timed<S> {
    inner: S,
    reads: Deadline,
    writes: Deadline,
}

impl<S> Timed<S> {
    pub fn new(inner: S) -> Timed<S> {
        Timed {
            inner,
            reads: Deadline::default(),
            writes: Deadline::default(),
        }
    }
}

/// The end of one wait, when one is set.
#[derive(Default)]
struct Deadline(Cell<Option<Instant>>);

impl Deadline {
    fn set(&self, timeout: Duration) {
        self.0.set(Some(Instant::now() + timeout));
    }

    fn clear(&self) {
        self.0.set(None);
    }

    /// What is left of the wait: `None` without a deadline, an error once it has passed (a zero
    /// socket timeout would mean "wait forever").
    fn left(&self) -> io::Result<Option<Duration>> {
        let Some(deadline) = self.0.get() else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        Ok(Some(left))
    }
}

/// The two socket kinds' own timeout setters, and their local address.
pub trait Timeouts {
    fn read_timeout(&self, timeout: Duration) -> io::Result<()>;
    fn write_timeout(&self, timeout: Duration) -> io::Result<()>;
    fn local_ip(&self) -> Option<IpAddr> {
        None
    }
}

impl Timeouts for TcpStream {
    fn read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))
    }
    fn write_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(timeout))
    }
    fn local_ip(&self) -> Option<IpAddr> {
        self.local_addr().ok().map(|a| a.ip())
    }
}

impl Timeouts for UnixStream {
    fn read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))
    }
    fn write_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.set_write_timeout(Some(timeout))
    }
}

impl<S: Read + Timeouts> Read for Timed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.reads.left()? {
            self.inner.read_timeout(left)?;
        }
        self.inner.read(buf)
    }
}

impl<S: Write + Timeouts> Timed<S> {
    /// Give the next write only what is left of the write deadline.
    fn before_write(&self) -> io::Result<()> {
        match self.writes.left()? {
            Some(left) => self.inner.write_timeout(left),
            None => Ok(()),
        }
    }
}

impl<S: Write + Timeouts> Write for Timed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.before_write()?;
        self.inner.write(buf)
    }
    /// rustls writes its records here.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.before_write()?;
        self.inner.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<S: Read + Write + Timeouts + Send> Stream for Timed<S> {
    fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.reads.clear();
        self.writes.clear();
        self.inner.read_timeout(timeout)?;
        self.inner.write_timeout(timeout)
    }
    /// A TLS read may have to write (a KeyUpdate answered): that is part of the same wait.
    fn bound_reads(&self, timeout: Duration) -> io::Result<()> {
        self.reads.set(timeout);
        self.writes.set(timeout);
        Ok(())
    }
    fn bound_writes(&self, timeout: Duration) -> io::Result<()> {
        self.writes.set(timeout);
        Ok(())
    }
    fn local_ip(&self) -> Option<IpAddr> {
        self.inner.local_ip()
    }
}

/// TLS over any stream (the plain one it replaced after STARTTLS, or a fresh one for implicit TLS).
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, Box<dyn Stream>>;

impl Stream for TlsStream {
    fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.sock.set_timeout(timeout)
    }
    fn bound_reads(&self, timeout: Duration) -> io::Result<()> {
        self.sock.bound_reads(timeout)
    }
    fn bound_writes(&self, timeout: Duration) -> io::Result<()> {
        self.sock.bound_writes(timeout)
    }
    fn local_ip(&self) -> Option<IpAddr> {
        self.sock.local_ip()
    }
    /// Queue the plaintext, then write every pending TLS record at once. StreamOwned's own write would
    /// first flush what the handshake left queued (the client Finished) in a write of its own, then the
    /// first command in another.
    fn send(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.conn.writer().write(buf)?;
            if n == 0 && !self.conn.wants_write() {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
            buf = &buf[n..];
            while self.conn.wants_write() {
                self.conn.write_tls(&mut self.sock)?;
            }
        }
        self.sock.flush()
    }
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Open a connection to `endpoint`, trying each resolved address in turn within `timeout` each.
pub fn connect(
    endpoint: &Endpoint,
    source: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Box<dyn Stream>, Error> {
    match endpoint {
        Endpoint::Unix(path) => {
            let stream = UnixStream::connect(path).map_err(|source| Error::Connect {
                target: endpoint.to_string(),
                source,
            })?;
            let stream = Timed::new(stream);
            stream
                .set_timeout(timeout)
                .map_err(|e| Error::io(Stage::Connect, e))?;
            Ok(Box::new(stream))
        }
        Endpoint::Tcp { host, port } => {
            let addrs: Vec<SocketAddr> = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|source| Error::resolve(host, source))?
                .filter(|a| source.is_none_or(|s| s.is_ipv4() == a.is_ipv4()))
                .collect();
            if addrs.is_empty() {
                return Err(Error::resolve(
                    host,
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "no address of the right family for --source-address",
                    ),
                ));
            }
            let mut last = None;
            for addr in addrs {
                match connect_tcp(addr, source, timeout) {
                    Ok(stream) => return Ok(Box::new(stream)),
                    Err(e) => last = Some(e),
                }
            }
            Err(Error::Connect {
                target: endpoint.to_string(),
                source: last.unwrap_or_else(|| io::Error::other("no address to connect to")),
            })
        }
    }
}

fn connect_tcp(
    addr: SocketAddr,
    source: Option<SocketAddr>,
    timeout: Duration,
) -> io::Result<Timed<TcpStream>> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(source) = source {
        socket.bind(&source.into())?;
    }
    socket.connect_timeout(&addr.into(), timeout)?;
    socket.set_tcp_nodelay(true)?;
    let stream = Timed::new(TcpStream::from(socket));
    stream.set_timeout(timeout)?;
    Ok(stream)
}

/// Run the TLS handshake over `stream` to completion (implicit TLS, or after `220` to STARTTLS).
pub fn handshake(
    stream: Box<dyn Stream>,
    timeout: Duration,
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
) -> Result<TlsStream, Error> {
    let conn = rustls::ClientConnection::new(config, name)
        .map_err(|e| Error::tls(Stage::TlsHandshake, &e))?;
    // The whole handshake is one wait for the server, bounded like a reply.
    stream
        .bound_reads(timeout)
        .and_then(|()| stream.bound_writes(timeout))
        .map_err(|e| Error::io(Stage::TlsHandshake, e))?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    // A TLS failure is a protocol error (76); a connection closed, reset or stalled during the
    // handshake is a transport failure like any other (75). Error::io tells them apart.
    drive_handshake(&mut tls).map_err(|e| Error::io(Stage::TlsHandshake, e))?;
    Ok(tls)
}

/// The handshake, stopping as soon as it is done: what it leaves queued (TLS 1.3's client Finished)
/// then leaves in the same write as the first command ([`Stream::send`]), one write per step.
fn drive_handshake(tls: &mut TlsStream) -> io::Result<()> {
    while tls.conn.is_handshaking() {
        while tls.conn.wants_write() {
            tls.conn.write_tls(&mut tls.sock)?;
        }
        tls.sock.flush()?;
        if !tls.conn.is_handshaking() || !tls.conn.wants_read() {
            continue;
        }
        if tls.conn.read_tls(&mut tls.sock)? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        if let Err(e) = tls.conn.process_new_packets() {
            // Tell the server why (the alert rustls queued), then give up.
            let _ = tls.conn.write_tls(&mut tls.sock);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
    }
    Ok(())
}
