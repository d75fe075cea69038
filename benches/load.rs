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
mod phases;
mod reference;

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
#[derive(Clone)]
struct Event {
    id: String,
    channel: String,
    ts: String,
    body: String,
}

fn make_events(run: &str, from: usize, n: usize) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            let ts = format!("{}.{:06}", 1_700_000_000 + i / 1_000_000, i % 1_000_000);
            let (id, channel) = (format!("Ev{run}{i:08}"), format!("C{:07}", i % SUPPORT_CHANNELS));
            let event = json!({
                "type": "event_callback", "team_id": fake_slack::TEAM, "api_app_id": "A0BENCH",
                "event_id": id, "event_time": unix_now(),
                "event": {
                    "type": "message", "channel": channel,
                    "user": format!("U{:07}", i % USERS), "ts": ts, "event_ts": ts, "channel_type": "channel",
                    "text": format!("Request {i}: my laptop will not connect to the VPN\nI tried restarting it twice."),
                },
            });
            Event {
                id,
                channel,
                ts,
                body: event.to_string(),
            }
        })
        .collect()
}

/// What is measured: deskhand, or the minimal durable handler beside it.
#[derive(Clone, Copy, PartialEq)]
enum System {
    Reference,
    Deskhand,
}

struct Server {
    child: Child,
    addr: String,
    port: u16,
    system: System,
    log: String,
    database_url: String,
    slack_api: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

impl Server {
    /// Start `system` on a free port; its log goes to `target/bench-<log>.log`.
    fn start(system: System, log: &str, database_url: &str, slack: &FakeSlack) -> Server {
        let port = free_port();
        let child = Self::spawn(system, log, port, database_url, &slack.api_url());
        Server {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            port,
            system,
            log: log.to_owned(),
            database_url: database_url.to_owned(),
            slack_api: slack.api_url(),
        }
    }

    fn spawn(system: System, log: &str, port: u16, database_url: &str, slack_api: &str) -> Child {
        let mut command = match system {
            // `DESKHAND_BENCH_BIN`: another build to measure the same way (an earlier
            // deskhand, to compare two builds in one run on this shared machine).
            System::Deskhand => {
                let binary =
                    std::env::var("DESKHAND_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_deskhand").to_owned());
                let mut command = Command::new(binary);
                command.arg("serve");
                command
            }
            System::Reference => Command::new(std::env::current_exe().expect("this benchmark's path")),
        };
        command.env_clear();
        if system == System::Reference {
            command.env("DESKHAND_BENCH_ROLE", "reference");
        }
        command
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env("SLACK_BOT_TOKEN", "xoxb-bench")
            .env("SLACK_API_URL", slack_api)
            .env("DATABASE_URL", database_url)
            .env("DESKHAND_LISTEN", format!("127.0.0.1:{port}"))
            .env("DESKHAND_ADMIN_TOKEN", ADMIN)
            // The fake Slack has no per-channel limit; pacing would measure the pacer.
            .env("DESKHAND_SLACK_CHANNEL_RATE", "100000")
            .env("DESKHAND_SLACK_CHANNEL_BURST", "100000")
            .env("RUST_LOG", "warn")
            // deskhand logs to stdout: keep its warnings for after the run.
            .stdout(log_file(log))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts")
    }

    /// `kill -9`: no shutdown, no flush, nothing.
    fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start the same system again on the same port and database (after `kill_9`).
    fn restart(&mut self) {
        self.child = Self::spawn(self.system, &self.log, self.port, &self.database_url, &self.slack_api);
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
fn log_file(name: &str) -> Stdio {
    let path = format!(
        "{}/bench-{name}.log",
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

/// Thread replies seen so far, by the `thread_ts` they answered: when the first arrived,
/// and how many there were.
#[derive(Default)]
struct Replies(HashMap<String, (Instant, usize)>);

impl Replies {
    fn take(&mut self, slack: &FakeSlack) {
        for (ts, at) in slack.take_thread_replies() {
            self.0.entry(ts).or_insert((at, 0)).1 += 1;
        }
    }

    fn first(&self, ts: &str) -> Option<Instant> {
        self.0.get(ts).map(|(at, _)| *at)
    }

    fn answered(&self, events: &[Event]) -> usize {
        events.iter().filter(|e| self.0.contains_key(&e.ts)).count()
    }

    /// Threads answered more than once.
    fn doubled(&self) -> usize {
        self.0.values().filter(|(_, n)| *n > 1).count()
    }
}

/// Wait until a thread reply has arrived for every event (or `within` runs out), then a
/// moment more, so that a second reply would be seen too.
async fn collect_replies(slack: &FakeSlack, replies: &mut Replies, events: &[Event], within: Duration) {
    let start = Instant::now();
    while replies.answered(events) < events.len() && start.elapsed() < within {
        tokio::time::sleep(Duration::from_millis(5)).await;
        replies.take(slack);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    replies.take(slack);
}

/// When each event was sent and, if it was acknowledged, when.
type Sent = Vec<(Instant, Option<Instant>)>;

/// Events at a fixed rate, open loop, spread over `urls` in turn.
async fn stream(http: &reqwest::Client, urls: &[String], events: &[Event], rate: u64) -> Sent {
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        tokio::time::sleep_until((start + interval * i as u32).into()).await;
        let (http, url, body) = (http.clone(), urls[i % urls.len()].clone(), event.body.clone());
        let sent = Instant::now();
        tasks.push(tokio::spawn(async move {
            let ok = post_event(&http, &url, &body).await;
            (sent, ok.then(Instant::now))
        }));
    }
    let mut sent = Vec::with_capacity(tasks.len());
    for task in tasks {
        sent.push(task.await.expect("sender"));
    }
    sent
}

/// One fixed-rate phase.
struct Rate {
    rate: u64,
    events: usize,
    acks: Vec<Duration>,
    replies: Vec<Duration>,
    failed: usize,
    cpu: Duration,
}

async fn fixed_rate(http: &reqwest::Client, server: &Server, slack: &FakeSlack, events: &[Event], rate: u64) -> Rate {
    let cpu = server.cpu();
    let sent = stream(http, &[format!("{}/slack/events", server.addr)], events, rate).await;
    let mut replies = Replies::default();
    collect_replies(slack, &mut replies, events, Duration::from_secs(60)).await;
    let cpu = (server.cpu() - cpu) / events.len() as u32;
    let mut acks: Vec<Duration> = sent
        .iter()
        .filter_map(|(at, acked)| Some(acked.as_ref()?.duration_since(*at)))
        .collect();
    let mut reply_latencies: Vec<Duration> = events
        .iter()
        .zip(&sent)
        .filter_map(|(e, (at, _))| Some(replies.first(&e.ts)?.duration_since(*at)))
        .collect();
    acks.sort();
    reply_latencies.sort();
    Rate {
        rate,
        events: events.len(),
        failed: events.len() - acks.len().min(reply_latencies.len()),
        acks,
        replies: reply_latencies,
        cpu,
    }
}

/// The saturation phase.
struct Burst {
    events: usize,
    acked: usize,
    acked_in: Duration,
    replied: usize,
    done_in: Duration,
    doubled: usize,
    cpu: Duration,
}

impl Burst {
    fn tickets_per_second(&self) -> f64 {
        self.replied as f64 / self.done_in.as_secs_f64()
    }
}

/// Events as fast as `senders` concurrent senders go, spread over `urls`, until the last
/// reply is in Slack. `behind` runs the moment the last event is acknowledged.
async fn burst<F: std::future::Future<Output = ()>>(
    http: &reqwest::Client,
    servers: &[&Server],
    slack: &FakeSlack,
    events: &[Event],
    behind: F,
) -> Burst {
    let cpu: Duration = servers.iter().map(|s| s.cpu()).sum();
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(64));
    let urls: Vec<String> = servers.iter().map(|s| format!("{}/slack/events", s.addr)).collect();
    let mut tasks = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let slot = slots.clone().acquire_owned().await.expect("semaphore");
        let (http, url, body) = (http.clone(), urls[i % urls.len()].clone(), event.body.clone());
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
    behind.await;
    let mut replies = Replies::default();
    collect_replies(slack, &mut replies, events, Duration::from_secs(300)).await;
    let last = events.iter().filter_map(|e| replies.first(&e.ts)).max();
    let cpu = servers.iter().map(|s| s.cpu()).sum::<Duration>() - cpu;
    Burst {
        events: events.len(),
        acked,
        acked_in,
        replied: replies.answered(events),
        done_in: last.map_or(start.elapsed(), |last| last.duration_since(start)),
        doubled: replies.doubled(),
        cpu: cpu / events.len() as u32,
    }
}

/// What one system did under the common load.
struct Figures {
    rates: Vec<Rate>,
    burst: Burst,
    rss: f64,
}

struct Settings {
    seconds: u64,
    burst: usize,
    backlog: usize,
}

impl Settings {
    fn from_env() -> Self {
        let number =
            |name: &str, default: usize| std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default);
        Settings {
            seconds: number("DESKHAND_BENCH_SECONDS", 5) as u64,
            burst: number("DESKHAND_BENCH_BURST", 30_000),
            backlog: number("DESKHAND_BENCH_BACKLOG", 20_000),
        }
    }
}

/// Event numbers: each phase takes fresh ones, so no event is ever a redelivery.
struct Numbers(usize);

impl Numbers {
    fn events(&mut self, run: &str, n: usize) -> Vec<Event> {
        let events = make_events(run, self.0, n);
        self.0 += n;
        events
    }
}

/// The phases every system goes through: warm-up, fixed rates, saturation. For deskhand,
/// `extra` runs after the warm-up (the modal), and a shortcut follows the burst.
async fn measure(
    http: &reqwest::Client,
    server: &Server,
    slack: &FakeSlack,
    settings: &Settings,
    numbers: &mut Numbers,
) -> Figures {
    // Warm up: every user looked up once, connections open.
    let warm = numbers.events("w", 2 * USERS);
    let _ = fixed_rate(http, server, slack, &warm, 500).await;
    if server.system == System::Deskhand {
        phases::modal_latency(http, &server.addr, slack).await;
    }
    let mut rates = Vec::new();
    for rate in [1000_u64, 3000] {
        let events = numbers.events("r", (rate * settings.seconds) as usize);
        rates.push(fixed_rate(http, server, slack, &events, rate).await);
    }
    let events = numbers.events("b", settings.burst);
    let behind = async {
        // A shortcut sent behind what the burst left queued: its modal must open within
        // Slack's 3 s.
        if server.system == System::Deskhand {
            println!(
                "{}\n",
                phases::shortcut_behind_backlog(http, &server.addr, slack, "behind.burst").await
            );
        }
    };
    let burst = burst(http, &[server], slack, &events, behind).await;
    Figures {
        rates,
        burst,
        rss: server.peak_rss_mib(),
    }
}

fn print_phases(name: &str, f: &Figures) {
    println!("{name}:\n");
    println!("| phase | events | ack p50 | ack p99 | reply p50 | reply p99 | failed | CPU/event |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &f.rates {
        println!(
            "| {} events/s | {} | {} | {} | {} | {} | {} | {:.3} ms |",
            r.rate,
            r.events,
            ms(percentile(&r.acks, 0.5)),
            ms(percentile(&r.acks, 0.99)),
            ms(percentile(&r.replies, 0.5)),
            ms(percentile(&r.replies, 0.99)),
            r.failed,
            r.cpu.as_secs_f64() * 1000.0,
        );
    }
    let b = &f.burst;
    println!(
        "| burst, 64 senders | {} | acknowledged {} in {:.2} s ({:.0}/s) | | {} replied in {:.2} s | | {} lost, {} doubled | {:.3} ms |",
        b.events,
        b.acked,
        b.acked_in.as_secs_f64(),
        b.acked as f64 / b.acked_in.as_secs_f64(),
        b.replied,
        b.done_in.as_secs_f64(),
        b.events - b.replied,
        b.doubled,
        b.cpu.as_secs_f64() * 1000.0,
    );
    println!(
        "\nSustained messages → tickets: **{:.0}/s**; peak RSS **{:.1} MiB**.\n",
        b.tickets_per_second(),
        f.rss
    );
}

/// deskhand beside the reference, and as a ratio of it.
fn print_comparison(reference: &Figures, deskhand: &Figures) {
    let row = |what: &str, r: f64, d: f64, unit: &str| {
        println!("| {what} | {r:.2}{unit} | {d:.2}{unit} | {:.2}× |", d / r);
    };
    let millis = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| | reference | deskhand | deskhand ÷ reference |");
    println!("| --- | ---: | ---: | ---: |");
    row(
        "sustained tickets/s",
        reference.burst.tickets_per_second(),
        deskhand.burst.tickets_per_second(),
        "",
    );
    row(
        "CPU per event at saturation",
        millis(reference.burst.cpu),
        millis(deskhand.burst.cpu),
        " ms",
    );
    for (r, d) in reference.rates.iter().zip(&deskhand.rates) {
        let at = format!("at {}/s", r.rate);
        row(&format!("CPU per event {at}"), millis(r.cpu), millis(d.cpu), " ms");
        row(
            &format!("ack p99 {at}"),
            millis(percentile(&r.acks, 0.99)),
            millis(percentile(&d.acks, 0.99)),
            " ms",
        );
        row(
            &format!("reply p50 {at}"),
            millis(percentile(&r.replies, 0.5)),
            millis(percentile(&d.replies, 0.5)),
            " ms",
        );
        row(
            &format!("reply p99 {at}"),
            millis(percentile(&r.replies, 0.99)),
            millis(percentile(&d.replies, 0.99)),
            " ms",
        );
    }
    row("peak RSS", reference.rss, deskhand.rss, " MiB");
    println!();
}

async fn start_slack() -> FakeSlack {
    let slack = FakeSlack::start().await;
    slack.stop_recording();
    for u in 0..USERS {
        slack.add_member(
            &format!("U{u:07}"),
            &format!("User {u}"),
            &format!("user{u}@acme.example"),
        );
    }
    slack
}

/// The reference on a SQLite file of its own, under the same load.
async fn run_reference(http: &reqwest::Client, settings: &Settings) -> Figures {
    let slack = start_slack().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("reference.db").display());
    let server = Server::start(System::Reference, "reference", &url, &slack);
    wait_ready(http, &server.addr).await;
    let figures = measure(http, &server, &slack, settings, &mut Numbers(0)).await;
    println!("\n## reference (minimal durable handler, SQLite)\n");
    print_phases("reference", &figures);
    figures
}

async fn run(http: &reqwest::Client, database: &str, database_url: &str, settings: &Settings, reference: &Figures) {
    let slack = start_slack().await;
    let mut server = Server::start(System::Deskhand, database, database_url, &slack);
    wait_ready(http, &server.addr).await;
    configure(http, &server.addr).await;
    println!("\n## deskhand on {database}\n");
    let mut numbers = Numbers(0);
    let figures = measure(http, &server, &slack, settings, &mut numbers).await;
    print_phases("deskhand", &figures);
    print_comparison(reference, &figures);

    let backlog = numbers.events("q", settings.backlog);
    phases::behind_queued_events(http, &mut server, &slack, &backlog).await;
    let mut rss = figures.rss.max(server.peak_rss_mib());
    let events = numbers.events("k", (1000 * settings.seconds.max(4)) as usize);
    if database == "sqlite" {
        println!("Peak RSS through every phase before the crash: **{rss:.1} MiB**.\n");
        phases::crash_and_restart(http, &mut server, &slack, &events).await;
    } else {
        let single = figures.burst.tickets_per_second();
        let replica = Server::start(System::Deskhand, "postgres-replica", database_url, &slack);
        wait_ready(http, &replica.addr).await;
        let events_two = numbers.events("t", settings.burst);
        let two = burst(http, &[&server, &replica], &slack, &events_two, async {}).await;
        println!(
            "Two replicas, the burst spread over both: **{:.0} tickets/s**, {:.2}× one replica's {single:.0}/s; {} lost, {} doubled.\n",
            two.tickets_per_second(),
            two.tickets_per_second() / single,
            two.events - two.replied,
            two.doubled,
        );
        rss = rss.max(server.peak_rss_mib()).max(replica.peak_rss_mib());
        println!("Peak RSS through every phase before the crash: **{rss:.1} MiB** (the larger replica).\n");
        phases::replica_killed(http, &mut server, &replica, &slack, &events).await;
    }
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

/// How many of the queues' row updates PostgreSQL made in place (HOT: no new index
/// entries), read once every server of the run has exited and reported its counts.
async fn postgres_updates(url: &str) {
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "select relname::text, n_tup_ins, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables
         where relname in ('inbox', 'outbox') order by relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for (table, inserted, updated, hot) in rows {
        println!("PostgreSQL `{table}`: {inserted} rows inserted, {updated} updated, {hot} of them in place (HOT)");
    }
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
    if std::env::var("DESKHAND_BENCH_ROLE").as_deref() == Ok("reference") {
        return reference::main();
    }
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
    let settings = Settings::from_env();
    runtime.block_on(async {
        println!(
            "# deskhand load benchmark ({} cores)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()
            .expect("client");
        let reference = run_reference(&http, &settings).await;
        if which == "sqlite" || which == "both" {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            run(&http, "sqlite", &url, &settings, &reference).await;
        }
        if which == "postgres" || which == "both" {
            if let Some((url, name)) = postgres_database().await {
                run(&http, "postgres", &url, &settings, &reference).await;
                postgres_updates(&url).await;
                drop_postgres_database(&name).await;
            }
        }
    });
}
