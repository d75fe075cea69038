//! `/desk …` other than `new`: `mine`, `status`, `notifications`, `help`, `admin`, and
//! for agents `queue`, `report` and `customer add`.

use super::Handled;
use crate::desk::commands::{DeskCommand, HELP};
use crate::desk::effects::Effect;
use crate::desk::identity::Verification;
use crate::desk::roles;
use crate::slack::admin;
use crate::slack::blocks::{self, ticket_text};
use crate::slack::interactions::DeskRequest;
use crate::slack::views;
use crate::store::{ProjectRecord, Store, TicketRecord, Tx};
use crate::sync::lookup::Needs;
use crate::sync::unit::Unit;

/// How many requests `/desk mine` lists.
const MINE_LIMIT: i64 = 20;
/// How many requests `/desk queue` lists.
const QUEUE_LIMIT: i64 = 40;

/// Who asks, whether they are an agent or an admin, and the projects.
pub(super) fn needs(request: &DeskRequest) -> Needs {
    Needs {
        users: vec![request.user.clone()],
        agents: true,
        projects: true,
        ..Needs::default()
    }
}

/// `/desk mine`, `status`, `notifications`, `help`.
pub(super) async fn handle<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &DeskRequest) -> Handled {
    let facts = unit.facts;
    let Some(user) = facts.user(&request.user) else {
        return Ok(());
    };
    let response_url = request.response_url.clone();
    let respond = |text: String, blocks| {
        unit.effect(Effect::Respond {
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
            let mut view = admin::channel_prefs(&request.channel, facts.channel(&request.channel), &projects);
            // Everything else is on the admin pages: a one-time link that signs them in there.
            let token = Store::create_portal_link(tx, Some(&user.slack_user_id), None, "/portal/admin").await?;
            let link = format!("{}/portal/sign-in/{token}", facts.workspace.public_url);
            if let Some(blocks) = view["blocks"].as_array_mut() {
                blocks.push(serde_json::json!({ "type": "context", "elements": [{ "type": "mrkdwn",
                    "text": format!("Projects, customers and every channel: <{link}|the admin pages> (a one-time link, for 15 minutes).") }] }));
            }
            unit.effect(Effect::OpenView {
                trigger_id: request.trigger_id.clone(),
                view,
            });
        }
        (DeskCommand::Portal, None) => {
            let token = Store::create_portal_link(tx, Some(&user.slack_user_id), None, "/portal").await?;
            let public = &facts.workspace.public_url;
            let link = format!("{public}/portal/sign-in/{token}");
            let mut text = format!(
                "<{link}|Open the help desk portal>: this link is yours alone, works once, and for 15 minutes."
            );
            if facts.lookups.is_admin(user) {
                text.push_str(&format!(
                    "\nOnce signed in, the admin pages are at {public}/portal/admin."
                ));
            }
            respond(text, None)
        }
        (DeskCommand::AddCustomer { .. }, None)
            if !facts.lookups.is_agent(&user.slack_user_id) && !facts.lookups.is_admin(user) =>
        {
            respond("Only agents and help-desk admins add customers.".into(), None)
        }
        (DeskCommand::AddCustomer { email, name }, None) => unit.effect(Effect::AddCustomer {
            email: email.clone(),
            name: name.clone(),
            by: user.slack_user_id.clone(),
            by_name: user.display_name.clone(),
            admin: facts.lookups.is_admin(user),
            response_url: request.response_url.clone(),
        }),
        (DeskCommand::Queue | DeskCommand::Report, None) if !facts.lookups.is_agent(&user.slack_user_id) => respond(
            "Only agents (members of an agent channel, or managers) have a queue and reports.".into(),
            None,
        ),
        (DeskCommand::Queue, None) => {
            let queue = Store::queue_in(tx, &user.slack_user_id, QUEUE_LIMIT).await?;
            let text = format!("{} open request(s) in your queue", queue.len());
            respond(text, serde_json::to_value(blocks::queue(&queue)).ok())
        }
        (DeskCommand::Report, None) => unit.effect(Effect::RespondReport {
            response_url: request.response_url.clone(),
            user: user.slack_user_id.clone(),
        }),
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
