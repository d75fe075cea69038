//! Requests from everywhere, applied inside the worker's transaction: DMs, mentions,
//! emoji, the request form, `/desk`, and a requester closing their own request.

use serde_json::json;

use crate::desk::commands::{DeskCommand, HELP};
use crate::desk::identity::Verification;
use crate::desk::roles;
use crate::desk::rules::{self, EmojiActions, Reacted, ReactionOutcome, DEFAULT_EMOJI};
use crate::desk::workflow::{Category, Status};
use crate::desk::{self, Priority, Source, Visibility};
use crate::slack::admin;
use crate::slack::blocks::ticket_text;
use crate::slack::events::PostedMessage;
use crate::slack::interactions::{
    CloseRequest, DeskRequest, FormContext, FormRequest, PriorityRequest, PublicReply, ReplyRequest, Submission,
};
use crate::slack::views::{self, FormProject, FormView};
use crate::store::{ChannelMessage, ClaimedEvent, ProjectRecord, SlackUserRecord, Store, StoreError, TicketRecord, Tx};
use crate::sync::apply::{on_behalf_json, Batch, Draft, Facts};
use crate::sync::effects::{Effect, AGENT_CARD, THREAD_REPLY};

/// How many requests `/desk mine` lists.
const MINE_LIMIT: i64 = 20;

/// What deskhand says where a request could have been filed but no project is set up.
const NO_PROJECT: &str = "I can't file requests from here yet: the help desk has no project for them. \
    Ask a help-desk admin to choose a default project, or ask in a support channel.";

impl<'a> Batch<'a> {
    /// A message in a DM with deskhand: a new private request, or a reply in one's thread.
    pub(super) async fn on_direct_message(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        message: &'a PostedMessage,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let Some(author) = self.person(message, facts) else {
            return Ok(());
        };
        let verified = matches!(facts.verify(author), Verification::Verified { .. });
        if message.is_reply() {
            let parent = message.thread_ts.as_deref().unwrap_or_default();
            let ticket = match Store::ticket_by_message(tx, &message.channel, parent).await? {
                Some(ticket) => Some(ticket),
                None => Store::ticket_by_posted(tx, THREAD_REPLY, &message.channel, parent).await?,
            };
            match ticket {
                Some(ticket) if verified => {
                    self.add_comment(tx, ticket.id, Visibility::Public, message, author, None, facts)
                        .await?
                }
                Some(_) => self.refuse_in_dm(message, author, facts),
                None => tracing::debug!(inbox.id = event.id, "a DM reply outside any request's thread"),
            }
            return Ok(());
        }
        if !verified {
            self.refuse_in_dm(message, author, facts);
            return Ok(());
        }
        let Some(project) = facts.default_project() else {
            self.effect(Effect::PostText {
                channel: message.channel.clone(),
                thread_ts: Some(message.ts.clone()),
                text: NO_PROJECT.into(),
            });
            return Ok(());
        };
        self.drafts.push(Draft {
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

    /// The author of a person's message (not a bot's, not deskhand's), as looked up.
    fn person(&self, message: &PostedMessage, facts: &Facts<'a>) -> Option<&'a SlackUserRecord> {
        let user = message.user.as_deref()?;
        if message.from_bot || user == facts.workspace.bot_user_id {
            return None;
        }
        facts.user(user).filter(|u| !u.is_bot)
    }

    fn refuse_in_dm(&mut self, message: &PostedMessage, author: &SlackUserRecord, facts: &Facts<'a>) {
        if let Verification::Unverified(reason) = facts.verify(author) {
            self.effect(Effect::PostText {
                channel: message.channel.clone(),
                thread_ts: Some(message.thread_ts.clone().unwrap_or_else(|| message.ts.clone())),
                text: reason.refusal().into(),
            });
        }
    }

    /// `@deskhand` in a message: file it, or in a thread, file it with the thread.
    pub(super) async fn on_mention(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        message: &'a PostedMessage,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let Some(author) = self.person(message, facts) else {
            return Ok(());
        };
        let channel = facts.channel(&message.channel);
        if channel.is_some_and(|c| c.kind == "agent") {
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
        let support = channel.filter(|c| c.kind == "support");
        // Who files: the author, or in a support channel, its facilitator on their behalf.
        let mut filer = author;
        let mut on_behalf_of = None;
        if let Verification::Unverified(reason) = facts.verify(author) {
            let facilitator = support.and_then(|c| facts.facilitator_for(c));
            match (support, facilitator) {
                (Some(_), Some(facilitator)) if reason.can_be_facilitated() => {
                    filer = facilitator;
                    let link = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
                    on_behalf_of = Some(on_behalf_json(author, &link));
                }
                (Some(_), _) => return self.park(tx, event, message, author, reason).await,
                (None, _) => {
                    self.effect(Effect::PostEphemeral {
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
            self.effect(Effect::PostEphemeral {
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
        let summary_source = match (text.trim().is_empty(), thread.first()) {
            (true, Some(parent)) => parent.text.clone(),
            _ => text.clone(),
        };
        let thread_ts = message.thread_ts.clone().filter(|_| message.is_reply());
        let mut draft = Draft {
            permalink: facts.permalink(&message.channel, &message.ts, thread_ts.as_deref()),
            summary: desk::summary_from(&summary_source),
            description: with_context(&text, thread, &message.ts, facts),
            files: message.files.clone(),
            origin_thread_ts: thread_ts,
            on_behalf_of,
            ..Draft::bare(project, (&message.channel, &message.ts), filer, Source::Mention)
        };
        if let Some(channel) = support {
            draft.apply_channel(channel);
        }
        self.drafts.push(draft);
        Ok(())
    }

    /// An emoji on a message: the creation emoji files it; agents' emoji assign or
    /// resolve its request.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn on_reaction(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        channel: &str,
        ts: &str,
        user: &str,
        reaction: &str,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
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
            (ReactionOutcome::FileTicket, _) => self.file_reacted(tx, event, channel, ts, reactor, facts).await?,
            (ReactionOutcome::Assign { .. }, Some(ticket)) => self.assign(tx, &ticket, reactor).await?,
            (ReactionOutcome::Resolve { .. }, Some(ticket)) => {
                let workflow = facts
                    .project(&ticket.project_key)
                    .map(|p| p.workflow())
                    .unwrap_or_default();
                if let Some(resolved) = workflow.resolved() {
                    self.transition(tx, &ticket, resolved, reactor, true).await?;
                }
            }
            (outcome, _) => tracing::debug!(?outcome, reaction, "an emoji that changes nothing"),
        }
        Ok(())
    }

    /// File the message an emoji was added to: its author is the requester, the person
    /// who reacted the reporter.
    async fn file_reacted(
        &mut self,
        tx: &mut Tx,
        event: &ClaimedEvent,
        channel: &str,
        ts: &str,
        reactor: &'a SlackUserRecord,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
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
                Some(facilitator) if reason.can_be_facilitated() => (facilitator, Some(reactor)),
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
                    return self.park(tx, event, &parked, reactor, reason).await;
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
        self.drafts.push(Draft {
            reporter: Some(filer),
            on_behalf_of,
            summary: desk::summary_from(&message.text),
            description: with_context(&message.text, thread, ts, facts),
            files: message.files(),
            origin_thread_ts: thread_ts,
            permalink,
            ..Draft::new(project, support, (channel, ts), requester, Source::Emoji)
        });
        Ok(())
    }

    pub(super) async fn assign(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        agent: &SlackUserRecord,
    ) -> Result<(), StoreError> {
        if ticket.assignee_slack_id.as_deref() == Some(agent.slack_user_id.as_str()) {
            return Ok(());
        }
        Store::assign_ticket(tx, ticket.id, &agent.slack_user_id, &agent.display_name).await?;
        let detail = json!({ "assignee": agent.slack_user_id, "previous": ticket.assignee_slack_id });
        self.audit(
            ticket.id,
            (&agent.slack_user_id, &agent.display_name),
            "ticket_assigned",
            detail,
        );
        self.refresh_ticket_messages(ticket.id);
        let mut people = vec![ticket.requester_slack_id.as_str(), agent.slack_user_id.as_str()];
        people.extend(ticket.assignee_slack_id.as_deref());
        self.publish_homes(tx, &people).await
    }

    /// Move a ticket to `status`. `notify`: tell the requester (when it was not them).
    pub(super) async fn transition(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        status: &Status,
        actor: &SlackUserRecord,
        notify: bool,
    ) -> Result<(), StoreError> {
        if ticket.status == status.name {
            return Ok(());
        }
        Store::set_ticket_status(tx, ticket.id, &status.name, status.category.as_str()).await?;
        let detail = json!({ "from": ticket.status, "to": status.name });
        self.audit(
            ticket.id,
            (&actor.slack_user_id, &actor.display_name),
            "status_changed",
            detail,
        );
        self.refresh_ticket_messages(ticket.id);
        if status.category == Category::Done && !ticket.from_form() {
            self.effect(Effect::AddReaction {
                channel: ticket.channel_id.clone(),
                ts: ticket.message_ts.clone(),
                name: DEFAULT_EMOJI.resolve.into(),
            });
        }
        if notify && actor.slack_user_id != ticket.requester_slack_id {
            let prefs = Store::user_prefs_in(tx, &ticket.requester_slack_id).await?;
            if prefs.notifications {
                self.effect(Effect::Notify {
                    user: ticket.requester_slack_id.clone(),
                    ticket_id: ticket.id,
                    text: format!(
                        "{} moved your request *{}* ({}) to *{}*.",
                        actor.display_name, ticket.key, ticket.summary, status.name
                    ),
                });
            }
        }
        let mut people = vec![ticket.requester_slack_id.as_str()];
        people.extend(ticket.assignee_slack_id.as_deref());
        self.publish_homes(tx, &people).await
    }

    /// Refresh the Home tab of those of `people` who have opened it.
    async fn publish_homes(&mut self, tx: &mut Tx, people: &[&str]) -> Result<(), StoreError> {
        for user in Store::home_users(tx, people).await? {
            self.effect(Effect::PublishHome { user });
        }
        Ok(())
    }

    /// A shortcut or `/desk new`: open the request form, filled in as far as known.
    pub(super) async fn on_open_form(
        &mut self,
        tx: &mut Tx,
        request: &FormRequest,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let Some(user) = facts.user(&request.user) else {
            return Ok(());
        };
        let trigger_id = request.trigger_id.clone();
        let open = |view| self.effect(Effect::OpenView { trigger_id, view });
        if let Verification::Unverified(reason) = facts.verify(user) {
            open(views::notice("New request", reason.refusal()));
            return Ok(());
        }
        if facts.lookups.projects.is_empty() {
            open(views::notice(
                "New request",
                "The help desk has no projects yet: ask a help-desk admin to set one up.",
            ));
            return Ok(());
        }
        if let Some(message) = &request.message {
            if let Some(ticket) = Store::ticket_by_message(tx, &message.channel, &message.ts).await? {
                open(views::already_filed(&ticket));
                return Ok(());
            }
        }
        let channel = request.channel.as_deref().and_then(|c| facts.support_channel(c));
        let project = channel
            .and_then(|c| c.project_key.as_deref())
            .or_else(|| facts.default_project().map(|p| p.key.as_str()));
        let mut projects: Vec<FormProject> = facts
            .lookups
            .projects
            .values()
            .map(|p| FormProject {
                key: p.key.clone(),
                name: p.name.clone(),
                departments: p.departments(),
            })
            .collect();
        projects.sort_by(|a, b| a.key.cmp(&b.key));
        let context = FormContext {
            channel: request.channel.clone(),
            message: request.message.clone(),
            agent: facts.lookups.is_agent(&user.slack_user_id),
        };
        let summary = match request.message {
            Some(_) if !request.text.trim().is_empty() => desk::summary_from(&request.text),
            _ => String::new(),
        };
        let on_behalf_of = request
            .message
            .as_ref()
            .and_then(|m| m.author.as_deref())
            .filter(|author| *author != user.slack_user_id);
        let view = views::request_form(&FormView {
            context: &context,
            projects: &projects,
            project,
            department: channel.and_then(|c| c.default_department.as_deref()),
            summary: &summary,
            description: &request.text,
            on_behalf_of,
        });
        open(view);
        Ok(())
    }

    /// The request form, submitted and already checked at ingress.
    pub(super) async fn on_submitted(
        &mut self,
        tx: &mut Tx,
        submission: &Submission,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let Some(submitter) = facts.user(&submission.user) else {
            return Ok(());
        };
        let view_id = submission.view_id.clone();
        let show = |view| self.effect(Effect::UpdateView { view_id, view });
        if let Verification::Unverified(reason) = facts.verify(submitter) {
            show(views::notice("New request", reason.refusal()));
            return Ok(());
        }
        let form = &submission.form;
        let Some(project) = form.project.as_deref().and_then(|k| facts.project(k)) else {
            show(views::notice(
                "New request",
                "That project no longer takes requests; nothing was filed.",
            ));
            return Ok(());
        };
        let context = &submission.context;
        let message = context.message.as_ref();
        // Agents choose whom it is for (nobody: themselves); others file a message for its
        // author, or for themselves.
        let intended = if context.agent {
            form.on_behalf_of.as_deref()
        } else {
            message.and_then(|m| m.author.as_deref())
        };
        let intended = intended.and_then(|id| facts.user(id)).unwrap_or(submitter);
        let (origin, thread_ts, source) = match message {
            Some(m) => {
                if let Some(ticket) = Store::ticket_by_message(tx, &m.channel, &m.ts).await? {
                    show(views::already_filed(&ticket));
                    return Ok(());
                }
                let thread_ts = m.thread_ts.clone().filter(|t| *t != m.ts);
                ((m.channel.clone(), m.ts.clone()), thread_ts, Source::Shortcut)
            }
            None => (
                (String::new(), format!("view:{}", submission.view_id)),
                None,
                Source::Form,
            ),
        };
        let permalink = match message {
            Some(_) => facts.permalink(&origin.0, &origin.1, thread_ts.as_deref()),
            None => String::new(),
        };
        let (requester, on_behalf_of) = requester_for(submitter, intended, &permalink, facts);
        let summary = form.summary.trim().to_owned();
        let description = match form.description.trim() {
            "" => summary.clone(),
            text => text.to_owned(),
        };
        let mut draft = Draft {
            reporter: Some(submitter),
            on_behalf_of,
            summary,
            description,
            department: form.department.clone(),
            origin_thread_ts: thread_ts,
            permalink,
            view_id: Some(submission.view_id.clone()),
            ..Draft::bare(&project.key, (&origin.0, &origin.1), requester, source)
        };
        for channel in [context.channel.as_deref(), message.map(|m| m.channel.as_str())] {
            if let Some(channel) = channel.and_then(|c| facts.support_channel(c)) {
                draft.apply_channel(channel);
            }
        }
        self.drafts.push(draft);
        Ok(())
    }

    /// `/desk mine`, `status`, `notifications`, `help`.
    pub(super) async fn on_desk(
        &mut self,
        tx: &mut Tx,
        request: &DeskRequest,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let Some(user) = facts.user(&request.user) else {
            return Ok(());
        };
        let response_url = request.response_url.clone();
        let respond = |text: String, blocks| {
            self.effect(Effect::Respond {
                response_url,
                text,
                blocks,
            })
        };
        let unverified = match facts.verify(user) {
            Verification::Unverified(reason) => Some(reason),
            Verification::Verified { .. } => None,
        };
        match (&request.command, unverified) {
            (DeskCommand::Help | DeskCommand::New, _) => respond(HELP.into(), None),
            (DeskCommand::Unknown(words), _) => respond(format!("I don't know `/desk {words}`.\n\n{HELP}"), None),
            (_, Some(reason)) => respond(reason.refusal().into(), None),
            (DeskCommand::Mine, None) => {
                let mine = Store::requests_of_in(tx, &user.slack_user_id, MINE_LIMIT).await?;
                let text = if mine.is_empty() {
                    "You have no open requests. `/desk new` asks for something.".to_owned()
                } else {
                    format!("*Your open requests*\n{}", views::ticket_lines(&mine))
                };
                respond(text, None)
            }
            (DeskCommand::Status(key), None) => {
                let ticket = Store::ticket_by_key_in(tx, key).await?;
                let agent = facts.lookups.is_agent(&user.slack_user_id);
                let visible = |t: &TicketRecord| {
                    roles::may_see(
                        &t.requester_slack_id,
                        t.reporter_slack_id.as_deref(),
                        &user.slack_user_id,
                        agent,
                    )
                };
                match ticket.filter(visible) {
                    Some(ticket) => respond(ticket_text(&ticket), Some(views::status(&ticket))),
                    None => respond(format!("I can't find {key} among the requests you can see."), None),
                }
            }
            (DeskCommand::Admin, None) if !facts.lookups.is_admin(user) => respond(
                "Only help-desk admins change a channel's preferences (workspace owners and admins, \
                 and those named in deskhand's settings)."
                    .into(),
                None,
            ),
            (DeskCommand::Admin, None) => {
                let mut projects: Vec<&ProjectRecord> = facts.lookups.projects.values().collect();
                projects.sort_by(|a, b| a.key.cmp(&b.key));
                let view = admin::channel_prefs(&request.channel, facts.channel(&request.channel), &projects);
                self.effect(Effect::OpenView {
                    trigger_id: request.trigger_id.clone(),
                    view,
                });
            }
            (DeskCommand::Notifications(on), None) => {
                Store::set_notifications(tx, &user.slack_user_id, *on).await?;
                let text = if *on {
                    "Notifications are on: I'll send you a direct message when the help desk changes or answers your requests."
                } else {
                    "Notifications are off. Your requests' threads still show everything; `/desk notifications on` turns them back on."
                };
                respond(text.into(), None)
            }
        }
        Ok(())
    }

    /// A requester's "Close" on their request.
    pub(super) async fn on_close(
        &mut self,
        tx: &mut Tx,
        request: &CloseRequest,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let (Some(user), Some(ticket)) = (
            facts.user(&request.user),
            Store::ticket_by_key_in(tx, &request.ticket_key).await?,
        ) else {
            return Ok(());
        };
        let workflow = facts
            .project(&ticket.project_key)
            .map(|p| p.workflow())
            .unwrap_or_default();
        let refusal = if ticket.requester_slack_id != user.slack_user_id {
            Some(format!(
                "Only <@{}>, who asked, can close {}. Agents resolve requests from their card.",
                ticket.requester_slack_id, ticket.key
            ))
        } else if workflow.self_close().is_none() {
            Some(format!(
                "{}'s requests are closed by the help desk; ask in the thread.",
                ticket.project_key
            ))
        } else {
            None
        };
        match (refusal, workflow.self_close()) {
            (Some(text), _) => self.tell(request, text),
            (None, Some(status)) if !ticket.is_done() => {
                let status = status.clone();
                self.transition(tx, &ticket, &status, user, false).await?
            }
            _ => {}
        }
        Ok(())
    }

    /// Answer a button privately.
    fn tell(&mut self, request: &CloseRequest, text: String) {
        match (&request.response_url, &request.channel) {
            (Some(url), _) => self.effect(Effect::Respond {
                response_url: url.clone(),
                text,
                blocks: None,
            }),
            (None, Some(channel)) => self.effect(Effect::PostEphemeral {
                channel: channel.clone(),
                user: request.user.clone(),
                thread_ts: None,
                text,
            }),
            (None, None) => {}
        }
    }
}

impl<'a> Batch<'a> {
    /// An agent's "Reply to requester": open the reply modal.
    pub(super) async fn on_open_reply(
        &mut self,
        tx: &mut Tx,
        request: &ReplyRequest,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let view = match Store::ticket_by_key_in(tx, &request.ticket_key).await? {
            _ if !facts.lookups.is_agent(&request.user) => views::notice(
                "Reply to requester",
                "Only agents (members of an agent channel) reply to requesters from here.",
            ),
            Some(ticket) => views::public_reply(&ticket),
            None => views::notice("Reply to requester", "That request no longer exists."),
        };
        self.effect(Effect::OpenView {
            trigger_id: request.trigger_id.clone(),
            view,
        });
        Ok(())
    }

    /// A priority chosen on a card: admins may, and agents when the admins allow it.
    pub(super) async fn on_set_priority(
        &mut self,
        tx: &mut Tx,
        request: &PriorityRequest,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let (Some(user), Some(ticket), Some(priority)) = (
            facts.user(&request.user),
            Store::ticket_by_key_in(tx, &request.ticket_key).await?,
            Priority::parse(&request.priority),
        ) else {
            return Ok(());
        };
        if !facts.lookups.may_set_priority(user) {
            if let Some(url) = &request.response_url {
                let text = if facts.lookups.is_agent(&user.slack_user_id) {
                    "Only help-desk admins set priorities here; an admin can let agents do it too."
                } else {
                    "Only help-desk admins set priorities."
                };
                self.effect(Effect::Respond {
                    response_url: url.clone(),
                    text: text.into(),
                    blocks: None,
                });
            }
            // The card still shows the old priority: put it back.
            self.refresh_ticket_messages(ticket.id);
            return Ok(());
        }
        if ticket.priority == priority.as_str() {
            return Ok(());
        }
        Store::set_ticket_priority(tx, ticket.id, priority.as_str()).await?;
        let detail = json!({ "from": ticket.priority, "to": priority.as_str() });
        self.audit(
            ticket.id,
            (&user.slack_user_id, &user.display_name),
            "priority_changed",
            detail,
        );
        self.refresh_ticket_messages(ticket.id);
        Ok(())
    }

    /// An agent's public reply: a public comment, shown in the request's thread.
    pub(super) async fn on_public_reply(
        &mut self,
        tx: &mut Tx,
        reply: &PublicReply,
        facts: &Facts<'a>,
    ) -> Result<(), StoreError> {
        let (Some(agent), Some(ticket)) = (
            facts.user(&reply.user),
            Store::ticket_by_key_in(tx, &reply.ticket_key).await?,
        ) else {
            return Ok(());
        };
        if !facts.lookups.is_agent(&agent.slack_user_id) {
            return Ok(());
        }
        let origin = format!("view:{}", reply.view_id);
        if Store::comment_by_message(tx, "", &origin).await?.is_some() {
            return Ok(());
        }
        let comment = Store::insert_comment(
            tx,
            &crate::store::NewComment {
                ticket_id: ticket.id,
                on_behalf_of: None,
                visibility: Visibility::Public.as_str(),
                body: &reply.text,
                author_person_id: agent.person_id,
                author_slack_id: &agent.slack_user_id,
                author_name: &agent.display_name,
                channel_id: "",
                message_ts: &origin,
                permalink: "",
            },
        )
        .await?;
        let detail = json!({ "comment": comment.id, "visibility": "public", "via": "reply to requester" });
        self.audit(
            ticket.id,
            (&agent.slack_user_id, &agent.display_name),
            "comment_added",
            detail,
        );
        self.effect(Effect::PostReply {
            ticket_id: ticket.id,
            text: format!("*{}* (help desk): {}", agent.display_name, reply.text),
        });
        Ok(())
    }
}

/// Who a request filed by `reporter` for `intended` belongs to: `intended` when they are
/// linked to the desk; else the reporter, on behalf of `intended` (recorded as JSON).
fn requester_for<'a>(
    reporter: &'a SlackUserRecord,
    intended: &'a SlackUserRecord,
    permalink: &str,
    facts: &Facts<'a>,
) -> (&'a SlackUserRecord, Option<String>) {
    match facts.verify(intended) {
        Verification::Verified { .. } => (intended, None),
        Verification::Unverified(_) => (reporter, Some(on_behalf_json(intended, permalink))),
    }
}

/// A message's text without the mention of deskhand.
fn without_mention(text: &str, bot_user: &str) -> String {
    text.replace(&format!("<@{bot_user}>"), "").trim().to_owned()
}

/// A reply's text followed by what was said before it in its thread, with who said it.
fn with_context(text: &str, thread: &[ChannelMessage], before_ts: &str, facts: &Facts) -> String {
    let earlier: Vec<String> = thread
        .iter()
        .filter(|m| m.ts.as_str() < before_ts && !m.deleted)
        .filter_map(|m| {
            let user = m.user_id.as_deref()?;
            let name = facts
                .user(user)
                .map_or_else(|| format!("<@{user}>"), |u| u.display_name.clone());
            Some(format!("{name}: {}", m.text))
        })
        .collect();
    if earlier.is_empty() {
        return text.to_owned();
    }
    format!("{text}\n\nEarlier in the thread:\n{}", earlier.join("\n"))
}
