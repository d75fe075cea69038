//! What someone waits for goes first: a shortcut behind a backlog of messages still opens
//! its modal within Slack's 3 seconds, because interactions and their modals are claimed
//! before the backlog, in the inbox and in the outbox.

use deskhand::store::NewEvent;
use serde_json::json;

use crate::support::*;

/// How many messages wait ahead of the shortcut.
const BACKLOG: usize = 1500;

/// Store `n` messages from Ana in the support channel in the inbox, as ingress would.
async fn queue_messages(app: &TestApp, prefix: &str, n: usize, ts: impl Fn(usize) -> String) {
    let backlog: Vec<NewEvent> = (0..n)
        .map(|i| {
            let id = format!("{prefix}{i}");
            let body = envelope(&id, message(SUPPORT, ANA, &ts(i), &format!("Request {i}")));
            NewEvent {
                dedupe_key: format!("event:{id}"),
                order_key: SUPPORT.into(),
                body: body.to_string(),
                urgent: false,
                installation: None,
            }
        })
        .collect();
    app.store.insert_events(&backlog).await.unwrap();
}

#[tokio::test]
async fn a_shortcut_behind_a_backlog_of_messages_opens_its_modal_first() {
    let app = TestApp::spawn().await;
    queue_messages(&app, "EvB", BACKLOG, |i| format!("1700001{i:03}.{:06}", i % 1000)).await;
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

/// The urgent lane: while the worker is in the middle of a batch (here waiting on a slow
/// `users.info` for a message's author), a shortcut is claimed and answered beside it.
#[tokio::test]
async fn a_shortcut_is_answered_while_the_worker_is_busy_with_a_batch() {
    let app = TestApp::spawn().await;
    app.slack
        .fail("users.info", 1, Failure::Slow(std::time::Duration::from_millis(1200)));
    assert_eq!(
        app.send_event(
            "EvBusy",
            message(SUPPORT, ANA, "1700002000.000100", "My printer is jammed")
        )
        .await,
        200
    );
    app.slack
        .wait_until("the worker looking the author up", |s| {
            !s.calls_to("users.info").is_empty()
        })
        .await;
    let shortcut =
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "8.8.8", "user": { "id": BO } });
    assert_eq!(app.interact(shortcut).await.status(), 200);
    app.drain().await;

    let calls = app.slack.calls();
    let position = |method: &str| calls.iter().position(|c| c.method == method);
    let opened = position("views.open").expect("the modal was opened");
    let replied = position("chat.postMessage").expect("the message got its reply");
    assert!(
        opened < replied,
        "the modal waited for the batch in progress: views.open came after the message's reply"
    );
}

/// The dispatcher: with its slots nearly all taken by slow posts, and every turn to call
/// taken, a modal still goes out into a free slot at once, without waiting for a batch of
/// slots or a turn to free up.
#[tokio::test]
async fn a_modal_takes_a_free_slot_while_the_dispatcher_is_nearly_full() {
    use deskhand::sync::dispatcher::CALLS_AT_ONCE;
    const MESSAGES: usize = 120;
    const SLOW: std::time::Duration = std::time::Duration::from_millis(1000);
    // A lease long enough that no post tires of waiting for its turn.
    let app = TestApp::spawn_set_up(|c| c.lease = std::time::Duration::from_secs(60)).await;
    app.slack.fail("chat.postMessage", 100_000, Failure::Slow(SLOW));
    queue_messages(&app, "EvF", MESSAGES, |i| format!("1700003{i:03}.000100")).await;
    // 240 slow posts claimed (16 of the 256 slots are free), as many under way as may be.
    app.slack
        .wait_until("the posts under way", |s| {
            s.calls_to("chat.postMessage").len() >= CALLS_AT_ONCE
        })
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.store.queues().await.unwrap().outbox.leased < 2 * MESSAGES as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the posts were never all claimed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let shortcut =
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "7.7.7", "user": { "id": BO } });
    assert_eq!(app.interact(shortcut).await.status(), 200);
    app.drain().await;

    let calls = app.slack.calls();
    let first_post = calls.iter().find(|c| c.method == "chat.postMessage").expect("posts").at;
    let opened = calls
        .iter()
        .find(|c| c.method == "views.open")
        .expect("the modal was opened")
        .at;
    assert!(
        opened < first_post + SLOW,
        "views.open waited until the slow posts had finished and freed their slots"
    );
}

/// A full batch takes what someone waits for before the backlog, however far behind it
/// arrived, and the rest of the batch is the oldest of the backlog, in order.
#[tokio::test]
async fn a_full_batch_takes_urgent_events_before_the_backlog() {
    let db = TestDb::new().await;
    let store = deskhand::store::Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let event = |i: usize, urgent: bool| NewEvent {
        dedupe_key: format!("event:Ev{i:04}"),
        // Each in a channel of its own: nothing is held back behind an earlier event.
        order_key: format!("C{i:04}"),
        body: "{}".into(),
        urgent,
        installation: None,
    };
    let mut events: Vec<NewEvent> = (0..300).map(|i| event(i, false)).collect();
    events.push(event(300, true));
    store.insert_events(&events).await.unwrap();

    let batch = store.claim_events(100, 60_000, false).await.unwrap();
    let keys: Vec<&str> = batch.iter().map(|e| e.dedupe_key.as_str()).collect();
    assert_eq!(batch.len(), 100);
    assert!(
        keys.contains(&"event:Ev0300"),
        "the urgent event waited behind the backlog"
    );
    let backlog: Vec<String> = (0..99).map(|i| format!("event:Ev{i:04}")).collect();
    assert_eq!(keys[..99], backlog.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    store.close().await;
}
