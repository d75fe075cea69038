//! The dispatcher's messages about tickets beyond their thread reply and card: notes in
//! the card's thread, DMs to agents, managers and approvers, satisfaction surveys, and
//! mail.

use super::dispatcher::{Completion, Dispatcher, Outcome};
use crate::admin::customers::{self, Added, CustomerRequest, Existing};
use crate::admin::participants;
use crate::admin::{Actor, AdminError};
use crate::desk::effects::{Effect, AGENT_CARD};
use crate::desk::reports::{self, Rated, TicketTimes};
use crate::slack::api::{PostMessage, SlackError};
use crate::slack::kit::Block;
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
        blocks: &[Block<'_>],
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

    /// `/desk customer add`: add the customer, then say privately what came of it.
    pub(super) async fn add_customer(&self, effect: &Effect) -> Result<Outcome, SlackError> {
        let Effect::AddCustomer {
            email,
            name,
            by,
            by_name,
            admin,
            response_url,
        } = effect
        else {
            return Ok(Outcome::Done(None));
        };
        let actor = in_slack(by, by_name);
        let request = CustomerRequest {
            email: email.clone(),
            name: name.clone(),
            organization: None,
        };
        let text = match customers::add(&self.store, &self.slack, actor, request, *admin).await {
            Ok(Added::Created(customer)) => format!(
                "Added {} <{}> as a customer (customer {}).",
                customer.shown_name(),
                customer.email,
                customer.id
            ),
            Ok(Added::Exists(Existing::Customer(customer))) => format!(
                "{} is already a customer: {} (customer {}). Nothing was added.",
                customer.email,
                customer.shown_name(),
                customer.id
            ),
            Ok(Added::Exists(Existing::SlackMember { slack_user_id, .. })) => format!(
                "{email} is <@{slack_user_id}>, already in this Slack: they need no customer record. Nothing was added."
            ),
            Err(AdminError::Refused(refusal)) => refusal.message,
            Err(AdminError::Store(e)) => return Ok(Outcome::Store(e)),
            Err(e) => return Err(SlackError::NoAnswer(e.to_string())),
        };
        let body = serde_json::json!({ "response_type": "ephemeral", "replace_original": false, "text": text });
        self.slack.respond(response_url, &body).await?;
        Ok(Outcome::Done(None))
    }

    /// A participant from the card: added, said in the card's thread; refused, said to
    /// the agent.
    pub(super) async fn add_participant(&self, effect: &Effect) -> Result<Outcome, SlackError> {
        let Effect::AddParticipant {
            ticket_key,
            person,
            confirm,
            by,
            by_name,
        } = effect
        else {
            return Ok(Outcome::Done(None));
        };
        let actor = in_slack(by, by_name);
        match participants::add(&self.store, &self.slack, actor, ticket_key, person, *confirm).await {
            Ok(_) => match self.store.ticket_by_key(ticket_key).await {
                Ok(ticket) => {
                    let who = if person.contains('@') {
                        person.clone()
                    } else {
                        format!("<@{person}>")
                    };
                    let text = format!(":busts_in_silhouette: *{by_name}* added {who}: they hear every public reply.");
                    self.post_card_note(ticket.id, &text).await
                }
                Err(e) => Ok(Outcome::Store(e)),
            },
            Err(AdminError::Store(e)) => Ok(Outcome::Store(e)),
            Err(AdminError::Refused(refusal)) => {
                let channel = self.dm_channel(by).await?;
                let text = format!("{person} was not added to {ticket_key}: {}", refusal.message);
                self.post_text(&channel, None, &text).await
            }
            Err(e) => Err(SlackError::NoAnswer(e.to_string())),
        }
    }

    /// The mail sender: the address is the person's as Slack knows it.
    pub(super) async fn send_mail(&self, claimed: &ClaimedEffect, effect: &Effect) -> Completion {
        let (slack_user_id, address, subject, body, reply_token) = match effect {
            Effect::Email {
                slack_user_id,
                subject,
                body,
            } => (Some(slack_user_id), None, subject, body, None),
            Effect::MailTo {
                address,
                subject,
                body,
                reply_token,
            } => (None, Some(address.clone()), subject, body, reply_token.as_deref()),
            _ => return self.failed(claimed, "not an email".into()),
        };
        let Some(mailer) = &self.mailer else {
            tracing::info!("mail was asked for but DESKHAND_SMTP_URL is not set; dropped");
            return self.done(claimed);
        };
        let address = match (address, slack_user_id) {
            (Some(address), _) => address,
            (None, Some(slack_user_id)) => {
                let known = self
                    .store
                    .slack_user(slack_user_id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|u| u.email);
                match known {
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
                }
            }
            (None, None) => return self.failed(claimed, "mail to nobody".into()),
        };
        match mailer.send(&address, subject, body, reply_token).await {
            Ok(()) => self.done(claimed),
            Err(MailError::Permanent(e)) => self.failed(claimed, e),
            Err(e @ MailError::Transient(_)) => self.retry_store(claimed, StoreError::Other(e.to_string())),
        }
    }
}

/// An agent or admin acting in Slack, as the use cases name them.
fn in_slack<'a>(user: &'a str, name: &'a str) -> Actor<'a> {
    Actor {
        slack_id: Some(user),
        name,
        source: "slack",
    }
}
