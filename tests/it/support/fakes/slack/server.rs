//! The fake's HTTP side: reading a call's parameters (form, JSON or query), recording it,
//! failing it as a test asked, and answering in Slack's shapes.

use super::methods::answer;
use super::*;

/// The DM channel `conversations.open` gives with `user`: `D` and the user id without its
/// first letter (`U0ANA` → `D0ANA`).
pub fn dm_channel(user: &str) -> String {
    format!("D{}", user.get(1..).unwrap_or_default())
}

pub(super) fn params(headers: &HeaderMap, query: Option<String>, body: &Bytes) -> Value {
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
pub(super) fn json_param(params: &Value, key: &str) -> Result<Value, ()> {
    match &params[key] {
        Value::String(s) => serde_json::from_str(s).map_err(|_| ()),
        other => Ok(other.clone()),
    }
}

/// A number parameter, sent as a JSON number or as text.
pub(super) fn number_param(params: &Value, key: &str) -> Option<usize> {
    let value = &params[key];
    value
        .as_u64()
        .map(|n| n as usize)
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// A boolean parameter: `true`, `"true"` or `"1"` (as Slack reads them).
pub(super) fn flag_param(params: &Value, key: &str) -> bool {
    match &params[key] {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => s == "true" || s == "1",
        _ => false,
    }
}

/// Where a page starts: the fake's cursors are `next:<offset>`.
pub(super) fn cursor_param(params: &Value) -> usize {
    params["cursor"]
        .as_str()
        .and_then(|c| c.strip_prefix("next:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub(super) fn next_cursor(offset: usize, taken: usize, total: usize) -> String {
    if offset + taken < total {
        format!("next:{}", offset + taken)
    } else {
        String::new()
    }
}

pub(super) fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

/// A message timestamp as (seconds, microseconds), to compare as numbers the way Slack does
/// (`"1700000000.5"` is `"1700000000.500000"`; `"1700000000"` is its first microsecond).
pub(super) fn ts_key(ts: &str) -> (u64, u64) {
    let (seconds, fraction) = ts.split_once('.').unwrap_or((ts, ""));
    let micros: String = fraction.chars().chain(std::iter::repeat('0')).take(6).collect();
    (seconds.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

/// A message as `conversations.history` / `replies` show it. People's messages that start a
/// thread carry its `thread_ts` and `reply_count`, as in Slack; deskhand's posts show
/// `bot_id`, and their metadata when asked for.
pub(super) fn render(message: &Message, all: &[Message], with_metadata: bool) -> Value {
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

pub(super) fn ok(extra: Value) -> Response {
    let mut body = json!({ "ok": true });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    Json(body).into_response()
}

pub(super) fn slack_error(error: &str) -> Response {
    Json(json!({ "ok": false, "error": error })).into_response()
}

/// A view as Slack answers it: what was sent, with its `id` and `hash`.
pub(super) fn view_answer(view: &Value, id: &str, hash: &str) -> Response {
    let mut view = view.clone();
    view["id"] = id.into();
    view["hash"] = hash.into();
    ok(json!({ "view": view }))
}

/// A Web API call: `/api/{method}`.
pub(super) async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    http_method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = params(&headers, query, &body);
    let _under_way = UnderWay::start(&inner, &method);
    serve(&inner, &method, params, http_method, &headers).await
}

/// A call under way, counted in [`Inner::at_once`] until it is answered.
struct UnderWay<'a> {
    inner: &'a Mutex<Inner>,
    method: &'a str,
}

impl<'a> UnderWay<'a> {
    fn start(inner: &'a Mutex<Inner>, method: &'a str) -> Self {
        let mut locked = inner.lock().unwrap_or_else(|p| p.into_inner());
        let (now, most) = locked.at_once.entry(method.to_owned()).or_default();
        *now += 1;
        *most = (*most).max(*now);
        Self { inner, method }
    }
}

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        let mut locked = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((now, _)) = locked.at_once.get_mut(self.method) {
            *now -= 1;
        }
    }
}

/// A POST to a `response_url` (`/hooks/{id}`): recorded as a call of method `response_url`
/// whose parameters are the JSON body and the hook's id (`"hook"`). Slack answers `ok`.
pub(super) async fn hook(
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
pub(super) async fn serve(
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
    // A failed call is a change too: a test may wait for the attempt itself.
    changed(inner);
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
            changed(inner);
            return (StatusCode::INTERNAL_SERVER_ERROR, "lost answer").into_response();
        }
        None => {}
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let installed = token.and_then(|t| inner.lock().unwrap_or_else(|p| p.into_inner()).tokens.get(&t).cloned());
    let mut answered = match (method, installed) {
        // An installed workspace's token: it is that workspace's bot, until revoked.
        (_, Some(Value::Null)) => slack_error("token_revoked"),
        ("auth.test", Some(auth)) => ok(auth),
        // An installed workspace's token sees its own members (and its org's) only.
        ("users.info", Some(auth)) => {
            let user = inner
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .users
                .get(params["user"].as_str().unwrap_or_default())
                .cloned();
            match user {
                Some(user)
                    if user["team_id"] == auth["team_id"]
                        || (!auth["enterprise_id"].is_null()
                            && user["enterprise_user"]["enterprise_id"] == auth["enterprise_id"]) =>
                {
                    ok(json!({ "user": user }))
                }
                _ => slack_error("user_not_found"),
            }
        }
        ("oauth.v2.access", _) => oauth_access(inner, &params, headers),
        _ => answer(inner, method, &params),
    };
    if method == "auth.test" {
        // The token's scopes, as Slack says them in a header of every Web API answer.
        let scopes = inner.lock().unwrap_or_else(|p| p.into_inner()).scopes.clone();
        // By default, every bot scope deskhand's manifest asks for.
        let all = || {
            let every: Vec<&str> = deskhand::slack::manifest::BOT_SCOPES
                .iter()
                .flat_map(|(scopes, _)| scopes.iter().copied())
                .collect();
            every.join(",")
        };
        let scopes = scopes.map_or_else(all, |s| s.join(","));
        if let Ok(value) = scopes.parse() {
            answered.headers_mut().insert("x-oauth-scopes", value);
        }
    }
    changed(inner);
    answered
}

/// Tell whoever waits on the fake (`FakeSlack::wait_until`) that it has changed.
fn changed(inner: &Mutex<Inner>) {
    let changed = inner.lock().unwrap_or_else(|p| p.into_inner()).changed.clone();
    changed.notify_waiters();
}

/// `oauth.v2.access`: the app's credentials as HTTP Basic (`client-id:client-secret`, the
/// suite's app), and a code a person approved, good once.
fn oauth_access(inner: &Mutex<Inner>, params: &Value, headers: &HeaderMap) -> Response {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("client-id:client-secret")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return slack_error("invalid_client_id");
    }
    let code = params["code"].as_str().unwrap_or_default();
    match inner.lock().unwrap_or_else(|p| p.into_inner()).installs.remove(code) {
        Some(answer) => ok(answer),
        None => slack_error("invalid_code"),
    }
}
