//! `@deskhand` in a message: file it, or in a thread, file it with the thread as context.

use std::collections::HashMap;

use super::person;
use super::Handled;
use crate::desk::effects::{Effect, THREAD_REPLY};
use crate::desk::identity::Verification;
use crate::desk::requests::{facilitated, mention_summary, without_mention};
use crate::desk::{self, Source};
use crate::slack::events::PostedMessage;
use crate::store::{ChannelRecord, ClaimedEvent, Store, Tx};
use crate::sync::lookup::{facilitator, Needs};
use crate::sync::unit::{described, on_behalf_json, Draft, Unit, NO_PROJECT};

/// Its author, the channel's facilitator (who may file for them), the projects, and, for a
/// reply, the thread it is in.
pub(super) fn needs(m: &PostedMessage, channels: &HashMap<String, Option<ChannelRecord>>) -> Needs {
    let mut needs = Needs::default();
    needs.users.extend(m.user.clone());
    needs.users.extend(facilitator(channels, &m.channel));
    needs.projects = true;
    if m.is_reply() {
        needs.message = Some((m.channel.clone(), m.ts.clone(), true));
    }
    needs
}

/// `@deskhand` in a message: file it, or in a thread, file it with the thread.
pub(super) async fn handle<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    message: &'a PostedMessage,
) -> Handled {
    let facts = unit.facts;
    let Some(author) = person(message, facts) else {
        return Ok(());
    };
    let channel = facts.channel(&message.channel);
    if channel.is_some_and(|c| c.is_agent()) {
        return Ok(());
    }
    // Filed already (a support channel files every message), or a reply in a request's
    // thread (a comment already).
    if Store::ticket_by_message(tx, &message.channel, &message.ts)
        .await?
        .is_some()
    {
        return Ok(());
    }
    if let Some(parent) = message.thread_ts.as_deref().filter(|_| message.is_reply()) {
        let in_request = Store::ticket_by_message(tx, &message.channel, parent).await?.is_some()
            || Store::ticket_by_posted(tx, THREAD_REPLY, &message.channel, parent)
                .await?
                .is_some();
        if in_request {
            return Ok(());
        }
    }
    let support = channel.filter(|c| c.is_support());
    // Who files: the author, or in a support channel, its facilitator on their behalf.
    let mut filer = author;
    let mut on_behalf_of = None;
    if let Verification::Unverified(reason) = facts.verify(author) {
        let facilitator = support.and_then(|c| facts.facilitator_for(c));
        match (support, facilitator) {
            (Some(_), Some(facilitator)) if facilitated(reason, Some(&facilitator.slack_user_id)) => {
                filer = facilitator;
                let link = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
                on_behalf_of = Some(on_behalf_json(author, &link));
            }
            (Some(_), _) => return unit.park(tx, event, message, author, reason).await,
            (None, _) => {
                unit.effect(Effect::PostEphemeral {
                    channel: message.channel.clone(),
                    user: author.slack_user_id.clone(),
                    thread_ts: message.thread_ts.clone(),
                    text: reason.refusal().into(),
                });
                return Ok(());
            }
        }
    }
    let project = support
        .and_then(|c| c.project_key.as_deref())
        .or_else(|| facts.default_project().map(|p| p.key.as_str()));
    let Some(project) = project else {
        unit.effect(Effect::PostEphemeral {
            channel: message.channel.clone(),
            user: author.slack_user_id.clone(),
            thread_ts: message.thread_ts.clone(),
            text: NO_PROJECT.into(),
        });
        return Ok(());
    };
    let text = without_mention(&message.text, &facts.workspace.bot_user_id);
    let thread = facts
        .lookups
        .messages
        .get(&(message.channel.clone(), message.ts.clone()))
        .and_then(|m| facts.lookups.thread_of(m))
        .unwrap_or_default();
    // "@deskhand" alone under a question files the question.
    let summary_source = mention_summary(&text, thread.first().map(|parent| parent.text.as_str()));
    let thread_ts = message.thread_ts.clone().filter(|_| message.is_reply());
    let mut draft = Draft {
        permalink: facts.permalink(&message.channel, &message.ts, thread_ts.as_deref()),
        summary: desk::summary_from(summary_source),
        description: described(&text, thread, &message.ts, facts),
        files: message.files.clone(),
        origin_thread_ts: thread_ts,
        on_behalf_of,
        ..Draft::bare(project, (&message.channel, &message.ts), filer, Source::Mention)
    };
    if let Some(channel) = support {
        draft.apply_channel(channel);
    }
    unit.drafts.push(draft);
    Ok(())
}
