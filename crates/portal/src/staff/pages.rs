//! The staff pages' HTML: the patron pages' stylesheet, maud (every value escaped), no
//! scripts. Every POST form carries the session's CSRF token.

use hedge_stats::{ActiveOverrides, AuditEntry, UnblockRequest};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};

use crate::pages::head;

const WIDE: &str = "body{max-width:64rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid #1b1b1b;padding:.35rem .5rem;vertical-align:top}fieldset{border:2px solid #1b1b1b;border-radius:4px;margin:1.5rem 0}nav a{margin-right:1rem}";

/// The frame: title, stylesheet, and (logged in) the menu with the logout button.
fn layout(title: &str, who: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} – Library filter staff"), WIDE))
            body {
                header {
                    p.site { "Library filter – staff" }
                    @if let Some((staff, csrf)) = who {
                        nav aria-label="Staff pages" {
                            a href="/" { "Open requests" }
                            a href="/decided" { "Decided" }
                            a href="/overrides" { "Live grants and recategorisations" }
                            a href="/audit" { "Audit log" }
                            form method="post" action="/logout" style="display:inline" {
                                input type="hidden" name="csrf" value=(csrf);
                                "Signed in as " (staff) " "
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// The login form (`csrf`: its pre-session token), with a problem if the last try failed.
pub(crate) fn login(csrf: &str, problem: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { "Name" }
                input type="text" id="name" name="name" required autocomplete="username";
                label for="password" { "Password" }
                input type="password" id="password" name="password" required autocomplete="current-password";
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The open requests, oldest first.
pub(crate) fn queue(staff: &str, csrf: &str, open: &[UnblockRequest], now: Timestamp) -> Markup {
    layout(
        "Open requests",
        Some((staff, csrf)),
        html! {
            h1 { "Open requests" }
            @if open.is_empty() { p { "No open requests." } } @else {
                table {
                    thead { tr { th { "Site" } th { "Category" } th { "Filter setting" } th { "Reason" } th { "Asked" } th { "Waiting" } } }
                    tbody {
                        @for r in open {
                            tr {
                                td { a href={ "/requests/" (r.id) } { (r.name) } }
                                td { (r.category.as_deref().unwrap_or("")) }
                                td { (r.profile) }
                                td { (r.reason) }
                                td { (r.count) }
                                td { (age(r.requested_at, now)) }
                            }
                        }
                    }
                }
            }
            (recategorise_form(csrf))
        },
    )
}

fn age(since: Timestamp, now: Timestamp) -> String {
    let mins = (now.as_second() - since.as_second()).max(0) / 60;
    match mins {
        0..60 => format!("{mins} min"),
        60..2880 => format!("{} h", mins / 60),
        _ => format!("{} days", mins / 1440),
    }
}

fn recategorise_form(csrf: &str) -> Markup {
    html! {
        h2 { "Local recategorisation" }
        form method="post" action="/recategorise" {
            input type="hidden" name="csrf" value=(csrf);
            label for="rc-name" { "Site" }
            input type="text" id="rc-name" name="name" required;
            label for="rc-category" { "Category" }
            input type="text" id="rc-category" name="category" required;
            fieldset {
                legend { "For every filter setting" }
                label { input type="radio" name="into" value="yes" checked; " Put the site into the category" }
                label { input type="radio" name="into" value="no"; " Take it out of the category" }
            }
            button type="submit" { "Recategorise" }
        }
    }
}

/// One request, with the Grant and Deny forms if it is open.
pub(crate) fn request(
    staff: &str,
    csrf: &str,
    r: &UnblockRequest,
    profiles: &[String],
    problem: Option<&str>,
) -> Markup {
    layout(
        &format!("Request #{}", r.id),
        Some((staff, csrf)),
        html! {
            h1 { "Request #" (r.id) ": " (r.name) }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            dl {
                dt { "Site" } dd { (r.name) }
                dt { "Category" } dd { (r.category.as_deref().unwrap_or("")) }
                dt { "Filter setting" } dd { (r.profile) }
                dt { "Reason" } dd { (r.reason) }
                dt { "Asked" } dd { (r.count) " times, first " (time(r.requested_at)) }
                dt { "Status" } dd { (r.status.as_str()) }
                @if let Some(by) = &r.decided_by { dt { "Decided by" } dd { (by) } }
                @if let Some(n) = &r.note { dt { "Note" } dd { (n) } }
                @if let Some(u) = r.grant_until { dt { "Allowed until" } dd { (time(u)) } }
            }
            @if r.status == hedge_stats::RequestStatus::Open {
                form method="post" action={ "/requests/" (r.id) "/grant" } {
                    h2 { "Grant" }
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "Allow on" }
                        @for p in profiles {
                            label { input type="checkbox" name="profile" value=(p) checked[*p == r.profile]; " " (p) }
                        }
                    }
                    label for="until" { "Last day (optional)" span.hint id="until-hint" { "YYYY-MM-DD, through the end of that day; empty: until revoked." } }
                    input type="text" id="until" name="until" inputmode="numeric" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" placeholder="YYYY-MM-DD" aria-describedby="until-hint";
                    label for="grant-note" { "Note (optional)" }
                    input type="text" id="grant-note" name="note";
                    button type="submit" { "Grant" }
                }
                form method="post" action={ "/requests/" (r.id) "/deny" } {
                    h2 { "Deny" }
                    input type="hidden" name="csrf" value=(csrf);
                    label for="deny-note" { "Why (required)" }
                    input type="text" id="deny-note" name="note" required;
                    button type="submit" { "Deny" }
                }
            }
        },
    )
}

/// Decided requests, newest last.
pub(crate) fn decided(staff: &str, csrf: &str, rows: &[UnblockRequest]) -> Markup {
    layout(
        "Decided requests",
        Some((staff, csrf)),
        html! {
            h1 { "Decided requests" }
            table {
                thead { tr { th { "Site" } th { "Filter setting" } th { "Decision" } th { "By" } th { "When" } th { "Note" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href={ "/requests/" (r.id) } { (r.name) } }
                            td { (r.profile) }
                            td { (r.status.as_str()) }
                            td { (r.decided_by.as_deref().unwrap_or("")) }
                            td { (r.decided_at.map(time).unwrap_or_default()) }
                            td { (r.note.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}

/// The live grants and the local recategorisations, each with its button to end it.
pub(crate) fn overrides(staff: &str, csrf: &str, live: &ActiveOverrides) -> Markup {
    layout(
        "Live grants and recategorisations",
        Some((staff, csrf)),
        html! {
            h1 { "Live grants and recategorisations" }
            h2 { "Live grants" }
            @if live.grants.is_empty() { p { "No live grants." } } @else {
                table {
                    thead { tr { th { "Site" } th { "Filter setting" } th { "Until" } th { "Granted by" } th { "Request" } th { span.hint { "Block it again" } } } }
                    tbody {
                        @for g in &live.grants {
                            tr {
                                td { (g.name) }
                                td { (g.profile) }
                                td { (g.until.map_or_else(|| "until revoked".to_owned(), time)) }
                                td { (g.granted_by) " on " (time(g.granted_at)) }
                                td { @if let Some(id) = g.request { a href={ "/requests/" (id) } { "#" (id) } } }
                                td {
                                    form method="post" action={ "/grants/" (g.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label={ "Revoke the grant of " (g.name) " on " (g.profile) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Local recategorisations" }
            @if live.recategorised.is_empty() { p { "No local recategorisations." } } @else {
                table {
                    thead { tr { th { "Site" } th { "Category" } th { "Change" } th { "By" } th { span.hint { "Let the lists decide" } } } }
                    tbody {
                        @for r in &live.recategorised {
                            tr {
                                td { (r.name) }
                                td { (r.category) }
                                td { @if r.add { "put into it" } @else { "taken out of it" } }
                                td { (r.by) " on " (time(r.at)) }
                                td {
                                    form method="post" action="/recategorisations/clear" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="name" value=(r.name);
                                        input type="hidden" name="category" value=(r.category);
                                        button type="submit" aria-label={ "Clear the recategorisation of " (r.name) " in " (r.category) } { "Clear" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The audit log, newest last.
pub(crate) fn audit(staff: &str, csrf: &str, entries: &[AuditEntry]) -> Markup {
    layout(
        "Audit log",
        Some((staff, csrf)),
        html! {
            h1 { "Audit log" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "On" } th { "Details" } } }
                tbody {
                    @for e in entries {
                        tr { td { (time(e.at)) } td { (e.actor) } td { (e.action) } td { (e.target) } td { (e.detail) } }
                    }
                }
            }
        },
    )
}

/// An error page for staff.
pub(crate) fn problem(title: &str, sentence: &str) -> Markup {
    layout(
        title,
        None,
        html! { h1 { (title) } p { (sentence) } p { a href="/" { "Back to the queue" } } },
    )
}
