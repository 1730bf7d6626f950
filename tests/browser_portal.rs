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
    _net: FakeInternet,
}

async fn setup() -> Setup {
    let net = FakeInternet::start_for_test().await;
    let portal = free_port_80_address();
    let (listener, dns) = listener("child", "127.0.0.0/8");
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

{upstream}"#,
        upstream = recursive_upstream(&net, 2000)
    );
    let hedge = Hedge::start(&config);
    Setup {
        hedge,
        dns,
        _net: net,
    }
}

/// Asks hedge's DNS for `name`, as the patron's computer does, and opens a browser that
/// resolves `name` to hedge's answer (and nothing else anywhere).
async fn browser_via_hedge_dns(s: &Setup, name: &str) -> Browser {
    let answer = udp(s.dns, &format!("{name}."), RecordType::A).await;
    let addrs = ips(&answer);
    assert_eq!(
        addrs.len(),
        1,
        "hedge redirects {name} to the portal: {answer:?}\n{}",
        s.hedge.log()
    );
    let addr: IpAddr = addrs[0].parse().expect("an address");
    Browser::start(&[HostMap { name, addr }]).await
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

/// What the portal answers a sent request today: hedge serve starts the portal without a
/// request store (crates/hedge/src/portal.rs passes None), so the page asks the patron to
/// see staff with the block page's reference. When requests are stored, this becomes the
/// "Your request has been sent" page with its request number.
async fn assert_request_answered(b: &Browser, reference: &str) {
    let title = b.title().await;
    let text = b.text().await;
    assert!(
        b.url().await.ends_with("/request"),
        "the form was sent to /request"
    );
    assert!(
        title.starts_with("Requests are not taken here")
            && text.contains(&format!("give them the reference {reference}")),
        "the answer to a request ({title}) carries the block page's reference {reference}:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn patron_sends_a_request_with_a_reason() {
    let s = setup().await;
    let b = browser_via_hedge_dns(&s, BLOCKED).await;
    b.goto(&format!("http://{BLOCKED}/")).await;
    let reference = reference(&b).await;
    assert!(!reference.is_empty(), "the block page has a reference");
    b.fill(
        "Why do you need it?",
        "A media studies essay on gambling adverts",
    )
    .await;
    b.submit("Send request").await;
    assert_request_answered(&b, &reference).await;
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
    assert_request_answered(&b, &reference).await;
    b.close().await;
}
