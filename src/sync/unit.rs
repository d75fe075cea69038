//! The unit of work of one worker batch, inside its one transaction.
//!
//! New tickets, audit entries, effects and finished inbox rows are collected in a
//! [`Unit`] and written set-at-a-time when it is flushed, so a batch of a thousand new
//! requests costs a handful of statements. Anything that may depend on those writes (a
//! reply in a ticket's thread, an edit, a delete) files the new tickets first, so events
//! still take effect strictly in the order they came. New tickets reach their project's
//! ticket store through [`crate::sync::tickets`].

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::desk::effects::Effect;
use crate::desk::identity::{self, SlackProfile, Verification};
use crate::desk::project::AWAITING_APPROVAL;
use crate::desk::requests::{self, Requester};
use crate::desk::workflow::Category;
use crate::desk::{self, Priority, SharedFile, Source};
use crate::slack::api::permalink;
use crate::slack::events::{Command, PostedMessage};
use crate::store::{
    ChannelMessage, ChannelRecord, NewAttachment, NewAudit, NewEffect, NumberedTicket, ProjectRecord, SlackUserRecord,
    Store, StoreError, TicketRecord, Tx,
};
use crate::sync::lookup::Lookups;
use crate::sync::tickets::{BuiltIn, ServiceDesk, TicketStore};
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
        self.channel(id).filter(|c| c.is_support())
    }

    pub fn project(&self, key: &str) -> Option<&'a ProjectRecord> {
        self.lookups.projects.get(key)
    }

    /// The project of requests from no support channel: the admin's choice, else the
    /// only project there is.
    pub fn default_project(&self) -> Option<&'a ProjectRecord> {
        let keys: Vec<&str> = self.lookups.projects.keys().map(String::as_str).collect();
        let key = self.lookups.settings.default_project(&keys)?;
        self.project(key)
    }

    pub fn verify(&self, user: &'a SlackUserRecord) -> Verification<'a> {
        identity::verify(&profile(user), self.workspace.home())
    }

    /// The facilitator of a support channel (its own, else the workspace's), when one is
    /// authorized and is a verified person.
    pub fn facilitator_for(&self, channel: &'a ChannelRecord) -> Option<&'a SlackUserRecord> {
        let workspace = self.lookups.settings.facilitator.as_ref();
        let id = requests::facilitator_for(
            channel.kind,
            channel.facilitator_slack_id.as_deref(),
            workspace.map(|f| f.slack_user_id.as_str()),
            |id| {
                self.user(id)
                    .is_some_and(|f| matches!(self.verify(f), Verification::Verified { .. }))
            },
        )?;
        self.user(id)
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
    pub files: Vec<SharedFile>,
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
    /// The inbox row it comes from, for the log.
    pub inbox_id: Option<i64>,
}

/// The actor of what deskhand does on its own.
pub(super) const SYSTEM: (&str, &str) = ("deskhand", "deskhand");

/// What deskhand says where a request could have been filed but no project is set up.
pub const NO_PROJECT: &str = "I can't file requests from here yet: the help desk has no project for them. \
    Ask a help-desk admin to choose a default project, or ask in a support channel.";

/// A parked message handed back to the worker: where it is and who wrote it.
pub struct Refiled {
    channel: String,
    ts: String,
    thread_ts: Option<String>,
    author: String,
}

impl Refiled {
    pub fn of(command: &Command) -> Option<Self> {
        match command {
            Command::Posted(m) => Some(Self {
                channel: m.channel.clone(),
                ts: m.ts.clone(),
                thread_ts: m.thread_ts.clone(),
                author: m.user.clone().unwrap_or_default(),
            }),
            Command::Reacted { channel, ts, user, .. } => Some(Self {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts: None,
                author: user.clone(),
            }),
            _ => None,
        }
    }
}

/// The writes a batch has decided on and not yet made, and the facts it decides with.
pub struct Unit<'a> {
    pub(super) facts: &'a Facts<'a>,
    pub(super) drafts: Vec<Draft<'a>>,
    audits: Vec<NewAudit>,
    effects: Vec<NewEffect>,
    pub(super) finished: Vec<i64>,
    /// Support channels' messages to keep.
    pub(super) kept: Vec<ChannelMessage>,
    /// Each project's agent channel, as found in this batch.
    agent_channels: HashMap<String, Option<String>>,
    /// Parked messages handed back to the worker.
    pub(super) refiled: Vec<Refiled>,
    /// Where the changes being made were asked for, as the audit says it.
    source: &'static str,
}

impl<'a> Unit<'a> {
    pub fn new(facts: &'a Facts<'a>) -> Self {
        Self {
            facts,
            drafts: Vec::new(),
            audits: Vec::new(),
            effects: Vec::new(),
            finished: Vec::new(),
            kept: Vec::new(),
            agent_channels: HashMap::new(),
            refiled: Vec::new(),
            source: "slack",
        }
    }

    pub(super) fn effect(&mut self, effect: Effect) {
        self.effects
            .push(NewEffect::of(&effect).through(self.facts.workspace.installation.as_deref()));
    }

    /// Audit what deskhand did on its own.
    pub(super) fn audit(
        &mut self,
        ticket_id: i64,
        actor: (&str, &str),
        action: &'static str,
        detail: serde_json::Value,
    ) {
        self.audit_for(ticket_id, actor, None, action, detail);
    }

    /// Audit a change `actor` made.
    pub(super) fn audit_by(
        &mut self,
        ticket_id: i64,
        actor: &SlackUserRecord,
        action: &'static str,
        detail: serde_json::Value,
    ) {
        self.audit(ticket_id, (&actor.slack_user_id, &actor.display_name), action, detail);
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
            source: self.source,
            action,
            detail: detail.to_string(),
        });
    }

    /// Where the changes being made were asked for.
    pub(super) fn source(&self) -> &'static str {
        self.source
    }

    /// Audit what follows as asked for from `source` (`slack`, `portal`); the one before.
    pub(super) fn set_source(&mut self, source: &'static str) -> &'static str {
        std::mem::replace(&mut self.source, source)
    }

    /// Parked messages handed back: those now filed (as a ticket or a comment) leave the
    /// shelf, and their authors are told.
    async fn settle_refiled(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        for Refiled {
            channel,
            ts,
            thread_ts,
            author: user,
        } in std::mem::take(&mut self.refiled)
        {
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
    pub(super) async fn keep_now(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let kept = std::mem::take(&mut self.kept);
        Store::record_channel_messages(tx, &kept).await
    }

    /// Make every write the batch decided on.
    pub async fn flush(mut self, tx: &mut Tx) -> Result<(), StoreError> {
        self.file_drafts(tx).await?;
        let facts = self.facts;
        self.settle_refiled(tx).await?;
        self.kept.extend(facts.lookups.fetched.iter().cloned());
        self.keep_now(tx).await?;
        Store::insert_audits(tx, &self.audits).await?;
        Store::enqueue_effects(tx, &self.effects).await?;
        Store::finish_events(tx, &self.finished).await
    }

    /// File the tickets decided on so far: numbered in the order their messages came,
    /// each message at most once, however often it was sent.
    pub(super) async fn file_drafts(&mut self, tx: &mut Tx) -> Result<(), StoreError> {
        let facts = self.facts;
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
        for draft in &drafts {
            if draft.agent_channel.is_none() && !self.agent_channels.contains_key(&draft.project) {
                let found = Store::agent_channel_of(tx, &draft.project).await?;
                self.agent_channels.insert(draft.project.clone(), found);
            }
        }
        // The projects as the batch read them, before its transaction.
        let in_jira: HashSet<&str> = facts
            .lookups
            .projects
            .values()
            .filter(|p| p.backend == "jira")
            .map(|p| p.key.as_str())
            .collect();
        // Where each starts: its workflow's first status, or waiting for its approvers
        // (in a Jira project, Jira's approvals decide: the first status is Jira's).
        let starts: Vec<(String, Option<Vec<String>>)> = drafts
            .iter()
            .map(|d| {
                let project = facts.project(&d.project);
                let workflow = project.map(|p| p.workflow()).unwrap_or_default();
                let approvers = project
                    .and_then(|p| {
                        let approval = p.approval_for(d.request_type.as_deref())?;
                        Some(approval.approvers(&p.department_list(), d.department.as_deref()))
                    })
                    .filter(|a| !a.is_empty() && !in_jira.contains(d.project.as_str()));
                match approvers {
                    Some(approvers) => (AWAITING_APPROVAL.to_owned(), Some(approvers)),
                    None => (workflow.initial().name.clone(), None),
                }
            })
            .collect();
        let tickets: Vec<NumberedTicket> = drafts
            .iter()
            .zip(&starts)
            .map(|(d, (status, approvers))| {
                let reporter = d.reporter.filter(|r| r.slack_user_id != d.requester.slack_user_id);
                NumberedTicket {
                    // The ticket store gives each its key.
                    key: String::new(),
                    project_key: &d.project,
                    number: 0,
                    summary: d.summary.clone(),
                    description: &d.description,
                    status,
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
                    approval: approvers.as_ref().map(|_| "pending"),
                    installation: facts.workspace.installation.as_deref(),
                }
            })
            .collect();
        let (mut to_jira, mut built_in): (Vec<NumberedTicket>, Vec<NumberedTicket>) =
            tickets.into_iter().partition(|t| in_jira.contains(t.project_key));
        let mut stored = BuiltIn.file(tx, &mut built_in).await?;
        let raised = ServiceDesk.file(tx, &mut to_jira).await?;
        let raised_ids: HashSet<i64> = raised.iter().map(|t| t.id).collect();
        stored.extend(raised);
        type Approvers = Option<Vec<String>>;
        let by_origin: HashMap<(&str, &str), (&Draft, &Approvers)> = drafts
            .iter()
            .zip(&starts)
            .map(|(d, (_, approvers))| ((d.origin.0.as_str(), d.origin.1.as_str()), (d, approvers)))
            .collect();
        let requesters: Vec<&str> = stored.iter().map(|t| t.requester_slack_id.as_str()).collect();
        let home_users = Store::home_users(tx, &requesters).await?;
        for ticket in &stored {
            let Some(&(draft, approvers)) = by_origin.get(&(ticket.channel_id.as_str(), ticket.message_ts.as_str()))
            else {
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
            tracing::info!(ticket.key = %ticket.key, source = %ticket.source, inbox.id = draft.inbox_id, "filed a ticket");
            crate::metrics::get()
                .tickets_created
                .get_or_create(&crate::metrics::kind(ticket.source.as_str()))
                .inc();
            if raised_ids.contains(&ticket.id) {
                self.effect(Effect::JiraCreate { ticket_id: ticket.id });
            }
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
                    agent: facts.lookups.is_agent(&ticket.requester_slack_id),
                });
            }
            if let Some(approvers) = approvers {
                Store::request_approval(tx, ticket.id, approvers).await?;
                self.audit(
                    ticket.id,
                    SYSTEM,
                    "approval_requested",
                    json!({ "approvers": approvers }),
                );
                for approver in approvers {
                    self.effect(Effect::AskApproval {
                        user: approver.clone(),
                        ticket_id: ticket.id,
                    });
                }
            }
            if let Some(project) = facts.project(&ticket.project_key) {
                let managers = project.managers_of(ticket.department.as_deref());
                let text = format!(
                    "New request *{}* · {} from {}.",
                    ticket.shown_key(),
                    ticket.summary,
                    ticket.requester_name
                );
                self.tell_managers(ticket, &managers, &ticket.requester_slack_id, &text);
            }
        }
        Ok(())
    }

    /// Tell a ticket's managers (but `except`, who did it) something about it: by DM with
    /// a link to its card, and by mail when deskhand has a mail server.
    pub(super) fn tell_managers(&mut self, ticket: &TicketRecord, managers: &[String], except: &str, text: &str) {
        for manager in managers.iter().filter(|m| *m != except) {
            self.effect(Effect::NotifyAgent {
                user: manager.clone(),
                ticket_id: ticket.id,
                text: text.to_owned(),
            });
            if self.facts.workspace.email {
                self.effect(Effect::Email {
                    slack_user_id: manager.clone(),
                    subject: format!("[{}] {}", ticket.key, ticket.summary),
                    body: format!(
                        "{}\n\nRequester: {}\nStatus: {}\nPriority: {}\n{}\n",
                        text.replace('*', ""),
                        ticket.requester_name,
                        ticket.status,
                        ticket.priority,
                        ticket.permalink
                    ),
                });
            }
        }
    }

    /// The messages about a ticket that show its text: refresh them after it changes. A
    /// message that was never posted is skipped by the dispatcher, so both are always asked.
    pub(super) fn refresh_ticket_messages(&mut self, ticket_id: i64) {
        self.effect(Effect::RefreshThreadReply { ticket_id });
        self.effect(Effect::RefreshAgentCard { ticket_id });
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

    /// A support channel's top-level message as a request, with the channel's defaults.
    pub fn of_message(
        project: &str,
        channel: &'a ChannelRecord,
        message: &PostedMessage,
        requester: &'a SlackUserRecord,
        permalink: String,
    ) -> Self {
        Draft {
            permalink,
            summary: desk::summary_from(&message.text),
            description: message.text.clone(),
            files: message.files.clone(),
            ..Draft::new(
                project,
                channel,
                (&message.channel, &message.ts),
                requester,
                Source::ChannelMessage,
            )
        }
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
            inbox_id: None,
        }
    }

    /// Take a support channel's requesting defaults and agent channel.
    pub fn apply_channel(&mut self, channel: &ChannelRecord) {
        if !requests::channel_defaults_apply(channel.kind, channel.project_key.as_deref(), &self.project) {
            return;
        }
        self.agent_channel = Some(channel.agent_channel.clone());
        self.department = self.department.take().or_else(|| channel.default_department.clone());
        self.request_type = self
            .request_type
            .take()
            .or_else(|| channel.default_request_type.clone());
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

pub(super) async fn attach_files(
    tx: &mut Tx,
    ticket_id: i64,
    comment_id: Option<i64>,
    files: &[SharedFile],
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

/// Who a request filed by `reporter` for `intended` belongs to: `intended` when they are
/// linked to the desk; else the reporter, on behalf of `intended` (recorded as JSON).
pub(super) fn requester_for<'a>(
    reporter: &'a SlackUserRecord,
    intended: &'a SlackUserRecord,
    permalink: &str,
    facts: &Facts<'a>,
) -> (&'a SlackUserRecord, Option<String>) {
    let verified = matches!(facts.verify(intended), Verification::Verified { .. });
    match requests::requester_for(verified) {
        Requester::Intended => (intended, None),
        Requester::FilerOnBehalf => (reporter, Some(on_behalf_json(intended, permalink))),
    }
}

/// A message's text followed by what was said before it in its thread, with who said it.
pub(super) fn described(text: &str, thread: &[ChannelMessage], before_ts: &str, facts: &Facts) -> String {
    let earlier: Vec<(String, String)> = thread
        .iter()
        .filter(|m| m.ts.as_str() < before_ts && !m.deleted)
        .filter_map(|m| {
            let user = m.user_id.as_deref()?;
            let name = facts
                .user(user)
                .map_or_else(|| format!("<@{user}>"), |u| u.display_name.clone());
            Some((name, m.text.clone()))
        })
        .collect();
    requests::with_context(text, &earlier)
}
