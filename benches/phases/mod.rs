//! The phases only deskhand goes through: a shortcut's modal (alone, behind a burst's
//! backlog, behind a queue of stored events at start), and `kill -9` under load (one
//! SQLite process restarted; one of two PostgreSQL replicas killed).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskhand::store::{NewEvent, Store};
use serde_json::json;

use super::fake_slack::FakeSlack;
use super::{collect_replies, ms, percentile, sign, stream, unix_now, wait_ready, Event, Replies, Sent, Server, USERS};

/// Send the request form's shortcut, signed, as user number `user`; when it was sent.
async fn post_shortcut(http: &reqwest::Client, addr: &str, trigger: &str, user: usize) -> Instant {
    let payload = json!({
        "type": "shortcut", "callback_id": "new_request", "trigger_id": trigger,
        "user": { "id": format!("U{user:07}") },
    });
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let timestamp = unix_now();
    let started = Instant::now();
    let response = http
        .post(format!("{addr}/slack/interactivity"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", sign(timestamp, &body))
        .body(body)
        .send()
        .await;
    assert!(
        matches!(response, Ok(r) if r.status().is_success()),
        "shortcut acknowledged"
    );
    started
}

/// How long a shortcut's modal takes to open: from the shortcut's POST to the fake Slack
/// receiving `views.open` (its `trigger_id` is valid for 3 s). 200 shortcuts at 20/s.
pub async fn modal_latency(http: &reqwest::Client, addr: &str, slack: &FakeSlack) {
    let mut sent = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    for i in 0..200 {
        ticker.tick().await;
        let trigger = format!("modal.{i}");
        let started = post_shortcut(http, addr, &trigger, i % USERS).await;
        sent.insert(trigger, started);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies: Vec<Duration> = slack
        .views()
        .into_iter()
        .filter_map(|v| {
            let started = sent.get(v.trigger_id.as_deref()?)?;
            Some(v.at.duration_since(*started))
        })
        .collect();
    latencies.sort();
    println!(
        "Shortcut → views.open: {} of 200 opened; p50 {}, p99 {}, max {}\n",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
}

/// The queues' depths, as `GET /metrics` shows them: (inbox, outbox).
async fn queue_depths(http: &reqwest::Client, addr: &str) -> (i64, i64) {
    let text = match http.get(format!("{addr}/metrics")).send().await {
        Ok(answer) => answer.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let depth = |queue: &str| {
        let prefix = format!("deskhand_queue_depth{{queue=\"{queue}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1)
    };
    (depth("inbox"), depth("outbox"))
}

/// Send one shortcut now and time it to its `views.open`, with how much was queued ahead.
pub async fn shortcut_behind_backlog(http: &reqwest::Client, addr: &str, slack: &FakeSlack, trigger: &str) -> String {
    let (inbox, outbox) = queue_depths(http, addr).await;
    let started = post_shortcut(http, addr, trigger, 0).await;
    while started.elapsed() < Duration::from_secs(30) {
        let opened = slack
            .views()
            .into_iter()
            .find(|v| v.trigger_id.as_deref() == Some(trigger));
        if let Some(view) = opened {
            return format!(
                "Shortcut behind {inbox} queued events and {outbox} queued effects → views.open in **{}**.",
                ms(view.at.duration_since(started))
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    format!("Shortcut behind {inbox} queued events and {outbox} queued effects: no views.open within 30 s.")
}

/// Stop deskhand, queue `backlog` in its inbox exactly as ingress stores events, start it
/// again and, the moment it is ready, send a shortcut: its modal must open within Slack's
/// 3 s though every queued event is ahead of it. Then time the backlog's draining.
pub async fn behind_queued_events(http: &reqwest::Client, server: &mut Server, slack: &FakeSlack, backlog: &[Event]) {
    server.kill_9();
    let store = Store::connect(&server.database_url).await.expect("the database");
    for chunk in backlog.chunks(1000) {
        let rows: Vec<NewEvent> = chunk
            .iter()
            .map(|e| NewEvent {
                dedupe_key: format!("event:{}", e.id),
                order_key: e.channel.clone(),
                body: e.body.clone(),
                urgent: false,
                installation: None,
            })
            .collect();
        store.insert_events(&rows).await.expect("events queued");
    }
    store.close().await;
    let restarted = Instant::now();
    server.restart();
    wait_ready(http, &server.addr).await;
    let ready = restarted.elapsed();
    let behind = shortcut_behind_backlog(http, &server.addr, slack, "behind.queue").await;
    let mut replies = Replies::default();
    collect_replies(slack, &mut replies, backlog, Duration::from_secs(300)).await;
    let last = backlog.iter().filter_map(|e| replies.first(&e.ts)).max();
    let drained = last.map_or(restarted.elapsed(), |l| l.duration_since(restarted));
    println!(
        "{} queued events at start (ready in {}): {behind} All answered {:.2} s after the restart ({:.0} tickets/s); {} lost, {} doubled.\n",
        backlog.len(),
        ms(ready),
        drained.as_secs_f64(),
        replies.answered(backlog) as f64 / drained.as_secs_f64(),
        backlog.len() - replies.answered(backlog),
        replies.doubled(),
    );
}

/// A moment between 30 % and 70 % of a phase of `events` at 1,000/s.
fn random_moment(events: &[Event]) -> Duration {
    Duration::from_secs_f64(events.len() as f64 / 1000.0 * rand::random_range(0.3..0.7))
}

/// Slack sends again what was not acknowledged; then every event must be answered, once.
async fn resend_and_collect(
    http: &reqwest::Client,
    url: &str,
    slack: &FakeSlack,
    events: &[Event],
    sent: &Sent,
) -> (Replies, usize) {
    let unacked: Vec<Event> = events
        .iter()
        .zip(sent)
        .filter(|(_, (_, acked))| acked.is_none())
        .map(|(e, _)| e.clone())
        .collect();
    let resent = stream(http, &[url.to_owned()], &unacked, 1000).await;
    let mut replies = Replies::default();
    collect_replies(slack, &mut replies, events, Duration::from_secs(60)).await;
    (replies, resent.len())
}

/// Of the events acknowledged by the moment `killed`, those still unanswered then: how
/// many, and the latest answer among them, from `from`.
fn recovered(
    events: &[Event],
    sent: &Sent,
    replies: &Replies,
    killed: Instant,
    from: Instant,
    by: impl Fn(usize) -> bool,
) -> (usize, usize, Duration) {
    let mut waiting = 0;
    let mut lost = 0;
    let mut latest = Duration::ZERO;
    for (i, (event, (_, acked))) in events.iter().zip(sent).enumerate() {
        if !by(i) || !acked.is_some_and(|a| a <= killed) {
            continue;
        }
        match replies.first(&event.ts) {
            Some(at) if at <= killed => {}
            Some(at) => {
                waiting += 1;
                latest = latest.max(at.saturating_duration_since(from));
            }
            None => lost += 1,
        }
    }
    (waiting, lost, latest)
}

/// SQLite: `kill -9` at a random moment of a 1,000/s stream and restart at once. Every
/// event acknowledged before the kill is answered within 2 s of the restart, none twice.
pub async fn crash_and_restart(http: &reqwest::Client, server: &mut Server, slack: &FakeSlack, events: &[Event]) {
    let url = format!("{}/slack/events", server.addr);
    let moment = random_moment(events);
    let (sent, (killed, restarted, ready)) =
        tokio::join!(stream(http, std::slice::from_ref(&url), events, 1000), async {
            tokio::time::sleep(moment).await;
            server.kill_9();
            let killed = Instant::now();
            server.restart();
            let restarted = Instant::now();
            wait_ready(http, &server.addr).await;
            (killed, restarted, restarted.elapsed())
        });
    let (replies, resent) = resend_and_collect(http, &url, slack, events, &sent).await;
    let (waiting, lost, latest) = recovered(events, &sent, &replies, killed, restarted, |_| true);
    println!(
        "`kill -9` {:.2} s into {} events at 1,000/s, restarted at once (ready in {}): {waiting} acknowledged events were unanswered at the kill; the last of them answered **{}** after the restart; {lost} of them lost. {resent} unacknowledged events sent again; {} of {} answered in all, {} doubled. Peak RSS of the restarted process: **{:.1} MiB**.\n",
        moment.as_secs_f64(),
        events.len(),
        ms(ready),
        ms(latest),
        replies.answered(events),
        events.len(),
        replies.doubled(),
        server.peak_rss_mib(),
    );
}

/// PostgreSQL: two replicas share a 1,000/s stream; one is killed at a random moment. The
/// survivor finishes the dead one's work within 10 s, none twice.
pub async fn replica_killed(
    http: &reqwest::Client,
    dead: &mut Server,
    survivor: &Server,
    slack: &FakeSlack,
    events: &[Event],
) {
    let urls = [
        format!("{}/slack/events", dead.addr),
        format!("{}/slack/events", survivor.addr),
    ];
    let moment = random_moment(events);
    let (sent, killed) = tokio::join!(stream(http, &urls, events, 1000), async {
        tokio::time::sleep(moment).await;
        dead.kill_9();
        Instant::now()
    });
    let (replies, resent) = resend_and_collect(http, &urls[1], slack, events, &sent).await;
    // The dead replica acknowledged the even-numbered events.
    let (waiting, lost, latest) = recovered(events, &sent, &replies, killed, killed, |i| i % 2 == 0);
    println!(
        "Two replicas, one killed {:.2} s into {} events at 1,000/s: it had {waiting} acknowledged events unanswered; the survivor answered the last of them **{}** after the kill; {lost} lost. {resent} unacknowledged events sent again to the survivor; {} of {} answered in all, {} doubled. Peak RSS of the survivor: **{:.1} MiB**.\n",
        moment.as_secs_f64(),
        events.len(),
        ms(latest),
        replies.answered(events),
        events.len(),
        replies.doubled(),
        survivor.peak_rss_mib(),
    );
}
