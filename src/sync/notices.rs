//! The dispatcher's messages about tickets beyond their thread reply and card: notes in
//! the card's thread, DMs to agents, managers and approvers, satisfaction surveys, and
//! mail.

use super::dispatcher::{Completion, Dispatcher, Outcome};
use crate::desk::effects::{Effect, AGENT_CARD};
use crate::desk::reports::{self, Rated, TicketTimes};
use crate::slack::api::{PostMessage, SlackError};
use crate::slack::{blocks, views};
use crate::store::{ClaimedEffect, StoreError, TicketRecord};
use crate::sync::mail::MailError;

impl Dispatcher {
    /// Where a ticket's card is, when it has one.
    async fn card_of(&self, ticket_id: i64) -> Result<Option<(String, String)>, StoreError> {
        let messages = self.store.ticket_messages(ticket_id).await?;
        Ok(messages
            .into_iter()
            .find(|m| m.role == AGENT_CARD)
            .map(|m| (m.channel_id, m.ts)))
    }

    /// A note in the card's thread; nothing when the ticket has no card.
    pub(super) async fn post_card_note(&self, ticket_id: i64, text: &str) -> Result<Outcome, SlackError> {
        match self.card_of(ticket_id).await {
            Ok(Some((channel, ts))) => self.post_text(&channel, Some(&ts), text).await,
            Ok(None) => Ok(Outcome::Done(None)),
            Err(e) => Ok(Outcome::Store(e)),
        }
    }

    /// A DM to an agent about a ticket, linked to its card (or its thread, without one).
    pub(super) async fn notify_agent(&self, user: &str, ticket_id: i64, text: &str) -> Result<Outcome, SlackError> {
        let (ticket, card) = match tokio::try_join!(self.store.ticket(ticket_id), self.card_of(ticket_id)) {
            Ok(found) => found,
            Err(e) => return Ok(Outcome::Store(e)),
        };
        let link = match card {
            Some((channel, ts)) => format!(
                "<{}|{} in the agents' channel>",
                self.slack.permalink(&channel, &ts).await?,
                ticket.key
            ),
            None => blocks::ticket_link(&ticket),
        };
        let channel = self.dm_channel(user).await?;
        self.post_text(&channel, None, &format!("{text}\n{link}")).await
    }

    /// A DM with blocks: an approval to give, a survey to answer.
    async fn post_blocks_to(
        &self,
        user: &str,
        ticket: &TicketRecord,
        blocks: &serde_json::Value,
    ) -> Result<Outcome, SlackError> {
        let channel = self.dm_channel(user).await?;
        if let Err(wait) = self.pacer.take(&channel).await {
            return Ok(Outcome::Paced(wait));
        }
        let message = PostMessage {
            channel: &channel,
            thread_ts: None,
            text: &blocks::ticket_text(ticket),
            blocks,
            metadata: None,
            unfurl_links: false,
        };
        self.slack.post_message(&message).await?;
        Ok(Outcome::Done(None))
    }

    pub(super) async fn ask_approval(&self, user: &str, ticket_id: i64) -> Result<Outcome, SlackError> {
        match self.store.ticket(ticket_id).await {
            Ok(ticket) => {
                self.post_blocks_to(user, &ticket, &blocks::approval_request(&ticket))
                    .await
            }
            Err(e) => Ok(Outcome::Store(e)),
        }
    }

    pub(super) async fn ask_satisfaction(&self, ticket_id: i64, resolution: i64) -> Result<Outcome, SlackError> {
        match self.store.ticket(ticket_id).await {
            Ok(ticket) => {
                let blocks = blocks::satisfaction_request(&ticket, resolution);
                self.post_blocks_to(&ticket.requester_slack_id, &ticket, &blocks).await
            }
            Err(e) => Ok(Outcome::Store(e)),
        }
    }

    /// `/desk report`: the last 7 days, read and computed now.
    pub(super) async fn respond_report(&self, response_url: &str, user: &str) -> Result<Outcome, SlackError> {
        const DAYS: i64 = 7;
        let to = self.store.now_ms();
        let from = to - DAYS * 86_400_000;
        let rows = tokio::try_join!(self.store.response_rows(from, to), self.store.rating_rows(from, to));
        let (times, rated) = match rows {
            Ok(rows) => rows,
            Err(e) => return Ok(Outcome::Store(e)),
        };
        let times: Vec<TicketTimes> = times.into_iter().map(Into::into).collect();
        let rated: Vec<Rated> = rated.into_iter().map(Into::into).collect();
        let text = views::report(
            DAYS,
            &reports::response_times(&times),
            &reports::satisfaction(&rated),
            user,
        );
        let body = serde_json::json!({ "response_type": "ephemeral", "replace_original": false, "text": text });
        self.slack.respond(response_url, &body).await?;
        Ok(Outcome::Done(None))
    }

    /// The mail sender: the address is the person's as Slack knows it.
    pub(super) async fn send_mail(&self, claimed: &ClaimedEffect, effect: &Effect) -> Completion {
        let Effect::Email {
            slack_user_id,
            subject,
            body,
        } = effect
        else {
            return self.failed(claimed, "not an email".into());
        };
        let Some(mailer) = &self.mailer else {
            tracing::info!("mail was asked for but DESKHAND_SMTP_URL is not set; dropped");
            return self.done(claimed);
        };
        let known = self
            .store
            .slack_user(slack_user_id)
            .await
            .ok()
            .flatten()
            .and_then(|u| u.email);
        let address = match known {
            Some(address) => address,
            None => match self.slack.users_info(slack_user_id).await {
                Ok(user) => match user.profile.email {
                    Some(address) => address,
                    None => {
                        tracing::info!(slack.user = %slack_user_id, "no email address for a manager; mail dropped");
                        return self.done(claimed);
                    }
                },
                Err(e) => return self.slack_failed(claimed, e),
            },
        };
        match mailer.send(&address, subject, body).await {
            Ok(()) => self.done(claimed),
            Err(MailError::Permanent(e)) => self.failed(claimed, e),
            Err(e @ MailError::Transient(_)) => self.retry_store(claimed, StoreError::Other(e.to_string())),
        }
    }
}
