//! How an effect's attempt settles: done, failed for good, tried again later with a
//! backoff (capped at a day of tries), or handed back untried; and how the outcomes are
//! recorded, many to a transaction.

use std::sync::Arc;

use crate::slack::api::SlackError;
use crate::store::{ClaimedEffect, Settle, Store, StoreError};
use crate::sync::dispatcher::{Completion, Dispatcher};
use crate::sync::{backoff, out_of_tries};

impl Dispatcher {
    /// Not tried: it waited too long for a turn to call. Claimed again in a second, as
    /// turns free up when the calls under way end.
    pub(super) fn untried(&self, claimed: &ClaimedEffect) -> Completion {
        Completion {
            id: claimed.id,
            settle: Settle::Defer {
                due_at: self.store.now_ms() + 1000,
            },
            posted: None,
            permalink: None,
            jira: None,
        }
    }

    pub(super) fn done(&self, claimed: &ClaimedEffect) -> Completion {
        Completion {
            id: claimed.id,
            settle: Settle::Done,
            posted: None,
            permalink: None,
            jira: None,
        }
    }

    pub(super) fn failed(&self, claimed: &ClaimedEffect, error: String) -> Completion {
        tracing::error!(error = %error, "an effect failed for good and will not be retried");
        Completion {
            id: claimed.id,
            settle: Settle::Fail { error },
            posted: None,
            permalink: None,
            jira: None,
        }
    }

    pub(super) fn retry_store(&self, claimed: &ClaimedEffect, e: StoreError) -> Completion {
        match e {
            StoreError::NotFound => self.failed(claimed, "its ticket no longer exists".into()),
            e if out_of_tries(claimed.created_at, self.store.now_ms(), claimed.attempts) => {
                self.failed(claimed, format!("gave up after a day of retries: {e}"))
            }
            e => Completion {
                id: claimed.id,
                settle: Settle::Retry {
                    due_at: self.store.now_ms() + backoff(claimed.attempts).as_millis() as i64,
                    error: e.to_string(),
                    ambiguous: false,
                },
                posted: None,
                permalink: None,
                jira: None,
            },
        }
    }

    pub(super) fn slack_failed(&self, claimed: &ClaimedEffect, e: SlackError) -> Completion {
        if !e.is_transient() {
            return self.failed(claimed, e.to_string());
        }
        if out_of_tries(claimed.created_at, self.store.now_ms(), claimed.attempts) {
            tracing::error!(attempts = claimed.attempts, error = %e, "Slack failed this effect for a day; set aside");
            return self.failed(claimed, format!("gave up after a day of retries: {e}"));
        }
        let wait = match &e {
            SlackError::RateLimited(wait) => *wait,
            _ => backoff(claimed.attempts),
        };
        tracing::warn!(error = %e, attempt = claimed.attempts, retry_in = ?wait, "Slack call failed; will retry");
        Completion {
            id: claimed.id,
            settle: Settle::Retry {
                due_at: self.store.now_ms() + wait.as_millis() as i64,
                error: e.to_string(),
                ambiguous: e.is_ambiguous(),
            },
            posted: None,
            permalink: None,
            jira: None,
        }
    }
}

/// Record how effects ended, many to a transaction; the common outcome (done, maybe with
/// a posted message) set-at-a-time.
pub(super) async fn record_completions(store: Store, completions: Arc<[Completion]>) -> Result<Vec<()>, StoreError> {
    let count = completions.len();
    let mut posted = Vec::new();
    let mut done = Vec::new();
    let mut other = Vec::new();
    let mut permalinks = Vec::new();
    let mut jira = Vec::new();
    for completion in completions.iter() {
        jira.extend(completion.jira.as_deref());
        posted.extend(completion.posted.iter().cloned());
        permalinks.extend(completion.permalink.iter());
        match &completion.settle {
            Settle::Done => done.push(completion.id),
            settle => other.push((completion.id, settle)),
        }
    }
    let mut tx = store.begin().await?;
    Store::commit_without_waiting_for_disk(&mut tx).await?;
    Store::record_ticket_messages(&mut tx, &posted).await?;
    for (ticket_id, link) in &permalinks {
        Store::set_ticket_permalink(&mut tx, *ticket_id, link).await?;
    }
    for answer in jira {
        answer.record(&mut tx).await?;
    }
    Store::finish_effects(&mut tx, &done).await?;
    for (id, settle) in &other {
        Store::settle_effect(&mut tx, *id, settle).await?;
    }
    tx.commit().await?;
    Ok(vec![(); count])
}
