//! An agent's triage from a ticket's card (or the queue): assign, move along the
//! workflow, prioritize, route to a department, and write internal notes. A refused
//! change is explained privately and the card is put back to the truth.

use serde_json::json;

use super::ticket_action::actor_and_ticket;
use super::Handled;
use crate::desk::effects::Effect;
use crate::desk::{Priority, Visibility};
use crate::slack::actions::{CardChange, CardRequest, ParticipantSubmission, TicketText};
use crate::slack::views;
use crate::store::{SlackUserRecord, Store, TicketRecord, Tx};
use crate::sync::lookup::Needs;
use crate::sync::unit::Unit;

/// Who acts, whom they assign, the agents and the projects (workflows, departments).
pub(super) fn needs(request: &CardRequest) -> Needs {
    let mut users = vec![request.user.clone()];
    if let CardChange::AssignTo(assignee) = &request.change {
        users.push(assignee.clone());
    }
    Needs {
        users,
        agents: true,
        projects: true,
        ..Needs::default()
    }
}

/// Tell the actor why not, and show the card as it is.
fn refuse(unit: &mut Unit<'_>, request: &CardRequest, ticket: Option<&TicketRecord>, text: String) {
    match &request.response_url {
        Some(url) => unit.effect(Effect::Respond {
            response_url: url.clone(),
            text,
            blocks: None,
        }),
        None => tracing::info!(slack.user = %request.user, "a refused card action with nowhere to answer"),
    }
    if let Some(ticket) = ticket {
        unit.refresh_ticket_messages(ticket.id);
    }
}

pub(super) async fn handle<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &CardRequest) -> Handled {
    let facts = unit.facts;
    let Some((actor, ticket)) = actor_and_ticket(facts, tx, &request.user, &request.ticket_key).await? else {
        refuse(unit, request, None, format!("{} no longer exists.", request.ticket_key));
        return Ok(());
    };
    // Admins set priorities whether or not they are agents; the rest is agents' work.
    let priority = matches!(request.change, CardChange::Priority(_));
    if !priority && !facts.lookups.is_agent(&actor.slack_user_id) {
        let text = "Only agents (members of an agent channel, or managers) change requests from here.".into();
        refuse(unit, request, Some(&ticket), text);
        return Ok(());
    }
    match &request.change {
        CardChange::AssignToMe => unit.assign(tx, &ticket, actor, actor).await?,
        CardChange::AssignTo(user) => match facts.user(user) {
            Some(assignee) if facts.lookups.is_agent(&assignee.slack_user_id) => {
                unit.assign(tx, &ticket, assignee, actor).await?
            }
            _ => refuse(
                unit,
                request,
                Some(&ticket),
                format!("<@{user}> is not an agent: requests are assigned to agents only."),
            ),
        },
        CardChange::Status(name) => move_to(unit, tx, request, &ticket, actor, name).await?,
        CardChange::Priority(priority) => set_priority(unit, tx, request, &ticket, actor, priority).await?,
        CardChange::Department(name) => set_department(unit, tx, request, &ticket, actor, name).await?,
        CardChange::OpenNote => unit.effect(Effect::OpenView {
            trigger_id: request.trigger_id.clone(),
            view: views::internal_note(&ticket),
        }),
        CardChange::OpenParticipant => unit.effect(Effect::OpenView {
            trigger_id: request.trigger_id.clone(),
            view: views::add_participant(&ticket, None),
        }),
    }
    Ok(())
}

async fn move_to<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    request: &CardRequest,
    ticket: &TicketRecord,
    actor: &SlackUserRecord,
    name: &str,
) -> Handled {
    if ticket.awaits_approval() {
        let text = format!(
            "*{}* waits for an approval: it moves on once an approver decides.",
            ticket.key
        );
        refuse(unit, request, Some(ticket), text);
        return Ok(());
    }
    let workflow = unit.workflow_of(&ticket.project_key);
    match workflow.check_move(&ticket.status, name) {
        Ok(status) => unit.transition(tx, ticket, status, actor, true).await,
        Err(illegal) => {
            refuse(unit, request, Some(ticket), illegal.explanation());
            Ok(())
        }
    }
}

/// Admins may set priorities, and agents when the admins allow it.
async fn set_priority<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    request: &CardRequest,
    ticket: &TicketRecord,
    actor: &SlackUserRecord,
    priority: &str,
) -> Handled {
    let Some(priority) = Priority::parse(priority) else {
        refuse(unit, request, Some(ticket), format!("{priority:?} is not a priority."));
        return Ok(());
    };
    if !unit.facts.lookups.may_set_priority(actor) {
        let text = if unit.facts.lookups.is_agent(&actor.slack_user_id) {
            "Only help-desk admins set priorities here; an admin can let agents do it too."
        } else {
            "Only help-desk admins set priorities."
        };
        refuse(unit, request, Some(ticket), text.into());
        return Ok(());
    }
    if ticket.priority == priority {
        return Ok(());
    }
    Store::set_ticket_priority(tx, ticket.id, priority.as_str()).await?;
    let detail = json!({ "from": ticket.priority.as_str(), "to": priority.as_str() });
    unit.audit_by(ticket.id, actor, "priority_changed", detail);
    unit.refresh_ticket_messages(ticket.id);
    unit.send_jira(ticket, Effect::JiraPriority { ticket_id: ticket.id });
    Ok(())
}

/// Route a ticket to another of its project's departments: its managers hear of it.
async fn set_department<'a>(
    unit: &mut Unit<'a>,
    tx: &mut Tx,
    request: &CardRequest,
    ticket: &TicketRecord,
    actor: &SlackUserRecord,
    name: &str,
) -> Handled {
    let Some(project) = unit.facts.project(&ticket.project_key) else {
        return Ok(());
    };
    let Some(department) = project.departments().into_iter().find(|d| d.eq_ignore_ascii_case(name)) else {
        let text = format!("{} has no department {name:?}.", project.name);
        refuse(unit, request, Some(ticket), text);
        return Ok(());
    };
    if ticket.department.as_deref() == Some(department.as_str()) {
        return Ok(());
    }
    Store::set_ticket_department(tx, ticket.id, Some(&department)).await?;
    let detail = json!({ "from": ticket.department, "to": department });
    unit.audit_by(ticket.id, actor, "department_changed", detail);
    unit.refresh_ticket_messages(ticket.id);
    let text = format!(
        "{} moved *{}* · {} to your department, *{department}*.",
        actor.display_name, ticket.key, ticket.summary
    );
    let managers = project.managers_of(Some(&department));
    unit.tell_managers(ticket, &managers, &actor.slack_user_id, &text);
    Ok(())
}

/// An internal note from its modal: an internal comment, posted in the card's thread.
pub(super) async fn handle_note<'a>(unit: &mut Unit<'a>, tx: &mut Tx, note: &TicketText) -> Handled {
    let facts = unit.facts;
    let Some((agent, ticket)) = actor_and_ticket(facts, tx, &note.user, &note.ticket_key).await? else {
        return Ok(());
    };
    if !facts.lookups.is_agent(&agent.slack_user_id) || note.text.trim().is_empty() {
        return Ok(());
    }
    let (view, text) = (&note.view_id, &note.text);
    let internal = Visibility::Internal;
    if !unit
        .add_written_comment(tx, ticket.id, agent, internal, view, text, "internal note")
        .await?
    {
        return Ok(());
    }
    unit.effect(Effect::PostCardNote {
        ticket_id: ticket.id,
        text: format!(":memo: *{}* (internal note): {}", agent.display_name, note.text),
    });
    Ok(())
}

/// An agent adds a participant from the card: added by the dispatcher, through the same
/// use case as the admin API (it asks Slack who they are).
pub(super) async fn handle_participant<'a>(unit: &mut Unit<'a>, tx: &mut Tx, added: &ParticipantSubmission) -> Handled {
    let facts = unit.facts;
    let Some((agent, ticket)) = actor_and_ticket(facts, tx, &added.user, &added.ticket_key).await? else {
        return Ok(());
    };
    if !facts.lookups.is_agent(&agent.slack_user_id) {
        return Ok(());
    }
    unit.effect(Effect::AddParticipant {
        ticket_key: ticket.key,
        person: added.person.clone(),
        confirm: added.confirm,
        by: agent.slack_user_id.clone(),
        by_name: agent.display_name.clone(),
    });
    Ok(())
}

/// A requester's reply on the portal, already recorded: the card hears it, and a request
/// waiting for them moves on, as after a reply in the thread.
pub(super) async fn handle_portal_reply<'a>(unit: &mut Unit<'a>, tx: &mut Tx, reply: &TicketText) -> Handled {
    let facts = unit.facts;
    let Some((author, ticket)) = actor_and_ticket(facts, tx, &reply.user, &reply.ticket_key).await? else {
        return Ok(());
    };
    if ticket.requester_slack_id != author.slack_user_id {
        return Ok(());
    }
    let before = unit.set_source("portal");
    let replied = unit.requester_replied(tx, &ticket, author, &reply.text).await;
    unit.set_source(before);
    replied
}
