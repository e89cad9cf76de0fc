//! The scripted server's life: bind on loopback (or a Unix domain socket), accept exactly one connection in a
//! thread, serve it, and hand the transcript back. Every wait is bounded so that no test can hang on the
//! server.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::script::Script;
use super::session::{Conn, Session};
use super::transcript::Transcript;

/// How long `finish` waits for the server thread once the client is done.
const FINISH_GRACE: Duration = Duration::from_secs(5);

/// Where the server listens.
#[derive(Clone, Debug)]
enum Place {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// One kind of listener, polled without blocking.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn accept(&self) -> std::io::Result<Conn> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::Plain(s)),
            Listener::Unix(l) => l.accept().map(|(s, _)| Conn::Unix(s)),
        }
    }
}

/// A server serving one connection in its own thread; see [`Script`] for what it says.
pub struct Server {
    place: Place,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Transcript>>,
    done: Receiver<()>,
}

impl Server {
    /// Listen on 127.0.0.1 with a free port.
    pub fn start(script: Script) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Server::serve_tcp(listener, script)
    }

    /// Listen on [::1] with a free port; `None` when the machine has no IPv6 loopback.
    pub fn start_v6(script: Script) -> Option<Server> {
        let listener = TcpListener::bind("[::1]:0").ok()?;
        Some(Server::serve_tcp(listener, script))
    }

    /// Listen on a Unix domain socket at `path` (which must not exist; put it in a temp dir), as an LMTP
    /// server usually does (`--socket PATH`, or `--host /PATH`).
    pub fn start_unix(script: Script, path: &Path) -> Server {
        let listener = UnixListener::bind(path).expect("bind the Unix socket");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        Server::serve(
            Listener::Unix(listener),
            Place::Unix(path.to_owned()),
            script,
        )
    }

    fn serve_tcp(listener: TcpListener, script: Script) -> Server {
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        Server::serve(Listener::Tcp(listener), Place::Tcp(addr), script)
    }

    fn serve(listener: Listener, place: Place, script: Script) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Transcript::default()));
        let (tx, done) = mpsc::channel();
        let (thread_stop, thread_record) = (stop.clone(), record.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + script.lifetime;
            if let Some(conn) = accept(&listener, &thread_stop, deadline) {
                drop(listener);
                let mut session = Session::new(&script, conn, thread_record, thread_stop, deadline);
                session.run();
            }
            let _ = tx.send(());
        });
        Server {
            place,
            stop,
            record,
            done,
        }
    }

    /// The TCP port; 0 for a Unix socket.
    pub fn port(&self) -> u16 {
        match &self.place {
            Place::Tcp(addr) => addr.port(),
            Place::Unix(_) => 0,
        }
    }

    /// The TCP address. A Unix-socket server has none: asking is a mistake in the test.
    pub fn addr(&self) -> SocketAddr {
        match &self.place {
            Place::Tcp(addr) => *addr,
            Place::Unix(path) => panic!("a Unix-socket server ({}) has no address", path.display()),
        }
    }

    /// The `--host` argument that reaches this server: `127.0.0.1:PORT`, `[::1]:PORT`, or the socket path
    /// (spec §1: a host starting with `/` is a Unix socket).
    pub fn host_arg(&self) -> String {
        match &self.place {
            Place::Tcp(addr) => addr.to_string(),
            Place::Unix(path) => path.display().to_string(),
        }
    }

    /// Stop waiting for the client, join the thread (bounded) and return what the server saw.
    pub fn finish(self) -> Transcript {
        self.stop.store(true, Ordering::SeqCst);
        if self.done.recv_timeout(FINISH_GRACE).is_err() {
            let so_far = self.record.lock().map(|t| t.clone()).unwrap_or_default();
            panic!("scripted server did not end within {FINISH_GRACE:?}; so far: {so_far:?}");
        }
        self.record.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Poll for the one client until the test says stop or the lifetime ends. A connection already queued when
/// `stop` is set is still taken, so a client that finished quickly is never missed.
fn accept(listener: &Listener, stop: &AtomicBool, deadline: Instant) -> Option<Conn> {
    loop {
        match listener.accept() {
            Ok(conn) => return Some(conn),
            Err(_) if stop.load(Ordering::SeqCst) || Instant::now() >= deadline => return None,
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}
