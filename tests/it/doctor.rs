//! `deskhand doctor` and `GET /api/v1/doctor`: one finding a check, and what to fix.

use serde_json::{json, Value};

use crate::support::*;

const FIONA: &str = "U0FIONA";

fn findings(report: &Value) -> Vec<(String, bool, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["ok"].as_bool().unwrap(),
                f["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_doctor_says_what_is_wrong_one_line_each() {
    let app = TestApp::spawn().await;
    app.slack.add_member(FIONA, "Fiona Facilitator", "fiona@acme.example");
    app.admin_ok(
        "PUT",
        &format!("/api/v1/channels/{SUPPORT}/facilitator"),
        json!({ "slack_user_id": FIONA }),
    )
    .await;
    let healthy = app.get("/api/v1/doctor").await.1;
    assert_eq!(healthy["ok"], true, "{healthy}");
    let checks: Vec<String> = findings(&healthy).into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(
        checks,
        [
            "database",
            "slack token",
            "scopes",
            &format!("channel {AGENTS}"),
            &format!("channel {SUPPORT}"),
            &format!("facilitator of {SUPPORT}"),
        ]
    );

    app.slack.set_scopes(&["chat:write", "users:read"]);
    app.slack.remove_bot_from(SUPPORT);
    app.slack.add_user(json!({
        "id": FIONA, "team_id": fake_slack::TEAM, "name": "fiona", "deleted": true,
        "profile": { "email": "fiona@acme.example", "real_name": "Fiona Facilitator" },
    }));
    let sick = app.get("/api/v1/doctor").await.1;
    assert_eq!(sick["ok"], false);
    let wrong: Vec<(String, String)> = findings(&sick)
        .into_iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(c, _, d)| (c, d))
        .collect();
    assert_eq!(wrong.len(), 3, "{wrong:?}");
    assert!(
        wrong[0].1.contains("lacks channels:history") && wrong[0].1.contains("reactions:write"),
        "{wrong:?}"
    );
    assert!(wrong[1].1.contains("/invite @deskhand in <#C0SUPPORT>"), "{wrong:?}");
    assert!(
        wrong[2].1.contains("can no longer facilitate (deactivated)"),
        "{wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deskhand_doctor_prints_each_finding_and_exits_1_on_any_problem() {
    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    let env = process::env(db.url(), &slack);
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = process::run(&["migrate"], &borrowed, dir.path());
    assert_eq!(code, 0);
    let output = |args: &[&str]| {
        let out = std::process::Command::new(process::BINARY)
            .args(args)
            .env_clear()
            .envs(borrowed.iter().copied())
            .current_dir(dir.path())
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, printed) = output(&["doctor"]);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.lines().all(|l| l.starts_with("ok ")), "{printed}");
    assert!(
        printed.contains("ok   slack token: Slack accepts deskhand's token (workspace T0TEAM)"),
        "{printed}"
    );

    slack.set_scopes(&["chat:write"]);
    let (code, printed) = output(&["doctor"]);
    assert_eq!(code, Some(1), "{printed}");
    let fix: Vec<&str> = printed.lines().filter(|l| l.starts_with("FIX")).collect();
    assert_eq!(fix.len(), 1, "{printed}");
    assert!(
        fix[0].starts_with("FIX  scopes: the token lacks channels:history"),
        "{printed}"
    );
}
