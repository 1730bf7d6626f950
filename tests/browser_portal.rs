//! End-to-end in a real browser (headless Chromium, tests/support/browser.rs): a patron on a
//! redirect profile opens a blocked site and meets `hedge serve`'s portal.
//!
//! Chromium finds the portal as a patron's browser does: the test asks hedge's DNS listener
//! for the blocked name and maps the name to the address hedge answered (the portal's), so
//! the page is reached through hedge's own redirect, on port 80 like a typed address.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Mutex;

use browser::{Browser, HostMap};
use fantoccini::key::Key;
use hickory_proto::rr::RecordType;
use support::*;

/// A site in the starter lists' `gambling` category ("Gambling").
const BLOCKED: &str = "www.bet365.com";
/// A deep link, as a patron follows one: the block page answers any path.
const DEEP: &str = "/en/sports?bet=1";
/// The portal's own name (`[portal] portal_name`).
const PORTAL_NAME: &str = "portal.library";

/// An address on loopback whose port 80 is free, not handed out before in this process:
/// each test's portal gets its own, as the block-page address of a real network would be.
fn free_port_80_address() -> Ipv4Addr {
    static HANDED_OUT: Mutex<Vec<Ipv4Addr>> = Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for last in 1..=254 {
        let ip = Ipv4Addr::new(127, 0, 80, last);
        if !handed_out.contains(&ip) && TcpListener::bind((ip, 80)).is_ok() {
            handed_out.push(ip);
            return ip;
        }
    }
    panic!("no free port 80 on 127.0.80.1-254")
}

/// hedge serving one redirect profile (child, blocking gambling) on a DNS listener, with the
/// portal on port 80 of its own loopback address.
struct Setup {
    hedge: Hedge,
    dns: SocketAddr,
    staff: SocketAddr,
    portal: Ipv4Addr,
    _net: FakeInternet,
}

async fn setup() -> Setup {
    let net = FakeInternet::start_for_test().await;
    let portal = free_port_80_address();
    let (listener, dns) = listener("child", "127.0.0.0/8");
    let staff = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = format!(
        r#"
[[profile]]
name = "child"
block = ["gambling"]
action = "redirect"
redirect_to = ["{portal}"]

{listener}
[portal]
listen = ["{portal}:80"]
portal_name = "{PORTAL_NAME}"
procedure = "{PROCEDURE}"
staff_listen = ["{staff}"]

{upstream}"#,
        upstream = recursive_upstream(&net, 2000)
    );
    let hedge = Hedge::start(&config);
    assert!(
        hedge.wait_log("portal on http://", std::time::Duration::from_secs(10)),
        "the portal did not start:\n{}",
        hedge.log()
    );
    Setup {
        hedge,
        dns,
        staff,
        portal,
        _net: net,
    }
}

/// Asks hedge's DNS for `name`, as the patron's computer does, and opens a browser that
/// resolves `name` to hedge's answer (and nothing else anywhere).
async fn browser_via_hedge_dns(s: &Setup, name: &str) -> Browser {
    let answer = udp(s.dns, &format!("{name}."), RecordType::A).await;
    let addrs = ips(&answer);
    assert_eq!(
        addrs,
        [s.portal.to_string()],
        "hedge redirects {name} to the portal: {answer:?}\n{}",
        s.hedge.log()
    );
    let addr: IpAddr = addrs[0].parse().expect("an address");
    Browser::start(&[HostMap { name, addr }]).await
}

/// Asks `dns` for the blocked name until its answer passes `now_so`; fails if a second
/// after `change` it still does not.
async fn within_a_second(
    dns: SocketAddr,
    change: &str,
    now_so: impl Fn(&hickory_proto::op::Message) -> bool,
) {
    let started = std::time::Instant::now();
    loop {
        let m = udp(dns, &format!("{BLOCKED}."), RecordType::A).await;
        if now_so(&m) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "a second after {change}, DNS still answers {m:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn patron_sees_the_block_page_with_the_category_and_the_request_form() {
    let s = setup().await;
    let b = browser_via_hedge_dns(&s, BLOCKED).await;
    b.goto(&format!("http://{BLOCKED}{DEEP}")).await;

    assert!(
        b.title().await.starts_with("This site is blocked"),
        "title: {}\n{}",
        b.title().await,
        s.hedge.log()
    );
    let text = b.text().await;
    for shown in [BLOCKED, "Gambling", "child", "Reference"] {
        assert!(text.contains(shown), "the page shows {shown:?}:\n{text}");
    }
    let site = b.field("Site").await;
    assert_eq!(
        b.value(&site).await,
        BLOCKED,
        "the form has the name filled in"
    );
    let contact = b.field("Your email or phone number").await;
    assert_eq!(b.value(&contact).await, "", "the contact starts empty");
    assert!(
        text.contains("optional"),
        "the contact field is marked optional:\n{text}"
    );
    b.field("Why do you need it?").await;

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-block-page.png");
    let png = b.full_page_screenshot(&shot, 800).await;
    let (width, height) = browser::png_size(&png).expect("a PNG");
    assert!(
        width == 800 && height > browser::HEIGHT,
        "the whole page, taller than the window: {width}x{height} at {}",
        shot.display()
    );
    b.close().await;
}

/// The block page's reference code (the `Reference` entry of its facts).
async fn reference(b: &Browser) -> String {
    let dd = b
        .xpath("//dt[normalize-space(.)='Reference']/following-sibling::dd[1]")
        .await;
    b.element_text(&dd).await
}

/// What `[portal] procedure` says; the confirmation page shows it.
const PROCEDURE: &str = "Staff at the desk decide within two working days.";

/// The confirmation page after a sent request: the site, the block page's reference, and
/// the request's number, which it returns.
async fn assert_request_sent(b: &Browser, reference: &str) -> String {
    let title = b.title().await;
    let text = b.text().await;
    assert!(
        b.url().await.ends_with("/request"),
        "the form was sent to /request"
    );
    assert!(
        title.starts_with("Request sent") && text.contains("Your request has been sent"),
        "the confirmation page ({title}):\n{text}"
    );
    for shown in [BLOCKED, reference, PROCEDURE] {
        assert!(text.contains(shown), "it shows {shown:?}:\n{text}");
    }
    let number = b
        .xpath("//dt[normalize-space(.)='Request number']/following-sibling::dd[1]")
        .await;
    b.element_text(&number).await
}

/// `hedge requests <args> --config <hedge's config>`, which must succeed: its output.
const STAFF_PASSWORD: &str = "a long staff password";

/// `hedge staff add NAME --password-stdin`.
fn add_staff(s: &Setup, name: &str, password: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(hedge_bin())
        .args([
            "staff",
            "add",
            name,
            "--password-stdin",
            "--as",
            "admin",
            "--config",
        ])
        .arg(&s.hedge.config)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("run hedge staff add");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("password");
    drop(stdin);
    assert!(
        child.wait().expect("wait").success(),
        "hedge staff add {name}"
    );
}

fn requests(s: &Setup, args: &[&str]) -> String {
    let o = std::process::Command::new(hedge_bin())
        .arg("requests")
        .args(args)
        .arg("--config")
        .arg(&s.hedge.config)
        .env("HEDGE_LOG", "warn")
        .output()
        .expect("run hedge requests");
    assert!(o.status.success(), "hedge requests {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The patron's request goes all the way: sent from the block page, seen by staff, granted
/// for a day on the staff pages, applied to DNS within a second, and exported as granted.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_sent_from_the_block_page_is_granted_and_exported() {
    let s = setup().await;
    let b = browser_via_hedge_dns(&s, BLOCKED).await;
    b.goto(&format!("http://{BLOCKED}/")).await;
    let reference = reference(&b).await;
    assert!(!reference.is_empty(), "the block page has a reference");
    let reason = "A media studies essay on <b>gambling</b> adverts & their \"odds\"";
    b.fill("Why do you need it?", reason).await;
    b.submit("Send request").await;
    let id = assert_request_sent(&b, &reference).await;
    assert!(id.parse::<u64>().is_ok(), "a request number: {id:?}");

    // Staff sign in on the staff pages, see it with the reason as typed, and grant it on
    // the child profile for a day.
    add_staff(&s, "sam", STAFF_PASSWORD);
    // A browser of the staff's own, at the staff listener's loopback address.
    let staff_host = "staff.library";
    let sb = Browser::start(&[HostMap {
        name: staff_host,
        addr: s.staff.ip(),
    }])
    .await;
    let staff = format!("http://{staff_host}:{}", s.staff.port());
    sb.goto(&format!("{staff}/login")).await;
    sb.fill("Name", "sam").await;
    sb.fill("Password", STAFF_PASSWORD).await;
    sb.submit("Sign in").await;
    assert!(
        sb.title().await.starts_with("Open requests"),
        "{}",
        sb.text().await
    );
    let queue = sb.text().await;
    assert!(
        queue.contains(BLOCKED) && queue.contains(reason),
        "the queue shows the request:\n{queue}"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("staff-queue.png");
    let png = sb.full_page_screenshot(&shot, 1000).await;
    assert!(
        browser::png_size(&png).is_some(),
        "a PNG at {}",
        shot.display()
    );
    sb.goto(&format!("{staff}/requests/{id}")).await;
    let tomorrow = jiff::Zoned::now()
        .date()
        .tomorrow()
        .expect("a date")
        .to_string();
    sb.fill("Last day (optional)", &tomorrow).await;
    sb.fill("Note (optional)", "one day for the essay").await;
    sb.submit("Grant").await;
    assert!(
        sb.title().await.starts_with("Open requests"),
        "{}",
        sb.text().await
    );

    // Within a second DNS no longer sends the name to the portal: it resolves as upstream
    // does (the fake internet has no bet365.com: NXDOMAIN, and no block EDE).
    within_a_second(s.dns, "the grant", |m| {
        ips(m).is_empty() && ede(m).is_empty()
    })
    .await;

    // A browser that still remembers the portal's address is told the site is not blocked.
    b.goto(&format!("http://{BLOCKED}/")).await;
    assert!(
        b.title().await.starts_with("Not blocked here"),
        "{}",
        b.text().await
    );

    // Staff revoke the grant on the live list: within a second DNS blocks the name again.
    sb.goto(&format!("{staff}/overrides")).await;
    assert!(
        sb.text().await.contains(BLOCKED),
        "the live list shows the grant:\n{}",
        sb.text().await
    );
    sb.submit("Revoke").await;
    assert!(
        sb.title().await.starts_with("Live grants"),
        "{}",
        sb.text().await
    );
    within_a_second(s.dns, "the revoke", |m| !ede(m).is_empty()).await;

    // The export answers FOI Q6 and Q7: asked for once, granted.
    let month = jiff::Zoned::now().strftime("%Y-%m").to_string();
    let csv = requests(
        &s,
        &[
            "export", "--from", &month, "--to", &month, "--format", "csv",
        ],
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with(&format!("{BLOCKED},gambling,child,1,granted,"))),
        "the export lists the request as granted:\n{csv}"
    );
    sb.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn keyboard_alone_reaches_every_field_then_the_button_and_sends() {
    let s = setup().await;
    let b = browser_via_hedge_dns(&s, BLOCKED).await;
    b.goto(&format!("http://{BLOCKED}/")).await;
    let order = b.tab_order(5).await;
    assert_eq!(
        order,
        [
            "input#name[name=name]",
            "textarea#reason[name=reason]",
            "input#contact[name=contact]",
            "button \"Send request\"",
            "a \"Check whether a site is blocked\"",
        ],
        "Tab goes through the form in reading order"
    );

    // Keyboard only, from the top of the page opened again: the reason, the button, Enter.
    b.goto(&format!("http://{BLOCKED}/")).await;
    let reference = reference(&b).await;
    b.press(&[Key::Tab, Key::Tab]).await;
    b.type_text("Typed without a mouse").await;
    b.press(&[Key::Tab, Key::Tab]).await;
    assert_eq!(b.focused().await, "button \"Send request\"");
    b.press_and_wait(Key::Enter, "Enter on \"Send request\"")
        .await;
    assert_request_sent(&b, &reference).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn anyone_can_ask_the_portal_why_a_name_is_blocked() {
    let s = setup().await;
    // The library's own DNS resolves portal_name to a listen address (hedge does not
    // answer it, docs/portal.md): here, Chromium's map does.
    let b = Browser::start(&[HostMap {
        name: PORTAL_NAME,
        addr: IpAddr::V4(s.portal),
    }])
    .await;
    let home = format!("http://{PORTAL_NAME}/");

    // A pasted address is explained as the block page explains it, form included.
    b.goto(&home).await;
    assert!(
        b.title().await.starts_with("Why is this blocked?"),
        "{}",
        b.text().await
    );
    b.fill("Site address", &format!("https://{BLOCKED}{DEEP}"))
        .await;
    b.submit("Check").await;
    let text = b.text().await;
    assert!(
        text.contains("This site is blocked")
            && text.contains(BLOCKED)
            && text.contains("Gambling"),
        "{text}"
    );
    let site = b.field("Site").await;
    assert_eq!(
        b.value(&site).await,
        BLOCKED,
        "the request form is there too"
    );

    // A name the profile allows.
    b.goto(&home).await;
    b.fill("Site address", "www.example.org").await;
    b.submit("Check").await;
    let text = b.text().await;
    assert!(text.contains("This site is not blocked here"), "{text}");
    assert!(
        b.css_all("form").await.is_empty(),
        "no request form: {text}"
    );

    // Not an address: the same form again, with the problem said and the field marked.
    b.goto(&home).await;
    b.fill("Site address", "not an address!").await;
    b.submit("Check").await;
    let text = b.text().await;
    assert!(text.contains("That is not a site address"), "{text}");
    let field = b.field("Site address").await;
    assert_eq!(
        b.value(&field).await,
        "not an address!",
        "what was typed is kept"
    );
    assert_eq!(
        field.attr("aria-invalid").await.ok().flatten().as_deref(),
        Some("true"),
        "the field is marked invalid for screen readers"
    );
    b.close().await;
}
