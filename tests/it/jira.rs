//! Jira Service Management as a project's ticket store, end to end: signed Slack events in,
//! the fake JSM's recorded calls out (every body checked against Jira's published API
//! description); signed Jira webhooks in, the fake Slack's calls out; a guest through the
//! facilitator's own Jira account; and Jira's faults, which lose nothing.

use std::time::Duration;

use deskhand::vault::Vault;
use serde_json::{json, Value};

use crate::support::fakes::jira::*;
use crate::support::*;

pub(crate) const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub(crate) const SECRET: &str = "the-webhook-secret-of-jira";
const MESSAGE: &str = "1700000100.000100";
const FIONA: &str = "U0FIONA";

pub(crate) fn backend(jira: &FakeJira) -> Value {
    json!({
        "site_url": jira.url(),
        "service_desk_id": SERVICE_DESK,
        "request_type_id": REQUEST_TYPE,
        "account": { "email": DESKHAND_EMAIL, "api_token": DESKHAND_TOKEN },
        "webhook_secret": SECRET,
        "mappings": {
            "departments": { "Hardware": HARDWARE_TYPE },
            "priorities": { "Low": "Low", "Normal": "Medium", "High": "High", "Urgent": "Highest" }
        },
        "statuses": [
            { "name": STATUSES[0], "category": "open" },
            { "name": STATUSES[1], "category": "in_progress" },
            { "name": STATUSES[2], "category": "in_progress" },
            { "name": STATUSES[3], "category": "done" }
        ],
        "self_close": STATUSES[3],
        "waiting_for_customer": STATUSES[2]
    })
}

/// deskhand whose project IT keeps its tickets in the fake JSM, Bo its agent; Ana is a
/// customer there.
async fn connected() -> (TestApp, FakeJira) {
    connected_with(|_| {}).await
}

/// The same, with deskhand's configuration adjusted first.
pub(crate) async fn connected_with(adjust: impl FnOnce(&mut deskhand::config::Config)) -> (TestApp, FakeJira) {
    let jira = FakeJira::start().await;
    let app = TestApp::spawn_set_up(|config| {
        config.secret_key = Some(Vault::parse(KEY).unwrap());
        adjust(config);
    })
    .await;
    app.slack.set_members(AGENTS, &[BO]);
    jira.add_account("acc-ana", "ana@acme.example", "Ana Lima", None, true);
    app.admin_ok("PUT", "/api/v1/projects/IT/backend", backend(&jira)).await;
    (app, jira)
}

/// deskhand's posts in the thread of the support message `ts`.
fn thread(app: &TestApp, ts: &str) -> Vec<String> {
    app.slack
        .messages_in(SUPPORT)
        .into_iter()
        .filter(|m| m.thread_ts.as_deref() == Some(ts))
        .map(|m| format!("{} {}", m.text, m.blocks))
        .collect()
}

#[tokio::test]
async fn a_project_connects_to_its_service_desk_and_its_secrets_stay_sealed() {
    let jira = FakeJira::start().await;
    let unsealed = TestApp::spawn().await;
    let (status, answer) = unsealed
        .admin("PUT", "/api/v1/projects/IT/backend", Some(backend(&jira)))
        .await;
    assert_eq!(status, 503, "no secret key, no Jira: {answer}");
    assert!(answer.to_string().contains("DESKHAND_SECRET_KEY"));

    let app = TestApp::spawn_set_up(|config| config.secret_key = Some(Vault::parse(KEY).unwrap())).await;
    let wrong = |change: &dyn Fn(&mut Value)| {
        let mut body = backend(&jira);
        change(&mut body);
        body
    };
    for (body, says) in [
        (
            wrong(&|b| b["account"]["api_token"] = "not-the-token".into()),
            "jira account",
        ),
        (
            wrong(&|b| b["site_url"] = "http://acme.atlassian.net".into()),
            "site_url",
        ),
        (wrong(&|b| b["request_type_id"] = "99".into()), "no request type 99"),
        (wrong(&|b| b["service_desk_id"] = "7".into()), "service desk"),
        (
            wrong(&|b| b["mappings"]["priorities"]["Urgent"] = "Blocker".into()),
            "no priority",
        ),
        (wrong(&|b| b["webhook_secret"] = "short".into()), "webhook_secret"),
        (
            wrong(&|b| b["mappings"]["department_field"] = "customfield_99".into()),
            "no field customfield_99",
        ),
    ] {
        let (status, answer) = app.admin("PUT", "/api/v1/projects/IT/backend", Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer.to_string().contains(says), "{says}: {answer}");
    }
    let (status, _) = app.get("/api/v1/projects/IT/backend").await;
    assert_eq!(status, 404, "nothing was connected");

    let saved = app.admin_ok("PUT", "/api/v1/projects/IT/backend", backend(&jira)).await;
    assert_eq!(saved["jira_project"], PROJECT);
    assert_eq!(saved["account_id"], DESKHAND_ACCOUNT);
    let (_, shown) = app.get("/api/v1/projects/IT/backend").await;
    for secret in [DESKHAND_TOKEN, SECRET] {
        assert!(!shown.to_string().contains(secret), "the API never shows a secret");
        assert!(!saved.to_string().contains(secret));
    }
    let (_, project) = app.get("/api/v1/projects/IT").await;
    assert_eq!(project["backend"], "jira");
    assert_eq!(project["workflow"]["statuses"][0]["name"], STATUSES[0]);

    let (status, check) = app.get("/api/v1/projects/IT/backend/check").await;
    assert_eq!(status, 200);
    assert_eq!(check["ok"], true, "{check}");
    let (_, doctor) = app.get("/api/v1/doctor").await;
    let checks: Vec<String> = pluck(&doctor["findings"], "check")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(checks.contains(&"jira IT: jira account".to_owned()), "{checks:?}");
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn what_happens_in_slack_reaches_jira() {
    let (app, jira) = connected().await;
    app.say("Ev1", ANA, MESSAGE, "The VPN is down since noon").await;

    let issue = jira.issue("SUP-1");
    assert_eq!(issue.reporter, "acc-ana", "raised on behalf of the requester");
    assert_eq!(issue.raised_by, DESKHAND_ACCOUNT);
    assert_eq!(issue.summary, "The VPN is down since noon");
    assert!(issue.description.contains("deskhand ref"), "{}", issue.description);
    let ticket = app.ticket("SUP-1").await;
    assert_eq!(ticket["key"], "SUP-1", "Jira's key is the ticket's key");
    assert_eq!(ticket["jira_url"], format!("{}/browse/SUP-1", jira.url()));
    assert_eq!(
        app.ticket("IT-D1").await["key"],
        "SUP-1",
        "the filing key still finds it"
    );
    assert!(
        thread(&app, MESSAGE).iter().any(|m| m.contains("SUP-1")),
        "the thread reply shows the Jira key: {:?}",
        thread(&app, MESSAGE)
    );

    app.answer("Ev2", ANA, "1700000101.000100", MESSAGE, "Still down after a reboot")
        .await;
    let card = app.card("SUP-1");
    app.deliver(
        "Ev3",
        reply(AGENTS, BO, "1700000102.000100", &card.ts, "Checking the concentrator"),
    )
    .await;
    let comments = jira.issue("SUP-1").comments;
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[0].public && comments[0].body.contains("Still down after a reboot"));
    assert!(comments[0].body.ends_with("— Ana Lima, in Slack"), "says who wrote it");
    assert!(!comments[1].public, "a reply in the card's thread is internal");

    app.press(BO, &app.card("SUP-1"), "set_status", Some(STATUSES[1]), "t1")
        .await;
    assert_eq!(jira.issue("SUP-1").status, STATUSES[1]);
    app.admin_ok("PUT", "/api/v1/settings", json!({ "agents_set_priority": true }))
        .await;
    app.press(BO, &app.card("SUP-1"), "set_priority", Some("Urgent"), "t2")
        .await;
    assert_eq!(jira.issue("SUP-1").priority, "Highest");

    // A move Jira does not offer: the card says so and shows Jira's status.
    app.press(BO, &app.card("SUP-1"), "set_status", Some(STATUSES[0]), "t3")
        .await;
    assert_eq!(jira.issue("SUP-1").status, STATUSES[1]);
    assert_eq!(app.ticket("SUP-1").await["status"], STATUSES[1]);
    assert!(app.card_thread("SUP-1").iter().any(|t| t.contains("offers no move")));
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn what_agents_do_in_jira_reaches_slack_once() {
    let (app, jira) = connected().await;
    app.say("Ev1", ANA, MESSAGE, "Printer on 3rd floor jams").await;
    let addr = app.addr.clone();

    let public = jira.agent_comments("SUP-1", "Try tray 2 for now", true);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-1", &public).await, 200);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-1", &public).await, 200, "a redelivery");
    app.drain().await;
    assert!(
        thread(&app, MESSAGE)
            .iter()
            .any(|m| m.contains(&format!("<{}/browse/SUP-1|SUP-1>", jira.url()))),
        "the thread message links the request in Jira"
    );
    let said: Vec<String> = thread(&app, MESSAGE)
        .into_iter()
        .filter(|m| m.contains("Try tray 2"))
        .collect();
    assert_eq!(said.len(), 1, "posted once: {said:?}");
    assert!(said[0].contains("Ivy Agent"), "with the agent's name");

    let first = jira.issue("SUP-1").comments[0].clone();
    let edited = json!({
        "timestamp": 2, "webhookEvent": "comment_updated",
        "issue": { "id": jira.issue("SUP-1").id, "key": "SUP-1", "fields": {} },
        "comment": { "id": first.id, "body": "Try tray 2 or 3 for now", "jsdPublic": true,
                     "author": { "accountId": IVY_ACCOUNT, "displayName": "Ivy Agent" } }
    });
    assert_eq!(jira.deliver(&addr, SECRET, "wh-1b", &edited).await, 200);
    app.drain().await;
    let mirrored = app.ticket("SUP-1").await["comments"][0].clone();
    assert_eq!(
        mirrored["body"], "Try tray 2 or 3 for now",
        "the mirror keeps Jira's words"
    );
    assert!(mirrored["edited_at"].is_number());

    let internal = jira.agent_comments("SUP-1", "Toner is on order", false);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-2", &internal).await, 200);
    app.drain().await;
    assert!(app.card_thread("SUP-1").iter().any(|t| t.contains("Toner is on order")));
    assert!(
        !thread(&app, MESSAGE).iter().any(|m| m.contains("Toner")),
        "never to the requester"
    );

    // deskhand's own comment comes back through the webhook: it is not said again.
    app.answer("Ev2", ANA, "1700000101.000100", MESSAGE, "Thanks!").await;
    let ours = jira.issue("SUP-1").comments.last().cloned().unwrap();
    let echo = json!({
        "webhookEvent": "comment_created",
        "issue": { "id": jira.issue("SUP-1").id, "key": "SUP-1", "fields": {} },
        "comment": { "id": ours.id, "body": ours.body, "jsdPublic": true,
                     "author": { "accountId": DESKHAND_ACCOUNT, "displayName": "deskhand" } }
    });
    let before = app.slack.messages().len();
    assert_eq!(jira.deliver(&addr, SECRET, "wh-3", &echo).await, 200);
    app.drain().await;
    assert_eq!(app.slack.messages().len(), before, "no echo");

    let moved = jira.agent_moves("SUP-1", STATUSES[3]);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-4", &moved).await, 200);
    app.drain().await;
    let ticket = app.ticket("SUP-1").await;
    assert_eq!(ticket["status"], STATUSES[3]);
    assert!(
        app.card("SUP-1").blocks.to_string().contains(STATUSES[3]),
        "the card shows it"
    );
    assert_eq!(
        jira.calls_to("POST", "/rest/api/3/issue/SUP-1/transitions").len(),
        0,
        "not sent back"
    );

    let urgent = jira.agent_prioritizes("SUP-1", "Highest");
    assert_eq!(jira.deliver(&addr, SECRET, "wh-7", &urgent).await, 200);
    app.drain().await;
    assert_eq!(app.ticket("SUP-1").await["priority"], "Urgent", "by the mapping");
    assert!(
        app.status_dms(ANA)
            .iter()
            .any(|m| m.text.contains("now *Urgent* priority")),
        "the requester hears of it"
    );

    // A request raised in Jira itself for someone deskhand knows in Slack.
    let raised = json!({
        "timestamp": 1, "webhookEvent": "jira:issue_created",
        "issue": { "id": "99001", "key": "SUP-77", "fields": {
            "summary": "Phone line for the new office",
            "reporter": { "accountId": "acc-ana", "emailAddress": "ana@acme.example", "displayName": "Ana Lima" } } }
    });
    assert_eq!(jira.deliver(&addr, SECRET, "wh-8", &raised).await, 200);
    app.drain().await;
    assert!(
        app.dms(ANA)
            .iter()
            .any(|m| m.text.contains("opened for you in Jira") && m.text.contains("SUP-77")),
        "announced to its requester"
    );

    assert_eq!(
        jira.deliver(&addr, "a-wrong-secret-entirely", "wh-5", &moved).await,
        401
    );
    let deleted =
        json!({ "webhookEvent": "jira:issue_deleted", "issue": { "id": jira.issue("SUP-1").id, "key": "SUP-1" } });
    assert_eq!(jira.deliver(&addr, SECRET, "wh-6", &deleted).await, 200);
    app.drain().await;
    assert!(app.card_thread("SUP-1").iter().any(|t| t.contains("deleted in Jira")));
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn a_guest_reaches_jira_through_the_facilitators_account() {
    let (app, jira) = connected().await;
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    jira.add_account(
        "acc-fiona",
        "fiona@acme.example",
        "Fiona",
        Some("fiona-jira-token"),
        false,
    );
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{SUPPORT}/facilitator"),
        json!({ "slack_user_id": FIONA }),
    )
    .await;
    let saved = app
        .admin_ok(
            "PUT",
            &format!("/api/v1/channels/{SUPPORT}/facilitator/jira"),
            json!({ "email": "fiona@acme.example", "api_token": "fiona-jira-token" }),
        )
        .await;
    assert_eq!(saved["account_id"], "acc-fiona");
    assert!(!saved.to_string().contains("fiona-jira-token"));

    app.deliver("Ev1", message(SUPPORT, GIL, MESSAGE, "Can't reach the partner portal"))
        .await;
    let issue = jira.issue("SUP-1");
    assert_eq!(issue.raised_by, "acc-fiona", "with the facilitator's own account");
    assert_eq!(issue.reporter, "acc-fiona", "the guest is no JSM customer");
    assert!(
        issue.description.contains("On behalf of Gil Guest"),
        "{}",
        issue.description
    );

    app.answer("Ev2", GIL, "1700000101.000100", MESSAGE, "It says 403")
        .await;
    let comment = jira.issue("SUP-1").comments[0].clone();
    assert_eq!(comment.author, "acc-fiona");
    assert!(comment.body.contains("on behalf of Gil Guest"), "{}", comment.body);

    // A guest Jira knows is raised on their own behalf, still through the facilitator.
    jira.add_account("acc-gil", "gil@partner.example", "Gil Guest", None, true);
    app.deliver("Ev4", message(SUPPORT, GIL, "1700000300.000100", "Portal login loops"))
        .await;
    let known = jira
        .issues()
        .into_iter()
        .find(|i| i.summary == "Portal login loops")
        .unwrap();
    assert_eq!(
        (known.raised_by.as_str(), known.reporter.as_str()),
        ("acc-fiona", "acc-gil")
    );

    // Without the facilitator's Jira account, the project's account files for guests.
    let path = format!("/api/v1/channels/{SUPPORT}/facilitator/jira");
    assert_eq!(app.admin("DELETE", &path, None).await.0, 204);
    assert_eq!(app.admin("DELETE", &path, None).await.0, 404);
    app.deliver("Ev5", message(SUPPORT, GIL, "1700000400.000100", "Portal slow"))
        .await;
    let revoked = jira.issues().into_iter().find(|i| i.summary == "Portal slow").unwrap();
    assert_eq!(revoked.raised_by, DESKHAND_ACCOUNT);

    // A verified member keeps their own account, facilitator or not.
    app.deliver("Ev3", message(SUPPORT, ANA, "1700000200.000100", "Laptop fan is loud"))
        .await;
    let ana = jira
        .issues()
        .into_iter()
        .find(|i| i.summary == "Laptop fan is loud")
        .unwrap();
    assert_eq!(
        (ana.raised_by.as_str(), ana.reporter.as_str()),
        (DESKHAND_ACCOUNT, "acc-ana")
    );
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn jira_faults_lose_nothing_and_raise_nothing_twice() {
    let (app, jira) = connected().await;
    jira.fail("POST", "/rest/servicedeskapi/request", Fault::LoseAnswer);
    app.say("Ev1", ANA, MESSAGE, "Monitor flickers").await;
    assert_eq!(jira.issues().len(), 1, "raised once though its answer was lost");
    assert_eq!(app.ticket("SUP-1").await["key"], "SUP-1");

    jira.fail("POST", "/comment", Fault::Status(429));
    jira.fail("POST", "/comment", Fault::Status(500));
    jira.fail("POST", "/comment", Fault::LoseAnswer);
    app.answer("Ev2", ANA, "1700000101.000100", MESSAGE, "Also at 60 Hz")
        .await;
    assert_eq!(
        jira.issue("SUP-1").comments.len(),
        1,
        "commented once after three faults"
    );

    // Jira refuses the account: sync pauses, admins hear of it, nothing is dropped.
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [BO] })).await;
    jira.set_token(DESKHAND_ACCOUNT, None);
    app.send_ok("Ev3", reply(SUPPORT, ANA, "1700000102.000100", MESSAGE, "Any news?"))
        .await;
    app.slack
        .wait_until("the admins hear that sync paused", |slack| {
            slack
                .messages_in(&fake_slack::dm_channel(BO))
                .iter()
                .any(|m| m.text.contains("paused"))
        })
        .await;
    let (_, shown) = app.get("/api/v1/projects/IT/backend").await;
    assert!(
        shown["paused_because"].as_str().unwrap_or_default().contains("refused"),
        "{shown}"
    );
    let (_, check) = app.get("/api/v1/projects/IT/backend/check").await;
    assert_eq!(check["ok"], false, "{check}");

    jira.set_token(DESKHAND_ACCOUNT, Some(DESKHAND_TOKEN));
    let (_, check) = app.get("/api/v1/projects/IT/backend/check").await;
    assert_eq!(check["ok"], true, "the check resumes it: {check}");
    app.advance(Duration::from_secs(20)).await;
    app.drain().await;
    let comments = jira.issue("SUP-1").comments;
    assert_eq!(comments.len(), 2, "the reply waited and was sent: {comments:?}");
    assert!(comments[1].body.contains("Any news?"));
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn the_reconcile_brings_what_the_webhook_never_delivered() {
    let jira = FakeJira::start().await;
    let app = TestApp::spawn_set_up(|config| {
        config.secret_key = Some(Vault::parse(KEY).unwrap());
        config.jira_reconcile = Duration::from_secs(1);
    })
    .await;
    app.slack.set_members(AGENTS, &[BO]);
    jira.add_account("acc-ana", "ana@acme.example", "Ana Lima", None, true);
    jira.add_account("acc-bo", "bo@acme.example", "Bo Agent", None, false);
    app.admin_ok("PUT", "/api/v1/projects/IT/backend", backend(&jira)).await;
    app.say("Ev1", ANA, MESSAGE, "Badge reader rejects me").await;

    // Bo, whom deskhand knows from Slack, and Ivy act in Jira; no webhook arrives.
    let card = app.card("SUP-1");
    app.deliver(
        "Ev2",
        reply(AGENTS, BO, "1700000101.000100", &card.ts, "Taking it in Jira"),
    )
    .await;
    let _ = jira.agent_comments("SUP-1", "Re-enrolled your badge", true);
    let _ = jira.agent_moves("SUP-1", STATUSES[2]);
    jira.agent_assigns("SUP-1", "acc-bo");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        app.drain().await;
        let ticket = app.ticket("SUP-1").await;
        if ticket["status"] == STATUSES[2] && ticket["assignee_slack_id"] == BO {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reconcile never brought it: {ticket}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Another pass finds nothing new: the same comment is said once.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.drain().await;
    let said = thread(&app, MESSAGE)
        .into_iter()
        .filter(|m| m.contains("Re-enrolled your badge"))
        .count();
    assert_eq!(said, 1);
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn approvals_participants_and_ratings_meet_jira_where_it_lets_deskhand() {
    let (app, jira) = connected().await;
    jira.add_account("acc-bo", "bo@acme.example", "Bo Agent", None, false);
    jira.add_account("acc-cy", "cy@partner.example", "Cy Customer", None, true);
    app.say("Ev1", ANA, MESSAGE, "I need admin rights on my laptop").await;
    let card = app.card("SUP-1");
    app.deliver(
        "Ev2",
        reply(AGENTS, BO, "1700000101.000100", &card.ts, "Needs approval"),
    )
    .await;

    // Jira's approval step: the approver hears of it in Slack, with a link, once.
    jira.ask_approval("SUP-1", "acc-bo");
    let addr = app.addr.clone();
    let moved = jira.agent_moves("SUP-1", STATUSES[1]);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-1", &moved).await, 200);
    let again = jira.agent_moves("SUP-1", STATUSES[2]);
    assert_eq!(jira.deliver(&addr, SECRET, "wh-2", &again).await, 200);
    app.drain().await;
    let asked: Vec<_> = app
        .dms(BO)
        .into_iter()
        .filter(|m| m.text.contains("Your approval is asked for"))
        .collect();
    assert_eq!(asked.len(), 1, "asked once: {asked:?}");
    assert!(asked[0].text.contains(&format!("{}/browse/SUP-1", jira.url())));
    assert!(
        element(&asked[0].blocks, "approve").is_none(),
        "no buttons that would fail"
    );

    // A participant added in deskhand is one in Jira.
    app.admin_ok(
        "POST",
        "/api/v1/customers",
        json!({ "email": "cy@partner.example", "name": "Cy" }),
    )
    .await;
    app.admin_ok(
        "POST",
        "/api/v1/tickets/SUP-1/participants",
        json!({ "person": "cy@partner.example", "confirm": true }),
    )
    .await;
    app.drain().await;
    assert_eq!(jira.issue("SUP-1").participants, ["acc-cy"]);

    // The requester's rating reaches Jira's agents as an internal note.
    app.press(BO, &app.card("SUP-1"), "set_status", Some(STATUSES[3]), "s1")
        .await;
    let survey = app
        .dms(ANA)
        .into_iter()
        .find(|m| element(&m.blocks, "rate").is_some())
        .expect("a survey");
    app.press(ANA, &survey, "rate", None, "s2").await;
    let view = app.slack.last_view();
    app.submit_view(ANA, &view, &[("rating", "5"), ("comment", "Fast")])
        .await;
    let note = jira.issue("SUP-1").comments.last().cloned().unwrap();
    assert!(
        !note.public && note.body.contains("Rated the help 5/5: Fast"),
        "{note:?}"
    );
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn a_request_jira_refuses_stays_in_deskhand_and_says_why() {
    let (app, jira) = connected().await;
    jira.fail("POST", "/rest/servicedeskapi/request", Fault::Status(400));
    app.say("Ev1", ANA, MESSAGE, "Keyboard missing keys").await;
    assert!(jira.issues().is_empty());
    let ticket = app.ticket("IT-D1").await;
    assert_eq!(ticket["jira_state"], "failed");
    let card = app.card("IT-D1").blocks.to_string();
    assert!(card.contains("not in Jira"), "{card}");
    assert!(app.card_thread("IT-D1").iter().any(|t| t.contains("Jira refused")));
    app.answer("Ev2", ANA, "1700000101.000100", MESSAGE, "Any news?").await;
    assert_eq!(
        jira.calls_to("POST", "/rest/servicedeskapi/request/").len(),
        0,
        "nothing sent on"
    );
}

#[tokio::test]
async fn requesters_become_customers_when_the_project_allows_but_never_a_managed_domain() {
    let jira = FakeJira::start().await;
    let app = TestApp::spawn_set_up(|config| config.secret_key = Some(Vault::parse(KEY).unwrap())).await;
    app.slack.add_member("U0NIA", "Nia New", "nia@acme.example");
    app.slack.add_member("U0OLA", "Ola Own", "ola@corp.example");
    app.admin_ok(
        "PUT",
        "/api/v1/settings",
        json!({ "managed_domains": ["corp.example"] }),
    )
    .await;
    let mut body = backend(&jira);
    body["create_customers"] = true.into();
    app.admin_ok("PUT", "/api/v1/projects/IT/backend", body).await;

    app.say("Ev1", "U0NIA", MESSAGE, "Need a VPN account").await;
    let nia = jira.account_by_email("nia@acme.example").expect("made a customer");
    assert_eq!(jira.issue("SUP-1").reporter, nia.account_id, "raised on her behalf");
    assert_eq!(
        jira.calls_to(
            "POST",
            &format!("/rest/servicedeskapi/servicedesk/{SERVICE_DESK}/customer")
        )
        .len(),
        1,
        "and let into the service desk"
    );

    app.say("Ev2", "U0OLA", "1700000200.000100", "Need a VPN account too")
        .await;
    assert!(
        jira.account_by_email("ola@corp.example").is_none(),
        "never for a managed domain"
    );
    let ola = jira.issue("SUP-2");
    assert_eq!(ola.reporter, DESKHAND_ACCOUNT);
    assert!(ola.description.contains("On behalf of Ola Own"), "{}", ola.description);
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}

#[tokio::test]
async fn an_outage_of_an_hour_ends_with_everything_sent_once() {
    let (app, jira) = connected().await;
    for _ in 0..20 {
        jira.fail("POST", "/rest/servicedeskapi/request", Fault::Status(500));
    }
    let started = app.store.now_ms();
    app.say("Ev1", ANA, MESSAGE, "Mail is down").await;
    assert!(
        app.store.now_ms() - started > 3_600_000,
        "retried for over an hour of deskhand's clock"
    );
    assert_eq!(jira.issues().len(), 1);
    assert_eq!(app.ticket("SUP-1").await["jira_state"], "linked");
    assert!(
        thread(&app, MESSAGE).iter().any(|m| m.contains("SUP-1")),
        "Slack shows it"
    );
}

#[tokio::test]
async fn a_department_picks_its_request_type_and_fills_the_department_field() {
    let jira = FakeJira::start().await;
    let app = TestApp::spawn_set_up(|config| config.secret_key = Some(Vault::parse(KEY).unwrap())).await;
    jira.add_account("acc-ana", "ana@acme.example", "Ana Lima", None, true);
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "departments": ["Hardware", "Network"] }),
    )
    .await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "default_department": "Hardware" }))
        .await;
    let mut body = backend(&jira);
    body["mappings"]["department_field"] = DEPARTMENT_FIELD.into();
    app.admin_ok("PUT", "/api/v1/projects/IT/backend", body).await;
    let (_, check) = app.get("/api/v1/projects/IT/backend/check").await;
    assert_eq!(check["ok"], true, "{check}");
    assert!(check.to_string().contains("raises requests on behalf of customers"));

    app.say("Ev1", ANA, MESSAGE, "My dock is dead").await;
    let issue = jira.issue("SUP-1");
    assert_eq!(issue.request_type, HARDWARE_TYPE, "the department's request type");
    assert_eq!(issue.fields[DEPARTMENT_FIELD]["value"], "Hardware");
    assert!(jira.violations().is_empty(), "{:?}", jira.violations());
}
