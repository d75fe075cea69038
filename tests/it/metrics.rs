//! `/metrics` counts what came in and went out and shows the queues, in Prometheus's text
//! format; `/readyz` fails while the database lacks a migration. The counters are the
//! process's, shared by the tests running in it: each assertion is about at least this
//! test's own share.

use crate::support::*;

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

async fn scrape(app: &TestApp) -> String {
    let answer = app.http.get(format!("{}/metrics", app.addr)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    answer.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_events_calls_and_tickets_and_show_the_queues() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    let stored = r#"deskhand_events_received_total{kind="event",outcome="stored"}"#;
    let duplicate = r#"deskhand_events_received_total{kind="event",outcome="duplicate"}"#;
    let count = |text: &str, series: &str| {
        if text.contains(series) {
            sample(text, series)
        } else {
            0.0
        }
    };
    let (stored_before, duplicates_before) = (count(&before, stored), count(&before, duplicate));

    let event = message(SUPPORT, ANA, "1700000100.000100", "VPN is down");
    app.deliver("EvM1", event.clone()).await;
    assert_eq!(app.send_event("EvM1", event).await, 200, "a retry");
    app.drain().await;

    let after = scrape(&app).await;
    assert!(sample(&after, stored) >= stored_before + 1.0);
    assert!(sample(&after, duplicate) >= duplicates_before + 1.0);
    assert!(
        sample(&after, r#"deskhand_tickets_created_total{kind="channel message"}"#) >= 1.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            r#"deskhand_slack_calls_total{method="chat.postMessage",outcome="ok"}"#
        ) >= 2.0
    );
    assert!(after.contains("deskhand_worker_batch_seconds_bucket"), "{after}");
    assert!(
        after.contains("deskhand_effect_seconds_count{kind=\"post_agent_card\"}"),
        "{after}"
    );
    assert_eq!(
        sample(&after, r#"deskhand_queue_depth{queue="inbox"}"#),
        0.0,
        "nothing waits after a drain"
    );
    assert!(after.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn rate_limits_and_failures_are_counted() {
    let app = TestApp::spawn().await;
    app.slack
        .fail("chat.postMessage", 1, Failure::RateLimited { retry_after: 1 });
    app.say("EvR1", ANA, "1700000100.000100", "VPN is down").await;
    app.advance(std::time::Duration::from_secs(2)).await;
    app.drain().await;
    let text = scrape(&app).await;
    assert!(
        sample(
            &text,
            r#"deskhand_slack_calls_total{method="chat.postMessage",outcome="rate_limited"}"#
        ) >= 1.0
    );
    assert!(sample(&text, "deskhand_slack_rate_limited_wait_seconds_total") >= 1.0);
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_missing() {
    let app = TestApp::spawn_bare().await;
    let ready = |app: &TestApp| {
        let url = format!("{}/readyz", app.addr);
        let http = app.http.clone();
        async move {
            let answer = http.get(url).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    assert_eq!(ready(&app).await.0, 200);
    app.run_sql("delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)")
        .await;
    assert_eq!(ready(&app).await, (503, "database migrations are pending".to_owned()));
}
