//! `POST /slack/events`: only Slack gets in, every event is stored before it is
//! acknowledged, retries change nothing, and bad input gets a clear answer.

use serde_json::json;

use crate::support::*;

async fn post_raw(app: &TestApp, body: &str, timestamp: i64, signature: Option<String>) -> u16 {
    let mut request = app
        .http
        .post(format!("{}/slack/events", app.addr))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("x-slack-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn url_verification_is_answered_with_its_challenge() {
    let app = TestApp::spawn_bare().await;
    let body = json!({ "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" }).to_string();
    let response = app.post_signed("/slack/events", &body, "application/json").await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[tokio::test]
async fn requests_without_a_valid_signature_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let body = envelope("Ev1", message(SUPPORT, ANA, "1700000100.000100", "help")).to_string();
    let now = now_secs();

    assert_eq!(post_raw(&app, &body, now, None).await, 401, "no signature");
    assert_eq!(
        post_raw(&app, &body, now, Some(sign("wrong-secret", now, &body))).await,
        401,
        "wrong secret"
    );
    assert_eq!(
        post_raw(&app, &body, now, Some(sign(SIGNING_SECRET, now, "{}"))).await,
        401,
        "signature of another body"
    );
    assert_eq!(
        post_raw(&app, &body, now - 301, Some(sign(SIGNING_SECRET, now - 301, &body))).await,
        401,
        "stale timestamp"
    );
    assert_eq!(
        post_raw(&app, &body, now + 301, Some(sign(SIGNING_SECRET, now + 301, &body))).await,
        401,
        "timestamp from the future"
    );
    assert_eq!(
        post_raw(&app, &body, now - 250, Some(sign(SIGNING_SECRET, now - 250, &body))).await,
        200,
        "within five minutes"
    );
    app.drain().await;

    assert_eq!(
        app.tickets().await.len(),
        1,
        "only the signed, fresh request filed a ticket"
    );
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = TestApp::spawn_bare().await;
    let response = app
        .post_signed("/slack/events", "{\"type\": \"event_callback\", ", "application/json")
        .await;
    assert_eq!(response.status(), 400);
    let no_id = json!({ "type": "event_callback", "event": { "type": "message" } }).to_string();
    assert_eq!(app.post_event_body(&no_id).await, 400);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let app = TestApp::spawn_bare().await;
    let body = envelope("Ev1", message(SUPPORT, ANA, "1.1", &"x".repeat(1024 * 1024))).to_string();
    assert_eq!(app.post_event_body(&body).await, 413);
}

#[tokio::test]
async fn a_retried_event_files_one_ticket() {
    let app = TestApp::spawn().await;
    let event = message(SUPPORT, ANA, "1700000100.000100", "monitor flickers");
    let body = envelope("Ev42", event).to_string();
    for retry in 0..3 {
        let timestamp = now_secs();
        let status = app
            .http
            .post(format!("{}/slack/events", app.addr))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", sign(SIGNING_SECRET, timestamp, &body))
            .header("x-slack-retry-num", retry.to_string())
            .header("x-slack-retry-reason", "http_timeout")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    app.drain().await;

    assert_eq!(app.tickets().await.len(), 1);
    assert_eq!(app.slack.messages_in(SUPPORT).len(), 1, "one thread reply");
}

#[tokio::test]
async fn unknown_events_and_subtypes_are_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    app.deliver(
        "Ev1",
        json!({ "type": "pin_added", "channel_id": SUPPORT, "user": ANA }),
    )
    .await;
    app.deliver("Ev2", json!({ "type": "message", "subtype": "channel_join", "channel": SUPPORT, "user": ANA, "ts": "1.1", "text": "joined" })).await;
    app.deliver("Ev3", json!({ "type": "brand_new_event", "whatever": [1, 2, 3] }))
        .await;
    let other =
        json!({ "type": "app_rate_limited", "team_id": "T0TEAM", "minute_rate_limited": 1518467820 }).to_string();
    assert_eq!(app.post_event_body(&other).await, 200);
    app.drain().await;

    assert!(app.tickets().await.is_empty());
    let (_, failed) = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(failed["effects"], json!([]));
}

#[tokio::test]
async fn an_event_that_cannot_be_read_is_set_aside_without_blocking_its_channel() {
    let app = TestApp::spawn().await;
    // A message event without a ts: acknowledged (it is signed), then set aside.
    app.deliver(
        "Ev1",
        json!({ "type": "message", "channel": SUPPORT, "user": ANA, "text": "no ts" }),
    )
    .await;
    app.say("Ev2", ANA, "1700000100.000100", "after the broken one").await;
    assert_eq!(app.tickets().await.len(), 1);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn_bare().await;
    let health = app.http.get(format!("{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(format!("{}/readyz", app.addr)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}
