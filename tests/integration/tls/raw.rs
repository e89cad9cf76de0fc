//! What the scripted server cannot do, written by hand: a server that answers the client's TLS ClientHello
//! with chosen bytes or a close (catalogue A4, A7), and a certificate resolver that records the SNI the
//! client sent (RFC 6066 §3, catalogue A6) or signs with a key that does not match its certificate (A8).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::certs::provider;

/// How long the hand-written server waits for anything, so a test cannot hang on it.
const LIFETIME: Duration = Duration::from_secs(15);

/// A TLS 1.0 ServerHello (RFC 2246 §7.4.1.3): legacy version 3.1, no supported_versions extension,
/// TLS_RSA_WITH_AES_128_CBC_SHA. A client limited to TLS 1.2 and 1.3 (RFC 8996) must give up on it.
pub const TLS10_SERVER_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x00, 0x2a, // handshake record, TLS 1.0, 42 bytes
    0x02, 0x00, 0x00, 0x26, // ServerHello, 38 bytes
    0x03, 0x01, // server_version TLS 1.0
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,   // random
    0x00, // empty session id
    0x00, 0x2f, // cipher suite
    0x00, // no compression
];

/// What the server does once the client's first TLS bytes arrive after the `220` to STARTTLS.
pub enum AfterHello {
    /// Send these bytes, then read until the client goes away.
    Send(&'static [u8]),
    /// Close the sending side (FIN), then read until the client goes away.
    Close,
}

/// A one-connection server: greeting, `250 STARTTLS` to EHLO, `220` to STARTTLS, then [`AfterHello`].
pub struct RawServer {
    addr: String,
    handle: JoinHandle<Vec<u8>>,
}

impl RawServer {
    pub fn start(after: AfterHello) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address").to_string();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let handle = thread::spawn(move || serve(&listener, after).unwrap_or_default());
        RawServer { addr, handle }
    }

    pub fn host_arg(&self) -> &str {
        &self.addr
    }

    /// Every byte the client sent after the server's `220` to STARTTLS.
    pub fn finish(self) -> Vec<u8> {
        self.handle.join().expect("raw server thread")
    }
}

fn serve(listener: &TcpListener, after: AfterHello) -> Option<Vec<u8>> {
    let deadline = Instant::now() + LIFETIME;
    let mut tcp = loop {
        match listener.accept() {
            Ok((tcp, _)) => break tcp,
            Err(_) if Instant::now() >= deadline => return None,
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    };
    tcp.set_nonblocking(false).ok()?;
    tcp.set_read_timeout(Some(Duration::from_millis(50))).ok()?;
    let mut buf = Vec::new();
    tcp.write_all(b"220 raw.example ESMTP\r\n").ok()?;
    read_line(&mut tcp, &mut buf, deadline)?;
    tcp.write_all(b"250-raw.example\r\n250 STARTTLS\r\n").ok()?;
    read_line(&mut tcp, &mut buf, deadline)?;
    tcp.write_all(b"220 2.0.0 Ready to start TLS\r\n").ok()?;
    while buf.is_empty() && read_some(&mut tcp, &mut buf, deadline) {}
    match after {
        AfterHello::Send(bytes) => tcp.write_all(bytes).ok()?,
        AfterHello::Close => tcp.shutdown(Shutdown::Write).ok()?,
    }
    while read_some(&mut tcp, &mut buf, deadline) {}
    Some(buf)
}

/// Consume one line from `buf`, reading more as needed; `None` when the client is gone.
fn read_line(tcp: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Option<()> {
    loop {
        if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            buf.drain(..=pos);
            return Some(());
        }
        if !read_some(tcp, buf, deadline) {
            return None;
        }
    }
}

/// Append what arrives next; `false` at EOF, on an error or past the deadline.
fn read_some(tcp: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match tcp.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return true;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if Instant::now() >= deadline {
                    return false;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Presents one certificate with one signing key (which need not match it) and notes the SNI it was asked for.
#[derive(Debug)]
struct Resolver {
    key: Arc<CertifiedKey>,
    sni: Arc<Mutex<Option<String>>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Ok(mut sni) = self.sni.lock() {
            *sni = hello.server_name().map(str::to_string);
        }
        Some(self.key.clone())
    }
}

/// A server config presenting `cert`, signing the handshake with the key in the PEM file `key_path`, plus
/// the slot where the SNI lands.
pub fn server_config(
    cert: &CertificateDer<'static>,
    key_path: &Path,
) -> (Arc<ServerConfig>, Arc<Mutex<Option<String>>>) {
    let pem = std::fs::read(key_path).expect("read the key PEM");
    let key = rustls_pemfile::private_key(&mut pem.as_slice())
        .expect("parse the key PEM")
        .expect("a private key in the PEM file");
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).expect("a usable key");
    let sni = Arc::new(Mutex::new(None));
    let resolver = Resolver {
        key: Arc::new(CertifiedKey::new(vec![cert.clone()], signer)),
        sni: sni.clone(),
    };
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    (Arc::new(config), sni)
}
