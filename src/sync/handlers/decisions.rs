//! What approvers and requesters decide: an approval (recorded once, by an approver
//! only), and a satisfaction rating (once per resolution, by the requester only).

use serde_json::json;

use super::ticket_action::actor_and_ticket;
use super::Handled;
use crate::desk::effects::Effect;
use crate::desk::workflow::Category;
use crate::desk::Visibility;
use crate::slack::actions::{DecisionRequest, SurveyAnswer, SurveyRequest, TicketText};
use crate::slack::views;
use crate::store::{ApprovalRecord, SlackUserRecord, Store, TicketRecord, Tx};
use crate::sync::lookup::Needs;
use crate::sync::unit::Unit;

pub(super) fn needs(user: &str) -> Needs {
    Needs {
        users: vec![user.to_owned()],
        projects: true,
        ..Needs::default()
    }
}

fn answer(unit: &mut Unit<'_>, response_url: Option<&String>, user: &str, ticket: &TicketRecord, text: String) {
    match response_url {
        Some(url) => unit.effect(Effect::Respond {
            response_url: url.clone(),
            text,
            blocks: None,
        }),
        None => unit.effect(Effect::Notify {
            user: user.to_owned(),
            ticket_id: ticket.id,
            text,
        }),
    }
}

/// Whether `actor` may decide on `ticket` now: the approval to decide, or why not.
fn may_decide(
    ticket: &TicketRecord,
    approval: Option<ApprovalRecord>,
    actor: &SlackUserRecord,
) -> Result<ApprovalRecord, String> {
    let Some(approval) = approval else {
        return Err(format!("*{}* needs no approval.", ticket.key));
    };
    if let (Some(decision), Some(by)) = (&approval.decision, &approval.decided_by) {
        return Err(format!("*{}* was already {decision} by <@{by}>.", ticket.key));
    }
    let approvers = approval.approvers();
    if !approvers.contains(&actor.slack_user_id) {
        let who: Vec<String> = approvers.iter().map(|a| format!("<@{a}>")).collect();
        return Err(format!("Only {} can decide on *{}*.", who.join(", "), ticket.key));
    }
    if ticket.is_done() {
        return Err(format!("*{}* was closed before anyone decided.", ticket.key));
    }
    Ok(approval)
}

/// An approver's Approve (decided at once) or Decline (which asks why first).
pub(super) async fn handle_decide<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &DecisionRequest) -> Handled {
    let facts = unit.facts;
    let Some((actor, ticket)) = actor_and_ticket(facts, tx, &request.user, &request.ticket_key).await? else {
        return Ok(());
    };
    let approval = Store::approval_in(tx, ticket.id).await?;
    if let Err(why) = may_decide(&ticket, approval, actor) {
        answer(unit, request.response_url.as_ref(), &request.user, &ticket, why);
        return Ok(());
    }
    if !request.approve {
        unit.effect(Effect::OpenView {
            trigger_id: request.trigger_id.clone(),
            view: views::decline_reason(&ticket),
        });
        return Ok(());
    }
    if !Store::decide(
        tx,
        ticket.id,
        "approved",
        (&actor.slack_user_id, &actor.display_name),
        None,
    )
    .await?
    {
        return Ok(());
    }
    Store::set_ticket_approval(tx, ticket.id, "approved").await?;
    unit.audit_by(ticket.id, actor, "approval_decided", json!({ "decision": "approved" }));
    let text = format!("You approved *{}*.", ticket.key);
    answer(unit, request.response_url.as_ref(), &request.user, &ticket, text);
    unit.effect(Effect::PostReply {
        ticket_id: ticket.id,
        text: format!(":white_check_mark: *{}* approved this request.", actor.display_name),
    });
    let workflow = unit.workflow_of(&ticket.project_key);
    let first = workflow.initial().clone();
    let ticket = TicketRecord {
        approval: Some("approved".into()),
        ..ticket
    };
    unit.transition(tx, &ticket, &first, actor, true).await
}

/// An approver's Decline, with its reason: a public comment, and the request is done.
pub(super) async fn handle_declined<'a>(unit: &mut Unit<'a>, tx: &mut Tx, reason: &TicketText) -> Handled {
    let facts = unit.facts;
    let Some((actor, ticket)) = actor_and_ticket(facts, tx, &reason.user, &reason.ticket_key).await? else {
        return Ok(());
    };
    let approval = Store::approval_in(tx, ticket.id).await?;
    if let Err(why) = may_decide(&ticket, approval, actor) {
        answer(unit, None, &reason.user, &ticket, why);
        return Ok(());
    }
    let why = reason.text.trim();
    let by = (actor.slack_user_id.as_str(), actor.display_name.as_str());
    if !Store::decide(tx, ticket.id, "declined", by, Some(why)).await? {
        return Ok(());
    }
    Store::set_ticket_approval(tx, ticket.id, "declined").await?;
    unit.audit_by(
        ticket.id,
        actor,
        "approval_decided",
        json!({ "decision": "declined", "reason": why }),
    );
    let body = format!("Declined: {why}");
    unit.add_written_comment(
        tx,
        ticket.id,
        actor,
        Visibility::Public,
        &reason.view_id,
        &body,
        "declined",
    )
    .await?;
    unit.effect(Effect::PostReply {
        ticket_id: ticket.id,
        text: format!(":no_entry: *{}* declined this request: {why}", actor.display_name),
    });
    let workflow = unit.workflow_of(&ticket.project_key);
    let done = workflow
        .status("Declined")
        .filter(|s| s.category == Category::Done)
        .or_else(|| workflow.statuses.iter().rev().find(|s| s.category == Category::Done))
        .cloned();
    let ticket = TicketRecord {
        approval: Some("declined".into()),
        ..ticket
    };
    match done {
        Some(done) => unit.transition(tx, &ticket, &done, actor, true).await,
        None => Ok(()),
    }
}

/// A requester's "Rate": the survey, unless it is not theirs or they answered it.
pub(super) async fn handle_open_survey<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &SurveyRequest) -> Handled {
    let facts = unit.facts;
    let Some((_, ticket)) = actor_and_ticket(facts, tx, &request.user, &request.ticket_key).await? else {
        return Ok(());
    };
    let refusal = match Store::survey_in(tx, ticket.id, request.resolution).await? {
        None => Some(format!("There is no survey about *{}*.", ticket.key)),
        Some(survey) if survey.requester_slack_id != request.user => Some(format!(
            "Only <@{}>, who asked, rates *{}*.",
            survey.requester_slack_id, ticket.key
        )),
        Some(survey) if survey.rating.is_some() => Some(format!(
            "You rated *{}* {}/5 already. Thank you!",
            ticket.key,
            survey.rating.unwrap_or_default()
        )),
        Some(_) => None,
    };
    match refusal {
        Some(text) => answer(unit, request.response_url.as_ref(), &request.user, &ticket, text),
        None => unit.effect(Effect::OpenView {
            trigger_id: request.trigger_id.clone(),
            view: views::survey(&ticket, request.resolution),
        }),
    }
    Ok(())
}

/// A survey answered: recorded once, and shown on the card.
pub(super) async fn handle_rated<'a>(unit: &mut Unit<'a>, tx: &mut Tx, answered: &SurveyAnswer) -> Handled {
    let facts = unit.facts;
    let Some((requester, ticket)) = actor_and_ticket(facts, tx, &answered.user, &answered.ticket_key).await? else {
        return Ok(());
    };
    let Some(rating) = answered.rating.parse::<i64>().ok().filter(|r| (1..=5).contains(r)) else {
        tracing::info!(rating = %answered.rating, "a survey answer without a rating from 1 to 5");
        return Ok(());
    };
    let survey = Store::survey_in(tx, ticket.id, answered.resolution).await?;
    if survey.is_none_or(|s| s.requester_slack_id != answered.user) {
        return Ok(());
    }
    let comment = answered.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let counted = Store::answer_survey(tx, ticket.id, answered.resolution, rating, comment).await?;
    let text = if counted {
        let detail = json!({ "rating": rating, "comment": comment, "resolution": answered.resolution });
        unit.audit_by(ticket.id, requester, "satisfaction_rated", detail);
        unit.refresh_ticket_messages(ticket.id);
        if ticket.syncs_to_jira() {
            // Jira takes feedback only from the customer's own account: its agents read
            // the rating as an internal note.
            let note = match comment {
                Some(words) => format!("Rated the help {rating}/5: {words}"),
                None => format!("Rated the help {rating}/5."),
            };
            let origin = format!("survey-{}-{}", ticket.id, answered.resolution);
            unit.add_written_comment(tx, ticket.id, requester, Visibility::Internal, &origin, &note, "survey")
                .await?;
        }
        format!("Thank you for rating *{}* {rating}/5.", ticket.key)
    } else {
        format!("You had rated *{}* already; your first answer stands.", ticket.key)
    };
    answer(unit, None, &answered.user, &ticket, text);
    Ok(())
}
