//! End to end: a staff decision made with `hedge requests` in another process reaches a
//! running `hedge serve` within a second, on the granted profile only, over UDP and TCP;
//! it survives a restart, and a grant with `--until` ends by itself.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hedge_stats::{NewRequest, SqliteStore};
use jiff::{SignedDuration, Timestamp};
use support::*;

const BLOCKED: &str = "0.0.0.0";

/// `secs` seconds from now: a deadline for [`until_answer`].
fn within(secs: i64) -> Timestamp {
    Timestamp::now() + SignedDuration::from_secs(secs)
}

/// `hedge requests <args> --config <config> --as sam`, which must succeed.
fn requests(config: &Path, args: &[&str]) {
    let o = Command::new(hedge_bin())
        .arg("requests")
        .args(args)
        .arg("--config")
        .arg(config)
        .args(["--as", "sam"])
        .output()
        .expect("run hedge requests");
    assert!(o.status.success(), "hedge requests {args:?}: {}", text(&o));
}

fn submit(db: &Path) -> i64 {
    SqliteStore::open(db)
        .expect("store")
        .submit_request(
            &NewRequest {
                name: "example.com".into(),
                category: Some("games".into()),
                profile: "child".into(),
                reason: "a school project".into(),
                contact: None,
            },
            Timestamp::now(),
        )
        .expect("submit")
        .id
}

/// A folder with index.hidx, whose `games` category holds example.com.
fn games_index() -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("games.txt"), "example.com\n").expect("list");
    std::fs::write(
        data.path().join("games.toml"),
        "[[source]]\nname = \"games\"\nformat = \"plain\"\npath = \"games.txt\"\ncategory = [\"games\"]\n",
    )
    .expect("manifest");
    let o = lists_compile(
        &data.path().join("games.toml"),
        &data.path().join("index.hidx"),
        &["--stats-db", "-"],
    );
    assert!(o.status.success(), "{}", text(&o));
    data
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_from_the_command_line_applies_live_survives_a_restart_and_expires() {
    let net = FakeInternet::start_for_test().await;
    // The configuration, index and store outlive each `hedge serve`.
    let data = games_index();
    let (l1, child) = listener("child", "127.0.0.0/8");
    let (l2, teen) = listener("teen", "127.0.0.0/8");
    let config = data.path().join("hedge.toml");
    std::fs::write(
        &config,
        format!(
            "index = \"index.hidx\"\n\
             [[profile]]\nname = \"child\"\nblock = [\"games\"]\n\
             [[profile]]\nname = \"teen\"\nblock = [\"games\"]\n\
             {l1}\n{l2}\n[stats]\npath = \"stats.sqlite\"\n{}",
            recursive_upstream(&net, 3000)
        ),
    )
    .expect("config");
    let db = data.path().join("stats.sqlite");
    let start = || Hedge::start_at(tempfile::tempdir().expect("tempdir"), config.clone());

    let hedge = start();
    let allowed = names::WWW_EXAMPLE_COM_A.to_string();
    assert_eq!(example_answers(child).await, [[BLOCKED], [BLOCKED]]);
    assert_eq!(example_answers(teen).await, [[BLOCKED], [BLOCKED]]);

    // Granted for child, from another process: allowed within a second, teen still blocked.
    let id = submit(&db);
    requests(&config, &["grant", &id.to_string(), "--profile", "child"]);
    let granted_at = Instant::now();
    until_answer(child, &allowed, within(5)).await;
    let took = granted_at.elapsed();
    assert!(took < Duration::from_secs(1), "the grant took {took:?}");
    assert_eq!(example_answers(teen).await, [[BLOCKED], [BLOCKED]]);
    assert!(
        hedge.wait_log("staff decisions in force: 1 grant,", Duration::from_secs(1)),
        "{}",
        hedge.log()
    );
    assert!(
        !hedge.log().contains("reloaded"),
        "no reload: {}",
        hedge.log()
    );

    // A restart keeps it, from the first query on.
    drop(hedge);
    let hedge = start();
    assert_eq!(
        example_answers(child).await,
        [[allowed.as_str()], [allowed.as_str()]]
    );
    assert_eq!(example_answers(teen).await, [[BLOCKED], [BLOCKED]]);

    // A grant for teen that ends two seconds from now: allowed, then blocked again by itself
    // (and not before its time).
    let id = {
        let mut store = SqliteStore::open(&db).expect("store");
        let r = NewRequest {
            name: "example.com".into(),
            category: None,
            profile: "teen".into(),
            reason: String::new(),
            contact: None,
        };
        store
            .submit_request(&r, Timestamp::now())
            .expect("submit")
            .id
    };
    let ends = (Timestamp::now() + SignedDuration::from_secs(2))
        .round(jiff::Unit::Second)
        .expect("round");
    requests(
        &config,
        &[
            "grant",
            &id.to_string(),
            "--profile",
            "teen",
            "--until",
            &ends.to_string(),
        ],
    );
    until_answer(teen, &allowed, within(2)).await;
    until_answer(teen, BLOCKED, within(6)).await;
    assert!(Timestamp::now() >= ends, "blocked again before {ends}");
    assert_eq!(
        example_answers(child).await,
        [[allowed.as_str()], [allowed.as_str()]]
    );

    // A local recategorisation out of games allows it everywhere; revoking it blocks again.
    requests(
        &config,
        &[
            "recategorise",
            "example.com",
            "--category",
            "games",
            "--remove",
        ],
    );
    until_answer(teen, &allowed, within(1)).await;
    requests(
        &config,
        &[
            "recategorise",
            "example.com",
            "--category",
            "games",
            "--clear",
        ],
    );
    until_answer(teen, BLOCKED, within(1)).await;
    drop(hedge);
}

/// The CSRF token in a staff page's forms.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let len = page[at..].find('"').expect("the value's end");
    page[at..at + len].to_owned()
}

/// The `name=value` of the cookie an answer sets.
fn cookie_of(resp: &reqwest::Response) -> String {
    resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_and_a_revoke_on_the_staff_pages_apply_to_dns_within_a_second() {
    let net = FakeInternet::start_for_test().await;
    let data = games_index();
    let (l1, child) = listener("child", "127.0.0.0/8");
    let staff_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = data.path().join("hedge.toml");
    std::fs::write(
        &config,
        format!(
            "index = \"index.hidx\"\n\
             [[profile]]\nname = \"child\"\nblock = [\"games\"]\n\
             {l1}\n[stats]\npath = \"stats.sqlite\"\n{}\n\
             [portal]\nstaff_listen = [\"{staff_addr}\"]\n",
            recursive_upstream(&net, 3000)
        ),
    )
    .expect("config");
    // The account, from the command line.
    let mut add = Command::new(hedge_bin())
        .args(["staff", "add", "sam", "--password-stdin", "--config"])
        .arg(&config)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("hedge staff add");
    std::io::Write::write_all(
        &mut add.stdin.take().expect("stdin"),
        b"a long staff password\n",
    )
    .expect("password");
    assert!(add.wait().expect("wait").success());

    let hedge = Hedge::start_at(tempfile::tempdir().expect("tempdir"), config.clone());
    assert!(
        hedge.wait_log("staff pages on http://", Duration::from_secs(10)),
        "{}",
        hedge.log()
    );
    assert_eq!(example_answers(child).await, [[BLOCKED], [BLOCKED]]);
    let id = submit(&data.path().join("stats.sqlite"));

    let web = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = format!("http://{staff_addr}");
    // The login form's token and its pre-session cookie.
    let form = web.get(format!("{base}/login")).send().await.expect("form");
    let pre = cookie_of(&form);
    let token = csrf_of(&form.text().await.expect("body"));
    let login = web
        .post(format!("{base}/login"))
        .header("cookie", pre)
        .form(&[
            ("name", "sam"),
            ("password", "a long staff password"),
            ("csrf", &token),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 303);
    let cookie = cookie_of(&login);
    let page = |path: &'static str| {
        let get = web.get(format!("{base}{path}")).header("cookie", &cookie);
        async move {
            let resp = get.send().await.expect("GET a staff page");
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            resp.text().await.expect("body")
        }
    };
    let queue = page("/").await;
    assert!(queue.contains("example.com"), "{queue}");
    let tomorrow = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::system())
        .date()
        .tomorrow()
        .expect("date")
        .to_string();
    let granted = web
        .post(format!("{base}/requests/{id}/grant"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf_of(&queue).as_str()),
            ("profile", "child"),
            ("until", tomorrow.as_str()),
        ])
        .send()
        .await
        .expect("grant");
    assert_eq!(granted.status().as_u16(), 303);
    let allowed = names::WWW_EXAMPLE_COM_A.to_string();
    let granted_at = Instant::now();
    until_answer(child, &allowed, within(5)).await;
    let took = granted_at.elapsed();
    assert!(took < Duration::from_secs(1), "the grant took {took:?}");

    // Revoked on the live list: blocked again within a second, and in the audit log.
    let live = page("/overrides").await;
    let at = live.find("action=\"/grants/").expect("a revoke form") + 16;
    let grant = &live[at..at + live[at..].find('/').expect("the id's end")];
    let revoke = format!("{base}/grants/{grant}/revoke");
    let forged = web
        .post(&revoke)
        .header("cookie", &cookie)
        .form(&[("note", "no csrf")])
        .send()
        .await
        .expect("revoke without csrf");
    assert_eq!(forged.status().as_u16(), 403);
    let revoked = web
        .post(&revoke)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&live).as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status().as_u16(), 303);
    let revoked_at = Instant::now();
    until_answer(child, BLOCKED, within(5)).await;
    let took = revoked_at.elapsed();
    assert!(took < Duration::from_secs(1), "the revoke took {took:?}");
    let audit = page("/audit").await;
    assert!(
        audit.contains(&format!(
            "<td>sam</td><td>revoke</td><td>grant #{grant}</td>"
        )),
        "{audit}"
    );
}
