//! The browser harness (tests/support/browser.rs) proven on a page the test serves itself:
//! a real headless Chromium opens it by name, fills labelled fields, submits the form
//! (no JavaScript on the page), reads the answer, moves through it by keyboard, and can
//! reach no name the test did not map.

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};

use browser::{Browser, HostMap};
use fantoccini::key::Key;

/// The name Chromium is told to resolve to the test's page.
const NAME: &str = "harness.test";

const FORM: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request access</title></head>
<body>
<h1>Request access</h1>
<p><a href="/why">Why is this blocked?</a></p>
<form method="post" action="/submit">
  <p><label for="reason">Reason</label><br>
     <textarea id="reason" name="reason"></textarea></p>
  <p><label>Contact (optional) <input name="contact"></label></p>
  <p><button type="submit">Send request</button></p>
</form>
</body></html>"#;

/// A one-request-per-connection HTTP server on 127.0.0.1: GET / is the form, POST /submit
/// echoes what it received (escaped) with the Host it was asked for.
fn serve_form() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test page");
    let addr = listener.local_addr().expect("addr");
    // Lives until the test process ends; the browser is gone before then.
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || answer(stream));
        }
    });
    addr
}

fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let (mut host, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let (key, value) = line.split_once(':').unwrap_or((&line, ""));
        match key.to_ascii_lowercase().as_str() {
            "host" => host = value.trim().to_string(),
            "content-length" => length = value.trim().parse().unwrap_or(0).min(64 * 1024),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (status, page) = if request_line.starts_with("GET / ") {
        ("200 OK", FORM.to_string())
    } else if request_line.starts_with("POST /submit ") {
        let fields: String = form_urlencoded::parse(&body)
            .map(|(k, v)| format!("<li>{}: {}</li>", escape(&k), escape(&v)))
            .collect();
        (
            "200 OK",
            format!(
                "<!doctype html><html lang=\"en\"><head><title>Request received</title></head><body>\
                 <h1>Request received</h1><p>Host: {}</p><ul>{fields}</ul></body></html>",
                escape(&host)
            ),
        )
    } else {
        (
            "404 Not Found",
            "<!doctype html><title>Not found</title>".to_string(),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn browser_for_page() -> (Browser, String) {
    let page = serve_form();
    let browser = Browser::start(&[HostMap {
        name: NAME,
        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
    }])
    .await;
    (browser, format!("http://{NAME}:{}/", page.port()))
}

#[tokio::test(flavor = "multi_thread")]
async fn fills_a_labelled_form_submits_it_and_reads_the_answer() {
    let (b, url) = browser_for_page().await;
    b.goto(&url).await;
    assert_eq!(b.title().await, "Request access");
    assert!(b.text().await.contains("Why is this blocked?"));

    let reason = "Homework on the Battle of Hastings & <1066> \"sources\"";
    b.fill("Reason", reason).await;
    b.fill("Contact", "pat@example.org").await;
    let field = b.field("Reason").await;
    assert_eq!(b.value(&field).await, reason, "typed text stays as typed");
    b.submit("Send request").await;

    assert_eq!(b.title().await, "Request received");
    let text = b.text().await;
    assert!(
        text.contains(&format!("reason: {reason}")),
        "the server got the typed reason:\n{text}"
    );
    assert!(text.contains("contact: pat@example.org"), "{text}");
    let port = url.rsplit(':').next().expect("port").trim_end_matches('/');
    assert!(
        text.contains(&format!("Host: {NAME}:{port}")),
        "Chromium asked for the mapped name:\n{text}"
    );
    assert!(b.url().await.ends_with("/submit"));

    let dir = tempfile::tempdir().expect("tempdir");
    let png = b.screenshot(&dir.path().join("answer.png")).await;
    let (width, height) = browser::png_size(&png).expect("a PNG");
    assert!(
        width == browser::WIDTH && (1..=browser::HEIGHT).contains(&height),
        "a PNG of the viewport (the window less headless Chromium's frame): {width}x{height}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tab_moves_through_link_fields_and_button_in_order() {
    let (b, url) = browser_for_page().await;
    b.goto(&url).await;
    let order = b.tab_order(4).await;
    assert_eq!(
        order,
        [
            "a \"Why is this blocked?\"",
            "textarea#reason[name=reason]",
            "input[name=contact]",
            "button \"Send request\""
        ],
        "keyboard order"
    );
    // Keyboard only, on the page opened again: Tab to the reason, type it, Tab twice to the
    // button, Enter.
    b.goto(&url).await;
    b.press(&[Key::Tab, Key::Tab]).await;
    b.type_text("typed by keyboard").await;
    b.press(&[Key::Tab, Key::Tab]).await;
    assert_eq!(b.focused().await, "button \"Send request\"");
    b.press_and_wait(Key::Enter, "Enter on the button").await;
    assert!(
        b.text().await.contains("reason: typed by keyboard"),
        "{}",
        b.text().await
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn names_not_mapped_do_not_resolve() {
    let (b, _url) = browser_for_page().await;
    let error = b.try_goto("http://example.com/").await;
    let described = match error {
        Some(e) => e,
        // Chromium may show its own error page instead of failing the command.
        None => b.source().await,
    };
    assert!(
        described.contains("ERR_NAME_NOT_RESOLVED"),
        "an unmapped name must not resolve: {described}"
    );
    b.close().await;
}

#[test]
fn missing_browser_fails_with_how_to_install_it() {
    let e = browser::locate("/nonexistent").expect_err("no chromedriver in /nonexistent");
    assert!(
        e.contains("apt-get install chromium chromium-driver"),
        "{e}"
    );
}

#[test]
fn resolver_rules_map_the_names_and_nothing_else() {
    let rules = browser::resolver_rules(&[
        HostMap {
            name: "a.test",
            addr: "127.0.0.80".parse().expect("v4"),
        },
        HostMap {
            name: "b.test",
            addr: "::1".parse().expect("v6"),
        },
    ]);
    assert_eq!(
        rules,
        "MAP a.test 127.0.0.80, MAP b.test [::1], MAP * ~NOTFOUND"
    );
}
