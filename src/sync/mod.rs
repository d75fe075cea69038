//! Moving work between the edges: the inbox writer (group commit behind the
//! acknowledgement), the worker (inbox → desk → store + outbox) and the dispatcher
//! (outbox → Slack).

mod changes;
pub mod dispatcher;
mod gather;
mod handlers;
mod inbox;
pub mod jira;
mod jira_answers;
pub mod lookup;
mod lost_posts;
pub mod mail;
mod notices;
pub mod ratelimit;
pub mod reconcile;
mod render;
mod settle;
pub mod tickets;
pub mod unit;
pub mod worker;

use std::time::Duration;

/// How long an event or an effect is retried before it is set aside as failed: long enough
/// for any Slack outage worth waiting out, short enough that nothing retries forever.
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3_600_000;
/// Nor is anything tried more often than this.
pub const MAX_TRIES: i64 = 500;

/// Whether a row first queued at `since` and tried `attempts` times has had its chances.
pub fn out_of_tries(since: i64, now: i64, attempts: i64) -> bool {
    now - since > GIVE_UP_AFTER_MS || attempts >= MAX_TRIES
}

/// Exponential backoff for the `attempt`-th failure (1-based): 1 s, 2 s, 4 s … 5 min, with
/// up to 25 % jitter so that many failures do not come back at the same moment.
pub fn backoff(attempt: i64) -> Duration {
    let base = 1000_u64
        .saturating_mul(1 << attempt.clamp(1, 10).saturating_sub(1))
        .min(300_000);
    let jitter = rand::random::<u64>() % (base / 4 + 1);
    Duration::from_millis(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_after_a_day_or_many_tries() {
        assert!(!out_of_tries(0, GIVE_UP_AFTER_MS, 1));
        assert!(out_of_tries(0, GIVE_UP_AFTER_MS + 1, 1));
        assert!(out_of_tries(0, 0, MAX_TRIES));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) >= Duration::from_secs(1) && backoff(1) < Duration::from_millis(1300));
        assert!(backoff(3) >= Duration::from_secs(4));
        assert!(backoff(40) <= Duration::from_secs(375));
    }
}
