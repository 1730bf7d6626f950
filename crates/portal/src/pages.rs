//! The portal's pages: server-rendered HTML, one inline stylesheet, no scripts, no external
//! assets. maud escapes every interpolated value, so what a visitor sends (a Host header, a
//! query, a form field) can only ever come back as text.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::form::{MAX_CONTACT, MAX_REASON, RequestFields};
use crate::verdict::{Explained, Verdict};

/// Colours meet WCAG 2.1 AA (4.5:1 for text): #1b1b1b on white is 17:1, the link blue
/// #0b4fb3 6.9:1, white on the button blue #0b4fb3 6.9:1, the error red #a4161a 7.6:1;
/// the focus ring (#b35c00, 3:1 against white as WCAG asks of focus indicators) is thick.
/// The print stylesheet drops the forms and prints black on white.
const STYLE: &str = r#"
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:112.5%;line-height:1.5;color:#1b1b1b;background:#fff}
body{margin:0 auto;max-width:40rem;padding:1rem 1.25rem 3rem}
h1{font-size:1.75rem;line-height:1.25;margin:1.5rem 0 1rem}
h2{font-size:1.3rem;margin:2rem 0 .75rem}
a{color:#0b4fb3}
a:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:4px solid #b35c00;outline-offset:2px}
.site{font-weight:600;margin:0;padding:.5rem 0;border-bottom:2px solid #1b1b1b}
.name{font-size:1.25rem;font-weight:700;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}
dt{font-weight:600}dd{margin:0;word-break:break-word}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
.hint{display:block;font-weight:400;font-size:.95rem;margin:.1rem 0 .3rem}
input[type=text],textarea{box-sizing:border-box;width:100%;font:inherit;padding:.5rem;border:2px solid #1b1b1b;border-radius:4px;color:#1b1b1b;background:#fff}
textarea{min-height:6rem}
button{font:inherit;font-weight:600;margin-top:1rem;padding:.6rem 1.2rem;color:#fff;background:#0b4fb3;border:2px solid #0b4fb3;border-radius:4px;cursor:pointer}
.error{color:#a4161a;font-weight:600}
.box{border:2px solid #1b1b1b;border-radius:4px;padding:.75rem 1rem;margin:1rem 0}
footer{margin-top:2.5rem;border-top:1px solid #1b1b1b;padding-top:.5rem;font-size:.95rem}
@media print{form,.noprint,footer{display:none}html{color:#000;background:#fff;font-size:11pt}a{color:#000}body{max-width:none}}
"#;

/// The `<head>` of every page, patron and staff: `title` whole, the stylesheet plus `extra_css`.
pub(crate) fn head(title: &str, extra_css: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            title { (title) }
            style { (PreEscaped(STYLE)) (PreEscaped(extra_css)) }
        }
    }
}

/// The frame every page shares: language, title, the stylesheet, the site line.
fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} – Library internet filter"), ""))
            body {
                header { p.site { "Library internet filter" } }
                main { (body) }
                footer {
                    a href="/" { "Check whether a site is blocked" }
                }
            }
        }
    }
}

/// Facts printed under a block: the profile, the index version, the date, the reference.
pub(crate) struct Stamp<'a> {
    /// The date, in words (`6 December 2026, 14:05`).
    pub(crate) date: &'a str,
    /// The reference code.
    pub(crate) reference: &'a str,
}

/// The explanation of a blocked name, with the request form.
pub(crate) fn blocked(
    e: &Explained,
    stamp: &Stamp<'_>,
    fields: Option<&RequestFields>,
    problems: &[String],
) -> Markup {
    let Verdict::Blocked(why) = &e.verdict else {
        return not_blocked(e);
    };
    let reason = fields.map_or("", |f| f.reason.as_str());
    let contact = fields.map_or("", |f| f.contact.as_str());
    layout(
        "This site is blocked",
        html! {
            h1 { "This site is blocked" }
            p.name { (e.name) }
            p { (why.sentence()) }
            dl {
                dt { "Site" } dd { (e.name) }
                dt { "Reason" } dd { (reason_words(why)) }
                dt { "Filter setting" } dd { (e.profile) }
                dt { "List version" } dd { (e.index_version) }
                dt { "Date" } dd { (stamp.date) }
                dt { "Reference" } dd { (stamp.reference) }
            }
            p { "If you need this site for your work, study or a good reason, you can ask the library to unblock it. Give the reference above if you talk to staff." }
            h2 id="request" { "Ask for access" }
            @if !problems.is_empty() {
                div.box role="alert" {
                    p.error { "Please fix these and send again:" }
                    ul { @for p in problems.iter() { li.error { (p) } } }
                }
            }
            form method="post" action="/request" {
                label for="name" { "Site" }
                input type="text" id="name" name="name" value=(e.name) required autocomplete="off" spellcheck="false" maxlength="253";
                input type="hidden" name="reference" value=(stamp.reference);
                label for="reason" {
                    "Why do you need it?"
                    span.hint id="reason-hint" { "Up to " (MAX_REASON) " characters." }
                }
                textarea id="reason" name="reason" required maxlength=(MAX_REASON) aria-describedby="reason-hint" { (reason) }
                label for="contact" {
                    "Your email or phone number (optional)"
                    span.hint id="contact-hint" { "This is optional personal data. Give it only if you want the library to tell you the answer; leave it empty to stay anonymous." }
                }
                input type="text" id="contact" name="contact" value=(contact) maxlength=(MAX_CONTACT) autocomplete="email" aria-describedby="contact-hint";
                button type="submit" { "Send request" }
            }
        },
    )
}

/// The reason as a short phrase for the facts list.
fn reason_words(why: &crate::verdict::Why) -> String {
    use crate::verdict::Why;
    match why {
        Why::Category {
            display, listed_as, ..
        } => format!("category: {display} (listed as {listed_as})"),
        Why::CustomList(list) => format!("the library’s block list: {list}"),
        Why::Bypass(_) => "a way around the filter".into(),
        Why::WalledGarden => "not on this network’s list of allowed sites".into(),
    }
}

/// A name the visitor's profile does not block.
pub(crate) fn not_blocked(e: &Explained) -> Markup {
    layout(
        "Not blocked here",
        html! {
            h1 { "This site is not blocked here" }
            p.name { (e.name) }
            p { "The filter does not block this site on this network (filter setting: " (e.profile) ", list version " (e.index_version) ")." }
            p { "If it does not open, the site itself may be down, or your computer may have remembered an old answer: wait a minute and try again, or ask a member of staff." }
        },
    )
}

/// The portal's home: what it is, and the "Why is this blocked?" form.
pub(crate) fn home(problem: Option<&str>, typed: &str) -> Markup {
    layout(
        "Why is this blocked?",
        html! {
            h1 { "Why is this blocked?" }
            p { "The library filters the internet on its computers and Wi-Fi. Type the address of a site to see whether it is blocked here, and why." }
            form method="get" action="/why" {
                label for="q" {
                    "Site address"
                    span.hint id="q-hint" { "For example: www.example.com" }
                }
                @if let Some(p) = problem {
                    p.error id="q-error" { (p) }
                }
                input type="text" id="q" name="name" value=(typed) required autocomplete="off" spellcheck="false" aria-describedby="q-hint" aria-invalid=[problem.map(|_| "true")];
                button type="submit" { "Check" }
            }
        },
    )
}

/// The request was taken.
pub(crate) fn sent(
    name: &str,
    reference: &str,
    receipt: &crate::Receipt,
    procedure: &str,
) -> Markup {
    layout(
        "Request sent",
        html! {
            h1 { "Your request has been sent" }
            dl {
                dt { "Site" } dd { (name) }
                dt { "Reference" } dd { (reference) }
                dt { "Request number" } dd { (receipt.id) }
            }
            @if receipt.merged {
                p { "Someone has already asked for this site recently, so your request was added to theirs (asked " (receipt.count) " times)." }
            }
            h2 { "What happens next" }
            p { (procedure) }
            p.noprint { "You can print this page to keep the reference." }
        },
    )
}

/// An error page: a heading and a sentence.
pub(crate) fn problem(title: &str, sentence: &str) -> Markup {
    layout(
        title,
        html! {
            h1 { (title) }
            p { (sentence) }
        },
    )
}
