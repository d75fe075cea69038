//! Participants of a ticket, and the replies they send by mail. Each change is written
//! with its audit entry and the effects it causes in one transaction.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, AdminError, Directory, Result};
use crate::desk::config::{Field, Refusal};
use crate::desk::customers::normalize_email;
use crate::desk::effects::Effect;
use crate::desk::participants::{catch_up, reply_notices, About, PersonRef, Recipient};
use crate::store::{NewComment, NewEffect, ParticipantRecord, Store, StoreError, TicketRecord};

async fn ticket(store: &Store, key: &str) -> Result<TicketRecord> {
    match store.ticket_by_key(key).await {
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("no ticket {key}"))),
        other => Ok(other?),
    }
}

/// Who `person` is: a Slack member's id (a known address of a member counts as them), or
/// a customer's id.
async fn resolve(store: &Store, directory: &dyn Directory, person: &str) -> Result<(Option<String>, Option<i64>)> {
    match PersonRef::parse(person)? {
        PersonRef::Slack(id) => match directory.person(&id).await? {
            Some(found) if !found.deleted => Ok((Some(found.id), None)),
            _ => Err(Refusal::invalid(Field::Customers, format!("no Slack user {id}")).into()),
        },
        PersonRef::Email(email) => {
            if let Some(customer) = store.customer_by_email(&email).await? {
                return Ok((None, Some(customer.id)));
            }
            if let Some(member) = store.slack_user_by_email(&email).await? {
                return Ok((Some(member.slack_user_id), None));
            }
            Err(Refusal::invalid(
                Field::Customers,
                format!("{email} is not a customer: add them first (POST /api/v1/customers or /desk customer add)"),
            )
            .into())
        }
    }
}

fn about(ticket: &TicketRecord) -> About<'_> {
    About {
        ticket_id: ticket.id,
        key: &ticket.key,
        summary: &ticket.summary,
    }
}

/// Add `person` to ticket `key`. When the ticket already has public replies, the new
/// participant is sent them: without `confirm`, the agent is told so first and nothing
/// changes. The participants after it.
pub async fn add(
    store: &Store,
    directory: &dyn Directory,
    actor: Actor<'_>,
    key: &str,
    person: &str,
    confirm: bool,
) -> Result<Vec<ParticipantRecord>> {
    let ticket = ticket(store, key).await?;
    let (slack_user_id, customer_id) = resolve(store, directory, person).await?;
    if slack_user_id.as_deref() == Some(ticket.requester_slack_id.as_str()) {
        return Err(Refusal::invalid(Field::Customers, format!("{person} is the requester of {key}")).into());
    }
    let replies: Vec<(String, String)> = store
        .comments(ticket.id)
        .await?
        .into_iter()
        .filter(|c| c.visibility == "public")
        .map(|c| (c.author_name, c.body))
        .collect();
    if !replies.is_empty() && !confirm {
        return Err(Refusal::conflict(
            Field::Customers,
            format!(
                "{person} will receive the {} earlier public replies of {key}: add them again with \"confirm\": true \
                 to go on",
                replies.len()
            ),
        )
        .into());
    }
    let mut tx = store.begin().await?;
    let added = Store::add_participant(
        &mut tx,
        ticket.id,
        slack_user_id.as_deref(),
        customer_id,
        actor.id_or_name(),
    )
    .await?;
    if added {
        let participants = Store::participants_in(&mut tx, ticket.id).await?;
        let new = participants
            .iter()
            .find(|p| p.slack_user_id == slack_user_id && p.customer_id == customer_id);
        if let Some(effect) = new.and_then(|p| catch_up(about(&ticket), &replies, &p.recipient())) {
            let effect = NewEffect::of(&effect).through(ticket.installation.as_deref());
            Store::enqueue_effects(&mut tx, &[effect]).await?;
        }
        // A Jira request's participants are Jira's too.
        if let Some(email) = new.and_then(|p| p.email.clone()).filter(|_| ticket.syncs_to_jira()) {
            let effect = Effect::JiraParticipant {
                ticket_id: ticket.id,
                email,
            };
            Store::enqueue_effects(&mut tx, &[NewEffect::of(&effect)]).await?;
        }
        let detail = json!({ "participant": person, "earlier_replies": replies.len() });
        let mut audit = actor.audit("participant_added", detail);
        audit.ticket_id = Some(ticket.id);
        Store::insert_audits(&mut tx, &[audit]).await?;
    }
    tx.commit().await?;
    Ok(store.participants(ticket.id).await?)
}

pub async fn remove(store: &Store, directory: &dyn Directory, actor: Actor<'_>, key: &str, person: &str) -> Result<()> {
    let ticket = ticket(store, key).await?;
    let (slack_user_id, customer_id) = resolve(store, directory, person).await?;
    let mut tx = store.begin().await?;
    if !Store::remove_participant(&mut tx, ticket.id, slack_user_id.as_deref(), customer_id).await? {
        return Err(AdminError::NotFound(format!("{person} is not a participant of {key}")));
    }
    let mut audit = actor.audit("participant_removed", json!({ "participant": person }));
    audit.ticket_id = Some(ticket.id);
    Store::insert_audits(&mut tx, &[audit]).await?;
    tx.commit().await?;
    Ok(())
}

/// A reply that came by mail, as the inbound endpoint read it.
#[derive(Debug, Clone)]
pub struct MailedReply {
    pub token: String,
    pub from: String,
    pub message_id: String,
    pub text: String,
}

/// What became of a mailed reply: its ticket and comment, and whether it was new.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    pub ticket: String,
    pub comment: Option<i64>,
    pub duplicate: bool,
}

/// Record a participant's mailed reply as a public comment, once per message: it appears
/// in the ticket's Slack thread and reaches the other participants.
pub async fn mail_reply(store: &Store, reply: MailedReply) -> Result<Received> {
    let unknown = || {
        Refusal::invalid(
            Field::Email,
            "this reply address belongs to no participant of any ticket",
        )
    };
    let participant = store.participant_by_token(&reply.token).await?.ok_or_else(unknown)?;
    let (Some(_), Some(address)) = (participant.customer_id, participant.email.as_deref()) else {
        return Err(unknown().into());
    };
    let from = normalize_email(&reply.from).unwrap_or_default();
    if from != address {
        return Err(Refusal::invalid(
            Field::Email,
            format!("this reply address is {address}'s, but the mail is from {from:?}"),
        )
        .into());
    }
    if reply.text.trim().is_empty() {
        return Err(Refusal::invalid(Field::Text, "the mail has no reply above what it quotes").into());
    }
    let ticket = store
        .ticket(participant.ticket_id)
        .await
        .map_err(|_| AdminError::NotFound("the ticket is gone".into()))?;
    let origin = format!("mail:{:x}", Sha256::digest(reply.message_id.as_bytes()));
    let author = Author {
        slack_user_id: None,
        address: Some(address),
        name: &participant.shown_name(),
    };
    record_reply(store, &ticket, author, &reply.text, &origin, "mail").await
}

/// Who wrote a reply from outside Slack: a Slack member (in the portal) or a customer.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub slack_user_id: Option<&'a str>,
    pub address: Option<&'a str>,
    pub name: &'a str,
}

/// Record a public reply written outside Slack (`via` mail or the portal), once per
/// `origin`: it appears in the ticket's Slack thread and reaches the participants.
pub async fn record_reply(
    store: &Store,
    ticket: &TicketRecord,
    author: Author<'_>,
    text: &str,
    origin: &str,
    via: &'static str,
) -> Result<Received> {
    let mut tx = store.begin().await?;
    if Store::comment_by_message(&mut tx, "", origin).await?.is_some() {
        return Ok(Received {
            ticket: ticket.key.clone(),
            comment: None,
            duplicate: true,
        });
    }
    let comment = Store::insert_comment(
        &mut tx,
        &NewComment {
            ticket_id: ticket.id,
            on_behalf_of: None,
            visibility: "public",
            body: text,
            author_person_id: None,
            author_slack_id: author.slack_user_id.unwrap_or(""),
            author_name: author.name,
            channel_id: "",
            message_ts: origin,
            permalink: "",
            by_agent: false,
        },
    )
    .await?;
    let participants = Store::participants_in(&mut tx, ticket.id).await?;
    let recipients: Vec<Recipient> = participants.iter().map(ParticipantRecord::recipient).collect();
    let how = if via == "mail" { "by email" } else { "in the portal" };
    let mut effects = vec![NewEffect::of(&Effect::PostReply {
        ticket_id: ticket.id,
        text: format!("*{}* replied {how}:\n{}", author.name, quote(text)),
    })];
    let author_id = author.slack_user_id.or(author.address).unwrap_or_default();
    effects.extend(
        reply_notices(about(ticket), (author_id, author.name), text, &recipients)
            .iter()
            .map(NewEffect::of),
    );
    // Sent in the workspace the request was filed in.
    let effects: Vec<NewEffect> = effects
        .into_iter()
        .map(|e| e.through(ticket.installation.as_deref()))
        .collect();
    Store::enqueue_effects(&mut tx, &effects).await?;
    let actor = Actor {
        slack_id: author.slack_user_id,
        name: author.address.unwrap_or(author.name),
        source: via,
    };
    let mut audit = actor.audit(
        "comment_added",
        json!({ "comment": comment.id, "visibility": "public", "via": via }),
    );
    audit.ticket_id = Some(ticket.id);
    Store::insert_audits(&mut tx, &[audit]).await?;
    tx.commit().await?;
    Ok(Received {
        ticket: ticket.key.clone(),
        comment: Some(comment.id),
        duplicate: false,
    })
}

/// Text as a Slack quote, line by line.
fn quote(text: &str) -> String {
    text.lines().map(|l| format!(">{l}")).collect::<Vec<_>>().join("\n")
}
