//! Slack payloads as the tests send them, shaped like the real ones (see
//! `tests/fixtures/slack/` for payloads Slack really sent): Events API envelopes and
//! events, interactivity payloads, and the fixtures themselves.

use serde_json::{json, Value};

use super::fake_slack::{self, dm_channel};
use super::{now_secs, AGENTS, ANA, SUPPORT};

/// A payload Slack really sent, from `tests/fixtures/slack/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An Events API envelope around `event`, as Slack sends it.
pub fn envelope(event_id: &str, event: Value) -> Value {
    json!({
        "token": "unused", "team_id": fake_slack::TEAM, "api_app_id": "A0APP",
        "event": event, "type": "event_callback", "event_id": event_id, "event_time": now_secs(),
        "authorizations": [{ "team_id": fake_slack::TEAM, "user_id": fake_slack::BOT_USER, "is_bot": true }],
    })
}

/// A top-level message `event`.
pub fn message(channel: &str, user: &str, ts: &str, text: &str) -> Value {
    json!({ "type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts, "channel_type": "channel" })
}

/// A reply in the thread under `thread_ts`.
pub fn reply(channel: &str, user: &str, ts: &str, thread_ts: &str, text: &str) -> Value {
    let mut event = message(channel, user, ts, text);
    event["thread_ts"] = thread_ts.into();
    event
}

/// A `reaction_added` event: `user` added the emoji `name` to the message at `ts`.
pub fn reaction(user: &str, name: &str, channel: &str, ts: &str) -> Value {
    json!({
        "type": "reaction_added", "user": user, "reaction": name,
        "item": { "type": "message", "channel": channel, "ts": ts }, "event_ts": "1700000999.000100",
    })
}

/// A modal input's submitted value, by kind of input (`select`, `user`, or text).
pub fn field(kind: &str, value: &str) -> Value {
    match kind {
        "select" => json!({ "value": { "type": "static_select", "selected_option": { "value": value } } }),
        "user" => json!({ "value": { "type": "users_select", "selected_user": value } }),
        _ => json!({ "value": { "type": "plain_text_input", "value": value } }),
    }
}

/// A message `user` wrote in their DM with deskhand.
pub fn dm(user: &str, ts: &str, text: &str) -> Value {
    json!({ "type": "message", "channel": dm_channel(user), "channel_type": "im", "user": user, "text": text, "ts": ts, "event_ts": ts })
}

/// The requester's "Close" button on their request's thread reply, pressed by `user`.
pub fn close(user: &str, key: &str, trigger: &str) -> Value {
    json!({
        "type": "block_actions", "user": { "id": user }, "trigger_id": trigger,
        "container": { "type": "message", "channel_id": SUPPORT, "message_ts": "1.1" },
        "channel": { "id": SUPPORT },
        "actions": [{ "action_id": "close_request", "block_id": "requester", "value": key, "type": "button", "action_ts": trigger }],
        "response_url": format!("http://127.0.0.1:9/{trigger}"),
    })
}

/// A `message_changed` event: the message at `ts` now reads `text`.
pub fn edit(channel: &str, ts: &str, text: &str, previous: &str) -> Value {
    // Shaped like the real payload: the inner message has no ts.
    json!({
        "type": "message", "subtype": "message_changed", "channel": channel, "hidden": true,
        "message": { "type": "message", "text": text, "user": ANA, "edited": { "user": ANA, "ts": "1700000200.000000" } },
        "previous_message": { "type": "message", "text": previous, "user": ANA, "ts": ts },
        "ts": "1700000200.000100", "event_ts": "1700000200.000100", "channel_type": "channel"
    })
}

/// A `message_deleted` event for the message at `ts`.
pub fn delete(channel: &str, ts: &str, previous: &str) -> Value {
    json!({
        "type": "message", "subtype": "message_deleted", "channel": channel, "hidden": true, "deleted_ts": ts,
        "previous_message": { "type": "message", "text": previous, "user": ANA, "ts": ts },
        "ts": "1700000300.000100", "event_ts": "1700000300.000100", "channel_type": "channel"
    })
}

/// A priority chosen on an agent card's menu by `user`.
pub fn choose_priority(user: &str, key: &str, priority: &str, trigger: &str, response_url: String) -> Value {
    json!({
        "type": "block_actions", "user": { "id": user }, "trigger_id": trigger, "response_url": response_url,
        "container": { "type": "message", "channel_id": AGENTS, "message_ts": "1.1" },
        "actions": [{ "action_id": "set_priority", "block_id": format!("ticket:{key}"), "type": "static_select",
                      "selected_option": { "value": priority }, "action_ts": trigger }],
    })
}
