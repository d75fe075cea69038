//! The admin pages: channels with their facilitator (authorize, revoke), projects (their
//! portal and who follows them), customers, organizations and managed domains; only help-
//! desk admins reach them.

use serde_json::json;

use crate::portal::{csrf, link_in, Browser, ORIGIN};
use crate::support::*;

const FIONA: &str = "U0FIONA";

/// `user` signed in through `/desk portal`.
async fn signed_in(app: &TestApp, user: &str, trigger: &str) -> Browser {
    assert_eq!(app.slash(user, SUPPORT, "portal", trigger).await, 200);
    app.drain().await;
    let link = link_in(&app.answer_to(trigger));
    let mut browser = Browser::new(app);
    assert_eq!(browser.post(&link, ORIGIN, &[]).await.status, 303);
    browser
}

#[tokio::test]
async fn an_admin_sets_up_channels_projects_and_customers_from_the_admin_pages() {
    let app = TestApp::spawn().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [BO] })).await;
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    let mut bo = signed_in(&app, BO, "t-bo").await;
    assert!(
        app.answer_to("t-bo").contains("/portal/admin"),
        "admins are told where the admin pages are"
    );

    let page = bo.get("/portal/admin").await;
    assert_eq!(
        (page.status, page.location.as_deref()),
        (303, Some("/portal/admin/channels"))
    );
    let channels = bo.get("/portal/admin/channels").await;
    assert_eq!(channels.status, 200);
    assert!(channels.body.contains(SUPPORT) && channels.body.contains(AGENTS) && channels.body.contains("Authorize"));
    let token = csrf(&channels);
    let path = format!("/portal/admin/channels/{SUPPORT}/facilitator");
    assert_eq!(
        bo.post(&path, ORIGIN, &[("user", FIONA)]).await.status,
        403,
        "no form token"
    );
    let authorized = bo.post(&path, ORIGIN, &[("user", FIONA), ("csrf", &token)]).await;
    assert_eq!(authorized.status, 303);
    let channel = app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1;
    assert_eq!(channel["facilitator"]["slack_user_id"], FIONA, "{channel}");
    let channels = bo.get(&authorized.location.unwrap()).await;
    assert!(
        channels.body.contains("now files for guests") && channels.body.contains("Revoke"),
        "{}",
        channels.body
    );
    let revoked = bo
        .post(
            &format!("/portal/admin/channels/{SUPPORT}/revoke"),
            ORIGIN,
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert!(app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["facilitator"].is_null());
    // A refusal is said on the page, and changes nothing.
    let guest = bo.post(&path, ORIGIN, &[("user", GIL), ("csrf", &token)]).await;
    let said = bo.get(&guest.location.unwrap()).await.body;
    assert!(said.contains("guest") || said.contains("cannot"), "{said}");
    assert!(app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["facilitator"].is_null());

    let customers = bo.get("/portal/admin/customers").await;
    assert_eq!(customers.status, 200);
    let added = bo
        .post(
            "/portal/admin/customers",
            ORIGIN,
            &[("email", "carla@client.example"), ("name", "Carla"), ("csrf", &token)],
        )
        .await;
    assert_eq!(added.status, 303);
    bo.post(
        "/portal/admin/organizations",
        ORIGIN,
        &[("name", "Client Co"), ("csrf", &token)],
    )
    .await;
    bo.post(
        "/portal/admin/domains",
        ORIGIN,
        &[("domains", "example.edu, acme.io"), ("csrf", &token)],
    )
    .await;
    let customers = bo.get("/portal/admin/customers").await;
    assert!(customers.body.contains("carla@client.example") && customers.body.contains("Client Co"));
    let org = app.get("/api/v1/organizations").await.1["organizations"][0]["id"]
        .as_i64()
        .unwrap();
    let member = bo
        .post(
            &format!("/portal/admin/organizations/{org}/members"),
            ORIGIN,
            &[("email", "carla@client.example"), ("csrf", &token)],
        )
        .await;
    assert_eq!(member.status, 303);
    let members = app.get(&format!("/api/v1/organizations/{org}")).await.1["members"].clone();
    assert_eq!(members[0]["email"], "carla@client.example");
    let carla = members[0]["id"].as_i64().unwrap();
    bo.post(
        &format!("/portal/admin/organizations/{org}/members/{carla}/remove"),
        ORIGIN,
        &[("csrf", &token)],
    )
    .await;
    assert!(app.get(&format!("/api/v1/organizations/{org}")).await.1["members"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        app.get("/api/v1/settings").await.1["managed_domains"],
        json!(["example.edu", "acme.io"])
    );

    let projects = bo.get("/portal/admin/projects").await;
    assert!(projects.body.contains("IT: IT Help"), "{}", projects.body);
    let saved = bo
        .post(
            "/portal/admin/projects/IT",
            ORIGIN,
            &[
                ("mode", "private"),
                ("visibility", "followed"),
                ("show_department", "on"),
                ("shared", "carla@client.example, Client Co"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(saved.status, 303);
    let project = app.get("/api/v1/projects/IT").await.1;
    assert_eq!(project["portal"]["mode"], "private", "{project}");
    assert_eq!(project["portal"]["visibility"], "followed");
    assert_eq!(
        project["portal"]["fields"],
        json!(["department"]),
        "only the ticked fields"
    );
    let followers = app.get("/api/v1/projects/IT/followers").await.1;
    assert_eq!(followers["customers"][0]["email"], "carla@client.example");
    assert_eq!(followers["organizations"][0]["name"], "Client Co");
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(audit.to_string().contains("\"portal\""), "audited as from the portal");
    let removed = bo
        .post(
            &format!("/portal/admin/organizations/{org}/remove"),
            ORIGIN,
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert!(app.get("/api/v1/organizations").await.1["organizations"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn agents_and_requesters_get_the_same_404_as_a_missing_page() {
    let app = TestApp::spawn().await;
    app.slack.set_members(AGENTS, &[BO]);
    for (user, trigger) in [(ANA, "t-ana"), (BO, "t-bo")] {
        let mut browser = signed_in(&app, user, trigger).await;
        for page in [
            "/portal/admin",
            "/portal/admin/channels",
            "/portal/admin/customers",
            "/portal/admin/projects",
        ] {
            assert_eq!(browser.get(page).await.status, 404, "{user} on {page}");
        }
        let token = csrf(&browser.get("/portal").await);
        let path = format!("/portal/admin/channels/{SUPPORT}/facilitator");
        assert_eq!(
            browser
                .post(&path, ORIGIN, &[("user", BO), ("csrf", &token)])
                .await
                .status,
            404
        );
    }
    assert!(app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1["facilitator"].is_null());
    let mut nobody = Browser::new(&app);
    assert_eq!(
        nobody.get("/portal/admin/channels").await.status,
        303,
        "signed out: to the sign-in page"
    );
}

#[tokio::test]
async fn an_admin_signs_in_by_email_at_their_slack_address() {
    let sink = crate::support::fakes::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_set_up(|config| config.smtp_url = Some(deskhand::config::Secret::new(url))).await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [BO] })).await;
    // deskhand meets Bo (and Ana, who is no admin) when they write.
    app.say("EvT1", BO, "1700001000.000100", "Test from Bo").await;
    app.say("EvT2", ANA, "1700001001.000100", "Test from Ana").await;
    let mut browser = Browser::new(&app);
    for email in ["ana@acme.example", "bo@acme.example"] {
        assert_eq!(
            browser
                .post("/portal/sign-in", ORIGIN, &[("email", email)])
                .await
                .status,
            200
        );
    }
    app.drain().await;
    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "only the admin's address gets a link");
    assert_eq!(mail[0].to, ["bo@acme.example"]);
    assert_eq!(browser.post(&link_in(&mail[0].data), ORIGIN, &[]).await.status, 303);
    assert_eq!(browser.get("/portal/admin/channels").await.status, 200);

    // A customer who signs in reaches no admin page.
    let (status, _) = app
        .admin(
            "POST",
            "/api/v1/customers",
            Some(json!({ "email": "carla@client.example" })),
        )
        .await;
    assert_eq!(status, 201);
    let mut carla = Browser::new(&app);
    carla
        .post("/portal/sign-in", ORIGIN, &[("email", "carla@client.example")])
        .await;
    app.drain().await;
    let mail = sink.wait_for(2).await;
    assert_eq!(carla.post(&link_in(&mail[1].data), ORIGIN, &[]).await.status, 303);
    assert_eq!(carla.get("/portal").await.status, 200);
    assert_eq!(carla.get("/portal/admin/customers").await.status, 404);
}

#[tokio::test]
async fn desk_admin_links_to_the_admin_pages() {
    let app = TestApp::spawn().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [BO] })).await;
    assert_eq!(app.slash(BO, SUPPORT, "admin", "t-admin-modal").await, 200);
    app.drain().await;
    let modal = app.slack.last_view().view.to_string();
    let link = link_in(&modal);
    let mut browser = Browser::new(&app);
    let signed = browser.post(&link, ORIGIN, &[]).await;
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/portal/admin"))
    );
    assert_eq!(browser.get("/portal/admin/channels").await.status, 200);
}
