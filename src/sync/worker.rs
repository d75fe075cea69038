//! The worker: inbox → decode → identity → desk rules → store + outbox.
//!
//! It takes events in batches and applies a whole batch in one transaction, so the cost of
//! a commit is shared the same way ingress shares it. Users are looked up (`users.info`,
//! cached in memory and in the database) before the transaction opens, so no Slack call
//! ever holds a database lock. An event whose author cannot be looked up right now waits,
//! and so does every later event of the same channel: a reply is never handled before the
//! message it answers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tracing::Instrument;

use crate::desk::effects::Effect;
use crate::metrics;
use crate::slack::events::{self, Command};
use crate::slack::workspaces::{NoClient, Workspaces};
use crate::store::{ClaimedEvent, NewEffect, Settle, SlackUserRecord, Store, StoreError, CHANNEL_MESSAGE_RETENTION_MS};
use crate::sync::handlers;
use crate::sync::lookup::Needs;
use crate::sync::unit::{Facts, Unit};
use crate::sync::{backoff, out_of_tries};

/// How often finished queue rows and old messages are purged, and expired parked messages
/// reported.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);
/// How often, while events flow, the store's statistics are refreshed.
const STATISTICS_EVERY: Duration = Duration::from_secs(15);
/// Events taken per batch.
const BATCH: i64 = 512;
/// How often to look for work nobody announced (another replica's, or retries coming due).
const POLL: Duration = Duration::from_millis(250);
/// An event that fails this often is set aside as failed, with its error.
const MAX_ATTEMPTS: i64 = 8;
/// How long a looked-up user is trusted, in memory and in the database.
pub(super) const USER_MEMORY_TTL: Duration = Duration::from_secs(600);
pub(super) const USER_DB_TTL_MS: i64 = 3_600_000;
/// How long a token Slack refused is not asked about again (its events wait as long).
pub(super) const REFUSED_FOR: Duration = Duration::from_secs(30);
/// How long the agent channels' members are trusted.
pub(super) const AGENTS_TTL: Duration = Duration::from_secs(300);

use super::inbox::{clip, set_aside_report};

/// What `auth.test` says about the workspace and deskhand's own bot user.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The installation whose token this is (`None`: the configured token's).
    pub installation: Option<String>,
    /// The Enterprise Grid org of the workspace, if it is in one.
    pub enterprise_id: Option<String>,
    pub team_id: String,
    pub bot_user_id: String,
    pub url: String,
    /// Whether managers are mailed too (`DESKHAND_SMTP_URL` is set).
    pub email: bool,
    /// How links to deskhand are written (`DESKHAND_PUBLIC_URL`).
    pub public_url: String,
}

impl Workspace {
    /// Whose members are the desk's own people: the org's on Enterprise Grid, else the
    /// workspace's.
    pub fn home(&self) -> &str {
        self.enterprise_id.as_deref().unwrap_or(&self.team_id)
    }
}

/// An inbox row, decoded.
type Decoded = Result<Command, events::DecodeError>;

pub struct Worker {
    pub(super) email: bool,
    pub(super) public_url: String,
    pub(super) store: Store,
    pub(super) workspaces: Workspaces,
    inbox_ready: Arc<Notify>,
    outbox_ready: Arc<Notify>,
    /// What `auth.test` said of each installation's token.
    pub(super) known: HashMap<Option<String>, Workspace>,
    pub(super) users: HashMap<String, (SlackUserRecord, Instant)>,
    /// When Slack last refused each installation's token, and how.
    pub(super) refused: HashMap<Option<String>, (i64, String)>,
    /// The agent channels' members, as each installation's token sees them.
    pub(super) agents: HashMap<Option<String>, (HashSet<String>, Instant)>,
    /// How long a claimed batch is ours before another worker may take it.
    lease: Duration,
    /// The urgent lane: claims only what someone waits for (interactions, slash
    /// commands), beside the worker that takes the backlog, so a modal never waits for a
    /// batch in progress. It does no housekeeping.
    urgent_only: bool,
}

/// What one look at the inbox took.
pub struct Batch {
    pub taken: usize,
    /// Look again at once: the batch was full, so more may be due; or it held events tried
    /// before, which may have held back later events of their channel. Otherwise it took
    /// everything due, and what came in since has woken the worker already.
    pub again: bool,
}

impl Worker {
    pub fn new(
        store: Store,
        workspaces: Workspaces,
        inbox_ready: Arc<Notify>,
        outbox_ready: Arc<Notify>,
        lease: Duration,
        email: bool,
        public_url: String,
    ) -> Self {
        Self {
            email,
            public_url,
            lease,
            store,
            workspaces,
            inbox_ready,
            outbox_ready,
            known: HashMap::new(),
            refused: HashMap::new(),
            users: HashMap::new(),
            agents: HashMap::new(),
            urgent_only: false,
        }
    }

    /// This worker as the urgent lane (see [`Worker::urgent_only`]).
    pub fn urgent_lane(mut self) -> Self {
        self.urgent_only = true;
        self
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // Housekeeping (purging, reporting expired parked messages) runs at start, then hourly.
        // On the store's clock, so that a test moving it sees the hourly work run.
        let mut last_housekeeping: Option<i64> = None;
        let (mut last_statistics, mut since_statistics) = (Instant::now(), 0);
        let inbox_ready = self.inbox_ready.clone();
        loop {
            // Listening before the claim: a commit made while it runs still wakes us.
            let ready = inbox_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            if !self.urgent_only && since_statistics > 0 && last_statistics.elapsed() > STATISTICS_EVERY {
                if let Err(e) = self.store.refresh_statistics().await {
                    tracing::warn!(error = %e, "could not refresh table statistics");
                }
                (last_statistics, since_statistics) = (Instant::now(), 0);
            }
            match self.run_once().await {
                Ok(batch) => {
                    since_statistics += batch.taken;
                    if batch.again {
                        continue;
                    }
                }
                Err(e) => tracing::error!(error = %e, "worker could not take events; trying again"),
            }
            let now = self.store.now_ms();
            if !self.urgent_only && last_housekeeping.is_none_or(|at| now - at >= HOUSEKEEPING_EVERY.as_millis() as i64)
            {
                last_housekeeping = Some(now);
                if let Err(e) = self.store.purge_finished(self.store.now_ms() - 7 * 86_400_000).await {
                    tracing::warn!(error = %e, "could not purge finished queue rows");
                }
                if let Err(e) = self
                    .store
                    .purge_channel_messages(self.store.now_ms() - CHANNEL_MESSAGE_RETENTION_MS)
                    .await
                {
                    tracing::warn!(error = %e, "could not purge old channel messages");
                }
                match crate::admin::parked::report_expired(&self.store).await {
                    Ok(0) => {}
                    Ok(reported) => {
                        tracing::info!(reported, "parked messages past the retention were reported to agents");
                        self.outbox_ready.notify_one();
                    }
                    Err(e) => tracing::warn!(error = %e, "could not report expired parked messages"),
                }
            }
            tokio::select! {
                _ = &mut ready => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Take one batch of due events and handle it, each installation's events with its
    /// own token.
    pub async fn run_once(&mut self) -> Result<Batch, StoreError> {
        let claimed = self
            .store
            .claim_events(BATCH, self.lease.as_millis() as i64, self.urgent_only)
            .await?;
        let claimed_at = Instant::now();
        let taken = claimed.len();
        let batch = Batch {
            taken,
            again: taken as i64 >= BATCH || claimed.iter().any(|e| e.attempts > 1),
        };
        if claimed.is_empty() {
            return Ok(batch);
        }
        metrics::get().worker_batch_events.observe(taken as f64);
        let _timer = metrics::time(&metrics::get().worker_batch_seconds);
        let mut groups: Vec<(Option<String>, Vec<ClaimedEvent>, Vec<Decoded>)> = Vec::new();
        let mut removed = Vec::new();
        for event in claimed {
            let command = super::inbox::decode(&event.dedupe_key, &event.body);
            if let Ok(Command::Uninstalled { because }) = &command {
                removed.push((event, *because));
                continue;
            }
            match groups.iter_mut().find(|(i, _, _)| *i == event.installation) {
                Some((_, events, decoded)) => {
                    events.push(event);
                    decoded.push(command);
                }
                None => groups.push((event.installation.clone(), vec![event], vec![command])),
            }
        }
        self.uninstalled(removed).await?;
        for (installation, events, decoded) in groups {
            self.handle_group(installation, events, decoded, claimed_at).await?;
        }
        Ok(batch)
    }

    /// A workspace removed deskhand (or revoked its token): its token is forgotten and
    /// what waited to be sent there is set aside, before anything else of the batch.
    async fn uninstalled(&mut self, removed: Vec<(ClaimedEvent, &'static str)>) -> Result<(), StoreError> {
        if removed.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for (event, because) in &removed {
            if let Some(installation) = &event.installation {
                if Store::remove_installation(&mut tx, installation, because).await? {
                    tracing::warn!(slack.installation = %installation, because, "a workspace removed deskhand: its token is forgotten");
                }
            }
        }
        let ids: Vec<i64> = removed.iter().map(|(e, _)| e.id).collect();
        Store::finish_events(&mut tx, &ids).await?;
        tx.commit().await?;
        for (event, _) in &removed {
            if let Some(installation) = &event.installation {
                self.workspaces.forget(installation);
                self.known.remove(&event.installation);
                self.agents.remove(&event.installation);
            }
        }
        Ok(())
    }

    /// Handle one installation's events of a batch.
    async fn handle_group(
        &mut self,
        installation: Option<String>,
        claimed: Vec<ClaimedEvent>,
        decoded: Vec<Decoded>,
        claimed_at: Instant,
    ) -> Result<(), StoreError> {
        let slack = match self.workspaces.client(installation.as_deref()).await {
            Ok(slack) => slack,
            Err(NoClient::Store(e)) => return Err(e),
            Err(e) => {
                // Nothing can ever be answered there: set aside, each visible in the inbox.
                tracing::error!(error = %e, events = claimed.len(), "events of a workspace deskhand is not installed in were set aside");
                let rows = claimed
                    .iter()
                    .map(|c| (c.id, Settle::Fail { error: e.to_string() }))
                    .collect();
                return self.settle_each(rows).await;
            }
        };
        let workspace = match self.workspace(&installation, &slack).await {
            Ok(workspace) => workspace,
            Err(e) => {
                // Events wait (they are safe in the inbox) until Slack accepts the token.
                let wait = if e.is_transient() {
                    tracing::warn!(error = %e, "auth.test failed; events wait until Slack answers");
                    backoff(1)
                } else {
                    tracing::error!(error = %e, slack.installation = ?installation, "Slack does not accept deskhand's token; events wait until it does");
                    REFUSED_FOR
                };
                // A retry, not a deferral: tried events keep holding back later events of
                // their channel, so a reply never overtakes the message it answers.
                let due_at = self.store.now_ms() + wait.as_millis() as i64;
                let error = e.to_string();
                let now = self.store.now_ms();
                let rows: Vec<_> = claimed
                    .iter()
                    .map(|c| {
                        let settle = if out_of_tries(c.received_at, now, c.attempts) {
                            Settle::Fail {
                                error: format!("Slack refused deskhand for a day; set aside: {error}"),
                            }
                        } else {
                            Settle::Retry {
                                due_at,
                                error: error.clone(),
                                ambiguous: false,
                            }
                        };
                        (c.id, settle)
                    })
                    .collect();
                return self.settle_each(rows).await;
            }
        };
        let channels = self.load_channels(&decoded).await?;
        let needs: Vec<Needs> = decoded
            .iter()
            .map(|d| d.as_ref().map(|c| handlers::needs(c, &channels)).unwrap_or_default())
            .collect();
        // Lookups stop at half the lease, so the batch is applied while it is still ours.
        let deadline = claimed_at + self.lease / 2;
        let lookups = self.gather(&slack, &needs, &channels, &workspace, deadline).await?;

        // Which events wait this round: those whose facts could not be had, and everything
        // after them with the same order key.
        let mut waiting = Vec::new();
        let mut aside = Vec::new();
        let mut held_keys = HashSet::new();
        let mut ready = Vec::new();
        for ((event, command), needs) in claimed.iter().zip(&decoded).zip(&needs) {
            if held_keys.contains(&event.order_key) {
                waiting.push((
                    event.id,
                    Settle::Defer {
                        due_at: self.store.now_ms() + 1000,
                    },
                ));
            } else if lookups.waits(needs) && out_of_tries(event.received_at, self.store.now_ms(), event.attempts) {
                // Waited a day for Slack to say who or what this is: set aside, so its
                // channel goes on; it stays listed in the inbox.
                tracing::error!(
                    inbox.id = event.id,
                    attempts = event.attempts,
                    "an event waited too long for Slack and was set aside"
                );
                let error = "Slack could not be asked about it for a day".to_owned();
                let channel_of = |id: &str| channels.get(id).and_then(Option::as_ref);
                let report = command
                    .as_ref()
                    .ok()
                    .and_then(|c| set_aside_report(c, channel_of, &error));
                aside.push((event.id, metrics::source_of(&event.dedupe_key), error, report));
            } else if lookups.waits(needs) {
                held_keys.insert(event.order_key.clone());
                let due_at = self.store.now_ms() + backoff(event.attempts).as_millis() as i64;
                waiting.push((
                    event.id,
                    Settle::Retry {
                        due_at,
                        error: "Slack lookups unavailable".into(),
                        ambiguous: false,
                    },
                ));
            } else {
                ready.push((event, command));
            }
        }
        let facts = Facts {
            workspace: &workspace,
            channels: &channels,
            lookups: &lookups,
        };
        if let Err(e) = self.apply_batch(&ready, &facts).await {
            tracing::warn!(error = %e, batch = ready.len(), "batch failed; handling its events one by one");
            self.apply_one_by_one(&ready, &facts).await?;
        }
        self.settle_each(waiting).await?;
        for (id, kind, error, report) in aside {
            self.set_aside(id, kind, error, report, &workspace).await?;
        }
        self.outbox_ready.notify_one();
        Ok(())
    }

    async fn apply_batch(
        &self,
        ready: &[(&ClaimedEvent, &Result<Command, events::DecodeError>)],
        facts: &Facts<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let mut unit = Unit::new(facts);
        for (event, command) in ready {
            match command {
                // Every line logged while it is handled names the event.
                Ok(command) => {
                    let span = tracing::info_span!("event", inbox.id = event.id, event.key = %event.dedupe_key);
                    handlers::apply(&mut unit, &mut tx, event, command)
                        .instrument(span)
                        .await?
                }
                Err(e) => {
                    tracing::warn!(inbox.id = event.id, error = %e, body = %clip(&event.body), "an event deskhand cannot read was set aside");
                    Store::settle_event(&mut tx, event.id, &Settle::Fail { error: e.to_string() }).await?;
                }
            }
        }
        unit.flush(&mut tx).await?;
        tx.commit().await
    }

    async fn apply_one_by_one(
        &self,
        ready: &[(&ClaimedEvent, &Result<Command, events::DecodeError>)],
        facts: &Facts<'_>,
    ) -> Result<(), StoreError> {
        let mut held_keys = HashSet::new();
        for &(event, command) in ready {
            if held_keys.contains(&event.order_key) {
                self.settle_each(vec![(
                    event.id,
                    Settle::Defer {
                        due_at: self.store.now_ms() + 1000,
                    },
                )])
                .await?;
                continue;
            }
            let outcome = self.apply_batch(&[(event, command)], facts).await;
            if let Err(e) = outcome {
                held_keys.insert(event.order_key.clone());
                let settle = if event.attempts >= MAX_ATTEMPTS {
                    tracing::error!(inbox.id = event.id, error = %e, body = %clip(&event.body), "giving up on an event after {MAX_ATTEMPTS} attempts");
                    let error = e.to_string();
                    let report = command
                        .as_ref()
                        .ok()
                        .and_then(|c| set_aside_report(c, |id| facts.channel(id), &error));
                    self.set_aside(
                        event.id,
                        metrics::source_of(&event.dedupe_key),
                        error,
                        report,
                        facts.workspace,
                    )
                    .await?;
                    continue;
                } else {
                    tracing::warn!(inbox.id = event.id, error = %e, "event failed; will retry");
                    Settle::Retry {
                        due_at: self.store.now_ms() + backoff(event.attempts).as_millis() as i64,
                        error: e.to_string(),
                        ambiguous: false,
                    }
                };
                self.settle_each(vec![(event.id, settle)]).await?;
            }
        }
        Ok(())
    }

    /// Set an event aside as failed, and tell its channel's agents when it was a person's
    /// message, in one transaction.
    async fn set_aside(
        &self,
        id: i64,
        kind: &str,
        error: String,
        report: Option<Effect>,
        workspace: &Workspace,
    ) -> Result<(), StoreError> {
        metrics::get().events_failed.get_or_create(&metrics::kind(kind)).inc();
        let mut tx = self.store.begin().await?;
        Store::settle_event(&mut tx, id, &Settle::Fail { error }).await?;
        // Its author hears it too, privately where they wrote.
        let told = match &report {
            Some(Effect::ReportSetAside { channel, user, .. }) => Some(Effect::PostEphemeral {
                channel: channel.clone(),
                user: user.clone(),
                thread_ts: None,
                text: "deskhand could not handle your message, so it was not filed. The help desk has been told; \
                       you can also ask them directly."
                    .into(),
            }),
            _ => None,
        };
        let effects: Vec<NewEffect> = report
            .iter()
            .chain(told.iter())
            .map(|e| NewEffect::of(e).through(workspace.installation.as_deref()))
            .collect();
        Store::enqueue_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        self.outbox_ready.notify_one();
        Ok(())
    }

    async fn settle_each(&self, rows: Vec<(i64, Settle)>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for (id, settle) in rows {
            Store::settle_event(&mut tx, id, &settle).await?;
        }
        tx.commit().await
    }
}
