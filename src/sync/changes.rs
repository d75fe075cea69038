//! The changes handlers make to tickets, shared by every command family: comments, parked
//! messages, assignment, status. Each writes through the batch's transaction and records
//! its audit entry and effects in the [`Unit`].

use serde_json::json;

use crate::desk;
use crate::desk::effects::Effect;
use crate::desk::identity::Unverified;
use crate::desk::participants::{reply_notices, About, Recipient};
use crate::desk::requests::status_news;
use crate::desk::rules::DEFAULT_EMOJI;
use crate::desk::workflow::{Category, Status, Workflow};
use crate::slack::events::PostedMessage;
use crate::store::{
    ClaimedEvent, NewComment, NewParked, ParticipantRecord, SlackUserRecord, Store, StoreError, TicketRecord, Tx,
};
use crate::sync::unit::{attach_files, Unit};

impl<'a> Unit<'a> {
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
    ) -> Result<(), StoreError> {
        let facts = self.facts;
        if Store::comment_by_message(tx, &message.channel, &message.ts)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let link = facts.permalink(&message.channel, &message.ts, message.thread_ts.as_deref());
        let by_agent = facts.lookups.is_agent(&author.slack_user_id);
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
                by_agent,
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
        let Some(ticket) = Store::ticket_in(tx, ticket_id).await? else {
            return Ok(());
        };
        self.send_jira(
            &ticket,
            Effect::JiraComment {
                ticket_id,
                comment_id: comment.id,
            },
        );
        if visibility == desk::Visibility::Public {
            {
                if ticket.requester_slack_id == author.slack_user_id {
                    self.requester_replied(tx, &ticket, author, &message.text).await?;
                }
                let author = (author.slack_user_id.as_str(), author.display_name.as_str());
                self.tell_participants(tx, &ticket, author, &message.text).await?;
            }
        }
        Ok(())
    }

    /// A public reply reaches the ticket's participants (not its author): by DM, or by a
    /// mail they can answer.
    pub(crate) async fn tell_participants(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        author: (&str, &str),
        text: &str,
    ) -> Result<(), StoreError> {
        let participants = Store::participants_in(tx, ticket.id).await?;
        let recipients: Vec<Recipient> = participants.iter().map(ParticipantRecord::recipient).collect();
        let about = About {
            ticket_id: ticket.id,
            key: &ticket.key,
            summary: &ticket.summary,
        };
        for effect in reply_notices(about, author, text, &recipients) {
            self.effect(effect);
        }
        Ok(())
    }

    /// Record what someone wrote in a modal (`view_id`) as a comment of a ticket, once per
    /// modal, and audit it with `via`. Whether it was new.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn add_written_comment(
        &mut self,
        tx: &mut Tx,
        ticket_id: i64,
        author: &SlackUserRecord,
        visibility: desk::Visibility,
        view_id: &str,
        body: &str,
        via: &str,
    ) -> Result<bool, StoreError> {
        let origin = format!("view:{view_id}");
        if Store::comment_by_message(tx, "", &origin).await?.is_some() {
            return Ok(false);
        }
        let comment = NewComment {
            ticket_id,
            on_behalf_of: None,
            visibility: visibility.as_str(),
            body,
            author_person_id: author.person_id,
            author_slack_id: &author.slack_user_id,
            author_name: &author.display_name,
            channel_id: "",
            message_ts: &origin,
            permalink: "",
            by_agent: self.facts.lookups.is_agent(&author.slack_user_id),
        };
        let comment = Store::insert_comment(tx, &comment).await?;
        let detail = json!({ "comment": comment.id, "visibility": visibility.as_str(), "via": via });
        self.audit_by(ticket_id, author, "comment_added", detail);
        if let Some(ticket) = Store::ticket_in(tx, ticket_id).await? {
            self.send_jira(
                &ticket,
                Effect::JiraComment {
                    ticket_id,
                    comment_id: comment.id,
                },
            );
            if visibility == desk::Visibility::Public {
                let author = (author.slack_user_id.as_str(), author.display_name.as_str());
                self.tell_participants(tx, &ticket, author, body).await?;
            }
        }
        Ok(true)
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
                installation: event.installation.as_deref(),
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

    /// A requester's reply: the agents hear it in the card's thread, and a request that
    /// waited for it moves on.
    pub(super) async fn requester_replied(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        author: &SlackUserRecord,
        text: &str,
    ) -> Result<(), StoreError> {
        let words: String = text.chars().take(500).collect();
        self.effect(Effect::PostCardNote {
            ticket_id: ticket.id,
            text: format!(":speech_balloon: *{}* (requester): {}", author.display_name, words),
        });
        let workflow = self.workflow_of(&ticket.project_key);
        if let Some(back) = workflow.on_requester_reply(&ticket.status, ticket.previous_status.as_deref()) {
            let back = back.clone();
            self.transition(tx, ticket, &back, author, false).await?;
        }
        Ok(())
    }

    /// Send a change on to Jira, for a ticket in Jira whose change did not come from it.
    pub(super) fn send_jira(&mut self, ticket: &TicketRecord, effect: Effect) {
        if ticket.syncs_to_jira() && self.source() != "jira" {
            self.effect(effect);
        }
    }

    /// The workflow of a project as looked up (the default one for a project not known).
    pub(super) fn workflow_of(&self, project: &str) -> Workflow {
        self.facts.project(project).map(|p| p.workflow()).unwrap_or_default()
    }

    /// Assign a ticket to `assignee`, as `actor` chose; an agent assigned by someone else
    /// hears of it.
    pub(super) async fn assign(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        assignee: &SlackUserRecord,
        actor: &SlackUserRecord,
    ) -> Result<(), StoreError> {
        if ticket.assignee_slack_id.as_deref() == Some(assignee.slack_user_id.as_str()) {
            return Ok(());
        }
        Store::assign_ticket(tx, ticket.id, &assignee.slack_user_id, &assignee.display_name).await?;
        let detail = json!({ "assignee": assignee.slack_user_id, "previous": ticket.assignee_slack_id });
        self.audit_by(ticket.id, actor, "ticket_assigned", detail);
        self.refresh_ticket_messages(ticket.id);
        self.send_jira(ticket, Effect::JiraAssign { ticket_id: ticket.id });
        if assignee.slack_user_id != actor.slack_user_id {
            self.effect(Effect::NotifyAgent {
                user: assignee.slack_user_id.clone(),
                ticket_id: ticket.id,
                text: format!(
                    "{} assigned you *{}* · {}.",
                    actor.display_name, ticket.key, ticket.summary
                ),
            });
        }
        let mut people = vec![ticket.requester_slack_id.as_str(), assignee.slack_user_id.as_str()];
        people.extend(ticket.assignee_slack_id.as_deref());
        let agents = [assignee.slack_user_id.as_str(), actor.slack_user_id.as_str()];
        self.publish_homes(tx, &people, &agents).await
    }

    /// Move a ticket to `status`. `by_help_desk`: an agent's change, which the requester
    /// hears about (when it was not them).
    pub(super) async fn transition(
        &mut self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        status: &Status,
        actor: &SlackUserRecord,
        by_help_desk: bool,
    ) -> Result<(), StoreError> {
        if ticket.status == status.name {
            return Ok(());
        }
        Store::set_ticket_status(tx, ticket.id, &status.name, status.category.as_str()).await?;
        let detail = json!({ "from": ticket.status, "to": status.name });
        self.audit_by(ticket.id, actor, "status_changed", detail);
        self.refresh_ticket_messages(ticket.id);
        self.send_jira(
            ticket,
            Effect::JiraTransition {
                ticket_id: ticket.id,
                status: status.name.clone(),
            },
        );
        self.effect(Effect::PostCardNote {
            ticket_id: ticket.id,
            text: format!(
                ":arrow_right: *{}* moved it from *{}* to *{}*.",
                actor.display_name, ticket.status, status.name
            ),
        });
        let resolved = status.category == Category::Done && !ticket.is_done();
        if resolved && ticket.on_behalf_of.is_none() && ticket.approval.as_deref() != Some("declined") {
            let resolution = ticket.resolutions + 1;
            if Store::ask_survey(tx, ticket.id, resolution, &ticket.requester_slack_id).await? {
                self.effect(Effect::AskSatisfaction {
                    ticket_id: ticket.id,
                    resolution,
                });
            }
        }
        let by_requester = actor.slack_user_id == ticket.requester_slack_id;
        let notifications = if by_help_desk && !by_requester {
            Store::user_prefs_in(tx, &ticket.requester_slack_id)
                .await?
                .notifications
        } else {
            false
        };
        let news = status_news(
            status.category,
            ticket.from_form(),
            by_help_desk,
            by_requester,
            notifications,
        );
        if news.mark_message_done {
            self.effect(Effect::AddReaction {
                channel: ticket.channel_id.clone(),
                ts: ticket.message_ts.clone(),
                name: DEFAULT_EMOJI.resolve.into(),
            });
        }
        if news.notify_requester {
            self.effect(Effect::Notify {
                user: ticket.requester_slack_id.clone(),
                ticket_id: ticket.id,
                text: format!(
                    "{} moved your request *{}* ({}) to *{}*.",
                    actor.display_name, ticket.key, ticket.summary, status.name
                ),
            });
        }
        let mut people = vec![ticket.requester_slack_id.as_str()];
        people.extend(ticket.assignee_slack_id.as_deref());
        let agents: Vec<&str> = ticket.assignee_slack_id.iter().map(String::as_str).collect();
        self.publish_homes(tx, &people, &agents).await
    }

    /// Refresh the Home tab of those of `people` who have opened it; those known to be
    /// agents (`agents`, or as looked up) see their queue there.
    pub(super) async fn publish_homes(
        &mut self,
        tx: &mut Tx,
        people: &[&str],
        agents: &[&str],
    ) -> Result<(), StoreError> {
        for user in Store::home_users(tx, people).await? {
            let agent = agents.contains(&user.as_str()) || self.facts.lookups.is_agent(&user);
            self.effect(Effect::PublishHome { user, agent });
        }
        Ok(())
    }
}
