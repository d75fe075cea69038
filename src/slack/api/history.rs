//! Finding deskhand's own posts again, by the effect id each carries in its metadata:
//! in a thread, or at the top of a channel's history.

use std::collections::HashMap;

use super::{HistoryMessage, HistoryPage, SlackApi, SlackError, EFFECT_EVENT_TYPE};

/// How many pages of history to read when looking for a lost post.
const SEARCH_PAGES: usize = 10;

/// The effect a message of deskhand's was posted for, from its metadata.
fn effect_of(message: &HistoryMessage) -> Option<&str> {
    let metadata = message.metadata.as_ref()?;
    (metadata["event_type"] == EFFECT_EVENT_TYPE)
        .then(|| metadata["event_payload"]["effect_id"].as_str())
        .flatten()
}

impl SlackApi {
    /// Look for the message deskhand posted for `effect_id` in the thread `thread_ts`.
    pub async fn find_thread_post(
        &self,
        channel: &str,
        thread_ts: &str,
        effect_id: &str,
    ) -> Result<Option<String>, SlackError> {
        let query = [("channel", channel), ("ts", thread_ts)];
        let mut found = None;
        let search = self.search_pages("conversations.replies", &query, |message| {
            if effect_of(message) == Some(effect_id) {
                found = Some(message.ts.clone());
            }
            found.is_some()
        });
        match search.await {
            // No thread (its parent is gone): nothing was posted in it.
            Err(SlackError::Api(e)) if e == "thread_not_found" => Ok(None),
            other => other.map(|()| found),
        }
    }

    /// The messages deskhand posted at the top of `channel` since `oldest` (a unix time in
    /// seconds), newest first as far as the search reads: each effect's id, and where its
    /// post is. One read of the history for every lost post of the channel.
    pub async fn effect_posts(&self, channel: &str, oldest: &str) -> Result<HashMap<String, String>, SlackError> {
        let query = [("channel", channel), ("oldest", oldest)];
        let mut posts = HashMap::new();
        self.search_pages("conversations.history", &query, |message| {
            if let Some(effect_id) = effect_of(message) {
                posts.insert(effect_id.to_owned(), message.ts.clone());
            }
            false
        })
        .await?;
        Ok(posts)
    }

    /// Read up to [`SEARCH_PAGES`] pages of `method` (a history or a thread, with each
    /// message's metadata), showing each message to `visit` until it says stop.
    async fn search_pages(
        &self,
        method: &str,
        query: &[(&str, &str)],
        mut visit: impl FnMut(&HistoryMessage) -> bool,
    ) -> Result<(), SlackError> {
        let mut cursor = String::new();
        for _ in 0..SEARCH_PAGES {
            let mut page_query = query.to_vec();
            page_query.extend([("include_all_metadata", "true"), ("limit", "200")]);
            if !cursor.is_empty() {
                page_query.push(("cursor", &cursor));
            }
            let page: HistoryPage = self.get(method, &page_query).await?;
            if page.messages.iter().any(&mut visit) {
                return Ok(());
            }
            cursor = page.response_metadata.map(|m| m.next_cursor).unwrap_or_default();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(())
    }
}
