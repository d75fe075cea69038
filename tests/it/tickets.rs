//! A top-level message in a support channel becomes a ticket, answered in its thread and
//! carded for the agents.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_message_in_a_support_channel_becomes_a_ticket_answered_in_its_thread() {
    let app = TestApp::spawn().await;

    app.say(
        "Ev1",
        ANA,
        "1700000100.000100",
        "VPN is down\nsince 9am, on every laptop",
    )
    .await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["summary"], "VPN is down");
    assert_eq!(ticket["description"], "VPN is down\nsince 9am, on every laptop");
    assert_eq!(ticket["status"], "Open");
    assert_eq!(ticket["priority"], "Normal");
    assert_eq!(ticket["source"], "channel message");
    assert_eq!(ticket["requester_slack_id"], ANA);
    assert_eq!(ticket["requester_name"], "Ana Lima");
    assert_eq!(
        ticket["permalink"],
        "https://acme.slack.com/archives/C0SUPPORT/p1700000100000100"
    );

    let replies = app.slack.messages_in(SUPPORT);
    assert_eq!(replies.len(), 1, "one reply in the thread");
    let reply = &replies[0];
    assert_eq!(reply.thread_ts.as_deref(), Some("1700000100.000100"));
    assert_eq!(reply.text, "IT-1: VPN is down");
    let blocks = reply.blocks.to_string();
    for shown in ["IT-1", "VPN is down", "Open", "Normal", "<@U0ANA>"] {
        assert!(blocks.contains(shown), "thread reply shows {shown}: {blocks}");
    }
    assert_eq!(reply.metadata.as_ref().unwrap()["event_type"], "deskhand_effect");

    let cards = app.slack.messages_in(AGENTS);
    assert_eq!(cards.len(), 1, "one card for the agents");
    assert_eq!(cards[0].thread_ts, None);
    assert!(cards[0].blocks.to_string().contains("IT-1"));

    let posted = ticket["slack_messages"].as_array().unwrap();
    assert!(posted.contains(&json!({ "role": "thread_reply", "channel_id": SUPPORT, "ts": reply.ts })));
    assert!(posted.contains(&json!({ "role": "agent_card", "channel_id": AGENTS, "ts": cards[0].ts })));
}

#[tokio::test]
async fn tickets_are_numbered_per_project() {
    let app = TestApp::spawn().await;
    app.say("Ev1", ANA, "1700000100.000100", "printer jam").await;
    app.say("Ev2", BO, "1700000100.000200", "new laptop please").await;

    assert_eq!(app.ticket("IT-1").await["summary"], "printer jam");
    assert_eq!(app.ticket("IT-2").await["summary"], "new laptop please");
    assert_eq!(app.ticket("IT-2").await["requester_name"], "Bo Agent");
}

#[tokio::test]
async fn announcements_are_not_filed() {
    let app = TestApp::spawn().await;
    app.say(
        "Ev1",
        ANA,
        "1700000100.000100",
        ":megaphone: The office is closed on Friday",
    )
    .await;

    assert!(app.tickets().await.is_empty());
    assert!(app.slack.calls_to("chat.postMessage").is_empty());
}

#[tokio::test]
async fn the_announcement_marker_is_a_channel_setting() {
    let app = TestApp::spawn().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "announcement_marker": "[FYI]" }))
        .await;
    app.say("Ev1", ANA, "1700000100.000100", "[FYI] new wifi password")
        .await;
    app.say("Ev2", ANA, "1700000100.000200", ":megaphone: this one is a request")
        .await;

    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["summary"], ":megaphone: this one is a request");
}

#[tokio::test]
async fn bots_never_file_tickets_and_deskhand_never_answers_itself() {
    let app = TestApp::spawn().await;
    let mut from_bot = message(SUPPORT, "U0OTHERBOT", "1700000100.000100", "Deploy finished");
    from_bot["bot_id"] = "B0OTHER".into();
    app.deliver("Ev1", from_bot).await;
    let mut bot_message = json!({ "type": "message", "subtype": "bot_message", "channel": SUPPORT, "ts": "1700000100.000200", "text": "alert", "bot_id": "B0X" });
    app.deliver("Ev2", bot_message.take()).await;
    let mut own = message(SUPPORT, fake_slack::BOT_USER, "1700000100.000300", "IT-1: VPN is down");
    own["bot_id"] = "B0BOT".into();
    app.deliver("Ev3", own).await;

    assert!(app.tickets().await.is_empty());
    assert!(app.slack.calls_to("chat.postMessage").is_empty());
}

#[tokio::test]
async fn messages_outside_support_channels_file_nothing() {
    let app = TestApp::spawn().await;
    app.deliver("Ev1", message("C0RANDOM", ANA, "1700000100.000100", "lunch?"))
        .await;
    app.deliver("Ev2", message(AGENTS, BO, "1700000100.000200", "who is on call?"))
        .await;
    assert!(app.tickets().await.is_empty());
}

#[tokio::test]
async fn auto_create_off_files_nothing() {
    let app = TestApp::spawn().await;
    app.set_support_channel(json!({ "auto_create": false })).await;
    app.say("Ev1", ANA, "1700000100.000100", "help").await;
    assert!(app.tickets().await.is_empty());
}

#[tokio::test]
async fn a_support_channel_without_an_agent_channel_still_answers_the_requester() {
    let app = TestApp::spawn().await;
    app.admin_ok(
        "PUT",
        "/api/v1/channels/C0HR",
        json!({ "kind": "support", "project": "IT" }),
    )
    .await;
    app.deliver("Ev1", message("C0HR", ANA, "1700000100.000100", "payslip question"))
        .await;

    assert_eq!(app.slack.messages_in("C0HR").len(), 1);
    assert!(app.slack.messages_in(AGENTS).is_empty());
}

#[tokio::test]
async fn files_are_recorded_with_name_type_size_and_permalink() {
    let app = TestApp::spawn().await;
    let fixture = fixture("message-file-share.json");
    let mut body: serde_json::Value = serde_json::from_str(&fixture).unwrap();
    body["event"]["channel"] = SUPPORT.into();
    body["event"]["user"] = ANA.into();
    app.deliver("Ev03EGJQAVMM", body["event"].take()).await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["summary"], "Hi there!");
    assert_eq!(
        ticket["attachments"],
        json!([{
            "comment_id": null, "slack_file_id": "F111", "name": "file.png", "mimetype": "image/png",
            "size": 92582, "permalink": "https://xxx.slack.com/files/U111/F111/file.png"
        }])
    );
}
