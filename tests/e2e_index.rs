//! End-to-end: nothing done to the served index file on disk (truncated or overwritten in
//! place, deleted) reaches the running server. Each change is verified, rejected with the
//! reason in the log, and the index it verified keeps answering; a valid file copied in
//! place afterwards is picked up.
//!
//! Only blocked names are asked, answered from the index alone: the upstream is a port
//! nobody listens on, so the test needs no fake internet and runs as any user.

mod support;

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::rr::RecordType;
use support::*;

/// Compiles `names` (category gambling) into `out`; a few thousand names make the file span
/// many pages, so a lookup reads past any early offset it is cut to.
fn compile(dir: &Path, out: &Path, names: &[String]) {
    let list = names.join("\n");
    let o = compile_one_source(dir, "plain", list.as_bytes(), out, &["--stats-db", "-"]);
    assert!(o.status.success(), "{}", text(&o));
}

fn listed(prefix: &str) -> Vec<String> {
    (0..4000).map(|i| format!("{prefix}{i}.example")).collect()
}

/// Waits for the `n`-th rejected reload and returns the log.
fn rejected(hedge: &Hedge, n: usize) -> String {
    let needle = "reload (index file changed) failed";
    assert!(
        hedge.wait_log_count(needle, n, Duration::from_secs(6)),
        "no rejected reload #{n}:\n{}",
        hedge.log()
    );
    hedge.log()
}

/// Asks for `name` (never asked before: a cached answer would not read the index) and
/// checks it is blocked and hedge still runs.
async fn assert_blocked(hedge: &mut Hedge, addr: std::net::SocketAddr, name: &str, after: &str) {
    let status = hedge.child.try_wait().expect("try_wait");
    assert!(
        status.is_none(),
        "hedge died after {after}: {status:?}\n{}",
        hedge.log()
    );
    let reply = hedge_testkit::client::query_udp(addr, name, RecordType::A).await;
    let status = hedge.child.try_wait().expect("try_wait");
    assert!(
        status.is_none(),
        "hedge died on the first query after {after}: {status:?}\n{}",
        hedge.log()
    );
    let reply = reply.unwrap_or_else(|e| panic!("no answer for {name} after {after}: {e}"));
    assert_eq!(ips(&reply), vec!["0.0.0.0"], "{name} after {after}");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_to_the_served_index_file_never_reach_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index: PathBuf = dir.path().join("index.hidx");
    compile(dir.path(), &index, &listed("first"));
    let (l, addr) = listener("p", "127.0.0.0/8");
    let config = dir.path().join("hedge.toml");
    std::fs::write(
        &config,
        format!(
            "index = \"index.hidx\"\n[[profile]]\nname = \"p\"\nblock = [\"gambling\"]\n{l}\n\
             [upstream]\nmode = \"forward\"\ntimeout_ms = 500\n\
             servers = [{{ address = \"127.0.0.1\", port = {}, protocol = \"udp\" }}]\n",
            free_port()
        ),
    )
    .expect("config");
    let mut hedge = Hedge::start_at(dir, config);
    // A listed name not asked before, for each check.
    let mut asked = 0;
    let mut next = || {
        asked += 1;
        format!("www.first{}.example.", 4000 - asked)
    };
    assert_blocked(&mut hedge, addr, &next(), "start").await;
    let len = std::fs::metadata(&index).expect("index").len();
    let path = index.display().to_string();

    // Truncated in place, as `truncate -s` or the first step of `cp new.hidx index.hidx`.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .expect("open");
    file.set_len(100).expect("truncate");
    drop(file);
    assert_blocked(&mut hedge, addr, &next(), "truncating the file").await;
    let log = rejected(&hedge, 1);
    assert!(
        log.contains(&format!("{path}: file is 100 bytes")),
        "the log names the file and why:\n{log}"
    );
    assert_blocked(&mut hedge, addr, &next(), "the truncated file was rejected").await;

    // Overwritten in place with garbage of the original length.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .expect("open");
    file.seek(SeekFrom::Start(0)).expect("seek");
    file.write_all(&vec![0xA5; len as usize])
        .expect("overwrite");
    drop(file);
    assert_blocked(&mut hedge, addr, &next(), "overwriting the file").await;
    let log = rejected(&hedge, 2);
    assert!(
        log.contains(&format!("{path}: not a hedge index file")),
        "the log names the file and why:\n{log}"
    );
    assert_blocked(
        &mut hedge,
        addr,
        &next(),
        "the overwritten file was rejected",
    )
    .await;

    // Deleted.
    std::fs::remove_file(&index).expect("delete");
    let log = rejected(&hedge, 3);
    assert!(
        log.contains(&path) && log.contains("No such file"),
        "the log names the file and why:\n{log}"
    );
    assert_blocked(&mut hedge, addr, &next(), "deleting the file").await;

    // A valid new index copied into place is verified and served.
    let staging = tempfile::tempdir().expect("tempdir");
    let new = staging.path().join("new.hidx");
    compile(staging.path(), &new, &listed("second"));
    std::fs::copy(&new, &index).expect("copy");
    assert!(
        hedge.wait_log("reloaded (index file changed)", Duration::from_secs(6)),
        "{}",
        hedge.log()
    );
    assert_blocked(
        &mut hedge,
        addr,
        "www.second17.example.",
        "copying a new index",
    )
    .await;
    let reply = udp(addr, &next(), RecordType::A).await;
    assert_ne!(ips(&reply), vec!["0.0.0.0"], "the old index is gone");
}
