//! The one way a connection is set up (spec §3, §4, §5): connect, the TLS handshake first for implicit TLS
//! (RFC 8314 §3), the greeting, EHLO/LHLO, STARTTLS and EHLO again (RFC 3207 §4.2), AUTH (RFC 4954), each
//! stage in this order and only up to the stage asked for. Sending, `--quit-after`, `--command`,
//! `--interactive` and `--serverinfo` all start here, and so will the queue runner; an [`Observer`] sees the
//! stages as they are reached (serverinfo prints what it sees). Any failure ends the session with a QUIT
//! while it is still in step.
//!
//! Everything that can fail without the server (the TLS configuration and the trust store, the password)
//! is read in [`Plan::new`], before any connection is opened (catalogue A9). A certificate that fails
//! verification is only ever looked at, never accepted, through [`Plan::inspect`], which stops before AUTH.
//! Imports the settings and the engine.

use crate::password::Password;
use crate::settings::{Settings, TlsUse};
use crate::smtp::auth::Credentials;
use crate::smtp::error::Error;
use crate::smtp::session::{self, AuthRequest, Session, SessionOptions};
use crate::smtp::trace::Trace;
use crate::smtp::transport::{self, Endpoint, Stream};
use crate::tls::{self, PeerInfo, Tls};
use crate::values::{Protocol, Stage};

/// What a caller of [`Plan::dial`] may want to see on the way.
pub trait Observer {
    /// Called after the greeting and after the first EHLO; an error ends the dialogue.
    fn reached(&mut self, stage: Stage, session: &Session) -> anyhow::Result<()>;
}

/// No observer.
impl Observer for () {
    fn reached(&mut self, _stage: Stage, _session: &Session) -> anyhow::Result<()> {
        Ok(())
    }
}

/// How the server's certificate is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Certificates {
    /// A certificate that fails verification ends the handshake (every mode that sends anything).
    Enforce,
    /// The handshake completes so that the certificate can be shown (`--serverinfo` only).
    Inspect,
}

/// A connection about to be made: the settings, the last stage to reach, and what was read beforehand.
pub struct Plan<'a> {
    settings: &'a Settings,
    stop_at: Stage,
    tls: Option<Tls>,
    /// Read in [`Plan::new`] when the plan reaches AUTH.
    password: Option<Password<'a>>,
}

impl<'a> Plan<'a> {
    /// The dialogue up to `stop_at` (a stage after AUTH means all of it), certificates enforced.
    pub fn new(settings: &'a Settings, stop_at: Stage) -> anyhow::Result<Plan<'a>> {
        Plan::prepare(settings, stop_at, Certificates::Enforce)
    }

    /// Up to STARTTLS and EHLO again, with a certificate that fails verification still shown: never AUTH,
    /// so no credential can go to a server that was not verified.
    pub fn inspect(settings: &'a Settings) -> anyhow::Result<Plan<'a>> {
        Plan::prepare(settings, Stage::Starttls, Certificates::Inspect)
    }

    fn prepare(
        settings: &'a Settings,
        stop_at: Stage,
        certificates: Certificates,
    ) -> anyhow::Result<Plan<'a>> {
        // STARTTLS's configuration (and the system roots) only when it will be used.
        let tls = match settings.tls.mode {
            TlsUse::Implicit if stop_at >= Stage::Greeting => true,
            TlsUse::StartTls => stop_at >= Stage::Starttls,
            _ => false,
        };
        let tls = match tls {
            true => Some(tls::configure(
                &settings.tls.options,
                certificates == Certificates::Inspect,
            )?),
            false => None,
        };
        let password = match &settings.auth.login {
            Some(login) if stop_at >= Stage::Auth => {
                let (host, _) = auth_server(settings);
                Some(login.password.fetch(&login.user, &host)?)
            }
            _ => None,
        };
        Ok(Plan {
            settings,
            stop_at,
            tls,
            password,
        })
    }

    /// Open the connection, nothing more; the trace's `connect:` line comes first, so it shows even
    /// when the connect fails.
    pub fn connect(&self, trace: &mut Trace) -> Result<Box<dyn Stream>, Error> {
        let server = &self.settings.server;
        match &server.endpoint {
            Endpoint::Tcp { host, port } => trace.connect_to(host, *port, server.source_address),
            Endpoint::Unix(path) => trace.connect_unix(path),
        }
        transport::connect(&server.endpoint, server.source_address, server.timeout)
    }

    /// Connect and go through the stages up to the one planned: the session, established that far.
    pub fn dial(mut self, observer: &mut dyn Observer) -> anyhow::Result<Session> {
        let mut trace = trace(self.settings)?;
        let stream = self.connect(&mut trace)?;
        let (stream, info) = self.implicit_tls(stream, &mut trace)?;
        let server = &self.settings.server;
        let options = SessionOptions {
            domain: server.domain.clone(),
            lmtp: server.protocol == Protocol::Lmtp,
            timeout: server.timeout,
            final_timeout: server.final_timeout,
        };
        let mut session = Session::open(stream, trace, options, info)?;
        match self.set_up(&mut session, observer) {
            Ok(()) => Ok(session),
            Err(e) => {
                session.quit();
                Err(e)
            }
        }
    }

    /// RFC 8314 §3: the handshake before the greeting.
    fn implicit_tls(
        &self,
        stream: Box<dyn Stream>,
        trace: &mut Trace,
    ) -> Result<(Box<dyn Stream>, Option<PeerInfo>), Error> {
        let (TlsUse::Implicit, Some(tls)) = (self.settings.tls.mode, &self.tls) else {
            return Ok((stream, None));
        };
        let (stream, info) = session::secure(stream, tls, self.settings.server.timeout, trace)
            .map_err(|e| match e {
                Error::NotTls { stage, .. } => Error::NotTls {
                    stage,
                    implicit: true,
                },
                other => other,
            })?;
        Ok((stream, Some(info)))
    }

    /// The stages after the greeting, in order, each only when planned.
    fn set_up(&mut self, session: &mut Session, observer: &mut dyn Observer) -> anyhow::Result<()> {
        observer.reached(Stage::Greeting, session)?;
        if self.stop_at < Stage::Ehlo {
            return Ok(());
        }
        session.hello()?;
        observer.reached(Stage::Ehlo, session)?;
        if let (TlsUse::StartTls, Some(tls)) = (self.settings.tls.mode, &self.tls) {
            session.starttls(tls)?;
        }
        if let (Some(login), Some(password)) = (&self.settings.auth.login, &self.password) {
            let (host, port) = auth_server(self.settings);
            let request = AuthRequest {
                mechanism: login.mechanism,
                credentials: Credentials {
                    user: login.user.clone(),
                    secret: password.secret(),
                    host,
                    port,
                },
                initial_response: self.settings.auth.initial_response,
                allow_plaintext: self.settings.auth.allow_plaintext,
            };
            session.authenticate(&request)?;
        }
        Ok(())
    }
}

/// The trace the settings ask for: on standard error, or appended to `--debug-file` (created 0600, as
/// it may show addresses and message data), which `-bs` needs because stdout and stderr are not free
/// there (spec §10).
pub fn trace(settings: &Settings) -> anyhow::Result<Trace> {
    let logging = &settings.logging;
    let Some(path) = &logging.debug_file else {
        return Ok(Trace::stderr(logging.debug));
    };
    let file = crate::log::open_debug_file(path).map_err(|e| {
        anyhow::Error::new(e).context(format!("cannot open the --debug-file {}", path.display()))
    })?;
    Ok(Trace::to_writer(logging.debug, Box::new(file)))
}

/// The host and port the credentials are for (netrc, the prompt, XOAUTH2). Over a Unix socket the host
/// is the name TLS verifies.
fn auth_server(settings: &Settings) -> (String, u16) {
    match &settings.server.endpoint {
        Endpoint::Tcp { host, port } => (host.clone(), *port),
        Endpoint::Unix(_) => (settings.tls.options.server_name.clone(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Env, resolve};

    fn settings(args: &[&str]) -> Settings {
        let mut argv = vec!["mailsend", "--host", "127.0.0.1:2525"];
        argv.extend_from_slice(args);
        let cli = crate::cli::parse_from(argv).expect("parses");
        let env = Env {
            hostname: "client.example".into(),
            ..Env::default()
        };
        resolve(&cli, &env).expect("resolves")
    }

    /// The password is read only for a dialogue that reaches AUTH, and never for an inspection, which
    /// may have accepted a certificate that failed verification (issue 11: `establish(inspect)`).
    #[test]
    fn credentials_are_read_only_for_a_plan_that_authenticates() {
        let settings = settings(&["--user", "u", "--password-command", "exit 3"]);
        assert!(Plan::inspect(&settings).is_ok());
        assert!(Plan::new(&settings, Stage::Starttls).is_ok());
        let e = Plan::new(&settings, Stage::Auth)
            .err()
            .expect("the command fails");
        assert_eq!(crate::exit::classify(&e), crate::exit::CONFIG, "{e}");
        assert!(Plan::new(&settings, Stage::Rcpt).is_err());
    }
}
