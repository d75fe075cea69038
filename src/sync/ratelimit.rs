//! Per-channel pacing of posts. Slack allows about one message per second per channel,
//! with short bursts (<https://api.slack.com/methods/chat.postMessage#rate_limiting>);
//! a token bucket per channel keeps deskhand inside that instead of running into 429s.
//! With several replicas (PostgreSQL) the budget is shared: a post also takes its turn
//! from the database ([`Store::take_channel_post`]), so N replicas together keep one
//! channel's pace, not N times it; a replica that is alone ([`Store::shares_pace`]) paces by
//! itself.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::Store;

pub struct ChannelPacer {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Where the replicas' shared budget is kept, when there are replicas.
    shared: Option<Store>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ChannelPacer {
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            rate: per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Share the budget with every replica on `store` (nothing changes on SQLite).
    pub fn shared_through(self, store: Store) -> Self {
        Self {
            shared: (store.backend() == "postgres").then_some(store),
            ..self
        }
    }

    /// Take a post for `channel` now, or say how long until one is free: from this
    /// process's bucket, then from the shared budget. When the database cannot be asked,
    /// this process's own pace applies.
    pub async fn take(&self, channel: &str) -> Result<(), Duration> {
        self.try_take_at(channel, Instant::now())?;
        let Some(store) = self.shared.as_ref().filter(|s| s.shares_pace()) else {
            return Ok(());
        };
        let interval = Duration::from_secs_f64(1.0 / self.rate);
        let tolerance = interval.mul_f64(self.burst - 1.0);
        match store.take_channel_post(channel, interval, tolerance).await {
            Ok(turn) => turn,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the shared posting pace; this replica paces alone");
                Ok(())
            }
        }
    }

    fn try_take_at(&self, channel: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 10_000 {
            // Forget channels that have been quiet long enough to be full again.
            let full_after = Duration::from_secs_f64(self.burst / self.rate);
            buckets.retain(|_, b| now.duration_since(b.at) < full_after);
        }
        let bucket = buckets.entry(channel.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_posts_are_spaced_per_channel() {
        let pacer = ChannelPacer::new(1.0, 2);
        let t0 = Instant::now();
        assert!(pacer.try_take_at("C1", t0).is_ok());
        assert!(pacer.try_take_at("C1", t0).is_ok());
        let wait = pacer.try_take_at("C1", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(
            pacer.try_take_at("C2", t0).is_ok(),
            "another channel has its own bucket"
        );
        assert!(pacer.try_take_at("C1", t0 + Duration::from_secs(1)).is_ok());
    }
}
