//! The dispatcher: outbox → Slack Web API.
//!
//! It keeps up to [`MAX_IN_FLIGHT`] effects running at once, each on its own task, and
//! records how each ended through a group commit. The outbox hands out one effect per
//! Slack message at a time, so an update never overtakes the post it edits.
//!
//! Posting is made safe to repeat: every post carries its effect id in Slack message
//! metadata, and an effect whose earlier attempt may have posted (a timeout, a 5xx, a
//! crash mid-call) first looks for that post in the thread or channel and, when it finds
//! it, records it instead of posting again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};

use crate::slack::api::{effect_metadata, PostMessage, SlackApi, SlackError};
use crate::slack::blocks;
use crate::store::{now_ms, ClaimedEffect, NewTicketMessage, Settle, Store, StoreError, TicketRecord};
use crate::sync::backoff;
use crate::sync::effects::{Effect, AGENT_CARD, THREAD_REPLY};
use crate::sync::group_commit::GroupCommit;
use crate::sync::ratelimit::ChannelPacer;

/// How many Slack calls may be under way at once.
pub const MAX_IN_FLIGHT: usize = 256;
/// While effects are in flight, wait until this many slots are free before claiming more.
const CLAIM_AT_LEAST: usize = 64;
const POLL: Duration = Duration::from_millis(250);

/// How an effect ended, and what it posted.
pub struct Completion {
    id: i64,
    settle: Settle,
    posted: Option<NewTicketMessage>,
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    slack: SlackApi,
    pacer: Arc<ChannelPacer>,
    ready: Arc<Notify>,
    completions: GroupCommit<Completion, ()>,
    slots: Arc<Semaphore>,
    /// How long a claimed effect is ours: longer than the calls it makes.
    lease: Duration,
}

/// Record how effects ended, many to a transaction; the common outcome (done, maybe with
/// a posted message) set-at-a-time.
async fn record_completions(store: Store, completions: Vec<Completion>) -> Result<Vec<()>, StoreError> {
    let count = completions.len();
    let mut posted = Vec::new();
    let mut done = Vec::new();
    let mut other = Vec::new();
    for completion in completions {
        posted.extend(completion.posted);
        match completion.settle {
            Settle::Done => done.push(completion.id),
            settle => other.push((completion.id, settle)),
        }
    }
    let mut tx = store.begin().await?;
    Store::record_ticket_messages(&mut tx, &posted).await?;
    Store::finish_effects(&mut tx, &done).await?;
    for (id, settle) in &other {
        Store::settle_effect(&mut tx, *id, settle).await?;
    }
    tx.commit().await?;
    Ok(vec![(); count])
}

impl Dispatcher {
    pub fn new(
        store: Store,
        slack: SlackApi,
        pacer: ChannelPacer,
        ready: Arc<Notify>,
        lease: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (completions, writer) = GroupCommit::spawn(store.clone(), ready.clone(), record_completions);
        let dispatcher = Self {
            store,
            slack,
            pacer: Arc::new(pacer),
            ready,
            completions,
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            lease,
        };
        (dispatcher, writer)
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.dispatch_once().await {
                Ok(0) => {}
                Ok(_) => continue,
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
        // Under load, claim in large batches rather than one claim per finished effect:
        // each claim is a write transaction of its own.
        if free < CLAIM_AT_LEAST {
            return Ok(0);
        }
        let claimed = self
            .store
            .claim_effects(free.min(128) as i64, self.lease.as_millis() as i64)
            .await?;
        let started = claimed.len();
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
        for effect in claimed {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                break;
            };
            let this = self.clone();
            // A ticket's reply and card are usually claimed together: both use the one read.
            let ticket = ticket_to_post(&effect.payload).and_then(|id| tickets.get(&id).cloned());
            tokio::spawn(async move {
                let completion = this.execute(&effect, ticket).await;
                if let Err(e) = this.completions.submit(completion).await {
                    // The lease runs out and the effect is tried again: nothing is lost.
                    tracing::error!(effect.id = %effect.effect_id, error = %e, "could not record an effect's outcome");
                }
                drop(slot);
            });
        }
        Ok(started)
    }

    #[tracing::instrument(skip_all, fields(effect.id = %claimed.effect_id, effect.kind = %claimed.kind))]
    async fn execute(&self, claimed: &ClaimedEffect, ticket: Option<TicketRecord>) -> Completion {
        let done = |posted| Completion {
            id: claimed.id,
            settle: Settle::Done,
            posted,
        };
        let effect: Effect = match serde_json::from_str(&claimed.payload) {
            Ok(effect) => effect,
            Err(e) => return self.failed(claimed, format!("unreadable effect: {e}")),
        };
        let result = match &effect {
            Effect::PostThreadReply { ticket_id } => match self.ticket(*ticket_id, ticket).await {
                Ok(ticket) => {
                    self.post(
                        claimed,
                        &ticket,
                        THREAD_REPLY,
                        &ticket.channel_id,
                        Some(&ticket.message_ts),
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
        };
        match result {
            Ok(Outcome::Done(posted)) => done(posted),
            Ok(Outcome::Paced(wait)) => Completion {
                id: claimed.id,
                settle: Settle::Defer {
                    due_at: now_ms() + wait.as_millis() as i64,
                },
                posted: None,
            },
            Ok(Outcome::Store(e)) => self.retry_store(claimed, e),
            Err(e) => self.slack_failed(claimed, e),
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
            // Posted in Slack's clock, give or take: look a minute before the effect began.
            let oldest = format!("{}", claimed.created_at / 1000 - 60);
            if let Some(ts) = self
                .slack
                .find_effect_post(channel, thread_ts, &oldest, &claimed.effect_id)
                .await?
            {
                tracing::info!(ticket.key = %ticket.key, ts = %ts, "an earlier attempt had posted; recorded it instead of posting again");
                return Ok(posted(ts));
            }
        }
        if let Err(wait) = self.pacer.try_take(channel) {
            return Ok(Outcome::Paced(wait));
        }
        let blocks = if role == THREAD_REPLY {
            blocks::thread_reply(ticket)
        } else {
            blocks::agent_card(ticket)
        };
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

    async fn refresh(&self, ticket_id: i64, role: &'static str) -> Result<Outcome, SlackError> {
        let (ticket, messages) =
            match tokio::try_join!(self.store.ticket(ticket_id), self.store.ticket_messages(ticket_id)) {
                Ok(found) => found,
                Err(e) => return Ok(Outcome::Store(e)),
            };
        // Nothing was posted (the post failed for good): nothing to update.
        let Some(message) = messages.iter().find(|m| m.role == role) else {
            return Ok(Outcome::Done(None));
        };
        if let Err(wait) = self.pacer.try_take(&message.channel_id) {
            return Ok(Outcome::Paced(wait));
        }
        let blocks = if role == THREAD_REPLY {
            blocks::thread_reply(&ticket)
        } else {
            blocks::agent_card(&ticket)
        };
        self.slack
            .update_message(&message.channel_id, &message.ts, &blocks::ticket_text(&ticket), &blocks)
            .await?;
        Ok(Outcome::Done(None))
    }

    fn failed(&self, claimed: &ClaimedEffect, error: String) -> Completion {
        tracing::error!(error = %error, "an effect failed for good and will not be retried");
        Completion {
            id: claimed.id,
            settle: Settle::Fail { error },
            posted: None,
        }
    }

    fn retry_store(&self, claimed: &ClaimedEffect, e: StoreError) -> Completion {
        match e {
            StoreError::NotFound => self.failed(claimed, "its ticket no longer exists".into()),
            e => Completion {
                id: claimed.id,
                settle: Settle::Retry {
                    due_at: now_ms() + backoff(claimed.attempts).as_millis() as i64,
                    error: e.to_string(),
                    ambiguous: false,
                },
                posted: None,
            },
        }
    }

    fn slack_failed(&self, claimed: &ClaimedEffect, e: SlackError) -> Completion {
        if !e.is_transient() {
            return self.failed(claimed, e.to_string());
        }
        let wait = match &e {
            SlackError::RateLimited(wait) => *wait,
            _ => backoff(claimed.attempts),
        };
        tracing::warn!(error = %e, attempt = claimed.attempts, retry_in = ?wait, "Slack call failed; will retry");
        Completion {
            id: claimed.id,
            settle: Settle::Retry {
                due_at: now_ms() + wait.as_millis() as i64,
                error: e.to_string(),
                ambiguous: e.is_ambiguous(),
            },
            posted: None,
        }
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

enum Outcome {
    Done(Option<NewTicketMessage>),
    /// The channel's pace says wait this long first.
    Paced(Duration),
    Store(StoreError),
}
