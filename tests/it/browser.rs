//! The portal in a real browser: headless Chromium driven through chromedriver
//! (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them). Sign in with the
//! link from `/desk portal`, open a request from the list, reply, close it, sign out; with
//! a screenshot at desktop width and one at phone width under `target/`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

/// A free port on the loopback address (closed again at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a free port, once it answers; `None` (the test says why) where it is
/// not installed and this is not CI.
async fn chromedriver() -> Option<(Driver, String)> {
    let path = std::env::var("DESKHAND_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if !std::path::Path::new(&path).exists() {
        assert!(
            std::env::var("CI").is_err(),
            "{path} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
        );
        eprintln!("skipped: {path} is missing (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = free_port();
    // Killed and waited for when dropped, whatever happens next.
    let driver = Driver(
        Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Some((driver, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url}");
}

/// A headless Chromium session.
async fn session(webdriver: &str) -> fantoccini::Client {
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .expect("a browser session")
}

/// deskhand on a port chosen first, so that its public URL is where the browser goes.
async fn app_on_own_port() -> (TestApp, u16) {
    let port = free_port();
    let app = TestApp::spawn_set_up(|config| {
        config.listen = format!("127.0.0.1:{port}").parse().unwrap();
        config.public_url = format!("http://127.0.0.1:{port}");
    })
    .await;
    (app, port)
}

/// The sign-in link `/desk portal` gives `user`.
async fn link_for(app: &TestApp, user: &str, trigger: &str) -> String {
    assert_eq!(app.slash(user, SUPPORT, "portal", trigger).await, 200);
    app.drain().await;
    let answer = app.answer_to(trigger);
    let at = answer.find("http://127.0.0.1").expect("a link");
    answer[at..].chars().take_while(|c| !"|> \"".contains(*c)).collect()
}

/// Click the element at `xpath`.
async fn click(browser: &fantoccini::Client, xpath: &str) {
    let element = browser.find(Locator::XPath(xpath)).await;
    element
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Wait until the page shows the element at `xpath`.
async fn shown(browser: &fantoccini::Client, xpath: &str) {
    let found = browser.wait().for_element(Locator::XPath(xpath)).await;
    found.unwrap_or_else(|e| panic!("the page never showed {xpath}: {e}"));
}

fn screenshot(name: &str, png: &[u8]) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(format!("{dir}/{name}"), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_signs_in_replies_closes_and_signs_out_in_a_real_browser() {
    let Some((_driver, webdriver)) = chromedriver().await else {
        return;
    };
    // The browser's origin must be deskhand's public URL: both are this address.
    let (app, port) = app_on_own_port().await;
    app.admin_ok(
        "PUT",
        "/api/v1/projects/IT",
        json!({ "name": "IT Help", "portal": { "mode": "private", "fields": ["priority", "assignee"] } }),
    )
    .await;
    app.say(
        "EvB1",
        ANA,
        "1700000800.000100",
        "The badge reader at the door beeps red",
    )
    .await;
    let link = link_for(&app, ANA, "t-browser").await;

    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        }
    });
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let browser = builder
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("a browser session");

    browser.goto(&link).await.unwrap();
    browser
        .find(Locator::Css("main form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shown(&browser, "//h1[text()='Your requests']").await;
    browser
        .find(Locator::LinkText("IT-1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::XPath(
            "//h1[text()='IT-1: The badge reader at the door beeps red']",
        ))
        .await
        .unwrap();

    let reply = browser.find(Locator::Id("reply")).await.unwrap();
    reply.send_keys("It beeps only in the morning").await.unwrap();
    click(&browser, "//button[text()='Send reply']").await;
    let reply_shown = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//article/p[text()='It beeps only in the morning']"))
        .await;
    assert!(
        reply_shown.is_ok(),
        "the reply is on the page: {}",
        browser.source().await.unwrap()
    );
    app.drain().await;
    let thread = app
        .posts_by_thread(SUPPORT)
        .remove(&Some("1700000800.000100".into()))
        .unwrap_or_default();
    assert!(
        thread.iter().any(|m| m.text.contains("It beeps only in the morning")),
        "and in the Slack thread: {thread:?}"
    );
    screenshot("portal-desktop.png", &browser.screenshot().await.unwrap());
    browser.set_window_size(390, 844).await.unwrap();
    screenshot("portal-phone.png", &browser.screenshot().await.unwrap());

    click(&browser, "//button[text()='Close this request']").await;
    shown(&browser, "//p[contains(text(), 'being closed')]").await;
    app.drain().await;
    assert_eq!(app.ticket("IT-1").await["status"], "Closed");
    browser
        .goto(&format!("http://127.0.0.1:{port}/portal/tickets/IT-1"))
        .await
        .unwrap();
    let status = browser.find(Locator::Css("dd")).await.unwrap().text().await.unwrap();
    assert_eq!(status, "Closed");

    click(&browser, "//button[text()='Sign out']").await;
    shown(&browser, "//h1[text()='Sign in to the help desk']").await;
    browser.goto(&format!("http://127.0.0.1:{port}/portal")).await.unwrap();
    let url = browser.current_url().await.unwrap();
    assert!(url.path().starts_with("/portal/sign-in"), "signed out: {url}");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_authorizes_a_facilitator_on_the_admin_pages_in_a_real_browser() {
    let Some((_driver, webdriver)) = chromedriver().await else {
        return;
    };
    let (app, _port) = app_on_own_port().await;
    app.admin_ok("PUT", "/api/v1/settings", json!({ "admins": [BO] })).await;
    app.slack
        .add_member("U0FIONA", "Fiona Facilitator", "fiona@acme.example");
    let link = link_for(&app, BO, "t-admin").await;
    let browser = session(&webdriver).await;
    browser.goto(&link).await.unwrap();
    browser
        .find(Locator::Css("main form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shown(&browser, "//h1[text()='Your requests']").await;
    browser.goto(&format!("{}/portal/admin", app.addr)).await.unwrap();
    shown(&browser, "//h1[text()='Channels']").await;
    let input = browser.find(Locator::Id(&format!("f-{SUPPORT}"))).await.unwrap();
    input.send_keys("U0FIONA").await.unwrap();
    browser
        .find(Locator::XPath(&format!(
            "//form[@action='/portal/admin/channels/{SUPPORT}/facilitator']/button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shown(&browser, "//p[contains(text(), 'now files for guests')]").await;
    screenshot("admin-channels-desktop.png", &browser.screenshot().await.unwrap());
    let channel = app.get(&format!("/api/v1/channels/{SUPPORT}")).await.1;
    assert_eq!(channel["facilitator"]["slack_user_id"], "U0FIONA", "{channel}");
    browser.close().await.unwrap();
}
