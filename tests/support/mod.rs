//! Shared harness for the end-to-end tests: a fake internet, a config, the real `hedge`
//! binary, and a real DNS client.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use jiff::Timestamp;

pub use hedge_testkit::FakeInternet;
pub use hedge_testkit::names;

// Port 53 for the fake internet, whoever runs the tests.
hedge_testkit::port_53_for_any_user!();

pub fn hedge_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hedge")
}

/// A port free for both UDP and TCP on 127.0.0.1, and not handed out before in this test
/// process: the sockets that find it are closed at once, so the kernel may offer the same
/// port again to the next call (two listeners of one config got the same port in CI).
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
            if !handed_out.contains(&port) {
                handed_out.push(port);
                return port;
            }
        }
    }
}

/// A running `hedge serve`, killed on drop. Its log is collected.
pub struct Hedge {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub log: Arc<Mutex<String>>,
}

impl Hedge {
    /// Writes `config` into a temp dir and starts `hedge serve` on it; waits until every
    /// listener is bound.
    pub fn start(config: &str) -> Hedge {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hedge.toml");
        std::fs::write(&path, config).expect("write config");
        Hedge::start_at(dir, path)
    }

    pub fn start_at(dir: tempfile::TempDir, config: PathBuf) -> Hedge {
        Hedge::start_via(dir, config, Command::new(hedge_bin()))
    }

    /// Starts `<command> serve --config <config>`, where `command` runs the hedge binary
    /// (directly, or through a wrapper such as `sh -c 'ulimit …; exec "$@"' sh <hedge>`).
    pub fn start_via(dir: tempfile::TempDir, config: PathBuf, mut command: Command) -> Hedge {
        let expected = std::fs::read_to_string(&config)
            .expect("config")
            .matches("[[listener]]")
            .count();
        let mut child = command
            .args(["serve", "--config"])
            .arg(&config)
            .env("HEDGE_LOG", "info,hedge::cmd::serve=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hedge");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().expect("log lock");
                l.push_str(&line);
                l.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listening = log.lock().expect("log").matches("listening on").count();
            if listening >= expected * 2 {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("hedge exited with {status}:\n{}", log.lock().expect("log"));
            }
            assert!(
                Instant::now() < deadline,
                "hedge did not start:\n{}",
                log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Hedge {
            child,
            dir,
            config,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -s {sig} failed");
    }

    /// Sends TERM, which flushes what is counted, and waits up to 5 s for the exit.
    pub fn stop(&mut self) {
        self.signal("TERM");
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hedge did not stop:\n{}", self.log());
    }

    /// Waits until the log contains `needle` (returns false on timeout).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_log_count(needle, 1, timeout)
    }

    /// Waits until the log contains `needle` at least `n` times (returns false on timeout).
    pub fn wait_log_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Hedge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `[upstream]` table for recursion from a fake internet.
pub fn recursive_upstream(net: &FakeInternet, timeout_ms: u64) -> String {
    let roots: Vec<String> = net
        .root_hints()
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect();
    format!(
        "[upstream]\nmode = \"recursive\"\nroots = [{}]\nallow_servers = [\"127.0.0.0/8\"]\ntimeout_ms = {timeout_ms}\n",
        roots.join(", ")
    )
}

/// The `[upstream]` table forwarding to `servers` over UDP.
pub fn forward_upstream(servers: &[SocketAddr], timeout_ms: u64) -> String {
    let servers: Vec<String> = servers
        .iter()
        .map(|s| {
            format!(
                "{{ address = \"{}\", port = {}, protocol = \"udp\" }}",
                s.ip(),
                s.port()
            )
        })
        .collect();
    format!(
        "[upstream]\nmode = \"forward\"\ntimeout_ms = {timeout_ms}\nservers = [{}]\n",
        servers.join(", ")
    )
}

/// A hedge with one listener (profile `p`, blocking gambling) allowing `allow`, the tables
/// `extra`, forwarding to a local upstream over UDP.
pub async fn start_forwarding(
    allow: &str,
    extra: &str,
) -> (Hedge, SocketAddr, hedge_testkit::Upstream) {
    let upstream = hedge_testkit::Upstream::start_local()
        .await
        .expect("start the upstream");
    let (l, addr) = listener("p", allow);
    let config = format!(
        "[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n{l}\n{extra}\n{}",
        forward_upstream(&[upstream.addr()], 2000)
    );
    (Hedge::start(&config), addr, upstream)
}

/// A listener table on a fresh port; returns (toml, address).
pub fn listener(profile: &str, allow: &str) -> (String, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    (
        format!(
            "[[listener]]\nprofile = \"{profile}\"\nbind = [\"{addr}\"]\nallow = [\"{allow}\"]\n"
        ),
        addr,
    )
}

pub async fn udp(server: SocketAddr, name: &str, t: RecordType) -> Message {
    hedge_testkit::client::query_udp(server, name, t)
        .await
        .unwrap_or_else(|e| panic!("udp query {name} {t}: {e}"))
}

pub async fn tcp(server: SocketAddr, name: &str, t: RecordType) -> Message {
    hedge_testkit::client::query_tcp(server, name, t)
        .await
        .unwrap_or_else(|e| panic!("tcp query {name} {t}: {e}"))
}

/// The A answers for www.example.com from `server`, over UDP and over TCP.
pub async fn example_answers(server: SocketAddr) -> [Vec<String>; 2] {
    [
        ips(&udp(server, names::WWW_EXAMPLE_COM, RecordType::A).await),
        ips(&tcp(server, names::WWW_EXAMPLE_COM, RecordType::A).await),
    ]
}

/// Asks `server` for www.example.com A until UDP and TCP both answer `want` alone; fails the
/// test when `deadline` passes first. Returns when the first such question was sent, so a
/// caller can check the answer did not change before its time.
pub async fn until_answer(server: SocketAddr, want: &str, deadline: Timestamp) -> Timestamp {
    loop {
        let asked = Timestamp::now();
        if example_answers(server).await == [[want], [want]] {
            return asked;
        }
        assert!(
            Timestamp::now() < deadline,
            "still not {want} at {deadline}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The addresses in an answer, as strings.
pub fn ips(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect()
}

/// The CNAME targets in an answer.
pub fn cnames(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| {
            if let RData::CNAME(c) = &r.data {
                Some(c.0.to_ascii())
            } else {
                None
            }
        })
        .collect()
}

pub fn ede(m: &Message) -> Vec<(u16, String)> {
    hedge_dns::decode_ede(m)
}

pub fn rcode(m: &Message) -> ResponseCode {
    m.metadata.response_code
}

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Runs a `hedge` command (not `serve`) to completion, with warnings only in its log.
pub fn run_hedge<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(hedge_bin())
        .args(args)
        .env("HEDGE_LOG", "warn")
        .output()
        .expect("run hedge")
}

/// Runs `hedge lists compile --sources <sources> --out <out>` with `extra` arguments.
pub fn lists_compile(sources: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "lists".as_ref(),
        "compile".as_ref(),
        "--sources".as_ref(),
        sources.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    run_hedge(args)
}

/// A finished command's standard output, then its standard error.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes `list` to `dir/feed.txt` as the one source `feed` of `format` (category gambling),
/// with its manifest in `dir/one.toml`, and compiles it into `out` with `extra` arguments.
pub fn compile_one_source(
    dir: &Path,
    format: &str,
    list: &[u8],
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    std::fs::write(dir.join("feed.txt"), list).expect("list");
    std::fs::write(
        dir.join("one.toml"),
        format!(
            "[[source]]\nname = \"feed\"\nformat = \"{format}\"\npath = \"feed.txt\"\ncategory = [\"gambling\"]\n"
        ),
    )
    .expect("manifest");
    lists_compile(&dir.join("one.toml"), out, extra)
}

/// Runs hedge with its standard output already closed and checks that it ends quietly, as
/// coreutils do: killed by SIGPIPE (141 in a shell) or exit 0, and never a panic.
pub fn assert_quiet_on_a_closed_stdout(args: &[&str]) {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader); // gone before the command writes its first byte
    let o = std::process::Command::new(hedge_bin())
        .args(args)
        .env("HEDGE_LOG", "warn")
        .stdout(writer)
        .output()
        .expect("run hedge");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        (o.status.success() || o.status.signal() == Some(libc::SIGPIPE))
            && !stderr.contains("panicked"),
        "hedge {args:?}: {:?}\n{stderr}",
        o.status
    );
}

/// This month in UTC (`2026-12`), as the statistics store keys its days.
pub fn this_month_utc() -> String {
    Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m")
        .to_string()
}
