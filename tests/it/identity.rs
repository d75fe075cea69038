//! Who is verified: full members are linked by email; everyone else is told why nothing
//! was filed, and their message is kept.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_guest_is_told_privately_and_their_message_is_parked_not_dropped() {
    let app = TestApp::spawn().await;
    app.say("Ev1", GIL, "1700000100.000100", "I can't reach the partner portal")
        .await;

    assert!(app.tickets().await.is_empty());
    let ephemerals = app.slack.calls_to("chat.postEphemeral");
    assert_eq!(ephemerals.len(), 1);
    assert_eq!(ephemerals[0].params["user"], GIL);
    assert_eq!(ephemerals[0].params["channel"], SUPPORT);
    let text = ephemerals[0].params["text"].as_str().unwrap();
    assert!(text.contains("guest") && text.contains("saved"), "{text}");
    assert!(app.slack.calls_to("chat.postMessage").is_empty());

    let (_, parked) = app.get("/api/v1/parked").await;
    assert_eq!(parked["parked"][0]["text"], "I can't reach the partner portal");
    assert_eq!(parked["parked"][0]["slack_user_id"], GIL);
    assert_eq!(parked["parked"][0]["reason"], "guest");
}

#[tokio::test]
async fn people_from_other_workspaces_and_unknown_users_are_parked() {
    let app = TestApp::spawn().await;
    app.slack.add_external("U0EXT", "Eve External");
    app.deliver(
        "Ev1",
        message(SUPPORT, "U0EXT", "1700000100.000100", "hello from the vendor"),
    )
    .await;
    app.deliver("Ev2", message(SUPPORT, "U0NOBODY", "1700000100.000200", "who am I"))
        .await;

    assert!(app.tickets().await.is_empty());
    let (_, parked) = app.get("/api/v1/parked").await;
    let reasons: Vec<_> = pluck(&parked["parked"], "reason");
    assert_eq!(reasons, [json!("other_workspace"), json!("other_workspace")]);
    assert_eq!(app.slack.calls_to("chat.postEphemeral").len(), 2);
}

#[tokio::test]
async fn a_guest_reply_in_a_ticket_thread_is_parked_too() {
    let app = TestApp::spawn().await;
    app.say("Ev1", ANA, "1700000100.000100", "VPN is down").await;
    app.answer("Ev2", GIL, "1700000100.000200", "1700000100.000100", "same here")
        .await;

    assert_eq!(app.ticket("IT-1").await["comments"], json!([]));
    let ephemeral = &app.slack.calls_to("chat.postEphemeral")[0];
    assert_eq!(
        ephemeral.params["thread_ts"], "1700000100.000100",
        "told in the thread they wrote in"
    );
}

#[tokio::test]
async fn a_member_without_a_visible_email_is_not_linked() {
    let app = TestApp::spawn().await;
    app.slack.add_user(json!({ "id": "U0NOMAIL", "team_id": fake_slack::TEAM, "name": "nomail", "profile": { "display_name": "No Mail" } }));
    app.deliver("Ev1", message(SUPPORT, "U0NOMAIL", "1700000100.000100", "help"))
        .await;
    assert!(app.tickets().await.is_empty());
    let text = app.slack.calls_to("chat.postEphemeral")[0].params["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("email"), "{text}");
}

#[tokio::test]
async fn users_are_looked_up_once_and_linked_by_email() {
    let app = TestApp::spawn().await;
    for n in 1..=3 {
        app.deliver(
            &format!("Ev{n}"),
            message(SUPPORT, ANA, &format!("1700000100.00010{n}"), "again"),
        )
        .await;
    }
    assert_eq!(app.tickets().await.len(), 3);
    assert_eq!(
        app.slack.calls_to("users.info").len(),
        1,
        "cached after the first lookup"
    );
    let user = app.store.slack_user(ANA).await.unwrap().unwrap();
    assert!(user.person_id.is_some(), "linked to a desk person");
    assert_eq!(user.email.as_deref(), Some("ana@acme.example"));
}

#[tokio::test]
async fn when_users_info_fails_the_message_waits_and_is_filed_once_slack_answers() {
    let app = TestApp::spawn().await;
    app.slack.fail("users.info", 1, Failure::ServerError);
    app.send_ok("Ev1", message(SUPPORT, ANA, "1700000100.000100", "first"))
        .await;
    app.send_ok(
        "Ev2",
        reply(SUPPORT, ANA, "1700000100.000200", "1700000100.000100", "second"),
    )
    .await;
    app.drain().await;

    let ticket = app.ticket("IT-1").await;
    assert_eq!(ticket["summary"], "first");
    assert_eq!(
        ticket["comments"][0]["body"], "second",
        "the reply waited for its ticket"
    );
}
