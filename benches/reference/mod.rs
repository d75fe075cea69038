//! The reference the load benchmark measures deskhand against: a minimal durable handler
//! of the same job, run as its own process (the benchmark's executable, started again
//! with `DESKHAND_BENCH_ROLE=reference`).
//!
//! For each signed Events API message it verifies the signature, inserts the event and a
//! ticket through one rusqlite writer thread that commits everything waiting in one
//! transaction, acknowledges once that commit is done, and then posts the thread reply
//! and the agent card. Nothing more: no outbox (a crash after the acknowledgement loses
//! the posts), no retries, no pacing, no projects. What it costs is what the machine
//! asks of the job; deskhand's figures are printed beside it and as ratios.

use std::sync::mpsc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::oneshot;

#[derive(Deserialize)]
struct Envelope {
    event_id: String,
    event: Message,
}

#[derive(Deserialize)]
struct Message {
    channel: String,
    user: String,
    ts: String,
    text: String,
}

#[derive(Serialize)]
struct Post<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
    text: &'a str,
}

/// One event to store; the answer is its ticket's number and message, or `None` for a
/// redelivery.
struct Write {
    envelope: Envelope,
    done: oneshot::Sender<Option<(i64, Message)>>,
}

#[derive(Clone)]
struct Reference {
    secret: &'static str,
    writes: mpsc::Sender<Write>,
    http: reqwest::Client,
    api: String,
    token: String,
}

/// Runs until killed. Environment: `DATABASE_URL` (`sqlite://path`), `DESKHAND_LISTEN`,
/// `SLACK_API_URL`, `SLACK_BOT_TOKEN`, `SLACK_SIGNING_SECRET`.
pub fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    let path = var("DATABASE_URL").trim_start_matches("sqlite://").to_owned();
    let (writes, queue) = mpsc::channel();
    let db = rusqlite::Connection::open(&path).expect("database");
    db.execute_batch(
        "pragma journal_mode = wal; pragma synchronous = normal;
         create table if not exists events (id text primary key, received_at integer not null);
         create table if not exists tickets (id integer primary key, channel text not null,
           ts text not null, user text not null, body text not null, unique (channel, ts));",
    )
    .expect("schema");
    std::thread::spawn(move || writer(db, queue));
    let reference = Reference {
        secret: Box::leak(var("SLACK_SIGNING_SECRET").into_boxed_str()),
        writes,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client"),
        api: var("SLACK_API_URL"),
        token: format!("Bearer {}", var("SLACK_BOT_TOKEN")),
    };
    let app = Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .route("/slack/events", post(event))
        .with_state(reference);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(var("DESKHAND_LISTEN"))
                .await
                .expect("bind");
            axum::serve(listener, app).await.expect("serve");
        });
}

/// The one writer: takes everything waiting and commits it in one transaction.
fn writer(mut db: rusqlite::Connection, queue: mpsc::Receiver<Write>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        let mut answers = Vec::with_capacity(batch.len());
        {
            let mut event = tx
                .prepare_cached("insert into events (id, received_at) values (?1, unixepoch()) on conflict do nothing")
                .expect("prepare");
            let mut ticket = tx
                .prepare_cached("insert into tickets (channel, ts, user, body) values (?1, ?2, ?3, ?4) returning id")
                .expect("prepare");
            for write in batch {
                let m = &write.envelope.event;
                let new = event.execute([&write.envelope.event_id]).expect("insert event") == 1;
                let id: Option<i64> = new.then(|| {
                    ticket
                        .query_row([&m.channel, &m.ts, &m.user, &m.text], |row| row.get(0))
                        .expect("insert ticket")
                });
                answers.push((write.done, id.map(|id| (id, write.envelope.event))));
            }
        }
        tx.commit().expect("commit");
        for (done, id) in answers {
            let _ = done.send(id);
        }
    }
}

fn verified(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (header("x-slack-request-timestamp"), header("x-slack-signature")) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let fresh = timestamp.parse::<i64>().is_ok_and(|t| (now - t).abs() <= 300);
    let Some(signature) = signature
        .strip_prefix("v0=")
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    fresh && mac.verify_slice(&signature).is_ok()
}

async fn event(State(r): State<Reference>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if !verified(r.secret, &headers, &body) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let (done, stored) = oneshot::channel();
    if r.writes.send(Write { envelope, done }).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    // Acknowledged only once stored; the posts follow.
    let Ok(ticket) = stored.await else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    if let Some((id, message)) = ticket {
        tokio::spawn(answer(r, id, message));
    }
    StatusCode::OK
}

/// The thread reply and the agent card.
async fn answer(r: Reference, id: i64, m: Message) {
    let reply = format!(
        "Thanks <@{}>, your request is ticket IT-{id}. An agent will pick it up.",
        m.user
    );
    let card = format!("*IT-{id}* from <@{}> in <#{}>\n{}", m.user, m.channel, m.text);
    // The benchmark's channels: `C0000123` reports to agent channel `C9000003`.
    let number: usize = m.channel.trim_start_matches('C').parse().unwrap_or(0);
    let agents = format!("C9{:06}", number % 10);
    let posts = [
        Post {
            channel: &m.channel,
            thread_ts: Some(&m.ts),
            text: &reply,
        },
        Post {
            channel: &agents,
            thread_ts: None,
            text: &card,
        },
    ];
    for post in posts {
        let _ = r
            .http
            .post(format!("{}/chat.postMessage", r.api))
            .header("authorization", &r.token)
            .json(&post)
            .send()
            .await;
    }
}
