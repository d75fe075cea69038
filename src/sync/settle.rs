//! How an effect's attempt settles: done, failed for good, or tried again later with a
//! backoff (capped at a day of tries).

use crate::slack::api::SlackError;
use crate::store::{ClaimedEffect, Settle, StoreError};
use crate::sync::dispatcher::{Completion, Dispatcher};
use crate::sync::{backoff, out_of_tries};

impl Dispatcher {
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
