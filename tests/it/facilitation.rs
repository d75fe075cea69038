//! Guest facilitation: people the desk cannot link are helped in support channels through
//! an authorized facilitator, and nobody is silently dropped.

use serde_json::{json, Value};

use crate::support::fake_slack::dm_channel;
use crate::support::*;

/// A full member who facilitates.
const FIONA: &str = "U0FIONA";
/// Someone from another organization (Slack Connect), with no visible email.
const XAVI: &str = "U0XAVI";
const MESSAGE: &str = "1700000100.000100";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    app.slack.add_external(XAVI, "Xavi Partner");
    app
}

async fn authorize(app: &TestApp, user: &str) -> Value {
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{SUPPORT}/facilitator"),
        json!({ "slack_user_id": user }),
    )
    .await
}

/// Make every parked message look `days` older, as if it had waited that long.
async fn age_parked(app: &TestApp, days: i64) {
    let sql = format!(
        "update parked_messages set parked_at = parked_at - {}",
        days * 86_400_000
    );
    app.run_sql(&sql).await;
}

#[tokio::test]
async fn a_guest_is_filed_through_the_facilitator_on_their_own_behalf() {
    let app = app().await;
    let channel = authorize(&app, FIONA).await;
    assert_eq!(channel["facilitator"]["slack_user_id"], FIONA);
    assert_eq!(channel["facilitator"]["authorized_by"], "admin API");
    assert!(channel["facilitator"]["authorized_at"].is_number());

    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "Can't reach the partner portal"))
        .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        ticket["requester_slack_id"], FIONA,
        "filed with the facilitator's account"
    );
    let on_behalf_of = &ticket["on_behalf_of"];
    assert_eq!(on_behalf_of["slack_user_id"], GIL);
    assert_eq!(on_behalf_of["name"], "Gil Guest");
    assert_eq!(on_behalf_of["team_id"], fake_slack::TEAM);
    assert_eq!(on_behalf_of["email"], "gil@partner.example");
    assert_eq!(
        on_behalf_of["permalink"],
        "https://acme.slack.com/archives/C0SUPPORT/p1700000100000100"
    );
    let answer = app.slack.messages_in(SUPPORT)[0].blocks.to_string();
    assert!(
        answer.contains("on behalf of Gil Guest") && answer.contains("<@U0FIONA>"),
        "{answer}"
    );
    let card = app.slack.messages_in(AGENTS)[0].blocks.to_string();
    assert!(card.contains("on behalf of Gil Guest"), "{card}");
    assert!(app.slack.ephemerals().is_empty(), "nothing to explain");

    app.answer("Ev2", GIL, "1700000100.000200", MESSAGE, "Still failing")
        .await;
    let comment = &app.ticket("IT-1").await["comments"][0];
    assert_eq!(comment["author_slack_id"], FIONA);
    assert_eq!(comment["on_behalf_of"]["slack_user_id"], GIL);

    let audit = app.get("/api/v1/audit?ticket=IT-1").await.1;
    let entries = audit["audit"].as_array().unwrap();
    assert_eq!(entries[0]["action"], "ticket_created");
    assert_eq!(entries[0]["actor_slack_id"], FIONA);
    assert_eq!(entries[0]["on_behalf_of"]["slack_user_id"], GIL);
    assert_eq!(entries[1]["action"], "comment_added");
    assert_eq!(entries[1]["on_behalf_of"]["slack_user_id"], GIL);
    let config = app.get("/api/v1/audit").await.1;
    assert_eq!(config["audit"][0]["action"], "facilitator_authorized");
    assert_eq!(config["audit"][0]["detail"]["facilitator"], FIONA);
}

#[tokio::test]
async fn a_slack_connect_user_without_an_email_is_facilitated_too() {
    let app = app().await;
    authorize(&app, FIONA).await;
    app.deliver("Ev1", message(SUPPORT, XAVI, MESSAGE, "Our invoices bounce"))
        .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["on_behalf_of"]["slack_user_id"], XAVI);
    assert_eq!(ticket["on_behalf_of"]["team_id"], "T0OTHER");
    assert_eq!(ticket["on_behalf_of"]["email"], Value::Null);
}

#[tokio::test]
async fn a_verified_person_acts_as_themselves_where_a_facilitator_exists() {
    let app = app().await;
    authorize(&app, FIONA).await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["requester_slack_id"], ANA);
    assert_eq!(ticket["on_behalf_of"], Value::Null);
}

#[tokio::test]
async fn parked_messages_are_filed_in_order_once_a_facilitator_is_authorized() {
    let app = app().await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "first")).await;
    app.say("Ev2", XAVI, "1700000100.000200", "second").await;
    assert!(app.tickets().await.is_empty());
    assert_eq!(app.slack.ephemerals().len(), 2, "both were told why");

    let channel = authorize(&app, FIONA).await;
    assert_eq!(channel["parked_released"], 2);
    app.drain().await;

    assert_eq!(app.ticket("IT-1").await["summary"], "first");
    assert_eq!(app.ticket("IT-2").await["summary"], "second");
    assert_eq!(app.ticket("IT-2").await["on_behalf_of"]["slack_user_id"], XAVI);
    let told: Vec<Value> = app.slack.ephemerals().into_iter().skip(2).collect();
    assert_eq!(told.len(), 2, "both are told: {told:?}");
    assert!(told[0]["text"].as_str().unwrap().contains("has been filed"));
    let parked = app.get("/api/v1/parked").await.1;
    assert!(parked["parked"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["filed_at"].is_number()));

    // Authorizing again files nothing twice.
    authorize(&app, FIONA).await;
    app.drain().await;
    assert_eq!(app.tickets().await.len(), 2);
}

#[tokio::test]
async fn parked_messages_past_the_retention_are_reported_to_the_agents_instead() {
    let app = app().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "parked_retention_days": 3 }))
        .await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "an old question"))
        .await;
    age_parked(&app, 4).await;
    app.say("Ev2", GIL, "1700000100.000300", "a new question").await;

    let channel = authorize(&app, FIONA).await;
    assert_eq!(
        (channel["parked_released"].clone(), channel["parked_reported"].clone()),
        (json!(1), json!(1))
    );
    app.drain().await;

    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["summary"], "a new question");
    let report = app
        .slack
        .messages_in(AGENTS)
        .into_iter()
        .find(|m| m.text.contains("waited longer than the retention"))
        .expect("the agents hear of the old message");
    assert!(report.text.contains("an old question") && report.text.contains("<@U0GIL>"));
}

#[tokio::test]
async fn revoking_the_facilitator_parks_guests_again() {
    let app = app().await;
    authorize(&app, FIONA).await;
    let (status, channel) = app
        .admin("DELETE", &format!("/api/v1/channels/{SUPPORT}/facilitator"), None)
        .await;
    assert_eq!(status, 200);
    assert!(channel.get("facilitator").is_none(), "{channel}");
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "hello?")).await;
    assert!(app.tickets().await.is_empty());
    assert_eq!(app.get("/api/v1/parked").await.1["parked"][0]["slack_user_id"], GIL);
    let config = app.get("/api/v1/audit").await.1;
    assert_eq!(config["audit"][0]["action"], "facilitator_revoked");
}

#[tokio::test]
async fn only_a_verified_person_in_a_support_channel_can_be_authorized() {
    let app = app().await;
    let put = |channel: String, user: &str| {
        let body = json!({ "slack_user_id": user });
        let app = &app;
        async move {
            app.admin("PUT", &format!("/api/v1/channels/{channel}/facilitator"), Some(body))
                .await
        }
    };
    let (status, body) = put(SUPPORT.into(), GIL).await;
    assert_eq!(status, 422, "a guest cannot facilitate: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("verified person"));
    assert_eq!(put(SUPPORT.into(), "U0NOBODY").await.0, 422);
    assert_eq!(put(AGENTS.into(), FIONA).await.0, 422, "not in agent channels");
    assert_eq!(put("C0UNBOUND".into(), FIONA).await.0, 404);
    app.slack.fail("users.info", 1, Failure::ServerError);
    assert_eq!(put(SUPPORT.into(), FIONA).await.0, 503, "Slack down: try again");
    app.slack.fail("users.info", 1, Failure::SlackError("invalid_auth"));
    let (status, body) = put(SUPPORT.into(), FIONA).await;
    assert_eq!(status, 424, "a refused token is not \"try again\": {body}");
    assert_eq!(body["error"]["code"], "slack_refused");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SLACK_BOT_TOKEN") && message.contains("invalid_auth"),
        "{message}"
    );
    let (status, _) = app
        .http
        .put(format!("{}/api/v1/channels/{SUPPORT}/facilitator", app.addr))
        .json(&json!({ "slack_user_id": FIONA }))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401, "admins only");
}

#[tokio::test]
async fn the_workspace_facilitator_serves_channels_without_their_own_but_never_dms() {
    let app = app().await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "parked first")).await;
    let settings = app
        .admin_ok("PUT", "/api/v1/settings/facilitator", json!({ "slack_user_id": FIONA }))
        .await;
    assert_eq!(settings["facilitator"]["slack_user_id"], FIONA);
    assert_eq!(settings["parked_released"], 1);
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["requester_slack_id"], FIONA);

    app.say("Ev2", GIL, "1700000100.000400", "and another").await;
    assert_eq!(app.ticket("IT-2").await["on_behalf_of"]["slack_user_id"], GIL);

    let dm = json!({ "type": "message", "channel": dm_channel(GIL), "channel_type": "im", "user": GIL, "text": "hi", "ts": "1700000100.000500" });
    app.deliver("Ev3", dm).await;
    assert_eq!(app.tickets().await.len(), 2, "no facilitation in DMs");
    assert!(app.slack.messages_in(&dm_channel(GIL))[0].text.contains("isn't linked"));

    let (status, settings) = app.admin("DELETE", "/api/v1/settings/facilitator", None).await;
    assert_eq!((status, settings["facilitator"].clone()), (200, Value::Null));
}

#[tokio::test]
async fn a_guest_who_becomes_a_member_has_their_parked_messages_filed() {
    let mut app = app().await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "written as a guest"))
        .await;
    assert!(app.tickets().await.is_empty());

    // Gil joins the company; deskhand learns it the next time it asks Slack about him.
    app.slack.add_member(GIL, "Gil Member", "gil@acme.example");
    app.run_sql("update slack_users set fetched_at = 0").await;
    app.restart().await;
    app.say("Ev2", GIL, "1700000100.000300", "written as a member").await;

    let summaries: Vec<String> = app
        .tickets()
        .await
        .iter()
        .map(|t| t["summary"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(summaries.contains(&"written as a guest".to_owned()));
    let parked = app.get("/api/v1/parked").await.1;
    assert!(parked["parked"][0]["filed_at"].is_number(), "{parked}");
}

#[tokio::test]
async fn parked_messages_past_the_retention_are_reported_even_with_no_facilitator() {
    let mut app = app().await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "nobody ever came"))
        .await;
    age_parked(&app, 8).await;
    // The check runs at start and then every hour.
    app.restart().await;
    let report = |slack: &FakeSlack| {
        slack
            .messages_in(AGENTS)
            .into_iter()
            .any(|m| m.text.contains("waited longer than the retention") && m.text.contains("nobody ever came"))
    };
    app.slack.wait_until("the report of the expired message", report).await;
    app.drain().await;
    let parked = app.get("/api/v1/parked").await.1;
    assert!(parked["parked"][0]["reported_at"].is_number(), "{parked}");
    assert_eq!(parked["parked"][0]["filed_at"], Value::Null);
}

#[tokio::test]
async fn the_hourly_check_reports_what_expired_since_the_start() {
    let app = app().await;
    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "nobody ever came"))
        .await;
    // Eight days pass on deskhand's clock: the hourly check finds the message expired.
    app.advance(std::time::Duration::from_secs(8 * 86_400)).await;
    let report = |slack: &FakeSlack| {
        slack
            .messages_in(AGENTS)
            .into_iter()
            .any(|m| m.text.contains("waited longer than the retention"))
    };
    app.slack.wait_until("the hourly report", report).await;
    app.drain().await;
    let parked = app.get("/api/v1/parked").await.1;
    assert!(parked["parked"][0]["reported_at"].is_number(), "{parked}");
}

#[tokio::test]
async fn a_guests_mention_is_facilitated_like_their_message() {
    let app = app().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": false }))
        .await;
    authorize(&app, FIONA).await;
    let mention = json!({ "type": "app_mention", "channel": SUPPORT, "user": GIL, "text": "<@U0BOT> my badge is dead", "ts": MESSAGE });
    app.deliver("Ev1", mention).await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["source"], "mention");
    assert_eq!(ticket["requester_slack_id"], FIONA);
    assert_eq!(ticket["on_behalf_of"]["slack_user_id"], GIL);
}

#[tokio::test]
async fn settings_left_out_of_a_change_keep_their_value() {
    let app = app().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "default_project": "IT" }))
        .await;
    let settings = app
        .admin_ok("PUT", "/api/v1/settings", json!({ "parked_retention_days": 3 }))
        .await;
    assert_eq!(settings["default_project"], "IT");
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/settings",
            Some(json!({ "parked_retention_days": 5, "admins": ["not an id"] })),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        app.get("/api/v1/settings").await.1["parked_retention_days"],
        3,
        "nothing written"
    );
    let cleared = app
        .admin_ok("PUT", "/api/v1/settings", json!({ "default_project": null }))
        .await;
    assert_eq!(cleared["default_project"], Value::Null);
}
