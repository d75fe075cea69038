//! Messages: in support and agent channels (new requests, thread replies as comments,
//! through a facilitator for people the desk cannot link), in DMs with deskhand (private
//! requests), and their edits and deletes.

use std::collections::HashMap;

use serde_json::json;

use super::person;
use super::Handled;
use crate::desk::effects::{Effect, AGENT_CARD, THREAD_REPLY};
use crate::desk::identity::{Unverified, Verification};
use crate::desk::rules::{self, ChannelRules, Outcome, Thread};
use crate::desk::{self, Source, Visibility};
use crate::slack::events::PostedMessage;
use crate::store::{ChannelMessage, ChannelRecord, ClaimedEvent, SlackUserRecord, Store, Tx};
use crate::sync::lookup::{facilitator, served, Needs};
use crate::sync::unit::{on_behalf_json, Draft, Unit, NO_PROJECT};

/// A person's message in a served channel or a DM: its author (and the channel's
/// facilitator, who may file for them) and the projects (a new request starts in its
/// workflow's first status).
pub(super) fn needs(m: &PostedMessage, channels: &HashMap<String, Option<ChannelRecord>>) -> Needs {
    let mut needs = Needs::default();
    let served = m.in_dm || served(channels, &m.channel);
    if let (Some(user), false, true) = (&m.user, m.from_bot, served) {
        needs.users.push(user.clone());
        needs.users.extend(facilitator(channels, &m.channel));
    }
    needs.projects = served;
    // A reply may be an agent's answer: the first one counts as the first response.
    needs.agents = served && m.thread_ts.is_some();
    needs
}

/// A message posted: kept when it is a support channel's, then handled where it was written.
pub(super) async fn handle_posted<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    message: &'a PostedMessage,
) -> Handled {
    if let (Some(_), false) = (unit.facts.support_channel(&message.channel), message.from_bot) {
        unit.kept.push(ChannelMessage {
            channel_id: message.channel.clone(),
            ts: message.ts.clone(),
            thread_ts: message.thread_ts.clone(),
            user_id: message.user.clone(),
            text: message.text.clone(),
            files: serde_json::to_string(&message.files).unwrap_or_else(|_| "[]".into()),
            deleted: false,
        });
    }
    if message.in_dm {
        on_direct_message(unit, tx, event, message).await
    } else {
        let channel = unit.facts.channel(&message.channel);
        on_channel_message(unit, tx, event, message, channel).await
    }
}

async fn on_channel_message<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    message: &'a PostedMessage,
    channel: Option<&'a ChannelRecord>,
) -> Handled {
    let facts = unit.facts;
    let from_bot = message.from_bot || message.user.as_deref() == Some(facts.workspace.bot_user_id.as_str());
    let desk_message = rules::Message {
        ts: &message.ts,
        thread_ts: message.thread_ts.as_deref(),
        text: &message.text,
        from_bot: from_bot || message.user.is_none(),
    };
    let thread = match (channel, desk_message.is_reply()) {
        (Some(channel), true) => {
            let parent = message.thread_ts.as_deref().unwrap_or_default();
            if channel.is_agent() {
                Store::ticket_by_posted(tx, AGENT_CARD, &message.channel, parent)
                    .await?
                    .map(|t| Thread::AgentCard { ticket_id: t.id })
            } else {
                Store::ticket_by_message(tx, &message.channel, parent)
                    .await?
                    .map(|t| Thread::Support { ticket_id: t.id })
            }
        }
        _ => None,
    }
    .unwrap_or(Thread::Unknown);
    let author = message.user.as_deref().and_then(|u| facts.user(u));
    let verification = match author {
        Some(author) => facts.verify(author),
        None => Verification::Unverified(Unverified::OtherWorkspace),
    };
    let facilitator = channel.and_then(|c| facts.facilitator_for(c));
    let outcome = rules::on_message(
        channel.map(|c| channel_rules(c, facilitator.is_some())).as_ref(),
        &desk_message,
        thread,
        &verification,
    );
    let (Some(channel), Some(author)) = (channel, author) else {
        tracing::debug!(
            inbox.id = event.id,
            ?outcome,
            "message in a channel deskhand does not serve"
        );
        return Ok(());
    };
    match outcome {
        Outcome::FileTicket => match channel.project_key.as_deref() {
            Some(project) => {
                let permalink = facts.permalink(&message.channel, &message.ts, None);
                let draft = Draft::of_message(project, channel, message, author, permalink);
                unit.drafts.push(draft);
            }
            None => tracing::warn!(channel = %channel.channel_id, "support channel has no project; nothing filed"),
        },
        Outcome::Comment { ticket_id, visibility } => {
            unit.add_comment(tx, ticket_id, visibility, message, author, None)
                .await?
        }
        Outcome::Park(reason) => unit.park(tx, event, message, author, reason).await?,
        Outcome::FileThroughFacilitator(reason) => {
            let (Some(facilitator), Some(project)) = (facilitator, channel.project_key.as_deref()) else {
                return Ok(());
            };
            let permalink = facts.permalink(&message.channel, &message.ts, None);
            tracing::info!(slack.user = %author.slack_user_id, reason = reason.as_str(), facilitator = %facilitator.slack_user_id, "filing through the channel's facilitator");
            unit.drafts.push(Draft {
                on_behalf_of: Some(on_behalf_json(author, &permalink)),
                ..Draft::of_message(project, channel, message, facilitator, permalink)
            });
        }
        Outcome::CommentThroughFacilitator { ticket_id, .. } => {
            let Some(facilitator) = facilitator else {
                return Ok(());
            };
            let permalink = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
            let on_behalf_of = on_behalf_json(author, &permalink);
            unit.add_comment(
                tx,
                ticket_id,
                desk::Visibility::Public,
                message,
                facilitator,
                Some(&on_behalf_of),
            )
            .await?
        }
        Outcome::Ignore(why) => tracing::debug!(inbox.id = event.id, ?why, "message files nothing"),
    }
    Ok(())
}

/// A message in a DM with deskhand: a new private request, or a reply in one's thread.
async fn on_direct_message<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    message: &'a PostedMessage,
) -> Handled {
    let Some(author) = person(message, unit.facts) else {
        return Ok(());
    };
    let facts = unit.facts;
    let verified = matches!(facts.verify(author), Verification::Verified { .. });
    if message.is_reply() {
        let parent = message.thread_ts.as_deref().unwrap_or_default();
        let ticket = match Store::ticket_by_message(tx, &message.channel, parent).await? {
            Some(ticket) => Some(ticket),
            None => Store::ticket_by_posted(tx, THREAD_REPLY, &message.channel, parent).await?,
        };
        match ticket {
            Some(ticket) if verified => {
                unit.add_comment(tx, ticket.id, Visibility::Public, message, author, None)
                    .await?
            }
            Some(_) => refuse_in_dm(unit, message, author),
            None => tracing::debug!(inbox.id = event.id, "a DM reply outside any request's thread"),
        }
        return Ok(());
    }
    if !verified {
        refuse_in_dm(unit, message, author);
        return Ok(());
    }
    let Some(project) = facts.default_project() else {
        unit.effect(Effect::PostText {
            channel: message.channel.clone(),
            thread_ts: Some(message.ts.clone()),
            text: NO_PROJECT.into(),
        });
        return Ok(());
    };
    unit.drafts.push(Draft {
        permalink: facts.permalink(&message.channel, &message.ts, None),
        summary: desk::summary_from(&message.text),
        description: message.text.clone(),
        files: message.files.clone(),
        private: true,
        ..Draft::bare(
            &project.key,
            (&message.channel, &message.ts),
            author,
            Source::DirectMessage,
        )
    });
    Ok(())
}

fn refuse_in_dm<'a>(unit: &mut Unit<'a>, message: &PostedMessage, author: &SlackUserRecord) {
    let facts = unit.facts;
    if let Verification::Unverified(reason) = facts.verify(author) {
        unit.effect(Effect::PostText {
            channel: message.channel.clone(),
            thread_ts: Some(message.thread_ts.clone().unwrap_or_else(|| message.ts.clone())),
            text: reason.refusal().into(),
        });
    }
}

/// A message edited: its ticket's or comment's text follows.
pub(super) async fn handle_edited(unit: &mut Unit<'_>, tx: &mut Tx, channel_id: &str, ts: &str, text: &str) -> Handled {
    unit.keep_now(tx).await?;
    Store::change_channel_message(tx, channel_id, ts, Some(text)).await?;
    if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
        if rules::edit_changes_text(&ticket.description, text) {
            Store::update_ticket_text(tx, ticket.id, &desk::summary_from(text), text).await?;
            let detail = json!({ "previous": ticket.description, "text": text });
            unit.audit(
                ticket.id,
                (&ticket.requester_slack_id, &ticket.requester_name),
                "ticket_edited",
                detail,
            );
            unit.refresh_ticket_messages(ticket.id);
        }
    } else if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
        if rules::edit_changes_text(&comment.body, text) {
            Store::update_comment_body(tx, comment.id, text).await?;
            let detail = json!({ "comment": comment.id, "previous": comment.body, "text": text });
            unit.audit(
                comment.ticket_id,
                (&comment.author_slack_id, &comment.author_name),
                "comment_edited",
                detail,
            );
        }
    }
    Ok(())
}

/// A message deleted: its ticket or comment is marked deleted (and kept).
pub(super) async fn handle_deleted(unit: &mut Unit<'_>, tx: &mut Tx, channel_id: &str, ts: &str) -> Handled {
    unit.keep_now(tx).await?;
    Store::change_channel_message(tx, channel_id, ts, None).await?;
    if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
        if ticket.deleted_at.is_none() {
            Store::mark_ticket_deleted(tx, ticket.id).await?;
            let detail = json!({ "text": ticket.description });
            let actor = (ticket.requester_slack_id.as_str(), ticket.requester_name.as_str());
            unit.audit(ticket.id, actor, "ticket_message_deleted", detail);
            unit.refresh_ticket_messages(ticket.id);
        }
    } else if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
        if comment.deleted_at.is_none() {
            Store::mark_comment_deleted(tx, comment.id).await?;
            let detail = json!({ "comment": comment.id, "text": comment.body });
            unit.audit(
                comment.ticket_id,
                (&comment.author_slack_id, &comment.author_name),
                "comment_deleted",
                detail,
            );
        }
    }
    Ok(())
}

fn channel_rules(channel: &ChannelRecord, facilitated: bool) -> ChannelRules<'_> {
    ChannelRules {
        kind: channel.kind,
        auto_create: channel.auto_create,
        thread_sync: channel.thread_sync,
        announcement_marker: &channel.announcement_marker,
        facilitated,
    }
}
