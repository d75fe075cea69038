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
use crate::desk::workflow::Category;
use crate::desk::{self, Priority, Source};
use crate::slack::api::permalink;
use crate::slack::events::{Command, PostedMessage, SlackFile};
use crate::store::{
    ChannelMessage, ChannelRecord, ClaimedEvent, NewAttachment, NewAudit, NewComment, NewEffect, NewParked,
    NumberedTicket, ProjectRecord, SlackUserRecord, Store, StoreError, Tx, REFILE_KEY_PREFIX,
};
use crate::sync::effects::{Effect, AGENT_CARD};
use crate::sync::lookup::Lookups;
use crate::sync::worker::Workspace;

/// Everything a batch needs that was read or fetched before its transaction.
pub struct Facts<'a> {
    pub workspace: &'a Workspace,
    pub channels: &'a HashMap<String, Option<ChannelRecord>>,
    pub lookups: &'a Lookups,
}

impl<'a> Facts<'a> {
    pub fn user(&self, id: &str) -> Option<&'a SlackUserRecord> {
        self.lookups.users.get(id)
    }

    pub fn channel(&self, id: &str) -> Option<&'a ChannelRecord> {
        self.channels.get(id).and_then(Option::as_ref)
    }

    /// A support channel, by id.
    pub fn support_channel(&self, id: &str) -> Option<&'a ChannelRecord> {
        self.channel(id).filter(|c| c.kind == "support")
    }

    pub fn project(&self, key: &str) -> Option<&'a ProjectRecord> {
        self.lookups.projects.get(key)
    }

    /// The project of requests from no support channel: the admin's choice, else the
    /// only project there is.
    pub fn default_project(&self) -> Option<&'a ProjectRecord> {
        match &self.lookups.default_project {
            Some(key) => self.project(key),
            None if self.lookups.projects.len() == 1 => self.lookups.projects.values().next(),
            None => None,
        }
    }

    pub fn verify(&self, user: &'a SlackUserRecord) -> Verification<'a> {
        identity::verify(&profile(user), &self.workspace.team_id)
    }

    /// The facilitator of a support channel (its own, else the workspace's), when one is
    /// authorized and is a verified person.
    pub fn facilitator_for(&self, channel: &ChannelRecord) -> Option<&'a SlackUserRecord> {
        if channel.kind != "support" {
            return None;
        }
        let id = channel
            .facilitator_slack_id
            .as_deref()
            .or(self.lookups.workspace_facilitator.as_deref())?;
        self.user(id)
            .filter(|f| matches!(self.verify(f), Verification::Verified { .. }))
    }

    pub fn permalink(&self, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
        permalink(&self.workspace.url, channel, ts, thread_ts)
    }
}

/// A ticket decided on but not yet written.
pub(super) struct Draft<'a> {
    pub project: String,
    /// Its support channel's agent channel, when it came from a support channel (which
    /// may have none); else the project's is used.
    pub agent_channel: Option<Option<String>>,
    /// The message it is filed from (channel, ts), or for a form `("", "view:<id>")`.
    pub origin: (String, String),
    /// The parent of the thread the message is in, when it is a reply.
    pub origin_thread_ts: Option<String>,
    pub permalink: String,
    pub summary: String,
    pub description: String,
    pub files: Vec<SlackFile>,
    pub requester: &'a SlackUserRecord,
    /// Who filed it, when not the requester.
    pub reporter: Option<&'a SlackUserRecord>,
    /// JSON: the person it is for, when they could not be its requester themselves.
    pub on_behalf_of: Option<String>,
    pub source: Source,
    pub private: bool,
    pub department: Option<String>,
    pub request_type: Option<String>,
    pub priority: Priority,
    /// The submitted form's modal, to show the filed request in.
    pub view_id: Option<String>,
}

/// The writes a batch has decided on and not yet made.
#[derive(Default)]
pub struct Batch<'a> {
    pub(super) drafts: Vec<Draft<'a>>,
    audits: Vec<NewAudit>,
    effects: Vec<NewEffect>,
    finished: Vec<i64>,
    /// Support channels' messages to keep.
    kept: Vec<ChannelMessage>,
    /// Each project's agent channel, as found in this batch.
    agent_channels: HashMap<String, Option<String>>,
    /// Parked messages handed back to the worker: (channel, ts, thread_ts, author).
    refiled: Vec<(String, String, Option<String>, String)>,
}

impl<'a> Batch<'a> {
    pub(super) fn effect(&mut self, effect: Effect) {
        self.effects.push(effect.to_new());
    }

    pub(super) fn audit(
        &mut self,
        ticket_id: i64,
        actor: (&str, &str),
        action: &'static str,
        detail: serde_json::Value,
    ) {
        self.audit_for(ticket_id, actor, None, action, detail);
    }

    /// Audit a change made through a facilitator, for the person in `on_behalf_of` (JSON).
    pub(super) fn audit_for(
        &mut self,
        ticket_id: i64,
        actor: (&str, &str),
        on_behalf_of: Option<&str>,
        action: &'static str,
        detail: serde_json::Value,
    ) {
        self.audits.push(NewAudit {
            ticket_id: Some(ticket_id),
            actor_slack_id: Some(actor.0.to_owned()),
            actor_name: Some(actor.1.to_owned()),
            on_behalf_of: on_behalf_of.map(str::to_owned),
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
        if event.dedupe_key.starts_with(REFILE_KEY_PREFIX) {
            match command {
                Command::Posted(m) => self.refiled.push((
                    m.channel.clone(),
                    m.ts.clone(),
                    m.thread_ts.clone(),
                    m.user.clone().unwrap_or_default(),
                )),
                Command::Reacted { channel, ts, user, .. } => {
                    self.refiled.push((channel.clone(), ts.clone(), None, user.clone()))
                }
                _ => {}
            }
        }
        match command {
            Command::Posted(message) => {
                // A reply may answer a ticket drafted earlier in this batch.
                if message.thread_ts.is_some() {
                    self.file_drafts(tx, facts).await?;
                }
                if let (Some(_), false) = (facts.support_channel(&message.channel), message.from_bot) {
                    self.kept.push(ChannelMessage {
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
                    self.on_direct_message(tx, event, message, facts).await?
                } else {
                    self.on_posted(tx, event, message, facts.channel(&message.channel), facts)
                        .await?
                }
            }
            Command::Edited {
                channel,
                ts,
                text,
                from_bot,
                ..
            } if !from_bot => {
                self.file_drafts(tx, facts).await?;
                self.keep_now(tx).await?;
                Store::change_channel_message(tx, channel, ts, Some(text)).await?;
                self.on_edited(tx, channel, ts, text).await?
            }
            Command::Deleted { channel, ts } => {
                self.file_drafts(tx, facts).await?;
                self.keep_now(tx).await?;
                Store::change_channel_message(tx, channel, ts, None).await?;
                self.on_deleted(tx, channel, ts).await?
            }
            Command::Edited { .. } => {}
            Command::Mentioned(message) => {
                self.file_drafts(tx, facts).await?;
                self.on_mention(tx, event, message, facts).await?
            }
            Command::Reacted {
                channel,
                ts,
                user,
                reaction,
            } => {
                self.file_drafts(tx, facts).await?;
                self.on_reaction(tx, event, channel, ts, user, reaction, facts).await?
            }
            Command::HomeOpened { user } => {
                Store::home_opened(tx, user).await?;
                self.effect(Effect::PublishHome { user: user.clone() });
            }
            Command::OpenForm(request) => self.on_open_form(tx, request, facts).await?,
            Command::Submitted(submission) => {
                self.file_drafts(tx, facts).await?;
                self.on_submitted(tx, submission, facts).await?
            }
            Command::Desk(request) => self.on_desk(tx, request, facts).await?,
            Command::Close(request) => {
                self.file_drafts(tx, facts).await?;
                self.on_close(tx, request, facts).await?
            }
            Command::OpenReply(request) => self.on_open_reply(tx, request, facts).await?,
            Command::SetPriority(request) => {
                self.file_drafts(tx, facts).await?;
                self.on_set_priority(tx, request, facts).await?
            }
            Command::PublicReply(reply) => {
                self.file_drafts(tx, facts).await?;
                self.on_public_reply(tx, reply, facts).await?
            }
            Command::Ignored { what } => {
                tracing::debug!(inbox.id = event.id, what = %what, "acknowledged and ignored");
            }
        }
        self.finished.push(event.id);
        Ok(())
    }

    /// Parked messages handed back: those now filed (as a ticket or a comment) leave the
    /// shelf, and their authors are told.
    async fn settle_refiled(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        for (channel, ts, thread_ts, user) in std::mem::take(&mut self.refiled) {
            let filed = Store::ticket_by_message(tx, &channel, &ts).await?.is_some()
                || Store::comment_by_message(tx, &channel, &ts).await?.is_some();
            if filed && Store::parked_filed(tx, &channel, &ts).await? {
                self.effect(Effect::PostEphemeral {
                    channel,
                    user,
                    thread_ts,
                    text: "Good news: the help desk can take your message now, and it has been filed. \
                           Follow it in its thread."
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// Keep the support channels' messages gathered so far.
    async fn keep_now(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let kept = std::mem::take(&mut self.kept);
        Store::record_channel_messages(tx, &kept).await
    }

    /// Make every write the batch decided on.
    pub async fn flush(mut self, tx: &mut Tx, facts: &Facts<'a>) -> Result<(), StoreError> {
        self.file_drafts(tx, facts).await?;
        self.settle_refiled(tx).await?;
        self.kept.extend(facts.lookups.fetched.iter().cloned());
        self.keep_now(tx).await?;
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
                    let draft = Draft {
                        origin_thread_ts: None,
                        permalink: facts.permalink(&message.channel, &message.ts, None),
                        summary: desk::summary_from(&message.text),
                        description: message.text.clone(),
                        files: message.files.clone(),
                        ..Draft::new(
                            project,
                            channel,
                            (&message.channel, &message.ts),
                            author,
                            Source::ChannelMessage,
                        )
                    };
                    self.drafts.push(draft);
                }
                None => tracing::warn!(channel = %channel.channel_id, "support channel has no project; nothing filed"),
            },
            Outcome::Comment { ticket_id, visibility } => {
                self.add_comment(tx, ticket_id, visibility, message, author, None, facts)
                    .await?
            }
            Outcome::Park(reason) => self.park(tx, event, message, author, reason).await?,
            Outcome::FileThroughFacilitator(reason) => {
                let (Some(facilitator), Some(project)) = (facilitator, channel.project_key.as_deref()) else {
                    return Ok(());
                };
                let permalink = facts.permalink(&message.channel, &message.ts, None);
                tracing::info!(slack.user = %author.slack_user_id, reason = reason.as_str(), facilitator = %facilitator.slack_user_id, "filing through the channel's facilitator");
                self.drafts.push(Draft {
                    on_behalf_of: Some(on_behalf_json(author, &permalink)),
                    permalink,
                    summary: desk::summary_from(&message.text),
                    description: message.text.clone(),
                    files: message.files.clone(),
                    ..Draft::new(
                        project,
                        channel,
                        (&message.channel, &message.ts),
                        facilitator,
                        Source::ChannelMessage,
                    )
                });
            }
            Outcome::CommentThroughFacilitator { ticket_id, .. } => {
                let Some(facilitator) = facilitator else {
                    return Ok(());
                };
                let permalink = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
                let on_behalf_of = on_behalf_json(author, &permalink);
                self.add_comment(
                    tx,
                    ticket_id,
                    desk::Visibility::Public,
                    message,
                    facilitator,
                    Some(&on_behalf_of),
                    facts,
                )
                .await?
            }
            Outcome::Ignore(why) => tracing::debug!(inbox.id = event.id, ?why, "message files nothing"),
        }
        Ok(())
    }

    /// Record a reply as a comment of a ticket, once. `on_behalf_of` (JSON): the person
    /// whose words they are, when `author` is their facilitator.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn add_comment(
        &mut self,
        tx: &mut Tx,
        ticket_id: i64,
        visibility: desk::Visibility,
        message: &PostedMessage,
        author: &SlackUserRecord,
        on_behalf_of: Option<&str>,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        if Store::comment_by_message(tx, &message.channel, &message.ts)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let link = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
        let comment = Store::insert_comment(
            tx,
            &NewComment {
                ticket_id,
                on_behalf_of,
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
        self.audit_for(
            ticket_id,
            (&author.slack_user_id, &author.display_name),
            on_behalf_of,
            "comment_added",
            detail,
        );
        Ok(())
    }

    /// Keep a message whose author cannot be helped yet, and tell them why, once.
    pub(super) async fn park(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        message: &PostedMessage,
        author: &SlackUserRecord,
        reason: Unverified,
    ) -> Result<(), StoreError> {
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
        Ok(())
    }

    /// File the tickets decided on so far: numbered in the order their messages came,
    /// each message at most once, however often it was sent.
    pub(super) async fn file_drafts(&mut self, tx: &mut Tx, facts: &Facts<'a>) -> Result<(), StoreError> {
        if self.drafts.is_empty() {
            return Ok(());
        }
        let drafts = std::mem::take(&mut self.drafts);
        let keys: Vec<(&str, &str)> = drafts
            .iter()
            .map(|d| (d.origin.0.as_str(), d.origin.1.as_str()))
            .collect();
        let filed = Store::filed_messages(tx, &keys).await?;
        let mut seen = HashSet::new();
        let drafts: Vec<Draft> = drafts
            .into_iter()
            .filter(|d| !filed.contains(&d.origin) && seen.insert(d.origin.clone()))
            .collect();
        let mut next_number: HashMap<&str, i64> = HashMap::new();
        for draft in &drafts {
            *next_number.entry(draft.project.as_str()).or_default() += 1;
        }
        for (project, count) in next_number.iter_mut() {
            *count = Store::allocate_numbers(tx, project, *count).await?;
        }
        for draft in &drafts {
            if draft.agent_channel.is_none() && !self.agent_channels.contains_key(&draft.project) {
                let found = Store::agent_channel_of(tx, &draft.project).await?;
                self.agent_channels.insert(draft.project.clone(), found);
            }
        }
        let initial: HashMap<&str, String> = drafts
            .iter()
            .map(|d| {
                let workflow = facts.project(&d.project).map(|p| p.workflow()).unwrap_or_default();
                (d.project.as_str(), workflow.initial().name.clone())
            })
            .collect();
        let tickets: Vec<NumberedTicket> = drafts
            .iter()
            .map(|d| {
                let number = next_number.get_mut(d.project.as_str()).expect("allocated above");
                *number += 1;
                let reporter = d.reporter.filter(|r| r.slack_user_id != d.requester.slack_user_id);
                NumberedTicket {
                    key: format!("{}-{}", d.project, *number - 1),
                    project_key: &d.project,
                    number: *number - 1,
                    summary: d.summary.clone(),
                    description: &d.description,
                    status: initial.get(d.project.as_str()).map_or("Open", String::as_str),
                    priority: d.priority.as_str(),
                    source: d.source.as_str(),
                    requester_person_id: d.requester.person_id,
                    requester_slack_id: &d.requester.slack_user_id,
                    requester_name: &d.requester.display_name,
                    channel_id: &d.origin.0,
                    message_ts: &d.origin.1,
                    permalink: d.permalink.clone(),
                    department: d.department.as_deref(),
                    request_type: d.request_type.as_deref(),
                    reporter_slack_id: reporter.map(|r| r.slack_user_id.as_str()),
                    reporter_name: reporter.map(|r| r.display_name.as_str()),
                    on_behalf_of: d.on_behalf_of.clone(),
                    private: d.private,
                    status_category: Category::Open.as_str(),
                    origin_thread_ts: d.origin_thread_ts.as_deref(),
                }
            })
            .collect();
        let stored = Store::insert_tickets(tx, &tickets).await?;
        let by_origin: HashMap<(&str, &str), &Draft> = drafts
            .iter()
            .map(|d| ((d.origin.0.as_str(), d.origin.1.as_str()), d))
            .collect();
        let requesters: Vec<&str> = stored.iter().map(|t| t.requester_slack_id.as_str()).collect();
        let home_users = Store::home_users(tx, &requesters).await?;
        for ticket in &stored {
            let Some(draft) = by_origin.get(&(ticket.channel_id.as_str(), ticket.message_ts.as_str())) else {
                continue;
            };
            attach_files(tx, ticket.id, None, &draft.files).await?;
            let actor = draft.reporter.unwrap_or(draft.requester);
            let detail = json!({
                "key": ticket.key, "summary": ticket.summary, "permalink": ticket.permalink,
                "source": ticket.source, "requester": ticket.requester_slack_id,
            });
            self.audit_for(
                ticket.id,
                (&actor.slack_user_id, &actor.display_name),
                draft.on_behalf_of.as_deref(),
                "ticket_created",
                detail,
            );
            tracing::info!(ticket.key = %ticket.key, source = %ticket.source, "filed a ticket");
            self.effect(Effect::PostThreadReply { ticket_id: ticket.id });
            let agents = match &draft.agent_channel {
                Some(channel) => channel.clone(),
                None => self.agent_channels.get(&draft.project).cloned().flatten(),
            };
            if let Some(agents) = agents {
                self.effect(Effect::PostAgentCard {
                    ticket_id: ticket.id,
                    channel: agents,
                });
            }
            if let Some(view_id) = &draft.view_id {
                self.effect(Effect::ShowFiled {
                    view_id: view_id.clone(),
                    ticket_id: ticket.id,
                });
            }
            if home_users.contains(&ticket.requester_slack_id) {
                self.effect(Effect::PublishHome {
                    user: ticket.requester_slack_id.clone(),
                });
            }
        }
        Ok(())
    }

    /// The messages about a ticket that show its text: refresh them after it changes. A
    /// message that was never posted is skipped by the dispatcher, so both are always asked.
    pub(super) fn refresh_ticket_messages(&mut self, ticket_id: i64) {
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

impl<'a> Draft<'a> {
    /// A request from a message, with the defaults of the support channel it came from.
    pub fn new(
        project: &str,
        channel: &'a ChannelRecord,
        origin: (&str, &str),
        requester: &'a SlackUserRecord,
        source: Source,
    ) -> Self {
        let mut draft = Draft::bare(project, origin, requester, source);
        draft.apply_channel(channel);
        draft
    }

    /// A request with no channel's defaults.
    pub fn bare(project: &str, origin: (&str, &str), requester: &'a SlackUserRecord, source: Source) -> Self {
        Draft {
            project: project.to_owned(),
            agent_channel: None,
            origin: (origin.0.to_owned(), origin.1.to_owned()),
            origin_thread_ts: None,
            permalink: String::new(),
            summary: String::new(),
            description: String::new(),
            files: Vec::new(),
            requester,
            reporter: None,
            on_behalf_of: None,
            source,
            private: false,
            department: None,
            request_type: None,
            priority: Priority::Normal,
            view_id: None,
        }
    }

    /// Take a support channel's requesting defaults and agent channel.
    pub fn apply_channel(&mut self, channel: &ChannelRecord) {
        if channel.kind != "support" || channel.project_key.as_deref() != Some(self.project.as_str()) {
            return;
        }
        self.agent_channel = Some(channel.agent_channel.clone());
        self.department = self.department.take().or_else(|| channel.default_department.clone());
        self.request_type = channel.default_request_type.clone();
        if let Some(priority) = channel.default_priority.as_deref().and_then(Priority::parse) {
            self.priority = priority;
        }
    }
}

/// Who a request or reply is for, when someone else's account files it: their Slack id,
/// name, workspace, email (when Slack shows one) and the message's permalink, as JSON.
pub(super) fn on_behalf_json(person: &SlackUserRecord, permalink: &str) -> String {
    json!({
        "slack_user_id": person.slack_user_id,
        "name": person.display_name,
        "team_id": person.team_id,
        "email": person.email,
        "permalink": permalink,
    })
    .to_string()
}

fn channel_rules(channel: &ChannelRecord, facilitated: bool) -> ChannelRules<'_> {
    ChannelRules {
        kind: if channel.kind == "agent" {
            ChannelKind::Agent
        } else {
            ChannelKind::Support
        },
        auto_create: channel.auto_create,
        thread_sync: channel.thread_sync,
        announcement_marker: &channel.announcement_marker,
        facilitated,
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
