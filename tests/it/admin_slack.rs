//! `/desk admin`: channel preferences in Slack, for admins only, saved exactly as the admin
//! API saves them.

use serde_json::{json, Value};

use crate::support::*;

/// A workspace admin (Slack's `is_admin`).
const ADA: &str = "U0ADA";
const FIONA: &str = "U0FIONA";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.slack.add_user(json!({
        "id": ADA, "team_id": fake_slack::TEAM, "name": "ada", "is_admin": true,
        "profile": { "email": "ada@acme.example", "display_name": "Ada Admin" },
    }));
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "departments": ["Hardware"] }),
    )
    .await;
    app
}

fn select(value: &str) -> Value {
    json!({ "value": { "type": "static_select", "selected_option": { "value": value } } })
}

/// Save the channel preferences modal as `user`; deskhand's answer.
async fn save(app: &TestApp, user: &str, facilitator: Option<&str>) -> Value {
    let view = app.slack.last_view();
    let mut values = json!({
        "kind": select("support"),
        "project": select("IT"),
        "agent_channel": { "value": { "type": "conversations_select", "selected_conversation": AGENTS } },
        "options": { "value": { "type": "checkboxes", "selected_options": [{ "value": "thread_sync" }] } },
        "create_emoji": { "value": { "type": "plain_text_input", "value": ":sos:" } },
        "default_department": select("Hardware"),
        "default_priority": select("High"),
        "facilitator": { "value": { "type": "users_select", "selected_user": null } },
    });
    if let Some(f) = facilitator {
        values["facilitator"]["value"]["selected_user"] = f.into();
    }
    let payload = json!({
        "type": "view_submission", "user": { "id": user },
        "view": { "id": view.id, "callback_id": "channel_prefs", "private_metadata": view.view["private_metadata"],
                  "state": { "values": values } },
    });
    let response = app.interact(payload).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_admin_sets_a_channels_preferences_and_its_facilitator_in_slack() {
    let app = app().await;
    assert_eq!(app.slash(ADA, SUPPORT, "admin", "1.1").await, 200);
    app.drain().await;
    let modal = app.slack.last_view().view;
    assert_eq!(modal["callback_id"], "channel_prefs");
    assert_eq!(modal["private_metadata"], SUPPORT);
    let text = modal.to_string();
    assert!(
        text.contains(r#""initial_conversation":"C0AGENTS""#),
        "shows the channel as it is: {text}"
    );

    let answer = save(&app, ADA, Some(FIONA)).await;
    assert_eq!(answer["response_action"], "clear", "{answer}");

    let channel = app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1;
    assert_eq!(channel["auto_create"], false);
    assert_eq!(channel["thread_sync"], true);
    assert_eq!(channel["create_emoji"], "sos");
    assert_eq!(channel["default_department"], "Hardware");
    assert_eq!(channel["default_priority"], "High");
    assert_eq!(channel["facilitator"]["slack_user_id"], FIONA);
    assert_eq!(channel["facilitator"]["authorized_by"], ADA);
    let audit = app.get("/api/v1/audit").await.1;
    let actions: Vec<(&str, &str)> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_slack_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert!(actions.contains(&("facilitator_authorized", ADA)), "{actions:?}");
    assert!(actions.contains(&("channel_updated", ADA)), "{actions:?}");

    // Applied at once: a guest is now filed through Fiona.
    app.say("Ev1", GIL, "1700000100.000100", "hi, guest here").await;
    let tickets = app.tickets().await;
    assert!(tickets.is_empty(), "auto-create is off now");
    app.deliver(
        "Ev2",
        json!({ "type": "reaction_added", "user": GIL, "reaction": "sos", "item": { "type": "message", "channel": SUPPORT, "ts": "1700000100.000100" } }),
    )
    .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["requester_slack_id"], FIONA);
    assert_eq!(ticket["on_behalf_of"]["slack_user_id"], GIL);
    assert_eq!(ticket["priority"], "High");
}

#[tokio::test]
async fn nobody_else_may_change_preferences_and_everyone_is_told_why() {
    let app = app().await;
    app.slash(ANA, SUPPORT, "admin", "2.1").await;
    app.drain().await;
    assert!(
        app.answers()[0].contains("Only help-desk admins"),
        "{:?}",
        app.answers()
    );
    assert!(app.slack.views().is_empty(), "no modal for Ana");

    // A forged submission from Ana is refused too, and changes nothing.
    app.slash(ADA, SUPPORT, "admin", "2.2").await;
    app.drain().await;
    let answer = save(&app, ANA, None).await;
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["kind"]
        .as_str()
        .unwrap()
        .contains("Only help-desk admins"));
    assert_eq!(
        app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["auto_create"],
        true
    );

    // A guest cannot be a facilitator: said under the field, nothing saved.
    let answer = save(&app, ADA, Some(GIL)).await;
    assert_eq!(answer["response_action"], "errors");
    assert!(
        answer["errors"]["facilitator"]
            .as_str()
            .unwrap()
            .contains("verified person"),
        "{answer}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["auto_create"],
        true
    );

    // Admins named in the settings are admins too.
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [ANA] }))
        .await;
    app.slash(ANA, SUPPORT, "admin", "2.3").await;
    app.drain().await;
    assert_eq!(app.slack.views().len(), 2, "Ana may now");
    assert_eq!(save(&app, ANA, None).await["response_action"], "clear");
}

#[tokio::test]
async fn agents_named_in_the_settings_are_agents() {
    let app = app().await;
    app.say("Ev1", ANA, "1700000100.000100", "VPN is down").await;
    let eyes = json!({ "type": "reaction_added", "user": BO, "reaction": "eyes", "item": { "type": "message", "channel": SUPPORT, "ts": "1700000100.000100" } });
    app.deliver("Ev2", eyes.clone()).await;
    assert_eq!(
        app.ticket("IT-1").await["assignee_slack_id"],
        Value::Null,
        "Bo is in no agent channel"
    );
    app.admin_ok("PUT", "/api/v1/settings", json!({ "agents": [BO] })).await;
    app.deliver("Ev3", eyes).await;
    assert_eq!(app.ticket("IT-1").await["assignee_slack_id"], BO);
    let (status, _) = app
        .admin("PUT", "/api/v1/settings", Some(json!({ "agents": ["bob"] })))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn admins_set_priorities_and_agents_only_when_allowed() {
    let app = app().await;
    app.slack.set_members(AGENTS, &[BO]);
    app.say("Ev1", ANA, "1700000100.000100", "VPN is down").await;
    let card = app.slack.messages_in(AGENTS)[0].blocks.to_string();
    assert!(card.contains("set_priority") && card.contains("ticket:IT-1"), "{card}");

    let bo = app.slack.response_url("bo");
    app.interact(choose_priority(BO, "IT-1", "Urgent", "3.1", bo.clone()))
        .await;
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["priority"], "Normal");
    assert!(
        app.answers()[0].contains("Only help-desk admins set priorities here"),
        "{:?}",
        app.answers()
    );

    app.interact(choose_priority(
        ADA,
        "IT-1",
        "High",
        "3.2",
        app.slack.response_url("ada"),
    ))
    .await;
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["priority"], "High");

    app.admin_ok("PUT", "/api/v1/settings", json!({ "agents_set_priority": true }))
        .await;
    app.interact(choose_priority(BO, "IT-1", "Urgent", "3.3", bo)).await;
    app.drain().await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["priority"], "Urgent");
    assert!(
        app.slack.messages_in(AGENTS)[0].blocks.to_string().contains("Urgent"),
        "the card shows it"
    );
    let audit = app.get("/api/v1/audit?ticket=IT-1").await.1;
    let changes: Vec<&Value> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "priority_changed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["actor_slack_id"], BO);
}

#[tokio::test]
async fn every_admin_api_change_needs_the_admin_token() {
    let app = app().await;
    let changes = app.get("/api/v1/audit").await.1["audit"].as_array().unwrap().len();
    let body = json!({ "slack_user_id": "U0FIONA" });
    for (method, path) in [
        ("PUT", format!("/api/v1/channels/{SUPPORT}/facilitator")),
        ("DELETE", format!("/api/v1/channels/{SUPPORT}/facilitator")),
        ("PUT", "/api/v1/settings/facilitator".to_owned()),
        ("DELETE", "/api/v1/settings/facilitator".to_owned()),
        ("PUT", "/api/v1/settings".to_owned()),
        ("PUT", format!("/api/v1/channels/{SUPPORT}")),
        ("DELETE", format!("/api/v1/channels/{SUPPORT}")),
        ("PUT", "/api/v1/projects/IT".to_owned()),
    ] {
        let response = app
            .http
            .request(method.parse().unwrap(), format!("{}{path}", app.addr))
            .bearer_auth("not-the-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["facilitator"],
        Value::Null
    );
    let after = app.get("/api/v1/audit").await.1["audit"].as_array().unwrap().len();
    assert_eq!(after, changes, "nothing changed");
}

#[tokio::test]
async fn the_modal_revokes_the_facilitator_and_turns_a_channel_into_an_agent_channel() {
    let app = app().await;
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{SUPPORT}/facilitator"),
        json!({ "slack_user_id": FIONA }),
    )
    .await;
    app.slash(ADA, SUPPORT, "admin", "4.1").await;
    app.drain().await;
    assert!(app.slack.last_view().view.to_string().contains("revoke_facilitator"));
    let view = app.slack.last_view();
    let submit = |values: Value| {
        json!({
            "type": "view_submission", "user": { "id": ADA },
            "view": { "id": view.id, "callback_id": "channel_prefs", "private_metadata": SUPPORT, "state": { "values": values } },
        })
    };
    // The facilitator menu still shows Fiona (Slack's menus cannot be emptied): the box revokes.
    let answer: Value = app
        .interact(submit(json!({
            "kind": select("support"), "project": select("IT"),
            "options": { "value": { "type": "checkboxes", "selected_options": [{ "value": "auto_create" }, { "value": "revoke_facilitator" }] } },
            "facilitator": { "value": { "type": "users_select", "selected_user": FIONA } },
        })))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["response_action"], "clear", "{answer}");
    assert_eq!(
        app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["facilitator"],
        Value::Null
    );
    let audit = app.get("/api/v1/audit").await.1;
    assert_eq!(audit["audit"][0]["action"], "facilitator_revoked");
    assert_eq!(audit["audit"][0]["actor_name"], "Ada Admin");

    // A channel with no tickets' agents: the project still chosen in the menu is left out.
    app.admin_ok(
        "PUT",
        "/api/v1/channels/C0NEWAGENTS",
        json!({ "kind": "support", "project": "IT" }),
    )
    .await;
    let to_agents = json!({
        "type": "view_submission", "user": { "id": ADA },
        "view": { "id": view.id, "callback_id": "channel_prefs", "private_metadata": "C0NEWAGENTS", "state": { "values": {
            "kind": select("agent"), "project": select("IT"), "default_priority": select("High"),
        } } },
    });
    let answer: Value = app.interact(to_agents).await.json().await.unwrap();
    assert_eq!(answer["response_action"], "clear", "{answer}");
    let channel = app.get("/api/v1/channels/C0NEWAGENTS").await.1;
    assert_eq!(
        (channel["kind"].clone(), channel.get("project")),
        (json!("agent"), None)
    );
}
