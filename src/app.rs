//! Building and running deskhand: the shared state, the route table in one place, and the
//! background tasks (inbox writer, worker, dispatcher) with their orderly shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::config::{Config, Secret};
use crate::slack::api::{SlackApi, SlackError};
use crate::slack::http::{SignatureCheck, SlackHttp};
use crate::slack::oauth::OAuthHttp;
use crate::slack::workspaces::Workspaces;
use crate::state::AppState;
use crate::store::{ExclusiveUse, GroupCommit, NewEvent, Store};
use crate::sync::dispatcher::Dispatcher;
use crate::sync::jira::JiraSender;
use crate::sync::mail::Mailer;
use crate::sync::ratelimit::ChannelPacer;
use crate::sync::worker::Worker;

/// Slack never sends more than this; anything larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct App {
    /// This process's hold on a SQLite database, for as long as it runs.
    exclusive: ExclusiveUse,
    listener: TcpListener,
    state: AppState,
    /// Checks requests over HTTP; `None` with Socket Mode alone (no Slack route then).
    signature: Option<SignatureCheck>,
    /// Slack's OAuth install routes, when workspaces install deskhand themselves.
    oauth: Option<OAuthHttp>,
    workspaces: Workspaces,
    wake: Wakers,
    inbox_writer: tokio::task::JoinHandle<()>,
}

/// What wakes the worker (new events), its urgent lane (new events someone waits for) and
/// the dispatcher (new effects) before their next look at the queues.
#[derive(Clone, Default)]
pub struct Wakers {
    pub inbox: Arc<Notify>,
    pub urgent: Arc<Notify>,
    pub outbox: Arc<Notify>,
}

impl App {
    /// Connect and migrate the database, bind the listener. Nothing runs until
    /// [`App::run_until_stopped`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url)
            .await
            .context("cannot open the database (DATABASE_URL)")?;
        let exclusive = store
            .exclusive_use(&config.database_url)
            .context("cannot use the database (DATABASE_URL)")?;
        store.migrate().await.context("cannot migrate the database")?;
        let (events, effects) = store
            .release_claims(&exclusive)
            .await
            .context("cannot take back the work a stopped process had claimed")?;
        if events + effects > 0 {
            tracing::info!(
                events,
                effects,
                "took back the work the last process had claimed when it stopped"
            );
        }
        // On PostgreSQL, known to the other replicas before it claims anything.
        store.heartbeat().await.context("cannot join the other replicas")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {} (DESKHAND_LISTEN)", config.listen))?;
        let slack = SlackApi::new(
            &config.slack_api_url,
            config.slack_bot_token.clone(),
            config.slack_timeout,
        )?
        .with_app_token(config.slack_app_token.clone());
        let workspaces = Workspaces::new(slack.clone(), store.clone(), config.secret_key.clone());
        let wake = Wakers::default();
        let urgent = wake.urgent.clone();
        let (inbox, inbox_writer) = GroupCommit::spawn(
            store.clone(),
            wake.inbox.clone(),
            move |store: Store, events: Arc<[NewEvent]>| {
                let urgent = urgent.clone();
                async move {
                    let ids = store.insert_events(&events).await?;
                    // The urgent lane looks only when there is something for it.
                    if events.iter().any(|e| e.urgent) {
                        urgent.notify_one();
                    }
                    Ok(ids)
                }
            },
        );
        let signature = config
            .slack_signing_secret
            .as_ref()
            .map(|s| SignatureCheck::new(s.expose()));
        let config_timeout = config.slack_timeout;
        let state = AppState {
            config: Arc::new(config),
            store,
            inbox,
            directory: Arc::new(workspaces.clone()),
            service_desk: Arc::new(crate::jira::JiraProbe::new(crate::jira::api::JiraApi::http_client(
                config_timeout,
            ))),
        };
        let oauth = match (&state.config.slack_oauth, &state.config.secret_key) {
            (Some(oauth), Some(vault)) => Some(OAuthHttp {
                app: state.clone(),
                slack: slack.clone(),
                workspaces: workspaces.clone(),
                oauth: oauth.clone(),
                vault: vault.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            exclusive,
            listener,
            state,
            signature,
            oauth,
            workspaces,
            wake,
            inbox_writer,
        })
    }

    /// What wakes the worker and the dispatcher (tests wake them after moving the clock).
    pub fn wakers(&self) -> Wakers {
        self.wake.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// Serve until `shutdown` resolves, then stop taking requests, let the worker and
    /// dispatcher finish what they hold, and close the database.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (config, store, wake, workspaces) = (
            self.state.config.clone(),
            self.state.store.clone(),
            self.wake,
            self.workspaces,
        );
        let slack = workspaces.configured().clone();
        let (stop, stopped) = watch::channel(false);

        tokio::spawn(check_slack(slack.clone(), config.clone()));
        let heartbeat = tokio::spawn(keep_beating(store.clone(), wake.clone(), stopped.clone()));
        let new_worker = |ready: &Arc<Notify>| {
            Worker::new(
                store.clone(),
                workspaces.clone(),
                ready.clone(),
                wake.outbox.clone(),
                config.lease,
                config.smtp_url.is_some(),
                config.public_url.clone(),
            )
        };
        let urgent_lane = tokio::spawn(new_worker(&wake.urgent).urgent_lane().run(stopped.clone()));
        let worker = tokio::spawn(new_worker(&wake.inbox).run(stopped.clone()));
        let pacer =
            ChannelPacer::new(config.slack_channel_rate, config.slack_channel_burst).shared_through(store.clone());
        let mailer = match &config.smtp_url {
            Some(url) => Some(Mailer::new(url.expose(), &config.smtp_from).context("DESKHAND_SMTP_URL")?),
            None => None,
        };
        let jira = JiraSender {
            http: crate::jira::api::JiraApi::http_client(config.slack_timeout),
            vault: config.secret_key.clone(),
        };
        let reconcile = tokio::spawn(crate::sync::reconcile::run(
            store.clone(),
            jira.http.clone(),
            config.secret_key.clone(),
            config.jira_reconcile,
            stopped.clone(),
        ));
        let (dispatcher, completion_writer) = Dispatcher::new(
            store.clone(),
            workspaces,
            pacer,
            wake.outbox,
            config.lease,
            mailer,
            jira,
        );
        // An effect's own calls may take three timeouts of its lease; the rest it may wait.
        let dispatcher = dispatcher.waiting_for_a_turn_at_most(config.lease.saturating_sub(3 * config.slack_timeout));
        let dispatcher = tokio::spawn(dispatcher.run(stopped.clone()));
        let socket_mode = slack
            .has_app_token()
            .then(|| tokio::spawn(crate::slack::socket::run(self.state.clone(), slack.clone(), stopped)));

        tracing::info!(addr = %self.listener.local_addr()?, database = store.backend(), "deskhand is serving");
        // One router for every connection: served as is, a router is rebuilt for each
        // connection (a copy of every route, held while the connection stays open).
        let routes = router(self.state, self.signature, self.oauth).into_make_service();
        axum::serve(self.listener, routes)
            .with_graceful_shutdown(shutdown)
            .await
            .context("server failed")?;

        tracing::info!("shutting down: finishing work in hand");
        let _ = stop.send(true);
        if let Some(socket_mode) = socket_mode {
            let _ = socket_mode.await;
        }
        let _ = self.inbox_writer.await;
        let _ = tokio::time::timeout(Duration::from_secs(15), async {
            let _ = worker.await;
            let _ = urgent_lane.await;
            let _ = dispatcher.await;
            let _ = reconcile.await;
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), completion_writer).await;
        let _ = heartbeat.await;
        if let Err(e) = store.leave().await {
            tracing::warn!(error = %e, "could not tell the other replicas that this one stopped");
        }
        store.close().await;
        drop(self.exclusive);
        Ok(())
    }
}

/// Every route deskhand serves.
pub fn router(state: AppState, signature: Option<SignatureCheck>, oauth: Option<OAuthHttp>) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state.clone());
    if let Some(signature) = signature {
        router = router.merge(crate::slack::http::routes(SlackHttp {
            app: state.clone(),
            signature,
        }));
    }
    if let Some(oauth) = oauth {
        router = router.merge(crate::slack::oauth::routes(oauth));
    }
    router
        .merge(crate::api::inbound_routes(state.clone()))
        .merge(crate::portal::routes(state.clone()))
        .merge(crate::jira::webhook::routes(state.clone()))
        .nest("/api/v1", crate::api::routes(state))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Tell the other replicas (PostgreSQL) this one is alive, and take over the work of any
/// that went silent, until `stop`.
async fn keep_beating(store: Store, wake: Wakers, mut stop: watch::Receiver<bool>) {
    if store.backend() != "postgres" {
        return;
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(crate::store::BEAT_EVERY) => {}
            _ = stop.changed() => return,
        }
        match store.heartbeat().await {
            Ok((0, 0)) => {}
            Ok((events, effects)) => {
                tracing::warn!(
                    events,
                    effects,
                    "took over the work of a replica that stopped answering"
                );
                wake.inbox.notify_one();
                wake.urgent.notify_one();
                wake.outbox.notify_one();
            }
            Err(e) => tracing::warn!(error = %e, "could not tell the other replicas this one is alive"),
        }
    }
}

/// Prometheus's text format, with the queues as they are now.
async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    match state.store.queue_depths().await {
        Ok(((events, oldest_event), (effects, oldest_effect))) => {
            let now = state.store.now_ms();
            let age = |at: Option<i64>| at.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
            let body = crate::metrics::get().encode((events, age(oldest_event)), (effects, age(oldest_effect)));
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                body,
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the queues for the metrics");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.migrations_pending().await {
        Ok(0) => (StatusCode::OK, "ready"),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "database migrations are pending"),
        Err(e) => {
            tracing::warn!(error = %e, "database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Say at once, in one line, whether deskhand can work with Slack: a placeholder token, a
/// token Slack refuses, or an API URL that is not Slack's are named for what they are.
async fn check_slack(slack: SlackApi, config: Arc<Config>) {
    if config.slack_app_token.as_ref().is_some_and(Secret::is_placeholder) {
        tracing::error!(
            "SLACK_APP_TOKEN is a placeholder: no events arrive over Socket Mode until it is the app's app-level \
             token (xapp-…, with connections:write)"
        );
    }
    let Some(token) = &config.slack_bot_token else {
        if config.slack_oauth.is_some() {
            tracing::info!(
                url = %format!("{}/slack/install", config.public_url),
                "no SLACK_BOT_TOKEN: deskhand answers the workspaces installed from its install page"
            );
        }
        return;
    };
    if token.is_placeholder() {
        tracing::error!(
            "SLACK_BOT_TOKEN is a placeholder: deskhand cannot reach Slack until it is the app's Bot User OAuth \
             Token (xoxb-…); events are kept in the inbox meanwhile"
        );
        return;
    }
    match slack.auth_test().await {
        Ok(auth) => tracing::info!(team = %auth.team_id, bot = %auth.user_id, "Slack accepts deskhand's token"),
        Err(e @ SlackError::Api(_)) if !e.is_transient() => tracing::error!(
            error = %e,
            "Slack refused SLACK_BOT_TOKEN: reinstall the app or copy its Bot User OAuth Token again; events are kept \
             in the inbox meanwhile"
        ),
        Err(SlackError::Status(status)) if (400..500).contains(&status) => tracing::error!(
            status,
            url = %config.slack_api_url,
            "SLACK_API_URL does not answer as the Slack Web API (its auth.test is not there); leave it unset for \
             https://slack.com/api"
        ),
        Err(e) => {
            tracing::warn!(error = %e, url = %config.slack_api_url, "Slack could not be reached yet; deskhand keeps trying")
        }
    }
}
