//! Parked messages leave the shelf: filed, in their order, once someone can act for their
//! authors (a facilitator is authorized, or the author is linked now), or, past the
//! retention, reported to the channel's agents instead, so nothing a person wrote is
//! silently dropped.

use std::collections::BTreeMap;

use crate::desk::effects::{Effect, ParkedLine};
use crate::desk::requests::parked_expired;
use crate::store::{NewEffect, Store, StoreError, Tx, WaitingParked};

/// How many were handed back to be filed, and how many reported instead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Released {
    pub filed: usize,
    pub reported: usize,
}

/// A facilitator now acts in `channel` (or, with `None`, in every support channel without
/// its own): hand its parked messages back, and report those older than the retention,
/// inside the change that authorized the facilitator.
pub async fn release(tx: &mut Tx, channel: Option<&str>) -> Result<Released, StoreError> {
    release_where(tx, channel, None).await
}

/// Someone the desk could not link now is linked (Slack now shows them as a full member
/// with an email): file their parked messages, wherever they wait.
pub async fn release_user(store: &Store, user: &str) -> Result<Released, StoreError> {
    let mut tx = store.begin().await?;
    let released = release_where(&mut tx, None, Some(user)).await?;
    tx.commit().await?;
    Ok(released)
}

async fn release_where(tx: &mut Tx, channel: Option<&str>, user: Option<&str>) -> Result<Released, StoreError> {
    let retention = Store::settings_in(tx).await?.retention_ms();
    let now = tx.now_ms();
    let (expired, refile): (Vec<WaitingParked>, Vec<WaitingParked>) = Store::waiting_parked(tx, channel, user)
        .await?
        .into_iter()
        .partition(|p| parked_expired(p.parked_at, now, retention));
    report(tx, &expired).await?;
    Store::refile_parked(tx, &refile, &expired).await?;
    Ok(Released {
        filed: refile.len(),
        reported: expired.len(),
    })
}

/// Report every parked message older than the retention (run from time to time). How
/// many were reported.
pub async fn report_expired(store: &Store) -> Result<usize, StoreError> {
    let mut tx = store.begin().await?;
    let retention = Store::settings_in(&mut tx).await?.retention_ms();
    let cutoff = tx.now_ms() - retention;
    let expired = Store::expired_parked(&mut tx, cutoff).await?;
    if expired.is_empty() {
        return Ok(0);
    }
    report(&mut tx, &expired).await?;
    Store::refile_parked(&mut tx, &[], &expired).await?;
    tx.commit().await?;
    Ok(expired.len())
}

/// One report per support channel to its agents, listing what waited too long.
async fn report(tx: &mut Tx, expired: &[WaitingParked]) -> Result<(), StoreError> {
    let mut by_channel: BTreeMap<&str, Vec<&WaitingParked>> = BTreeMap::new();
    for parked in expired {
        by_channel.entry(&parked.channel_id).or_default().push(parked);
    }
    let mut effects = Vec::new();
    for (channel, messages) in by_channel {
        let Some(agents) = Store::channel_in(tx, channel).await?.and_then(|c| c.agent_channel) else {
            tracing::warn!(
                channel,
                count = messages.len(),
                "parked messages expired in a channel with no agent channel to tell"
            );
            continue;
        };
        let installation = messages.iter().find_map(|m| m.installation.as_deref());
        let lines = messages
            .iter()
            .map(|m| ParkedLine {
                user: m.slack_user_id.clone(),
                text: m.text.clone(),
            })
            .collect();
        effects.push(
            NewEffect::of(&Effect::ReportParked {
                agent_channel: agents,
                channel: channel.to_owned(),
                messages: lines,
            })
            .through(installation),
        );
    }
    Store::enqueue_effects(tx, &effects).await
}
