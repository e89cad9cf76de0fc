//! The queue's settings (spec §9): when mail is queued (`queue`, `--queue-on-failure`, `--no-queue`,
//! `-odq`; the default `on-failure` where the system spool exists, else `never`), where the queue is
//! (`queue_dir`, else the system spool, else the user's state directory), `queue_lifetime`,
//! `queue_warn`, `queue_connections`, and the route an entry queued by this run records: the account
//! used, or the server named on the command line (which gets no credentials from the file, spec §8).
//! Imports the command line, the config model, the value types and the queue's location and state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::layers::Layers;
use super::{Env, QueueSettings};
use crate::cli::Cli;
use crate::queue::clock::{DEFAULT_LIFETIME, DEFAULT_WARN};
use crate::queue::location::{self, SYSTEM_SPOOL};
use crate::queue::state::Route;
use crate::values::{Connections, Protocol, QueuePolicy};

pub(super) fn settings(
    l: &mut Layers,
    cli: &Cli,
    env: &Env,
    account: Option<String>,
    config_file: Option<PathBuf>,
) -> Result<QueueSettings, super::SettingsError> {
    let q = &cli.queue;
    let asked = match () {
        _ if cli.sendmail.options.iter().any(|o| o == "dq") => Some(QueuePolicy::Always),
        _ if q.queue_on_failure => Some(QueuePolicy::OnFailure),
        _ if q.no_queue => Some(QueuePolicy::Never),
        _ => None,
    };
    let system = Path::new(SYSTEM_SPOOL);
    let policy = l
        .pick("queue", asked, |a| a.queue)
        .unwrap_or_else(|| match system.is_dir() {
            true => QueuePolicy::OnFailure,
            false => QueuePolicy::Never,
        });
    let dir = l.pick("queue_dir", None, |a| a.queue_dir.clone());
    let dir = dir
        .map(|path| super::expand_home("queue_dir", &path, env))
        .transpose()?;
    let location = location::locate(
        dir.as_deref(),
        system,
        env.xdg_state_home.as_deref(),
        env.home.as_deref(),
    );
    let span =
        |v: Option<crate::values::Span>, default: Duration| v.map_or(default, |s| s.duration());
    Ok(QueueSettings {
        policy,
        location,
        lifetime: span(
            l.pick("queue_lifetime", None, |a| a.queue_lifetime),
            DEFAULT_LIFETIME,
        ),
        warn: span(l.pick("queue_warn", None, |a| a.queue_warn), DEFAULT_WARN),
        connections: l
            .pick("queue_connections", None, |a| a.queue_connections)
            .unwrap_or(Connections::DEFAULT),
        config_file,
        route: Route {
            account,
            host: cli.host.clone(),
            port: cli.port.map(|p| p.get()),
            socket: cli.socket.as_ref().map(|p| p.display().to_string()),
            lmtp: cli.protocol == Some(Protocol::Lmtp),
        },
        uid: crate::queue::hooks::uid().unwrap_or(env.uid),
    })
}
