//! Socket Mode: with an app token and no signing secret, Slack's events, interactions and
//! slash commands come over websockets deskhand opens, go through the same ingress as HTTP,
//! and are acknowledged by envelope id, with nothing lost or doubled when a connection is
//! refreshed or cut.

use serde_json::{json, Value};

use crate::support::fakes::socket::FakeSocket;
use crate::support::*;

/// A message `user` wrote in the support channel, kept by the fake Slack (as Slack keeps
/// it), as the envelope's payload.
fn said(app: &TestApp, event_id: &str, ts: &str, text: &str) -> Value {
    app.slack.add_user_message(SUPPORT, ANA, ts, None, text);
    envelope(event_id, message(SUPPORT, ANA, ts, text))
}

fn slash_command(app: &TestApp, text: &str, trigger: &str) -> Value {
    json!({
        "token": "unused", "team_id": fake_slack::TEAM, "channel_id": SUPPORT, "user_id": ANA,
        "command": "/desk", "text": text, "trigger_id": trigger, "response_url": app.slack.response_url(trigger),
    })
}

async fn started() -> (TestApp, FakeSocket) {
    let (app, socket) = TestApp::spawn_socket_mode().await;
    socket.wait_for_connections(2).await;
    (app, socket)
}

#[tokio::test]
async fn every_kind_of_payload_arrives_over_the_socket_and_is_answered_by_its_envelope() {
    let (app, socket) = started().await;
    let opens = app.slack.calls_to("apps.connections.open");
    assert_eq!(opens.len(), 2, "two connections, so one can be refreshed without a gap");
    let auth = opens[0].authorization.as_deref();
    assert_eq!(
        auth,
        Some(format!("Bearer {APP_TOKEN}").as_str()),
        "opened with the app-level token"
    );

    let event = socket.send(
        "events_api",
        said(&app, "Ev1", "1700000100.000100", "My laptop will not boot"),
    );
    assert_eq!(socket.ack(&event).await, json!({ "envelope_id": event }));
    app.drain().await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let replies = app.posts_by_thread(SUPPORT);
    assert_eq!(
        replies.get(&Some("1700000100.000100".into())).map(Vec::len),
        Some(1),
        "the requester heard back in the thread"
    );

    let command = socket.send("slash_commands", slash_command(&app, "new", "trig-new-1"));
    assert_eq!(socket.ack(&command).await, json!({ "envelope_id": command }));
    app.drain().await;
    let form = app.slack.last_view();
    assert_eq!(form.trigger_id.as_deref(), Some("trig-new-1"), "the form opened");

    // A submission with a mistake is answered in the acknowledgement, as over HTTP.
    let submitted = view_submission(ANA, &form, &[("project", "IT"), ("summary", "  ")]);
    let submission = socket.send("interactive", submitted);
    let ack = socket.ack(&submission).await;
    assert_eq!(ack["payload"]["response_action"], "errors", "{ack}");
    assert!(ack["payload"]["errors"]["summary"].is_string(), "{ack}");

    // Without a signing secret, nothing is served over HTTP for Slack.
    let body = envelope("Ev2", message(SUPPORT, ANA, "1700000101.000100", "hi")).to_string();
    let status = app
        .post_signed("/slack/events", &body, "application/json")
        .await
        .status();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_connection_cut_in_the_middle_of_an_envelope_loses_nothing_and_doubles_nothing() {
    let (app, socket) = started().await;
    let payload = said(&app, "Ev10", "1700000200.000100", "Printer on fire");
    let cut = socket.send_cut("events_api", payload.clone());
    // Slack sends it again on the connection deskhand opens in its place.
    let ack = socket.ack(&cut).await;
    assert_eq!(ack, json!({ "envelope_id": cut }));
    assert!(socket.opened() >= 3, "deskhand reconnected");
    socket.wait_for_connections(2).await;
    // The same event again, as Slack sends it when an acknowledgement was lost.
    let again = socket.send("events_api", payload);
    socket.ack(&again).await;
    app.drain().await;
    assert_eq!(app.tickets().await.len(), 1, "one ticket for one message");
    assert_eq!(socket.acks_of(&cut).len(), 1);
}

#[tokio::test]
async fn a_refresh_opens_a_new_connection_while_the_other_keeps_receiving() {
    let (app, socket) = started().await;
    socket.disconnect("refresh_requested");
    let during = socket.send("events_api", said(&app, "Ev20", "1700000300.000100", "VPN is down"));
    socket.ack(&during).await;
    socket.wait_until("a third connection", |s| s.opened() >= 3).await;
    socket.wait_for_connections(2).await;
    socket.disconnect("warning");
    socket.wait_until("a fourth connection", |s| s.opened() >= 4).await;
    let after = socket.send("events_api", said(&app, "Ev21", "1700000301.000100", "Still down"));
    socket.ack(&after).await;
    app.drain().await;
    assert_eq!(app.tickets().await.len(), 2);
    assert_eq!(
        app.slack.calls_to("apps.connections.open").len(),
        4,
        "one new URL per refresh"
    );
}

#[tokio::test]
async fn an_app_token_slack_refuses_is_not_tried_again_and_again() {
    let slack = FakeSlack::start().await;
    slack.fail("apps.connections.open", 100, Failure::SlackError("invalid_auth"));
    let socket = FakeSocket::start().await;
    slack.serve_socket_mode(socket.url());
    let app = TestApp::spawn_on(slack, |config| {
        config.slack_signing_secret = None;
        config.slack_app_token = Some(deskhand::config::Secret::new(APP_TOKEN));
    })
    .await;
    app.slack
        .wait_until("both connections try", |s| {
            s.calls_to("apps.connections.open").len() >= 2
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        app.slack.calls_to("apps.connections.open").len(),
        2,
        "a refused token is said once, not retried"
    );
    assert_eq!(socket.opened(), 0);
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200, "deskhand still serves");
}

#[tokio::test]
async fn the_doctor_checks_the_app_token() {
    let (app, _socket) = started().await;
    let report = app.get("/api/v1/doctor").await.1;
    let check = |report: &Value| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "socket mode")
            .cloned()
            .expect("a socket mode finding")
    };
    assert_eq!(check(&report)["ok"], true, "{report}");
    app.slack
        .fail("apps.connections.open", 1, Failure::SlackError("invalid_auth"));
    let report = app.get("/api/v1/doctor").await.1;
    let finding = check(&report);
    assert_eq!(finding["ok"], false, "{report}");
    assert!(
        finding["detail"].as_str().unwrap().contains("connections:write"),
        "{finding}"
    );
}
