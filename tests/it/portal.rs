//! The portal over HTTP: signing in with a one-time link (from `/desk portal`, or by
//! email), the list and the ticket page of what is the person's own, replies that reach
//! the Slack thread, and the refusals: another person's ticket, a used or expired link, a
//! form without its token or from another origin, too many links asked for.

use std::time::Duration;

use serde_json::json;

use crate::support::fakes::smtp::SmtpSink;
use crate::support::*;

/// The portal's own origin in the tests' configuration (`DESKHAND_PUBLIC_URL`).
pub const ORIGIN: &str = "http://localhost:3000";

pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            base: app.addr.clone(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let (location, set_cookie) = (header("location"), header("set-cookie"));
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        Page {
            status: response.status().as_u16(),
            location,
            set_cookie,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, origin: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", origin)
            .form(form);
        self.send(request).await
    }
}

/// The link's path in a text (`…/portal/sign-in/<token>`); a mail's quoted-printable
/// soft line breaks are joined first.
pub fn link_in(text: &str) -> String {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let at = text.find("/portal/sign-in/").expect("a sign-in link");
    text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-".contains(*c))
        .collect()
}

/// The CSRF token in a page's forms.
pub fn csrf(page: &Page) -> String {
    let at = page.body.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    page.body[at..].chars().take_while(|c| *c != '"').collect()
}

async fn private_portal(app: &TestApp, visibility: &str) {
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "portal": { "mode": "private", "visibility": visibility, "fields": ["priority", "participants"] } }),
    )
    .await;
}

#[tokio::test]
async fn a_slack_member_signs_in_from_slack_and_works_on_their_own_requests_only() {
    let app = TestApp::spawn().await;
    app.slack.set_members(AGENTS, &[BO]);
    let mut browser = Browser::new(&app);
    let page = browser.get("/portal").await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/portal/sign-in?next=%2Fportal"))
    );

    private_portal(&app, "own").await;
    app.say("EvQ1", ANA, "1700000600.000100", "My screen flickers").await;
    app.say("EvQ2", BO, "1700000601.000100", "Order more toner").await;
    assert_eq!(app.slash(ANA, SUPPORT, "portal", "t-portal").await, 200);
    app.drain().await;
    let link = link_in(&app.answer_to("t-portal"));

    let page = browser.get(&link).await;
    assert_eq!(page.status, 200, "a link preview does not use it up: {}", page.body);
    let page = browser.post(&link, ORIGIN, &[]).await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/portal")));
    let set = page.set_cookie.unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/portal"),
        "{set}"
    );
    let mut stranger = Browser::new(&app);
    assert_eq!(stranger.post(&link, ORIGIN, &[]).await.status, 410, "a link works once");

    let list = browser.get("/portal").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("IT-1") && list.body.contains("My screen flickers"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("IT-2"), "Bo's request is not Ana's");
    let theirs = browser.get("/portal/tickets/IT-2").await;
    let missing = browser.get("/portal/tickets/IT-99").await;
    assert_eq!((theirs.status, missing.status), (404, 404));
    assert_eq!(theirs.body, missing.body, "another's ticket looks like no ticket");

    // An internal note never shows in the portal.
    let card = app.card("IT-1");
    app.deliver(
        "EvQ3",
        reply(
            AGENTS,
            BO,
            "1700000602.000100",
            &card.ts,
            "Probably the cable, check stock",
        ),
    )
    .await;
    let ticket = browser.get("/portal/tickets/IT-1").await;
    assert_eq!(ticket.status, 200);
    assert!(
        ticket.body.contains("My screen flickers") && ticket.body.contains("Priority"),
        "{}",
        ticket.body
    );
    assert!(!ticket.body.contains("check stock"), "internal notes stay internal");

    let token = csrf(&ticket);
    let path = "/portal/tickets/IT-1/reply";
    let text = "It flickers only on battery";
    assert_eq!(
        browser.post(path, ORIGIN, &[("text", text)]).await.status,
        403,
        "no form token"
    );
    assert_eq!(
        browser
            .post(path, "https://evil.example", &[("csrf", &token), ("text", text)])
            .await
            .status,
        403
    );
    let sent = browser.post(path, ORIGIN, &[("csrf", &token), ("text", text)]).await;
    assert_eq!(
        (sent.status, sent.location.as_deref()),
        (303, Some("/portal/tickets/IT-1"))
    );
    app.drain().await;
    let thread = app
        .posts_by_thread(SUPPORT)
        .remove(&Some("1700000600.000100".into()))
        .unwrap_or_default();
    assert!(
        thread
            .iter()
            .any(|m| m.text.contains("Ana Lima* replied in the portal") && m.text.contains(text)),
        "{thread:?}"
    );
    assert!(browser.get("/portal/tickets/IT-1").await.body.contains(text));
    let (_, audit) = app.get("/api/v1/audit?ticket=IT-1").await;
    assert!(
        audit.to_string().contains("\"portal\""),
        "audited with source portal: {audit}"
    );

    // The requester closes it from the portal.
    let page = browser.get("/portal/tickets/IT-1").await;
    assert!(page.body.contains("Close this request"), "{}", page.body);
    let close = "/portal/tickets/IT-1/close";
    assert_eq!(browser.post(close, ORIGIN, &[]).await.status, 403, "no form token");
    let closed = browser.post(close, ORIGIN, &[("csrf", &csrf(&page))]).await;
    assert_eq!(
        (closed.status, closed.location.as_deref()),
        (303, Some("/portal/tickets/IT-1?closing=1"))
    );
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["status"], "Closed");
    let page = browser.get("/portal/tickets/IT-1").await;
    assert!(
        !page.body.contains("Close this request"),
        "a closed request has no Close button"
    );
    let (_, audit) = app.get("/api/v1/audit?ticket=IT-1").await;
    let entries = audit["audit"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e["source"] == "portal" && e.to_string().contains("Closed")),
        "the close is audited as from the portal: {audit}"
    );

    let token = csrf(&browser.get("/portal").await);
    let out = browser.post("/portal/sign-out", ORIGIN, &[("csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/portal/sign-in")));
    let mut old = Browser::new(&app);
    old.cookie = Some(set.split(';').next().unwrap().to_owned());
    assert_eq!(old.get("/portal").await.status, 303, "the session ended on the server");
}

#[tokio::test]
async fn a_customer_signs_in_by_email_and_sees_what_the_project_s_visibility_allows() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await;
    let mut browser = Browser::new(&app);
    let said = "If the help desk knows this address";
    let empty = browser.get("/portal/sign-in").await;
    assert!(
        empty.body.contains("/desk portal") && empty.body.contains("<label for=\"email\""),
        "{}",
        empty.body
    );

    app.say("EvR1", ANA, "1700000700.000100", "Laptop battery swells").await;
    app.say("EvR2", BO, "1700000701.000100", "Projector in room 4").await;
    let (status, _) = app
        .admin(
            "POST",
            "/api/v1/customers",
            Some(json!({ "email": "carla@client.example", "name": "Carla Client" })),
        )
        .await;
    assert_eq!(status, 201);
    app.admin_ok(
        "POST",
        "/api/v1/tickets/IT-1/participants",
        json!({ "person": "carla@client.example" }),
    )
    .await;

    let unknown = browser
        .post("/portal/sign-in", ORIGIN, &[("email", "nobody@else.example")])
        .await;
    assert!(unknown.status == 200 && unknown.body.contains(said));
    let asked = browser
        .post("/portal/sign-in", ORIGIN, &[("email", "Carla@Client.example")])
        .await;
    assert!(asked.status == 200 && asked.body.contains(said));
    assert_eq!(
        browser
            .post(
                "/portal/sign-in",
                "https://evil.example",
                &[("email", "carla@client.example")]
            )
            .await
            .status,
        403
    );
    app.drain().await;
    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "only the known address gets mail");
    assert_eq!(mail[0].to, ["carla@client.example"]);
    let link = link_in(&mail[0].data);

    // No portal yet for anyone: the page says so.
    assert_eq!(browser.post(&link, ORIGIN, &[]).await.status, 303);
    let list = browser.get("/portal").await;
    assert!(list.body.contains("No project has a portal yet"), "{}", list.body);

    private_portal(&app, "own").await;
    let list = browser.get("/portal").await;
    assert!(
        list.body.contains("IT-1") && !list.body.contains("IT-2"),
        "Carla takes part in IT-1 only: {}",
        list.body
    );
    let page = browser.get("/portal/tickets/IT-1").await;
    assert!(
        page.body.contains("Participants") && page.body.contains("Carla Client"),
        "{}",
        page.body
    );

    // Every ticket of a followed project, once the project shows them.
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT/followers",
        json!({ "customers": ["carla@client.example"] }),
    )
    .await;
    assert!(!browser.get("/portal").await.body.contains("IT-2"));
    private_portal(&app, "followed").await;
    assert!(browser.get("/portal").await.body.contains("IT-2"));

    // Links by mail are rate-limited per address.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            browser
                .post("/portal/sign-in", ORIGIN, &[("email", "carla@client.example")])
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429], "five an hour");

    // A link not used within 15 minutes no longer works.
    app.drain().await;
    let mail = sink.wait_for(5).await;
    let late = link_in(&mail.last().unwrap().data);
    app.advance(Duration::from_secs(16 * 60)).await;
    let mut later = Browser::new(&app);
    assert_eq!(later.get(&late).await.status, 410);
    assert_eq!(later.post(&late, ORIGIN, &[]).await.status, 410);
}

#[tokio::test]
async fn with_organization_visibility_a_customer_sees_what_their_organization_takes_part_in() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await;
    private_portal(&app, "organization").await;
    app.say("EvS1", ANA, "1700000900.000100", "Wifi drops in hall B").await;
    app.say("EvS2", BO, "1700000901.000100", "New hire needs a laptop")
        .await;
    for email in ["carla@client.example", "dan@client.example", "eve@other.example"] {
        let (status, _) = app
            .admin("POST", "/api/v1/customers", Some(json!({ "email": email })))
            .await;
        assert_eq!(status, 201);
    }
    app.admin_ok(
        "POST",
        "/api/v1/organizations",
        json!({ "name": "Client Co", "members": ["carla@client.example", "dan@client.example"] }),
    )
    .await;
    // Dan takes part in IT-2; Eve, of no organization of Carla's, in IT-1.
    for (key, person) in [("IT-2", "dan@client.example"), ("IT-1", "eve@other.example")] {
        app.admin_ok(
            "POST",
            &format!("/api/v1/tickets/{key}/participants"),
            json!({ "person": person }),
        )
        .await;
    }
    let mut browser = Browser::new(&app);
    browser
        .post("/portal/sign-in", ORIGIN, &[("email", "carla@client.example")])
        .await;
    app.drain().await;
    let link = link_in(&sink.wait_for(1).await[0].data);
    assert_eq!(browser.post(&link, ORIGIN, &[]).await.status, 303);
    let list = browser.get("/portal").await;
    assert!(
        list.body.contains("IT-2"),
        "her organization takes part in IT-2: {}",
        list.body
    );
    assert!(!list.body.contains("IT-1"), "IT-1 is nobody's of hers");
    assert_eq!(browser.get("/portal/tickets/IT-1").await.status, 404);
}

#[tokio::test]
async fn the_list_is_paged_newest_first_and_attachments_are_listed_by_name_and_size() {
    let app = TestApp::spawn().await;
    private_portal(&app, "own").await;
    let mut shared: serde_json::Value = serde_json::from_str(&fixture("message-file-share.json")).unwrap();
    shared["event"]["channel"] = SUPPORT.into();
    shared["event"]["user"] = ANA.into();
    app.deliver("Ev03EGJQAVMM", shared["event"].take()).await;
    for n in 2..=26 {
        app.say(
            &format!("EvU{n}"),
            ANA,
            &format!("1700001100.{n:06}"),
            &format!("Request number {n}"),
        )
        .await;
    }
    assert_eq!(app.slash(ANA, SUPPORT, "portal", "t-pages").await, 200);
    app.drain().await;
    let mut browser = Browser::new(&app);
    browser.post(&link_in(&app.answer_to("t-pages")), ORIGIN, &[]).await;
    let first = browser.get("/portal").await.body;
    assert_eq!(first.matches("href=\"/portal/tickets/").count(), 25);
    assert!(first.contains("IT-26") && !first.contains(">IT-1<"), "newest first");
    assert!(first.contains("href=\"/portal?page=2\""), "a link to the older ones");
    let second = browser.get("/portal?page=2").await.body;
    assert!(
        second.contains(">IT-1<") && second.contains("href=\"/portal?page=1\""),
        "{second}"
    );
    let with_file = browser.get("/portal/tickets/IT-1").await.body;
    assert!(
        with_file.contains("file.png (90 KB)") && with_file.contains("open in Slack"),
        "{with_file}"
    );
}

#[tokio::test]
async fn a_requester_s_reply_on_the_portal_brings_a_waiting_request_back() {
    let app = TestApp::spawn().await;
    app.slack.set_members(AGENTS, &[BO]);
    private_portal(&app, "own").await;
    app.say("EvW1", ANA, "1700001200.000100", "VPN is down").await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("In Progress"), "w1")
        .await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("Waiting for customer"), "w2")
        .await;
    assert_eq!(app.slash(ANA, SUPPORT, "portal", "t-wait").await, 200);
    app.drain().await;
    let mut browser = Browser::new(&app);
    browser.post(&link_in(&app.answer_to("t-wait")), ORIGIN, &[]).await;
    let page = browser.get("/portal/tickets/IT-1").await;
    let sent = browser
        .post(
            "/portal/tickets/IT-1/reply",
            ORIGIN,
            &[("csrf", &csrf(&page)), ("text", "Works from home now")],
        )
        .await;
    assert_eq!(sent.status, 303);
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["status"], "In Progress", "back where it was");
    let thread = app.card_thread("IT-1");
    assert!(
        thread
            .iter()
            .any(|t| t.contains("*Ana Lima* (requester): Works from home now")),
        "{thread:?}"
    );
}
