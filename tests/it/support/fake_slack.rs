//! A fake Slack Web API on 127.0.0.1: it records every call, keeps the messages posted to
//! it (with their metadata, so `conversations.replies` / `history` can find them) beside
//! the messages people wrote that a test tells it about, knows the users and channel
//! members it is told about, keeps the modals, Home tabs and reactions deskhand makes,
//! serves `response_url`s (`POST /hooks/{id}`), and can be told to fail: answer 429, 500,
//! an `ok: false` error, be slow, or do the work and then answer 500 as if the answer were
//! lost.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};
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
            .route("/api/{method}", any(handle))
            .route("/hooks/{id}", post(hook))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, addr }
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

    /// When each of deskhand's thread replies arrived, by the `thread_ts` it answered;
    /// forgets all messages (for load runs, whose messages would otherwise pile up).
    pub fn take_thread_replies(&self) -> HashMap<String, Instant> {
        let messages = std::mem::take(&mut self.lock().messages);
        messages
            .into_iter()
            .filter(|m| m.user.is_none())
            .filter_map(|m| m.thread_ts.map(|t| (t, m.at)))
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

/// The DM channel `conversations.open` gives with `user`: `D` and the user id without its
/// first letter (`U0ANA` → `D0ANA`).
pub fn dm_channel(user: &str) -> String {
    format!("D{}", user.get(1..).unwrap_or_default())
}

fn params(headers: &HeaderMap, query: Option<String>, body: &Bytes) -> Value {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") {
        return serde_json::from_slice(body).unwrap_or(Value::Null);
    }
    let text = if body.is_empty() {
        query.unwrap_or_default()
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let mut object = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        object.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Value::Object(object)
}

/// A parameter Slack takes as JSON, sent either as JSON or as a JSON-encoded string (as
/// form fields must): `Null` when absent, `Err` when the string is not JSON.
fn json_param(params: &Value, key: &str) -> Result<Value, ()> {
    match &params[key] {
        Value::String(s) => serde_json::from_str(s).map_err(|_| ()),
        other => Ok(other.clone()),
    }
}

/// A number parameter, sent as a JSON number or as text.
fn number_param(params: &Value, key: &str) -> Option<usize> {
    let value = &params[key];
    value
        .as_u64()
        .map(|n| n as usize)
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// A boolean parameter: `true`, `"true"` or `"1"` (as Slack reads them).
fn flag_param(params: &Value, key: &str) -> bool {
    match &params[key] {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s == "true" || s == "1",
        _ => false,
    }
}

/// Where a page starts: the fake's cursors are `next:<offset>`.
fn cursor_param(params: &Value) -> usize {
    params["cursor"]
        .as_str()
        .and_then(|c| c.strip_prefix("next:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn next_cursor(offset: usize, taken: usize, total: usize) -> String {
    if offset + taken < total {
        format!("next:{}", offset + taken)
    } else {
        String::new()
    }
}

fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

/// A message timestamp as (seconds, microseconds), to compare as numbers the way Slack does
/// (`"1700000000.5"` is `"1700000000.500000"`; `"1700000000"` is its first microsecond).
fn ts_key(ts: &str) -> (u64, u64) {
    let (seconds, fraction) = ts.split_once('.').unwrap_or((ts, ""));
    let micros: String = fraction.chars().chain(std::iter::repeat('0')).take(6).collect();
    (seconds.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

/// A message as `conversations.history` / `replies` show it. People's messages that start a
/// thread carry its `thread_ts` and `reply_count`, as in Slack; deskhand's posts show
/// `bot_id`, and their metadata when asked for.
fn render(message: &Message, all: &[Message], with_metadata: bool) -> Value {
    let Some(user) = &message.user else {
        let mut v = json!({ "type": "message", "ts": message.ts, "text": message.text, "bot_id": "B0BOT" });
        if let (true, Some(metadata)) = (with_metadata, &message.metadata) {
            v["metadata"] = metadata.clone();
        }
        return v;
    };
    let mut v = json!({ "type": "message", "user": user, "text": message.text, "ts": message.ts });
    match &message.thread_ts {
        Some(thread_ts) => v["thread_ts"] = thread_ts.as_str().into(),
        None => {
            let replies = all
                .iter()
                .filter(|m| m.channel == message.channel && m.ts != message.ts)
                .filter(|m| m.thread_ts.as_deref() == Some(message.ts.as_str()))
                .count();
            if replies > 0 {
                v["thread_ts"] = message.ts.as_str().into();
                v["reply_count"] = replies.into();
            }
        }
    }
    v
}

fn ok(extra: Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    Json(body).into_response()
}

fn slack_error(error: &str) -> Response {
    Json(json!({ "ok": false, "error": error })).into_response()
}

/// A view as Slack answers it: what was sent, with its `id` and `hash`.
fn view_answer(view: &Value, id: &str, hash: &str) -> Response {
    let mut view = view.clone();
    view["id"] = id.into();
    view["hash"] = hash.into();
    ok(json!({ "view": view }))
}

/// A Web API call: `/api/{method}`.
async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    http_method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = params(&headers, query, &body);
    serve(&inner, &method, params, http_method, &headers).await
}

/// A POST to a `response_url` (`/hooks/{id}`): recorded as a call of method `response_url`
/// whose parameters are the JSON body and the hook's id (`"hook"`). Slack answers `ok`.
async fn hook(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    http_method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Value::Object(object),
        // Slack answers 400 `invalid_payload` (see `answer`); the call shows what was sent.
        _ => json!({ "unparsed": String::from_utf8_lossy(&body) }),
    };
    params["hook"] = id.into();
    serve(&inner, "response_url", params, http_method, &headers).await
}

/// Record the call, then fail it as a rule says or answer it.
async fn serve(
    inner: &Mutex<Inner>,
    method: &str,
    params: Value,
    http_method: axum::http::Method,
    headers: &HeaderMap,
) -> Response {
    let failure = {
        let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.record_calls {
            inner.calls.push(Call {
                method: method.to_owned(),
                params: params.clone(),
                authorization: headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                http_method: http_method.to_string(),
                at: Instant::now(),
            });
        }
        let channel = params["channel"].as_str().map(str::to_owned);
        let position = inner
            .rules
            .iter()
            .position(|r| r.method == method && (r.channel.is_none() || r.channel == channel));
        position.map(|i| {
            let rule = &mut inner.rules[i];
            rule.times -= 1;
            let failure = rule.failure.clone();
            if rule.times == 0 {
                inner.rules.remove(i);
            }
            failure
        })
    };
    match failure {
        Some(Failure::RateLimited { retry_after }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after.to_string())],
                "",
            )
                .into_response()
        }
        Some(Failure::ServerError) => return (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        // A `response_url` answers its errors as text with a 404 (`expired_url`, `used_url`…).
        Some(Failure::SlackError(error)) if method == "response_url" => {
            return (StatusCode::NOT_FOUND, error).into_response()
        }
        Some(Failure::SlackError(error)) => return slack_error(error),
        Some(Failure::Slow(wait)) => tokio::time::sleep(wait).await,
        Some(Failure::AfterEffect500) => {
            let _ = answer(inner, method, &params);
            return (StatusCode::INTERNAL_SERVER_ERROR, "lost answer").into_response();
        }
        None => {}
    }
    answer(inner, method, &params)
}

fn answer(inner: &Mutex<Inner>, method: &str, params: &Value) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let inner = &mut *inner;
    let text = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
    let new_hash = |inner: &mut Inner| {
        inner.next_hash += 1;
        format!("1700000000.{:06}", inner.next_hash)
    };
    match method {
        "auth.test" => ok(
            json!({ "url": WORKSPACE_URL, "team": "Acme", "user": "deskhand", "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0BOT" }),
        ),
        "users.info" => match inner.users.get(&text("user")) {
            Some(user) => ok(json!({ "user": user })),
            None => slack_error("user_not_found"),
        },
        "conversations.info" => {
            ok(json!({ "channel": { "id": text("channel"), "name": text("channel").to_lowercase() } }))
        }
        "chat.postMessage" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            // Slack stamps a post with the time it was made (deskhand searches history
            // from a recent `oldest`), and no two alike.
            inner.next_ts = now_micros().max(inner.next_ts + 100);
            let ts = format!("{}.{:06}", inner.next_ts / 1_000_000, inner.next_ts % 1_000_000);
            let message = Message {
                channel: text("channel"),
                ts: ts.clone(),
                thread_ts: params["thread_ts"].as_str().map(str::to_owned),
                text: text("text"),
                blocks,
                metadata: params.get("metadata").cloned().filter(|m| !m.is_null()),
                user: None,
                at: Instant::now(),
            };
            inner.messages.push(message);
            ok(json!({ "channel": text("channel"), "ts": ts, "message": { "text": text("text"), "ts": ts } }))
        }
        "chat.update" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            let (channel, ts) = (text("channel"), text("ts"));
            match inner.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts) {
                // Only the author may edit a message: people's are not deskhand's to change.
                Some(message) if message.user.is_some() => slack_error("cant_update_message"),
                Some(message) => {
                    message.text = text("text");
                    message.blocks = blocks;
                    ok(json!({ "channel": channel, "ts": ts }))
                }
                None => slack_error("message_not_found"),
            }
        }
        "chat.postEphemeral" => {
            let Ok(blocks) = json_param(params, "blocks") else {
                return slack_error("invalid_blocks");
            };
            let mut ephemeral = params.clone();
            if !blocks.is_null() {
                ephemeral["blocks"] = blocks;
            }
            inner.ephemerals.push(ephemeral);
            ok(json!({ "message_ts": "1700000000.000001" }))
        }
        "chat.getPermalink" => ok(json!({
            "channel": text("channel"),
            "permalink": format!("{WORKSPACE_URL}archives/{}/p{}", text("channel"), text("message_ts").replace('.', "")),
        })),
        "conversations.history" => {
            // Top-level messages between `oldest` and `latest`, newest first, a page at a time.
            let channel = text("channel");
            let inclusive = flag_param(params, "inclusive");
            let bound = |k: &str| params[k].as_str().filter(|s| !s.is_empty()).map(ts_key);
            let (latest, oldest) = (bound("latest"), bound("oldest"));
            let mut found: Vec<&Message> = inner
                .messages
                .iter()
                .filter(|m| m.channel == channel)
                .filter(|m| m.thread_ts.as_deref().is_none_or(|t| t == m.ts))
                .filter(|m| {
                    let key = ts_key(&m.ts);
                    latest.is_none_or(|l| if inclusive { key <= l } else { key < l })
                        && oldest.is_none_or(|o| if inclusive { key >= o } else { key > o })
                })
                .collect();
            found.sort_by_key(|m| Reverse(ts_key(&m.ts)));
            let limit = number_param(params, "limit").filter(|n| *n > 0).unwrap_or(100);
            let offset = cursor_param(params);
            let with_metadata = flag_param(params, "include_all_metadata");
            let messages: Vec<Value> = found
                .iter()
                .skip(offset)
                .take(limit)
                .map(|m| render(m, &inner.messages, with_metadata))
                .collect();
            let next = next_cursor(offset, messages.len(), found.len());
            ok(
                json!({ "messages": messages, "has_more": !next.is_empty(), "response_metadata": { "next_cursor": next } }),
            )
        }
        "conversations.replies" => {
            // The whole thread `ts` is in (as its parent or as a reply): parent first, then
            // the replies oldest first.
            let (channel, ts) = (text("channel"), text("ts"));
            let in_channel = || inner.messages.iter().filter(|m| m.channel == channel);
            let root = in_channel()
                .find(|m| m.ts == ts)
                .and_then(|m| m.thread_ts.clone())
                .unwrap_or_else(|| ts.clone());
            let mut thread: Vec<&Message> = in_channel()
                .filter(|m| m.ts == root || m.thread_ts.as_deref() == Some(root.as_str()))
                .collect();
            if thread.is_empty() {
                return slack_error("thread_not_found");
            }
            thread.sort_by_key(|m| (m.ts != root, ts_key(&m.ts)));
            let with_metadata = flag_param(params, "include_all_metadata");
            let messages: Vec<Value> = thread
                .iter()
                .map(|m| render(m, &inner.messages, with_metadata))
                .collect();
            ok(json!({ "messages": messages, "has_more": false, "response_metadata": { "next_cursor": "" } }))
        }
        "conversations.open" => {
            let users = text("users");
            match users.split(',').filter(|u| !u.is_empty()).collect::<Vec<_>>()[..] {
                [] => slack_error("users_list_not_supplied"),
                [user] => ok(json!({ "channel": { "id": dm_channel(user) } })),
                _ => slack_error("fake_slack_opens_dms_with_one_user_only"),
            }
        }
        "conversations.members" => {
            let members = inner.members.get(&text("channel")).cloned().unwrap_or_default();
            let limit = number_param(params, "limit").filter(|n| *n > 0).unwrap_or(100);
            let offset = cursor_param(params);
            let page: Vec<&String> = members.iter().skip(offset).take(limit).collect();
            let next = next_cursor(offset, page.len(), members.len());
            ok(json!({ "members": page, "response_metadata": { "next_cursor": next } }))
        }
        "reactions.add" => {
            let (channel, timestamp, name) = (text("channel"), text("timestamp"), text("name"));
            if channel.is_empty() || timestamp.is_empty() {
                return slack_error("no_item_specified");
            }
            if name.is_empty() {
                return slack_error("invalid_name");
            }
            let reaction = (channel, timestamp, name);
            if inner.reactions.contains(&reaction) {
                return slack_error("already_reacted");
            }
            inner.reactions.push(reaction);
            ok(json!({}))
        }
        "views.open" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let trigger_id = params["trigger_id"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if trigger_id.is_none() {
                return slack_error("invalid_arguments");
            }
            let id = format!("V{:04}", inner.views.len() + 1);
            let hash = new_hash(inner);
            inner.views.push(View {
                id: id.clone(),
                trigger_id,
                view: view.clone(),
                hash: hash.clone(),
                at: Instant::now(),
                updates: 0,
            });
            view_answer(&view, &id, &hash)
        }
        "views.update" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let hash = new_hash(inner);
            let Some(stored) = inner.views.iter_mut().find(|v| v.id == text("view_id")) else {
                return slack_error("not_found");
            };
            // A `hash` other than the last one given: the view changed since it was read.
            if params["hash"]
                .as_str()
                .is_some_and(|h| !h.is_empty() && h != stored.hash)
            {
                return slack_error("hash_conflict");
            }
            stored.view = view.clone();
            stored.hash = hash.clone();
            stored.updates += 1;
            view_answer(&view, &stored.id, &hash)
        }
        "views.publish" => {
            let Ok(view @ Value::Object(_)) = json_param(params, "view") else {
                return slack_error("invalid_arguments");
            };
            let user = text("user_id");
            if user.is_empty() {
                return slack_error("invalid_arguments");
            }
            let hash = new_hash(inner);
            let home = inner.homes.entry(user.clone()).or_insert_with(|| Home {
                view: Value::Null,
                hash: String::new(),
                publishes: 0,
            });
            if params["hash"].as_str().is_some_and(|h| !h.is_empty() && h != home.hash) {
                return slack_error("hash_conflict");
            }
            home.view = view.clone();
            home.hash = hash.clone();
            home.publishes += 1;
            view_answer(&view, &format!("VHOME{user}"), &hash)
        }
        "response_url" => {
            if params.get("unparsed").is_some() {
                return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
            }
            let mut body = params.clone();
            if let Some(body) = body.as_object_mut() {
                body.remove("hook");
            }
            inner.responses.push(body);
            "ok".into_response()
        }
        _ => slack_error("unknown_method"),
    }
}
