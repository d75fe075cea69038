//! One handler per kind of command. Each family's module says what its commands need
//! looked up before the worker's transaction opens (`needs`), and what they do with the
//! facts inside it (`handle…`), through the batch's [`Unit`] of work.
//!
//! To add a command: a variant of [`Command`] (decoded by its edge), a module here (or a
//! function in the family it belongs to), and an arm in each of [`channels_of`], [`needs`]
//! and [`apply`] below.

mod card;
mod decisions;
mod desk_command;
mod form;
mod jira;
mod mention;
mod message;
mod reaction;
mod ticket_action;

use std::collections::HashMap;

use crate::slack::events::{Command, PostedMessage};
use crate::store::{ChannelRecord, ClaimedEvent, SlackUserRecord, StoreError, Tx, REFILE_KEY_PREFIX};
use crate::sync::lookup::Needs;
use crate::sync::unit::{Facts, Refiled, Unit};

/// What handling a command comes to: its writes are in the unit, or the store failed.
type Handled = Result<(), StoreError>;

/// The channels `command` is about, whose bindings its batch reads at once.
pub fn channels_of(command: &Command) -> Vec<String> {
    match command {
        Command::Posted(m) | Command::Mentioned(m) => vec![m.channel.clone()],
        Command::Edited { channel, .. } | Command::Deleted { channel, .. } | Command::Reacted { channel, .. } => {
            vec![channel.clone()]
        }
        Command::OpenForm(request) => request.channel.iter().cloned().collect(),
        Command::Submitted(submission) => submission
            .context
            .channel
            .iter()
            .chain(submission.context.message.as_ref().map(|m| &m.channel))
            .cloned()
            .collect(),
        Command::Close(request) => request.channel.iter().cloned().collect(),
        Command::Desk(request) => vec![request.channel.clone()],
        Command::HomeOpened { .. }
        | Command::OpenReply(_)
        | Command::Card(_)
        | Command::Note(_)
        | Command::AddParticipant(_)
        | Command::PortalReply(_)
        | Command::Decide(_)
        | Command::Declined(_)
        | Command::OpenSurvey(_)
        | Command::Rated(_)
        | Command::PublicReply(_)
        | Command::Ignored { .. }
        | Command::Jira { .. }
        | Command::Uninstalled { .. } => vec![],
    }
}

/// What `command` needs looked up, given the channels of its batch.
pub fn needs(command: &Command, channels: &HashMap<String, Option<ChannelRecord>>) -> Needs {
    match command {
        Command::Posted(m) => message::needs(m, channels),
        Command::Mentioned(m) => mention::needs(m, channels),
        Command::Reacted {
            channel,
            ts,
            user,
            reaction,
            ..
        } => reaction::needs(channel, ts, user, reaction, channels),
        Command::OpenForm(request) => form::needs_to_open(request),
        Command::Submitted(submission) => form::needs_to_file(submission),
        Command::Desk(request) => desk_command::needs(request),
        Command::Close(request) => ticket_action::needs(&request.user, true, false),
        Command::OpenReply(request) => ticket_action::needs(&request.user, false, true),
        Command::PublicReply(reply) => ticket_action::needs(&reply.user, false, true),
        Command::Card(request) => card::needs(request),
        Command::Note(note) => ticket_action::needs(&note.user, false, true),
        Command::AddParticipant(added) => ticket_action::needs(&added.user, false, true),
        Command::PortalReply(reply) => ticket_action::needs(&reply.user, false, true),
        Command::Decide(request) => decisions::needs(&request.user),
        Command::Declined(reason) => decisions::needs(&reason.user),
        Command::OpenSurvey(request) => decisions::needs(&request.user),
        Command::Rated(answer) => decisions::needs(&answer.user),
        Command::HomeOpened { user } => ticket_action::needs(user, false, true),
        Command::Edited { .. }
        | Command::Deleted { .. }
        | Command::Ignored { .. }
        | Command::Jira { .. }
        | Command::Uninstalled { .. } => Needs::default(),
    }
}

/// Apply one event. Its inbox row is finished with the batch.
pub async fn apply<'a>(unit: &mut Unit<'a>, tx: &mut Tx, event: &ClaimedEvent, command: &'a Command) -> Handled {
    if event.dedupe_key.starts_with(REFILE_KEY_PREFIX) {
        if let Some(refiled) = Refiled::of(command) {
            unit.refiled.push(refiled);
        }
    }
    // Anything that may depend on tickets drafted earlier in the batch (a reply in their
    // thread, an edit, an emoji on their message) files them first.
    let depends_on_drafts = match command {
        Command::Posted(message) => message.thread_ts.is_some(),
        Command::Edited { from_bot, .. } => !from_bot,
        Command::Deleted { .. }
        | Command::Mentioned(_)
        | Command::Reacted { .. }
        | Command::Submitted(_)
        | Command::Close(_)
        | Command::Card(_)
        | Command::Note(_)
        | Command::AddParticipant(_)
        | Command::PortalReply(_)
        | Command::Decide(_)
        | Command::Declined(_)
        | Command::OpenSurvey(_)
        | Command::Rated(_)
        | Command::PublicReply(_) => true,
        _ => false,
    };
    if depends_on_drafts {
        unit.file_drafts(tx).await?;
    }
    let drafted = unit.drafts.len();
    match command {
        Command::Posted(message) => message::handle_posted(unit, tx, event, message).await?,
        Command::Edited {
            channel,
            ts,
            text,
            from_bot,
            ..
        } if !from_bot => message::handle_edited(unit, tx, channel, ts, text).await?,
        Command::Edited { .. } => {}
        Command::Deleted { channel, ts } => message::handle_deleted(unit, tx, channel, ts).await?,
        Command::Mentioned(message) => mention::handle(unit, tx, event, message).await?,
        Command::Reacted {
            channel,
            ts,
            user,
            reaction,
        } => reaction::handle(unit, tx, event, channel, ts, user, reaction).await?,
        Command::HomeOpened { user } => ticket_action::handle_home_opened(unit, tx, user).await?,
        Command::OpenForm(request) => form::handle_open(unit, tx, request).await?,
        Command::Submitted(submission) => form::handle_submitted(unit, tx, submission).await?,
        Command::Desk(request) => desk_command::handle(unit, tx, request).await?,
        Command::Close(request) => ticket_action::handle_close(unit, tx, request).await?,
        Command::OpenReply(request) => ticket_action::handle_open_reply(unit, tx, request).await?,
        Command::Card(request) => card::handle(unit, tx, request).await?,
        Command::Note(note) => card::handle_note(unit, tx, note).await?,
        Command::AddParticipant(added) => card::handle_participant(unit, tx, added).await?,
        Command::PortalReply(reply) => card::handle_portal_reply(unit, tx, reply).await?,
        Command::Decide(request) => decisions::handle_decide(unit, tx, request).await?,
        Command::Declined(reason) => decisions::handle_declined(unit, tx, reason).await?,
        Command::OpenSurvey(request) => decisions::handle_open_survey(unit, tx, request).await?,
        Command::Rated(answer) => decisions::handle_rated(unit, tx, answer).await?,
        Command::PublicReply(reply) => ticket_action::handle_public_reply(unit, tx, reply).await?,
        Command::Ignored { what } => {
            tracing::debug!(inbox.id = event.id, what = %what, "acknowledged and ignored");
        }
        Command::Jira { project, event } => jira::handle(unit, tx, project, event).await?,
        // The worker forgets the workspace before anything needs its token.
        Command::Uninstalled { .. } => {}
    }
    for draft in unit.drafts.iter_mut().skip(drafted) {
        draft.inbox_id = Some(event.id);
    }
    unit.finished.push(event.id);
    Ok(())
}

/// The author of a person's message (not a bot's, not deskhand's), as looked up.
fn person<'a>(message: &PostedMessage, facts: &Facts<'a>) -> Option<&'a SlackUserRecord> {
    let user = message.user.as_deref()?;
    if message.from_bot || user == facts.workspace.bot_user_id {
        return None;
    }
    facts.user(user).filter(|u| !u.is_bot)
}
