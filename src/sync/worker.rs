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
use crate::desk::identity::{self, Verification};
use crate::metrics;
use crate::slack::api::{SlackApi, SlackError};
use crate::slack::events::{self, Command};
use crate::store::{
    ChannelRecord, ClaimedEvent, NewEffect, PersonLink, Settle, SlackUserRecord, Store, StoreError,
    CHANNEL_MESSAGE_RETENTION_MS,
};
use crate::sync::handlers;
use crate::sync::lookup::{self, Lookups, Needs};
use crate::sync::unit::{profile, Facts, Unit};
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
const USER_MEMORY_TTL: Duration = Duration::from_secs(600);
const USER_DB_TTL_MS: i64 = 3_600_000;
/// How long the agent channels' members are trusted.
const AGENTS_TTL: Duration = Duration::from_secs(300);

use super::inbox::{clip, set_aside_report};

/// What `auth.test` says about the workspace and deskhand's own bot user.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub team_id: String,
    pub bot_user_id: String,
    pub url: String,
    /// Whether managers are mailed too (`DESKHAND_SMTP_URL` is set).
    pub email: bool,
    /// How links to deskhand are written (`DESKHAND_PUBLIC_URL`).
    pub public_url: String,
}

pub struct Worker {
    email: bool,
    public_url: String,
    store: Store,
    slack: SlackApi,
    inbox_ready: Arc<Notify>,
    outbox_ready: Arc<Notify>,
    workspace: Option<Workspace>,
    users: HashMap<String, (SlackUserRecord, Instant)>,
    agents: Option<(HashSet<String>, Instant)>,
    /// How long a claimed batch is ours before another worker may take it.
    lease: Duration,
}

impl Worker {
    pub fn new(
        store: Store,
        slack: SlackApi,
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
            slack,
            inbox_ready,
            outbox_ready,
            workspace: None,
            users: HashMap::new(),
            agents: None,
        }
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // Housekeeping (purging, reporting expired parked messages) runs at start, then hourly.
        // On the store's clock, so that a test moving it sees the hourly work run.
        let mut last_housekeeping: Option<i64> = None;
        let (mut last_statistics, mut since_statistics) = (Instant::now(), 0);
        loop {
            if since_statistics > 0 && last_statistics.elapsed() > STATISTICS_EVERY {
                if let Err(e) = self.store.refresh_statistics().await {
                    tracing::warn!(error = %e, "could not refresh table statistics");
                }
                (last_statistics, since_statistics) = (Instant::now(), 0);
            }
            match self.run_once().await {
                Ok(0) => {}
                Ok(taken) => {
                    since_statistics += taken;
                    continue;
                }
                Err(e) => tracing::error!(error = %e, "worker could not take events; trying again"),
            }
            let now = self.store.now_ms();
            if last_housekeeping.is_none_or(|at| now - at >= HOUSEKEEPING_EVERY.as_millis() as i64) {
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
                _ = self.inbox_ready.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Take one batch of due events and handle it. How many events were taken.
    pub async fn run_once(&mut self) -> Result<usize, StoreError> {
        let claimed = self.store.claim_events(BATCH, self.lease.as_millis() as i64).await?;
        let claimed_at = Instant::now();
        if claimed.is_empty() {
            return Ok(0);
        }
        let taken = claimed.len();
        metrics::get().worker_batch_events.observe(taken as f64);
        let _timer = metrics::time(&metrics::get().worker_batch_seconds);
        let workspace = match self.workspace().await {
            Ok(workspace) => workspace,
            Err(e) => {
                // Events wait (they are safe in the inbox) until Slack accepts the token.
                let wait = if e.is_transient() {
                    tracing::warn!(error = %e, "auth.test failed; events wait until Slack answers");
                    backoff(1)
                } else {
                    tracing::error!(error = %e, "Slack does not accept SLACK_BOT_TOKEN; events wait until it does");
                    Duration::from_secs(30)
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
                self.settle_each(rows).await?;
                return Ok(0);
            }
        };
        let decoded: Vec<_> = claimed
            .iter()
            .map(|c| super::inbox::decode(&c.dedupe_key, &c.body))
            .collect();
        let channels = self.load_channels(&decoded).await?;
        let needs: Vec<Needs> = decoded
            .iter()
            .map(|d| d.as_ref().map(|c| handlers::needs(c, &channels)).unwrap_or_default())
            .collect();
        // Lookups stop at half the lease, so the batch is applied while it is still ours.
        let deadline = claimed_at + self.lease / 2;
        let lookups = self.gather(&needs, &channels, &workspace, deadline).await?;

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
            self.set_aside(id, kind, error, report).await?;
        }
        self.outbox_ready.notify_one();
        Ok(taken)
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
                    self.set_aside(event.id, metrics::source_of(&event.dedupe_key), error, report)
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
    async fn set_aside(&self, id: i64, kind: &str, error: String, report: Option<Effect>) -> Result<(), StoreError> {
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
        let effects: Vec<NewEffect> = report.iter().chain(told.iter()).map(NewEffect::of).collect();
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

    async fn workspace(&mut self) -> Result<Workspace, SlackError> {
        if let Some(workspace) = &self.workspace {
            return Ok(workspace.clone());
        }
        let auth = self.slack.auth_test().await?;
        let workspace = Workspace {
            team_id: auth.team_id,
            bot_user_id: auth.user_id,
            url: auth.url,
            email: self.email,
            public_url: self.public_url.clone(),
        };
        tracing::info!(team = %workspace.team_id, bot = %workspace.bot_user_id, "connected to the Slack workspace");
        self.workspace = Some(workspace.clone());
        Ok(workspace)
    }

    async fn load_channels(
        &self,
        decoded: &[Result<Command, events::DecodeError>],
    ) -> Result<HashMap<String, Option<ChannelRecord>>, StoreError> {
        let mut wanted: Vec<String> = decoded.iter().flatten().flat_map(handlers::channels_of).collect();
        wanted.sort();
        wanted.dedup();
        let mut channels: HashMap<String, Option<ChannelRecord>> = wanted.iter().map(|c| (c.clone(), None)).collect();
        for channel in self.store.channels_by_ids(&wanted).await? {
            channels.insert(channel.channel_id.clone(), Some(channel));
        }
        Ok(channels)
    }

    /// Look up what the batch's events need (see [`lookup`]). Slack's failures are
    /// recorded as unavailable facts, not errors: their events wait.
    async fn gather(
        &mut self,
        needs: &[Needs],
        channels: &HashMap<String, Option<ChannelRecord>>,
        workspace: &Workspace,
        deadline: Instant,
    ) -> Result<Lookups, StoreError> {
        let mut lookups = Lookups::default();
        for (channel, ts, with_thread) in needs.iter().filter_map(|n| n.message.as_ref()) {
            let key = (channel.clone(), ts.clone());
            if lookups.messages.contains_key(&key) || lookups.unavailable_messages.contains(&key) {
                continue;
            }
            self.find_message(&mut lookups, channel, ts, *with_thread, channels, deadline)
                .await?;
        }
        if needs.iter().any(|n| n.projects || n.agents) {
            let settings = self.store.settings().await?;
            lookups.roles = settings.roles();
            lookups.projects = self
                .store
                .projects()
                .await?
                .into_iter()
                .map(|p| (p.key.clone(), p))
                .collect();
            lookups.managers = lookups.projects.values().flat_map(|p| p.managers()).collect();
            lookups.settings = settings;
        }
        let mut users: Vec<String> = needs.iter().flat_map(|n| n.users.iter().cloned()).collect();
        users.extend(lookups.authors());
        users.extend(lookups.settings.facilitator.as_ref().map(|f| f.slack_user_id.clone()));
        for user in users {
            if lookups.users.contains_key(&user) || lookups.unavailable_users.contains(&user) {
                continue;
            }
            if Instant::now() >= deadline {
                lookups.unavailable_users.insert(user);
                continue;
            }
            match self.user(&user, workspace).await {
                Ok(record) => {
                    lookups.users.insert(user, record);
                }
                Err(e) => {
                    tracing::warn!(slack.user = %user, error = %e, "users.info failed; the user's events wait");
                    lookups.unavailable_users.insert(user);
                }
            }
        }
        if needs.iter().any(|n| n.agents) {
            match self.agents().await {
                Ok(agents) => lookups.agents = Some(agents),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the agent channels' members; their events wait");
                    lookups.agents_unavailable = true;
                }
            }
        }
        Ok(lookups)
    }

    /// A message (and, when wanted, its thread): from deskhand's own record of support
    /// channels, or from Slack when it is not there.
    async fn find_message(
        &mut self,
        lookups: &mut Lookups,
        channel: &str,
        ts: &str,
        with_thread: bool,
        channels: &HashMap<String, Option<ChannelRecord>>,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        if let Some(message) = self.store.channel_message(channel, ts).await? {
            let parent = message.thread_ts.clone().filter(|_| message.is_reply());
            let thread = match (&parent, with_thread) {
                (Some(parent), true) => self.store.thread_messages(channel, parent).await?,
                _ => Vec::new(),
            };
            if parent.is_none() || !with_thread || thread.iter().any(|m| Some(&m.ts) == parent.as_ref()) {
                let thread = if thread.is_empty() { vec![message] } else { thread };
                lookups.learn(channel, ts, thread, false);
                return Ok(());
            }
        }
        let key = (channel.to_owned(), ts.to_owned());
        if Instant::now() >= deadline {
            lookups.unavailable_messages.insert(key);
            return Ok(());
        }
        let keep = channels
            .get(channel)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.is_support());
        match self.slack.fetch_message(channel, ts).await {
            Ok(Some(thread)) => {
                let thread = thread.into_iter().map(|m| lookup::kept(channel, m)).collect();
                lookups.learn(channel, ts, thread, keep);
            }
            Ok(None) => tracing::info!(channel, ts, "Slack has no such message (deleted?); nothing to file"),
            Err(e) if e.is_transient() => {
                tracing::warn!(channel, ts, error = %e, "could not read a message from Slack; its event waits");
                lookups.unavailable_messages.insert(key);
            }
            Err(e) => tracing::warn!(channel, ts, error = %e, "Slack would not give a message; nothing to file"),
        }
        Ok(())
    }

    /// Everyone in an agent channel: agents. Remembered for a few minutes.
    async fn agents(&mut self) -> Result<HashSet<String>, anyhow::Error> {
        if let Some((agents, at)) = &self.agents {
            if at.elapsed() < AGENTS_TTL {
                return Ok(agents.clone());
            }
        }
        let mut agents = HashSet::new();
        for channel in self.store.channels().await? {
            if channel.is_agent() {
                agents.extend(self.slack.conversations_members(&channel.channel_id).await?);
            }
        }
        self.agents = Some((agents.clone(), Instant::now()));
        Ok(agents)
    }

    async fn user(&mut self, user_id: &str, workspace: &Workspace) -> Result<SlackUserRecord, SlackError> {
        if let Some((record, at)) = self.users.get(user_id) {
            if at.elapsed() < USER_MEMORY_TTL {
                return Ok(record.clone());
            }
        }
        let cached = self.store.slack_user(user_id).await.ok().flatten();
        let record = match cached {
            Some(record) if self.store.now_ms() - record.fetched_at < USER_DB_TTL_MS => record,
            _ => self.fetch_user(user_id, workspace).await?,
        };
        self.users.insert(user_id.to_owned(), (record.clone(), Instant::now()));
        Ok(record)
    }

    async fn fetch_user(&self, user_id: &str, workspace: &Workspace) -> Result<SlackUserRecord, SlackError> {
        let user = match self.slack.users_info(user_id).await {
            Ok(user) => user,
            // Slack does not know them (e.g. some Slack Connect users): nobody the desk
            // can verify, but their message is still kept.
            Err(SlackError::Api(error)) if error == "user_not_found" => {
                return Ok(SlackUserRecord {
                    slack_user_id: user_id.to_owned(),
                    team_id: String::new(),
                    name: user_id.to_owned(),
                    display_name: user_id.to_owned(),
                    email: None,
                    is_bot: false,
                    is_restricted: false,
                    is_ultra_restricted: false,
                    deleted: false,
                    person_id: None,
                    fetched_at: self.store.now_ms(),
                    is_admin: false,
                })
            }
            Err(e) => return Err(e),
        };
        let record = SlackUserRecord {
            slack_user_id: user.id.clone(),
            team_id: user.team_id.clone(),
            name: user.name.clone(),
            display_name: user.display_name(),
            email: user.profile.email.clone(),
            is_bot: user.is_bot,
            is_restricted: user.is_restricted,
            is_ultra_restricted: user.is_ultra_restricted,
            deleted: user.deleted,
            person_id: None,
            fetched_at: self.store.now_ms(),
            is_admin: user.is_admin || user.is_owner,
        };
        let link = match identity::verify(&profile(&record), &workspace.team_id) {
            Verification::Verified { email } => PersonLink::ByEmail(email),
            Verification::Unverified(_) => PersonLink::None,
        };
        let linked = matches!(link, PersonLink::ByEmail(_));
        // A user we could not store is still known for this batch; storing is retried
        // on the next lookup.
        match self.store.save_slack_user(&record, link).await {
            Ok(saved) => {
                // Someone who was a guest may be a member now: what they wrote while they
                // could not be helped is filed.
                if linked {
                    match crate::admin::parked::release_user(&self.store, user_id).await {
                        Ok(crate::admin::parked::Released { filed: 0, reported: 0 }) => {}
                        Ok(crate::admin::parked::Released {
                            filed: released,
                            reported,
                        }) => {
                            tracing::info!(slack.user = %user_id, released, reported, "a newly linked person's parked messages are filed");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not hand back a newly linked person's parked messages")
                        }
                    }
                }
                Ok(saved)
            }
            Err(e) => {
                tracing::warn!(slack.user = %user_id, error = %e, "could not store a looked-up user");
                Ok(record)
            }
        }
    }
}
