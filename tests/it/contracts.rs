//! What deskhand sends Slack, checked against Slack's published Web API description
//! (`tests/contracts/slack-web-api-openapi-v2.json`): every call names a real method,
//! carries its required parameters, and uses no parameter the method does not know.

use serde_json::{json, Value};

use crate::support::fake_slack::Call;
use crate::support::*;

fn web_api_spec() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contracts/slack-web-api-openapi-v2.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the Slack Web API description")).expect("valid JSON")
}

/// Parameters of a method, as (name, required), whatever verb the description files it under.
fn parameters(spec: &Value, method: &str) -> Vec<(String, bool)> {
    let path = &spec["paths"][format!("/{method}")];
    assert!(path.is_object(), "{method} is not a Slack Web API method");
    path.as_object()
        .unwrap()
        .values()
        .flat_map(|op| op["parameters"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["required"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Parameters Slack added after the 2020 description was published: message metadata
/// (<https://api.slack.com/metadata/using>) on posts and when reading history.
const NEWER_THAN_THE_DESCRIPTION: &[(&str, &str)] = &[
    ("chat.postMessage", "metadata"),
    ("chat.update", "metadata"),
    ("conversations.history", "include_all_metadata"),
    ("conversations.replies", "include_all_metadata"),
];

/// Methods Slack documents as reads: deskhand sends them as GET with query parameters.
const READS: &[&str] = &[
    "users.info",
    "conversations.info",
    "conversations.history",
    "conversations.replies",
    "conversations.members",
    "chat.getPermalink",
];

#[tokio::test]
async fn every_call_deskhand_makes_matches_the_published_web_api() {
    let app = TestApp::spawn().await;
    // A flow that makes every kind of call: lookups, posts, updates, ephemerals, and the
    // searches that follow a lost answer.
    app.slack
        .fail_in("chat.postMessage", SUPPORT, 1, Failure::AfterEffect500);
    app.slack
        .fail_in("chat.postMessage", AGENTS, 1, Failure::AfterEffect500);
    app.say("Ev1", ANA, "1700000100.000100", "VPN is down").await;
    app.deliver(
        "Ev2",
        json!({
            "type": "message", "subtype": "message_changed", "channel": SUPPORT,
            "message": { "type": "message", "text": "VPN is down again", "user": ANA },
            "previous_message": { "type": "message", "text": "VPN is down", "user": ANA, "ts": "1700000100.000100" },
            "ts": "1700000200.000100"
        }),
    )
    .await;
    app.say("Ev3", GIL, "1700000100.000300", "guest here").await;

    let spec = web_api_spec();
    let calls = app.slack.calls();
    let methods: std::collections::BTreeSet<_> = calls.iter().map(|c| c.method.as_str()).collect();
    for expected in [
        "auth.test",
        "users.info",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "conversations.replies",
        "conversations.history",
    ] {
        assert!(methods.contains(expected), "the flow exercised {expected}: {methods:?}");
    }
    matches_the_description(&spec, &calls);
    for post in app.slack.calls_to("chat.postMessage") {
        assert!(post.params["blocks"].is_array(), "blocks are a JSON array");
        let metadata = &post.params["metadata"];
        assert!(
            metadata["event_type"].is_string() && metadata["event_payload"].is_object(),
            "metadata has Slack's shape: {metadata}"
        );
    }
}

/// Every call names a real method, carries its required parameters, uses no unknown one,
/// authenticates with the bot token and uses the verb Slack documents.
fn matches_the_description(spec: &Value, calls: &[Call]) {
    // POSTs to a `response_url` are not Web API methods: the description does not cover them.
    for call in calls.iter().filter(|c| c.method != "response_url") {
        let known = parameters(spec, &call.method);
        let sent = call
            .params
            .as_object()
            .unwrap_or_else(|| panic!("{} parameters: {}", call.method, call.params));
        for (name, required) in &known {
            if *required && name != "token" {
                assert!(
                    sent.contains_key(name),
                    "{} without its required {name}: {}",
                    call.method,
                    call.params
                );
            }
        }
        for name in sent.keys() {
            let newer = NEWER_THAN_THE_DESCRIPTION.contains(&(call.method.as_str(), name.as_str()));
            assert!(
                newer || known.iter().any(|(k, _)| k == name),
                "{} has no parameter {name}",
                call.method
            );
        }
        assert_eq!(
            call.authorization.as_deref(),
            Some("Bearer xoxb-test-token"),
            "{} authenticates with Bearer",
            call.method
        );
        let verb = if READS.contains(&call.method.as_str()) {
            "GET"
        } else {
            "POST"
        };
        assert_eq!(call.http_method, verb, "{} is sent as {verb}", call.method);
    }
}

#[tokio::test]
async fn every_call_of_the_request_flows_matches_the_published_web_api() {
    let app = TestApp::spawn().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": false }))
        .await;
    app.slack.set_members(AGENTS, &[BO]);
    // An emoji on a message deskhand never saw (history), on a reply (replies), a
    // shortcut's form opened, submitted and updated, the Home tab, an agent resolving
    // (reactions, DM), and a command's answer.
    app.slack
        .add_user_message(SUPPORT, ANA, "1700000100.000100", None, "VPN is down");
    app.slack.add_user_message(
        SUPPORT,
        ANA,
        "1700000100.000200",
        Some("1700000100.000100"),
        "still down",
    );
    let react = |user: &str, name: &str, ts: &str| json!({ "type": "reaction_added", "user": user, "reaction": name, "item": { "type": "message", "channel": SUPPORT, "ts": ts } });
    app.deliver("Ev0", json!({ "type": "app_home_opened", "user": ANA, "tab": "home" }))
        .await;
    app.deliver("Ev1", react(BO, "ticket", "1700000100.000100")).await;
    app.deliver("Ev2", react(BO, "ticket", "1700000100.000200")).await;
    app.deliver("Ev3", react(BO, "white_check_mark", "1700000100.000100"))
        .await;
    app.interact(
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "1.2.3", "user": { "id": ANA } }),
    )
    .await;
    app.drain().await;
    let view = app.slack.last_view();
    let submission = json!({
        "type": "view_submission", "user": { "id": ANA },
        "view": { "id": view.id, "callback_id": "request_form", "private_metadata": view.view["private_metadata"],
                  "state": { "values": {
                      "project": { "value": { "type": "static_select", "selected_option": { "value": "IT" } } },
                      "summary": { "value": { "type": "plain_text_input", "value": "A monitor" } } } } },
    });
    app.interact(submission).await;
    app.slash(ANA, SUPPORT, "mine", "1.2.4").await;
    app.drain().await;

    let spec = web_api_spec();
    let calls = app.slack.calls();
    let methods: std::collections::BTreeSet<_> = calls.iter().map(|c| c.method.as_str()).collect();
    for expected in [
        "conversations.history",
        "conversations.replies",
        "conversations.members",
        "conversations.open",
        "views.open",
        "views.update",
        "views.publish",
        "reactions.add",
        "chat.getPermalink",
        "response_url",
    ] {
        assert!(methods.contains(expected), "the flow exercised {expected}: {methods:?}");
    }
    matches_the_description(&spec, &calls);
    for call in app.slack.calls_to("views.open") {
        assert!(call.params["view"].is_object(), "a view is a JSON object");
    }
}
