//! Participants: public replies reach them in Slack or by mail, their mailed replies come
//! back as public comments in the Slack thread, and someone added late is caught up, once
//! the agent confirms.

use serde_json::{json, Value};

use crate::support::fakes::smtp::SmtpSink;
use crate::support::*;

const DEE: &str = "U0DEE";
const ASKED: &str = "1700000500.000100";

/// deskhand mailing through a sink, with IT-1 filed by Ana and Bo as an agent.
async fn app() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await;
    app.slack.set_members(AGENTS, &[BO]);
    app.slack.add_member(DEE, "Dee Member", "dee@acme.example");
    app.say("EvP1", ANA, ASKED, "The printer on floor 3 is jammed").await;
    let (status, _) = app
        .admin(
            "POST",
            "/api/v1/customers",
            Some(json!({ "email": "carla@client.example", "name": "Carla Client" })),
        )
        .await;
    assert_eq!(status, 201);
    (app, sink)
}

async fn add(app: &TestApp, person: &str, confirm: bool) -> (u16, Value) {
    app.admin(
        "POST",
        "/api/v1/tickets/IT-1/participants",
        Some(json!({ "person": person, "confirm": confirm })),
    )
    .await
}

/// The reply address of a mail deskhand sent (its `Reply-To`).
fn reply_to(data: &str) -> String {
    data.lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .expect("the mail has a Reply-To")
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn raw_mail(from: &str, to: &str, message_id: &str, body: &str) -> String {
    format!(
        "From: Carla Client <{from}>\r\nTo: {to}\r\nSubject: Re: [IT-1] The printer\r\nMessage-ID: <{message_id}>\r\n\
         Date: Wed, 2 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn inbound(app: &TestApp, token: &str, raw: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/mail/inbound", app.addr))
        .bearer_auth(token)
        .header("content-type", "message/rfc822")
        .body(raw.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn public_replies_reach_participants_and_a_mailed_reply_comes_back_to_the_thread() {
    let (app, sink) = app().await;
    assert_eq!(add(&app, "carla@client.example", false).await.0, 201);
    let (status, listed) = add(&app, DEE, false).await;
    assert_eq!(status, 201);
    assert_eq!(listed["participants"].as_array().unwrap().len(), 2, "{listed}");

    app.answer(
        "EvP2",
        BO,
        "1700000501.000100",
        ASKED,
        "Please open tray 2 and pull the sheet out",
    )
    .await;
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0].to, ["carla@client.example"]);
    assert!(mail[0].data.contains("Please open tray 2"), "{}", mail[0].data);
    let address = reply_to(&mail[0].data);
    assert!(
        address.starts_with("help+r-") && address.ends_with("@acme.example"),
        "{address}"
    );
    let dee = app.dms(DEE);
    assert!(
        dee.iter().any(|m| m.text.contains("Please open tray 2")),
        "Dee hears it in Slack: {dee:?}"
    );

    let reply = raw_mail(
        "carla@client.example",
        &address,
        "r1@client.example",
        "It works now, thanks!\r\n\r\nOn Wed, 2 Dec 2026, Help desk <help@acme.example> wrote:\r\n> Please open tray 2",
    );
    let (status, received) = inbound(&app, MAIL_TOKEN, &reply).await;
    assert_eq!(status, 202, "{received}");
    assert_eq!(received["ticket"], "IT-1");
    app.drain().await;
    let thread = app
        .posts_by_thread(SUPPORT)
        .remove(&Some(ASKED.into()))
        .unwrap_or_default();
    let posted: Vec<&str> = thread.iter().map(|m| m.text.as_str()).collect();
    assert!(
        posted
            .iter()
            .any(|t| t.contains("Carla Client* replied by email") && t.contains(">It works now, thanks!")),
        "the mailed reply is in the thread: {posted:?}"
    );
    assert!(
        !posted.iter().any(|t| t.contains("On Wed")),
        "the quoted part is left out"
    );
    assert!(app.dms(DEE).iter().any(|m| m.text.contains("It works now")));
    assert_eq!(sink.mail().len(), 1, "Carla is not sent her own reply");
    let ticket = app.ticket("IT-1").await;
    assert!(
        ticket.to_string().contains("It works now, thanks!"),
        "a public comment: {ticket}"
    );

    // The relay delivers it again: nothing changes.
    let (status, again) = inbound(&app, MAIL_TOKEN, &reply).await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
    app.drain().await;
    let thread = app
        .posts_by_thread(SUPPORT)
        .remove(&Some(ASKED.into()))
        .unwrap_or_default();
    assert_eq!(thread.iter().filter(|m| m.text.contains("replied by email")).count(), 1);

    // Refusals.
    let forged = raw_mail("mallory@evil.example", &address, "r2@evil.example", "Close it");
    assert_eq!(
        inbound(&app, MAIL_TOKEN, &forged).await.0,
        422,
        "only the participant may answer"
    );
    let lost = raw_mail(
        "carla@client.example",
        "help@acme.example",
        "r3@client.example",
        "Hello?",
    );
    assert_eq!(inbound(&app, MAIL_TOKEN, &lost).await.0, 422, "no reply address");
    assert_eq!(inbound(&app, "wrong", &reply).await.0, 401);
    assert_eq!(inbound(&app, MAIL_TOKEN, "not a mail at all").await.0, 400);
}

#[tokio::test]
async fn someone_added_after_public_replies_is_caught_up_once_the_agent_confirms() {
    let (app, sink) = app().await;
    app.answer("EvP3", BO, "1700000502.000100", ASKED, "Which printer exactly?")
        .await;
    let (status, asked) = add(&app, "carla@client.example", false).await;
    assert_eq!(status, 409, "{asked}");
    let message = asked["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 earlier public replies") && message.contains("confirm"),
        "{message}"
    );
    let (_, listed) = app.get("/api/v1/tickets/IT-1/participants").await;
    assert!(listed["participants"].as_array().unwrap().is_empty(), "nothing changed");

    assert_eq!(add(&app, "carla@client.example", true).await.0, 201);
    app.drain().await;
    let mail = sink.wait_for(1).await;
    assert!(
        mail[0].data.contains("The conversation so far") && mail[0].data.contains("Which printer exactly?"),
        "{}",
        mail[0].data
    );

    assert_eq!(add(&app, "zed@nowhere.example", true).await.0, 422, "not a customer");
    assert_eq!(add(&app, ANA, true).await.0, 422, "the requester is no participant");
    let (status, _) = app
        .admin("DELETE", "/api/v1/tickets/IT-1/participants/carla@client.example", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin("DELETE", "/api/v1/tickets/IT-1/participants/carla@client.example", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/api/v1/tickets/IT-9/participants").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_agent_adds_participants_from_the_card_and_confirms_when_replies_exist() {
    let (app, sink) = app().await;
    let card = app.card("IT-1");
    app.press(BO, &card, "add_participant", None, "t-add-1").await;
    let form = app.slack.last_view();
    assert_eq!(form.view["callback_id"], "participant_form");
    let answer = app.submit_view(BO, &form, &[]).await;
    assert_eq!(answer["response_action"], "errors", "someone must be named: {answer}");
    app.submit_view(BO, &form, &[("participant_email", "carla@client.example")])
        .await;
    let (_, listed) = app.get("/api/v1/tickets/IT-1/participants").await;
    assert_eq!(listed["participants"][0]["email"], "carla@client.example", "{listed}");
    assert!(app
        .card_thread("IT-1")
        .iter()
        .any(|t| t.contains("added carla@client.example")));

    app.answer("EvP9", BO, "1700000509.000100", ASKED, "Is the tray empty?")
        .await;
    assert_eq!(sink.wait_for(1).await[0].to, ["carla@client.example"]);

    // Now there is a public reply: adding Dee asks first, and stores nothing.
    app.press(BO, &card, "add_participant", None, "t-add-2").await;
    let form = app.slack.last_view();
    let answer = app.submit_view(BO, &form, &[("participant_user", DEE)]).await;
    assert_eq!(answer["response_action"], "update", "{answer}");
    assert!(
        answer["view"].to_string().contains("1 earlier public replies"),
        "{answer}"
    );
    assert_eq!(
        app.get("/api/v1/tickets/IT-1/participants").await.1["participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let confirming = fake_slack::View {
        view: answer["view"].clone(),
        ..form.clone()
    };
    app.submit_view(BO, &confirming, &[]).await;
    let (_, listed) = app.get("/api/v1/tickets/IT-1/participants").await;
    assert_eq!(listed["participants"][1]["slack_user_id"], DEE, "{listed}");
    assert!(
        app.dms(DEE)
            .iter()
            .any(|m| m.text.contains("The conversation so far") && m.text.contains("Is the tray empty?")),
        "Dee is caught up"
    );

    // Someone deskhand cannot add: the agent hears why.
    app.press(BO, &card, "add_participant", None, "t-add-3").await;
    let form = app.slack.last_view();
    let answer = app
        .submit_view(BO, &form, &[("participant_email", "zed@nowhere.example")])
        .await;
    let confirming = fake_slack::View {
        view: answer["view"].clone(),
        ..form.clone()
    };
    app.submit_view(BO, &confirming, &[]).await;
    assert!(
        app.dms(BO)
            .iter()
            .any(|m| m.text.contains("zed@nowhere.example was not added") && m.text.contains("not a customer")),
        "{:?}",
        app.dms(BO)
    );
}
