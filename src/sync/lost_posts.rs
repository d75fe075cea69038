//! Lost posts, looked for before they are sent again. A post whose answer never came (a
//! timeout, a 5xx, a crash) may be in Slack already; it carries its effect's id in its
//! metadata, so it is looked for first and recorded instead of posted twice. A reply is
//! looked for in its thread; a top-level post (an agent card) in its channel's history.
//!
//! After a crash every post that was under way comes back at once, in the same claimed
//! batches: each batch reads a channel's history once for all its lost posts there,
//! rather than once for each (`conversations.history` is among Slack's more tightly
//! rate-limited methods, and a busy agent channel has many pages in a minute).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::slack::api::{SlackApi, SlackError};
use crate::store::ClaimedEffect;

/// What one claimed batch read of channel histories. Made after the claim, so every read
/// comes after the attempts that may have posted.
#[derive(Default)]
pub struct ChannelSearches {
    /// Unix seconds: a minute before the batch's oldest lost post was made.
    oldest: String,
    /// Each channel's posts (effect id → ts), read by whichever lost post asks first.
    channels: Mutex<HashMap<String, Arc<Search>>>,
}

/// One channel's read: its posts, effect id → ts, once read.
type Search = OnceCell<HashMap<String, String>>;

impl ChannelSearches {
    pub fn for_batch(claimed: &[ClaimedEffect]) -> Self {
        let oldest = claimed.iter().filter(|c| c.ambiguous).map(|c| c.created_at).min();
        Self {
            oldest: oldest.map(|ms| (ms / 1000 - 60).to_string()).unwrap_or_default(),
            channels: Mutex::default(),
        }
    }

    /// Where the post of `effect_id` is at the top of `channel`, if it was made.
    pub async fn find(&self, slack: &SlackApi, channel: &str, effect_id: &str) -> Result<Option<String>, SlackError> {
        let search = self
            .channels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(channel.to_owned())
            .or_default()
            .clone();
        // A read that fails is tried again by the next lost post that asks.
        let posts = search
            .get_or_try_init(|| slack.effect_posts(channel, &self.oldest))
            .await?;
        Ok(posts.get(effect_id).cloned())
    }
}
