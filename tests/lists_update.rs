//! `hedge lists update` against a local HTTP server on 127.0.0.1 that the test scripts: good
//! downloads, 304s, retries, and every hostile answer the update must refuse while the index
//! being served and the cached copies stay as they were. No test reaches the internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::{
    FakeInternet, Hedge, hedge_bin, ips, listener, lists_compile, recursive_upstream, repo, text,
    udp,
};

/// What the server does for one path.
#[derive(Clone)]
enum Route {
    /// 200 with this body and ETag, or 304 when the request's If-None-Match is the ETag.
    File {
        body: Vec<u8>,
        etag: String,
        content_type: &'static str,
    },
    /// This status with a short body.
    Status(u16),
    /// `failures` answers of `status`, then `then`.
    FailFirst {
        failures: usize,
        status: u16,
        then: Box<Route>,
    },
    /// 200 announcing this Content-Length, then endless bytes.
    Declared(u64),
    /// 200 without a length, then bytes as fast as the client takes them, until it hangs up.
    Endless,
    /// 200, a few bytes, then silence.
    Stall,
    /// 200, then a line every 100 ms, forever.
    Trickle,
    /// 302 to this address.
    Redirect(String),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    if_none_match: Option<String>,
    status: u16,
}

/// A scripted HTTP/1.1 server on 127.0.0.1, one thread per connection.
struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    scheme: &'static str,
}

/// The longest a scripted endless answer goes on: every client limit in these tests is
/// far below it, and the server thread ends by itself.
const ENDLESS: Duration = Duration::from_secs(30);

impl Server {
    fn start() -> Server {
        Server::start_with(None)
    }

    /// The same server over TLS, with a certificate for 127.0.0.1 issued by `ca`.
    fn start_tls(ca: &hedge_testkit::tls::TestCa) -> Server {
        let issued = ca.issue("127.0.0.1").expect("certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(issued.chain, issued.key)
            .expect("server certificate");
        Server::start_with(Some(Arc::new(config)))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (r, s) = (routes.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s, tls) = (r.clone(), s.clone(), tls.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .expect("timeout");
                    match tls {
                        Some(config) => {
                            let conn = rustls::ServerConnection::new(config).expect("tls");
                            serve(rustls::StreamOwned::new(conn, stream), &r, &s);
                        }
                        None => serve(stream, &r, &s),
                    }
                });
            }
        });
        Server {
            addr,
            routes,
            seen,
            scheme,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    fn route(&self, path: &str, route: Route) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), route);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    fn forget(&self) {
        self.seen.lock().expect("seen").clear();
    }
}

fn serve(
    stream: impl Read + Write,
    routes: &Mutex<HashMap<String, Route>>,
    seen: &Mutex<Vec<Seen>>,
) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("if-none-match")
        {
            if_none_match = Some(value.trim().to_string());
        }
    }
    let route = {
        let mut routes = routes.lock().expect("routes");
        let route = routes.get(&path).cloned().unwrap_or(Route::Status(404));
        match route {
            Route::FailFirst {
                failures,
                status,
                then,
            } => {
                let next = match failures {
                    0 | 1 => *then,
                    n => Route::FailFirst {
                        failures: n - 1,
                        status,
                        then,
                    },
                };
                routes.insert(path.clone(), next);
                Route::Status(status)
            }
            other => other,
        }
    };
    let head = |status: u16, extra: &str| {
        format!("HTTP/1.1 {status} X\r\nConnection: close\r\n{extra}\r\n").into_bytes()
    };
    let (status, response): (u16, Vec<u8>) = match &route {
        Route::File {
            body,
            etag,
            content_type,
        } => {
            if if_none_match.as_deref() == Some(etag.as_str()) {
                (304, head(304, &format!("ETag: {etag}\r\n")))
            } else {
                let mut r = head(
                    200,
                    &format!(
                        "ETag: {etag}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
                        body.len()
                    ),
                );
                r.extend_from_slice(body);
                (200, r)
            }
        }
        Route::Status(code) => (
            *code,
            [head(*code, "Content-Length: 5\r\n"), b"oops\n".to_vec()].concat(),
        ),
        Route::Redirect(to) => (
            302,
            head(302, &format!("Location: {to}\r\nContent-Length: 0\r\n")),
        ),
        Route::Declared(n) => (200, head(200, &format!("Content-Length: {n}\r\n"))),
        Route::Endless | Route::Stall | Route::Trickle => (200, head(200, "")),
        Route::FailFirst { .. } => unreachable!("resolved above"),
    };
    seen.lock().expect("seen").push(Seen {
        path,
        if_none_match,
        status,
    });
    let stream = reader.get_mut();
    if stream.write_all(&response).is_err() {
        return;
    }
    let started = Instant::now();
    let line = b"endless.example\n".repeat(4096);
    match route {
        Route::Declared(_) | Route::Endless => {
            while started.elapsed() < ENDLESS && stream.write_all(&line).is_ok() {}
        }
        Route::Stall => {
            let _ = stream.write_all(b"stall.example\n");
            // Silence until the client gives up (it closes the socket) or ENDLESS passes.
            let mut buf = [0u8; 16];
            while started.elapsed() < ENDLESS && stream.read(&mut buf).is_err() {}
        }
        Route::Trickle => {
            while started.elapsed() < ENDLESS && stream.write_all(b"trickle.example\n").is_ok() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        _ => {}
    }
}

/// A `.tar.gz` made of `(path, entry)` pairs; paths are written raw, so `../` goes in as is.
enum Entry<'a> {
    File(&'a [u8]),
    Zeros(u64),
    Symlink(&'a str),
    CharDevice,
}

fn tar_gz(entries: &[(&str, Entry<'_>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    for (path, entry) in entries {
        let mut header = tar::Header::new_gnu();
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_mode(0o644);
        match entry {
            Entry::File(body) => {
                header.set_size(body.len() as u64);
                header.set_entry_type(tar::EntryType::Regular);
                header.set_cksum();
                builder.append(&header, *body).expect("append");
            }
            Entry::Zeros(n) => {
                header.set_size(*n);
                header.set_entry_type(tar::EntryType::Regular);
                header.set_cksum();
                builder
                    .append(&header, std::io::repeat(0).take(*n))
                    .expect("append");
            }
            Entry::Symlink(target) => {
                header.set_size(0);
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_link_name(target).expect("link name");
                header.set_cksum();
                builder.append(&header, std::io::empty()).expect("append");
            }
            Entry::CharDevice => {
                header.set_size(0);
                header.set_entry_type(tar::EntryType::Char);
                header.set_device_major(1).expect("major");
                header.set_device_minor(3).expect("minor");
                header.set_cksum();
                builder.append(&header, std::io::empty()).expect("append");
            }
        }
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn good_ut1() -> Vec<u8> {
    tar_gz(&[
        (
            "blacklists/gambling/domains",
            Entry::File(b"bet.example\ncasino.example\n"),
        ),
        ("blacklists/adult/domains", Entry::File(b"adult.example\n")),
        // UT1 ships its English aliases as links: skipped, never created.
        ("blacklists/jeux", Entry::Symlink("gambling")),
    ])
}

fn file(body: &[u8], etag: &str) -> Route {
    Route::File {
        body: body.to_vec(),
        etag: format!("\"{etag}\""),
        content_type: "text/plain",
    }
}

/// A folder with a manifest of three downloaded sources (a single list, a UT1 archive and a
/// directory of lists) and one local source, served by a fresh [`Server`].
struct Fixture {
    server: Server,
    dir: tempfile::TempDir,
    /// Extra `key = value` lines for the `feed` source (a pin, a size cap).
    feed_extra: String,
}

impl Fixture {
    fn new() -> Fixture {
        let server = Server::start();
        server.route("/feed.txt", file(b"feed.example\n", "f1"));
        server.route(
            "/ut1.tar.gz",
            Route::File {
                body: good_ut1(),
                etag: "\"u1\"".into(),
                content_type: "application/gzip",
            },
        );
        server.route("/bl/ads.txt", file(b"0.0.0.0 ads.example\n", "a1"));
        server.route("/bl/drugs.txt", file(b"0.0.0.0 pills.example\n", "d1"));
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("local.txt"), "local.example\n").expect("local list");
        let fx = Fixture {
            server,
            dir,
            feed_extra: String::new(),
        };
        fx.write_manifest();
        fx
    }

    fn write_manifest(&self) {
        let manifest = format!(
            r#"
[[source]]
name = "feed"
format = "plain"
url = "{feed}"
category = ["gambling"]
{extra}

[[source]]
name = "ut1"
format = "ut1"
url = "{ut1}"
[source.categories]
gambling = ["gambling"]
adult = ["adult-material/adult-content"]

[[source]]
name = "bl"
format = "hosts"
url = "{bl}"
[source.categories]
ads = ["productivity/advertisements"]
drugs = ["drugs"]

[[source]]
name = "local"
format = "plain"
path = "local.txt"
category = ["games"]
"#,
            feed = self.server.url("/feed.txt"),
            ut1 = self.server.url("/ut1.tar.gz"),
            bl = self.server.url("/bl/{list}.txt"),
            extra = self.feed_extra,
        );
        std::fs::write(self.path("sources.toml"), manifest).expect("manifest");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn index(&self) -> PathBuf {
        self.path("hedge.hidx")
    }

    fn update(&self, extra: &[&str]) -> Output {
        Command::new(hedge_bin())
            .args(["lists", "update", "--sources"])
            .arg(self.path("sources.toml"))
            .arg("--cache")
            .arg(self.path("cache"))
            .arg("--out")
            .arg(self.index())
            .args(["--stats-db", "-"])
            .args(extra)
            // No retries unless a test asks: each failure case fails at once.
            .args(if extra.contains(&"--retries") {
                &[][..]
            } else {
                &["--retries", "0"][..]
            })
            .env("HEDGE_LOG", "warn")
            .output()
            .expect("run hedge")
    }

    /// The first update, which must succeed.
    fn updated(self) -> Fixture {
        let o = self.update(&[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        self
    }

    /// Categories of a name in the index, as `hedge lookup` prints them.
    fn lookup(&self, name: &str) -> String {
        let o = Command::new(hedge_bin())
            .args(["lookup", "--format", "tsv", "--index"])
            .arg(self.index())
            .arg(name)
            .output()
            .expect("run hedge lookup");
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Every file of the cache with its bytes (the lock and state included).
    fn cache_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.path("cache"), &mut out);
        out.sort();
        out
    }

    /// Runs an update that must fail: exit 1, a message with each of `needles`, and the
    /// index and the cache as they were, byte for byte.
    fn refused(&self, extra: &[&str], needles: &[&str]) -> String {
        let index = std::fs::read(self.index()).expect("the previous index");
        let cache = self.cache_files();
        let o = self.update(extra);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        for needle in needles {
            assert!(t.contains(needle), "expected {needle:?} in:\n{t}");
        }
        assert!(t.contains("cached copies are unchanged"), "{t}");
        assert_eq!(
            std::fs::read(self.index()).expect("index"),
            index,
            "the index must stay byte-identical"
        );
        assert_eq!(self.cache_files(), cache, "the cache must stay as it was");
        t
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            walk(&path, out);
        } else {
            let bytes = if kind.is_symlink() {
                b"<symlink>".to_vec()
            } else {
                std::fs::read(&path).expect("read")
            };
            out.push((path, bytes));
        }
    }
}

#[test]
fn first_update_builds_an_index_that_serves_the_downloaded_names() {
    let fx = Fixture::new();
    assert!(!fx.index().exists());
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("updated"), "{t}");
    assert!(t.contains("no index before"), "{t}");
    assert!(
        t.contains("skipped 1 links (blacklists/jeux -> gambling)"),
        "{t}"
    );
    assert!(fx.lookup("www.bet.example").contains("gambling"));
    assert!(fx.lookup("feed.example").contains("gambling"));
    assert!(
        fx.lookup("adult.example")
            .contains("adult-material/adult-content")
    );
    assert!(fx.lookup("pills.example").contains("drugs"));
    assert!(
        fx.lookup("ads.example")
            .contains("productivity/advertisements")
    );
    assert!(fx.lookup("local.example").contains("games"));
    // The alias link was not created in the cache.
    assert!(
        fx.cache_files()
            .iter()
            .all(|(p, b)| !p.ends_with("jeux") && b != b"<symlink>")
    );
}

#[test]
fn a_second_update_sends_the_etags_and_changes_nothing_on_304() {
    let fx = Fixture::new().updated();
    let index = std::fs::read(fx.index()).expect("index");
    let modified = std::fs::metadata(fx.index())
        .and_then(|m| m.modified())
        .expect("mtime");
    fx.server.forget();
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("unchanged"), "{t}");
    assert!(!t.contains("updated"), "{t}");
    let seen = fx.server.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for s in &seen {
        assert_eq!(s.status, 304, "{s:?}");
        assert!(s.if_none_match.is_some(), "{s:?}");
    }
    assert_eq!(std::fs::read(fx.index()).expect("index"), index);
    assert_eq!(
        std::fs::metadata(fx.index())
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified,
        "the index must not be rewritten"
    );
}

#[test]
fn a_changed_upstream_file_is_downloaded_and_the_index_updated() {
    let fx = Fixture::new().updated();
    assert!(!fx.lookup("new.example").contains("gambling"));
    fx.server
        .route("/feed.txt", file(b"feed.example\nnew.example\n", "f2"));
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("updated"), "{t}");
    assert!(t.contains("feed: 2 names, +1 (was 1)"), "{t}");
    assert!(t.contains("ut1: not modified"), "{t}");
    assert!(fx.lookup("new.example").contains("gambling"));
    // The directory of lists: one list changes, the other is linked in from the cache.
    fx.server.route(
        "/bl/ads.txt",
        file(b"0.0.0.0 ads.example\n0.0.0.0 more-ads.example\n", "a2"),
    );
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("in 1 of 2 lists (1 not modified)"), "{t}");
    assert!(fx.lookup("more-ads.example").contains("advertisements"));
    assert!(fx.lookup("pills.example").contains("drugs"));
    // A cached copy lost: it is downloaded again, not validated against its old ETag.
    std::fs::remove_file(fx.path("cache/bl/drugs")).expect("remove a cached list");
    fx.server.forget();
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("bl: downloaded 22 bytes in 1 of 2 lists (1 not modified)"),
        "{t}"
    );
    let drugs: Vec<_> = fx
        .server
        .seen()
        .into_iter()
        .filter(|s| s.path == "/bl/drugs.txt")
        .collect();
    assert_eq!(drugs.len(), 1);
    assert_eq!(drugs[0].if_none_match, None);
    assert!(fx.lookup("pills.example").contains("drugs"));
}

#[test]
fn a_server_error_is_retried_and_then_succeeds() {
    let fx = Fixture::new();
    fx.server.route(
        "/feed.txt",
        Route::FailFirst {
            failures: 1,
            status: 500,
            then: Box::new(file(b"feed.example\n", "f1")),
        },
    );
    let o = fx.update(&["--retries", "2"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("HTTP 500 Internal Server Error; retrying in 2 s"),
        "{t}"
    );
    let feed: Vec<u16> = fx
        .server
        .seen()
        .iter()
        .filter(|s| s.path == "/feed.txt")
        .map(|s| s.status)
        .collect();
    assert_eq!(feed, [500, 200]);
    assert!(fx.lookup("feed.example").contains("gambling"));
}

#[test]
fn a_missing_file_fails_without_retrying_and_keeps_the_index() {
    let fx = Fixture::new().updated();
    fx.server.route("/feed.txt", Route::Status(404));
    fx.server.forget();
    fx.refused(
        &["--retries", "3"],
        &["feed: failed", "HTTP 404 Not Found", "/feed.txt"],
    );
    let tries = fx
        .server
        .seen()
        .iter()
        .filter(|s| s.path == "/feed.txt")
        .count();
    assert_eq!(tries, 1, "a 404 is not retried");
    assert!(fx.lookup("feed.example").contains("gambling"));
}

#[test]
fn bodies_over_the_size_cap_are_refused() {
    let fx = Fixture::new().updated();
    fx.server.route("/feed.txt", Route::Declared(10 << 30));
    fx.refused(
        &[],
        &[
            "feed: failed",
            "larger than the",
            "announced 10737418240 bytes",
        ],
    );
    fx.server.route("/feed.txt", Route::Endless);
    fx.refused(
        &["--max-size", "1000000"],
        &["feed: failed", "larger than the 1000000-byte cap"],
    );
}

#[test]
fn a_server_that_stops_sending_hits_the_stall_limit() {
    let fx = Fixture::new().updated();
    fx.server.route("/feed.txt", Route::Stall);
    fx.refused(
        &["--stall-timeout", "1"],
        &["feed: failed", "no data for 1 s"],
    );
}

#[test]
fn a_body_that_never_ends_hits_the_time_limit() {
    let fx = Fixture::new().updated();
    fx.server.route("/feed.txt", Route::Trickle);
    fx.refused(
        &["--timeout", "2", "--stall-timeout", "1"],
        &["feed: failed", "not complete after 2 s"],
    );
}

#[test]
fn a_download_that_does_not_match_its_pin_is_refused() {
    let mut fx = Fixture::new().updated();
    fx.feed_extra = format!("sha256 = \"{}\"", "0".repeat(64));
    fx.write_manifest();
    // The pin is checked on a 200: let the server send the file again.
    fx.server.route("/feed.txt", file(b"feed.example\n", "f9"));
    fx.refused(&[], &["feed: failed", "does not match the pin 0000"]);
}

#[test]
fn a_tar_entry_that_escapes_the_folder_is_refused() {
    let fx = Fixture::new().updated();
    let evil = tar_gz(&[
        ("blacklists/gambling/domains", Entry::File(b"bet.example\n")),
        ("../../escaped", Entry::File(b"gotcha\n")),
    ]);
    fx.server.route(
        "/ut1.tar.gz",
        Route::File {
            body: evil,
            etag: "\"evil\"".into(),
            content_type: "application/gzip",
        },
    );
    fx.refused(&[], &["ut1: failed", "../../escaped", "escape the folder"]);
    assert!(!fx.dir.path().join("escaped").exists());
    assert!(
        !fx.dir
            .path()
            .parent()
            .expect("parent")
            .join("escaped")
            .exists()
    );
}

#[test]
fn hostile_archive_members_are_refused() {
    let fx = Fixture::new().updated();
    let serve = |body| {
        fx.server.route(
            "/ut1.tar.gz",
            Route::File {
                body,
                etag: "\"evil\"".into(),
                content_type: "application/gzip",
            },
        );
    };
    serve(tar_gz(&[("blacklists/null", Entry::CharDevice)]));
    fx.refused(&[], &["ut1: failed", "blacklists/null", "character device"]);

    serve(tar_gz(&[(
        "blacklists/gambling/domains",
        Entry::Zeros(300_000),
    )]));
    fx.refused(
        &["--max-size", "200000"],
        &[
            "ut1: failed",
            "member of 300000 bytes, over the 200000-byte cap",
        ],
    );

    // A gzip bomb: a few KiB that unpack to 12 MB, each member under the member cap.
    serve(tar_gz(&[
        ("blacklists/a/domains", Entry::Zeros(6_000_000)),
        ("blacklists/b/domains", Entry::Zeros(6_000_000)),
    ]));
    fx.refused(
        &["--max-unpacked", "10000000"],
        &[
            "ut1: failed",
            "unpacks to more than 10000000 bytes (a gzip bomb?)",
        ],
    );

    // A link out of the folder is skipped, never created.
    serve(tar_gz(&[
        ("blacklists/gambling/domains", Entry::File(b"bet.example\n")),
        ("blacklists/adult/domains", Entry::File(b"adult.example\n")),
        (
            "blacklists/passwd",
            Entry::Symlink("../../../../etc/passwd"),
        ),
    ]));
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("blacklists/passwd -> ../../../../etc/passwd"),
        "{t}"
    );
    assert!(fx.cache_files().iter().all(|(p, _)| !p.ends_with("passwd")));
}

#[test]
fn an_html_page_served_for_a_list_is_refused() {
    let fx = Fixture::new().updated();
    let page = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>\n";
    fx.server.route(
        "/feed.txt",
        Route::File {
            body: page.to_vec(),
            etag: "\"login\"".into(),
            content_type: "text/html; charset=utf-8",
        },
    );
    fx.refused(
        &[],
        &[
            "feed: failed",
            "served `text/html; charset=utf-8`, a web page",
        ],
    );
    // Served as text: the compile's empty-source check catches it.
    fx.server.route("/feed.txt", file(page, "login2"));
    fx.refused(&[], &["the compile failed", "source `feed`: no names"]);
}

#[test]
fn a_redirect_to_another_scheme_is_refused() {
    let fx = Fixture::new().updated();
    let to = format!("https://{}/feed.txt", fx.server.addr);
    fx.server.route("/feed.txt", Route::Redirect(to.clone()));
    fx.refused(
        &[],
        &[
            "feed: failed",
            &format!("redirected to {to}, another scheme"),
        ],
    );
    // The same scheme is followed.
    fx.server
        .route("/moved.txt", file(b"feed.example\nmoved.example\n", "m1"));
    fx.server
        .route("/feed.txt", Route::Redirect(fx.server.url("/moved.txt")));
    let o = fx.update(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(fx.lookup("moved.example").contains("gambling"));
}

#[test]
fn on_a_fresh_clone_compile_names_the_url_and_lists_update() {
    // The repository manifest away from the data snapshot its `path`s point at.
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("sources.toml");
    std::fs::copy(repo().join("lists/sources.toml"), &manifest).expect("copy manifest");
    let o = lists_compile(&manifest, &dir.path().join("hedge.hidx"), &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("source `ut1` has no local copy at ")
            && t.contains(
                "shared/data/ut1: run `hedge lists update` to download \
                 https://dsi.ut-capitole.fr/blacklists/download/blacklists.tar.gz"
            ),
        "{t}"
    );
    assert!(!dir.path().join("hedge.hidx").exists());
}

#[test]
fn download_keys_are_checked_when_the_manifest_is_read() {
    let fx = Fixture::new();
    let cases = [
        (
            "url = \"https://example.org/lists/\"\n[source.categories]\nads = [\"productivity/advertisements\"]",
            "write `{list}` in `url`",
        ),
        (
            "url = \"https://example.org/a.txt\"\nsha256 = \"abc\"\ncategory = [\"gambling\"]",
            "`sha256` \"abc\" is not 64 hex digits",
        ),
        (
            "url = \"ftp://example.org/a.txt\"\ncategory = [\"gambling\"]",
            "must start with https://",
        ),
    ];
    for (keys, needle) in cases {
        let manifest = format!("[[source]]\nname = \"x\"\nformat = \"hosts\"\n{keys}\n");
        std::fs::write(fx.path("bad.toml"), manifest).expect("manifest");
        let o = Command::new(hedge_bin())
            .args(["lists", "update", "--sources"])
            .arg(fx.path("bad.toml"))
            .arg("--out")
            .arg(fx.index())
            .output()
            .expect("run hedge");
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(
            t.contains("bad.toml: source `x`:") && t.contains(needle),
            "{t}"
        );
        assert!(fx.server.seen().is_empty(), "nothing is downloaded");
    }
}

/// `Key=value` lines of a systemd unit, comments and continuations left out.
fn unit_keys(path: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(repo().join(path))
        .expect("unit file")
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.starts_with('#') && !k.starts_with(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_update_unit_is_hardened_like_the_server_and_runs_daily() {
    let server = unit_keys("deploy/hedge.service");
    let update = unit_keys("deploy/hedge-lists.service");
    // What hedge.service needs and the update does not: port 53, a resolver's limits.
    let server_only = [
        "AmbientCapabilities",
        "CapabilityBoundingSet",
        "ExecStartPre",
        "ExecStart",
        "ExecReload",
        "Restart",
        "RestartSec",
        "Type",
        "LimitNOFILE",
        "MemoryMax",
        "Description",
        "Documentation",
        "WantedBy",
    ];
    for (key, value) in &server {
        if server_only.contains(&key.as_str()) {
            continue;
        }
        assert!(
            update.contains(&(key.clone(), value.clone())),
            "deploy/hedge-lists.service lacks {key}={value}"
        );
    }
    assert!(update.contains(&("CapabilityBoundingSet".into(), String::new())));
    assert!(update.contains(&("User".into(), "hedge".into())));
    let exec = std::fs::read_to_string(repo().join("deploy/hedge-lists.service")).expect("unit");
    assert!(exec.contains("ExecStart=/usr/bin/hedge lists update --sources"));
    let timer = unit_keys("deploy/hedge-lists.timer");
    assert!(timer.contains(&("OnCalendar".into(), "daily".into())));
    assert!(timer.iter().any(|(k, _)| k == "RandomizedDelaySec"));
}

#[test]
fn https_downloads_trust_the_given_ca_and_refuse_a_redirect_to_http() {
    let fx = Fixture::new().updated();
    let ca = hedge_testkit::tls::TestCa::new("hedge lists update test CA").expect("CA");
    let tls = Server::start_tls(&ca);
    tls.route("/feed.txt", file(b"feed.example\nsecure.example\n", "s1"));
    let manifest = std::fs::read_to_string(fx.path("sources.toml")).expect("manifest");
    let manifest = manifest.replace(&fx.server.url("/feed.txt"), &tls.url("/feed.txt"));
    std::fs::write(fx.path("sources.toml"), manifest).expect("manifest");
    std::fs::write(fx.path("ca.pem"), ca.pem()).expect("CA file");

    // Only the webpki roots are trusted unless told otherwise.
    fx.refused(&[], &["feed: failed", "https://127.0.0.1", "certificate"]);

    let ca_arg = fx.path("ca.pem").to_string_lossy().into_owned();
    let o = fx.update(&["--ca-cert", &ca_arg]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(fx.lookup("secure.example").contains("gambling"));

    let plain = fx.server.url("/feed.txt");
    tls.route("/feed.txt", Route::Redirect(plain.clone()));
    fx.refused(
        &["--ca-cert", &ca_arg],
        &[
            "feed: failed",
            &format!("redirected to {plain}, another scheme"),
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_picks_up_the_updated_index() {
    let net = FakeInternet::start_for_test().await;
    let fx = tokio::task::spawn_blocking(|| Fixture::new().updated())
        .await
        .expect("first update");
    let (l, addr) = listener("p", "127.0.0.0/8");
    let hedge = Hedge::start(&format!(
        "index = \"{}\"\n[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n{l}\n{}",
        fx.index().display(),
        recursive_upstream(&net, 3000)
    ));
    let a = hickory_proto::rr::RecordType::A;
    assert_eq!(ips(&udp(addr, "www.feed.example.", a).await), ["0.0.0.0"]);
    assert_ne!(ips(&udp(addr, "www.fresh.example.", a).await), ["0.0.0.0"]);

    fx.server
        .route("/feed.txt", file(b"feed.example\nfresh.example\n", "f2"));
    tokio::time::sleep(Duration::from_millis(1100)).await; // a distinct mtime
    let (fx, o) = tokio::task::spawn_blocking(move || {
        let o = fx.update(&[]);
        (fx, o)
    })
    .await
    .expect("second update");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        hedge.wait_log("reloaded (index file changed)", Duration::from_secs(6)),
        "{}",
        hedge.log()
    );
    assert_eq!(ips(&udp(addr, "www.fresh.example.", a).await), ["0.0.0.0"]);
    drop(fx);
}

#[test]
fn one_update_at_a_time_and_a_stale_lock_is_taken_over() {
    let fx = Fixture::new().updated();
    let lock = fx.path("cache/.lock");
    // A live process holds the cache: this test's own pid.
    std::fs::write(&lock, format!("{}\n", std::process::id())).expect("lock");
    let index = std::fs::read(fx.index()).expect("index");
    let o = fx.update(&[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "another `hedge lists update` (pid {})",
            std::process::id()
        )),
        "{t}"
    );
    assert_eq!(std::fs::read(fx.index()).expect("index"), index);
    assert!(lock.exists(), "someone else's lock stays");
    // A lock whose process is gone (pids stop well below this) is taken over and released.
    std::fs::write(&lock, "4294967295\n").expect("lock");
    let o = fx.update(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!lock.exists());
}

#[test]
fn the_history_records_each_sources_etag_and_digest() {
    use sha2::Digest;
    let fx = Fixture::new().updated();
    fx.server
        .route("/feed.txt", file(b"feed.example\nmore.example\n", "f2"));
    let o = fx.update(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let h = Command::new(hedge_bin())
        .args(["lists", "history", "--format", "json", "--out"])
        .arg(fx.index())
        .output()
        .expect("run hedge lists history");
    assert!(h.status.success(), "{}", text(&h));
    let records: serde_json::Value = serde_json::from_slice(&h.stdout).expect("json");
    let records = records.as_array().expect("a list of records");
    assert_eq!(records.len(), 2, "{records:?}");
    let files = |record: &serde_json::Value, source: &str| -> Vec<serde_json::Value> {
        let sources = record["sources"].as_array().expect("sources");
        let s = sources.iter().find(|s| s["name"] == source).expect(source);
        s["files"].as_array().expect("files").clone()
    };
    // Newest first: this run's feed, and the copies the 304s kept with their first ETags.
    let feed = &files(&records[0], "feed")[0];
    assert_eq!(feed["etag"], "\"f2\"");
    assert_eq!(feed["location"], fx.server.url("/feed.txt"));
    let digest = format!(
        "{:x}",
        sha2::Sha256::digest(b"feed.example\nmore.example\n")
    );
    assert_eq!(feed["sha256"], digest.as_str());
    assert_eq!(files(&records[1], "feed")[0]["etag"], "\"f1\"");
    let bl = files(&records[0], "bl");
    let bl: Vec<&str> = bl
        .iter()
        .map(|f| f["etag"].as_str().expect("etag"))
        .collect();
    assert_eq!(bl, ["\"a1\"", "\"d1\""]);
    assert_eq!(files(&records[0], "ut1")[0]["etag"], "\"u1\"");
    assert!(files(&records[0], "local")[0]["modified"].is_string());
}
