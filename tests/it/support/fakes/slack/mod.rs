//! A fake Slack Web API on 127.0.0.1: it records every call, keeps the messages posted to
//! it (with their metadata, so `conversations.replies` / `history` can find them) beside
//! the messages people wrote that a test tells it about, knows the users and channel
//! members it is told about, keeps the modals, Home tabs and reactions deskhand makes,
//! serves `response_url`s (`POST /hooks/{id}`), and can be told to fail: answer 429, 500,
//! an `ok: false` error, be slow, or do the work and then answer 500 as if the answer were
//! lost.

#![allow(dead_code)]

mod methods;
mod server;

#[allow(unused_imports)]
pub use server::dm_channel;
use server::now_micros;

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const TEAM: &str = "T0TEAM";
pub const BOT_USER: &str = "U0BOT";
pub const WORKSPACE_URL: &str = "https://acme.slack.com/";

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// JSON body, form fields or query parameters, as one object.
    pub params: Value,
    pub authorization: Option<String>,
    pub http_method: String,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub metadata: Option<Value>,
    /// Who wrote it: `None` for deskhand's own posts (`chat.postMessage`), a user id for
    /// the messages people wrote (`add_user_message`).
    pub user: Option<String>,
    /// When the fake received it.
    pub at: Instant,
}

/// A modal deskhand opened (`views.open`) and perhaps updated since (`views.update`).
#[derive(Debug, Clone)]
pub struct View {
    /// `V0001`, `V0002`…, in the order they were opened.
    pub id: String,
    pub trigger_id: Option<String>,
    /// The view as last opened or updated (without the `id` and `hash` the fake added).
    pub view: Value,
    /// The hash the last answer gave; a `views.update` naming another one is a conflict.
    pub hash: String,
    /// When it was opened.
    pub at: Instant,
    /// How many times `views.update` replaced it.
    pub updates: usize,
}

/// A user's Home tab (`views.publish`).
#[derive(Debug, Clone)]
struct Home {
    view: Value,
    hash: String,
    publishes: usize,
}

/// How the next matching call fails.
#[derive(Debug, Clone)]
pub enum Failure {
    RateLimited {
        retry_after: u64,
    },
    ServerError,
    SlackError(&'static str),
    /// Answer only after this long (longer than the client's timeout: a timeout).
    Slow(Duration),
    /// Do the work (a post is stored), then answer 500: the answer is lost.
    AfterEffect500,
}

struct Rule {
    method: String,
    channel: Option<String>,
    times: usize,
    failure: Failure,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    users: HashMap<String, Value>,
    /// deskhand's posts and people's messages, in the order the fake learnt of them.
    messages: Vec<Message>,
    /// How many of `messages` `take_thread_replies` has handed out.
    messages_taken: usize,
    views: Vec<View>,
    homes: HashMap<String, Home>,
    /// (channel, timestamp, name), in the order they were added.
    reactions: Vec<(String, String, String)>,
    members: HashMap<String, Vec<String>>,
    /// The JSON bodies POSTed to `response_url`s, in order.
    responses: Vec<Value>,
    /// The parameters of each `chat.postEphemeral`, in order.
    ephemerals: Vec<Value>,
    rules: VecDeque<Rule>,
    /// The last post's timestamp, in microseconds.
    next_ts: u64,
    next_hash: u64,
    record_calls: bool,
    /// The scopes `auth.test` says the token has (`x-oauth-scopes`); `None`: every scope.
    pub(super) scopes: Option<Vec<String>>,
    /// Channels deskhand's bot user is not a member of (`conversations.info`).
    pub(super) outside: HashSet<String>,
    /// Where `apps.connections.open` sends deskhand (a fake Socket Mode server).
    socket_url: Option<String>,
    /// Installs a person approved: `oauth.v2.access` answers for each code, once.
    pub(super) installs: HashMap<String, Value>,
    /// What `auth.test` says for each installed workspace's token.
    pub(super) tokens: HashMap<String, Value>,
    /// Told after every call the fake has answered.
    changed: Arc<tokio::sync::Notify>,
    /// Per method: calls under way now, and the most there ever were at once.
    pub(super) at_once: HashMap<String, (usize, usize)>,
}

#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            next_ts: now_micros(),
            record_calls: true,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Slack");
        let addr = listener.local_addr().expect("fake Slack address");
        let app = Router::new()
            .route("/api/{method}", any(server::handle))
            .route("/hooks/{id}", post(server::hook))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, addr }
    }

    /// Wait until `done` holds of the fake (checked after every call it answers); fails
    /// the test, naming `what`, after 10 s.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&FakeSlack) -> bool) {
        let changed = self.lock().changed.clone();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "the fake Slack never saw {what}"
            );
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The `response_url` Slack would put in a slash command or an interaction: deskhand
    /// POSTs JSON to it (see `responses`).
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/hooks/{id}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep no call records (for load: the messages are still kept).
    pub fn stop_recording(&self) {
        self.lock().record_calls = false;
    }

    /// A full member of the workspace.
    pub fn add_member(&self, id: &str, name: &str, email: &str) {
        self.add_user(json!({
            "id": id, "team_id": TEAM, "name": name.to_lowercase(), "real_name": name,
            "profile": { "email": email, "display_name": name, "real_name": name },
        }));
    }

    /// A multi-channel guest.
    pub fn add_guest(&self, id: &str, name: &str, email: &str) {
        self.add_user(json!({
            "id": id, "team_id": TEAM, "name": name.to_lowercase(), "is_restricted": true,
            "profile": { "email": email, "display_name": name },
        }));
    }

    /// Someone from another workspace (Slack Connect), often without a visible email.
    pub fn add_external(&self, id: &str, name: &str) {
        self.add_user(
            json!({ "id": id, "team_id": "T0OTHER", "name": name.to_lowercase(), "profile": { "display_name": name } }),
        );
    }

    pub fn add_user(&self, user: Value) {
        let id = user["id"].as_str().expect("user id").to_owned();
        self.lock().users.insert(id, user);
    }

    /// The token has only these scopes.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.lock().scopes = Some(scopes.iter().map(|s| (*s).to_owned()).collect());
    }

    /// `apps.connections.open` hands out this websocket URL (a fake Socket Mode server's).
    pub fn serve_socket_mode(&self, url: String) {
        self.lock().socket_url = Some(url);
    }

    /// A person approves an install in Slack: the redirect back carries `code`, which
    /// `oauth.v2.access` (with the app's credentials) exchanges for the token returned
    /// here. `enterprise`: the workspace is in that Grid org; `org_wide`: installed for the
    /// whole org (its `team` is then null, as Slack answers).
    pub fn approve_install(&self, code: &str, team: &str, enterprise: Option<&str>, org_wide: bool) -> String {
        let token = format!(
            "xoxb-{}-{}",
            if org_wide { enterprise.unwrap_or(team) } else { team },
            code
        );
        let enterprise_json = enterprise.map(|e| json!({ "id": e, "name": format!("{e} Org") }));
        let answer = json!({
            "access_token": token, "token_type": "bot", "scope": "chat:write,commands",
            "bot_user_id": format!("U0BOT{team}"), "app_id": "A0APP",
            "team": if org_wide { Value::Null } else { json!({ "id": team, "name": format!("{team} Inc") }) },
            "enterprise": enterprise_json.clone().unwrap_or(Value::Null),
            "is_enterprise_install": org_wide,
            "authed_user": { "id": "U0INSTALLER" },
        });
        let auth = json!({
            "url": format!("https://{}.slack.com/", team.to_lowercase()), "team": team, "user": "deskhand",
            "team_id": team, "user_id": format!("U0BOT{team}"), "bot_id": "B0BOT",
            "enterprise_id": enterprise, "is_enterprise_install": org_wide,
        });
        let mut inner = self.lock();
        inner.installs.insert(code.to_owned(), answer);
        inner.tokens.insert(token.clone(), auth);
        token
    }

    /// Slack no longer accepts this token (the app was uninstalled there).
    pub fn revoke(&self, token: &str) {
        self.lock().tokens.insert(token.to_owned(), Value::Null);
    }

    /// deskhand's bot user is not (or no longer) in `channel`.
    pub fn remove_bot_from(&self, channel: &str) {
        self.lock().outside.insert(channel.to_owned());
    }

    /// Make the next `times` calls of `method` fail.
    pub fn fail(&self, method: &str, times: usize, failure: Failure) {
        self.lock().rules.push_back(Rule {
            method: method.into(),
            channel: None,
            times,
            failure,
        });
    }

    /// Make the next `times` calls of `method` to `channel` fail.
    pub fn fail_in(&self, method: &str, channel: &str, times: usize, failure: Failure) {
        self.lock().rules.push_back(Rule {
            method: method.into(),
            channel: Some(channel.into()),
            times,
            failure,
        });
    }

    /// Forget every failure still to come: Slack works again.
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// The most calls of `method` that were ever under way at once.
    pub fn most_at_once(&self, method: &str) -> usize {
        self.lock().at_once.get(method).map_or(0, |(_, most)| *most)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// A message someone wrote in Slack (not deskhand): `conversations.history` and
    /// `conversations.replies` return it. `thread_ts`: the thread it replies in, if any.
    pub fn add_user_message(&self, channel: &str, user: &str, ts: &str, thread_ts: Option<&str>, text: &str) {
        self.lock().messages.push(Message {
            channel: channel.into(),
            ts: ts.into(),
            thread_ts: thread_ts.map(str::to_owned),
            text: text.into(),
            blocks: Value::Null,
            metadata: None,
            user: Some(user.into()),
            at: Instant::now(),
        });
    }

    /// Who `conversations.members` says is in `channel` (replacing any earlier list).
    pub fn set_members(&self, channel: &str, members: &[&str]) {
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        self.lock().members.insert(channel.into(), members);
    }

    /// deskhand's posts (not people's messages), in the order they were made.
    pub fn messages(&self) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.user.is_none())
            .cloned()
            .collect()
    }

    /// deskhand's posts in `channel`.
    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.user.is_none())
            .cloned()
            .collect()
    }

    /// The messages people wrote in `channel` (`add_user_message`).
    pub fn user_messages_in(&self, channel: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.user.is_some())
            .cloned()
            .collect()
    }

    /// Each of deskhand's thread replies posted since the last call, as the `thread_ts`
    /// it answered and when it arrived (for load runs). The messages stay: deskhand may
    /// still look for one it is not sure it posted.
    pub fn take_thread_replies(&self) -> Vec<(String, Instant)> {
        let mut inner = self.lock();
        let from = inner.messages_taken;
        inner.messages_taken = inner.messages.len();
        inner.messages[from..]
            .iter()
            .filter(|m| m.user.is_none())
            .filter_map(|m| Some((m.thread_ts.clone()?, m.at)))
            .collect()
    }

    /// The modals opened, in order, each as last updated.
    pub fn views(&self) -> Vec<View> {
        self.lock().views.clone()
    }

    /// The modal opened last.
    pub fn last_view(&self) -> View {
        self.lock()
            .views
            .last()
            .cloned()
            .expect("the fake Slack has no view: views.open was never called (successfully)")
    }

    /// `user`'s Home tab as last published.
    pub fn home(&self, user: &str) -> Option<Value> {
        self.lock().homes.get(user).map(|h| h.view.clone())
    }

    /// How many times `user`'s Home tab was published.
    pub fn home_publishes(&self, user: &str) -> usize {
        self.lock().homes.get(user).map_or(0, |h| h.publishes)
    }

    /// (channel, timestamp, name) of each reaction added, in order.
    pub fn reactions(&self) -> Vec<(String, String, String)> {
        self.lock().reactions.clone()
    }

    /// The JSON bodies POSTed to `response_url`s, in order.
    pub fn responses(&self) -> Vec<Value> {
        self.lock().responses.clone()
    }

    /// The parameters of each `chat.postEphemeral` (channel, user, text, blocks, thread_ts
    /// as sent; blocks sent as a JSON string are parsed), in order.
    pub fn ephemerals(&self) -> Vec<Value> {
        self.lock().ephemerals.clone()
    }

    /// Forget recorded calls (messages stay).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }
}
