//! deskhand as a real process (`deskhand serve`), for what only a process can show:
//! start-up errors and exit codes, `kill -9`, several replicas on one database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{FakeSlack, ADMIN_TOKEN, SIGNING_SECRET};

pub const BINARY: &str = env!("CARGO_BIN_EXE_deskhand");

/// The environment a deskhand process needs to run against `slack` and `database_url`.
pub fn env(database_url: &str, slack: &FakeSlack) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET.into()),
        ("SLACK_BOT_TOKEN", "xoxb-test-token".into()),
        ("SLACK_API_URL", slack.api_url()),
        ("DATABASE_URL", database_url.into()),
        ("DESKHAND_LISTEN", "127.0.0.1:0".into()),
        ("DESKHAND_ADMIN_TOKEN", ADMIN_TOKEN.into()),
        ("DESKHAND_SLACK_CHANNEL_RATE", "1000".into()),
        ("DESKHAND_SLACK_CHANNEL_BURST", "1000".into()),
        ("DESKHAND_SLACK_TIMEOUT_MS", "1000".into()),
        ("DESKHAND_LEASE_MS", "3000".into()),
        ("RUST_LOG", "info".into()),
    ]
}

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    /// Start `deskhand serve` and wait until it listens.
    pub fn start(env: &[(&'static str, String)]) -> Self {
        Self::spawn(env, None)
    }

    /// Start `deskhand serve`, its log also copied to `log`.
    pub fn start_logging_to(env: &[(&'static str, String)], log: &std::path::Path) -> Self {
        Self::spawn(env, Some(log.to_owned()))
    }

    fn spawn(env: &[(&'static str, String)], log: Option<std::path::PathBuf>) -> Self {
        let mut child = Command::new(BINARY)
            .arg("serve")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("deskhand starts");
        let stdout = child.stdout.take().expect("stdout");
        let (found, addr) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            let mut copy = log.and_then(|path| std::fs::File::create(path).ok());
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // Shown with the test's output when it fails.
                eprintln!("[deskhand] {line}");
                if let Some(copy) = copy.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(copy, "{line}");
                }
                // `addr=127.0.0.1:1234`, or in JSON logs `"addr":"127.0.0.1:1234"`.
                let addr = match (line.split("addr=").nth(1), line.split("\"addr\":\"").nth(1)) {
                    (Some(rest), _) => rest.split_whitespace().next(),
                    (None, Some(rest)) => rest.split('"').next(),
                    (None, None) => None,
                };
                if let (Some(addr), Some(found)) = (addr, found.take_if(|_| addr.is_some())) {
                    let _ = found.send(addr.to_owned());
                }
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(30))
            .expect("deskhand says where it listens");
        Server {
            child,
            addr: format!("http://{addr}"),
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    pub fn kill_9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `deskhand` with `args` and `env` to the end: (exit code, stderr).
pub fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (i32, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("deskhand runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
