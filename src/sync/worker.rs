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

use crate::desk::identity::{self, SlackProfile, Unverified, Verification};
use crate::desk::rules::{self, ChannelKind, ChannelRules, Outcome, Thread};
use crate::desk::{self, Priority, Source, INITIAL_STATUS};
use crate::slack::api::{permalink, SlackApi, SlackError};
use crate::slack::events::{self, Command, PostedMessage, SlackFile};
use crate::store::{
    now_ms, ChannelRecord, ClaimedEvent, NewAttachment, NewComment, NewParked, NewTicket, PersonLink, Settle,
    SlackUserRecord, Store, StoreError, Tx,
};
use crate::sync::backoff;
use crate::sync::effects::{Effect, AGENT_CARD};

/// Events taken per batch.
const BATCH: i64 = 512;
/// How often to look for work nobody announced (another replica's, or retries coming due).
const POLL: Duration = Duration::from_millis(250);
/// An event that fails this often is set aside as failed, with its error.
const MAX_ATTEMPTS: i64 = 8;
/// How long a looked-up user is trusted, in memory and in the database.
const USER_MEMORY_TTL: Duration = Duration::from_secs(600);
const USER_DB_TTL_MS: i64 = 3_600_000;

/// What `auth.test` says about the workspace and deskhand's own bot user.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub team_id: String,
    pub bot_user_id: String,
    pub url: String,
}

pub struct Worker {
    store: Store,
    slack: SlackApi,
    inbox_ready: Arc<Notify>,
    outbox_ready: Arc<Notify>,
    workspace: Option<Workspace>,
    users: HashMap<String, (SlackUserRecord, Instant)>,
    /// How long a claimed batch is ours before another worker may take it.
    lease: Duration,
}

/// Everything a batch needs that was read or fetched before its transaction.
struct Facts<'a> {
    workspace: &'a Workspace,
    channels: &'a HashMap<String, Option<ChannelRecord>>,
    users: &'a HashMap<String, SlackUserRecord>,
}

#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event could not be read: {0}")]
    Decode(#[from] events::DecodeError),
}

impl Worker {
    pub fn new(
        store: Store,
        slack: SlackApi,
        inbox_ready: Arc<Notify>,
        outbox_ready: Arc<Notify>,
        lease: Duration,
    ) -> Self {
        Self {
            lease,
            store,
            slack,
            inbox_ready,
            outbox_ready,
            workspace: None,
            users: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut last_purge = Instant::now();
        loop {
            match self.run_once().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => tracing::error!(error = %e, "worker could not take events; trying again"),
            }
            if last_purge.elapsed() > Duration::from_secs(3600) {
                last_purge = Instant::now();
                if let Err(e) = self.store.purge_finished(now_ms() - 7 * 86_400_000).await {
                    tracing::warn!(error = %e, "could not purge finished queue rows");
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
                let due_at = now_ms() + wait.as_millis() as i64;
                let rows: Vec<_> = claimed.iter().map(|c| (c.id, Settle::Defer { due_at })).collect();
                self.settle_each(rows).await?;
                return Ok(0);
            }
        };
        let decoded: Vec<_> = claimed.iter().map(|c| events::decode(&c.body)).collect();
        let channels = self.load_channels(&decoded).await?;
        // Lookups stop at half the lease, so the batch is applied while it is still ours.
        let deadline = claimed_at + self.lease / 2;
        let (users, unavailable) = self.resolve_users(&decoded, &channels, &workspace, deadline).await;

        // Which events wait this round: those whose author could not be looked up, and
        // everything after them in the same channel.
        let mut waiting = Vec::new();
        let mut held_keys = HashSet::new();
        let mut ready = Vec::new();
        for (event, command) in claimed.iter().zip(&decoded) {
            let author_unavailable =
                matches!(command, Ok(Command::Posted(m)) if m.user.as_ref().is_some_and(|u| unavailable.contains(u)));
            if held_keys.contains(&event.order_key) {
                waiting.push((
                    event.id,
                    Settle::Defer {
                        due_at: now_ms() + 1000,
                    },
                ));
            } else if author_unavailable {
                held_keys.insert(event.order_key.clone());
                let due_at = now_ms() + backoff(event.attempts).as_millis() as i64;
                waiting.push((
                    event.id,
                    Settle::Retry {
                        due_at,
                        error: "users.info unavailable".into(),
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
            users: &users,
        };
        if let Err(e) = self.apply_batch(&ready, &facts).await {
            tracing::warn!(error = %e, batch = ready.len(), "batch failed; handling its events one by one");
            self.apply_one_by_one(&ready, &facts).await?;
        }
        self.settle_each(waiting).await?;
        self.outbox_ready.notify_one();
        Ok(taken)
    }

    async fn apply_batch(
        &self,
        ready: &[(&ClaimedEvent, &Result<Command, events::DecodeError>)],
        facts: &Facts<'_>,
    ) -> Result<(), ApplyError> {
        let mut tx = self.store.begin().await?;
        for (event, command) in ready {
            match command {
                Ok(command) => apply(&mut tx, event, command, facts).await?,
                Err(e) => {
                    tracing::warn!(inbox.id = event.id, error = %e, body = %event.body, "an event deskhand cannot read was set aside");
                    Store::settle_event(&mut tx, event.id, &Settle::Fail { error: e.to_string() }).await?;
                    continue;
                }
            }
            Store::settle_event(&mut tx, event.id, &Settle::Done).await?;
        }
        tx.commit().await?;
        Ok(())
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
                        due_at: now_ms() + 1000,
                    },
                )])
                .await?;
                continue;
            }
            let outcome = self.apply_batch(&[(event, command)], facts).await;
            if let Err(e) = outcome {
                held_keys.insert(event.order_key.clone());
                let settle = if event.attempts >= MAX_ATTEMPTS {
                    tracing::error!(inbox.id = event.id, error = %e, body = %event.body, "giving up on an event after {MAX_ATTEMPTS} attempts");
                    Settle::Fail { error: e.to_string() }
                } else {
                    tracing::warn!(inbox.id = event.id, error = %e, "event failed; will retry");
                    Settle::Retry {
                        due_at: now_ms() + backoff(event.attempts).as_millis() as i64,
                        error: e.to_string(),
                        ambiguous: false,
                    }
                };
                self.settle_each(vec![(event.id, settle)]).await?;
            }
        }
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
        };
        tracing::info!(team = %workspace.team_id, bot = %workspace.bot_user_id, "connected to the Slack workspace");
        self.workspace = Some(workspace.clone());
        Ok(workspace)
    }

    async fn load_channels(
        &self,
        decoded: &[Result<Command, events::DecodeError>],
    ) -> Result<HashMap<String, Option<ChannelRecord>>, StoreError> {
        let mut channels = HashMap::new();
        for command in decoded.iter().flatten() {
            let channel = match command {
                Command::Posted(m) => &m.channel,
                Command::Edited { channel, .. } | Command::Deleted { channel, .. } => channel,
                Command::Ignored { .. } => continue,
            };
            if !channels.contains_key(channel) {
                channels.insert(channel.clone(), self.store.channel(channel).await?);
            }
        }
        Ok(channels)
    }

    /// Look up the authors of new messages in served channels. Returns who is known, and
    /// who could not be looked up right now.
    async fn resolve_users(
        &mut self,
        decoded: &[Result<Command, events::DecodeError>],
        channels: &HashMap<String, Option<ChannelRecord>>,
        workspace: &Workspace,
        deadline: Instant,
    ) -> (HashMap<String, SlackUserRecord>, HashSet<String>) {
        let mut known = HashMap::new();
        let mut unavailable = HashSet::new();
        for command in decoded.iter().flatten() {
            let Command::Posted(message) = command else {
                continue;
            };
            let Some(user) = &message.user else { continue };
            let served = channels.get(&message.channel).is_some_and(Option::is_some);
            if message.from_bot || !served || known.contains_key(user) || unavailable.contains(user) {
                continue;
            }
            if Instant::now() >= deadline {
                unavailable.insert(user.clone());
                continue;
            }
            match self.user(user, workspace).await {
                Ok(record) => {
                    known.insert(user.clone(), record);
                }
                Err(e) => {
                    tracing::warn!(slack.user = %user, error = %e, "users.info failed; the user's events wait");
                    unavailable.insert(user.clone());
                }
            }
        }
        (known, unavailable)
    }

    async fn user(&mut self, user_id: &str, workspace: &Workspace) -> Result<SlackUserRecord, SlackError> {
        if let Some((record, at)) = self.users.get(user_id) {
            if at.elapsed() < USER_MEMORY_TTL {
                return Ok(record.clone());
            }
        }
        let cached = self.store.slack_user(user_id).await.ok().flatten();
        let record = match cached {
            Some(record) if now_ms() - record.fetched_at < USER_DB_TTL_MS => record,
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
                    fetched_at: now_ms(),
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
            fetched_at: now_ms(),
        };
        let link = match identity::verify(&profile(&record), &workspace.team_id) {
            Verification::Verified { email } => PersonLink::ByEmail(email),
            Verification::Unverified(_) => PersonLink::None,
        };
        // A user we could not store is still known for this batch; storing is retried
        // on the next lookup.
        match self.store.save_slack_user(&record, link).await {
            Ok(saved) => Ok(saved),
            Err(e) => {
                tracing::warn!(slack.user = %user_id, error = %e, "could not store a looked-up user");
                Ok(record)
            }
        }
    }
}

fn profile(record: &SlackUserRecord) -> SlackProfile<'_> {
    SlackProfile {
        team_id: &record.team_id,
        is_bot: record.is_bot,
        is_restricted: record.is_restricted,
        is_ultra_restricted: record.is_ultra_restricted,
        deleted: record.deleted,
        email: record.email.as_deref(),
    }
}

fn channel_rules(channel: &ChannelRecord) -> ChannelRules<'_> {
    ChannelRules {
        kind: if channel.kind == "agent" {
            ChannelKind::Agent
        } else {
            ChannelKind::Support
        },
        auto_create: channel.auto_create,
        thread_sync: channel.thread_sync,
        announcement_marker: &channel.announcement_marker,
    }
}

async fn enqueue(tx: &mut Tx, effect: Effect) -> Result<(), StoreError> {
    Store::enqueue_effect(tx, &effect.to_new()).await.map(|_| ())
}

async fn apply(tx: &mut Tx, event: &ClaimedEvent, command: &Command, facts: &Facts<'_>) -> Result<(), ApplyError> {
    let channel_of = |id: &str| facts.channels.get(id).and_then(Option::as_ref);
    match command {
        Command::Posted(message) => on_posted(tx, event, message, channel_of(&message.channel), facts).await?,
        Command::Edited {
            channel,
            ts,
            text,
            from_bot,
            ..
        } if !from_bot => on_edited(tx, channel, ts, text).await?,
        Command::Deleted { channel, ts } => on_deleted(tx, channel, ts).await?,
        Command::Edited { .. } => {}
        Command::Ignored { what } => {
            tracing::debug!(inbox.id = event.id, what = %what, "acknowledged and ignored");
        }
    }
    Ok(())
}

async fn on_posted(
    tx: &mut Tx,
    event: &ClaimedEvent,
    message: &PostedMessage,
    channel: Option<&ChannelRecord>,
    facts: &Facts<'_>,
) -> Result<(), StoreError> {
    let from_bot = message.from_bot || message.user.as_deref() == Some(facts.workspace.bot_user_id.as_str());
    let desk_message = rules::Message {
        ts: &message.ts,
        thread_ts: message.thread_ts.as_deref(),
        text: &message.text,
        from_bot: from_bot || message.user.is_none(),
    };
    let thread = match (channel, desk_message.is_reply()) {
        (Some(channel), true) => {
            let parent = message.thread_ts.as_deref().unwrap_or_default();
            if channel.kind == "agent" {
                Store::ticket_by_posted(tx, AGENT_CARD, &message.channel, parent)
                    .await?
                    .map(|t| Thread::AgentCard { ticket_id: t.id })
            } else {
                Store::ticket_by_message(tx, &message.channel, parent)
                    .await?
                    .map(|t| Thread::Support { ticket_id: t.id })
            }
        }
        _ => None,
    }
    .unwrap_or(Thread::Unknown);
    let author = message.user.as_ref().and_then(|u| facts.users.get(u));
    let verification = match author {
        Some(author) => identity::verify(&profile(author), &facts.workspace.team_id),
        None => Verification::Unverified(Unverified::OtherWorkspace),
    };
    let outcome = rules::on_message(
        channel.map(channel_rules).as_ref(),
        &desk_message,
        thread,
        &verification,
    );
    let (Some(channel), Some(author)) = (channel, author) else {
        tracing::debug!(
            inbox.id = event.id,
            ?outcome,
            "message in a channel deskhand does not serve"
        );
        return Ok(());
    };
    match outcome {
        Outcome::FileTicket => file_ticket(tx, channel, message, author, facts).await,
        Outcome::Comment { ticket_id, visibility } => {
            if Store::comment_by_message(tx, &message.channel, &message.ts)
                .await?
                .is_some()
            {
                return Ok(());
            }
            let link = permalink(
                &facts.workspace.url,
                &message.channel,
                &message.ts,
                message.thread_ts.as_deref(),
            );
            let comment = Store::insert_comment(
                tx,
                &NewComment {
                    ticket_id,
                    visibility: visibility.as_str(),
                    body: &message.text,
                    author_person_id: author.person_id,
                    author_slack_id: &author.slack_user_id,
                    author_name: &author.display_name,
                    channel_id: &message.channel,
                    message_ts: &message.ts,
                    permalink: &link,
                },
            )
            .await?;
            attach_files(tx, ticket_id, Some(comment.id), &message.files).await?;
            let detail =
                serde_json::json!({ "comment": comment.id, "visibility": visibility.as_str(), "permalink": link });
            Store::insert_audit(
                tx,
                Some(ticket_id),
                Some(&author.slack_user_id),
                Some(&author.display_name),
                "slack",
                "comment_added",
                &detail,
            )
            .await
        }
        Outcome::Park(reason) => {
            let parked = Store::park_message(
                tx,
                &NewParked {
                    channel_id: &message.channel,
                    slack_user_id: &author.slack_user_id,
                    ts: &message.ts,
                    thread_ts: message.thread_ts.as_deref(),
                    text: &message.text,
                    reason: reason.as_str(),
                    event: &event.body,
                },
            )
            .await?;
            if parked {
                tracing::info!(slack.user = %author.slack_user_id, channel = %message.channel, reason = reason.as_str(), "parked a message from an unverified user");
                enqueue(
                    tx,
                    Effect::PostEphemeral {
                        channel: message.channel.clone(),
                        user: author.slack_user_id.clone(),
                        thread_ts: message.thread_ts.clone(),
                        text: reason.explanation().to_owned(),
                    },
                )
                .await?;
            }
            Ok(())
        }
        Outcome::Ignore(why) => {
            tracing::debug!(inbox.id = event.id, ?why, "message files nothing");
            Ok(())
        }
    }
}

async fn file_ticket(
    tx: &mut Tx,
    channel: &ChannelRecord,
    message: &PostedMessage,
    author: &SlackUserRecord,
    facts: &Facts<'_>,
) -> Result<(), StoreError> {
    if Store::ticket_by_message(tx, &message.channel, &message.ts)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let Some(project) = channel.project_key.as_deref() else {
        tracing::warn!(channel = %channel.channel_id, "support channel has no project; nothing filed");
        return Ok(());
    };
    let link = permalink(&facts.workspace.url, &message.channel, &message.ts, None);
    let summary = desk::summary_from(&message.text);
    let ticket = Store::insert_ticket(
        tx,
        &NewTicket {
            project_key: project,
            summary: &summary,
            description: &message.text,
            status: INITIAL_STATUS,
            priority: Priority::Normal.as_str(),
            source: Source::ChannelMessage.as_str(),
            requester_person_id: author.person_id,
            requester_slack_id: &author.slack_user_id,
            requester_name: &author.display_name,
            channel_id: &message.channel,
            message_ts: &message.ts,
            permalink: &link,
        },
    )
    .await?;
    attach_files(tx, ticket.id, None, &message.files).await?;
    let detail = serde_json::json!({ "key": ticket.key, "summary": ticket.summary, "permalink": link });
    Store::insert_audit(
        tx,
        Some(ticket.id),
        Some(&author.slack_user_id),
        Some(&author.display_name),
        "slack",
        "ticket_created",
        &detail,
    )
    .await?;
    tracing::info!(ticket.key = %ticket.key, channel = %message.channel, "filed a ticket");
    enqueue(tx, Effect::PostThreadReply { ticket_id: ticket.id }).await?;
    if let Some(agents) = &channel.agent_channel {
        enqueue(
            tx,
            Effect::PostAgentCard {
                ticket_id: ticket.id,
                channel: agents.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

async fn attach_files(
    tx: &mut Tx,
    ticket_id: i64,
    comment_id: Option<i64>,
    files: &[SlackFile],
) -> Result<(), StoreError> {
    for file in files {
        let name = file.name.as_deref().or(file.title.as_deref()).unwrap_or(&file.id);
        Store::insert_attachment(
            tx,
            ticket_id,
            comment_id,
            &NewAttachment {
                slack_file_id: &file.id,
                name,
                mimetype: file.mimetype.as_deref().unwrap_or("application/octet-stream"),
                size: file.size.unwrap_or(0),
                permalink: file.permalink.as_deref().unwrap_or_default(),
            },
        )
        .await?;
    }
    Ok(())
}

/// The messages about a ticket that show its text: refresh them after it changes. A
/// message that was never posted is skipped by the dispatcher, so both are always asked.
async fn refresh_ticket_messages(tx: &mut Tx, ticket_id: i64) -> Result<(), StoreError> {
    enqueue(tx, Effect::RefreshThreadReply { ticket_id }).await?;
    enqueue(tx, Effect::RefreshAgentCard { ticket_id }).await
}

async fn on_edited(tx: &mut Tx, channel_id: &str, ts: &str, text: &str) -> Result<(), StoreError> {
    if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
        if !rules::edit_changes_text(&ticket.description, text) {
            return Ok(());
        }
        Store::update_ticket_text(tx, ticket.id, &desk::summary_from(text), text).await?;
        let detail = serde_json::json!({ "previous": ticket.description, "text": text });
        Store::insert_audit(
            tx,
            Some(ticket.id),
            Some(&ticket.requester_slack_id),
            Some(&ticket.requester_name),
            "slack",
            "ticket_edited",
            &detail,
        )
        .await?;
        return refresh_ticket_messages(tx, ticket.id).await;
    }
    if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
        if !rules::edit_changes_text(&comment.body, text) {
            return Ok(());
        }
        Store::update_comment_body(tx, comment.id, text).await?;
        let detail = serde_json::json!({ "comment": comment.id, "previous": comment.body, "text": text });
        Store::insert_audit(
            tx,
            Some(comment.ticket_id),
            Some(&comment.author_slack_id),
            Some(&comment.author_name),
            "slack",
            "comment_edited",
            &detail,
        )
        .await?;
    }
    Ok(())
}

async fn on_deleted(tx: &mut Tx, channel_id: &str, ts: &str) -> Result<(), StoreError> {
    if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
        if ticket.deleted_at.is_some() {
            return Ok(());
        }
        Store::mark_ticket_deleted(tx, ticket.id).await?;
        let detail = serde_json::json!({ "text": ticket.description });
        Store::insert_audit(
            tx,
            Some(ticket.id),
            Some(&ticket.requester_slack_id),
            Some(&ticket.requester_name),
            "slack",
            "ticket_message_deleted",
            &detail,
        )
        .await?;
        return refresh_ticket_messages(tx, ticket.id).await;
    }
    if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
        if comment.deleted_at.is_none() {
            Store::mark_comment_deleted(tx, comment.id).await?;
            let detail = serde_json::json!({ "comment": comment.id, "text": comment.body });
            Store::insert_audit(
                tx,
                Some(comment.ticket_id),
                Some(&comment.author_slack_id),
                Some(&comment.author_name),
                "slack",
                "comment_deleted",
                &detail,
            )
            .await?;
        }
    }
    Ok(())
}
