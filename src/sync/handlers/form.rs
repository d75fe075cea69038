//! The request form: opened by the "New request" and "Create ticket" shortcuts and
//! `/desk new`, and filed when it is submitted (already checked at ingress).

use super::Handled;
use crate::desk::effects::Effect;
use crate::desk::identity::Verification;
use crate::desk::{self, Source};
use crate::slack::interactions::{FormContext, FormRequest, Submission};
use crate::slack::views::{self, FormProject, FormView};
use crate::store::{Store, Tx};
use crate::sync::lookup::Needs;
use crate::sync::unit::{requester_for, Draft, Unit};

/// Who asks, whether they are an agent (who may file for anyone) and the projects.
pub(super) fn needs_to_open(request: &FormRequest) -> Needs {
    Needs {
        users: vec![request.user.clone()],
        agents: true,
        projects: true,
        ..Needs::default()
    }
}

/// Who submitted, whom it is for, and the projects.
pub(super) fn needs_to_file(submission: &Submission) -> Needs {
    let mut users = vec![submission.user.clone()];
    users.extend(submission.form.on_behalf_of.clone());
    if let Some(message) = &submission.context.message {
        users.extend(message.author.clone());
    }
    Needs {
        users,
        projects: true,
        ..Needs::default()
    }
}

/// A shortcut or `/desk new`: open the request form, filled in as far as known.
pub(super) async fn handle_open<'a>(unit: &mut Unit<'a>, tx: &mut Tx, request: &FormRequest) -> Handled {
    let facts = unit.facts;
    let Some(user) = facts.user(&request.user) else {
        return Ok(());
    };
    let trigger_id = request.trigger_id.clone();
    let open = |view| unit.effect(Effect::OpenView { trigger_id, view });
    if let Verification::Unverified(reason) = facts.verify(user) {
        open(views::notice("New request", reason.refusal()));
        return Ok(());
    }
    if facts.lookups.projects.is_empty() {
        open(views::notice(
            "New request",
            "The help desk has no projects yet: ask a help-desk admin to set one up.",
        ));
        return Ok(());
    }
    if let Some(message) = &request.message {
        if let Some(ticket) = Store::ticket_by_message(tx, &message.channel, &message.ts).await? {
            open(views::already_filed(&ticket));
            return Ok(());
        }
    }
    let channel = request.channel.as_deref().and_then(|c| facts.support_channel(c));
    let project = channel
        .and_then(|c| c.project_key.as_deref())
        .or_else(|| facts.default_project().map(|p| p.key.as_str()));
    let mut projects: Vec<FormProject> = facts
        .lookups
        .projects
        .values()
        .map(|p| FormProject {
            key: p.key.clone(),
            name: p.name.clone(),
            departments: p.departments(),
            request_types: p.request_types(),
        })
        .collect();
    projects.sort_by(|a, b| a.key.cmp(&b.key));
    let context = FormContext {
        channel: request.channel.clone(),
        message: request.message.clone(),
        agent: facts.lookups.is_agent(&user.slack_user_id),
    };
    let summary = match request.message {
        Some(_) if !request.text.trim().is_empty() => desk::summary_from(&request.text),
        _ => String::new(),
    };
    let on_behalf_of = request
        .message
        .as_ref()
        .and_then(|m| m.author.as_deref())
        .filter(|author| *author != user.slack_user_id);
    let view = views::request_form(&FormView {
        context: &context,
        projects: &projects,
        project,
        department: channel.and_then(|c| c.default_department.as_deref()),
        request_type: channel.and_then(|c| c.default_request_type.as_deref()),
        summary: &summary,
        description: &request.text,
        on_behalf_of,
    });
    open(view);
    Ok(())
}

/// The request form, submitted and already checked at ingress.
pub(super) async fn handle_submitted<'a>(unit: &mut Unit<'a>, tx: &mut Tx, submission: &Submission) -> Handled {
    let facts = unit.facts;
    let Some(submitter) = facts.user(&submission.user) else {
        return Ok(());
    };
    let view_id = submission.view_id.clone();
    let show = |view| unit.effect(Effect::UpdateView { view_id, view });
    if let Verification::Unverified(reason) = facts.verify(submitter) {
        show(views::notice("New request", reason.refusal()));
        return Ok(());
    }
    let form = &submission.form;
    let Some(project) = form.project.as_deref().and_then(|k| facts.project(k)) else {
        show(views::notice(
            "New request",
            "That project no longer takes requests; nothing was filed.",
        ));
        return Ok(());
    };
    let context = &submission.context;
    let message = context.message.as_ref();
    // Agents choose whom it is for (nobody: themselves); others file a message for its
    // author, or for themselves.
    let intended = if context.agent {
        form.on_behalf_of.as_deref()
    } else {
        message.and_then(|m| m.author.as_deref())
    };
    let intended = intended.and_then(|id| facts.user(id)).unwrap_or(submitter);
    let (origin, thread_ts, source) = match message {
        Some(m) => {
            if let Some(ticket) = Store::ticket_by_message(tx, &m.channel, &m.ts).await? {
                show(views::already_filed(&ticket));
                return Ok(());
            }
            let thread_ts = m.thread_ts.clone().filter(|t| *t != m.ts);
            ((m.channel.clone(), m.ts.clone()), thread_ts, Source::Shortcut)
        }
        None => (
            (String::new(), format!("view:{}", submission.view_id)),
            None,
            Source::Form,
        ),
    };
    let permalink = match message {
        Some(_) => facts.permalink(&origin.0, &origin.1, thread_ts.as_deref()),
        None => String::new(),
    };
    let (requester, on_behalf_of) = requester_for(submitter, intended, &permalink, facts);
    let summary = form.summary.trim().to_owned();
    let description = match form.description.trim() {
        "" => summary.clone(),
        text => text.to_owned(),
    };
    let mut draft = Draft {
        reporter: Some(submitter),
        on_behalf_of,
        summary,
        description,
        department: form.department.clone(),
        request_type: form.request_type.clone(),
        origin_thread_ts: thread_ts,
        permalink,
        view_id: Some(submission.view_id.clone()),
        ..Draft::bare(&project.key, (&origin.0, &origin.1), requester, source)
    };
    for channel in [context.channel.as_deref(), message.map(|m| m.channel.as_str())] {
        if let Some(channel) = channel.and_then(|c| facts.support_channel(c)) {
            draft.apply_channel(channel);
        }
    }
    unit.drafts.push(draft);
    Ok(())
}
