//! A fake Slack Web API on 127.0.0.1: it records every call, keeps the messages posted to
//! it (with their metadata, so `conversations.replies` / `history` can find them), knows
//! the users it is told about, and can be told to fail: answer 429, 500, an `ok: false`
//! error, be slow, or post a message and then answer 500 as if the answer were lost.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
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
    /// When the fake received it.
    pub at: Instant,
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
    messages: Vec<Message>,
    rules: VecDeque<Rule>,
    next_ts: u64,
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
            next_ts: 1_700_000_000_000_000,
            record_calls: true,
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Slack");
        let addr = listener.local_addr().expect("fake Slack address");
        let app = Router::new()
            .route("/api/{method}", any(handle))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, addr }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
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

    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    pub fn messages_in(&self, channel: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// When each thread reply arrived, by the `thread_ts` it answered; forgets the messages
    /// (for load runs, whose messages would otherwise pile up).
    pub fn take_thread_replies(&self) -> HashMap<String, Instant> {
        let messages = std::mem::take(&mut self.lock().messages);
        messages
            .into_iter()
            .filter_map(|m| m.thread_ts.map(|t| (t, m.at)))
            .collect()
    }

    /// Forget recorded calls (messages stay).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }
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

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    http_method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = params(&headers, query, &body);
    let failure = {
        let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.record_calls {
            inner.calls.push(Call {
                method: method.clone(),
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
        Some(Failure::SlackError(error)) => return slack_error(error),
        Some(Failure::Slow(wait)) => tokio::time::sleep(wait).await,
        Some(Failure::AfterEffect500) => {
            let _ = answer(&inner, &method, &params);
            return (StatusCode::INTERNAL_SERVER_ERROR, "lost answer").into_response();
        }
        None => {}
    }
    answer(&inner, &method, &params)
}

fn answer(inner: &Mutex<Inner>, method: &str, params: &Value) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
    let text = |k: &str| params[k].as_str().unwrap_or_default().to_owned();
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
            inner.next_ts += 100;
            let ts = format!("{}.{:06}", inner.next_ts / 1_000_000, inner.next_ts % 1_000_000);
            let message = Message {
                channel: text("channel"),
                ts: ts.clone(),
                thread_ts: params["thread_ts"].as_str().map(str::to_owned),
                text: text("text"),
                blocks: params["blocks"].clone(),
                metadata: params.get("metadata").cloned().filter(|m| !m.is_null()),
                at: Instant::now(),
            };
            inner.messages.push(message);
            ok(json!({ "channel": text("channel"), "ts": ts, "message": { "text": text("text"), "ts": ts } }))
        }
        "chat.update" => {
            let (channel, ts) = (text("channel"), text("ts"));
            match inner.messages.iter_mut().find(|m| m.channel == channel && m.ts == ts) {
                Some(message) => {
                    message.text = text("text");
                    message.blocks = params["blocks"].clone();
                    ok(json!({ "channel": channel, "ts": ts }))
                }
                None => slack_error("message_not_found"),
            }
        }
        "chat.postEphemeral" => ok(json!({ "message_ts": "1700000000.000001" })),
        "chat.getPermalink" => ok(json!({
            "channel": text("channel"),
            "permalink": format!("{WORKSPACE_URL}archives/{}/p{}", text("channel"), text("message_ts").replace('.', "")),
        })),
        "conversations.replies" | "conversations.history" => {
            let channel = text("channel");
            let with_metadata = text("include_all_metadata") == "true";
            let thread = (method == "conversations.replies").then(|| text("ts"));
            let messages: Vec<Value> = inner
                .messages
                .iter()
                .filter(|m| m.channel == channel)
                .filter(|m| match &thread {
                    Some(ts) => m.thread_ts.as_deref() == Some(ts) || &m.ts == ts,
                    None => m.thread_ts.is_none(),
                })
                .map(|m| {
                    let mut v = json!({ "type": "message", "ts": m.ts, "text": m.text, "bot_id": "B0BOT" });
                    if let (true, Some(metadata)) = (with_metadata, &m.metadata) {
                        v["metadata"] = metadata.clone();
                    }
                    v
                })
                .collect();
            ok(json!({ "messages": messages, "has_more": false, "response_metadata": { "next_cursor": "" } }))
        }
        _ => slack_error("unknown_method"),
    }
}
