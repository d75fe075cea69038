//! Jira → Slack: a change Jira tells of (its webhook, or the reconcile) reaches the mirror
//! and every Slack message about the ticket. Changes deskhand itself made in Jira come
//! back too: they match the mirror already, or are written by deskhand's own accounts, and
//! are not said twice.

use serde_json::json;

use super::Handled;
use crate::desk::effects::Effect;
use crate::desk::jira::{JiraComment, JiraEvent, JiraEventKind};
use crate::desk::workflow::{Category, Status};
use crate::store::{NewComment, SlackUserRecord, Store, TicketRecord, Tx};
use crate::sync::unit::Unit;

/// Apply a Jira change, audited as from Jira; nothing of it is sent back there.
pub(super) async fn handle(unit: &mut Unit<'_>, tx: &mut Tx, project: &str, event: &JiraEvent) -> Handled {
    let before = unit.set_source("jira");
    let handled = apply(unit, tx, project, event).await;
    unit.set_source(before);
    handled
}

/// The Jira person a change names, as the desk's changes take an actor.
fn jira_actor(account_id: &str, name: &str) -> SlackUserRecord {
    SlackUserRecord {
        slack_user_id: format!("jira:{account_id}"),
        team_id: String::new(),
        name: name.to_owned(),
        display_name: if name.is_empty() {
            "Jira".into()
        } else {
            name.to_owned()
        },
        email: None,
        is_bot: false,
        is_restricted: false,
        is_ultra_restricted: false,
        deleted: false,
        person_id: None,
        fetched_at: 0,
        is_admin: false,
    }
}

async fn apply(unit: &mut Unit<'_>, tx: &mut Tx, project: &str, event: &JiraEvent) -> Handled {
    let Some(ticket) = Store::ticket_by_jira_issue(tx, &event.issue_id).await? else {
        if event.kind == JiraEventKind::IssueCreated {
            announce_created(unit, tx, project, event).await?;
        }
        return Ok(());
    };
    if ticket.project_key != project {
        tracing::warn!(jira.issue = %event.issue_id, project, "a Jira change signed for another project was ignored");
        return Ok(());
    }
    let own = Store::jira_own_accounts_in(tx).await?;
    let by_deskhand = event.actor.as_deref().is_some_and(|a| own.iter().any(|o| o == a));
    match event.kind {
        JiraEventKind::IssueDeleted => {
            if Store::jira_issue_deleted(tx, ticket.id).await? {
                unit.audit(
                    ticket.id,
                    ("jira", "Jira"),
                    "jira_issue_deleted",
                    json!({ "key": ticket.key }),
                );
                unit.refresh_ticket_messages(ticket.id);
                unit.effect(Effect::PostCardNote {
                    ticket_id: ticket.id,
                    text: format!(":wastebasket: *{}* was deleted in Jira.", ticket.key),
                });
            }
        }
        JiraEventKind::IssueCreated | JiraEventKind::IssueUpdated => {
            if let Some(at) = event.at {
                if !Store::saw_jira_at(tx, ticket.id, at).await? {
                    tracing::info!(jira.key = %ticket.key, "a Jira change came after a newer one; its fields are stale");
                    return Ok(());
                }
            }
            let actor = jira_actor(
                event.actor.as_deref().unwrap_or("jira"),
                event.actor_name.as_deref().unwrap_or("Jira"),
            );
            updated(unit, tx, &ticket, event, &actor, by_deskhand).await?;
        }
        JiraEventKind::CommentCreated => {
            if let Some(comment) = &event.comment {
                let ours = own.contains(&comment.author.account_id);
                if !ours && !Store::has_jira_comment(tx, ticket.id, &comment.id).await? {
                    commented(unit, tx, &ticket, comment).await?;
                }
            }
        }
        // The mirror keeps Jira's words; what Slack already showed stays as it was said.
        JiraEventKind::CommentUpdated | JiraEventKind::CommentDeleted => {
            if let Some(comment) = &event.comment {
                let origin = format!("jira:{}", comment.id);
                if let Some(mirrored) = Store::comment_by_message(tx, "", &origin).await? {
                    if event.kind == JiraEventKind::CommentDeleted {
                        Store::mark_comment_deleted(tx, mirrored.id).await?;
                    } else if mirrored.body != comment.body {
                        Store::update_comment_body(tx, mirrored.id, &comment.body).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Status, priority and assignee as Jira has them now, where they differ from the mirror.
async fn updated(
    unit: &mut Unit<'_>,
    tx: &mut Tx,
    ticket: &TicketRecord,
    event: &JiraEvent,
    actor: &SlackUserRecord,
    by_deskhand: bool,
) -> Handled {
    if let Some(status) = event.status.as_deref().filter(|s| *s != ticket.status) {
        // Jira's own name, in the category the connection gave it.
        let workflow = Store::project_in(tx, &ticket.project_key)
            .await?
            .map(|p| p.workflow())
            .unwrap_or_default();
        let status = Status {
            name: status.to_owned(),
            category: workflow
                .status(status)
                .map(|s| s.category)
                .unwrap_or(Category::InProgress),
        };
        unit.transition(tx, ticket, &status, actor, !by_deskhand).await?;
        // A request may now wait for approvals: their approvers hear of it in Slack.
        unit.effect(Effect::JiraApprovals { ticket_id: ticket.id });
    }
    let mappings = Store::jira_mappings_in(tx, &ticket.project_key).await?;
    if let Some(priority) = event.priority.as_deref().and_then(|p| mappings.priority_of(p)) {
        if priority != ticket.priority {
            Store::set_ticket_priority(tx, ticket.id, priority.as_str()).await?;
            let detail = json!({ "from": ticket.priority.as_str(), "to": priority.as_str() });
            unit.audit_by(ticket.id, actor, "priority_changed", detail);
            unit.refresh_ticket_messages(ticket.id);
            let news = format!("Your request *{}* is now *{}* priority.", ticket.key, priority.as_str());
            tell_requester(unit, tx, ticket, by_deskhand, news).await?;
        }
    }
    if let Some(Some(assignee)) = &event.assignee {
        let slack = match assignee.email.as_deref() {
            Some(email) => Store::slack_user_by_email_in(tx, email).await?,
            None => None,
        };
        match slack {
            Some(user) if ticket.assignee_slack_id.as_deref() != Some(user.slack_user_id.as_str()) => {
                unit.assign(tx, ticket, &user, actor).await?;
                let news = format!(
                    "{} is now looking after your request *{}*.",
                    user.display_name, ticket.key
                );
                tell_requester(unit, tx, ticket, by_deskhand, news).await?;
            }
            Some(_) => {}
            None => tracing::info!(jira.key = %ticket.key, "assigned in Jira to someone deskhand cannot find in Slack"),
        }
    }
    Ok(())
}

/// Tell the requester of an agent's change in Jira, when they asked to hear of changes.
async fn tell_requester(
    unit: &mut Unit<'_>,
    tx: &mut Tx,
    ticket: &TicketRecord,
    by_deskhand: bool,
    text: String,
) -> Handled {
    if !by_deskhand
        && Store::user_prefs_in(tx, &ticket.requester_slack_id)
            .await?
            .notifications
    {
        unit.effect(Effect::Notify {
            user: ticket.requester_slack_id.clone(),
            ticket_id: ticket.id,
            text,
        });
    }
    Ok(())
}

/// A comment an agent wrote in Jira: a public one in the request's thread, with their
/// name; an internal one in the card's thread only.
async fn commented(unit: &mut Unit<'_>, tx: &mut Tx, ticket: &TicketRecord, comment: &JiraComment) -> Handled {
    let origin = format!("jira:{}", comment.id);
    if Store::comment_by_message(tx, "", &origin).await?.is_some() {
        return Ok(());
    }
    let visibility = if comment.public { "public" } else { "internal" };
    let author = if comment.author.name.is_empty() {
        "Jira"
    } else {
        &comment.author.name
    };
    let author_id = format!("jira:{}", comment.author.account_id);
    let stored = Store::insert_comment(
        tx,
        &NewComment {
            ticket_id: ticket.id,
            on_behalf_of: None,
            visibility,
            body: &comment.body,
            author_person_id: None,
            author_slack_id: &author_id,
            author_name: author,
            channel_id: "",
            message_ts: &origin,
            permalink: "",
            by_agent: true,
        },
    )
    .await?;
    Store::link_jira_comment(tx, stored.id, &comment.id).await?;
    let detail = json!({ "comment": stored.id, "visibility": visibility, "jira_comment": comment.id });
    unit.audit(ticket.id, (&author_id, author), "comment_added", detail);
    let words: String = comment.body.chars().take(3000).collect();
    if comment.public {
        unit.effect(Effect::PostReply {
            ticket_id: ticket.id,
            text: format!("*{author}* (help desk): {words}"),
        });
    } else {
        unit.effect(Effect::PostCardNote {
            ticket_id: ticket.id,
            text: format!(":lock: *{author}* (internal, in Jira): {words}"),
        });
    }
    Ok(())
}

/// A request raised in Jira itself for someone deskhand knows in Slack: they hear of it.
async fn announce_created(unit: &mut Unit<'_>, tx: &mut Tx, project: &str, event: &JiraEvent) -> Handled {
    let Some(email) = event.reporter.as_ref().and_then(|r| r.email.as_deref()) else {
        return Ok(());
    };
    let Some(user) = Store::slack_user_by_email_in(tx, email).await? else {
        return Ok(());
    };
    let Some(site) = Store::jira_site_in(tx, project).await? else {
        return Ok(());
    };
    let summary = event.summary.as_deref().unwrap_or("a request");
    unit.effect(Effect::DirectMessage {
        user: user.slack_user_id,
        text: format!(
            "A request was opened for you in Jira: *<{site}/browse/{key}|{key}>* · {summary}",
            key = event.issue_key
        ),
    });
    Ok(())
}
