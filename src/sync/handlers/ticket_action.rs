//! What people do to a request from its messages: a requester's Close, an agent's
//! "Reply to requester" (the modal, then the reply), and opening deskhand's Home tab.

use super::Handled;
use crate::desk::effects::Effect;
use crate::desk::{requests, Visibility};
use crate::slack::interactions::{CloseRequest, PublicReply, ReplyRequest};
use crate::slack::views;
use crate::store::{SlackUserRecord, Store, StoreError, TicketRecord, Tx};
use crate::sync::lookup::Needs;
use crate::sync::unit::{Facts, Unit};

/// Who acts, and whether they are an agent (`agents`) or the projects' workflows matter
/// (`projects`).
pub(super) fn needs(user: &str, projects: bool, agents: bool) -> Needs {
    Needs {
        users: vec![user.to_owned()],
        agents,
        projects,
        ..Needs::default()
    }
}

/// Someone opened deskhand's Home tab: remember it, and show them their requests.
pub(super) async fn handle_home_opened(unit: &mut Unit<'_>, tx: &mut Tx, user: &str) -> Handled {
    Store::home_opened(tx, user).await?;
    let agent = unit.facts.lookups.is_agent(user);
    unit.effect(Effect::PublishHome {
        user: user.to_owned(),
        agent,
    });
    Ok(())
}

/// A requester's "Close" on their request.
pub(super) async fn handle_close<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &CloseRequest) -> Handled {
    let before = unit.set_source(if request.via_portal { "portal" } else { "slack" });
    let closed = close(unit, tx, request).await;
    unit.set_source(before);
    closed
}

async fn close<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &CloseRequest) -> Handled {
    let facts = unit.facts;
    let Some((user, ticket)) = actor_and_ticket(facts, tx, &request.user, &request.ticket_key).await? else {
        return Ok(());
    };
    let workflow = facts
        .project(&ticket.project_key)
        .map(|p| p.workflow())
        .unwrap_or_default();
    let closing = requests::close(
        &workflow,
        &ticket.project_key,
        &ticket.requester_slack_id,
        &user.slack_user_id,
        ticket.is_done(),
    );
    match closing {
        Err(refusal) => tell(unit, request, refusal.explanation(&ticket.key)),
        Ok(Some(status)) => match workflow.check_move(&ticket.status, &status.name) {
            Ok(status) => unit.transition(tx, &ticket, status, user, false).await?,
            Err(illegal) => tell(unit, request, illegal.explanation()),
        },
        Ok(None) => {}
    }
    Ok(())
}

/// Answer a button privately.
fn tell<'a>(unit: &mut Unit<'a>, request: &CloseRequest, text: String) {
    match (&request.response_url, &request.channel) {
        (Some(url), _) => unit.effect(Effect::Respond {
            response_url: url.clone(),
            text,
            blocks: None,
        }),
        (None, Some(channel)) => unit.effect(Effect::PostEphemeral {
            channel: channel.clone(),
            user: request.user.clone(),
            thread_ts: None,
            text,
        }),
        (None, None) => {}
    }
}

/// An agent's "Reply to requester": open the reply modal.
pub(super) async fn handle_open_reply<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &ReplyRequest) -> Handled {
    let facts = unit.facts;
    let view = match Store::ticket_by_key_in(tx, &request.ticket_key).await? {
        _ if !facts.lookups.is_agent(&request.user) => views::notice(
            "Reply to requester",
            "Only agents (members of an agent channel) reply to requesters from here.",
        ),
        Some(ticket) => views::public_reply(&ticket),
        None => views::notice("Reply to requester", "That request no longer exists."),
    };
    unit.effect(Effect::OpenView {
        trigger_id: request.trigger_id.clone(),
        view,
    });
    Ok(())
}

/// An agent's public reply: a public comment, shown in the request's thread.
pub(super) async fn handle_public_reply<'a>(unit: &mut Unit<'a>, tx: &mut Tx, reply: &PublicReply) -> Handled {
    let facts = unit.facts;
    let Some((agent, ticket)) = actor_and_ticket(facts, tx, &reply.user, &reply.ticket_key).await? else {
        return Ok(());
    };
    if !facts.lookups.is_agent(&agent.slack_user_id) {
        return Ok(());
    }
    let (view, text) = (&reply.view_id, &reply.text);
    let public = Visibility::Public;
    if !unit
        .add_written_comment(tx, ticket.id, agent, public, view, text, "reply to requester")
        .await?
    {
        return Ok(());
    }
    unit.effect(Effect::PostReply {
        ticket_id: ticket.id,
        text: format!("*{}* (help desk): {}", agent.display_name, reply.text),
    });
    Ok(())
}

/// Who acts and the ticket they act on, when both are known.
pub(super) async fn actor_and_ticket<'a>(
    facts: &Facts<'a>,
    tx: &mut Tx,
    user: &str,
    key: &str,
) -> Result<Option<(&'a SlackUserRecord, TicketRecord)>, StoreError> {
    let Some(user) = facts.user(user) else {
        return Ok(None);
    };
    Ok(Store::ticket_by_key_in(tx, key).await?.map(|ticket| (user, ticket)))
}
