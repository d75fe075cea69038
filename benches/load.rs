//! Load benchmark: signed Events API requests over loopback to a running `deskhand serve`
//! (release build, its own process) backed by a fast fake Slack Web API, on SQLite and on
//! PostgreSQL.
//!
//! For each database it reports:
//! - acknowledgement latency p50/p99 and event → thread reply latency p50/p99 at fixed
//!   open-loop rates (requests start on schedule, whatever the answers do);
//! - sustained messages → tickets per second: a burst of events as fast as the load
//!   generator sends them, timed until the last thread reply reaches Slack;
//! - server CPU time per event (user + system, from /proc) and peak RSS (VmHWM).
//!
//! `cargo bench --bench load`. Settings (environment): `DESKHAND_BENCH_DB` (`sqlite`,
//! `postgres` or `both`, default `both`), `DESKHAND_BENCH_SECONDS` (per fixed-rate phase,
//! default 5), `DESKHAND_BENCH_BURST` (events in the throughput phase, default 30000),
//! `DESKHAND_TEST_POSTGRES_URL` (PostgreSQL server, as in the tests), `DESKHAND_BENCH_BIN`
//! (a `deskhand` binary to measure instead of this build's).

#[path = "../tests/it/support/fakes/slack/mod.rs"]
mod fake_slack;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_slack::FakeSlack;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::sync::Semaphore;

const SECRET: &str = "bench-signing-secret";
const ADMIN: &str = "bench-admin-token";
const SUPPORT_CHANNELS: usize = 200;
const USERS: usize = 100;

fn sign(timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// One event: a top-level message in one of the support channels.
struct Event {
    ts: String,
    body: String,
}

fn make_events(run: &str, from: usize, n: usize) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            let ts = format!("{}.{:06}", 1_700_000_000 + i / 1_000_000, i % 1_000_000);
            let event = json!({
                "type": "event_callback", "team_id": fake_slack::TEAM, "api_app_id": "A0BENCH",
                "event_id": format!("Ev{run}{i:08}"), "event_time": unix_now(),
                "event": {
                    "type": "message", "channel": format!("C{:07}", i % SUPPORT_CHANNELS),
                    "user": format!("U{:07}", i % USERS), "ts": ts, "event_ts": ts, "channel_type": "channel",
                    "text": format!("Request {i}: my laptop will not connect to the VPN\nI tried restarting it twice."),
                },
            });
            Event {
                ts,
                body: event.to_string(),
            }
        })
        .collect()
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(database: &str, database_url: &str, slack: &FakeSlack) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        // `DESKHAND_BENCH_BIN`: another build to measure the same way (an earlier
        // deskhand, to compare two builds in one run on this shared machine).
        let binary = std::env::var("DESKHAND_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_deskhand").to_owned());
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-bench")
            .env("SLACK_API_URL", slack.api_url())
            .env("DATABASE_URL", database_url)
            .env("DESKHAND_LISTEN", format!("127.0.0.1:{port}"))
            .env("DESKHAND_ADMIN_TOKEN", ADMIN)
            // The fake Slack has no per-channel limit; pacing would measure the pacer.
            .env("DESKHAND_SLACK_CHANNEL_RATE", "100000")
            .env("DESKHAND_SLACK_CHANNEL_BURST", "100000")
            .env("RUST_LOG", "warn")
            // deskhand logs to stdout: keep its warnings for after the run.
            .stdout(log_file(database))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("deskhand starts");
        Server {
            child,
            addr: format!("http://127.0.0.1:{port}"),
        }
    }

    /// User + system CPU time the server has used.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 14th
        // field overall, stime the 15th, in clock ticks (100 per second on Linux).
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        Duration::from_millis(ticks * 10)
    }

    /// Peak resident memory, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// Where the server's log goes: `target/bench-<database>.log`.
fn log_file(database: &str) -> Stdio {
    let path = format!(
        "{}/bench-{database}.log",
        env!("CARGO_TARGET_TMPDIR").trim_end_matches("/tmp")
    );
    std::fs::File::create(&path).map_or_else(|_| Stdio::null(), Stdio::from)
}

async fn wait_ready(http: &reqwest::Client, addr: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(format!("{addr}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deskhand did not become ready");
}

async fn configure(http: &reqwest::Client, addr: &str) {
    let put = |path: String, body: serde_json::Value| {
        let http = http.clone();
        let url = format!("{addr}{path}");
        async move {
            let response = http
                .put(url)
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .expect("admin API");
            assert!(response.status().is_success(), "{path}: {}", response.status());
        }
    };
    put("/api/v1/projects/IT".into(), json!({ "name": "IT Help" })).await;
    for c in 0..SUPPORT_CHANNELS {
        let agents = format!("C9{:06}", c % 10);
        put(
            format!("/api/v1/channels/C{c:07}"),
            json!({ "kind": "support", "project": "IT", "agent_channel": agents }),
        )
        .await;
    }
}

async fn post_event(http: &reqwest::Client, url: &str, body: &str) -> bool {
    let timestamp = unix_now();
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", sign(timestamp, body))
        .body(body.to_owned())
        .send()
        .await;
    matches!(response, Ok(r) if r.status().is_success())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Wait until a thread reply has arrived for every event (or `within` runs out).
async fn collect_replies(slack: &FakeSlack, events: &[Event], within: Duration) -> HashMap<String, Instant> {
    let start = Instant::now();
    let mut replies = HashMap::new();
    loop {
        replies.extend(slack.take_thread_replies());
        if events.iter().all(|e| replies.contains_key(&e.ts)) || start.elapsed() > within {
            return replies;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Events at a fixed rate, open loop. Returns (ack latencies, reply latencies, failures).
async fn fixed_rate(
    http: &reqwest::Client,
    server: &Server,
    slack: &FakeSlack,
    events: Vec<Event>,
    rate: u64,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let url = format!("{}/slack/events", server.addr);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(events.len());
    let mut sent_at = HashMap::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (http, url, body) = (http.clone(), url.clone(), event.body.clone());
        let sent = Instant::now();
        sent_at.insert(event.ts.clone(), sent);
        tasks.push(tokio::spawn(async move {
            let ok = post_event(&http, &url, &body).await;
            (ok, sent.elapsed())
        }));
    }
    let mut acks = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        let (ok, latency) = task.await.expect("sender");
        if ok {
            acks.push(latency)
        } else {
            failures += 1
        }
    }
    let replies = collect_replies(slack, &events, Duration::from_secs(60)).await;
    let mut reply_latencies: Vec<Duration> = events
        .iter()
        .filter_map(|e| Some(replies.get(&e.ts)?.duration_since(sent_at[&e.ts])))
        .collect();
    failures += events.len() - reply_latencies.len();
    acks.sort();
    reply_latencies.sort();
    (acks, reply_latencies, failures)
}

/// Send the request form's shortcut, signed, as user number `user`; when it was sent.
async fn post_shortcut(http: &reqwest::Client, server: &Server, trigger: &str, user: usize) -> Instant {
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
        .post(format!("{}/slack/interactivity", server.addr))
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
async fn modal_latency(http: &reqwest::Client, server: &Server, slack: &FakeSlack) {
    let mut sent = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(50));
    for i in 0..200 {
        ticker.tick().await;
        let trigger = format!("modal.{i}");
        let started = post_shortcut(http, server, &trigger, i % USERS).await;
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
async fn shortcut_behind_backlog(http: &reqwest::Client, server: &Server, slack: &FakeSlack) -> String {
    let (inbox, outbox) = queue_depths(http, &server.addr).await;
    let trigger = "behind.backlog";
    let started = post_shortcut(http, server, trigger, 0).await;
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

async fn run(database: &str, database_url: &str) {
    let slack = FakeSlack::start().await;
    slack.stop_recording();
    for u in 0..USERS {
        slack.add_member(
            &format!("U{u:07}"),
            &format!("User {u}"),
            &format!("user{u}@acme.example"),
        );
    }
    let server = Server::start(database, database_url, &slack);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .expect("client");
    wait_ready(&http, &server.addr).await;
    configure(&http, &server.addr).await;

    let seconds: u64 = std::env::var("DESKHAND_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let burst: usize = std::env::var("DESKHAND_BENCH_BURST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000);
    println!("\n## {database}\n");

    // Warm up: every user looked up once, connections open.
    let mut next = 0;
    let warm = make_events("w", next, 2 * USERS);
    next += warm.len();
    let _ = fixed_rate(&http, &server, &slack, warm, 500).await;

    modal_latency(&http, &server, &slack).await;

    println!("| phase | events | ack p50 | ack p99 | reply p50 | reply p99 | failed | CPU/event |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for rate in [1000_u64, 2000] {
        let n = (rate * seconds) as usize;
        let events = make_events("r", next, n);
        next += n;
        let cpu = server.cpu();
        let (acks, replies, failed) = fixed_rate(&http, &server, &slack, events, rate).await;
        let cpu_per_event = (server.cpu() - cpu) / n as u32;
        println!(
            "| {rate} events/s for {seconds} s | {n} | {} | {} | {} | {} | {failed} | {:.3} ms |",
            ms(percentile(&acks, 0.5)),
            ms(percentile(&acks, 0.99)),
            ms(percentile(&replies, 0.5)),
            ms(percentile(&replies, 0.99)),
            cpu_per_event.as_secs_f64() * 1000.0,
        );
    }

    // Throughput: as fast as 64 concurrent senders go, until the last reply is in Slack.
    let events = make_events("b", next, burst);
    let cpu = server.cpu();
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(64));
    let url = format!("{}/slack/events", server.addr);
    let mut tasks = Vec::with_capacity(burst);
    for event in &events {
        let slot = slots.clone().acquire_owned().await.expect("semaphore");
        let (http, url, body) = (http.clone(), url.clone(), event.body.clone());
        tasks.push(tokio::spawn(async move {
            let ok = post_event(&http, &url, &body).await;
            drop(slot);
            ok
        }));
    }
    let mut acked = 0;
    for task in tasks {
        acked += usize::from(task.await.expect("sender"));
    }
    let acked_in = start.elapsed();
    // A shortcut sent behind what the burst left queued: its modal must open within
    // Slack's 3 s.
    let behind = shortcut_behind_backlog(&http, &server, &slack).await;
    let replies = collect_replies(&slack, &events, Duration::from_secs(300)).await;
    let done_in = replies
        .values()
        .max()
        .map_or(start.elapsed(), |last| last.duration_since(start));
    let cpu_per_event = (server.cpu() - cpu) / burst as u32;
    println!(
        "| burst of {burst}, 64 senders | {burst} | acknowledged {acked} in {:.2} s ({:.0}/s) | | {} replied in {:.2} s | | {} | {:.3} ms |",
        acked_in.as_secs_f64(),
        acked as f64 / acked_in.as_secs_f64(),
        replies.len(),
        done_in.as_secs_f64(),
        burst - replies.len(),
        cpu_per_event.as_secs_f64() * 1000.0,
    );
    println!("\n{behind}");
    println!(
        "\nSustained messages → tickets (answered in their thread): **{:.0}/s**; peak RSS **{:.1} MiB**.",
        replies.len() as f64 / done_in.as_secs_f64(),
        server.peak_rss_mib()
    );
}

async fn postgres_database() -> Option<(String, String)> {
    use sqlx::Connection;
    let admin = std::env::var("DESKHAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) => {
            println!("\n## postgres\n\nskipped: PostgreSQL at {admin} is unreachable ({e})");
            return None;
        }
    };
    let name = format!("deskhand_bench_{:08x}", rand::random::<u32>());
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
    Some((format!("{base}/{name}"), name))
}

async fn drop_postgres_database(name: &str) {
    use sqlx::Connection;
    let admin = std::env::var("DESKHAND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
            .execute(&mut conn)
            .await;
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: only run
    // when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let which = std::env::var("DESKHAND_BENCH_DB").unwrap_or_else(|_| "both".into());
    runtime.block_on(async {
        println!(
            "# deskhand load benchmark ({} cores)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        if which == "sqlite" || which == "both" {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run("sqlite", &url).await;
        }
        if which == "postgres" || which == "both" {
            if let Some((url, name)) = postgres_database().await {
                run("postgres", &url).await;
                drop_postgres_database(&name).await;
            }
        }
    });
}
