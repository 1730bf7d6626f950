//! `fake-internet`: the standard hierarchy as a process, for tools that are not Rust tests
//! (`bench/differential.py` points hedge and Unbound at it).
//!
//! Starts [`FakeInternet`] on the first free `127.53.N.0/24` (or on `--network 127.54.0.0`)
//! and prints one line per zone, `zone <origin> <server address>` (the root first), then
//! `ready`. It then reads commands from stdin, one per line:
//!
//! - `counts`: prints `count <origin> <queries answered>` per zone, then `end`;
//! - end of input: stops the servers and exits.
//!
//! Binding port 53 needs root or `CAP_NET_BIND_SERVICE`; without it, it exits with status 2
//! and says so.

use std::io::BufRead;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use hedge_testkit::{FakeInternet, names};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = match args.as_slice() {
        [] => FakeInternet::start().await,
        [flag, base] if flag == "--network" => match base.parse::<Ipv4Addr>() {
            Ok(base) => FakeInternet::start_on(base).await,
            Err(error) => return usage(&format!("--network {base}: {error}")),
        },
        _ => return usage("unexpected arguments"),
    };
    let internet = match started {
        Ok(internet) => internet,
        Err(error) => {
            eprintln!("fake-internet: {error}");
            return ExitCode::from(2);
        }
    };
    for zone in names::ZONES {
        if let Some(server) = internet.server_for(zone) {
            println!("zone {zone} {}", server.ip());
        }
    }
    println!("ready");
    // The servers run on their own thread (see `FakeInternet`), so blocking here is fine.
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "counts" => {
                for zone in names::ZONES {
                    let answered = internet.queries_answered_by(zone).unwrap_or(0);
                    println!("count {zone} {answered}");
                }
                println!("end");
            }
            "" => {}
            other => eprintln!("fake-internet: unknown command `{other}` (known: counts)"),
        }
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("fake-internet: {problem}\nusage: fake-internet [--network 127.54.0.0]");
    ExitCode::from(2)
}
