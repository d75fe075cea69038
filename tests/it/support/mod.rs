//! The test harness: each test starts deskhand on 127.0.0.1:0 with its own fresh database
//! and its own fake Slack, and talks to it the way Slack and admins do.
//!
//! The database is SQLite unless `DESKHAND_TEST_DATABASE=postgres`, in which case each
//! test gets a fresh PostgreSQL database on `DESKHAND_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends.

#![allow(dead_code)]

pub mod desk;
pub mod fakes;
pub mod payloads;
pub mod process;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deskhand::app::{App, Wakers};
use deskhand::config::{Config, Secret};
use deskhand::store::{Queues, Store};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::oneshot;

pub use desk::*;
pub use fakes::slack as fake_slack;
pub use fakes::slack::{Failure, FakeSlack};
pub use payloads::*;

pub const SIGNING_SECRET: &str = "test-signing-secret";
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const MAIL_TOKEN: &str = "test-mail-inbound-token";
pub const APP_TOKEN: &str = "xapp-1-A0APP-1-test-app-token";
pub const SUPPORT: &str = "C0SUPPORT";
pub const AGENTS: &str = "C0AGENTS";
/// A full member of the workspace, who files most tests' requests.
pub const ANA: &str = "U0ANA";
/// An agent.
pub const BO: &str = "U0BO";
/// A guest.
pub const GIL: &str = "U0GIL";

/// The `key` of each item of a JSON array.
pub fn pluck(list: &Value, key: &str) -> Vec<Value> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item[key].clone())
        .collect()
}

/// Which database the suite runs on.
pub fn use_postgres() -> bool {
    std::env::var("DESKHAND_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

fn postgres_admin_url() -> String {
    std::env::var("DESKHAND_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that lives as long as the test.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { url: String, name: String },
}

impl TestDb {
    pub async fn new() -> Self {
        if use_postgres() {
            Self::postgres()
                .await
                .unwrap_or_else(|why| panic!("DESKHAND_TEST_DATABASE=postgres but {why}"))
        } else {
            Self::sqlite()
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("deskhand.db").display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A fresh PostgreSQL database, or why there is none.
    pub async fn postgres() -> Result<Self, String> {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .map_err(|e| format!("PostgreSQL at {admin} is unreachable: {e}"))?;
        let name = format!("deskhand_test_{:016x}", rand::random::<u64>());
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot create a test database: {e}"))?;
        let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
        Ok(TestDb::Postgres {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// For tests that need PostgreSQL whatever the suite runs on: a database, or `None`
    /// after saying why (outside CI only: in CI a missing PostgreSQL fails the test).
    pub async fn postgres_or_skip(test: &str) -> Option<Self> {
        match Self::postgres().await {
            Ok(db) => Some(db),
            Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{test} needs PostgreSQL: {why}"),
            Err(why) => {
                eprintln!("skipping {test}: it needs PostgreSQL, and {why}");
                None
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name, .. } = self {
            let name = name.clone();
            let admin = postgres_admin_url();
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(async {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

pub fn config(db_url: &str, slack: &FakeSlack) -> Config {
    Config {
        slack_signing_secret: Some(Secret::new(SIGNING_SECRET)),
        slack_bot_token: Some(Secret::new("xoxb-test-token")),
        slack_oauth: None,
        secret_key: None,
        slack_app_token: None,
        slack_api_url: slack.api_url(),
        database_url: db_url.to_owned(),
        listen: "127.0.0.1:0".parse().expect("address"),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        public_url: "http://localhost:3000".into(),
        slack_channel_rate: 1000.0,
        slack_channel_burst: 1000,
        slack_timeout: Duration::from_millis(1500),
        lease: Duration::from_millis(5000),
        smtp_url: None,
        smtp_from: "Help desk <help@acme.example>".into(),
        mail_inbound_token: Some(Secret::new(MAIL_TOKEN)),
        jira_reconcile: Duration::from_secs(300),
    }
}

/// What watching the queues does next.
enum Watch {
    Done,
    LookAgain,
    Wait,
}

pub struct TestApp {
    pub addr: String,
    pub http: reqwest::Client,
    pub slack: FakeSlack,
    pub store: Store,
    wake: Wakers,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub db: TestDb,
}

/// Sign a body the way Slack does: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sign raw bytes the way Slack does (for bodies that are not text).
pub fn sign_bytes(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

impl TestApp {
    /// deskhand with a support channel `SUPPORT` in project IT, whose agent channel is
    /// `AGENTS`, and users Ana and Bo (members) and Gil (a guest).
    pub async fn spawn() -> Self {
        Self::spawn_set_up(|_| {}).await
    }

    /// The same, with its configuration adjusted first.
    pub async fn spawn_set_up(adjust: impl FnOnce(&mut Config)) -> Self {
        let app = Self::spawn_with(adjust).await;
        app.set_up().await;
        app
    }

    /// Project IT, its support channel and agent channel, and the three users.
    async fn set_up(&self) {
        let app = self;
        app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Help" }))
            .await;
        app.admin_ok(
            "PUT",
            &format!("/api/v1/channels/{SUPPORT}"),
            json!({ "kind": "support", "project": "IT", "agent_channel": AGENTS, "auto_create": true, "thread_sync": true }),
        )
        .await;
        app.slack.add_member(ANA, "Ana Lima", "ana@acme.example");
        app.slack.add_member(BO, "Bo Agent", "bo@acme.example");
        app.slack.add_guest(GIL, "Gil Guest", "gil@partner.example");
    }

    /// Replace the settings of the support channel `SUPPORT` (project IT).
    pub async fn set_support_channel(&self, mut settings: Value) {
        settings["kind"] = "support".into();
        settings["project"] = "IT".into();
        self.admin_ok("PUT", &format!("/api/v1/channels/{SUPPORT}"), settings)
            .await;
    }

    /// deskhand with nothing configured.
    pub async fn spawn_bare() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_on(FakeSlack::start().await, adjust).await
    }

    /// deskhand set up as by [`TestApp::spawn`], over Socket Mode only (an app token, no
    /// signing secret), with the fake Socket Mode server its connections go to.
    pub async fn spawn_socket_mode() -> (Self, fakes::socket::FakeSocket) {
        let slack = FakeSlack::start().await;
        let socket = fakes::socket::FakeSocket::start().await;
        slack.serve_socket_mode(socket.url());
        let app = Self::spawn_on(slack, |config| {
            config.slack_signing_secret = None;
            config.slack_app_token = Some(Secret::new(APP_TOKEN));
        })
        .await;
        app.set_up().await;
        (app, socket)
    }

    pub async fn spawn_on(slack: FakeSlack, adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let mut config = config(db.url(), &slack);
        adjust(&mut config);
        let (addr, store, wake, stop, server) = Self::start(config).await;
        TestApp {
            addr,
            http: reqwest::Client::new(),
            slack,
            store,
            wake,
            stop: Some(stop),
            server: Some(server),
            db,
        }
    }

    /// Stop deskhand the way a signal does, and wait until it has.
    pub async fn stop(mut self) {
        self.shut_down().await;
    }

    async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stops cleanly");
        }
    }

    /// Stop deskhand and start it again on the same database and fake Slack.
    pub async fn restart(&mut self) {
        self.shut_down().await;
        let (addr, store, wake, stop, server) = Self::start(config(self.db.url(), &self.slack)).await;
        self.addr = addr;
        self.store = store;
        self.wake = wake;
        self.stop = Some(stop);
        self.server = Some(server);
    }

    #[allow(clippy::type_complexity)]
    async fn start(
        config: Config,
    ) -> (
        String,
        Store,
        Wakers,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ) {
        let app = App::build(config).await.expect("deskhand builds");
        let addr = format!("http://{}", app.local_addr());
        let store = app.store();
        let wake = app.wakers();
        let (stop, stopped) = oneshot::channel();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        (addr, store, wake, stop, server)
    }

    /// POST a body to a Slack route, signed now with the right secret.
    pub async fn post_signed(&self, path: &str, body: &str, content_type: &str) -> reqwest::Response {
        let timestamp = now_secs();
        self.http
            .post(format!("{}{path}", self.addr))
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", timestamp.to_string())
            .header("x-slack-signature", sign(SIGNING_SECRET, timestamp, body))
            .body(body.to_owned())
            .send()
            .await
            .expect("request reaches deskhand")
    }

    /// `user` writes `text` in the support channel; delivered and drained.
    pub async fn say(&self, event_id: &str, user: &str, ts: &str, text: &str) {
        self.deliver(event_id, message(SUPPORT, user, ts, text)).await;
    }

    /// `user` replies `text` in the support channel's thread under `thread_ts`; delivered
    /// and drained.
    pub async fn answer(&self, event_id: &str, user: &str, ts: &str, thread_ts: &str, text: &str) {
        self.deliver(event_id, reply(SUPPORT, user, ts, thread_ts, text)).await;
    }

    /// Deliver an Events API event, which deskhand must acknowledge, and go on at once.
    pub async fn send_ok(&self, event_id: &str, event: Value) {
        assert_eq!(
            self.send_event(event_id, event).await,
            200,
            "event {event_id} acknowledged"
        );
    }

    /// POST a form to a Slack route, signed; the status deskhand answered.
    pub async fn post_form(&self, path: &str, body: &str) -> u16 {
        self.post_signed(path, body, "application/x-www-form-urlencoded")
            .await
            .status()
            .as_u16()
    }

    /// POST an Events API body as it is, signed; the status deskhand answered.
    pub async fn post_event_body(&self, body: &str) -> reqwest::StatusCode {
        self.post_signed("/slack/events", body, "application/json")
            .await
            .status()
    }

    /// Deliver an Events API event; the status deskhand answered. A person's new message
    /// is also kept by the fake Slack, as Slack keeps it, so history and replies show it.
    pub async fn send_event(&self, event_id: &str, event: Value) -> u16 {
        let person = event["user"].as_str().filter(|_| event["bot_id"].is_null());
        if let (Some("message"), Value::Null, Some(user)) = (event["type"].as_str(), &event["subtype"], person) {
            let text = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
            let thread = event["thread_ts"].as_str();
            self.slack
                .add_user_message(&text("channel"), user, &text("ts"), thread, &text("text"));
        }
        let body = envelope(event_id, event).to_string();
        self.post_signed("/slack/events", &body, "application/json")
            .await
            .status()
            .as_u16()
    }

    /// Send an interactivity payload as Slack does: a form with one field, `payload`.
    pub async fn interact(&self, payload: Value) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.post_signed("/slack/interactivity", &body, "application/x-www-form-urlencoded")
            .await
    }

    /// Run `/desk {text}` as `user` in `channel`; its answer goes to the fake's
    /// `response_url` named after `trigger`. The status deskhand answered.
    pub async fn slash(&self, user: &str, channel: &str, text: &str, trigger: &str) -> u16 {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", "unused")
            .append_pair("team_id", fake_slack::TEAM)
            .append_pair("channel_id", channel)
            .append_pair("user_id", user)
            .append_pair("command", "/desk")
            .append_pair("text", text)
            .append_pair("response_url", &self.slack.response_url(trigger))
            .append_pair("trigger_id", trigger)
            .finish();
        self.post_signed("/slack/commands", &body, "application/x-www-form-urlencoded")
            .await
            .status()
            .as_u16()
    }

    /// The private answer given through the `response_url` named after `trigger`, as text.
    pub fn answer_to(&self, trigger: &str) -> String {
        let answers: Vec<String> = self
            .slack
            .calls_to("response_url")
            .iter()
            .map(|call| &call.params)
            .filter(|r| r["hook"] == trigger)
            .map(|r| format!("{} {}", r["text"].as_str().unwrap_or_default(), r["blocks"]))
            .collect();
        assert_eq!(answers.len(), 1, "one answer to {trigger}: {answers:?}");
        answers[0].clone()
    }

    /// The private answers deskhand gave through `response_url`s, as text.
    pub fn answers(&self) -> Vec<String> {
        self.slack
            .responses()
            .iter()
            .map(|r| format!("{} {}", r["text"].as_str().unwrap_or_default(), r["blocks"]))
            .collect()
    }

    /// Deliver an event and wait until deskhand has done everything it causes.
    pub async fn deliver(&self, event_id: &str, event: Value) {
        assert_eq!(
            self.send_event(event_id, event).await,
            200,
            "event {event_id} acknowledged"
        );
        self.drain().await;
    }

    /// Let the worker and the dispatcher run until the inbox and the outbox are empty.
    /// Work that waits for its time (a retry backing off, a paced post) is brought forward
    /// by moving deskhand's clock, so nothing waits for real time to pass. Fails the test
    /// when the queues have not emptied after 20 s.
    pub async fn drain(&self) {
        self.watch_queues("empty queues", |queues| {
            if queues.empty() {
                return Watch::Done;
            }
            match queues.only_waiting() {
                Some(due_at) => {
                    self.move_clock(Duration::from_millis((due_at - self.store.now_ms()).max(0) as u64 + 1));
                    Watch::LookAgain
                }
                // Something is due or under way: its commit says when to look again.
                None => Watch::Wait,
            }
        })
        .await;
    }

    /// Move deskhand's clock forward once nothing is under way (a lease running out under
    /// work in flight would have it done twice), and wake the worker and the dispatcher.
    pub async fn advance(&self, by: Duration) {
        self.watch_queues("nothing under way", |queues| {
            if queues.inbox.leased == 0 && queues.outbox.leased == 0 {
                Watch::Done
            } else {
                Watch::Wait
            }
        })
        .await;
        self.move_clock(by);
    }

    /// Look at the queues after every commit until `step` is done with them; fails the
    /// test, naming `what` it waited for, after 20 s.
    async fn watch_queues(&self, what: &str, mut step: impl FnMut(&Queues) -> Watch) {
        let start = Instant::now();
        loop {
            let commits = self.store.commits().notified();
            tokio::pin!(commits);
            commits.as_mut().enable();
            let queues = self.store.queues().await.expect("queue state");
            let next = step(&queues);
            assert!(
                matches!(next, Watch::Done) || start.elapsed() < Duration::from_secs(20),
                "no {what} after 20 s: {queues:?}"
            );
            match next {
                Watch::Done => return,
                Watch::LookAgain => continue,
                Watch::Wait => {}
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), commits).await;
        }
    }

    fn move_clock(&self, by: Duration) {
        self.store.clock().advance(by);
        self.wake.inbox.notify_one();
        self.wake.outbox.notify_one();
    }

    /// Change the test's database behind deskhand's back (to make time pass, to break it).
    pub async fn run_sql(&self, sql: &str) {
        use sqlx::Connection;
        if use_postgres() {
            let mut conn = sqlx::PgConnection::connect(self.db.url()).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        } else {
            let path = self.db.url().trim_start_matches("sqlite://").to_owned();
            let sql = sql.to_owned();
            tokio::task::spawn_blocking(move || {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(Duration::from_secs(10)).unwrap();
                conn.execute_batch(&sql).unwrap();
            })
            .await
            .unwrap();
        }
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().expect("method"), format!("{}{path}", self.addr))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// An admin call that must succeed; its JSON.
    pub async fn admin_ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.admin(method, path, Some(body)).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.admin("GET", path, None).await
    }

    pub async fn ticket(&self, key: &str) -> Value {
        let (status, ticket) = self.get(&format!("/api/v1/tickets/{key}")).await;
        assert_eq!(status, 200, "ticket {key}: {ticket}");
        ticket
    }

    pub async fn tickets(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/v1/tickets?limit=500").await;
        assert_eq!(status, 200);
        body["tickets"].as_array().cloned().unwrap_or_default()
    }

    /// Messages deskhand posted to `channel`, keyed by thread (None: top level).
    pub fn posts_by_thread(&self, channel: &str) -> HashMap<Option<String>, Vec<fake_slack::Message>> {
        let mut by_thread: HashMap<_, Vec<_>> = HashMap::new();
        for message in self.slack.messages_in(channel) {
            by_thread.entry(message.thread_ts.clone()).or_default().push(message);
        }
        by_thread
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
