//! The dispatcher: outbox → each effect's target (the Slack Web API today).
//!
//! It keeps up to [`MAX_IN_FLIGHT`] effects claimed at once, each on its own task, of
//! which [`CALLS_AT_ONCE`] make their calls at a time (what someone waits for never waits
//! for a turn), and records how each ended through a group commit. The outbox hands out
//! one effect per Slack message at a time, so an update never overtakes the post it edits.
//!
//! Posting is made safe to repeat: every post carries its effect id in Slack message
//! metadata, and an effect whose earlier attempt may have posted (a timeout, a 5xx, a
//! crash mid-call) first looks for that post in the thread or channel and, when it finds
//! it, records it instead of posting again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::desk::effects::{Effect, Target, AGENT_CARD, THREAD_REPLY};
use crate::metrics;
use crate::slack::api::{effect_metadata, PostMessage, SlackApi, SlackError};
use crate::slack::kit::Block;
use crate::slack::workspaces::{NoClient, Workspaces};
use crate::slack::{blocks, views};
use crate::store::GroupCommit;
use crate::store::{ClaimedEffect, NewTicketMessage, ProjectRecord, Settle, Store, StoreError, TicketRecord};
use crate::sync::jira::{JiraDone, JiraSender};
use crate::sync::lost_posts::ChannelSearches;
use crate::sync::mail::Mailer;
use crate::sync::ratelimit::ChannelPacer;

/// How many effects may be claimed and not yet recorded at once.
pub const MAX_IN_FLIGHT: usize = 256;
/// How many of them make their calls at once. Claims stay large (each is a write), while
/// the connections, buffers and tasks of calls under way are kept to what a fast Slack
/// keeps busy: a call made beside 63 others finishes no later for it.
pub const CALLS_AT_ONCE: usize = 64;
/// While effects are in flight, wait until this many slots are free before claiming more.
const CLAIM_AT_LEAST: usize = 64;
/// The most effects one claim takes.
const CLAIM_AT_MOST: usize = 128;
const POLL: Duration = Duration::from_millis(250);

/// How an effect ended, and what it posted.
#[derive(Clone)]
pub(super) struct Completion {
    pub(super) id: i64,
    pub(super) settle: Settle,
    pub(super) posted: Option<NewTicketMessage>,
    /// A form's request now has a conversation: its link.
    pub(super) permalink: Option<(i64, String)>,
    /// What Jira answered that the mirror keeps.
    pub(super) jira: Option<Box<JiraDone>>,
}

/// How long a project's workflow and a channel's thread sync are remembered.
const MEMORY_TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Dispatcher {
    pub(super) store: Store,
    /// The client of the effect under way: its installation's token.
    pub(super) slack: SlackApi,
    workspaces: Workspaces,
    pub(super) pacer: Arc<ChannelPacer>,
    ready: Arc<Notify>,
    completions: GroupCommit<Completion, ()>,
    slots: Arc<Semaphore>,
    /// Turns to make calls: [`CALLS_AT_ONCE`].
    calls: Arc<Semaphore>,
    /// How long a claimed effect is ours: longer than the calls it makes.
    lease: Duration,
    /// How long a claimed effect may wait for its turn to call: what the lease leaves
    /// beside the calls it makes. One that waits longer goes back untried.
    call_wait: Duration,
    /// Whether each channel syncs its threads, lately read.
    pub(super) synced: Remembered,
    pub(super) mailer: Option<Mailer>,
    pub(super) jira: JiraSender,
    /// The projects as read when the batch under way was claimed: its posts render from
    /// them instead of each reading its project again.
    pub(super) projects: Arc<HashMap<String, ProjectRecord>>,
    /// The channel histories the batch under way read for its lost posts.
    searches: Arc<ChannelSearches>,
}

/// Yes-or-no settings read from the store, remembered for [`MEMORY_TTL`].
#[derive(Clone, Default)]
pub(super) struct Remembered(Arc<Mutex<HashMap<String, (bool, Instant)>>>);

impl Remembered {
    pub(super) fn get(&self, key: &str) -> Option<bool> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < MEMORY_TTL)
            .map(|(value, _)| *value)
    }

    pub(super) fn put(&self, key: &str, value: bool) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key.to_owned(), (value, Instant::now()));
    }
}

impl Dispatcher {
    pub fn new(
        store: Store,
        workspaces: Workspaces,
        pacer: ChannelPacer,
        ready: Arc<Notify>,
        lease: Duration,
        mailer: Option<Mailer>,
        jira: JiraSender,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (completions, writer) = GroupCommit::spawn(store.clone(), ready.clone(), super::settle::record_completions);
        let dispatcher = Self {
            store,
            slack: workspaces.configured().clone(),
            workspaces,
            pacer: Arc::new(pacer),
            ready,
            completions,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            calls: Arc::new(Semaphore::new(CALLS_AT_ONCE)),
            lease,
            // Safe under any lease until told what it leaves (`waiting_for_a_turn_at_most`).
            call_wait: Duration::ZERO,
            synced: Remembered::default(),
            mailer,
            jira,
            projects: Arc::default(),
            searches: Arc::default(),
        };
        (dispatcher, writer)
    }

    /// Effects wait at most this long for their turn to call (see [`Dispatcher::call_wait`]).
    pub fn waiting_for_a_turn_at_most(self, call_wait: Duration) -> Self {
        Self { call_wait, ..self }
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            // A claim that got fewer than it asked for took everything due: the next one
            // waits until something new is committed (or the poll comes round), instead of
            // asking again at once for nothing.
            let asked = self.slots.available_permits().min(CLAIM_AT_MOST);
            match self.dispatch_once().await {
                Ok(started) if started > 0 && started >= asked => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "dispatcher could not take effects; trying again")
                }
            }
            tokio::select! {
                _ = self.ready.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
        // Let the calls under way finish and be recorded; what is cut off is claimed again
        // after its lease, as ambiguous.
        let _ = tokio::time::timeout(Duration::from_secs(10), self.slots.acquire_many(MAX_IN_FLIGHT as u32)).await;
    }

    /// Claim as many due effects as there are free slots and start them. How many started.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        let free = self.slots.available_permits();
        // Under load, claim the backlog in large batches rather than one claim per
        // finished effect: each claim is a write transaction of its own. What someone
        // waits for (a modal) is claimed into any free slot at once.
        let urgent_only = free < CLAIM_AT_LEAST;
        if free == 0 {
            return Ok(0);
        }
        let claimed = self
            .store
            .claim_effects(
                free.min(CLAIM_AT_MOST) as i64,
                self.lease.as_millis() as i64,
                urgent_only,
            )
            .await?;
        let started = claimed.len();
        if started > 0 {
            metrics::get().dispatcher_batch_effects.observe(started as f64);
        }
        // The tickets the posts render, read at once; a read that fails here is retried
        // by each effect on its own.
        let ticket_ids: Vec<i64> = claimed.iter().filter_map(|c| ticket_to_post(&c.payload)).collect();
        let tickets: HashMap<i64, TicketRecord> = match self.store.tickets_by_ids(&ticket_ids).await {
            Ok(tickets) => tickets.into_iter().map(|t| (t.id, t)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the tickets of a batch of effects");
                HashMap::new()
            }
        };
        let projects: Arc<HashMap<String, ProjectRecord>> = match tickets.is_empty() {
            true => Arc::default(),
            false => match self.store.projects().await {
                Ok(projects) => Arc::new(projects.into_iter().map(|p| (p.key.clone(), p)).collect()),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the projects of a batch of effects");
                    Arc::default()
                }
            },
        };
        let searches = Arc::new(ChannelSearches::for_batch(&claimed));
        for effect in claimed {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                break;
            };
            let mut this = self.clone();
            this.projects = projects.clone();
            this.searches = searches.clone();
            // A ticket's reply and card are usually claimed together: both use the one read.
            let ticket = ticket_to_post(&effect.payload).and_then(|id| tickets.get(&id).cloned());
            tokio::spawn(async move {
                let Some(turn) = this.turn(&effect).await else {
                    return;
                };
                // Boxed: a task waiting for its turn holds only what it was given, not the
                // state of the calls it is to make.
                let completion = Box::pin(this.execute(&effect, ticket)).await;
                drop(turn);
                if let Err(e) = this.completions.submit(completion).await {
                    // The lease runs out and the effect is tried again: nothing is lost.
                    tracing::error!(effect.id = %effect.effect_id, error = %e, "could not record an effect's outcome");
                }
                drop(slot);
            });
        }
        Ok(started)
    }

    /// Wait for a turn to call, unless someone waits for the effect. `None`: none came in
    /// time, so the effect went back to the outbox untried, to be claimed again.
    async fn turn(&self, effect: &ClaimedEffect) -> Option<Option<OwnedSemaphorePermit>> {
        if effect.urgent {
            return Some(None);
        }
        match tokio::time::timeout(self.call_wait, self.calls.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Some(Some(turn)),
            // Closed: never, the semaphore lives as long as the dispatcher.
            Ok(Err(_)) => Some(None),
            Err(_) => {
                if let Err(e) = self.completions.submit(self.untried(effect)).await {
                    tracing::error!(effect.id = %effect.effect_id, error = %e, "could not hand back an effect that waited for its turn");
                }
                None
            }
        }
    }

    /// Carry an effect out with its target's sender.
    #[tracing::instrument(skip_all, fields(effect.id = %claimed.effect_id, effect.kind = %claimed.kind))]
    async fn execute(&self, claimed: &ClaimedEffect, ticket: Option<TicketRecord>) -> Completion {
        let effect: Effect = match serde_json::from_str(&claimed.payload) {
            Ok(effect) => effect,
            Err(e) => return self.failed(claimed, format!("unreadable effect: {e}")),
        };
        let started = std::time::Instant::now();
        let completion = self.carry_out(claimed, &effect, ticket).await;
        metrics::get()
            .effect_seconds
            .get_or_create(&metrics::kind(&claimed.kind))
            .observe(started.elapsed().as_secs_f64());
        if matches!(completion.settle, Settle::Fail { .. }) {
            metrics::get()
                .effects_failed
                .get_or_create(&metrics::kind(&claimed.kind))
                .inc();
        }
        completion
    }

    async fn carry_out(&self, claimed: &ClaimedEffect, effect: &Effect, ticket: Option<TicketRecord>) -> Completion {
        match effect.target() {
            Target::Slack => {
                // With the token of the workspace it was made in: its own, else its ticket's.
                let installation = claimed
                    .installation
                    .as_deref()
                    .or_else(|| ticket.as_ref().and_then(|t| t.installation.as_deref()));
                match self.workspaces.client(installation).await {
                    Ok(slack) => {
                        let this = Self { slack, ..self.clone() };
                        this.send_to_slack(claimed, effect, ticket).await
                    }
                    Err(NoClient::Store(e)) => self.retry_store(claimed, e),
                    Err(e) => self.failed(claimed, e.to_string()),
                }
            }
            Target::Email => self.send_mail(claimed, effect).await,
            Target::Jira => self.send_to_jira(claimed, effect, ticket).await,
        }
    }

    /// The Slack sender: Web API calls, paced per channel, safe to repeat.
    async fn send_to_slack(
        &self,
        claimed: &ClaimedEffect,
        effect: &Effect,
        ticket: Option<TicketRecord>,
    ) -> Completion {
        let done = |posted| Completion {
            id: claimed.id,
            settle: Settle::Done,
            posted,
            permalink: None,
            jira: None,
        };
        let result = match effect {
            Effect::PostThreadReply { ticket_id } => match self.ticket(*ticket_id, ticket).await {
                Ok(ticket) if ticket.from_form() => self.post_direct(claimed, &ticket).await,
                Ok(ticket) => {
                    self.post(
                        claimed,
                        &ticket,
                        THREAD_REPLY,
                        &ticket.channel_id,
                        Some(ticket.thread_ts()),
                    )
                    .await
                }
                Err(e) => return self.retry_store(claimed, e),
            },
            Effect::PostAgentCard { ticket_id, channel } => match self.ticket(*ticket_id, ticket).await {
                Ok(ticket) => self.post(claimed, &ticket, AGENT_CARD, channel, None).await,
                Err(e) => return self.retry_store(claimed, e),
            },
            Effect::RefreshThreadReply { ticket_id } => self.refresh(*ticket_id, THREAD_REPLY).await,
            Effect::RefreshAgentCard { ticket_id } => self.refresh(*ticket_id, AGENT_CARD).await,
            Effect::PostEphemeral {
                channel,
                user,
                thread_ts,
                text,
            } => self
                .slack
                .post_ephemeral(channel, user, thread_ts.as_deref(), text)
                .await
                .map(|_| Outcome::Done(None)),
            Effect::PostText {
                channel,
                thread_ts,
                text,
            } => self.post_text(channel, thread_ts.as_deref(), text).await,
            Effect::OpenView { trigger_id, view } => self
                .slack
                .views_open(trigger_id, view)
                .await
                .map(|_| Outcome::Done(None)),
            Effect::UpdateView { view_id, view } => self.update_view(view_id, view).await,
            Effect::ShowFiled { view_id, ticket_id } => match self.store.ticket(*ticket_id).await {
                Ok(ticket) => {
                    let follow = match (ticket.from_form(), &ticket.reporter_slack_id) {
                        (true, Some(_)) => format!(
                            "Its thread is in <@{}>'s direct messages with deskhand.",
                            ticket.requester_slack_id
                        ),
                        (true, None) => {
                            "I've sent you the details in a direct message; reply there to add to it.".into()
                        }
                        (false, _) => "Follow it in the message's thread.".into(),
                    };
                    self.update_view(view_id, &views::filed(&ticket, &follow)).await
                }
                Err(e) => return self.retry_store(claimed, e),
            },
            Effect::Respond {
                response_url,
                text,
                blocks,
            } => {
                let mut body = json!({ "response_type": "ephemeral", "replace_original": false, "text": text });
                if let Some(blocks) = blocks {
                    body["blocks"] = blocks.clone();
                }
                match self.slack.respond(response_url, &body).await {
                    // The link lives 30 minutes: past that there is nobody to answer.
                    Err(SlackError::Api(e)) if e == "expired_url" => {
                        tracing::info!("a response_url had expired; the answer was dropped");
                        Ok(Outcome::Done(None))
                    }
                    other => other.map(|_| Outcome::Done(None)),
                }
            }
            Effect::PublishHome { user, agent } => self.publish_home(user, *agent).await,
            Effect::PostCardNote { ticket_id, text } => self.post_card_note(*ticket_id, text).await,
            Effect::NotifyAgent { user, ticket_id, text } => self.notify_agent(user, *ticket_id, text).await,
            Effect::AskApproval { user, ticket_id } => self.ask_approval(user, *ticket_id).await,
            Effect::AskSatisfaction { ticket_id, resolution } => self.ask_satisfaction(*ticket_id, *resolution).await,
            Effect::RespondReport { response_url, user } => self.respond_report(response_url, user).await,
            Effect::AddCustomer { .. } => self.add_customer(effect).await,
            Effect::AddParticipant { .. } => self.add_participant(effect).await,
            Effect::DirectMessage { user, text } => match self.dm_channel(user).await {
                Ok(channel) => self.post_text(&channel, None, text).await,
                Err(e) => Err(e),
            },
            Effect::AddReaction { channel, ts, name } => {
                if let Err(wait) = self.pacer.take(channel).await {
                    return self.paced(claimed, wait);
                }
                match self.slack.reactions_add(channel, ts, name).await {
                    // The message is gone: nothing left to mark.
                    Err(SlackError::Api(e)) if e == "message_not_found" => Ok(Outcome::Done(None)),
                    other => other.map(|_| Outcome::Done(None)),
                }
            }
            Effect::PostReply { ticket_id, text } => {
                let found = tokio::try_join!(self.store.ticket(*ticket_id), self.store.ticket_messages(*ticket_id));
                match found {
                    Ok((ticket, messages)) => {
                        let thread = if ticket.from_form() {
                            messages
                                .iter()
                                .find(|m| m.role == THREAD_REPLY)
                                .map(|m| (m.channel_id.clone(), m.ts.clone()))
                        } else {
                            Some((ticket.channel_id.clone(), ticket.thread_ts().to_owned()))
                        };
                        match thread {
                            Some((channel, ts)) => self.post_text(&channel, Some(&ts), text).await,
                            None => {
                                return self
                                    .retry_store(claimed, StoreError::Other("its thread is not posted yet".into()))
                            }
                        }
                    }
                    Err(e) => return self.retry_store(claimed, e),
                }
            }
            Effect::Notify { user, ticket_id, text } => match self.store.ticket(*ticket_id).await {
                Ok(ticket) => {
                    let text = format!("{text}\n{}", blocks::ticket_link(&ticket));
                    match self.dm_channel(user).await {
                        Ok(channel) => self.post_text(&channel, None, &text).await,
                        Err(e) => Err(e),
                    }
                }
                Err(e) => return self.retry_store(claimed, e),
            },
            Effect::ReportSetAside {
                agent_channel,
                channel,
                user,
                text,
                error,
            } => {
                self.post_text(
                    agent_channel,
                    None,
                    &blocks::set_aside_report(channel, user, text, error),
                )
                .await
            }
            Effect::ReportParked {
                agent_channel,
                channel,
                messages,
            } => {
                self.post_text(agent_channel, None, &blocks::parked_report(channel, messages))
                    .await
            }
            // Mail and Jira effects go to their own senders (`carry_out`).
            _ => return self.failed(claimed, format!("{} is not a Slack effect", claimed.kind)),
        };
        match result {
            Ok(Outcome::Done(posted)) => done(posted),
            Ok(Outcome::Posted(posted, permalink)) => Completion {
                permalink: Some((posted.ticket_id, permalink)),
                ..done(Some(posted))
            },
            Ok(Outcome::Paced(wait)) => self.paced(claimed, wait),
            Ok(Outcome::Store(e)) => self.retry_store(claimed, e),
            Err(e) => self.slack_failed(claimed, e),
        }
    }

    fn paced(&self, claimed: &ClaimedEffect, wait: Duration) -> Completion {
        Completion {
            id: claimed.id,
            settle: Settle::Defer {
                due_at: self.store.now_ms() + wait.as_millis() as i64,
            },
            posted: None,
            permalink: None,
            jira: None,
        }
    }

    async fn update_view(&self, view_id: &str, view: &serde_json::Value) -> Result<Outcome, SlackError> {
        match self.slack.views_update(view_id, view).await {
            // The person closed the modal: the news reaches them in Slack anyway.
            Err(SlackError::Api(e)) if e == "not_found" || e == "view_not_found" => Ok(Outcome::Done(None)),
            other => other.map(|_| Outcome::Done(None)),
        }
    }

    pub(super) async fn post_text(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> Result<Outcome, SlackError> {
        if let Err(wait) = self.pacer.take(channel).await {
            return Ok(Outcome::Paced(wait));
        }
        let message = PostMessage {
            channel,
            thread_ts,
            text,
            blocks: &[Block::section(text)],
            metadata: None,
            unfurl_links: false,
        };
        self.slack.post_message(&message).await?;
        Ok(Outcome::Done(None))
    }

    /// deskhand's DM channel with a person: remembered in the store once opened.
    pub(super) async fn dm_channel(&self, user: &str) -> Result<String, SlackError> {
        if let Ok(prefs) = self.store.user_prefs(user).await {
            if let Some(channel) = prefs.dm_channel {
                return Ok(channel);
            }
        }
        let channel = self.slack.conversations_open(user).await?;
        if let Err(e) = self.store.save_dm_channel(user, &channel).await {
            tracing::warn!(error = %e, "could not remember a DM channel");
        }
        Ok(channel)
    }

    /// A form's request has no message to answer under: its thread starts in the
    /// requester's DM with deskhand.
    async fn post_direct(&self, claimed: &ClaimedEffect, ticket: &TicketRecord) -> Result<Outcome, SlackError> {
        let channel = self.dm_channel(&ticket.requester_slack_id).await?;
        match self.post(claimed, ticket, THREAD_REPLY, &channel, None).await? {
            Outcome::Done(Some(posted)) => {
                let link = self.slack.permalink(&channel, &posted.ts).await?;
                Ok(Outcome::Posted(posted, link))
            }
            other => Ok(other),
        }
    }

    /// The ticket a post renders: the one read with its batch, or read now.
    async fn ticket(&self, ticket_id: i64, read: Option<TicketRecord>) -> Result<TicketRecord, StoreError> {
        match read {
            Some(ticket) => Ok(ticket),
            None => self.store.ticket(ticket_id).await,
        }
    }

    async fn post(
        &self,
        claimed: &ClaimedEffect,
        ticket: &TicketRecord,
        role: &'static str,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> Result<Outcome, SlackError> {
        let posted = |ts: String| {
            Outcome::Done(Some(NewTicketMessage {
                ticket_id: ticket.id,
                role,
                channel_id: channel.to_owned(),
                ts,
            }))
        };
        if claimed.ambiguous {
            let found = match thread_ts {
                Some(thread_ts) => {
                    self.slack
                        .find_thread_post(channel, thread_ts, &claimed.effect_id)
                        .await?
                }
                None => self.searches.find(&self.slack, channel, &claimed.effect_id).await?,
            };
            if let Some(ts) = found {
                tracing::info!(ticket.key = %ticket.key, ts = %ts, "an earlier attempt had posted; recorded it instead of posting again");
                return Ok(posted(ts));
            }
        }
        if let Err(wait) = self.pacer.take(channel).await {
            return Ok(Outcome::Paced(wait));
        }
        let blocks = self.render(ticket, role).await;
        let message = PostMessage {
            channel,
            thread_ts,
            text: &blocks::ticket_text(ticket),
            blocks: &blocks,
            metadata: Some(effect_metadata(&claimed.effect_id)),
            unfurl_links: false,
        };
        let ts = self.slack.post_message(&message).await?;
        Ok(posted(ts))
    }
}

/// The ticket a post effect renders, read from its payload without decoding it all.
fn ticket_to_post(payload: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Target {
        #[serde(rename = "type")]
        kind: String,
        ticket_id: Option<i64>,
    }
    let target: Target = serde_json::from_str(payload).ok()?;
    matches!(target.kind.as_str(), "post_thread_reply" | "post_agent_card").then_some(target.ticket_id)?
}

pub(super) enum Outcome {
    Done(Option<NewTicketMessage>),
    /// A form's request got its conversation: the post and its link.
    Posted(NewTicketMessage, String),
    /// The channel's pace says wait this long first.
    Paced(Duration),
    Store(StoreError),
}
