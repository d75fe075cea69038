//! Starting deskhand: configuration errors are one clear line and exit 1; `migrate` only
//! migrates; secrets never reach the logs.

use crate::support::process;

/// `deskhand serve` with this environment, in `dir`, stops at once with exactly `line`.
fn assert_refused(env: &[(&str, &str)], dir: &std::path::Path, line: &str) {
    let (code, stderr) = process::run(&["serve"], env, dir);
    assert_eq!((code, stderr.trim()), (1, line));
}

#[test]
fn a_missing_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        &[("SLACK_BOT_TOKEN", "xoxb-1")],
        dir.path(),
        "deskhand: configuration: SLACK_SIGNING_SECRET is required but not set",
    );

    assert_refused(
        &[("SLACK_SIGNING_SECRET", "s3cret-value")],
        dir.path(),
        "deskhand: configuration: SLACK_BOT_TOKEN is required but not set",
    );
}

#[test]
fn an_invalid_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SLACK_SIGNING_SECRET", "s3cret-value"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("DATABASE_URL", "mysql://nope"),
    ];
    let (code, stderr) = process::run(&["serve"], &env, dir.path());
    assert_eq!(code, 1);
    assert!(
        stderr
            .trim()
            .starts_with("deskhand: configuration: DATABASE_URL is invalid"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
    assert!(!stderr.contains("s3cret-value"));
}

#[test]
fn migrate_creates_the_default_sqlite_database_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = process::run(&["migrate"], &[], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("deskhand.db").exists(), "deskhand.db is the default");
    let (code, _) = process::run(&["migrate"], &[], dir.path());
    assert_eq!(code, 0, "migrating twice is fine");
    let (code, stderr) = process::run(&["migrate"], &[("DATABASE_URL", "mysql://db")], dir.path());
    assert_eq!(code, 1);
    assert_eq!(
        stderr.trim(),
        "deskhand: configuration: DATABASE_URL is invalid: must start with sqlite: or postgres://"
    );
}

#[test]
fn settings_come_from_deskhand_toml_when_the_environment_has_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deskhand.toml"),
        "slack_signing_secret = \"from-file\"\ndatabase_url = \"postgres://\"\nlisten = \"nonsense\"\n",
    )
    .unwrap();
    assert_refused(
        &[("SLACK_BOT_TOKEN", "xoxb-1")],
        dir.path(),
        "deskhand: configuration: DESKHAND_LISTEN is invalid: \"nonsense\" is not an address to listen on: \
         give an IP address and a port, as 0.0.0.0:3000, 127.0.0.1:3000 or [::]:3000 (localhost:3000 works too)",
    );
}

#[test]
fn an_unknown_key_in_deskhand_toml_is_an_error_not_a_silent_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deskhand.toml"), "admin_tokn = \"x\"\n").unwrap();
    let env = [("SLACK_SIGNING_SECRET", "s"), ("SLACK_BOT_TOKEN", "xoxb-1")];
    assert_refused(
        &env,
        dir.path(),
        "deskhand: configuration: cannot read deskhand.toml: unknown setting \"admin_tokn\"",
    );
    std::fs::write(dir.path().join("deskhand.toml"), "SLACK_BOT_TOKEN = \"xoxb-1\"\n").unwrap();
    assert_refused(
        &env[..1],
        dir.path(),
        "deskhand: configuration: cannot read deskhand.toml: unknown setting \"SLACK_BOT_TOKEN\": \
         in the file, SLACK_BOT_TOKEN is written slack_bot_token",
    );
}

#[tokio::test]
async fn a_bad_signature_is_logged_without_secrets() {
    use crate::support::{
        envelope, message, now_secs, process::Server, sign, FakeSlack, TestDb, SIGNING_SECRET, SUPPORT,
    };

    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    // At the default level, info: nothing logged at any level may show a secret.
    let env = process::env(db.url(), &slack);
    let (log_path, log) = {
        let dir = tempfile::tempdir().unwrap();
        (dir.path().join("deskhand.log"), dir)
    };
    let server = Server::start_logging_to(&env, &log_path);
    let body = envelope("Ev1", message(SUPPORT, "U1", "1.1", "hello")).to_string();
    let forged = sign("not-the-secret", now_secs(), &body);
    let status = reqwest::Client::new()
        .post(format!("{}/slack/events", server.addr))
        .header("x-slack-request-timestamp", now_secs().to_string())
        .header("x-slack-signature", &forged)
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    server.kill_9();

    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("refused a request that is not from Slack"), "{logged}");
    for secret in [
        SIGNING_SECRET,
        "xoxb-test-token",
        crate::support::ADMIN_TOKEN,
        forged.as_str(),
    ] {
        assert!(!logged.contains(secret), "the log shows {secret}: {logged}");
    }
    drop(log);
}

#[tokio::test]
async fn a_second_process_on_one_sqlite_file_is_refused_and_the_first_serves_on() {
    use crate::support::{process::Server, FakeSlack, TestDb};

    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    let env = process::env(db.url(), &slack);
    let first = Server::start(&env);
    let dir = tempfile::tempdir().unwrap();
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for command in ["serve", "migrate"] {
        let (code, stderr) = process::run(&[command], &borrowed, dir.path());
        assert_eq!(code, 1, "{command}: {stderr}");
        assert!(
            stderr.contains("another deskhand process is using"),
            "{command}: {stderr}"
        );
    }
    let ready = reqwest::get(format!("{}/readyz", first.addr)).await.unwrap();
    assert_eq!(ready.status(), 200, "the first one still serves");
    first.kill_9();
    // Once it is gone, the database can be used again.
    let (code, stderr) = process::run(&["migrate"], &borrowed, dir.path());
    assert_eq!(code, 0, "{stderr}");
}

/// What deskhand says in the first seconds, as a new user would run it: one line naming a
/// placeholder token, a refused token, or an API URL that is not Slack's.
#[tokio::test]
async fn the_first_lines_say_what_is_wrong_with_the_slack_setup() {
    use crate::support::{process::Server, Failure, FakeSlack, TestDb};

    let slack = FakeSlack::start().await;
    slack.fail("auth.test", 1, Failure::SlackError("invalid_auth"));
    let cases: [(&str, String, &str); 4] = [
        (
            "SLACK_BOT_TOKEN",
            "xoxb-change-me".into(),
            "SLACK_BOT_TOKEN is a placeholder",
        ),
        (
            "SLACK_BOT_TOKEN",
            "xoxb-1234567890-real".into(),
            "Slack refused SLACK_BOT_TOKEN",
        ),
        (
            "SLACK_API_URL",
            format!("{}/nowhere", slack.api_url()),
            "SLACK_API_URL does not answer as the Slack Web API",
        ),
        (
            "SLACK_BOT_TOKEN",
            "xoxb-1234567890-real".into(),
            "Slack accepts deskhand's token",
        ),
    ];
    for (name, value, says) in cases {
        let db = TestDb::sqlite();
        let mut env = process::env(db.url(), &slack);
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("deskhand.log");
        let server = Server::start_logging_to(&env, &log_path);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let logged = loop {
            let logged = std::fs::read_to_string(&log_path).unwrap_or_default();
            if logged.contains(says) || std::time::Instant::now() > deadline {
                break logged;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        server.kill_9();
        assert!(logged.contains(says), "{name}: expected {says:?} in {logged}");
        assert_eq!(logged.matches(says).count(), 1, "said once: {logged}");
    }
}

/// `deskhand backup PATH` copies a live SQLite database consistently, and never over a file.
#[tokio::test]
async fn backup_copies_a_live_sqlite_database() {
    use crate::support::{process::Server, FakeSlack, TestDb, ADMIN_TOKEN};

    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    let env = process::env(db.url(), &slack);
    let server = Server::start(&env);
    let status = reqwest::Client::new()
        .put(format!("{}/api/v1/projects/IT", server.addr))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({ "name": "IT Help" }))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success());

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    let copy_arg = copy.to_str().unwrap();
    let url_env = [("DATABASE_URL", db.url())];
    let (code, stderr) = process::run(&["backup", copy_arg], &url_env, dir.path());
    assert_eq!(code, 0, "{stderr}");
    server.kill_9();
    let copied = deskhand::store::Store::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    let projects = copied.projects().await.unwrap();
    assert_eq!(projects.len(), 1, "the copy holds what was committed");
    assert_eq!(projects[0].name, "IT Help");
    copied.close().await;

    let (code, stderr) = process::run(&["backup", copy_arg], &url_env, dir.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("exists already"), "{stderr}");
}

/// `DESKHAND_LOG_FORMAT=json`: one JSON object a line, with each event's fields.
#[tokio::test]
async fn logs_can_be_json_for_a_log_collector() {
    use crate::support::{process::Server, FakeSlack, TestDb};

    let db = TestDb::sqlite();
    let slack = FakeSlack::start().await;
    let mut env = process::env(db.url(), &slack);
    env.push(("DESKHAND_LOG_FORMAT", "json".into()));
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("deskhand.log");
    let server = Server::start_logging_to(&env, &log_path);
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/api/v1/projects/IT", serde_json::json!({ "name": "IT Help" })),
        (
            "/api/v1/channels/C0SUPPORT",
            serde_json::json!({ "kind": "support", "project": "IT" }),
        ),
    ] {
        let put = http
            .put(format!("{}{path}", server.addr))
            .bearer_auth(crate::support::ADMIN_TOKEN);
        assert!(put.json(&body).send().await.unwrap().status().is_success());
    }
    slack.add_member("U0ANA", "Ana Lima", "ana@acme.example");
    let body = crate::support::envelope(
        "EvJ1",
        crate::support::message("C0SUPPORT", "U0ANA", "1700000100.000100", "VPN is down"),
    )
    .to_string();
    let timestamp = crate::support::now_secs();
    let sent = http
        .post(format!("{}/slack/events", server.addr))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            crate::support::sign(crate::support::SIGNING_SECRET, timestamp, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("filed a ticket")
    {
        assert!(std::time::Instant::now() < deadline, "no ticket was filed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill_9();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let serving = lines
        .iter()
        .find(|l| l["message"] == "deskhand is serving")
        .expect("the start-up line");
    assert_eq!(serving["level"], "INFO");
    assert!(serving["addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(serving["database"], "sqlite");
    let filed = lines
        .iter()
        .find(|l| l["message"] == "filed a ticket")
        .expect("the filing line");
    assert_eq!(filed["ticket.key"], "IT-1");
    assert!(filed["inbox.id"].is_number(), "the line names its event: {filed}");

    let (code, stderr) = process::run(&["migrate"], &[("DESKHAND_LOG_FORMAT", "xml")], dir.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("DESKHAND_LOG_FORMAT is invalid"), "{stderr}");
}

/// The systemd unit in `docs/` is one systemd accepts (where `systemd-analyze` is
/// installed), pointing at this build's binary.
#[test]
fn the_systemd_unit_is_valid() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deskhand.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/deskhand --config /etc/deskhand/deskhand.toml serve"));
    let Ok(found) = std::process::Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here: the unit is not verified");
        return;
    };
    assert!(found.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/deskhand", process::BINARY)).unwrap();
    let verified = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    assert!(!said.contains("deskhand.service"), "systemd has remarks: {said}");
}
