//! `slack-manifest.yaml` is an app manifest Slack accepts (checked against Slack's published
//! manifest schema) and asks for what deskhand uses.

use serde_json::Value;

fn manifest() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/slack-manifest.yaml"))
        .expect("slack-manifest.yaml");
    serde_yaml::from_str(&text).expect("slack-manifest.yaml is YAML")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_manifest_is_valid_against_slacks_schema() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contracts/slack-manifest.schema.2.0.0.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("manifest schema")).expect("JSON");
    let manifest = manifest();
    assert_eq!(
        manifest["_metadata"]["major_version"], 2,
        "the schema checked is the one for version 2"
    );
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "slack-manifest.yaml: {errors:#?}");
}

#[test]
fn the_manifest_asks_for_what_deskhand_uses() {
    let manifest = manifest();
    let scopes = strings(&manifest["oauth_config"]["scopes"]["bot"]);
    for scope in [
        "channels:history",
        "groups:history",
        "chat:write",
        "users:read",
        "users:read.email",
        "reactions:read",
        "reactions:write",
        "app_mentions:read",
        "im:history",
        "im:write",
        "commands",
        "channels:read",
        "groups:read",
    ] {
        assert!(scopes.contains(&scope), "bot scope {scope}");
    }
    let events = &manifest["settings"]["event_subscriptions"];
    assert!(
        events["request_url"].as_str().unwrap().ends_with("/slack/events"),
        "events go to /slack/events"
    );
    for event in [
        "message.channels",
        "message.groups",
        "message.im",
        "reaction_added",
        "app_mention",
        "app_home_opened",
    ] {
        assert!(strings(&events["bot_events"]).contains(&event), "bot event {event}");
    }

    let features = &manifest["features"];
    assert_eq!(features["app_home"]["home_tab_enabled"], true, "the Home tab is on");
    assert_eq!(
        features["app_home"]["messages_tab_enabled"], true,
        "the Messages tab is on"
    );
    assert_eq!(
        features["app_home"]["messages_tab_read_only_enabled"], false,
        "people can write to deskhand in its Messages tab"
    );
    let shortcuts = features["shortcuts"].as_array().expect("shortcuts");
    for (callback_id, kind) in [("create_ticket", "message"), ("new_request", "global")] {
        assert!(
            shortcuts
                .iter()
                .any(|s| s["callback_id"] == callback_id && s["type"] == kind),
            "a {kind} shortcut {callback_id}"
        );
    }
    let commands = features["slash_commands"].as_array().expect("slash commands");
    let desk = commands
        .iter()
        .find(|c| c["command"] == "/desk")
        .expect("the /desk command");
    assert!(
        desk["url"].as_str().unwrap().ends_with("/slack/commands"),
        "/desk goes to /slack/commands"
    );

    let interactivity = &manifest["settings"]["interactivity"];
    assert_eq!(interactivity["is_enabled"], true, "interactivity is on");
    assert!(
        interactivity["request_url"]
            .as_str()
            .unwrap()
            .ends_with("/slack/interactivity"),
        "interactions go to /slack/interactivity"
    );
}

#[test]
fn the_committed_manifest_is_what_deskhand_manifest_prints() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/slack-manifest.yaml")).unwrap();
    let printed = deskhand::slack::manifest::render(Some("https://deskhand.example.com"), false);
    assert!(
        committed == printed,
        "slack-manifest.yaml is stale: run `cargo run -- manifest > slack-manifest.yaml`"
    );
}

#[test]
fn the_socket_mode_manifest_is_valid_too() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contracts/slack-manifest.schema.2.0.0.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let socket: Value = serde_yaml::from_str(&deskhand::slack::manifest::render(None, true)).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&socket).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(socket["settings"]["socket_mode_enabled"], true);
    assert!(socket["settings"]["event_subscriptions"]["request_url"].is_null());
}

/// Every event the manifest subscribes to is one deskhand acts on, and every kind of event
/// deskhand acts on is subscribed to.
#[test]
fn the_subscribed_events_are_the_handled_ones() {
    use deskhand::slack::events::{decode_event, Command};
    use deskhand::slack::manifest::BOT_EVENTS;

    let event = |event: serde_json::Value| {
        serde_json::json!({ "type": "event_callback", "event_id": "Ev1", "event": event }).to_string()
    };
    let samples = [
        (
            "message.channels",
            serde_json::json!({ "type": "message", "channel": "C1", "channel_type": "channel", "user": "U1", "text": "hi", "ts": "1.1" }),
        ),
        (
            "message.groups",
            serde_json::json!({ "type": "message", "channel": "G1", "channel_type": "group", "user": "U1", "text": "hi", "ts": "1.1" }),
        ),
        (
            "message.im",
            serde_json::json!({ "type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": "hi", "ts": "1.1" }),
        ),
        (
            "reaction_added",
            serde_json::json!({ "type": "reaction_added", "user": "U1", "reaction": "ticket", "item": { "type": "message", "channel": "C1", "ts": "1.1" } }),
        ),
        (
            "app_mention",
            serde_json::json!({ "type": "app_mention", "channel": "C1", "user": "U1", "text": "<@U0BOT> help", "ts": "1.1" }),
        ),
        (
            "app_home_opened",
            serde_json::json!({ "type": "app_home_opened", "user": "U1", "tab": "home" }),
        ),
        ("app_uninstalled", serde_json::json!({ "type": "app_uninstalled" })),
        (
            "tokens_revoked",
            serde_json::json!({ "type": "tokens_revoked", "tokens": { "oauth": [], "bot": ["U0BOT"] } }),
        ),
    ];
    let subscribed: Vec<&str> = BOT_EVENTS.iter().map(|(e, _)| *e).collect();
    let sampled: Vec<&str> = samples.iter().map(|(e, _)| *e).collect();
    assert_eq!(
        subscribed, sampled,
        "each subscribed event has a sample here, and no other"
    );
    for (name, sample) in samples {
        let command = decode_event(&event(sample)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!matches!(command, Command::Ignored { .. }), "{name} is handled");
    }
}
