//! The `deskhand` command: `serve` runs the helpdesk, `migrate` only migrates, `backup`
//! copies a SQLite database.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use deskhand::app::App;
use deskhand::config::{Config, Sources};
use deskhand::store::Store;

#[derive(Parser)]
#[command(version, about = "A Slack-first helpdesk")]
struct Cli {
    /// Settings file (default: ./deskhand.toml when it exists); the environment wins over it.
    #[arg(long, global = true, env = "DESKHAND_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Slack's requests and the admin API, and run the worker and dispatcher.
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Check the configuration, the database, the Slack token and its scopes, the channels
    /// and the facilitators; print what to fix, one line each; exit 1 when anything is wrong.
    Doctor,
    /// Print the Slack app manifest for this deskhand.
    Manifest {
        /// Where Slack reaches deskhand (`https://…`); the request URLs are under it.
        #[arg(long, default_value = "https://deskhand.example.com")]
        url: String,
        /// For Socket Mode: no request URLs, `socket_mode_enabled: true`.
        #[arg(long)]
        socket_mode: bool,
    },
    /// Copy a SQLite database consistently to PATH while deskhand may be running.
    Backup {
        /// Where the copy goes; it must not exist yet.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // Human-readable by default; one JSON object a line for log collectors.
    match std::env::var("DESKHAND_LOG_FORMAT").as_deref() {
        Ok("json") => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_env_filter(filter)
            .init(),
        Ok(other) if !other.is_empty() && other != "text" => {
            return fail(format!(
                "configuration: DESKHAND_LOG_FORMAT is invalid: {other:?} is neither text nor json"
            ));
        }
        _ => tracing_subscriber::fmt()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_env_filter(filter)
            .init(),
    }
    let sources = match Sources::from_process(cli.config.as_deref()) {
        Ok(sources) => sources,
        Err(e) => return fail(format!("configuration: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start: {e}")),
    };
    match cli.command {
        Command::Migrate => {
            let url = match sources.checked_database_url() {
                Ok(url) => url,
                Err(e) => return fail(format!("configuration: {e}")),
            };
            runtime.block_on(async {
                let store = Store::connect(&url).await?;
                let _exclusive = store.exclusive_use(&url)?;
                store.migrate().await?;
                store.close().await;
                Ok::<_, deskhand::store::StoreError>(())
            })
            .map_or_else(|e| fail(format!("migrate: {e}")), |()| {
                tracing::info!(database = %url.split('@').next_back().unwrap_or_default(), "database is up to date");
                ExitCode::SUCCESS
            })
        }
        Command::Doctor => {
            let config = match Config::load(&sources) {
                Ok(config) => config,
                Err(e) => {
                    println!("FIX  configuration: {e}");
                    return ExitCode::FAILURE;
                }
            };
            println!("ok   configuration: read");
            runtime.block_on(doctor(config))
        }
        Command::Manifest { url, socket_mode } => {
            if !socket_mode && !url.starts_with("https://") {
                return fail(format!(
                    "manifest: --url must start with https:// (Slack calls only HTTPS), not {url:?}"
                ));
            }
            print!("{}", deskhand::slack::manifest::render(Some(&url), socket_mode));
            ExitCode::SUCCESS
        }
        Command::Backup { path } => {
            let url = match sources.checked_database_url() {
                Ok(url) => url,
                Err(e) => return fail(format!("configuration: {e}")),
            };
            runtime
                .block_on(async {
                    let store = Store::connect(&url).await?;
                    let copied = store.backup(&path).await;
                    store.close().await;
                    copied
                })
                .map_or_else(
                    |e| fail(format!("backup: {e}")),
                    |()| {
                        tracing::info!(path = %path.display(), "database copied");
                        ExitCode::SUCCESS
                    },
                )
        }
        Command::Serve => {
            let config = match Config::load(&sources) {
                Ok(config) => config,
                Err(e) => return fail(format!("configuration: {e}")),
            };
            runtime
                .block_on(async {
                    let app = App::build(config).await?;
                    app.run_until_stopped(shutdown_signal()).await
                })
                .map_or_else(|e| fail(format!("{e:#}")), |()| ExitCode::SUCCESS)
        }
    }
}

/// `deskhand doctor`: the checks `GET /api/v1/doctor` runs too, one line each.
async fn doctor(config: Config) -> ExitCode {
    let store = match Store::connect(&config.database_url).await {
        Ok(store) => store,
        Err(e) => {
            println!("FIX  database: cannot be opened ({e}); check DATABASE_URL");
            return ExitCode::FAILURE;
        }
    };
    let slack = match deskhand::slack::api::SlackApi::new(
        &config.slack_api_url,
        config.slack_bot_token.clone(),
        config.slack_timeout,
    ) {
        Ok(slack) => slack.with_app_token(config.slack_app_token.clone()),
        Err(e) => {
            println!("FIX  slack: cannot make a client ({e})");
            return ExitCode::FAILURE;
        }
    };
    let workspaces = deskhand::slack::workspaces::Workspaces::new(slack, store.clone(), config.secret_key.clone());
    let jira = deskhand::jira::JiraProbe::new(deskhand::jira::api::JiraApi::http_client(config.slack_timeout));
    let findings = deskhand::admin::doctor::run(&store, &workspaces, &jira, config.secret_key.as_ref()).await;
    store.close().await;
    for f in &findings {
        println!("{}  {}: {}", if f.ok { "ok " } else { "FIX" }, f.check, f.detail);
    }
    if findings.iter().all(|f| f.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("deskhand: {message}");
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
