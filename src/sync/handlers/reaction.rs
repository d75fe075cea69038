//! Emoji on messages: the creation emoji files a message; agents' emoji assign or resolve
//! its request.

use std::collections::HashMap;

use super::Handled;
use crate::desk::effects::{Effect, AGENT_CARD, THREAD_REPLY};
use crate::desk::identity::Verification;
use crate::desk::requests::facilitated;
use crate::desk::rules::{self, emoji_name, EmojiActions, Reacted, ReactionOutcome, DEFAULT_EMOJI};
use crate::desk::{self, Source};
use crate::slack::events::PostedMessage;
use crate::store::{ChannelRecord, ClaimedEvent, SlackUserRecord, Store, Tx};
use crate::sync::lookup::{facilitator, served, Needs};
use crate::sync::unit::{described, on_behalf_json, requester_for, Draft, Unit};

/// An emoji in a served channel: who reacted and the projects; for the creation emoji,
/// the message and its thread (and the facilitator who may file for the reactor);
/// otherwise, who the agents are. Emoji anywhere else (deskhand sees every channel it is
/// in) cost nothing.
pub(super) fn needs(
    channel: &str,
    ts: &str,
    user: &str,
    reaction: &str,
    channels: &HashMap<String, Option<ChannelRecord>>,
) -> Needs {
    let mut needs = Needs::default();
    if !served(channels, channel) {
        return needs;
    }
    needs.users.push(user.to_owned());
    needs.projects = true;
    let creates = channels
        .get(channel)
        .and_then(Option::as_ref)
        .is_some_and(|c| c.is_support() && emoji_name(&c.create_emoji) == emoji_name(reaction));
    if creates {
        needs.message = Some((channel.to_owned(), ts.to_owned(), true));
        needs.users.extend(facilitator(channels, channel));
    } else {
        needs.agents = true;
    }
    needs
}

/// An emoji on a message: the creation emoji files it; agents' emoji assign or
/// resolve its request.
#[allow(clippy::too_many_arguments)]
pub(super) async fn handle<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    channel: &str,
    ts: &str,
    user: &str,
    reaction: &str,
) -> Handled {
    let facts = unit.facts;
    let Some(reactor) = facts.user(user) else {
        return Ok(());
    };
    let by_bot = user == facts.workspace.bot_user_id || reactor.is_bot;
    let support = facts.support_channel(channel);
    let mut ticket = None;
    for role in [THREAD_REPLY, AGENT_CARD] {
        if ticket.is_none() {
            ticket = Store::ticket_by_posted(tx, role, channel, ts).await?;
        }
    }
    let reacted = match (&ticket, support) {
        (Some(t), _) => Reacted::TicketPost { ticket_id: t.id },
        (None, Some(_)) => {
            ticket = Store::ticket_by_message(tx, channel, ts).await?;
            Reacted::SupportMessage {
                ticket_id: ticket.as_ref().map(|t| t.id),
            }
        }
        (None, None) => Reacted::Elsewhere,
    };
    let actions = match support {
        Some(c) => EmojiActions {
            create: &c.create_emoji,
            assign: &c.assign_emoji,
            resolve: &c.resolve_emoji,
        },
        None => DEFAULT_EMOJI,
    };
    let outcome = rules::on_reaction(&actions, reaction, reacted, facts.lookups.is_agent(user), by_bot);
    match (outcome, ticket) {
        (ReactionOutcome::FileTicket, _) => file_reacted(unit, tx, event, channel, ts, reactor).await?,
        (ReactionOutcome::Assign { .. }, Some(ticket)) => unit.assign(tx, &ticket, reactor, reactor).await?,
        (ReactionOutcome::Resolve { .. }, Some(ticket)) => {
            let workflow = unit.workflow_of(&ticket.project_key);
            let Some(resolved) = workflow.resolved() else {
                return Ok(());
            };
            let refusal = if ticket.awaits_approval() {
                Some(format!(
                    "*{}* waits for an approval: it can't be resolved before that.",
                    ticket.key
                ))
            } else {
                workflow
                    .check_move(&ticket.status, &resolved.name)
                    .err()
                    .map(|e| e.explanation())
            };
            match refusal {
                _ if ticket.status == resolved.name => {}
                Some(text) => unit.effect(Effect::PostEphemeral {
                    channel: channel.to_owned(),
                    user: user.to_owned(),
                    thread_ts: None,
                    text,
                }),
                None => unit.transition(tx, &ticket, resolved, reactor, true).await?,
            }
        }
        (outcome, _) => tracing::debug!(?outcome, reaction, "an emoji that changes nothing"),
    }
    Ok(())
}

/// File the message an emoji was added to: its author is the requester, the person
/// who reacted the reporter.
async fn file_reacted<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    event: &ClaimedEvent,
    channel: &str,
    ts: &str,
    reactor: &'a SlackUserRecord,
) -> Handled {
    let facts = unit.facts;
    let Some(message) = facts.lookups.messages.get(&(channel.to_owned(), ts.to_owned())) else {
        tracing::info!(
            channel,
            ts,
            "an emoji on a message deskhand could not read; nothing filed"
        );
        return Ok(());
    };
    let author = message
        .user_id
        .as_deref()
        .filter(|a| *a != facts.workspace.bot_user_id)
        .and_then(|a| facts.user(a))
        .filter(|a| !a.is_bot);
    let (Some(author), Some(support)) = (author, facts.support_channel(channel)) else {
        return Ok(());
    };
    if message.deleted {
        return Ok(());
    }
    let thread_ts = message.thread_ts.clone().filter(|_| message.is_reply());
    let permalink = facts.permalink(channel, ts, thread_ts.as_deref());
    // Who files: the reactor, or for someone the desk cannot link, the channel's
    // facilitator on their behalf.
    let (filer, filed_for) = match facts.verify(reactor) {
        Verification::Verified { .. } => (reactor, None),
        Verification::Unverified(reason) => match facts.facilitator_for(support) {
            Some(facilitator) if facilitated(reason, Some(&facilitator.slack_user_id)) => (facilitator, Some(reactor)),
            _ => {
                let parked = PostedMessage {
                    channel: channel.to_owned(),
                    user: Some(reactor.slack_user_id.clone()),
                    from_bot: false,
                    text: message.text.clone(),
                    ts: ts.to_owned(),
                    thread_ts,
                    files: message.files(),
                    in_dm: false,
                };
                return unit.park(tx, event, &parked, reactor, reason).await;
            }
        },
    };
    let Some(project) = support.project_key.as_deref() else {
        return Ok(());
    };
    let (requester, mut on_behalf_of) = requester_for(filer, author, &permalink, facts);
    if on_behalf_of.is_none() {
        on_behalf_of = filed_for.map(|person| on_behalf_json(person, &permalink));
    }
    let thread = facts.lookups.thread_of(message).unwrap_or_default();
    unit.drafts.push(Draft {
        reporter: Some(filer),
        on_behalf_of,
        summary: desk::summary_from(&message.text),
        description: described(&message.text, thread, ts, facts),
        files: message.files(),
        origin_thread_ts: thread_ts,
        permalink,
        ..Draft::new(project, support, (channel, ts), requester, Source::Emoji)
    });
    Ok(())
}
