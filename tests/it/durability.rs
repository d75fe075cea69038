//! Nothing lost, nothing doubled, with real processes: `kill -9` in the middle of a stream
//! of events, and two replicas sharing one PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskhand::store::Store;
use serde_json::json;

use crate::support::process::{self, Server};
use crate::support::*;

/// Events as Slack would send them: one top-level message each, in one support channel.
fn events(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let ts = format!("1700001000.{:06}", i + 1);
            let body = envelope(
                &format!("EvD{i:05}"),
                message(SUPPORT, ANA, &ts, &format!("request number {i}")),
            )
            .to_string();
            (format!("EvD{i:05}"), body)
        })
        .collect()
}

async fn send(http: &reqwest::Client, addr: &str, body: &str, retry: u32) -> Option<u16> {
    let timestamp = now_secs();
    let mut request = http
        .post(format!("{addr}/slack/events"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", sign(SIGNING_SECRET, timestamp, body))
        .timeout(Duration::from_secs(5))
        .body(body.to_owned());
    if retry > 0 {
        request = request.header("x-slack-retry-num", retry.to_string());
    }
    request.send().await.ok().map(|r| r.status().as_u16())
}

async fn configure(http: &reqwest::Client, addr: &str) {
    for (path, body) in [
        ("/api/v1/projects/IT", json!({ "name": "IT Help" })),
        (
            &format!("/api/v1/channels/{SUPPORT}") as &str,
            json!({ "kind": "support", "project": "IT", "agent_channel": AGENTS }),
        ),
    ] {
        let status = http
            .put(format!("{addr}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{path}: {status}");
    }
}

/// Wait until `n` tickets exist and nothing is left to do.
async fn wait_for_tickets(store: &Store, n: usize, within: Duration) {
    let start = Instant::now();
    loop {
        let tickets = store.tickets(None, None, 100_000).await.unwrap().len();
        let backlog = store.backlog().await.unwrap();
        if tickets >= n && backlog == (0, 0) {
            return;
        }
        assert!(
            start.elapsed() < within,
            "after {within:?}: {tickets} of {n} tickets, backlog {backlog:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every ticket was filed once and answered once, in its own thread.
async fn assert_each_filed_and_answered_once(store: &Store, slack: &FakeSlack, n: usize) {
    let tickets = store.tickets(None, None, 100_000).await.unwrap();
    assert_eq!(tickets.len(), n, "one ticket per event");
    let sources: HashSet<_> = tickets.iter().map(|t| t.message_ts.clone()).collect();
    assert_eq!(sources.len(), n, "no message filed twice");
    let mut replies: HashMap<String, usize> = HashMap::new();
    for message in slack.messages_in(SUPPORT) {
        *replies
            .entry(message.thread_ts.clone().expect("replies are in threads"))
            .or_default() += 1;
    }
    assert_eq!(replies.len(), n, "every ticket answered");
    assert!(
        replies.values().all(|&count| count == 1),
        "no thread answered twice: {:?}",
        replies.iter().filter(|(_, &c)| c > 1).collect::<Vec<_>>()
    );
    assert_eq!(slack.messages_in(AGENTS).len(), n, "one card per ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_event_and_files_no_ticket_twice() {
    const N: usize = 400;
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await;
    slack.add_member(ANA, "Ana Lima", "ana@acme.example");
    let env = process::env(db.url(), &slack);
    let http = reqwest::Client::new();

    let server = Server::start(&env);
    configure(&http, &server.addr).await;

    // Eight senders stream events at the server; it is killed while they do.
    let all = Arc::new(events(N));
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let mut senders = Vec::new();
    for lane in 0..8 {
        let (all, acknowledged, http, addr) = (all.clone(), acknowledged.clone(), http.clone(), server.addr.clone());
        senders.push(tokio::spawn(async move {
            for (id, body) in all.iter().skip(lane).step_by(8) {
                match send(&http, &addr, body, 0).await {
                    Some(200) => {
                        acknowledged.lock().unwrap().insert(id.clone());
                    }
                    Some(status) => panic!("{id}: {status}"),
                    None => return, // the server is gone
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < N / 3 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill_9();
    for sender in senders {
        sender.await.unwrap();
    }
    let acked_before_kill = acknowledged.lock().unwrap().len();
    assert!(acked_before_kill < N, "the kill came before everything was sent");

    // Nothing the dead process acknowledged may be lost: look before anything is retried.
    let store = Store::connect(db.url()).await.unwrap();
    let stored: i64 = {
        let (pending, _) = store.backlog().await.unwrap();
        pending + store.tickets(None, None, 100_000).await.unwrap().len() as i64
    };
    assert!(stored >= 1, "work was stored before the kill");

    // Restart; Slack retries whatever was not acknowledged, and (at least once) some that
    // were: a retry of anything stored must change nothing.
    let server = Server::start(&env);
    for (id, body) in all.iter() {
        let retry = if acknowledged.lock().unwrap().contains(id) {
            1
        } else {
            2
        };
        assert_eq!(send(&http, &server.addr, body, retry).await, Some(200), "{id}");
    }
    wait_for_tickets(&store, N, Duration::from_secs(60)).await;
    // Let any post the dead process left in flight come back after its lease.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    wait_for_tickets(&store, N, Duration::from_secs(30)).await;

    assert_each_filed_and_answered_once(&store, &slack, N).await;
    server.kill_9();
    store.close().await;
}

/// On SQLite one process has the database: a restart takes back at once what the killed
/// process had claimed, instead of waiting out its lease (ten minutes here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_on_sqlite_claimed_work_resumes_at_once_and_nothing_is_posted_twice() {
    const N: usize = 20;
    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    slack.add_member(ANA, "Ana Lima", "ana@acme.example");
    let mut env = process::env(db.url(), &slack);
    env.retain(|(name, _)| *name != "DESKHAND_LEASE_MS");
    env.push(("DESKHAND_LEASE_MS", "600000".into()));
    let http = reqwest::Client::new();
    let server = Server::start(&env);
    configure(&http, &server.addr).await;
    // The first four agent cards hang for 900 ms: they are under way when the process
    // dies, their effects claimed.
    slack.fail_in("chat.postMessage", AGENTS, 4, Failure::Slow(Duration::from_millis(900)));
    let all = events(N);
    for (id, body) in &all {
        assert_eq!(send(&http, &server.addr, body, 0).await, Some(200), "{id}");
    }
    let cards_under_way = |s: &FakeSlack| {
        s.calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.params["channel"] == AGENTS)
            .count()
    };
    slack
        .wait_until("four cards under way", |s| cards_under_way(s) >= 4)
        .await;
    server.kill_9();
    let store = Store::connect(db.url()).await.unwrap();
    let (_, leased_effects) = {
        let queues = store.queues().await.unwrap();
        (queues.inbox.leased, queues.outbox.leased)
    };
    assert!(leased_effects > 0, "the dead process held claims");

    let server = Server::start(&env);
    wait_for_tickets(&store, N, Duration::from_secs(60)).await;
    assert_each_filed_and_answered_once(&store, &slack, N).await;
    // The cards that were under way may have been posted: each was looked for before it
    // was sent again, all of them in one read of the agent channel's history.
    assert_eq!(
        slack.calls_to("conversations.history").len(),
        1,
        "one search of the channel for all its lost cards"
    );
    server.kill_9();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgresql_never_handle_an_event_twice() {
    const N: usize = 300;
    let Some(db) = TestDb::postgres_or_skip("two_replicas_on_one_postgresql_never_handle_an_event_twice").await else {
        return;
    };
    let slack = FakeSlack::start().await;
    slack.add_member(ANA, "Ana Lima", "ana@acme.example");
    let env = process::env(db.url(), &slack);
    let http = reqwest::Client::new();
    let (a, b) = (Server::start(&env), Server::start(&env));
    configure(&http, &a.addr).await;

    // Every event reaches both replicas, the way retries behind a load balancer do.
    let all = events(N);
    let mut deliveries = Vec::new();
    for (i, (_, body)) in all.into_iter().enumerate() {
        let (http, first, second) = if i % 2 == 0 {
            (http.clone(), a.addr.clone(), b.addr.clone())
        } else {
            (http.clone(), b.addr.clone(), a.addr.clone())
        };
        deliveries.push(tokio::spawn(async move {
            let (x, y) = tokio::join!(send(&http, &first, &body, 0), send(&http, &second, &body, 1));
            assert_eq!((x, y), (Some(200), Some(200)));
        }));
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let store = Store::connect(db.url()).await.unwrap();
    wait_for_tickets(&store, N, Duration::from_secs(60)).await;

    assert_each_filed_and_answered_once(&store, &slack, N).await;
    let numbers: HashSet<_> = store
        .tickets(None, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(numbers.len(), N, "no ticket number given twice");
    assert!(
        numbers.contains(&format!("IT-{N}")) && !numbers.contains(&format!("IT-{}", N + 1)),
        "numbers have no gaps"
    );
    store.close().await;
}

/// Two replicas share the work; one is killed while it holds claims, and the other takes
/// them over and finishes everything within seconds, although their lease is a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_has_its_work_finished_by_the_survivor_within_seconds() {
    use sqlx::Connection;
    const N: usize = 200;
    let test = "a_replica_killed_under_load_has_its_work_finished_by_the_survivor_within_seconds";
    let Some(db) = TestDb::postgres_or_skip(test).await else {
        return;
    };
    let slack = FakeSlack::start().await;
    slack.add_member(ANA, "Ana Lima", "ana@acme.example");
    // Slow posts, so that both replicas have calls under way until the kill.
    slack.fail("chat.postMessage", 100_000, Failure::Slow(Duration::from_millis(500)));
    let mut env = process::env(db.url(), &slack);
    env.retain(|(k, _)| *k != "DESKHAND_LEASE_MS");
    env.push(("DESKHAND_LEASE_MS", "60000".into()));
    let http = reqwest::Client::new();
    let (a, b) = (Server::start(&env), Server::start(&env));
    configure(&http, &a.addr).await;
    for (i, (id, body)) in events(N).iter().enumerate() {
        let addr = if i % 2 == 0 { &a.addr } else { &b.addr };
        assert_eq!(send(&http, addr, body, 0).await, Some(200), "{id}");
    }

    // Kill the first replica while it holds claims.
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    let held_by_a = format!(
        "select (select count(*) from inbox where claimed_by like '{pid}-%' and state = 'pending' and lease_until is not null)
              + (select count(*) from outbox where claimed_by like '{pid}-%' and state = 'pending' and lease_until is not null)",
        pid = a.child.id()
    );
    let waited = Instant::now();
    loop {
        let held: i64 = sqlx::query_scalar(&held_by_a).fetch_one(&mut conn).await.unwrap();
        if held > 0 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the first replica never held work"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill_9();
    let killed = Instant::now();
    slack.heal();

    let store = Store::connect(db.url()).await.unwrap();
    // Without the takeover, the dead replica's claims would wait out their minute-long
    // lease. (Within 10 s on a quiet machine; the bound leaves room for a busy one.)
    wait_for_tickets(&store, N, Duration::from_secs(20)).await;
    let finished = killed.elapsed();
    eprintln!("the survivor finished the dead replica's work {finished:?} after the kill");
    assert!(
        finished < Duration::from_secs(20),
        "the survivor finished in {finished:?}"
    );
    assert_each_filed_and_answered_once(&store, &slack, N).await;
    let workers: i64 = sqlx::query_scalar("select count(distinct claimed_by) from outbox where state = 'done'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(workers >= 2, "both replicas did work");
    b.kill_9();
    store.close().await;
}

/// Replicas keep one channel's posting pace between them: what one replica took from a
/// channel's budget, another cannot take again (on SQLite one process paces alone).
#[tokio::test]
async fn replicas_share_one_channel_s_posting_budget() {
    use deskhand::sync::ratelimit::ChannelPacer;
    let Some(db) = TestDb::postgres_or_skip("replicas_share_one_channel_s_posting_budget").await else {
        return;
    };
    let first = Store::connect(db.url()).await.unwrap();
    first.migrate().await.unwrap();
    let second = Store::connect(db.url()).await.unwrap();
    // One post a second, two at once.
    let (a, b) = (
        ChannelPacer::new(1.0, 2).shared_through(first.clone()),
        ChannelPacer::new(1.0, 2).shared_through(second.clone()),
    );
    assert_eq!(a.take(SUPPORT).await, Ok(()));
    assert_eq!(a.take(SUPPORT).await, Ok(()));
    let wait = b
        .take(SUPPORT)
        .await
        .expect_err("the burst is spent, whichever replica asks");
    assert!(
        wait > Duration::from_millis(800) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert_eq!(b.take(AGENTS).await, Ok(()), "another channel has its own budget");
    first.close().await;
    second.close().await;
}

/// A replica that the last beat found alone paces by itself, without a statement per post;
/// once another has joined, each post takes its turn from the budget they share, and when
/// the other has left, the one that stays paces alone again.
#[tokio::test]
async fn a_replica_alone_paces_by_itself_until_another_joins() {
    use deskhand::sync::ratelimit::ChannelPacer;
    use sqlx::Connection;
    let Some(db) = TestDb::postgres_or_skip("a_replica_alone_paces_by_itself_until_another_joins").await else {
        return;
    };
    let first = Store::connect(db.url()).await.unwrap();
    first.migrate().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    async fn shared_turns(conn: &mut sqlx::PgConnection) -> i64 {
        sqlx::query_scalar("select count(*) from channel_pace")
            .fetch_one(conn)
            .await
            .unwrap()
    }
    assert!(
        first.shares_pace(),
        "until a beat has said otherwise, others may be posting"
    );
    first.heartbeat().await.unwrap();
    assert!(!first.shares_pace());
    let alone = ChannelPacer::new(1.0, 2).shared_through(first.clone());
    assert_eq!(alone.take(SUPPORT).await, Ok(()));
    assert_eq!(alone.take(SUPPORT).await, Ok(()));
    assert!(alone.take(SUPPORT).await.is_err(), "its own bucket keeps the pace");
    assert_eq!(shared_turns(&mut conn).await, 0, "nothing asked of the database");

    let second = Store::connect(db.url()).await.unwrap();
    second.heartbeat().await.unwrap();
    first.heartbeat().await.unwrap();
    assert!(first.shares_pace() && second.shares_pace());
    let (a, b) = (
        ChannelPacer::new(1.0, 2).shared_through(first.clone()),
        ChannelPacer::new(1.0, 2).shared_through(second.clone()),
    );
    assert_eq!(a.take(AGENTS).await, Ok(()));
    assert_eq!(a.take(AGENTS).await, Ok(()));
    assert!(b.take(AGENTS).await.is_err(), "the other replica sees the budget spent");
    assert_eq!(shared_turns(&mut conn).await, 1);

    second.leave().await.unwrap();
    first.heartbeat().await.unwrap();
    assert!(!first.shares_pace(), "the other has left");
    first.close().await;
    second.close().await;
}
