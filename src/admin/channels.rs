//! Binding channels: a support channel's preferences (and, from the Slack modal, its
//! facilitator in the same save), and unbinding.

use serde_json::json;

use super::facilitators::{authorize_in, check_facilitator, revoke_in};
use super::parked::Released;
use super::{Actor, AdminError, Directory, Result};
use crate::desk::config::{check_binding, check_channel, check_unbind, Binding, ChannelKind, ChannelRequest};
use crate::store::{ChannelRecord, ProjectLists, Store, StoreError};

/// What a save does to the channel's facilitator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacilitatorChange {
    Keep,
    Authorize(String),
    Revoke,
}

/// A saved channel, and what authorizing its facilitator released.
#[derive(Debug)]
pub struct SavedChannel {
    pub channel: ChannelRecord,
    pub released: Released,
}

/// Save a channel's preferences: checked by the desk's rules, written with its audit
/// entry and its facilitator change in one transaction. A facilitator is checked with
/// Slack once, before anything is written, so a refusal changes nothing.
pub async fn save(
    store: &Store,
    directory: &dyn Directory,
    actor: Actor<'_>,
    channel_id: &str,
    request: ChannelRequest,
    facilitator: FacilitatorChange,
) -> Result<SavedChannel> {
    let project = match (&request.project, ChannelKind::parse(&request.kind)) {
        (Some(key), Some(ChannelKind::Support)) => match store.project(key).await {
            Ok(project) => Some(ProjectLists::of(&project)),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let settings = check_channel(channel_id, request, project.as_ref().map(ProjectLists::names))?;
    let name = match &facilitator {
        FacilitatorChange::Authorize(user) => Some(check_facilitator(directory, user).await?),
        _ => None,
    };
    let mut tx = store.begin().await?;
    let agent_channel_kind = match &settings.agent_channel {
        Some(agents) => Store::channel_kind(&mut tx, agents).await?,
        None => None,
    };
    let agent_channel_of = Store::agent_channel_user(&mut tx, channel_id).await?;
    if let Binding::AlsoBindAgentChannel(agents) =
        check_binding(&settings, agent_channel_kind, agent_channel_of.as_deref())?
    {
        Store::bind_agent_channel(&mut tx, &agents).await?;
    }
    let mut saved = Store::save_channel(&mut tx, &settings).await?;
    let detail = json!({ "channel": saved.channel_id, "kind": saved.kind.as_str(), "project": saved.project_key });
    Store::insert_audits(&mut tx, &[actor.audit("channel_updated", detail)]).await?;
    let mut released = Released::default();
    match (facilitator, name) {
        (FacilitatorChange::Authorize(user), Some(name)) => {
            (saved, released) = authorize_in(&mut tx, actor, channel_id, &user, &name).await?;
        }
        (FacilitatorChange::Revoke, _) => saved = revoke_in(&mut tx, actor, channel_id).await?,
        _ => {}
    }
    tx.commit().await?;
    Ok(SavedChannel {
        channel: saved,
        released,
    })
}

/// Unbind a channel. Its tickets stay; an agent channel still named by a support channel
/// cannot go.
pub async fn unbind(store: &Store, actor: Actor<'_>, channel_id: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    let user = Store::agent_channel_user(&mut tx, channel_id).await?;
    check_unbind(channel_id, user.as_deref())?;
    if !Store::delete_channel(&mut tx, channel_id).await? {
        return Err(AdminError::NotFound(format!("channel {channel_id} is not configured")));
    }
    let detail = json!({ "channel": channel_id });
    Store::insert_audits(&mut tx, &[actor.audit("channel_unbound", detail)]).await?;
    tx.commit().await?;
    Ok(())
}
