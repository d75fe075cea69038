//! The changes handlers make to tickets, shared by every command family: comments, parked
//! messages, assignment, status. Each writes through the batch's transaction and records
//! its audit entry and effects in the [`Unit`].

use serde_json::json;

use crate::desk;
use crate::desk::effects::Effect;
use crate::desk::identity::Unverified;
use crate::desk::requests::status_news;
use crate::desk::rules::DEFAULT_EMOJI;
use crate::desk::workflow::Status;
use crate::slack::events::PostedMessage;
use crate::store::{ClaimedEvent, NewComment, NewParked, SlackUserRecord, Store, StoreError, TicketRecord, Tx};
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
        self.audit_by(ticket.id, agent, "ticket_assigned", detail);
        self.refresh_ticket_messages(ticket.id);
        let mut people = vec![ticket.requester_slack_id.as_str(), agent.slack_user_id.as_str()];
        people.extend(ticket.assignee_slack_id.as_deref());
        self.publish_homes(tx, &people).await
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
        self.publish_homes(tx, &people).await
    }

    /// Refresh the Home tab of those of `people` who have opened it.
    pub(super) async fn publish_homes(&mut self, tx: &mut Tx, people: &[&str]) -> Result<(), StoreError> {
        for user in Store::home_users(tx, people).await? {
            self.effect(Effect::PublishHome { user });
        }
        Ok(())
    }
}
