//! Slack failures are retried from the outbox until they succeed; nothing is posted twice;
//! permanent errors are recorded and shown, not retried forever.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

const ORIGINAL: &str = "1700000100.000100";

#[tokio::test]
async fn a_429_is_honoured_and_the_reply_is_posted_once() {
    let app = TestApp::spawn().await;
    app.slack
        .fail_in("chat.postMessage", SUPPORT, 1, Failure::RateLimited { retry_after: 1 });
    let started = app.store.now_ms();
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;

    assert_eq!(app.slack.messages_in(SUPPORT).len(), 1);
    // On deskhand's clock (which the test moves rather than waiting), the retry came at
    // least Retry-After later.
    assert!(app.store.now_ms() - started >= 1000, "waited for Retry-After");
    let attempts = app
        .slack
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.params["channel"] == SUPPORT)
        .count();
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn server_errors_and_network_failures_are_retried_until_they_succeed() {
    let app = TestApp::spawn().await;
    app.slack.fail_in("chat.postMessage", AGENTS, 2, Failure::ServerError);
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;

    assert_eq!(app.slack.messages_in(AGENTS).len(), 1, "the card arrives once");
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["slack_messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_not_posted_again() {
    let app = TestApp::spawn().await;
    // Slack posts the reply, but the answer is a 500: deskhand cannot know it was posted.
    app.slack
        .fail_in("chat.postMessage", SUPPORT, 1, Failure::AfterEffect500);
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;

    assert_eq!(app.slack.messages_in(SUPPORT).len(), 1, "exactly one thread reply");
    let lookups = app.slack.calls_to("conversations.replies");
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].params["include_all_metadata"], "true");
    assert_eq!(lookups[0].params["ts"], ORIGINAL);
    let reply_ts = app.slack.messages_in(SUPPORT)[0].ts.clone();
    let ticket = app.ticket("IT-1").await;
    assert!(ticket["slack_messages"]
        .as_array()
        .unwrap()
        .contains(&json!({ "role": "thread_reply", "channel_id": SUPPORT, "ts": reply_ts })));
}

#[tokio::test]
async fn a_card_whose_answer_timed_out_is_found_in_the_channel_history() {
    let app = TestApp::spawn().await;
    // Longer than deskhand's 1.5 s timeout: the card is posted, the answer never comes.
    app.slack
        .fail_in("chat.postMessage", AGENTS, 1, Failure::Slow(Duration::from_secs(3)));
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    // The slow answer's post lands in the fake after deskhand has given up waiting.
    app.slack
        .wait_until("the slow card", |slack| !slack.messages_in(AGENTS).is_empty())
        .await;

    assert_eq!(app.slack.messages_in(AGENTS).len(), 1, "exactly one card");
    assert_eq!(app.slack.calls_to("conversations.history").len(), 1);
}

#[tokio::test]
async fn a_permanent_error_is_recorded_and_shown_not_retried() {
    let app = TestApp::spawn().await;
    app.slack
        .fail_in("chat.postMessage", AGENTS, 1, Failure::SlackError("channel_not_found"));
    // Drained: nothing is pending, so nothing can be tried again.
    app.deliver("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;

    assert_eq!(
        app.slack.calls_to("chat.postMessage").len(),
        2,
        "the reply, and one try at the card"
    );
    let (status, failed) = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(status, 200);
    let effects = failed["effects"].as_array().unwrap();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0]["kind"], "post_agent_card");
    assert!(effects[0]["last_error"].as_str().unwrap().contains("channel_not_found"));
}

#[tokio::test]
async fn posts_to_one_channel_are_paced() {
    let app = TestApp::spawn_with(|config| {
        config.slack_channel_rate = 4.0;
        config.slack_channel_burst = 1;
    })
    .await;
    app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT" }))
        .await;
    app.set_support_channel(json!({})).await;
    app.slack.add_member(ANA, "Ana Lima", "ana@acme.example");
    for n in 0..4 {
        app.send_ok(
            &format!("Ev{n}"),
            message(SUPPORT, ANA, &format!("1700000100.00010{n}"), "x"),
        )
        .await;
    }
    app.drain().await;

    let posts: Vec<_> = app.slack.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 4, "no 429 was needed, nothing was lost");
    let span = posts[3].at.duration_since(posts[0].at);
    assert!(
        span >= Duration::from_millis(700),
        "4 posts at 4/s with no burst take ≥ 0.75 s, took {span:?}"
    );
}

#[tokio::test]
async fn a_restart_resumes_pending_work() {
    let mut app = TestApp::spawn().await;
    // Slack is down for the first attempts, and deskhand stops before it could post.
    app.slack.fail("chat.postMessage", 2, Failure::ServerError);
    app.send_ok("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    app.slack
        .wait_until("both failed attempts", |slack| {
            slack.calls_to("chat.postMessage").len() >= 2
        })
        .await;
    app.restart().await;
    app.drain().await;

    assert_eq!(app.slack.messages_in(SUPPORT).len(), 1);
    assert_eq!(app.slack.messages_in(AGENTS).len(), 1);
    assert_eq!(app.tickets().await.len(), 1);
}

#[tokio::test]
async fn an_effect_slack_keeps_failing_is_set_aside_after_a_day_not_retried_forever() {
    let app = TestApp::spawn().await;
    app.slack
        .fail_in("chat.postMessage", AGENTS, 100_000, Failure::ServerError);
    app.send_ok("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    app.slack
        .wait_until("the first try at the card", |slack| {
            slack
                .calls_to("chat.postMessage")
                .iter()
                .any(|c| c.params["channel"] == AGENTS)
        })
        .await;
    app.slack
        .wait_until("the thread reply", |slack| !slack.messages_in(SUPPORT).is_empty())
        .await;
    // A day passes on deskhand's clock, Slack failing all along.
    app.advance(Duration::from_secs(25 * 3600)).await;
    app.drain().await;

    let (_, failed) = app.get("/api/v1/outbox?state=failed").await;
    let card = &failed["effects"][0];
    assert_eq!(card["kind"], "post_agent_card", "{failed}");
    assert!(
        card["last_error"].as_str().unwrap().contains("gave up after a day"),
        "{card}"
    );
    assert_eq!(
        app.slack.messages_in(SUPPORT).len(),
        1,
        "the thread reply went out as usual"
    );
}

#[tokio::test]
async fn an_event_that_waits_a_day_for_slack_is_set_aside() {
    let app = TestApp::spawn().await;
    app.slack.fail("users.info", 100_000, Failure::ServerError);
    app.send_ok("Ev1", message(SUPPORT, ANA, ORIGINAL, "VPN is down")).await;
    app.slack
        .wait_until("the first look-up", |slack| !slack.calls_to("users.info").is_empty())
        .await;
    app.advance(Duration::from_secs(25 * 3600)).await;
    app.drain().await;

    let (_, inbox) = app.get("/api/v1/inbox?state=failed").await;
    assert_eq!(inbox["events"][0]["dedupe_key"], "event:Ev1", "{inbox}");
    assert!(app.tickets().await.is_empty());
    let reports: Vec<_> = app
        .slack
        .messages_in(AGENTS)
        .into_iter()
        .filter(|m| m.text.contains("was set aside") && m.text.contains("VPN is down"))
        .collect();
    assert_eq!(reports.len(), 1, "the agents are told once");
    let told: Vec<_> = app
        .slack
        .ephemerals()
        .into_iter()
        .filter(|e| {
            e["user"] == ANA
                && e["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("could not handle your message")
        })
        .collect();
    assert_eq!(told.len(), 1, "and so is its author");
}

/// What the inbox and the outbox finished more than a week ago is forgotten; what they
/// finished since is kept.
#[tokio::test]
async fn finished_queue_rows_are_purged_after_a_week_and_newer_ones_kept() {
    let app = TestApp::spawn().await;
    app.deliver("EvOld", message(SUPPORT, ANA, ORIGINAL, "VPN is down"))
        .await;
    app.advance(Duration::from_secs(4 * 86_400)).await;
    app.deliver("EvNew", message(SUPPORT, ANA, "1700000200.000100", "Printer is jammed"))
        .await;
    let (keys, effects) = finished(&app).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(effects, 4, "a reply and a card for each");

    app.advance(Duration::from_secs(4 * 86_400)).await;
    let start = std::time::Instant::now();
    let (keys, effects) = loop {
        let (keys, effects) = finished(&app).await;
        // The inbox is purged, then the outbox.
        if (keys.len() < 2 && effects < 4) || start.elapsed() > Duration::from_secs(10) {
            break (keys, effects);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains("EvNew"), "{keys:?}");
    assert_eq!(effects, 2, "the newer ticket's reply and card are kept");
}

/// The dedupe keys of the finished events, and how many effects are finished.
async fn finished(app: &TestApp) -> (Vec<String>, usize) {
    let (_, inbox) = app.get("/api/v1/inbox?state=done").await;
    let (_, outbox) = app.get("/api/v1/outbox?state=done").await;
    let keys = inbox["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["dedupe_key"].as_str().unwrap().to_owned())
        .collect();
    (keys, outbox["effects"].as_array().unwrap().len())
}

#[tokio::test]
async fn effects_take_turns_to_call_and_one_without_a_turn_in_time_goes_out_later_once() {
    use deskhand::sync::dispatcher::CALLS_AT_ONCE;
    // A lease of three timeouts leaves no time to wait for a turn: every effect beyond
    // the calls at once goes back to the outbox untried.
    let app = TestApp::spawn_set_up(|c| c.lease = 3 * c.slack_timeout).await;
    app.slack
        .fail("chat.postMessage", 1000, Failure::Slow(Duration::from_millis(1000)));
    let tickets = 60;
    // All at once, so that their posts are under way together.
    let sends = (0..tickets).map(|i| {
        let ts = format!("1700000100.{i:06}");
        let app = &app;
        async move {
            app.send_ok(&format!("Ev{i}"), message(SUPPORT, ANA, &ts, "VPN is down"))
                .await
        }
    });
    futures_util::future::join_all(sends).await;
    app.drain().await;

    let posts_at_once = app.slack.most_at_once("chat.postMessage");
    assert_eq!(posts_at_once, CALLS_AT_ONCE, "as many posts at once as may be, no more");
    let mut threads: Vec<String> = app
        .slack
        .messages_in(SUPPORT)
        .into_iter()
        .filter_map(|m| m.thread_ts)
        .collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), tickets, "every ticket's thread has a reply");
    assert_eq!(app.slack.messages_in(SUPPORT).len(), tickets, "and only one");
    assert_eq!(app.slack.messages_in(AGENTS).len(), tickets, "one card each");
    // Handed back untried, not as ambiguous: nothing was looked for before posting.
    assert!(app.slack.calls_to("conversations.history").is_empty());
    assert!(app.slack.calls_to("conversations.replies").is_empty());
    let (_, failed) = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(failed["effects"], json!([]), "nothing failed");
}
