//! Customers known by email, managed domains, organizations, sharing projects with them,
//! and announcements that reach every follower in Slack or by mail.

use serde_json::{json, Value};

use crate::support::fakes::smtp::SmtpSink;
use crate::support::*;

const FRANK: &str = "U0FRANK";

async fn follows(app: &TestApp, who: &str) -> Value {
    app.get(&format!("/api/v1/customers/{who}")).await.1["follows"].clone()
}

async fn add(app: &TestApp, body: Value) -> (u16, Value) {
    app.admin("POST", "/api/v1/customers", Some(body)).await
}

fn emails(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_customer_is_added_once_by_address_and_a_slack_member_is_not_added_again() {
    let app = TestApp::spawn().await;
    let (status, carla) = add(
        &app,
        json!({ "email": "  Carla@Client.Example ", "name": "Carla Client" }),
    )
    .await;
    assert_eq!(status, 201, "{carla}");
    assert_eq!(carla["email"], "carla@client.example");
    assert_eq!(carla["name"], "Carla Client");
    assert!(carla["slack_user_id"].is_null());

    let (status, again) = add(&app, json!({ "email": "carla@client.example" })).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "exists");
    assert_eq!(again["existing"]["kind"], "customer");
    assert_eq!(again["link"], format!("/api/v1/customers/{}", carla["id"]));

    // Ana is in Slack with this address (deskhand has never met her: Slack is asked).
    let (status, member) = add(&app, json!({ "email": "ANA@acme.example" })).await;
    assert_eq!(status, 409, "{member}");
    assert_eq!(member["existing"]["kind"], "slack_member");
    assert_eq!(member["existing"]["slack_user_id"], ANA);
    assert!(member["error"]["message"].as_str().unwrap().contains("Ana Lima"));

    for bad in [
        json!({ "email": "not an address" }),
        json!({ "email": "dan@client.example", "name": "Dan\u{0}" }),
        json!({ "email": "dan@client.example", "organization": "Nowhere Inc" }),
        json!({ "email": "dan@client.example", "colour": "blue" }),
    ] {
        let (status, body) = add(&app, bad.clone()).await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
    }
    let (_, list) = app.get("/api/v1/customers").await;
    assert_eq!(emails(&list["customers"]), ["carla@client.example"]);
    let (status, _) = app.get("/api/v1/customers/carla@client.example").await;
    assert_eq!(status, 200, "a customer is found by address too");
    let (status, _) = app
        .admin("DELETE", &format!("/api/v1/customers/{}", carla["id"]), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.get(&format!("/api/v1/customers/{}", carla["id"])).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn agents_add_customers_from_slack_but_only_admins_add_a_managed_domain() {
    let app = TestApp::spawn().await;
    app.slack.set_members(AGENTS, &[BO]);
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/settings",
            Some(json!({ "managed_domains": ["bad domain"] })),
        )
        .await;
    assert_eq!(status, 422);
    let (status, settings) = app
        .admin(
            "PUT",
            "/api/v1/settings",
            Some(json!({ "managed_domains": ["Example.EDU"] })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["managed_domains"], json!(["example.edu"]));

    assert_eq!(
        app.slash(BO, SUPPORT, "customer add dana@cs.example.edu Dana", "t-managed")
            .await,
        200
    );
    app.drain().await;
    let refused = app.answer_to("t-managed");
    assert!(
        refused.contains("managed domain") && refused.contains("example.edu") && refused.contains("admin"),
        "{refused}"
    );
    assert!(app.get("/api/v1/customers").await.1["customers"]
        .as_array()
        .unwrap()
        .is_empty());

    assert_eq!(
        app.slash(BO, SUPPORT, "customer add Eve@Client.Example Eve Smith", "t-eve")
            .await,
        200
    );
    app.drain().await;
    assert!(
        app.answer_to("t-eve").contains("Added Eve Smith <eve@client.example>"),
        "{}",
        app.answer_to("t-eve")
    );
    assert_eq!(
        app.slash(BO, SUPPORT, "customer add eve@client.example", "t-eve-2")
            .await,
        200
    );
    app.drain().await;
    assert!(
        app.answer_to("t-eve-2").contains("already a customer"),
        "{}",
        app.answer_to("t-eve-2")
    );
    assert_eq!(
        app.slash(ANA, SUPPORT, "customer add zed@client.example", "t-ana")
            .await,
        200
    );
    app.drain().await;
    assert!(
        app.answer_to("t-ana").contains("Only agents"),
        "{}",
        app.answer_to("t-ana")
    );

    // The admin API may add a managed domain's people.
    let (status, dana) = add(&app, json!({ "email": "dana@cs.example.edu" })).await;
    assert_eq!(status, 201, "{dana}");
    let (_, list) = app.get("/api/v1/customers").await;
    assert_eq!(
        emails(&list["customers"]),
        ["dana@cs.example.edu", "eve@client.example"]
    );
    assert_eq!(list["customers"][1]["created_by"], BO);
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(audit.to_string().contains("customer_added"), "{audit}");
}

#[tokio::test]
async fn a_project_shared_with_an_organization_reaches_its_members_now_and_later() {
    let app = TestApp::spawn().await;
    for email in ["c1@client.example", "c2@client.example", "c3@other.example"] {
        assert_eq!(add(&app, json!({ "email": email })).await.0, 201);
    }
    let (status, org) = app
        .admin(
            "POST",
            "/api/v1/organizations",
            Some(json!({ "name": "Client Co", "members": ["c1@client.example"] })),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    assert_eq!(emails(&org["members"]), ["c1@client.example"]);
    let (status, _) = app
        .admin("POST", "/api/v1/organizations", Some(json!({ "name": "client co" })))
        .await;
    assert_eq!(status, 409, "two organizations are never named alike");
    let org_id = org["id"].as_i64().unwrap();

    let shared = app
        .admin_ok(
            "PUT",
            "/api/v1/projects/IT/followers",
            json!({ "customers": ["c3@other.example"], "organizations": ["Client Co"] }),
        )
        .await;
    assert_eq!(emails(&shared["customers"]), ["c3@other.example"]);
    assert_eq!(shared["organizations"][0]["name"], "Client Co");
    let (_, followers) = app.get("/api/v1/projects/IT/followers").await;
    assert_eq!(followers, shared);

    assert_eq!(
        follows(&app, "c1@client.example").await,
        json!(["IT"]),
        "through the organization"
    );
    assert_eq!(follows(&app, "c2@client.example").await, json!([]));
    // Someone who joins the organization later follows what it follows.
    let (status, _) = app
        .admin(
            "PUT",
            &format!("/api/v1/organizations/{org_id}/members/c2@client.example"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(follows(&app, "c2@client.example").await, json!(["IT"]));
    let (_, org) = app.get(&format!("/api/v1/organizations/{org_id}")).await;
    assert_eq!(org["follows"], json!(["IT"]));
    assert_eq!(emails(&org["members"]), ["c1@client.example", "c2@client.example"]);
    let (status, _) = app
        .admin(
            "DELETE",
            &format!("/api/v1/organizations/{org_id}/members/c2@client.example"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(follows(&app, "c2@client.example").await, json!([]));

    let (status, body) = app
        .admin(
            "PUT",
            "/api/v1/projects/IT/followers",
            Some(json!({ "customers": ["nobody@x.example"] })),
        )
        .await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("nobody@x.example"));
    let (status, _) = app
        .admin("PUT", "/api/v1/projects/NOPE/followers", Some(json!({})))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_announcement_reaches_followers_in_slack_when_they_are_members_and_by_mail_otherwise() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await;
    for email in ["frank@client.example", "carla@client.example"] {
        assert_eq!(add(&app, json!({ "email": email })).await.0, 201);
    }
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT/followers",
        json!({ "customers": ["frank@client.example", "carla@client.example"] }),
    )
    .await;
    // Frank joins Slack with the same address, and writes in the support channel: he is
    // that customer.
    app.slack.add_member(FRANK, "Frank Client", "Frank@client.example");
    app.say("EvF1", FRANK, "1700000400.000100", "Hello, I am new here")
        .await;
    let (_, frank) = app.get("/api/v1/customers/frank@client.example").await;
    assert_eq!(frank["slack_user_id"], FRANK);

    let (status, sent) = app
        .admin(
            "POST",
            "/api/v1/projects/IT/messages",
            Some(json!({ "text": "The VPN is down for maintenance tonight." })),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        (sent["in_slack"].as_i64(), sent["by_email"].as_i64()),
        (Some(1), Some(1))
    );
    app.drain().await;
    let dm = app.slack.messages_in(&fake_slack::dm_channel(FRANK));
    assert!(
        dm.iter().any(|m| m.text.contains("VPN is down for maintenance")),
        "Frank has it by DM: {dm:?}"
    );
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0].to, ["carla@client.example"]);
    assert!(mail[0].data.contains("VPN is down for maintenance"), "{}", mail[0].data);

    let (status, _) = app
        .admin("POST", "/api/v1/projects/IT/messages", Some(json!({ "text": "  " })))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn without_mail_an_announcement_says_whom_it_could_not_reach() {
    let app = TestApp::spawn().await;
    assert_eq!(add(&app, json!({ "email": "carla@client.example" })).await.0, 201);
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT/followers",
        json!({ "customers": ["carla@client.example"] }),
    )
    .await;
    let (status, sent) = app
        .admin(
            "POST",
            "/api/v1/projects/IT/messages",
            Some(json!({ "text": "Office closed Friday." })),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(sent["unreachable"], json!(["carla@client.example"]));
    assert_eq!(sent["by_email"], 0);
}
