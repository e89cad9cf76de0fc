//! The scripted server's life: bind on loopback, accept exactly one connection in a thread, serve it, and hand
//! the transcript back. Every wait is bounded so that no test can hang on the server.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::script::Script;
use super::session::Session;
use super::transcript::Transcript;

/// How long `finish` waits for the server thread once the client is done.
const FINISH_GRACE: Duration = Duration::from_secs(5);

/// A server serving one connection in its own thread; see [`Script`] for what it says.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<Transcript>>,
    done: Receiver<()>,
}

impl Server {
    /// Listen on 127.0.0.1 with a free port.
    pub fn start(script: Script) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Server::serve(listener, script)
    }

    /// Listen on [::1] with a free port; `None` when the machine has no IPv6 loopback.
    pub fn start_v6(script: Script) -> Option<Server> {
        let listener = TcpListener::bind("[::1]:0").ok()?;
        Some(Server::serve(listener, script))
    }

    fn serve(listener: TcpListener, script: Script) -> Server {
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(Transcript::default()));
        let (tx, done) = mpsc::channel();
        let (thread_stop, thread_record) = (stop.clone(), record.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + script.lifetime;
            if let Some(stream) = accept(&listener, &thread_stop, deadline) {
                drop(listener);
                let mut session =
                    Session::new(&script, stream, thread_record, thread_stop, deadline);
                session.run();
            }
            let _ = tx.send(());
        });
        Server {
            addr,
            stop,
            record,
            done,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `--host` argument that reaches this server: `127.0.0.1:PORT` or `[::1]:PORT`.
    pub fn host_arg(&self) -> String {
        self.addr.to_string()
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
fn accept(
    listener: &TcpListener,
    stop: &AtomicBool,
    deadline: Instant,
) -> Option<std::net::TcpStream> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(_) if stop.load(Ordering::SeqCst) || Instant::now() >= deadline => return None,
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}
