//! How a run of the queue reaches a route's server and logs what it does: the settings are resolved
//! again for each route (the entry's account, or the server its sender named on the command line, under
//! this run's own command line), so credentials come from the account at delivery time and never from
//! the entry (spec §9); and each event becomes a log line in the `logfile` and syslog (spec §9: every
//! queue event is recorded), plus a line on stderr for what a person running `-q` must see.

use std::path::PathBuf;

use crate::cli::Cli;
use crate::dial::Plan;
use crate::queue::runner::{Event, EventKind, Events, Routes};
use crate::queue::state::Route;
use crate::settings::{self, Env, Logging, Settings};
use crate::smtp::session::Session;
use crate::values::{Port, Protocol, Stage};

/// Routes resolved from the configuration, under the runner's command line.
pub struct SettingsRoutes<'a> {
    pub cli: &'a Cli,
    pub env: &'a Env,
}

impl SettingsRoutes<'_> {
    /// The settings for `route`: the runner's own `--host`/`-a` win (a test, a migration), else the
    /// entry's.
    fn settings(&self, route: &Route) -> anyhow::Result<Settings> {
        let mut cli = self.cli.clone();
        if cli.host.is_none() && cli.socket.is_none() {
            cli.host.clone_from(&route.host);
            cli.port = cli.port.or(route.port.and_then(Port::new));
            cli.socket = route.socket.as_ref().map(PathBuf::from);
            if route.lmtp {
                cli.protocol = Some(Protocol::Lmtp);
            }
        }
        if cli.account.is_none() {
            cli.account.clone_from(&route.account);
        }
        settings::resolve(&cli, self.env)
    }
}

impl Routes for SettingsRoutes<'_> {
    fn dial(&mut self, route: &Route) -> anyhow::Result<Session> {
        let settings = self.settings(route)?;
        Plan::new(&settings, Stage::Auth)?.dial(&mut ())
    }

    fn notice_names(&self, route: &Route) -> (String, String) {
        let domain = self
            .settings(route)
            .map(|s| s.envelope.default_domain)
            .unwrap_or_else(|_| self.env.hostname.clone());
        (self.env.hostname.clone(), domain)
    }
}

/// Events to the log, and the important ones to stderr.
pub struct LogEvents {
    logging: Logging,
    /// A person runs `-q`: held, failed and unknown outcomes are said on stderr too.
    tell: bool,
}

impl LogEvents {
    pub fn new(settings: &Settings, tell: bool) -> LogEvents {
        LogEvents {
            logging: settings.logging.clone(),
            tell: tell || settings.logging.debug > 0,
        }
    }
}

impl Events for LogEvents {
    fn record(&mut self, event: Event) {
        let told = matches!(
            event.kind,
            EventKind::Held | EventKind::Failed | EventKind::Expired | EventKind::Unknown
        );
        if (self.tell && told) || self.logging.debug > 0 {
            let reason = event
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let line = format!(
                "mailsend: queue entry {} {}{}",
                event.id,
                event.kind.word(),
                crate::smtp::reply::printable(reason.as_bytes())
            );
            self.logging.tell(&line);
        }
        if self.logging.logfile.is_none() && self.logging.syslog.is_none() {
            return;
        }
        let fields = fields(&event);
        let failure = event.kind.is_failure();
        for e in crate::log::write_fields(
            self.logging.logfile.as_deref(),
            self.logging.syslog,
            failure,
            &fields,
        ) {
            let line = format!("mailsend: warning: {e}");
            self.logging.tell(&line);
        }
    }
}

/// `queue=ID event=deferred from=… recipients=…,… mailsize=N reason='…'`, each value made safe.
fn fields(event: &Event) -> String {
    use crate::log::{bare, quoted};
    let from = match event.sender.as_str() {
        "" => "<>".to_owned(),
        s => bare(s, &[]),
    };
    let recipients: Vec<String> = event.recipients.iter().map(|r| bare(r, &[','])).collect();
    let mut line = format!(
        "queue={} event={} from={from} recipients={} mailsize={}",
        event.id,
        event.kind.word(),
        recipients.join(","),
        event.size
    );
    if let Some(reason) = &event.reason {
        line.push_str(&format!(" reason={}", quoted(reason)));
    }
    line
}
