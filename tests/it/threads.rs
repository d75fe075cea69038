//! Threads stay in sync: replies become comments, edits and deletes follow.

use serde_json::{json, Value};

use crate::support::*;

const ORIGINAL: &str = "1700000100.000100";

async fn with_ticket() -> TestApp {
    let app = TestApp::spawn().await;
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    app
}

fn card_ts(app: &TestApp) -> String {
    app.slack.messages_in(AGENTS)[0].ts.clone()
}

#[tokio::test]
async fn a_reply_in_the_support_thread_is_a_public_comment() {
    let app = with_ticket().await;
    app.answer(
        "Ev2",
        BO,
        "1700000100.000500",
        ORIGINAL,
        "Have you tried turning it off and on?",
    )
    .await;

    let comments = app.ticket("IT-1").await["comments"].clone();
    assert_eq!(comments.as_array().unwrap().len(), 1);
    let comment = &comments[0];
    assert_eq!(comment["visibility"], "public");
    assert_eq!(comment["body"], "Have you tried turning it off and on?");
    assert_eq!(comment["author_slack_id"], BO);
    assert_eq!(comment["author_name"], "Bo Agent");
    assert_eq!(
        comment["on_behalf_of"],
        serde_json::Value::Null,
        "written by Bo for himself"
    );
    assert_eq!(
        comment["permalink"],
        "https://acme.slack.com/archives/C0SUPPORT/p1700000100000500?thread_ts=1700000100.000100&cid=C0SUPPORT"
    );
}

#[tokio::test]
async fn a_reply_under_the_agent_card_is_internal_and_never_reaches_the_requester() {
    let app = with_ticket().await;
    let card = card_ts(&app);
    let posts_before = app.slack.calls_to("chat.postMessage").len();

    app.deliver(
        "Ev2",
        reply(AGENTS, BO, "1700000100.000600", &card, "Probably the RADIUS cert again"),
    )
    .await;

    let comment = app.ticket("IT-1").await["comments"][0].clone();
    assert_eq!(comment["visibility"], "internal");
    assert_eq!(comment["body"], "Probably the RADIUS cert again");
    assert_eq!(
        app.slack.calls_to("chat.postMessage").len(),
        posts_before,
        "nothing was posted anywhere"
    );
    assert!(app
        .slack
        .messages_in(SUPPORT)
        .iter()
        .all(|m| !m.text.contains("RADIUS") && !m.blocks.to_string().contains("RADIUS")));
}

#[tokio::test]
async fn replies_in_threads_that_are_not_tickets_file_nothing() {
    let app = with_ticket().await;
    app.answer(
        "Ev2",
        ANA,
        "1700000100.000700",
        "1690000000.000100",
        "in some old thread",
    )
    .await;
    app.deliver(
        "Ev3",
        reply(AGENTS, BO, "1700000100.000800", "1690000000.000200", "chatter"),
    )
    .await;
    assert_eq!(app.ticket("IT-1").await["comments"], json!([]));
    assert_eq!(app.tickets().await.len(), 1, "a reply never files a new ticket");
}

#[tokio::test]
async fn thread_sync_off_keeps_replies_out_of_the_ticket() {
    let app = with_ticket().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "thread_sync": false }))
        .await;
    app.answer("Ev2", ANA, "1700000100.000500", ORIGINAL, "any news?").await;
    assert_eq!(app.ticket("IT-1").await["comments"], json!([]));
}

#[tokio::test]
async fn editing_the_original_message_edits_the_ticket_and_its_slack_messages() {
    let app = with_ticket().await;
    app.slack.clear_calls();

    app.deliver(
        "Ev2",
        edit(SUPPORT, ORIGINAL, "VPN is down in Lisbon\nsince 9am", "VPN is down"),
    )
    .await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["summary"], "VPN is down in Lisbon");
    assert_eq!(ticket["description"], "VPN is down in Lisbon\nsince 9am");
    let updates = app.slack.calls_to("chat.update");
    assert_eq!(updates.len(), 2, "the thread reply and the card are edited in place");
    assert!(
        app.slack.calls_to("chat.postMessage").is_empty(),
        "nothing is posted again"
    );
    for message in app.slack.messages() {
        assert!(message.text.contains("VPN is down in Lisbon"), "{message:?}");
    }
    let (_, audit) = app.get("/api/v1/tickets/IT-1").await;
    assert_eq!(audit["description"], "VPN is down in Lisbon\nsince 9am");
}

#[tokio::test]
async fn an_edit_that_does_not_change_the_text_changes_nothing() {
    let app = with_ticket().await;
    app.slack.clear_calls();
    // Slack sends message_changed when it unfurls a link; the words are the same.
    app.deliver("Ev2", edit(SUPPORT, ORIGINAL, "VPN is down", "VPN is down"))
        .await;
    assert!(app.slack.calls().is_empty(), "{:?}", app.slack.calls());
    assert_eq!(
        app.ticket("IT-1").await["updated_at"],
        app.ticket("IT-1").await["created_at"]
    );
}

#[tokio::test]
async fn the_real_message_changed_payload_edits_a_comment() {
    let app = with_ticket().await;
    app.answer("Ev2", ANA, "1665102338.901939", ORIGINAL, "original message")
        .await;
    let fixture = fixture("message-changed.json");
    let mut body: Value = serde_json::from_str(&fixture).unwrap();
    body["event"]["channel"] = SUPPORT.into();

    app.deliver("Ev111", body["event"].take()).await;

    let comment = app.ticket("IT-1").await["comments"][0].clone();
    assert_eq!(comment["body"], "updated message");
    assert!(comment["edited_at"].is_i64());
}

#[tokio::test]
async fn deleting_a_message_marks_it_deleted_and_keeps_its_text_in_the_audit_trail() {
    let app = with_ticket().await;
    app.answer("Ev2", ANA, "1700000100.000500", ORIGINAL, "my password is hunter2")
        .await;
    app.deliver("Ev3", delete(SUPPORT, "1700000100.000500", "my password is hunter2"))
        .await;

    let comment = app.ticket("IT-1").await["comments"][0].clone();
    assert!(comment["deleted_at"].is_i64());
    assert_eq!(comment["body"], "", "the text is no longer shown");

    app.deliver("Ev4", delete(SUPPORT, ORIGINAL, "VPN is down")).await;
    let ticket = app.ticket("IT-1").await;
    assert!(ticket["deleted_at"].is_i64());
    assert!(app.slack.messages_in(AGENTS)[0]
        .blocks
        .to_string()
        .contains("original message was deleted"));

    let audit = app.store.audit(Some(1)).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ticket_created",
            "comment_added",
            "comment_deleted",
            "ticket_message_deleted"
        ]
    );
    assert!(
        audit[2].detail.contains("hunter2"),
        "the deleted text is kept in the audit trail"
    );
}

#[tokio::test]
async fn the_real_message_deleted_payload_is_understood() {
    let app = TestApp::spawn().await;
    app.say("Ev1", ANA, "1665368619.804829", "Delete this message").await;
    let fixture = fixture("message-deleted.json");
    let mut body: Value = serde_json::from_str(&fixture).unwrap();
    body["event"]["channel"] = SUPPORT.into();
    app.deliver("Ev111", body["event"].take()).await;
    assert!(app.ticket("IT-1").await["deleted_at"].is_i64());
}

#[tokio::test]
async fn rapid_edits_coalesce_into_one_update_showing_the_latest_text() {
    let app = with_ticket().await;
    app.slack.clear_calls();
    // The first update is slow, so the edits that follow pile up behind it.
    app.slack.fail_in(
        "chat.update",
        SUPPORT,
        1,
        Failure::Slow(std::time::Duration::from_millis(800)),
    );
    app.send_ok("Ev2", edit(SUPPORT, ORIGINAL, "edit 1", "VPN is down"))
        .await;
    // The first edit is under way (and slow) while the next ones come.
    app.slack
        .wait_until("the first update", |slack| !slack.calls_to("chat.update").is_empty())
        .await;
    for n in 2..=6 {
        app.send_ok(
            &format!("Ev{}", n + 1),
            edit(SUPPORT, ORIGINAL, &format!("edit {n}"), "x"),
        )
        .await;
    }
    app.drain().await;

    let updates: Vec<_> = app
        .slack
        .calls_to("chat.update")
        .into_iter()
        .filter(|c| c.params["channel"] == SUPPORT)
        .collect();
    assert_eq!(updates.len(), 2, "the slow one, then one with the latest state");
    assert!(updates[1].params["text"].as_str().unwrap().contains("edit 6"));
    assert_eq!(app.ticket("IT-1").await["summary"], "edit 6");
}

#[tokio::test]
async fn the_audit_trail_says_who_changed_what_and_from_where() {
    let app = with_ticket().await;
    app.deliver("Ev2", edit(SUPPORT, ORIGINAL, "VPN is down in Porto", "VPN is down"))
        .await;
    let (status, audit) = app.get("/api/v1/audit?ticket=IT-1").await;
    assert_eq!(status, 200);
    let entries = audit["audit"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "ticket_created");
    assert_eq!(entries[0]["actor_slack_id"], ANA);
    assert_eq!(entries[0]["source"], "slack");
    assert_eq!(entries[1]["action"], "ticket_edited");
    assert_eq!(entries[1]["detail"]["previous"], "VPN is down");
    assert_eq!(entries[1]["detail"]["text"], "VPN is down in Porto");
    assert_eq!(app.get("/api/v1/audit?ticket=IT-404").await.0, 404);
    // Without a ticket: the configuration changes, here the channel's binding.
    let (status, body) = app.get("/api/v1/audit").await;
    assert_eq!((status, body["ticket"].clone()), (200, Value::Null));
    assert_eq!(body["audit"][0]["action"], "channel_updated");
    assert_eq!(body["audit"][0]["source"], "api");
}

#[tokio::test]
async fn a_reply_never_overtakes_its_ticket_while_slack_is_unreachable() {
    let app = TestApp::spawn().await;
    // deskhand cannot reach Slack for its first auth.test: the message waits. The reply
    // comes meanwhile, when Slack answers again, and must still wait for its ticket.
    app.slack.fail("auth.test", 1, Failure::ServerError);
    app.send_ok("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    app.slack
        .wait_until("the failed auth.test", |slack| !slack.calls_to("auth.test").is_empty())
        .await;
    let answer = reply(SUPPORT, ANA, "1700000100.000500", ORIGINAL, "still down");
    app.send_ok("Ev2", answer).await;
    app.drain().await;

    assert_eq!(app.ticket("IT-1").await["comments"][0]["body"], "still down");
}
