//! Guest facilitation: admins authorize a verified person whose account files the requests
//! and replies of people the desk cannot link, per support channel or for the whole
//! workspace. Authorizing one hands the parked messages back in the same transaction.

use serde_json::json;

use super::parked::{self, Released};
use super::{Actor, AdminError, Directory, Result};
use crate::desk::config::{check_facilitated_channel, Field, Refusal};
use crate::desk::identity::{self, Verification};
use crate::desk::settings::{Facilitator, Settings};
use crate::store::{ChannelRecord, Store, Tx};

/// A facilitator must be a verified person: a full member of this workspace with an email.
/// Their name, when they are.
pub async fn check_facilitator(directory: &dyn Directory, user: &str) -> Result<String> {
    let team = directory.workspace_team().await?;
    let Some(person) = directory.person(user).await? else {
        return Err(Refusal::invalid(Field::Facilitator, format!("Slack knows no user {user}")).into());
    };
    match identity::verify(&person.profile(), &team) {
        Verification::Verified { .. } => Ok(person.name),
        Verification::Unverified(reason) => Err(Refusal::invalid(
            Field::Facilitator,
            format!(
                "{user} cannot be a facilitator: a facilitator must be a verified person (this account is: {})",
                reason.as_str()
            ),
        )
        .into()),
    }
}

/// The support channel a facilitator change is for, as it is now.
fn facilitated(channel: &str, record: Option<ChannelRecord>) -> Result<ChannelRecord> {
    let record = record.ok_or_else(|| AdminError::NotFound(format!("channel {channel} is not configured")))?;
    check_facilitated_channel(channel, record.kind)?;
    Ok(record)
}

async fn support_channel(tx: &mut Tx, channel: &str) -> Result<ChannelRecord> {
    facilitated(channel, Store::channel_in(tx, channel).await?)
}

/// Within a change: make `user` (already checked, named `name`) the channel's facilitator,
/// audit it and hand the channel's parked messages back.
pub(super) async fn authorize_in(
    tx: &mut Tx,
    actor: Actor<'_>,
    channel: &str,
    user: &str,
    name: &str,
) -> Result<(ChannelRecord, Released)> {
    support_channel(tx, channel).await?;
    let saved = Store::set_facilitator(tx, channel, Some((user, actor.id_or_name()))).await?;
    let detail = json!({ "channel": channel, "facilitator": user, "name": name });
    Store::insert_audits(tx, &[actor.audit("facilitator_authorized", detail)]).await?;
    let released = parked::release(tx, Some(channel)).await?;
    Ok((saved, released))
}

/// Within a change: revoke the channel's facilitator (audited when there was one).
pub(super) async fn revoke_in(tx: &mut Tx, actor: Actor<'_>, channel: &str) -> Result<ChannelRecord> {
    let before = support_channel(tx, channel).await?;
    let saved = Store::set_facilitator(tx, channel, None).await?;
    if before.facilitator_slack_id.is_some() {
        let detail = json!({ "channel": channel, "facilitator": before.facilitator_slack_id });
        Store::insert_audits(tx, &[actor.audit("facilitator_revoked", detail)]).await?;
    }
    Ok(saved)
}

/// Authorize a support channel's facilitator, then hand its parked messages back.
pub async fn authorize(
    store: &Store,
    directory: &dyn Directory,
    actor: Actor<'_>,
    channel: &str,
    user: &str,
) -> Result<(ChannelRecord, Released)> {
    // Refused before Slack is asked, when the channel cannot have one anyway.
    facilitated(channel, store.channel(channel).await?)?;
    let name = check_facilitator(directory, user).await?;
    let mut tx = store.begin().await?;
    let authorized = authorize_in(&mut tx, actor, channel, user, &name).await?;
    tx.commit().await?;
    Ok(authorized)
}

pub async fn revoke(store: &Store, actor: Actor<'_>, channel: &str) -> Result<ChannelRecord> {
    let mut tx = store.begin().await?;
    let saved = revoke_in(&mut tx, actor, channel).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Authorize the workspace's facilitator, for support channels without their own, then
/// hand those channels' parked messages back.
pub async fn authorize_workspace(
    store: &Store,
    directory: &dyn Directory,
    actor: Actor<'_>,
    user: &str,
) -> Result<(Settings, Released)> {
    let name = check_facilitator(directory, user).await?;
    let mut tx = store.begin().await?;
    let before = Store::settings_in(&mut tx).await?;
    let after = Settings {
        facilitator: Some(Facilitator {
            slack_user_id: user.to_owned(),
            authorized_by: actor.id_or_name().to_owned(),
            authorized_at: tx.now_ms(),
        }),
        ..before.clone()
    };
    Store::put_settings(&mut tx, &after.changes_since(&before)).await?;
    let detail = json!({ "channel": null, "facilitator": user, "name": name });
    Store::insert_audits(&mut tx, &[actor.audit("workspace_facilitator_authorized", detail)]).await?;
    let released = parked::release(&mut tx, None).await?;
    tx.commit().await?;
    Ok((after, released))
}

pub async fn revoke_workspace(store: &Store, actor: Actor<'_>) -> Result<Settings> {
    let mut tx = store.begin().await?;
    let before = Store::settings_in(&mut tx).await?;
    let Some(facilitator) = &before.facilitator else {
        return Ok(before);
    };
    let after = Settings {
        facilitator: None,
        ..before.clone()
    };
    Store::put_settings(&mut tx, &after.changes_since(&before)).await?;
    let detail = json!({ "facilitator": facilitator.slack_user_id });
    Store::insert_audits(&mut tx, &[actor.audit("workspace_facilitator_revoked", detail)]).await?;
    tx.commit().await?;
    Ok(after)
}
