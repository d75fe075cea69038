//! Arbitrary input at every door, signed as Slack signs it: JSON of any shape at the three
//! Slack routes, forms of any fields, and strings of any kind in the admin API's paths,
//! queries and bodies. Nothing may answer 5xx or panic, and afterwards an ordinary message
//! is still filed and answered.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::support::*;

/// Field names Slack payloads use, so the JSON reaches the code that reads them.
const KEYS: &[&str] = &[
    "type",
    "event",
    "event_id",
    "channel",
    "user",
    "text",
    "ts",
    "thread_ts",
    "subtype",
    "item",
    "reaction",
    "channel_type",
    "message",
    "previous_message",
    "bot_id",
    "files",
    "view",
    "actions",
    "callback_id",
    "trigger_id",
    "state",
    "values",
    "id",
    "private_metadata",
    "response_url",
    "container",
    "tab",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Z0-9]{1,12}".prop_map(String::from),
        "[0-9]{1,12}\\.[0-9]{1,8}".prop_map(String::from),
        Just("event_callback".to_owned()),
        Just("message".to_owned()),
        Just("view_submission".to_owned()),
        Just("block_actions".to_owned()),
        Just(SUPPORT.to_owned()),
        Just(ANA.to_owned()),
        Just("a\u{0}b".to_owned()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// `n` values of `strategy`, the same ones every run.
fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

fn form(fields: &[(String, String)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    form.finish()
}

#[tokio::test]
async fn arbitrary_input_never_gets_a_5xx_and_the_desk_goes_on() {
    let app = TestApp::spawn().await;
    for (n, body) in samples(json_value(), 48).into_iter().enumerate() {
        // Half of them inside a real envelope, so they reach the worker.
        let body = if n % 2 == 0 {
            envelope(&format!("EvFuzz{n}"), body)
        } else {
            body
        };
        let status = app.post_event_body(&body.to_string()).await;
        assert!(status.as_u16() < 500, "/slack/events {status}: {body}");
        let payload = form(&[("payload".into(), body.to_string())]);
        let status = app.post_form("/slack/interactivity", &payload).await;
        assert!(status < 500, "/slack/interactivity {status}: {body}");
    }
    let fields = prop::collection::vec(
        (
            prop::sample::select(&["command", "text", "user_id", "channel_id", "trigger_id", "response_url"][..]),
            text(),
        ),
        0..7,
    );
    for fields in samples(fields, 48) {
        let fields: Vec<(String, String)> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let status = app.post_form("/slack/commands", &form(&fields)).await;
        assert!(status < 500, "/slack/commands {status}: {fields:?}");
    }
    for (word, body) in samples((text(), json_value()), 48) {
        let segment: String = form_urlencoded::byte_serialize(word.as_bytes()).collect();
        for (method, path) in [
            ("GET", format!("/api/v1/projects/{segment}")),
            ("PUT", format!("/api/v1/projects/{segment}")),
            ("GET", format!("/api/v1/channels/{segment}")),
            ("PUT", format!("/api/v1/channels/{segment}")),
            ("PUT", format!("/api/v1/channels/{segment}/facilitator")),
            ("GET", format!("/api/v1/tickets/{segment}")),
            ("GET", format!("/api/v1/tickets?project={segment}&limit={segment}")),
            ("GET", format!("/api/v1/audit?ticket={segment}")),
            ("GET", format!("/api/v1/outbox?state={segment}")),
            ("PUT", "/api/v1/settings".to_owned()),
        ] {
            let (status, answer) = app.admin(method, &path, Some(body.clone())).await;
            assert!(status < 500, "{method} {path} {status}: {body} → {answer}");
        }
    }
    app.drain().await;
    app.say("EvAfter", ANA, "1700000999.000100", "still works").await;
    let filed = app.tickets().await;
    assert!(filed.iter().any(|t| t["summary"] == "still works"), "{filed:?}");
}
