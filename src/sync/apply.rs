//! Applying a batch of events to the store, inside the worker's one transaction.
//!
//! New tickets, audit entries, effects and finished inbox rows are collected in a
//! [`Batch`] and written set-at-a-time when it is flushed, so a batch of a thousand new
//! requests costs a handful of statements. Anything that may depend on those writes (a
//! reply in a ticket's thread, an edit, a delete) flushes the new tickets first, so events
//! still take effect strictly in the order they came.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::desk::identity::{self, SlackProfile, Unverified, Verification};
use crate::desk::rules::{self, ChannelKind, ChannelRules, Outcome, Thread};
use crate::desk::{self, Priority, Source, INITIAL_STATUS};
use crate::slack::api::permalink;
use crate::slack::events::{Command, PostedMessage, SlackFile};
use crate::store::{
    ChannelRecord, ClaimedEvent, NewAttachment, NewAudit, NewComment, NewEffect, NewParked, NumberedTicket,
    SlackUserRecord, Store, StoreError, Tx,
};
use crate::sync::effects::{Effect, AGENT_CARD};
use crate::sync::worker::Workspace;

/// Everything a batch needs that was read or fetched before its transaction.
pub struct Facts<'a> {
    pub workspace: &'a Workspace,
    pub channels: &'a HashMap<String, Option<ChannelRecord>>,
    pub users: &'a HashMap<String, SlackUserRecord>,
}

/// A ticket decided on but not yet written.
struct Draft<'a> {
    project: &'a str,
    agent_channel: Option<&'a str>,
    message: &'a PostedMessage,
    author: &'a SlackUserRecord,
}

/// The writes a batch has decided on and not yet made.
#[derive(Default)]
pub struct Batch<'a> {
    drafts: Vec<Draft<'a>>,
    audits: Vec<NewAudit>,
    effects: Vec<NewEffect>,
    finished: Vec<i64>,
}

impl<'a> Batch<'a> {
    fn effect(&mut self, effect: Effect) {
        self.effects.push(effect.to_new());
    }

    fn audit(&mut self, ticket_id: i64, actor: (&str, &str), action: &'static str, detail: serde_json::Value) {
        self.audits.push(NewAudit {
            ticket_id: Some(ticket_id),
            actor_slack_id: Some(actor.0.to_owned()),
            actor_name: Some(actor.1.to_owned()),
            source: "slack",
            action,
            detail: detail.to_string(),
        });
    }

    /// Apply one event. Its inbox row is finished with the batch.
    pub async fn apply(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        command: &'a Command,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let channel_of = |id: &str| facts.channels.get(id).and_then(Option::as_ref);
        match command {
            Command::Posted(message) => {
                // A reply may answer a ticket drafted earlier in this batch.
                if message.thread_ts.is_some() {
                    self.file_drafts(tx, facts).await?;
                }
                self.on_posted(tx, event, message, channel_of(&message.channel), facts)
                    .await?
            }
            Command::Edited {
                channel,
                ts,
                text,
                from_bot,
                ..
            } if !from_bot => {
                self.file_drafts(tx, facts).await?;
                self.on_edited(tx, channel, ts, text).await?
            }
            Command::Deleted { channel, ts } => {
                self.file_drafts(tx, facts).await?;
                self.on_deleted(tx, channel, ts).await?
            }
            Command::Edited { .. } => {}
            Command::Ignored { what } => {
                tracing::debug!(inbox.id = event.id, what = %what, "acknowledged and ignored");
            }
        }
        self.finished.push(event.id);
        Ok(())
    }

    /// Make every write the batch decided on.
    pub async fn flush(mut self, tx: &mut Tx, facts: &Facts<'a>) -> Result<(), StoreError> {
        self.file_drafts(tx, facts).await?;
        Store::insert_audits(tx, &self.audits).await?;
        Store::enqueue_effects(tx, &self.effects).await?;
        Store::finish_events(tx, &self.finished).await
    }

    async fn on_posted(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        message: &'a PostedMessage,
        channel: Option<&'a ChannelRecord>,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
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
                if channel.kind == "agent" {
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
        let author = message.user.as_ref().and_then(|u| facts.users.get(u));
        let verification = match author {
            Some(author) => identity::verify(&profile(author), &facts.workspace.team_id),
            None => Verification::Unverified(Unverified::OtherWorkspace),
        };
        let outcome = rules::on_message(
            channel.map(channel_rules).as_ref(),
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
                Some(project) => self.drafts.push(Draft {
                    project,
                    agent_channel: channel.agent_channel.as_deref(),
                    message,
                    author,
                }),
                None => tracing::warn!(channel = %channel.channel_id, "support channel has no project; nothing filed"),
            },
            Outcome::Comment { ticket_id, visibility } => {
                if Store::comment_by_message(tx, &message.channel, &message.ts)
                    .await?
                    .is_some()
                {
                    return Ok(());
                }
                let link = permalink(
                    &facts.workspace.url,
                    &message.channel,
                    &message.ts,
                    message.thread_ts.as_deref(),
                );
                let comment = Store::insert_comment(
                    tx,
                    &NewComment {
                        ticket_id,
                        visibility: visibility.as_str(),
                        body: &message.text,
                        author_person_id: author.person_id,
                        author_slack_id: &author.slack_user_id,
                        author_name: &author.display_name,
                        channel_id: &message.channel,
                        message_ts: &message.ts,
                        permalink: &link,
                    },
                )
                .await?;
                attach_files(tx, ticket_id, Some(comment.id), &message.files).await?;
                let detail = json!({ "comment": comment.id, "visibility": visibility.as_str(), "permalink": link });
                self.audit(
                    ticket_id,
                    (&author.slack_user_id, &author.display_name),
                    "comment_added",
                    detail,
                );
            }
            Outcome::Park(reason) => {
                let parked = Store::park_message(
                    tx,
                    &NewParked {
                        channel_id: &message.channel,
                        slack_user_id: &author.slack_user_id,
                        ts: &message.ts,
                        thread_ts: message.thread_ts.as_deref(),
                        text: &message.text,
                        reason: reason.as_str(),
                        event: &event.body,
                    },
                )
                .await?;
                if parked {
                    tracing::info!(slack.user = %author.slack_user_id, channel = %message.channel, reason = reason.as_str(), "parked a message from an unverified user");
                    self.effect(Effect::PostEphemeral {
                        channel: message.channel.clone(),
                        user: author.slack_user_id.clone(),
                        thread_ts: message.thread_ts.clone(),
                        text: reason.explanation().to_owned(),
                    });
                }
            }
            Outcome::Ignore(why) => tracing::debug!(inbox.id = event.id, ?why, "message files nothing"),
        }
        Ok(())
    }

    /// File the tickets decided on so far: numbered in the order their messages came,
    /// each message at most once, however often it was sent.
    async fn file_drafts(&mut self, tx: &mut Tx, facts: &Facts<'a>) -> Result<(), StoreError> {
        if self.drafts.is_empty() {
            return Ok(());
        }
        let drafts = std::mem::take(&mut self.drafts);
        let keys: Vec<(&str, &str)> = drafts
            .iter()
            .map(|d| (d.message.channel.as_str(), d.message.ts.as_str()))
            .collect();
        let filed = Store::filed_messages(tx, &keys).await?;
        let mut seen = HashSet::new();
        let drafts: Vec<Draft> = drafts
            .into_iter()
            .filter(|d| {
                let key = (d.message.channel.clone(), d.message.ts.clone());
                !filed.contains(&key) && seen.insert(key)
            })
            .collect();
        let mut next_number: HashMap<&str, i64> = HashMap::new();
        for draft in &drafts {
            *next_number.entry(draft.project).or_default() += 1;
        }
        for (project, count) in next_number.iter_mut() {
            *count = Store::allocate_numbers(tx, project, *count).await?;
        }
        let tickets: Vec<NumberedTicket> = drafts
            .iter()
            .map(|d| {
                let number = next_number.get_mut(d.project).expect("allocated above");
                *number += 1;
                NumberedTicket {
                    key: format!("{}-{}", d.project, *number - 1),
                    project_key: d.project,
                    number: *number - 1,
                    summary: desk::summary_from(&d.message.text),
                    description: &d.message.text,
                    status: INITIAL_STATUS,
                    priority: Priority::Normal.as_str(),
                    source: Source::ChannelMessage.as_str(),
                    requester_person_id: d.author.person_id,
                    requester_slack_id: &d.author.slack_user_id,
                    requester_name: &d.author.display_name,
                    channel_id: &d.message.channel,
                    message_ts: &d.message.ts,
                    permalink: permalink(&facts.workspace.url, &d.message.channel, &d.message.ts, None),
                }
            })
            .collect();
        let stored = Store::insert_tickets(tx, &tickets).await?;
        let by_message: HashMap<(&str, &str), &Draft> = drafts
            .iter()
            .map(|d| ((d.message.channel.as_str(), d.message.ts.as_str()), d))
            .collect();
        for ticket in &stored {
            let Some(draft) = by_message.get(&(ticket.channel_id.as_str(), ticket.message_ts.as_str())) else {
                continue;
            };
            attach_files(tx, ticket.id, None, &draft.message.files).await?;
            let detail = json!({ "key": ticket.key, "summary": ticket.summary, "permalink": ticket.permalink });
            self.audit(
                ticket.id,
                (&ticket.requester_slack_id, &ticket.requester_name),
                "ticket_created",
                detail,
            );
            tracing::info!(ticket.key = %ticket.key, channel = %ticket.channel_id, "filed a ticket");
            self.effect(Effect::PostThreadReply { ticket_id: ticket.id });
            if let Some(agents) = draft.agent_channel {
                self.effect(Effect::PostAgentCard {
                    ticket_id: ticket.id,
                    channel: agents.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The messages about a ticket that show its text: refresh them after it changes. A
    /// message that was never posted is skipped by the dispatcher, so both are always asked.
    fn refresh_ticket_messages(&mut self, ticket_id: i64) {
        self.effect(Effect::RefreshThreadReply { ticket_id });
        self.effect(Effect::RefreshAgentCard { ticket_id });
    }

    async fn on_edited(&mut self, tx: &mut Tx, channel_id: &str, ts: &str, text: &str) -> Result<(), StoreError> {
        if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
            if rules::edit_changes_text(&ticket.description, text) {
                Store::update_ticket_text(tx, ticket.id, &desk::summary_from(text), text).await?;
                let detail = json!({ "previous": ticket.description, "text": text });
                self.audit(
                    ticket.id,
                    (&ticket.requester_slack_id, &ticket.requester_name),
                    "ticket_edited",
                    detail,
                );
                self.refresh_ticket_messages(ticket.id);
            }
        } else if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
            if rules::edit_changes_text(&comment.body, text) {
                Store::update_comment_body(tx, comment.id, text).await?;
                let detail = json!({ "comment": comment.id, "previous": comment.body, "text": text });
                self.audit(
                    comment.ticket_id,
                    (&comment.author_slack_id, &comment.author_name),
                    "comment_edited",
                    detail,
                );
            }
        }
        Ok(())
    }

    async fn on_deleted(&mut self, tx: &mut Tx, channel_id: &str, ts: &str) -> Result<(), StoreError> {
        if let Some(ticket) = Store::ticket_by_message(tx, channel_id, ts).await? {
            if ticket.deleted_at.is_none() {
                Store::mark_ticket_deleted(tx, ticket.id).await?;
                let detail = json!({ "text": ticket.description });
                let actor = (ticket.requester_slack_id.as_str(), ticket.requester_name.as_str());
                self.audit(ticket.id, actor, "ticket_message_deleted", detail);
                self.refresh_ticket_messages(ticket.id);
            }
        } else if let Some(comment) = Store::comment_by_message(tx, channel_id, ts).await? {
            if comment.deleted_at.is_none() {
                Store::mark_comment_deleted(tx, comment.id).await?;
                let detail = json!({ "comment": comment.id, "text": comment.body });
                self.audit(
                    comment.ticket_id,
                    (&comment.author_slack_id, &comment.author_name),
                    "comment_deleted",
                    detail,
                );
            }
        }
        Ok(())
    }
}

pub fn profile(record: &SlackUserRecord) -> SlackProfile<'_> {
    SlackProfile {
        team_id: &record.team_id,
        is_bot: record.is_bot,
        is_restricted: record.is_restricted,
        is_ultra_restricted: record.is_ultra_restricted,
        deleted: record.deleted,
        email: record.email.as_deref(),
    }
}

fn channel_rules(channel: &ChannelRecord) -> ChannelRules<'_> {
    ChannelRules {
        kind: if channel.kind == "agent" {
            ChannelKind::Agent
        } else {
            ChannelKind::Support
        },
        auto_create: channel.auto_create,
        thread_sync: channel.thread_sync,
        announcement_marker: &channel.announcement_marker,
    }
}

async fn attach_files(
    tx: &mut Tx,
    ticket_id: i64,
    comment_id: Option<i64>,
    files: &[SlackFile],
) -> Result<(), StoreError> {
    for file in files {
        let name = file.name.as_deref().or(file.title.as_deref()).unwrap_or(&file.id);
        let attachment = NewAttachment {
            slack_file_id: &file.id,
            name,
            mimetype: file.mimetype.as_deref().unwrap_or("application/octet-stream"),
            size: file.size.unwrap_or(0),
            permalink: file.permalink.as_deref().unwrap_or_default(),
        };
        Store::insert_attachment(tx, ticket_id, comment_id, &attachment).await?;
    }
    Ok(())
}
