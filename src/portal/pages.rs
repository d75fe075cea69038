//! The portal's pages, rendered on the server: plain HTML forms that work without
//! JavaScript, on a phone and with a keyboard or a screen reader (a skip link, one `h1` a
//! page, labelled fields, a visible focus).

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::desk::portal::PortalField;
use crate::store::{AttachmentRecord, CommentRecord, PortalTicket, TicketRecord};

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}\
header,main{max-width:48rem;margin:0 auto;padding:1rem}header{display:flex;justify-content:space-between;\
align-items:center;flex-wrap:wrap;gap:.5rem;border-bottom:1px solid #ddd}a{color:#0b57d0}\
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}table{width:100%;border-collapse:collapse}\
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #e5e5e5;vertical-align:top}\
button{font:inherit;padding:.5rem 1rem;border-radius:.4rem;border:1px solid #0b57d0;background:#0b57d0;color:#fff}\
button.quiet{background:#fff;color:#0b57d0}input,textarea{font:inherit;width:100%;box-sizing:border-box;\
padding:.5rem;border:1px solid #888;border-radius:.4rem}dl{display:grid;grid-template-columns:max-content 1fr;\
gap:.25rem 1rem}dd{margin:0}article{border-left:3px solid #ddd;padding:.25rem .75rem;margin:.75rem 0}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}\
p.note{background:#eef3fd;padding:.5rem .75rem;border-radius:.4rem}@media(max-width:30rem){th.updated,td.updated{display:none}}";

/// Who is signed in, as the header shows them, with the form token of their session.
pub struct SignedIn<'a> {
    pub name: &'a str,
    pub csrf: &'a str,
}

pub fn layout(title: &str, signed_in: Option<&SignedIn<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Help desk" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header {
                    a href="/portal" { strong { "Help desk" } }
                    @if let Some(person) = signed_in {
                        form method="post" action="/portal/sign-out" {
                            span { "Signed in as " (person.name) " " }
                            input type="hidden" name="csrf" value=(person.csrf);
                            button.quiet type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// The sign-in page: a link by email, or by `/desk portal` in Slack.
pub fn sign_in(next: &str, said: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to the help desk" }
            @if let Some(said) = said {
                p.note role="status" { (said) }
            }
            p { "In Slack, type " code { "/desk portal" } ": deskhand answers with a link that signs you in." }
            form method="post" action="/portal/sign-in" {
                p {
                    label for="email" { "Or get a link by email: your address" }
                    input id="email" name="email" type="email" autocomplete="email" required;
                }
                input type="hidden" name="next" value=(next);
                button type="submit" { "Email me a sign-in link" }
            }
        },
    )
}

/// The page a sign-in link opens: a button, so that a link preview never uses it up.
pub fn use_link(token: &str) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in to the help desk" }
            form method="post" action={ "/portal/sign-in/" (token) } {
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn message(title: &str, text: &str, signed_in: Option<&SignedIn<'_>>) -> Markup {
    layout(
        title,
        signed_in,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/portal" { "Back to your requests" } }
        },
    )
}

/// When something happened, in UTC.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The list of requests, with links to the pages before and after.
pub fn list(person: &SignedIn<'_>, tickets: &[PortalTicket], page: i64, more: bool, none_private: bool) -> Markup {
    layout(
        "Your requests",
        Some(person),
        html! {
            h1 { "Your requests" }
            @if none_private {
                p { "No project has a portal yet: the help desk has not opened one." }
            } @else if tickets.is_empty() && page == 1 {
                p { "You have no requests here yet." }
            } @else {
                table {
                    caption.skip { "Requests, newest change first" }
                    thead { tr { th scope="col" { "Key" } th scope="col" { "Summary" } th scope="col" { "Status" }
                                 th.updated scope="col" { "Last update" } } }
                    tbody {
                        @for t in tickets {
                            tr {
                                td { a href={ "/portal/tickets/" (t.key) } { (t.key) } }
                                td { (t.summary) }
                                td { (t.status) }
                                td.updated { (when(t.updated_at)) }
                            }
                        }
                    }
                }
                nav aria-label="Pages" {
                    @if page > 1 { a href={ "/portal?page=" (page - 1) } { "Newer" } " " }
                    @if more { a href={ "/portal?page=" (page + 1) } { "Older" } }
                }
            }
        },
    )
}

/// One request: its fields, the public conversation, its attachments, a reply box and,
/// for its requester, a Close button.
pub struct TicketPage<'a> {
    pub ticket: &'a TicketRecord,
    pub fields: Vec<(PortalField, String)>,
    pub comments: &'a [CommentRecord],
    pub attachments: &'a [AttachmentRecord],
    /// The requester may close it themselves (the project has a self-close status, and
    /// it is not done).
    pub can_close: bool,
    pub said: Option<&'a str>,
}

pub fn ticket(person: &SignedIn<'_>, page: &TicketPage<'_>) -> Markup {
    let t = page.ticket;
    layout(
        &t.key,
        Some(person),
        html! {
            p { a href="/portal" { "← Your requests" } }
            h1 { (t.key) ": " (t.summary) }
            @if let Some(said) = page.said {
                p.note role="status" { (said) }
            }
            dl {
                @for (field, value) in &page.fields {
                    dt { (field.label()) }
                    dd { (value) }
                }
            }
            h2 { "Conversation" }
            article {
                p { strong { (t.requester_name) } " · " (when(t.created_at)) }
                p { (t.description) }
            }
            @for c in page.comments {
                article {
                    p { strong { (c.author_name) } " · " (when(c.created_at)) }
                    p { (c.body) }
                }
            }
            @if !page.attachments.is_empty() {
                h2 { "Attachments" }
                p { "Attachments open in Slack, in the request's thread; they are listed here by name and size." }
                ul { @for a in page.attachments { li { (a.name) " (" (size(a.size)) ")" } } }
            }
            h2 { "Reply" }
            form method="post" action={ "/portal/tickets/" (t.key) "/reply" } {
                p {
                    label for="reply" { "Your reply (the help desk sees it in Slack at once)" }
                    textarea id="reply" name="text" rows="5" required {}
                }
                input type="hidden" name="csrf" value=(person.csrf);
                button type="submit" { "Send reply" }
            }
            @if page.can_close {
                form method="post" action={ "/portal/tickets/" (t.key) "/close" } {
                    input type="hidden" name="csrf" value=(person.csrf);
                    p { button.quiet type="submit" { "Close this request" } }
                }
            }
        },
    )
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b >= 1_048_576 => format!("{:.1} MB", b as f64 / 1_048_576.0),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} bytes"),
    }
}
