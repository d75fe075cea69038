//! Input shaped to hurt, signed as Slack signs it: ids that are not ids, NUL characters,
//! URLs deskhand must never call, bodies that are not text or are too large. Each ends at
//! once, refused or set aside, and the next ordinary message in the same channel is
//! answered as if nothing had happened. Run on both databases like every test.

use serde_json::json;

use crate::support::*;

/// An ordinary message after the hostile input: it is filed and answered in its thread.
async fn the_channel_still_works(app: &TestApp, event_id: &str, ts: &str) {
    app.say(event_id, ANA, ts, "the printer is on fire").await;
    let filed = app.tickets().await;
    assert!(
        filed.iter().any(|t| t["summary"] == "the printer is on fire"),
        "the next message was filed: {filed:?}"
    );
    assert!(
        app.slack
            .messages_in(SUPPORT)
            .iter()
            .any(|m| m.thread_ts.as_deref() == Some(ts)),
        "and answered in its thread"
    );
}

#[tokio::test]
async fn an_event_whose_user_is_not_a_slack_id_is_set_aside_and_its_channel_moves_on() {
    let app = TestApp::spawn().await;
    let huge = format!("U{}", "X".repeat(70_000));
    app.send_ok("Ev1", message(SUPPORT, &huge, "1700000100.000100", "hello"))
        .await;
    app.the_channel_still_works_after("Ev2").await;
    assert!(
        app.slack
            .calls_to("users.info")
            .iter()
            .all(|c| c.params["user"] != huge.as_str()),
        "the odd id never reached Slack"
    );
}

impl TestApp {
    async fn the_channel_still_works_after(&self, event_id: &str) {
        the_channel_still_works(self, event_id, "1700000100.000900").await;
    }
}

#[tokio::test]
async fn a_reaction_on_a_timestamp_that_is_not_one_is_set_aside() {
    let app = TestApp::spawn().await;
    let ts = "1".repeat(70_000);
    app.send_ok("Ev1", reaction(ANA, "ticket", SUPPORT, &ts)).await;
    app.the_channel_still_works_after("Ev2").await;
    assert!(app.slack.calls_to("conversations.history").is_empty());
}

#[tokio::test]
async fn a_message_with_a_nul_character_is_filed_with_a_replacement_character() {
    let app = TestApp::spawn().await;
    app.say("Ev1", ANA, "1700000100.000100", "a\u{0}b").await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["summary"], "a\u{fffd}b");
    assert_eq!(ticket["description"], "a\u{fffd}b");
    the_channel_still_works(&app, "Ev2", "1700000100.000900").await;
}

#[tokio::test]
async fn event_ids_that_are_not_ids_are_refused_without_failing_their_neighbours() {
    let app = TestApp::spawn().await;
    let nul_id = envelope("Ev\u{0}1", message(SUPPORT, ANA, "1700000100.000100", "x")).to_string();
    let huge_id = envelope(&"E".repeat(500_000), message(SUPPORT, ANA, "1700000100.000101", "x")).to_string();
    // Sent among ordinary events, refused at the door: they share no commit with them.
    let ordinary = |n: usize| {
        let body = envelope(
            &format!("EvOk{n}"),
            message(SUPPORT, ANA, &format!("1700000200.{n:06}"), "fine"),
        );
        body.to_string()
    };
    let mut sending = tokio::task::JoinSet::new();
    for (n, (body, expected)) in (0..30)
        .map(|n| (ordinary(n), 200))
        .chain([(nul_id, 400), (huge_id, 400)])
        .enumerate()
    {
        let (http, addr) = (app.http.clone(), app.addr.clone());
        sending.spawn(async move {
            let timestamp = now_secs();
            let status = http
                .post(format!("{addr}/slack/events"))
                .header("content-type", "application/json")
                .header("x-slack-request-timestamp", timestamp.to_string())
                .header("x-slack-signature", sign(SIGNING_SECRET, timestamp, &body))
                .body(body)
                .send()
                .await
                .expect("deskhand answers")
                .status()
                .as_u16();
            (n, status, expected)
        });
    }
    while let Some(sent) = sending.join_next().await {
        let (n, status, expected) = sent.unwrap();
        assert_eq!(status, expected, "request {n}");
    }
    app.drain().await;
    assert_eq!(app.tickets().await.len(), 30);
}

#[tokio::test]
async fn slash_commands_with_odd_ids_are_refused_and_nul_channels_set_aside() {
    let app = TestApp::spawn().await;
    let huge_user = format!("U{}", "X".repeat(200_000));
    assert_eq!(app.slash(&huge_user, SUPPORT, "mine", "1.1.a").await, 400);
    assert_eq!(app.slash(ANA, "C0\u{0}X", "mine", "1.1.b").await, 200);
    assert_eq!(app.slash(ANA, SUPPORT, "help", "1.1.c").await, 200);
    app.drain().await;
    let answers = app.answers();
    assert_eq!(
        answers.len(),
        1,
        "only the well-formed command was answered: {answers:?}"
    );
    assert!(answers[0].contains("How to ask the help desk"), "{answers:?}");
    the_channel_still_works(&app, "Ev9", "1700000100.000900").await;
}

#[tokio::test]
async fn a_response_url_that_is_not_slacks_is_never_called_and_not_retried() {
    let app = TestApp::spawn().await;
    for (n, url) in [
        "",
        "zzz",
        "not a url",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://evil.example/x",
    ]
    .into_iter()
    .enumerate()
    {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("command", "/desk")
            .append_pair("text", "help")
            .append_pair("user_id", ANA)
            .append_pair("channel_id", SUPPORT)
            .append_pair("response_url", url)
            .append_pair("trigger_id", &format!("9.9.{n}"))
            .finish();
        assert_eq!(app.post_form("/slack/commands", &body).await, 200, "{url:?}");
    }
    app.drain().await;
    assert!(app.slack.responses().is_empty(), "nothing was sent anywhere");
    let (_, failed) = app.get("/api/v1/outbox?state=failed").await;
    let refused = failed["effects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["last_error"]
                .as_str()
                .unwrap_or_default()
                .contains("is not a Slack response_url")
        })
        .count();
    assert_eq!(refused, 6, "each refused before any call, recorded as failed: {failed}");
    assert_eq!(app.slash(ANA, SUPPORT, "help", "9.9.ok").await, 200);
    app.drain().await;
    assert_eq!(app.answers().len(), 1, "a real response_url is answered");
}

#[tokio::test]
async fn the_admin_api_refuses_nul_characters_in_paths_queries_and_bodies() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/projects/%00",
        "/api/v1/channels/%00",
        "/api/v1/tickets/%00",
        "/api/v1/tickets?project=%00",
        "/api/v1/audit?ticket=%00",
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    for (method, path) in [
        ("PUT", "/api/v1/channels/%00/facilitator"),
        ("DELETE", "/api/v1/channels/%00"),
    ] {
        let (status, _) = app.admin(method, path, Some(json!({ "slack_user_id": ANA }))).await;
        assert_eq!(status, 400, "{method} {path}");
    }
    let (status, body) = app
        .admin("PUT", "/api/v1/projects/ZZ", Some(json!({ "name": "a\u{0}b" })))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.get("/api/v1/projects/ZZ").await.0, 404, "nothing was stored");
    the_channel_still_works(&app, "Ev1", "1700000100.000900").await;
}

#[tokio::test]
async fn a_signed_body_that_is_not_text_is_a_400_and_an_unsigned_one_a_401() {
    let app = TestApp::spawn_bare().await;
    let body: &[u8] = b"{\"type\":\"event_callback\",\"x\":\"\xff\xfe\"}";
    let timestamp = now_secs();
    let send = |signature: String| {
        app.http
            .post(format!("{}/slack/events", app.addr))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", signature)
            .body(body.to_vec())
            .send()
    };
    let signed = sign_bytes(SIGNING_SECRET, timestamp, body);
    assert_eq!(send(signed).await.unwrap().status(), 400);
    let forged = sign_bytes("not-the-secret", timestamp, body);
    assert_eq!(send(forged).await.unwrap().status(), 401);
}

#[tokio::test]
async fn an_admin_body_over_one_mebibyte_is_a_413() {
    let app = TestApp::spawn_bare().await;
    let name = "x".repeat(3 * 1024 * 1024);
    let (status, body) = app
        .admin("PUT", "/api/v1/projects/IT", Some(json!({ "name": name })))
        .await;
    assert_eq!(status, 413, "{body}");
}

#[tokio::test]
async fn a_message_whose_text_is_a_lone_surrogate_is_filed_not_dropped() {
    let app = TestApp::spawn().await;
    // serde_json will not write a lone surrogate: the body is built as Slack's JSON text.
    let body = envelope("Ev1", message(SUPPORT, ANA, "1700000100.000100", "LONE"))
        .to_string()
        .replace("LONE", "\\ud800");
    assert_eq!(app.post_event_body(&body).await, 200);
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["summary"], "\u{fffd}");
    assert_eq!(app.slack.messages_in(SUPPORT).len(), 1, "its author is answered");
}

#[tokio::test]
async fn desk_status_with_a_nul_in_its_key_is_answered_and_nothing_stalls() {
    let app = TestApp::spawn().await;
    app.say("Ev1", ANA, "1700000100.000100", "VPN is down").await;
    assert_eq!(app.slash(ANA, SUPPORT, "status IT-1\u{0}", "2.2.a").await, 200);
    app.drain().await;
    let answers = app.answers();
    assert!(answers.iter().any(|a| a.contains("I can't find")), "{answers:?}");
    assert_eq!(app.slash(ANA, SUPPORT, "status IT-1", "2.2.b").await, 200);
    app.drain().await;
    assert!(app.answers().iter().any(|a| a.contains("VPN is down")));
}
