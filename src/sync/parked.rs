//! Parked messages leave the shelf: filed, in their order, once someone can act for their
//! authors (a facilitator is authorized), or, past the retention, reported to the
//! channel's agents instead, so nothing a person wrote is silently dropped.

use std::collections::BTreeMap;

use crate::slack::blocks::escape;
use crate::store::{now_ms, Store, StoreError, WaitingParked};
use crate::sync::effects::Effect;

/// The setting (days, a JSON number) after which a parked message is reported, not filed.
pub const RETENTION_SETTING: &str = "parked_retention_days";
pub const DEFAULT_RETENTION_DAYS: i64 = 7;

pub async fn retention_ms(store: &Store) -> Result<i64, StoreError> {
    let days = store
        .setting(RETENTION_SETTING)
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    Ok(days * 86_400_000)
}

/// A facilitator now acts in `channel` (or, with `None`, in every support channel without
/// its own): file its parked messages, and report those older than the retention. How many
/// were handed back and how many reported.
pub async fn release(store: &Store, channel: Option<&str>) -> Result<(usize, usize), StoreError> {
    release_where(store, channel, None).await
}

/// Someone the desk could not link now is linked (Slack now shows them as a full member
/// with an email): file their parked messages, wherever they wait.
pub async fn release_user(store: &Store, user: &str) -> Result<(usize, usize), StoreError> {
    release_where(store, None, Some(user)).await
}

async fn release_where(store: &Store, channel: Option<&str>, user: Option<&str>) -> Result<(usize, usize), StoreError> {
    let cutoff = now_ms() - retention_ms(store).await?;
    let (refile, expired): (Vec<WaitingParked>, Vec<WaitingParked>) = store
        .waiting_parked(channel, user)
        .await?
        .into_iter()
        .partition(|p| p.parked_at >= cutoff);
    let report = reports(store, &expired).await?;
    store.refile_parked(&refile, &expired, &report).await?;
    Ok((refile.len(), expired.len()))
}

/// Report every parked message older than the retention (run from time to time).
pub async fn report_expired(store: &Store) -> Result<usize, StoreError> {
    let expired = store.expired_parked(now_ms() - retention_ms(store).await?).await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let report = reports(store, &expired).await?;
    store.refile_parked(&[], &expired, &report).await?;
    Ok(expired.len())
}

/// One message per support channel to its agents, listing what waited too long.
async fn reports(store: &Store, expired: &[WaitingParked]) -> Result<Vec<crate::store::NewEffect>, StoreError> {
    let mut by_channel: BTreeMap<&str, Vec<&WaitingParked>> = BTreeMap::new();
    for parked in expired {
        by_channel.entry(&parked.channel_id).or_default().push(parked);
    }
    let mut effects = Vec::new();
    for (channel, messages) in by_channel {
        let Some(agents) = store.channel(channel).await?.and_then(|c| c.agent_channel) else {
            tracing::warn!(
                channel,
                count = messages.len(),
                "parked messages expired in a channel with no agent channel to tell"
            );
            continue;
        };
        let lines: Vec<String> = messages
            .iter()
            .map(|m| {
                let text: String = m.text.chars().take(200).collect();
                format!("• <@{}>: {}", m.slack_user_id, escape(&text))
            })
            .collect();
        let text = format!(
            ":warning: {} message(s) in <#{channel}> waited longer than the retention for someone to file them \
             (their authors can't be linked and no facilitator was authorized), and were not filed:\n{}",
            messages.len(),
            lines.join("\n")
        );
        effects.push(
            Effect::PostText {
                channel: agents,
                thread_ts: None,
                text,
            }
            .to_new(),
        );
    }
    Ok(effects)
}
