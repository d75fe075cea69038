//! The agents run the desk from Slack: triage from the card, workflows with transitions,
//! departments and their managers, the queue. Every action goes through a signed
//! interactivity request built from the blocks deskhand posted.

use serde_json::{json, Value};

use crate::support::fakes::smtp::SmtpSink;
use crate::support::*;

const CY: &str = "U0CY";
const MAE: &str = "U0MAE";
const NED: &str = "U0NED";
const MESSAGE: &str = "1700000100.000100";

/// deskhand with Bo and Cy in the agent channel, and project IT with two departments.
async fn app() -> TestApp {
    desk(TestApp::spawn().await).await
}

async fn desk(app: TestApp) -> TestApp {
    app.slack.add_member(CY, "Cy Agent", "cy@acme.example");
    app.slack.add_member(MAE, "Mae Manager", "mae@acme.example");
    app.slack.add_member(NED, "Ned Manager", "ned@acme.example");
    app.slack.set_members(AGENTS, &[BO, CY]);
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "departments": ["Hardware", "Network"] }),
    )
    .await;
    app
}

fn audit_actions(audit: &Value) -> Vec<(String, String)> {
    audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["actor_slack_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn agents_triage_from_the_card_and_every_message_follows() {
    let app = app().await;
    app.deliver("Ev0", json!({ "type": "app_home_opened", "user": ANA, "tab": "home" }))
        .await;
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    let card = app.card("IT-1");
    let (_, status) = element(&card.blocks, "set_status").expect("a status menu");
    assert_eq!(
        options(&status),
        ["In Progress", "Waiting for customer", "Resolved", "Closed"],
        "the moves the default workflow allows from Open"
    );
    let (_, departments) = element(&card.blocks, "set_department").expect("a department menu");
    assert_eq!(options(&departments), ["Hardware", "Network"]);
    for action in [
        "assign_to_me",
        "assign_to",
        "set_priority",
        "reply_publicly",
        "add_note",
    ] {
        assert!(element(&card.blocks, action).is_some(), "the card offers {action}");
    }

    app.press(BO, &card, "assign_to_me", None, "t1").await;
    assert_eq!(app.ticket("IT-1").await["assignee_slack_id"], BO);
    app.press(BO, &app.card("IT-1"), "set_status", Some("In Progress"), "t2")
        .await;
    app.press(BO, &app.card("IT-1"), "set_department", Some("Network"), "t3")
        .await;
    app.press(BO, &app.card("IT-1"), "assign_to", Some(CY), "t4").await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        (&ticket["status"], &ticket["department"], &ticket["assignee_slack_id"]),
        (&json!("In Progress"), &json!("Network"), &json!(CY))
    );
    let card = app.card("IT-1");
    let shown = card.blocks.to_string();
    assert!(
        shown.contains("In Progress") && shown.contains("Network") && shown.contains("<@U0CY>"),
        "{shown}"
    );
    let (_, status) = element(&card.blocks, "set_status").unwrap();
    assert!(
        !options(&status).contains(&"In Progress".to_owned()),
        "no move to where it is"
    );
    let reply = app.slack.messages_in(SUPPORT)[0].blocks.to_string();
    assert!(
        reply.contains("In Progress") && reply.contains("Network"),
        "the thread reply follows: {reply}"
    );
    let home = app.slack.home(ANA).expect("Ana's home").to_string();
    assert!(home.contains("In Progress"), "her Home tab follows: {home}");
    assert!(
        app.card_thread("IT-1")
            .iter()
            .any(|t| t.contains("moved it from *Open* to *In Progress*")),
        "{:?}",
        app.card_thread("IT-1")
    );
    let to_cy = app.status_dms(CY);
    assert!(
        to_cy.iter().any(|m| m.text.contains("Bo Agent assigned you *IT-1*")),
        "Cy hears Bo gave her the request: {to_cy:?}"
    );
    assert!(app.status_dms(BO).is_empty(), "nobody is told what they did themselves");

    app.press(BO, &app.card("IT-1"), "add_note", None, "t5").await;
    assert_eq!(app.slack.last_view().view["callback_id"], "internal_note");
    app.submit_modal(BO, &[("text", "Router in room 4 rebooted")]).await;
    let ticket = app.ticket("IT-1").await;
    let note = &ticket["comments"][0];
    assert_eq!(
        (&note["visibility"], &note["body"]),
        (&json!("internal"), &json!("Router in room 4 rebooted"))
    );
    assert!(app
        .card_thread("IT-1")
        .iter()
        .any(|t| t.contains("(internal note): Router in room 4")));
    assert!(
        !app.slack.messages_in(SUPPORT).iter().any(|m| m.text.contains("Router")),
        "the requester never sees a note"
    );

    let audit = app.get("/api/v1/audit?ticket=IT-1").await.1;
    let by_bo: Vec<String> = audit_actions(&audit)
        .into_iter()
        .filter(|(_, actor)| actor == BO)
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        by_bo,
        [
            "ticket_assigned",
            "status_changed",
            "department_changed",
            "ticket_assigned",
            "comment_added"
        ]
    );
}

#[tokio::test]
async fn refused_card_actions_are_explained_and_the_card_shows_the_truth() {
    let app = app().await;
    let strict = json!({
        "name": "IT Help",
        "workflow": {
            "statuses": [
                { "name": "Open", "category": "open" },
                { "name": "In Progress", "category": "in_progress" },
                { "name": "Resolved", "category": "done" },
            ],
            "transitions": { "Open": ["In Progress"], "In Progress": ["Resolved", "Open"], "Resolved": [] },
        },
    });
    app.admin_ok("PUT", "/api/v1/projects/IT", strict).await;
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    let card = app.card("IT-1");
    let (_, status) = element(&card.blocks, "set_status").unwrap();
    assert_eq!(options(&status), ["In Progress"]);

    // A requester forging the card's actions changes nothing.
    app.press(ANA, &card, "set_priority", Some("Urgent"), "f1").await;
    assert!(app.answer_to("f1").contains("Only help-desk admins set priorities"));
    app.press(ANA, &card, "set_status", Some("In Progress"), "f2").await;
    assert!(app.answer_to("f2").contains("Only agents"));
    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        (&ticket["priority"], &ticket["status"]),
        (&json!("Normal"), &json!("Open"))
    );

    // An illegal move, from the card and from an emoji.
    let updates = app.slack.calls_to("chat.update").len();
    app.press(BO, &card, "set_status", Some("Resolved"), "f3").await;
    let answer = app.answer_to("f3");
    assert!(
        answer.contains("from *Open* to *Resolved*") && answer.contains("In Progress"),
        "{answer}"
    );
    assert!(
        app.slack.calls_to("chat.update").len() > updates,
        "the card is put back"
    );
    app.deliver("Ev2", reaction(BO, "white_check_mark", AGENTS, &card.ts))
        .await;
    assert_eq!(app.ticket("IT-1").await["status"], "Open");
    let told = app.slack.ephemerals();
    assert!(
        told.iter().any(|e| e["user"] == BO
            && e["text"]
                .as_str()
                .unwrap_or_default()
                .contains("from *Open* to *Resolved*")),
        "{told:?}"
    );

    // A requester's Close goes only where the workflow allows: it has no self-close here.
    app.press(BO, &card, "set_status", Some("In Progress"), "f4").await;
    app.deliver("Ev3", reaction(BO, "white_check_mark", AGENTS, &card.ts))
        .await;
    assert_eq!(app.ticket("IT-1").await["status"], "Resolved");
    let audit = audit_actions(&app.get("/api/v1/audit?ticket=IT-1").await.1);
    assert_eq!(audit.iter().filter(|(a, _)| a == "status_changed").count(), 2);
}

#[tokio::test]
async fn workflows_with_transitions_are_checked_when_saved() {
    let app = app().await;
    let workflow = |transitions: Value| {
        json!({ "name": "IT Help", "workflow": {
            "statuses": [
                { "name": "Open", "category": "open" },
                { "name": "Doing", "category": "in_progress" },
                { "name": "Done", "category": "done" },
            ],
            "transitions": transitions,
        } })
    };
    for (transitions, says) in [
        (
            json!({ "Open": ["Doing", "Gone"] }),
            "\"Gone\", which is not one of the statuses",
        ),
        (
            json!({ "Open": ["Done"], "Done": [] }),
            "\"Doing\" cannot be reached from \"Open\"",
        ),
    ] {
        let (status, body) = app
            .admin("PUT", "/api/v1/projects/IT", Some(workflow(transitions)))
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{body}");
    }
    let saved = app
        .admin_ok(
            "PUT",
            "/api/v1/projects/IT",
            workflow(json!({ "Open": ["Doing"], "Doing": ["Done"], "Done": [] })),
        )
        .await;
    assert_eq!(
        saved["workflow"]["transitions"]["Doing"],
        json!(["Done"]),
        "a done status with no way out is fine"
    );
    let default = app.get("/api/v1/projects").await.1;
    assert!(default["projects"][0]["workflow"]["transitions"].is_object());
}

#[tokio::test]
async fn a_requester_reply_brings_a_waiting_request_back() {
    let app = app().await;
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("In Progress"), "w1")
        .await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("Waiting for customer"), "w2")
        .await;
    app.answer("Ev2", ANA, "1700000200.000100", MESSAGE, "It works again from home")
        .await;
    assert_eq!(app.ticket("IT-1").await["status"], "In Progress", "back where it was");
    let thread = app.card_thread("IT-1");
    assert!(
        thread
            .iter()
            .any(|t| t.contains("*Ana Lima* (requester): It works again from home")),
        "the agents hear the reply in the card's thread: {thread:?}"
    );
    assert!(
        app.slack
            .messages_in(AGENTS)
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .count()
            == 1,
        "never as a new top-level message"
    );
    let audit = audit_actions(&app.get("/api/v1/audit?ticket=IT-1").await.1);
    assert_eq!(audit.last(), Some(&("status_changed".to_owned(), ANA.to_owned())));
}

#[tokio::test]
async fn departments_have_managers_who_hear_of_their_requests_by_dm_and_mail() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app =
        desk(TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await).await;
    let hardware = app
        .admin_ok(
            "PUT",
            "/api/v1/projects/IT/departments/hardware",
            json!({ "name": "Hardware", "managers": [MAE] }),
        )
        .await;
    assert_eq!(
        hardware,
        json!({ "slug": "hardware", "name": "Hardware", "managers": [MAE] })
    );
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT/departments/network",
        json!({ "name": "Network", "managers": [NED] }),
    )
    .await;
    let listed = app.get("/api/v1/projects/IT/departments").await.1;
    assert_eq!(
        listed["departments"].as_array().unwrap().len(),
        2,
        "the project kept both: {listed}"
    );
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/projects/IT/departments/x",
            Some(json!({ "name": "X", "managers": ["bob"] })),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/projects/NOPE/departments/x",
            Some(json!({ "name": "X" })),
        )
        .await;
    assert_eq!(status, 404);

    // No department: every manager of the project hears of it.
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    for manager in [MAE, NED] {
        let dms = app.status_dms(manager);
        assert_eq!(dms.len(), 1, "{manager}: {dms:?}");
        assert!(
            dms[0].text.contains("New request *IT-1* · VPN is down from Ana Lima"),
            "{}",
            dms[0].text
        );
        assert!(
            dms[0].text.contains("IT-1 in the agents' channel"),
            "a link to the card"
        );
    }
    let mail = sink.wait_for(2).await;
    let mut to: Vec<&str> = mail.iter().map(|m| m.to[0].as_str()).collect();
    to.sort();
    assert_eq!(to, ["mae@acme.example", "ned@acme.example"]);
    assert!(mail[0].data.contains("Subject: [IT-1] VPN is down"), "{}", mail[0].data);
    assert!(mail[0].data.contains("help@acme.example"), "from the configured sender");

    // Managers are agents: Mae, in no agent channel, triages; moving it tells Ned.
    app.press(MAE, &app.card("IT-1"), "set_department", Some("Network"), "d1")
        .await;
    assert_eq!(app.ticket("IT-1").await["department"], "Network");
    let to_ned = app.status_dms(NED);
    assert!(
        to_ned.iter().any(|m| m
            .text
            .contains("Mae Manager moved *IT-1* · VPN is down to your department, *Network*")),
        "{to_ned:?}"
    );
    assert_eq!(app.status_dms(MAE).len(), 1, "Mae is not told of her own move");
    sink.wait_for(3).await;

    // A department's own request goes to its managers only.
    app.set_support_channel(json!({ "agent_channel": AGENTS, "default_department": "Hardware", "auto_create": true }))
        .await;
    app.say("Ev2", ANA, "1700000300.000100", "Keyboard broken").await;
    assert_eq!(app.status_dms(MAE).len(), 2);
    assert_eq!(app.status_dms(NED).len(), 2, "Ned heard only of the move");

    app.admin_ok("DELETE", "/api/v1/projects/IT/departments/network", json!({}))
        .await;
    let listed = app.get("/api/v1/projects/IT").await.1;
    assert_eq!(listed["departments"], json!(["Hardware"]));
}

#[tokio::test]
async fn every_new_request_is_normal_whatever_it_says() {
    let app = app().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "default_project": "IT" }))
        .await;
    assert_eq!(app.slash(ANA, SUPPORT, "new", "n1").await, 200);
    app.drain().await;
    let form = app.slack.last_view();
    assert!(
        !form.view.to_string().contains("priority"),
        "the form asks for no priority"
    );
    app.submit_view(
        ANA,
        &form,
        &[("project", "IT"), ("summary", "New laptop"), ("priority", "Urgent")],
    )
    .await;
    let tickets = app.tickets().await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["priority"], "Normal");
}

#[tokio::test]
async fn the_queue_lists_open_requests_by_priority_and_agents_take_them() {
    let app = app().await;
    for (i, text) in ["First", "Second", "Third"].iter().enumerate() {
        app.say(&format!("Ev{i}"), ANA, &format!("17000001{i}0.000100"), text)
            .await;
    }
    app.admin_ok("PUT", "/api/v1/settings", json!({ "agents_set_priority": true }))
        .await;
    app.press(BO, &app.card("IT-2"), "set_priority", Some("Urgent"), "q0")
        .await;
    app.press(BO, &app.card("IT-3"), "set_status", Some("Resolved"), "q1")
        .await;

    assert_eq!(app.slash(BO, AGENTS, "queue", "q2").await, 200);
    app.drain().await;
    let answer = app.slack.responses().last().cloned().unwrap();
    let listed: Vec<String> = elements(&answer["blocks"])
        .into_iter()
        .map(|(_, e)| e["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed,
        ["IT-2", "IT-1"],
        "priority first, then the oldest; done ones left out"
    );
    app.press_in(CY, (AGENTS, "1.1"), &answer["blocks"], "assign_to_me", None, "q3")
        .await;
    assert_eq!(
        app.ticket("IT-2").await["assignee_slack_id"],
        CY,
        "the first Take button"
    );

    assert_eq!(app.slash(ANA, SUPPORT, "queue", "q4").await, 200);
    app.drain().await;
    assert!(app.answer_to("q4").contains("Only agents"));

    app.deliver("Ev9", json!({ "type": "app_home_opened", "user": BO, "tab": "home" }))
        .await;
    let home = app.slack.home(BO).expect("Bo's home").to_string();
    assert!(home.contains("My queue") && home.contains("IT-1"), "{home}");
}

#[tokio::test]
async fn admins_choose_what_the_ticket_messages_show() {
    let app = app().await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "message_fields": ["status", "requester"], "intro": "IT answers within a day." }),
    )
    .await;
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    for blocks in [
        app.slack.messages_in(SUPPORT)[0].blocks.clone(),
        app.card("IT-1").blocks,
    ] {
        let shown = blocks.to_string();
        assert!(shown.contains("*Status*") && shown.contains("*Requester*"), "{shown}");
        assert!(!shown.contains("*Priority*"), "priority is not chosen: {shown}");
        assert!(shown.contains("IT answers within a day."), "{shown}");
    }
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/projects/IT",
            Some(json!({ "name": "IT", "message_fields": ["mood"] })),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/projects/IT",
            Some(json!({ "name": "IT", "intro": "x".repeat(301) })),
        )
        .await;
    assert_eq!(status, 422);
}
