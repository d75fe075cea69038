//! Approvals, satisfaction surveys and the reports, through the buttons and modals of
//! the messages deskhand posted, on deskhand's own (controllable) clock.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const APPROVER: &str = "U0APP";
const MAE: &str = "U0MAE";
const FIONA: &str = "U0FIONA";
const MESSAGE: &str = "1700000100.000100";

/// Project IT where "Access" needs Approver's approval and "Hardware purchase" the
/// department's managers'; the support channel files "Access" requests.
async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.slack.add_member(APPROVER, "Alex Approver", "alex@acme.example");
    app.slack.add_member(MAE, "Mae Manager", "mae@acme.example");
    app.slack.set_members(AGENTS, &[BO]);
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({
            "name": "IT Help",
            "departments": ["Hardware"],
            "request_types": [
                "Incident",
                { "name": "Access", "approval": { "by": [APPROVER] } },
                { "name": "Hardware purchase", "approval": { "by": "department_managers" } },
            ],
        }),
    )
    .await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT/departments/hardware",
        json!({ "name": "Hardware", "managers": [MAE] }),
    )
    .await;
    app.set_support_channel(json!({
        "agent_channel": AGENTS, "auto_create": true, "thread_sync": true, "default_request_type": "Access",
    }))
    .await;
    app
}

/// The approval request in `user`'s DM.
fn approval_dm(app: &TestApp, user: &str) -> fake_slack::Message {
    app.dms(user)
        .into_iter()
        .find(|m| element(&m.blocks, "approve").is_some())
        .unwrap_or_else(|| panic!("no approval asked of {user}"))
}

fn survey_dms(app: &TestApp, user: &str) -> Vec<fake_slack::Message> {
    app.dms(user)
        .into_iter()
        .filter(|m| element(&m.blocks, "rate").is_some())
        .collect()
}

#[tokio::test]
async fn a_request_that_needs_approval_waits_for_its_approver_and_is_decided_once() {
    let app = app().await;
    app.say("Ev1", ANA, MESSAGE, "Access to the finance share").await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        (&ticket["status"], &ticket["approval"]),
        (&json!("Waiting for approval"), &json!("pending"))
    );
    let card = app.card("IT-1");
    assert!(
        card.blocks.to_string().contains("Waiting for approval by <@U0APP>"),
        "{}",
        card.blocks
    );
    assert!(
        element(&card.blocks, "set_status").is_none(),
        "nothing moves it but a decision"
    );
    let forged = ("ticket:IT-1", "set_status", "static_select");
    app.act(BO, (AGENTS, &card.ts), forged, None, Some("Resolved"), "a0")
        .await;
    assert!(app.answer_to("a0").contains("waits for an approval"));

    let asked = approval_dm(&app, APPROVER);
    app.press(BO, &asked, "approve", None, "a1").await;
    assert!(
        app.answer_to("a1").contains("Only <@U0APP> can decide on *IT-1*"),
        "{}",
        app.answer_to("a1")
    );
    assert_eq!(app.ticket("IT-1").await["approval"], "pending");

    app.press(APPROVER, &asked, "approve", None, "a2").await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        (&ticket["status"], &ticket["approval"]),
        (&json!("Open"), &json!("approved"))
    );
    app.press(APPROVER, &asked, "decline", None, "a3").await;
    assert!(
        app.answer_to("a3").contains("already approved by <@U0APP>"),
        "{}",
        app.answer_to("a3")
    );
    let thread: Vec<String> = app.slack.messages_in(SUPPORT).iter().map(|m| m.text.clone()).collect();
    assert!(
        thread
            .iter()
            .any(|t| t.contains("*Alex Approver* approved this request")),
        "{thread:?}"
    );
    assert!(app.card("IT-1").blocks.to_string().contains("Approved by <@U0APP>"));
    let audit = app.get("/api/v1/audit?ticket=IT-1").await.1;
    let decided = audit["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "approval_decided")
        .count();
    assert_eq!(decided, 1);
}

#[tokio::test]
async fn a_declined_request_is_done_with_its_reason_and_no_survey() {
    let app = app().await;
    app.say("Ev1", ANA, MESSAGE, "Admin rights please").await;
    app.press(APPROVER, &approval_dm(&app, APPROVER), "decline", None, "d1")
        .await;
    assert_eq!(app.slack.last_view().view["callback_id"], "decline_reason");
    assert_eq!(
        app.ticket("IT-1").await["approval"],
        "pending",
        "nothing is decided before the reason"
    );
    app.submit_modal(APPROVER, &[("text", "Use the support account instead")])
        .await;
    let ticket = app.ticket("IT-1").await;
    assert_eq!(
        (&ticket["status"], &ticket["approval"]),
        (&json!("Closed"), &json!("declined"))
    );
    let comment = &ticket["comments"][0];
    assert_eq!(comment["visibility"], "public");
    assert_eq!(comment["body"], "Declined: Use the support account instead");
    assert!(app.slack.messages_in(SUPPORT).iter().any(|m| m
        .text
        .contains("declined this request: Use the support account instead")));
    assert!(
        survey_dms(&app, ANA).is_empty(),
        "a declined request asks for no rating"
    );
}

#[tokio::test]
async fn a_request_type_chosen_in_the_form_may_need_an_approval() {
    let app = app().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "default_project": "IT" }))
        .await;
    assert_eq!(app.slash(ANA, "D0ANA", "new", "f1").await, 200);
    app.drain().await;
    let form = app.slack.last_view();
    let asked = form.view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "request_type")
        .expect("the form asks for a request type");
    let offered = asked["element"]["option_groups"][0]["options"].to_string();
    assert!(
        offered.contains("Access") && offered.contains("Hardware purchase"),
        "{offered}"
    );
    let answer = app
        .submit_view(
            ANA,
            &form,
            &[
                ("project", "IT"),
                ("summary", "VPN for a contractor"),
                ("request_type", "Payroll"),
            ],
        )
        .await;
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["request_type"]
        .as_str()
        .unwrap()
        .contains("no request type Payroll"));
    app.submit_view(
        ANA,
        &form,
        &[
            ("project", "IT"),
            ("summary", "VPN for a contractor"),
            ("request_type", "Access"),
        ],
    )
    .await;
    let ticket = &app.tickets().await[0];
    assert_eq!(
        (&ticket["request_type"], &ticket["approval"]),
        (&json!("Access"), &json!("pending"))
    );
    approval_dm(&app, APPROVER);
}

#[tokio::test]
async fn department_managers_approve_their_departments_requests() {
    let app = app().await;
    app.set_support_channel(json!({
        "agent_channel": AGENTS, "auto_create": true, "default_request_type": "Hardware purchase",
        "default_department": "Hardware",
    }))
    .await;
    app.say("Ev1", ANA, MESSAGE, "A second monitor").await;
    app.press(MAE, &approval_dm(&app, MAE), "approve", None, "m1").await;
    assert_eq!(app.ticket("IT-1").await["approval"], "approved");
}

#[tokio::test]
async fn the_requester_rates_each_resolution_once() {
    let app = app().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": true, "thread_sync": true }))
        .await;
    app.say("Ev1", ANA, MESSAGE, "VPN is down").await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("Resolved"), "s1")
        .await;
    let surveys = survey_dms(&app, ANA);
    assert_eq!(surveys.len(), 1);

    // Someone else's "Rate" is refused; two modals open, the first answer stands.
    app.press(BO, &surveys[0], "rate", None, "s2").await;
    assert!(app.answer_to("s2").contains("Only <@U0ANA>, who asked, rates *IT-1*"));
    app.press(ANA, &surveys[0], "rate", None, "s3").await;
    let first = app.slack.last_view();
    app.press(ANA, &surveys[0], "rate", None, "s4").await;
    let second = app.slack.last_view();
    assert_eq!(first.view["callback_id"], "survey");
    app.submit_view(ANA, &first, &[("rating", "4"), ("comment", "Quick, thanks")])
        .await;
    app.submit_view(ANA, &second, &[("rating", "1")]).await;
    let card = app.card("IT-1").blocks.to_string();
    assert!(card.contains("★★★★☆ (4/5)") && card.contains("Quick, thanks"), "{card}");
    assert!(
        app.status_dms(ANA)
            .iter()
            .any(|m| m.text.contains("your first answer stands")),
        "the second answer is refused"
    );
    app.press(ANA, &surveys[0], "rate", None, "s5").await;
    assert!(app.answer_to("s5").contains("You rated *IT-1* 4/5 already"));

    // Reopened and resolved again: asked again.
    app.press(BO, &app.card("IT-1"), "set_status", Some("Open"), "s6").await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("Resolved"), "s7")
        .await;
    assert_eq!(survey_dms(&app, ANA).len(), 2);
}

#[tokio::test]
async fn a_guest_filed_through_a_facilitator_is_never_surveyed() {
    let app = app().await;
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": true, "thread_sync": true }))
        .await;
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{SUPPORT}/facilitator"),
        json!({ "slack_user_id": FIONA }),
    )
    .await;
    app.say("Ev1", GIL, MESSAGE, "Can't reach the partner portal").await;
    app.press(BO, &app.card("IT-1"), "set_status", Some("Resolved"), "g1")
        .await;
    assert!(survey_dms(&app, FIONA).is_empty() && survey_dms(&app, GIL).is_empty());
    let card = app.card("IT-1").blocks.to_string();
    assert!(card.contains("No survey: filed on behalf of Gil Guest"), "{card}");
}

fn figure(report: &Value, path: &[&str]) -> Value {
    path.iter().fold(report.clone(), |v, k| v[*k].clone())
}

#[tokio::test]
async fn reports_measure_first_responses_resolutions_and_ratings() {
    let app = app().await;
    app.set_support_channel(json!({ "agent_channel": AGENTS, "auto_create": true, "thread_sync": true }))
        .await;
    for (i, minutes) in [10_u64, 30].iter().enumerate() {
        let key = format!("IT-{}", i + 1);
        app.say(&format!("Ev{i}"), ANA, &format!("17000001{i}0.000100"), "Printer jam")
            .await;
        app.advance(Duration::from_secs(minutes * 60)).await;
        app.press(BO, &app.card(&key), "reply_publicly", None, &format!("r{i}"))
            .await;
        app.submit_modal(BO, &[("reply", "On my way")]).await;
        app.advance(Duration::from_secs(minutes * 60)).await;
        app.press(BO, &app.card(&key), "set_status", Some("Resolved"), &format!("v{i}"))
            .await;
        let survey = survey_dms(&app, ANA).pop().unwrap();
        app.press(ANA, &survey, "rate", None, &format!("x{i}")).await;
        app.submit_modal(ANA, &[("rating", if i == 0 { "5" } else { "3" })])
            .await;
    }
    let (status, times) = app.get("/api/v1/reports/response-times").await;
    assert_eq!(status, 200, "{times}");
    assert_eq!(figure(&times, &["first_response", "overall", "count"]), 2);
    assert_eq!(figure(&times, &["first_response", "overall", "median_minutes"]), 10.0);
    assert_eq!(figure(&times, &["first_response", "overall", "p90_minutes"]), 30.0);
    assert_eq!(figure(&times, &["resolution", "by_project", "IT", "p90_minutes"]), 60.0);
    assert_eq!(figure(&times, &["first_response", "by_agent", "(none)", "count"]), 2);
    let (_, ratings) = app.get("/api/v1/reports/satisfaction").await;
    assert_eq!(figure(&ratings, &["overall", "average"]), 4.0);
    assert_eq!(figure(&ratings, &["overall", "distribution"]), json!([0, 0, 1, 0, 1]));

    let csv = app
        .http
        .get(format!("{}/api/v1/reports/satisfaction?from=2020-01-01", app.addr))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("group,key,count,average,rated_1"), "{csv}");
    assert!(csv.contains("\noverall,,2,4,0,0,1,0,1\n"), "{csv}");
    let (status, _) = app.get("/api/v1/reports/response-times?from=yesterday").await;
    assert_eq!(status, 400);
    let (_, empty) = app
        .get("/api/v1/reports/response-times?from=2020-01-01&to=2020-02-01")
        .await;
    assert_eq!(figure(&empty, &["first_response", "overall", "count"]), 0);

    assert_eq!(app.slash(BO, AGENTS, "report", "rep").await, 200);
    app.drain().await;
    let report = app.answer_to("rep");
    assert!(
        report.contains("*Team* · first response: median 10 min, 90% within 30 min (2)"),
        "{report}"
    );
    assert!(report.contains("satisfaction: 4/5 from 2 rating(s)"), "{report}");
}
