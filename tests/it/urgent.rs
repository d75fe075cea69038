//! What someone waits for goes first: a shortcut behind a backlog of messages still opens
//! its modal within Slack's 3 seconds, because interactions and their modals are claimed
//! before the backlog, in the inbox and in the outbox.

use deskhand::store::NewEvent;
use serde_json::json;

use crate::support::*;

/// How many messages wait ahead of the shortcut.
const BACKLOG: usize = 1500;

#[tokio::test]
async fn a_shortcut_behind_a_backlog_of_messages_opens_its_modal_first() {
    let app = TestApp::spawn().await;
    let backlog: Vec<NewEvent> = (0..BACKLOG)
        .map(|i| {
            let ts = format!("1700001{i:03}.{:06}", i % 1000);
            let body = envelope(&format!("EvB{i}"), message(SUPPORT, ANA, &ts, &format!("Request {i}")));
            NewEvent {
                dedupe_key: format!("event:EvB{i}"),
                order_key: SUPPORT.into(),
                body: body.to_string(),
                urgent: false,
                installation: None,
            }
        })
        .collect();
    app.store.insert_events(&backlog).await.unwrap();
    let shortcut =
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "9.9.9", "user": { "id": BO } });
    assert_eq!(app.interact(shortcut).await.status(), 200);
    app.drain().await;

    let calls = app.slack.calls();
    let opened = calls
        .iter()
        .position(|c| c.method == "views.open")
        .expect("the modal was opened");
    let posts = calls.iter().filter(|c| c.method == "chat.postMessage").count();
    let posts_before = calls[..opened]
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .count();
    assert_eq!(posts, 2 * BACKLOG, "every request got its reply and card");
    assert!(
        posts_before < posts / 4,
        "the modal opened after {posts_before} of {posts} posts: it waited behind the backlog"
    );
}
