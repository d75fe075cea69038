//! Requests from everywhere: emoji, shortcuts and the request form, mentions, DMs,
//! `/desk`, the Home tab, closing one's own request, and notifications.

use serde_json::{json, Value};

use crate::support::fake_slack::{dm_channel, View};
use crate::support::*;

const MESSAGE: &str = "1700000100.000100";
const ELSEWHERE: &str = "C0RANDOM";

/// deskhand whose support channel files only what is asked for (no auto-create), with
/// Bo as the one agent.
async fn without_auto_create() -> TestApp {
    let app = TestApp::spawn().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": false }))
        .await;
    app.slack.set_members(AGENTS, &[BO]);
    app
}

/// Submit an opened request form as `user` with these field values.
async fn submit(app: &TestApp, view: &View, user: &str, values: Value) -> Value {
    let payload = json!({
        "type": "view_submission", "user": { "id": user, "team_id": fake_slack::TEAM }, "trigger_id": "1.2.submit",
        "view": {
            "id": view.id, "callback_id": view.view["callback_id"], "hash": view.hash,
            "private_metadata": view.view["private_metadata"], "state": { "values": values },
        },
    });
    let response = app.interact(payload).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap_or(Value::Null)
}

fn block_ids(view: &Value) -> Vec<String> {
    view["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["block_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_creation_emoji_files_a_message_once_with_its_author_as_requester() {
    let app = without_auto_create().await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "Printer on 3 is jammed"))
        .await;
    assert!(app.tickets().await.is_empty(), "auto-create is off");

    app.deliver("Ev2", reaction(BO, "ticket", SUPPORT, MESSAGE)).await;
    app.deliver("Ev3", reaction(ANA, "ticket", SUPPORT, MESSAGE)).await;

    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "a message is filed once");
    let ticket = &tickets[0];
    assert_eq!(ticket["source"], "emoji");
    assert_eq!(ticket["requester_slack_id"], ANA);
    assert_eq!(ticket["reporter_slack_id"], BO);
    assert_eq!(ticket["summary"], "Printer on 3 is jammed");
    let replies = app.posts_by_thread(SUPPORT);
    assert_eq!(
        replies[&Some(MESSAGE.to_owned())].len(),
        1,
        "answered in the message's thread"
    );
    assert_eq!(app.slack.messages_in(AGENTS).len(), 1);
    assert!(
        app.slack.calls_to("conversations.history").is_empty(),
        "the message came from deskhand's own record, not from Slack"
    );
}

#[tokio::test]
async fn an_emoji_on_a_message_deskhand_never_saw_reads_it_from_slack() {
    let app = without_auto_create().await;
    app.slack
        .add_user_message(SUPPORT, ANA, MESSAGE, None, "Wifi drops every hour");

    app.deliver("Ev1", reaction(BO, "ticket", SUPPORT, MESSAGE)).await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["description"], "Wifi drops every hour");
    let history = app.slack.calls_to("conversations.history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].params["latest"], MESSAGE);
    assert_eq!(history[0].params["inclusive"], "true");
}

#[tokio::test]
async fn an_emoji_on_a_reply_files_it_with_the_thread_before_it() {
    let app = without_auto_create().await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "Anyone else locked out of Jira?"))
        .await;
    app.answer("Ev2", BO, "1700000100.000200", MESSAGE, "Me too since 9am")
        .await;

    app.deliver("Ev3", reaction(BO, "ticket", SUPPORT, "1700000100.000200"))
        .await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["requester_slack_id"], BO);
    let description = ticket["description"].as_str().unwrap();
    assert!(description.starts_with("Me too since 9am"), "{description}");
    assert!(
        description.contains("Ana Lima: Anyone else locked out of Jira?"),
        "the thread's context, with authors: {description}"
    );
    let replies = app.posts_by_thread(SUPPORT);
    assert_eq!(
        replies[&Some(MESSAGE.to_owned())].len(),
        1,
        "answered in the thread the reply is in"
    );
}

#[tokio::test]
async fn agents_assign_and_resolve_with_emoji_and_the_requester_hears_of_it() {
    let app = without_auto_create().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS })).await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;
    let card = app.slack.messages_in(AGENTS)[0].ts.clone();

    app.deliver("Ev2", reaction(ANA, "eyes", SUPPORT, MESSAGE)).await;
    assert_eq!(
        app.ticket("IT-1").await["assignee_slack_id"],
        Value::Null,
        "Ana is no agent"
    );

    app.deliver("Ev3", reaction(BO, "eyes", SUPPORT, MESSAGE)).await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["assignee_slack_id"], BO);
    assert_eq!(ticket["assignee_name"], "Bo Agent");

    app.deliver("Ev4", reaction(BO, "white_check_mark", AGENTS, &card))
        .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["status"], "Resolved");
    assert_eq!(ticket["status_category"], "done");
    assert!(
        app.slack
            .reactions()
            .contains(&(SUPPORT.into(), MESSAGE.into(), "white_check_mark".into())),
        "the original message is marked resolved"
    );
    let dm = app.status_dms(ANA);
    assert_eq!(dm.len(), 1, "Ana is told in her DM");
    assert!(
        dm[0].text.contains("Bo Agent moved your request *IT-1*"),
        "{}",
        dm[0].text
    );
    let card_blocks = app.slack.messages_in(AGENTS)[0].blocks.to_string();
    assert!(
        card_blocks.contains("Resolved") && card_blocks.contains("<@U0BO>"),
        "{card_blocks}"
    );
    let audit = app.get("/api/v1/audit?ticket=IT-1").await.1;
    let actions: Vec<&str> = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["ticket_created", "ticket_assigned", "status_changed"]);
}

#[tokio::test]
async fn notifications_can_be_turned_off() {
    let app = without_auto_create().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS })).await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;
    assert_eq!(app.slash(ANA, SUPPORT, "notifications off", "9.1").await, 200);
    app.drain().await;
    assert!(
        app.answers()[0].contains("Notifications are off"),
        "{:?}",
        app.answers()
    );

    app.deliver("Ev2", reaction(BO, "white_check_mark", SUPPORT, MESSAGE))
        .await;

    assert_eq!(app.ticket("IT-1").await["status"], "Resolved");
    assert!(app.status_dms(ANA).is_empty(), "no DM but the survey");
}

#[tokio::test]
async fn the_create_ticket_shortcut_files_any_message_for_its_author() {
    let app = without_auto_create().await;
    let shortcut = json!({
        "type": "message_action", "callback_id": "create_ticket", "trigger_id": "1.1.shortcut",
        "user": { "id": BO }, "channel": { "id": ELSEWHERE }, "response_url": app.slack.response_url("r1"),
        "message": { "type": "message", "user": ANA, "ts": MESSAGE, "text": "Laptop won't charge\nTried two chargers" },
    });
    assert_eq!(app.interact(shortcut).await.status(), 200);
    app.drain().await;

    let opened = app.slack.last_view();
    assert_eq!(opened.trigger_id.as_deref(), Some("1.1.shortcut"));
    let view = &opened.view;
    assert_eq!(view["callback_id"], "request_form");
    let fields = block_ids(view);
    assert!(
        fields.contains(&"on_behalf_of".to_owned()),
        "Bo is an agent: {fields:?}"
    );
    let text = view.to_string();
    assert!(text.contains("Laptop won't charge"), "prefilled: {text}");
    assert!(text.contains(r#""initial_user":"U0ANA""#), "for the message's author");

    let answer = submit(
        &app,
        &opened,
        BO,
        json!({
            "project": field("select", "IT"),
            "summary": field("text", "Laptop won't charge"),
            "description": field("text", "Tried two chargers"),
            "on_behalf_of": field("user", ANA),
        }),
    )
    .await;
    assert_eq!(answer["response_action"], "update", "the modal shows progress");
    app.drain().await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["source"], "shortcut");
    assert_eq!(ticket["requester_slack_id"], ANA);
    assert_eq!(ticket["reporter_slack_id"], BO);
    assert_eq!(ticket["description"], "Tried two chargers");
    let replies = app.posts_by_thread(ELSEWHERE);
    assert_eq!(
        replies[&Some(MESSAGE.to_owned())].len(),
        1,
        "the message gets a reply linking IT-1"
    );
    assert_eq!(app.slack.messages_in(AGENTS).len(), 1, "the project's agents see it");
    let filed = app.slack.last_view();
    assert_eq!(filed.updates, 1);
    assert!(filed.view.to_string().contains("IT-1"), "{}", filed.view);

    // The same message again: the form says it is filed already.
    let again = json!({
        "type": "message_action", "callback_id": "create_ticket", "trigger_id": "1.2.shortcut",
        "user": { "id": ANA }, "channel": { "id": ELSEWHERE },
        "message": { "type": "message", "user": ANA, "ts": MESSAGE, "text": "Laptop won't charge" },
    });
    app.interact(again).await;
    app.drain().await;
    assert!(app.slack.last_view().view.to_string().contains("already a request"));
    assert_eq!(app.tickets().await.len(), 1);
}

#[tokio::test]
async fn the_request_form_checks_its_fields_and_starts_the_thread_in_a_dm() {
    let app = without_auto_create().await;
    let shortcut =
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "2.1.global", "user": { "id": ANA } });
    app.interact(shortcut).await;
    app.drain().await;
    let opened = app.slack.last_view();
    assert!(
        !block_ids(&opened.view).contains(&"on_behalf_of".to_owned()),
        "requesters file for themselves"
    );
    assert_eq!(
        opened.view["blocks"][0]["element"]["initial_option"]["value"], "IT",
        "the only project is chosen"
    );

    let answer = submit(&app, &opened, ANA, json!({ "summary": field("text", "  ") })).await;
    assert_eq!(answer["response_action"], "errors");
    assert!(
        answer["errors"]["summary"].is_string() && answer["errors"]["project"].is_string(),
        "{answer}"
    );
    app.drain().await;
    assert!(app.tickets().await.is_empty(), "nothing is filed from a rejected form");

    submit(
        &app,
        &opened,
        ANA,
        json!({ "project": field("select", "IT"), "summary": field("text", "Need a monitor") }),
    )
    .await;
    app.drain().await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["source"], "form");
    assert_eq!(ticket["requester_slack_id"], ANA);
    let dm = dm_channel(ANA);
    let posts = app.slack.messages_in(&dm);
    assert_eq!(posts.len(), 1, "the request's thread starts in Ana's DM");
    assert_eq!(posts[0].thread_ts, None);
    assert!(
        ticket["permalink"].as_str().unwrap().contains(&dm),
        "the ticket links its DM thread: {}",
        ticket["permalink"]
    );
    assert!(app.slack.last_view().view.to_string().contains("IT-1"));

    app.deliver(
        "Ev1",
        json!({ "type": "message", "channel": dm, "channel_type": "im", "user": ANA, "text": "It's for the new hire",
                "ts": "1700000500.000100", "thread_ts": posts[0].ts }),
    )
    .await;
    let comments = app.ticket("IT-1").await["comments"].clone();
    assert_eq!(comments[0]["body"], "It's for the new hire");
    assert_eq!(comments[0]["visibility"], "public");
}

#[tokio::test]
async fn a_department_must_belong_to_the_chosen_project() {
    let app = without_auto_create().await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "departments": ["Hardware", "Access"] }),
    )
    .await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/HR",
        json!({ "name": "People", "departments": ["Payroll"] }),
    )
    .await;
    assert_eq!(app.slash(ANA, SUPPORT, "new", "3.1.desk").await, 200);
    app.drain().await;
    let opened = app.slack.last_view();
    assert_eq!(
        opened.view["blocks"][0]["element"]["initial_option"]["value"], "IT",
        "the channel's project"
    );

    let answer = submit(
        &app,
        &opened,
        ANA,
        json!({ "project": field("select", "IT"), "department": field("select", "Payroll"), "summary": field("text", "Payslip") }),
    )
    .await;
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["department"].as_str().unwrap().contains("Payroll"));
}

#[tokio::test]
async fn mentioning_deskhand_files_the_message_or_its_thread() {
    let app = without_auto_create().await;
    let mention = |ts: &str, thread: Option<&str>, text: &str| {
        let mut event =
            json!({ "type": "app_mention", "channel": ELSEWHERE, "user": ANA, "text": text, "ts": ts, "event_ts": ts });
        if let Some(thread) = thread {
            event["thread_ts"] = thread.into();
        }
        event
    };
    app.deliver("Ev1", mention(MESSAGE, None, "<@U0BOT> the kitchen tap leaks"))
        .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["source"], "mention");
    assert_eq!(ticket["summary"], "the kitchen tap leaks");
    let answer = app.posts_by_thread(ELSEWHERE)[&Some(MESSAGE.to_owned())][0]
        .blocks
        .to_string();
    assert!(
        answer.contains("Replies here don't reach it"),
        "replies here are not synced, and the answer does not pretend they are: {answer}"
    );

    app.slack.add_user_message(
        ELSEWHERE,
        BO,
        "1700000200.000100",
        None,
        "Is the 4th floor printer broken?",
    );
    app.slack.add_user_message(
        ELSEWHERE,
        ANA,
        "1700000200.000200",
        Some("1700000200.000100"),
        "<@U0BOT>",
    );
    app.deliver(
        "Ev2",
        mention("1700000200.000200", Some("1700000200.000100"), "<@U0BOT>"),
    )
    .await;
    let ticket = app.ticket("IT-2").await;
    assert_eq!(ticket["summary"], "Is the 4th floor printer broken?");
    assert!(ticket["description"]
        .as_str()
        .unwrap()
        .contains("Bo Agent: Is the 4th floor printer broken?"));
    assert_eq!(
        app.posts_by_thread(ELSEWHERE)[&Some("1700000200.000100".to_owned())].len(),
        1
    );
}

#[tokio::test]
async fn a_dm_to_deskhand_is_a_private_request_in_the_default_project() {
    let app = without_auto_create().await;
    app.deliver("Ev1", dm(ANA, MESSAGE, "My badge stopped working")).await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["source"], "DM");
    assert_eq!(ticket["private"], true);
    let answers = app.slack.messages_in(&dm_channel(ANA));
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].thread_ts.as_deref(),
        Some(MESSAGE),
        "answered in the DM thread"
    );
    let card = &app.slack.messages_in(AGENTS)[0];
    assert!(card.blocks.to_string().contains("private"), "{}", card.blocks);

    app.deliver("Ev2", {
        let mut reply = dm(ANA, "1700000100.000300", "It beeps red");
        reply["thread_ts"] = MESSAGE.into();
        reply
    })
    .await;
    assert_eq!(app.ticket("IT-1").await["comments"][0]["body"], "It beeps red");
}

#[tokio::test]
async fn a_guest_is_refused_in_a_dm_and_nobody_is_filed_without_a_project() {
    let app = without_auto_create().await;
    app.deliver("Ev1", dm(GIL, MESSAGE, "hello?")).await;
    let refusal = app.slack.messages_in(&dm_channel(GIL));
    assert!(
        refusal[0].text.contains("isn't linked to the help desk"),
        "{}",
        refusal[0].text
    );
    assert!(app.tickets().await.is_empty());

    app.admin_ok("PUT", "/api/v1/projects/HR", json!({ "name": "People" }))
        .await;
    app.deliver("Ev2", dm(ANA, "1700000100.000500", "payslip?")).await;
    assert!(app.tickets().await.is_empty(), "two projects and no default");
    assert!(app.slack.messages_in(&dm_channel(ANA))[0].text.contains("no project"));

    app.admin_ok("PUT", "/api/v1/settings", json!({ "default_project": "HR" }))
        .await;
    app.deliver("Ev3", dm(ANA, "1700000100.000600", "payslip?")).await;
    assert_eq!(app.ticket("HR-1").await["private"], true);
}

#[tokio::test]
async fn a_support_channel_applies_its_requesting_defaults() {
    let app = TestApp::spawn().await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "departments": ["Hardware"], "request_types": ["Incident"] }),
    )
    .await;
    app.set_support_channel(json!({
        "agent_channel": AGENTS, "default_department": "Hardware", "default_request_type": "Incident", "default_priority": "high",
    }))
    .await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "Screen flickers"))
        .await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["department"], "Hardware");
    assert_eq!(ticket["request_type"], "Incident");
    assert_eq!(ticket["priority"], "High");

    let (status, body) = app
        .admin(
            "PUT",
            &format!("/api/v1/channels/{SUPPORT}"),
            Some(json!({ "kind": "support", "project": "IT", "default_department": "Payroll" })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn desk_mine_status_and_help_answer_privately() {
    let app = without_auto_create().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS })).await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;

    for (i, text) in ["mine", "status it-1", "help", "dance"].iter().enumerate() {
        assert_eq!(app.slash(ANA, SUPPORT, text, &format!("4.{i}")).await, 200);
    }
    app.drain().await;
    // Private answers go out side by side: each is found by what it answers.
    let answers = app.answers();
    let answer = |hook: &str| app.answer_to(hook);
    assert_eq!(answers.len(), 4, "{answers:?}");
    let mine = answer("4.0");
    assert!(
        mine.contains("IT-1") && mine.contains("VPN is down") && mine.contains("Open"),
        "{mine}"
    );
    let status = answer("4.1");
    assert!(status.contains("IT-1") && status.contains("*Status*"), "{status}");
    assert!(answer("4.2").contains("/desk mine"));
    assert!(answer("4.3").contains("I don't know `/desk dance`"));
    assert!(app.slack.responses().iter().all(|r| r["response_type"] == "ephemeral"));

    // Someone else's request stays hidden from a requester, not from an agent.
    app.slack.add_member("U0CY", "Cy", "cy@acme.example");
    app.slash("U0CY", SUPPORT, "status IT-1", "4.8").await;
    app.slash(BO, SUPPORT, "status IT-1", "4.9").await;
    app.drain().await;
    assert!(app.answer_to("4.8").contains("can't find IT-1"));
    assert!(app.answer_to("4.9").contains("*Status*"));
}

#[tokio::test]
async fn the_home_tab_shows_my_requests_and_follows_them() {
    let app = without_auto_create().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS })).await;
    app.deliver(
        "Ev1",
        json!({ "type": "app_home_opened", "user": ANA, "channel": dm_channel(ANA), "tab": "home" }),
    )
    .await;
    assert_eq!(app.slack.home_publishes(ANA), 1);
    assert!(app.slack.home(ANA).unwrap().to_string().contains("Nothing open"));

    app.deliver("Ev2", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;
    assert_eq!(app.slack.home_publishes(ANA), 2, "a new request refreshes it");
    assert!(app.slack.home(ANA).unwrap().to_string().contains("VPN is down"));

    app.deliver(
        "Ev3",
        json!({ "type": "app_home_opened", "user": BO, "channel": dm_channel(BO), "tab": "home" }),
    )
    .await;
    app.deliver("Ev4", reaction(BO, "eyes", SUPPORT, MESSAGE)).await;
    let bo_home = app.slack.home(BO).unwrap().to_string();
    assert!(
        bo_home.contains("Assigned to you") && bo_home.contains("IT-1"),
        "{bo_home}"
    );
    assert!(app.slack.home_publishes(ANA) >= 3, "Ana's request changed too");
}

#[tokio::test]
async fn the_requester_closes_their_own_request_and_nobody_else_can() {
    let app = TestApp::spawn().await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;
    let reply = &app.slack.messages_in(SUPPORT)[0];
    assert!(
        reply.blocks.to_string().contains("close_request"),
        "the requester may close"
    );

    let mut refused = close(BO, "IT-1", "5.1");
    refused["response_url"] = app.slack.response_url("bo").into();
    app.interact(refused).await;
    app.drain().await;
    assert!(app.answers()[0].contains("Only <@U0ANA>"), "{:?}", app.answers());
    assert_eq!(app.ticket("IT-1").await["status"], "Open");

    let mut closing = close(ANA, "IT-1", "5.2");
    closing["response_url"] = app.slack.response_url("ana").into();
    app.interact(closing).await;
    app.drain().await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["status"], "Closed");
    assert!(ticket["resolved_at"].is_number());
    let reply = &app.slack.messages_in(SUPPORT)[0];
    assert!(
        !reply.blocks.to_string().contains("close_request"),
        "the button is gone once closed"
    );
    assert!(app.status_dms(ANA).is_empty(), "no DM about her own change");
}

#[tokio::test]
async fn without_a_self_close_status_there_is_no_close_button() {
    let app = TestApp::spawn().await;
    let workflow =
        json!({ "statuses": [{ "name": "New", "category": "open" }, { "name": "Done", "category": "done" }] });
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "workflow": workflow }),
    )
    .await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "VPN is down")).await;

    assert_eq!(app.ticket("IT-1").await["status"], "New", "the workflow's first status");
    assert!(!app.slack.messages_in(SUPPORT)[0]
        .blocks
        .to_string()
        .contains("close_request"));
    let (status, body) = app
        .admin(
            "PUT",
            "/api/v1/projects/IT",
            Some(json!({ "name": "IT", "workflow": { "statuses": [{ "name": "Done", "category": "done" }] } })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn slacks_own_interaction_payloads_are_acknowledged_and_file_nothing() {
    let app = TestApp::spawn().await;
    for name in [
        "block-actions.json",
        "global-shortcut.json",
        "message-shortcut.json",
        "view-submission.json",
        "view-submission-response-url.json",
        "view-submission-connect-channel.json",
    ] {
        let payload: Value = serde_json::from_str(&fixture(name)).unwrap();
        assert_eq!(app.interact(payload).await.status(), 200, "{name}");
    }
    app.drain().await;
    assert!(app.tickets().await.is_empty());
    assert!(app.slack.views().is_empty());
}

#[tokio::test]
async fn interactivity_and_commands_are_signed_well_formed_and_deduplicated() {
    let app = without_auto_create().await;
    for path in ["/slack/interactivity", "/slack/commands"] {
        let response = app
            .http
            .post(format!("{}{path}", app.addr))
            .header("x-slack-request-timestamp", now_secs().to_string())
            .header("x-slack-signature", "v0=0000")
            .body("payload=%7B%7D")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    let no_payload = app.post_form("/slack/interactivity", "other=1").await;
    assert_eq!(no_payload, 400);
    let malformed = app.post_form("/slack/interactivity", "payload=%7Bnot+json").await;
    assert_eq!(malformed, 400);
    let no_user = app.post_form("/slack/commands", "command=%2Fdesk&text=mine").await;
    assert_eq!(no_user, 400);

    // Slack retries what it thinks was not answered: one modal per trigger.
    let shortcut =
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "6.1.twice", "user": { "id": ANA } });
    app.interact(shortcut.clone()).await;
    app.interact(shortcut).await;
    app.slash(ANA, SUPPORT, "mine", "6.2.twice").await;
    app.slash(ANA, SUPPORT, "mine", "6.2.twice").await;
    app.drain().await;
    assert_eq!(app.slack.views().len(), 1);
    assert_eq!(app.slack.responses().len(), 1);
}

#[tokio::test]
async fn guests_are_refused_in_shortcuts_and_commands_and_parked_in_support_channels() {
    let app = without_auto_create().await;
    app.interact(
        json!({ "type": "shortcut", "callback_id": "new_request", "trigger_id": "7.1", "user": { "id": GIL } }),
    )
    .await;
    app.slash(GIL, SUPPORT, "mine", "7.2").await;
    app.deliver("Ev1", message(SUPPORT, ANA, MESSAGE, "Projector is broken"))
        .await;
    app.deliver("Ev2", reaction(GIL, "ticket", SUPPORT, MESSAGE)).await;

    assert!(app.slack.last_view().view.to_string().contains("isn't linked"));
    assert!(app.answers()[0].contains("isn't linked"));
    assert!(app.tickets().await.is_empty());
    let parked = app.get("/api/v1/parked").await.1;
    assert_eq!(parked["parked"][0]["slack_user_id"], GIL, "{parked}");
    assert_eq!(app.slack.ephemerals().len(), 1, "the guest is told why");
}

#[tokio::test]
async fn emoji_in_channels_deskhand_does_not_serve_cost_nothing() {
    let app = without_auto_create().await;
    app.deliver("Ev1", reaction(ANA, "ticket", ELSEWHERE, MESSAGE)).await;

    assert!(app.slack.calls_to("users.info").is_empty());
    assert!(app.slack.calls_to("conversations.history").is_empty());
    assert!(app.tickets().await.is_empty());
}

#[tokio::test]
async fn agents_reply_publicly_from_the_card_and_the_reply_reaches_the_dm_thread() {
    let app = without_auto_create().await;
    app.deliver("Ev1", dm(ANA, MESSAGE, "My badge stopped working")).await;
    let press = |user: &str, trigger: &str| {
        json!({
            "type": "block_actions", "user": { "id": user }, "trigger_id": trigger,
            "container": { "type": "message", "channel_id": AGENTS, "message_ts": "1.1" },
            "actions": [{ "action_id": "reply_publicly", "block_id": "agents", "value": "IT-1", "type": "button", "action_ts": trigger }],
        })
    };
    assert!(app.slack.messages_in(AGENTS)[0]
        .blocks
        .to_string()
        .contains("reply_publicly"));

    app.interact(press(ANA, "8.1")).await;
    app.drain().await;
    assert!(app.slack.last_view().view.to_string().contains("Only agents"));

    app.interact(press(BO, "8.2")).await;
    app.drain().await;
    let opened = app.slack.last_view();
    assert_eq!(opened.view["callback_id"], "public_reply");
    let empty = submit(&app, &opened, BO, json!({ "reply": field("text", " ") })).await;
    assert_eq!(empty["response_action"], "errors");
    submit(
        &app,
        &opened,
        BO,
        json!({ "reply": field("text", "Please re-enrol at the front desk") }),
    )
    .await;
    app.drain().await;

    let comments = app.ticket("IT-1").await["comments"].clone();
    assert_eq!(comments[0]["author_slack_id"], BO);
    assert_eq!(comments[0]["visibility"], "public");
    let thread: Vec<_> = app
        .slack
        .messages_in(&dm_channel(ANA))
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(MESSAGE))
        .collect();
    assert!(
        thread
            .iter()
            .any(|m| m.text.contains("Please re-enrol at the front desk")),
        "the reply is in Ana's DM thread: {thread:?}"
    );
}
