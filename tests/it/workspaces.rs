//! Many workspaces: installing deskhand through Slack's OAuth (`/slack/install`, the
//! callback, a single-use state), each workspace answered with its own token (sealed at
//! rest, never shown), uninstalling one without touching the others, and Enterprise Grid:
//! an org-wide install, its members seen as one person, a shared channel handled once.

use serde_json::{json, Value};

use crate::support::fakes::slack::{Call, Failure, FakeSlack};
use crate::support::payloads::{dm, envelope, message};
use crate::support::*;
use deskhand::config::{OAuthApp, Secret};
use deskhand::vault::Vault;

const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// deskhand with no bot token of its own: workspaces install it.
async fn spawn_installable() -> TestApp {
    let app = TestApp::spawn_on(FakeSlack::start().await, |config| {
        config.slack_bot_token = None;
        config.slack_oauth = Some(OAuthApp {
            client_id: "client-id".into(),
            client_secret: Secret::new("client-secret"),
        });
        config.secret_key = Some(Vault::parse(KEY).unwrap());
    })
    .await;
    app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Help" }))
        .await;
    app
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Start an install: where deskhand sends the person, as its query's fields.
async fn start_install(app: &TestApp) -> Vec<(String, String)> {
    let answer = no_redirects()
        .get(format!("{}/slack/install", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let (site, query) = location.split_once('?').unwrap();
    assert_eq!(site, app.slack.api_url().replace("/api", "/oauth/v2/authorize"));
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(k, _)| k == name).unwrap().1
}

async fn callback(app: &TestApp, query: &str) -> (u16, String) {
    let answer = no_redirects()
        .get(format!("{}/slack/oauth/callback?{query}", app.addr))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Install deskhand the whole way, as a person approving it in Slack; the token Slack gave.
async fn install(app: &TestApp, team: &str, enterprise: Option<&str>, org_wide: bool) -> String {
    let fields = start_install(app).await;
    let code = format!("code{team}");
    let token = app.slack.approve_install(&code, team, enterprise, org_wide);
    let (status, page) = callback(app, &format!("code={code}&state={}", field(&fields, "state"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("deskhand is installed"), "{page}");
    token
}

/// An event as Slack sends it from a workspace (and its org).
async fn send_from(app: &TestApp, event_id: &str, event: Value, team: &str, enterprise: Option<&str>, org_wide: bool) {
    let mut body = envelope(event_id, event);
    body["team_id"] = team.into();
    body["enterprise_id"] = enterprise.into();
    body["is_enterprise_install"] = org_wide.into();
    let status = app
        .post_signed("/slack/events", &body.to_string(), "application/json")
        .await
        .status();
    assert_eq!(status, 200);
}

/// A person's message in a channel of `team` (kept by the fake Slack too, as Slack keeps
/// it), delivered from that workspace.
async fn say(app: &TestApp, event_id: &str, team: &str, channel: &str, user: &str, ts: &str, text: &str) {
    app.slack.add_user_message(channel, user, ts, None, text);
    send_from(app, event_id, message(channel, user, ts, text), team, None, false).await;
}

/// Bind a support channel (and its agent channel) of some workspace to project IT.
async fn support_channel(app: &TestApp, channel: &str) {
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{channel}"),
        json!({ "kind": "support", "project": "IT", "agent_channel": format!("{channel}A") }),
    )
    .await;
}

/// Ana, a member of `team` (and of its Grid org, when it has one).
fn ana_of(app: &TestApp, team: &str, enterprise: Option<&str>) {
    let mut user = json!({
        "id": ANA, "team_id": team, "name": "ana", "real_name": "Ana Lima",
        "profile": { "email": "ana@acme.example", "display_name": "Ana Lima" },
    });
    if let Some(enterprise) = enterprise {
        user["enterprise_user"] = json!({ "enterprise_id": enterprise });
    }
    app.slack.add_user(user);
}

fn thread_replies(calls: &[Call], channel: &str, ts: &str) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage" && c.params["channel"] == channel && c.params["thread_ts"] == ts)
        .cloned()
        .collect()
}

fn bearer(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

/// The message got one thread reply, sent with `token`.
fn answered_once_with(calls: &[Call], channel: &str, ts: &str, token: &str) {
    let replies = thread_replies(calls, channel, ts);
    assert_eq!(replies.len(), 1, "one thread reply in {channel}");
    assert_eq!(replies[0].authorization, bearer(token));
}

#[tokio::test]
async fn a_workspace_installs_deskhand_and_is_answered_with_its_own_sealed_token() {
    let app = spawn_installable().await;
    let fields = start_install(&app).await;
    assert_eq!(field(&fields, "client_id"), "client-id");
    assert_eq!(
        field(&fields, "redirect_uri"),
        "http://localhost:3000/slack/oauth/callback"
    );
    assert!(field(&fields, "scope").split(',').any(|s| s == "chat:write"));
    let state = field(&fields, "state").to_owned();

    // A callback deskhand did not start, or one used already, installs nothing.
    let token = app.slack.approve_install("c1", "T0BETA", None, false);
    let (status, _) = callback(&app, "code=c1&state=forged").await;
    assert_eq!(status, 400);
    let (status, page) = callback(&app, &format!("code=c1&state={state}")).await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = callback(&app, &format!("code=c1&state={state}")).await;
    assert_eq!((status, page.contains("expired")), (400, true));
    let (status, _) = callback(&app, "").await;
    assert_eq!(status, 400);

    // The token is sealed at rest and shown nowhere.
    let sealed = app.store.installation_token("T0BETA").await.unwrap().unwrap();
    assert!(sealed.starts_with("v1.k1.") && !sealed.contains(&token), "{sealed}");
    let (status, listed) = app.admin("GET", "/api/v1/workspaces", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["workspaces"][0]["installation"], "T0BETA");
    assert_eq!(listed["workspaces"][0]["name"], "T0BETA Inc");
    assert!(!listed.to_string().contains(&token) && !listed.to_string().contains("v1.k1."));

    let doctor = app.admin_ok("GET", "/api/v1/doctor", Value::Null).await;
    assert!(
        doctor.to_string().contains("T0BETA Inc: Slack accepts its token"),
        "{doctor}"
    );

    // Its events are answered with its token.
    support_channel(&app, "C0BETA").await;
    ana_of(&app, "T0BETA", None);
    say(
        &app,
        "EvBeta1",
        "T0BETA",
        "C0BETA",
        ANA,
        "1700000100.000100",
        "The printer is on fire",
    )
    .await;
    app.drain().await;
    let calls = app.slack.calls();
    answered_once_with(&calls, "C0BETA", "1700000100.000100", &token);
    let card = calls
        .iter()
        .find(|c| c.method == "chat.postMessage" && c.params["channel"] == "C0BETAA")
        .expect("a card in the agent channel");
    assert_eq!(card.authorization, bearer(&token));
    assert!(calls
        .iter()
        .all(|c| c.authorization.as_deref() != Some("Bearer xoxb-test-token")));

    // A workspace that never installed deskhand is set aside, visibly.
    support_channel(&app, "C0GAMMA").await;
    say(
        &app,
        "EvGamma1",
        "T0GAMMA",
        "C0GAMMA",
        ANA,
        "1700000200.000100",
        "Hello?",
    )
    .await;
    app.drain().await;
    let failed = app.admin_ok("GET", "/api/v1/inbox?state=failed", Value::Null).await;
    assert!(
        failed.to_string().contains("not installed in Slack workspace T0GAMMA"),
        "{failed}"
    );
    assert!(thread_replies(&app.slack.calls(), "C0GAMMA", "1700000200.000100").is_empty());
}

#[tokio::test]
async fn uninstalling_stops_one_workspace_and_not_the_others() {
    let app = spawn_installable().await;
    let one = install(&app, "T0ONE", None, false).await;
    let two = install(&app, "T0TWO", None, false).await;
    support_channel(&app, "C0ONE").await;
    support_channel(&app, "C0TWO").await;
    ana_of(&app, "T0TWO", None);

    // A user's token revoked is not deskhand's.
    let revoked = json!({ "type": "tokens_revoked", "tokens": { "oauth": ["U0INSTALLER"], "bot": [] } });
    send_from(&app, "EvUserToken", revoked, "T0TWO", None, false).await;
    app.drain().await;
    assert!(app.store.installation_token("T0TWO").await.unwrap().is_some());

    // Slack revokes the token first, then tells deskhand.
    app.slack.revoke(&one);
    send_from(
        &app,
        "EvGone",
        json!({ "type": "app_uninstalled" }),
        "T0ONE",
        None,
        false,
    )
    .await;
    app.drain().await;
    assert!(app.store.installation_token("T0ONE").await.unwrap().is_none());
    let listed = app.admin_ok("GET", "/api/v1/workspaces", Value::Null).await;
    let removed: Vec<(String, bool)> = listed["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["installation"].as_str().unwrap().to_owned(), w["removed_at"].is_i64()))
        .collect();
    assert_eq!(removed, vec![("T0ONE".into(), true), ("T0TWO".into(), false)]);

    let before = app.slack.calls().len();
    say(
        &app,
        "EvOne",
        "T0ONE",
        "C0ONE",
        ANA,
        "1700000300.000100",
        "Still there?",
    )
    .await;
    say(&app, "EvTwo", "T0TWO", "C0TWO", ANA, "1700000300.000200", "Help please").await;
    app.drain().await;
    let calls = app.slack.calls()[before..].to_vec();
    assert!(
        calls.iter().all(|c| c.authorization != bearer(&one)),
        "nothing more with the removed token"
    );
    answered_once_with(&calls, "C0TWO", "1700000300.000200", &two);

    // Installing again brings it back.
    let again = install(&app, "T0ONE", None, false).await;
    app.slack.add_user(json!({
        "id": "U1EVA", "team_id": "T0ONE", "name": "eva",
        "profile": { "email": "eva@one.example", "display_name": "Eva One" },
    }));
    say(&app, "EvOne2", "T0ONE", "C0ONE", "U1EVA", "1700000400.000100", "Back?").await;
    app.drain().await;
    answered_once_with(&app.slack.calls(), "C0ONE", "1700000400.000100", &again);
}

#[tokio::test]
async fn an_org_wide_install_answers_every_workspace_of_the_org_and_its_members_are_people_there() {
    let app = spawn_installable().await;
    let token = install(&app, "T0ONE", Some("E0ORG"), true).await;
    let listed = app.admin_ok("GET", "/api/v1/workspaces", Value::Null).await;
    assert_eq!(listed["workspaces"][0]["installation"], "E0ORG");
    assert_eq!(listed["workspaces"][0]["is_enterprise_install"], true);
    support_channel(&app, "C0EAST").await;
    // Someone whose home workspace is another of the org's: a member, not a guest.
    app.slack.add_user(json!({
        "id": "W0DANA", "team_id": "T0TWO", "name": "dana", "real_name": "Dana Org",
        "enterprise_user": { "enterprise_id": "E0ORG", "teams": ["T0ONE", "T0TWO"] },
        "profile": { "email": "dana@org.example", "display_name": "Dana Org" },
    }));
    app.slack
        .add_user_message("C0EAST", "W0DANA", "1700000500.000100", None, "VPN is down");
    send_from(
        &app,
        "EvOrg1",
        message("C0EAST", "W0DANA", "1700000500.000100", "VPN is down"),
        "T0ONE",
        Some("E0ORG"),
        true,
    )
    .await;
    app.drain().await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "filed for a member of the org: {tickets:?}");
    assert_eq!(tickets[0]["requester_slack_id"], "W0DANA");
    answered_once_with(&app.slack.calls(), "C0EAST", "1700000500.000100", &token);
}

#[tokio::test]
async fn a_message_of_a_channel_shared_by_two_installed_workspaces_is_filed_once() {
    let app = spawn_installable().await;
    install(&app, "T0ONE", Some("E0ORG"), false).await;
    install(&app, "T0TWO", Some("E0ORG"), false).await;
    support_channel(&app, "C0SHARED").await;
    ana_of(&app, "T0ONE", Some("E0ORG"));
    let ts = "1700000600.000100";
    app.slack.add_user_message("C0SHARED", ANA, ts, None, "Shared trouble");
    // Each installation hears of the message, under its own event id.
    send_from(
        &app,
        "EvShared1",
        message("C0SHARED", ANA, ts, "Shared trouble"),
        "T0ONE",
        Some("E0ORG"),
        false,
    )
    .await;
    send_from(
        &app,
        "EvShared2",
        message("C0SHARED", ANA, ts, "Shared trouble"),
        "T0TWO",
        Some("E0ORG"),
        false,
    )
    .await;
    app.drain().await;
    assert_eq!(app.tickets().await.len(), 1);
    assert_eq!(thread_replies(&app.slack.calls(), "C0SHARED", ts).len(), 1);
}

#[tokio::test]
async fn each_workspace_may_have_settings_of_its_own() {
    let app = spawn_installable().await;
    install(&app, "T0ONE", None, false).await;
    let two_token = install(&app, "T0TWO", None, false).await;
    app.admin_ok("PUT", "/api/v1/projects/HR", json!({ "name": "People" }))
        .await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "default_project": "IT" }))
        .await;
    // Workspace two starts from the shared settings and sends its DMs to HR.
    let (status, two) = app.admin("GET", "/api/v1/workspaces/T0TWO/settings", None).await;
    assert_eq!((status, two["default_project"].clone()), (200, json!("IT")));
    let two = app
        .admin_ok(
            "PUT",
            "/api/v1/workspaces/T0TWO/settings",
            json!({ "default_project": "HR" }),
        )
        .await;
    assert_eq!(two["default_project"], "HR");
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/workspaces/T0NONE/settings",
            Some(json!({ "default_project": "HR" })),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/workspaces/T0TWO/settings",
            Some(json!({ "default_project": "NOPE" })),
        )
        .await;
    assert_eq!(status, 422, "an unknown project is refused as for the shared settings");
    let shared = app.admin_ok("GET", "/api/v1/settings", Value::Null).await;
    assert_eq!(shared["default_project"], "IT");

    for (team, user) in [("T0ONE", "U1ONE"), ("T0TWO", "U1TWO")] {
        app.slack.add_user(json!({
            "id": user, "team_id": team, "name": user.to_lowercase(),
            "profile": { "email": format!("{}@acme.example", user.to_lowercase()), "display_name": user },
        }));
    }
    send_from(
        &app,
        "EvDm1",
        dm("U1ONE", "1700000700.000100", "My badge is broken"),
        "T0ONE",
        None,
        false,
    )
    .await;
    send_from(
        &app,
        "EvDm2",
        dm("U1TWO", "1700000700.000200", "Payslip question"),
        "T0TWO",
        None,
        false,
    )
    .await;
    app.drain().await;
    let mut filed: Vec<(String, String)> = app
        .tickets()
        .await
        .iter()
        .map(|t| {
            (
                t["requester_slack_id"].as_str().unwrap().to_owned(),
                t["key"].as_str().unwrap().split('-').next().unwrap().to_owned(),
            )
        })
        .collect();
    filed.sort();
    assert_eq!(
        filed,
        vec![("U1ONE".into(), "IT".into()), ("U1TWO".into(), "HR".into())]
    );

    // A slash command and a shortcut from workspace two open their modal with its token.
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("team_id", "T0TWO")
        .append_pair("channel_id", "D1TWO")
        .append_pair("user_id", "U1TWO")
        .append_pair("command", "/desk")
        .append_pair("text", "new")
        .append_pair("response_url", &app.slack.response_url("7.7.7"))
        .append_pair("trigger_id", "7.7.7")
        .finish();
    let status = app
        .post_signed("/slack/commands", &body, "application/x-www-form-urlencoded")
        .await
        .status();
    assert_eq!(status, 200);
    let shortcut = json!({
        "type": "shortcut", "callback_id": "new_request", "trigger_id": "8.8.8",
        "user": { "id": "U1TWO" }, "team": { "id": "T0TWO" },
    });
    assert_eq!(app.interact(shortcut).await.status(), 200);
    app.drain().await;
    let opened: Vec<(String, Option<String>)> = app
        .slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "views.open")
        .map(|c| (c.params["trigger_id"].as_str().unwrap().to_owned(), c.authorization))
        .collect();
    assert_eq!(
        opened,
        vec![
            ("7.7.7".into(), bearer(&two_token)),
            ("8.8.8".into(), bearer(&two_token))
        ]
    );
}

#[tokio::test]
async fn a_guest_of_a_second_workspace_is_filed_through_that_workspace_s_facilitator() {
    let app = spawn_installable().await;
    install(&app, "T0ONE", None, false).await;
    let two = install(&app, "T0TWO", None, false).await;
    support_channel(&app, "C0TWO").await;
    app.slack.add_user(json!({
        "id": "U2FIONA", "team_id": "T0TWO", "name": "fiona", "real_name": "Fiona Two",
        "profile": { "email": "fiona@two.example", "display_name": "Fiona Two" },
    }));
    app.slack.add_user(json!({
        "id": "U2GIL", "team_id": "T0TWO", "name": "gil", "is_restricted": true,
        "profile": { "email": "gil@partner.example", "display_name": "Gil Guest" },
    }));
    // Workspace two's member is found with workspace two's token, and verified there.
    let channel = app
        .admin_ok(
            "PUT",
            "/api/v1/channels/C0TWO/facilitator",
            json!({ "slack_user_id": "U2FIONA" }),
        )
        .await;
    assert_eq!(channel["facilitator"]["slack_user_id"], "U2FIONA");
    let ts = "1700000800.000100";
    say(&app, "EvGuest", "T0TWO", "C0TWO", "U2GIL", ts, "Cannot log in").await;
    app.drain().await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(
        tickets[0]["requester_slack_id"], "U2FIONA",
        "filed through the facilitator"
    );
    answered_once_with(&app.slack.calls(), "C0TWO", ts, &two);
}

/// Wait (at most 10 s) until the pending event `key` has been tried.
async fn tried(app: &TestApp, key: &str) {
    let start = std::time::Instant::now();
    loop {
        let pending = app.admin_ok("GET", "/api/v1/inbox?state=pending", Value::Null).await;
        let attempts = pending["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["dedupe_key"] == key)
            .map(|e| e["attempts"].as_i64().unwrap());
        if attempts.is_some_and(|a| a >= 1) {
            return;
        }
        assert!(start.elapsed().as_secs() < 10, "{key} was never tried: {pending}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_token_slack_refused_is_not_asked_about_again_for_every_batch() {
    let app = TestApp::spawn().await;
    app.slack.fail("auth.test", 100, Failure::SlackError("invalid_auth"));
    // Three batches of events while Slack refuses the token (each its own channel, so
    // none holds the next back).
    app.send_ok("EvR1", message(SUPPORT, ANA, "1700000900.000100", "Printer jam"))
        .await;
    tried(&app, "event:EvR1").await;
    for (event, channel) in [("EvR2", "C0ELSE1"), ("EvR3", "C0ELSE2")] {
        app.send_ok(event, message(channel, ANA, "1700000900.000200", "hello"))
            .await;
        tried(&app, &format!("event:{event}")).await;
    }
    // Once by the worker, and perhaps once by the check at start.
    let asked = app.slack.calls_to("auth.test").len();
    assert!(asked <= 2, "auth.test {asked} times for three batches");
    // When the token works again, the events are answered.
    app.slack.heal();
    app.advance(std::time::Duration::from_secs(31)).await;
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["summary"], "Printer jam");
}
