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
