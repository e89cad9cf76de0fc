//! mailsend's entry point: parse, run, map the outcome to a sysexits status (ripgrep's main → run →
//! ExitCode). Every failure a user can cause ends here as one clear message, never a panic.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use mailsend::{app, cli, exit, settings::Env};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(exit::classify(&e.into()));
        }
    };
    if let Some(generate) = cli.generate {
        return match app::generate(generate, &mut std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // `mailsend --generate man | head`: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mailsend: {e}");
                ExitCode::from(exit::classify(&e.into()))
            }
        };
    }
    let env = Env::from_process();
    match app::run(&cli, &env) {
        Ok(outcome) => ExitCode::from(exit::for_outcome(&outcome)),
        // A report piped into `head` that stopped reading: not a failure worth a message (stdout is the
        // only place a bare I/O error can come from; the engine wraps its own).
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = exit::classify(&e);
            let mut err = std::io::stderr().lock();
            // The root cause first, then the context that says who did not get the message; a cause
            // whose text its wrapper already quotes is not repeated.
            let mut chain = exit::causes(&e);
            chain.reverse();
            for line in chain {
                let _ = writeln!(err, "mailsend: {line}");
            }
            ExitCode::from(code)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
