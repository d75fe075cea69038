//! The admin API: token-protected, validated, and answering in one error format.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_route_needs_the_admin_token() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        ("GET", "/api/v1/projects"),
        ("PUT", "/api/v1/projects/HR"),
        ("GET", "/api/v1/channels"),
        ("GET", "/api/v1/channels/C0SUPPORT"),
        ("PUT", "/api/v1/channels/C0NEW"),
        ("DELETE", "/api/v1/channels/C0SUPPORT"),
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/IT-1"),
        ("GET", "/api/v1/outbox"),
        ("GET", "/api/v1/parked"),
    ] {
        for token in [None, Some("wrong-token")] {
            let mut request = app
                .http
                .request(method.parse().unwrap(), format!("{}{path}", app.addr))
                .json(&json!({ "name": "x" }));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    assert_eq!(
        app.get("/api/v1/channels/C0SUPPORT").await.0,
        200,
        "the channel is still there"
    );
}

#[tokio::test]
async fn without_a_configured_token_the_admin_api_is_off() {
    let app = TestApp::spawn_with(|config| config.admin_token = None).await;
    let (status, body) = app.get("/api/v1/projects").await;
    assert_eq!(status, 404);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("DESKHAND_ADMIN_TOKEN"));
}

#[tokio::test]
async fn projects_are_created_renamed_and_listed() {
    let app = TestApp::spawn_bare().await;
    let created = app
        .admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Help" }))
        .await;
    assert_eq!(created["key"], "IT");
    app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Service Desk" }))
        .await;
    app.admin_ok("PUT", "/api/v1/projects/HR", json!({ "name": "People" }))
        .await;

    let (_, list) = app.get("/api/v1/projects").await;
    let names: Vec<_> = pluck(&list["projects"], "name");
    assert_eq!(names, [json!("People"), json!("IT Service Desk")]);

    let (status, body) = app
        .admin("PUT", "/api/v1/projects/it-help", Some(json!({ "name": "x" })))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid")));
    let (status, _) = app
        .admin("PUT", "/api/v1/projects/OPS", Some(json!({ "name": "  " })))
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn malformed_json_is_a_400_in_the_api_error_format() {
    let app = TestApp::spawn_bare().await;
    let response = app
        .http
        .put(format!("{}/api/v1/projects/IT", app.addr))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn channels_are_bound_read_and_unbound() {
    let app = TestApp::spawn_bare().await;
    app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Help" }))
        .await;

    let support = app
        .admin_ok(
            "PUT",
            "/api/v1/channels/C0SUPPORT",
            json!({ "kind": "support", "project": "IT", "agent_channel": "C0AGENTS", "auto_create": true, "thread_sync": false }),
        )
        .await;
    assert_eq!(support["project"], "IT");
    assert_eq!(support["thread_sync"], false);
    assert_eq!(support["announcement_marker"], ":megaphone:");

    let (status, agents) = app.get("/api/v1/channels/C0AGENTS").await;
    assert_eq!(
        (status, agents["kind"].as_str()),
        (200, Some("agent")),
        "the agent channel is bound with it"
    );

    let (status, body) = app.admin("DELETE", "/api/v1/channels/C0AGENTS", None).await;
    assert_eq!(status, 409, "still used by C0SUPPORT: {body}");

    let (status, _) = app.admin("DELETE", "/api/v1/channels/C0SUPPORT", None).await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/api/v1/channels/C0SUPPORT").await.0, 404);
    assert_eq!(app.admin("DELETE", "/api/v1/channels/C0SUPPORT", None).await.0, 404);
    assert_eq!(app.admin("DELETE", "/api/v1/channels/C0AGENTS", None).await.0, 204);
    let (_, list) = app.get("/api/v1/channels").await;
    assert_eq!(list["channels"], json!([]));
}

#[tokio::test]
async fn invalid_channel_settings_are_refused() {
    let app = TestApp::spawn_bare().await;
    app.admin_ok("PUT", "/api/v1/projects/IT", json!({ "name": "IT Help" }))
        .await;
    for (path, body) in [
        ("/api/v1/channels/C0X", json!({ "kind": "support" })),
        ("/api/v1/channels/C0X", json!({ "kind": "support", "project": "NOPE" })),
        ("/api/v1/channels/C0X", json!({ "kind": "lobby" })),
        ("/api/v1/channels/not-a-channel", json!({ "kind": "agent" })),
        ("/api/v1/channels/C0X", json!({ "kind": "agent", "project": "IT" })),
        (
            "/api/v1/channels/C0X",
            json!({ "kind": "support", "project": "IT", "agent_channel": "C0X" }),
        ),
    ] {
        let (status, answer) = app.admin("PUT", path, Some(body.clone())).await;
        assert!(matches!(status, 400 | 409 | 422), "{path} {body}: {status} {answer}");
        assert!(answer["error"]["message"].is_string());
    }
    let (status, _) = app
        .admin(
            "PUT",
            "/api/v1/channels/C0X",
            Some(json!({ "kind": "support", "project": "IT", "colour": "red" })),
        )
        .await;
    assert_eq!(status, 422, "unknown fields are refused, not ignored");
    let (_, list) = app.get("/api/v1/channels").await;
    assert_eq!(list["channels"], json!([]));
}

#[tokio::test]
async fn tickets_are_listed_by_project_newest_first() {
    let app = TestApp::spawn().await;
    app.admin_ok("PUT", "/api/v1/projects/HR", json!({ "name": "People" }))
        .await;
    app.admin_ok(
        "PUT",
        "/api/v1/channels/C0PEOPLE",
        json!({ "kind": "support", "project": "HR" }),
    )
    .await;
    app.say("Ev1", ANA, "1700000100.000100", "one").await;
    app.deliver("Ev2", message("C0PEOPLE", ANA, "1700000100.000200", "payroll"))
        .await;
    app.say("Ev3", ANA, "1700000100.000300", "two").await;

    let (_, it) = app.get("/api/v1/tickets?project=IT").await;
    let keys: Vec<_> = pluck(&it["tickets"], "key");
    assert_eq!(keys, [json!("IT-2"), json!("IT-1")]);
    let (_, hr) = app.get("/api/v1/tickets?project=HR").await;
    assert_eq!(hr["tickets"][0]["key"], "HR-1");
    let (_, page) = app.get("/api/v1/tickets?limit=1").await;
    assert_eq!(page["tickets"].as_array().unwrap().len(), 1);
    let before = page["next_before"].as_i64().unwrap();
    let (_, next) = app.get(&format!("/api/v1/tickets?limit=5&before={before}")).await;
    assert_eq!(next["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/v1/tickets/IT-99").await.0, 404);
    let (status, body) = app.get("/api/v1/tickets?limit=lots").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "query errors are in the API format"
    );
}

#[tokio::test]
async fn the_openapi_description_is_served_and_names_every_route() {
    let app = TestApp::spawn_bare().await;
    let spec: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/projects",
        "/projects/{key}",
        "/projects/{key}/departments",
        "/projects/{key}/departments/{slug}",
        "/reports/response-times",
        "/reports/satisfaction",
        "/doctor",
        "/channels",
        "/channels/{channel_id}",
        "/tickets",
        "/tickets/{key}",
        "/outbox",
        "/inbox",
        "/parked",
        "/customers",
        "/customers/{customer}",
        "/organizations",
        "/organizations/{id}",
        "/organizations/{id}/members/{customer}",
        "/projects/{key}/followers",
        "/projects/{key}/messages",
        "/tickets/{key}/participants",
        "/tickets/{key}/participants/{person}",
    ] {
        assert!(spec["paths"][path].is_object(), "openapi.json documents {path}");
    }
}
