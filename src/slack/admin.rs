//! `/desk admin`: a channel's preferences in a modal. Saving applies at once, through the
//! same checks and writes as the admin API (`PUT /api/v1/channels/{id}` and its
//! facilitator), with the admin who saved it in the audit trail.

use serde_json::{json, Value};

use super::interactions::{Payload, CHANNEL_PREFS};
use crate::admin::channels::{self, FacilitatorChange};
use crate::admin::{self, Actor, AdminError};
use crate::desk::config::{is_channel_id, ChannelKind, ChannelRequest, Field};
use crate::desk::Priority;
use crate::state::AppState;
use crate::store::{ChannelRecord, ProjectRecord};

/// The box that revokes a channel's facilitator (Slack's user menus cannot be emptied).
const REVOKE: &str = "revoke_facilitator";

fn plain(text: &str) -> Value {
    json!({ "type": "plain_text", "text": text, "emoji": true })
}

fn option(value: &str, text: &str) -> Value {
    json!({ "text": plain(text), "value": value })
}

fn input(block_id: &str, label: &str, element: Value, optional: bool, hint: Option<&str>) -> Value {
    let mut block = json!({ "type": "input", "block_id": block_id, "label": plain(label), "optional": optional, "element": element });
    if let Some(hint) = hint {
        block["hint"] = plain(hint);
    }
    block
}

fn select(options: Value, initial: Option<Value>) -> Value {
    let mut element = json!({ "type": "static_select", "action_id": "value" });
    match options {
        Value::Array(options) => element["options"] = Value::Array(options),
        groups => element["option_groups"] = groups,
    }
    if let Some(initial) = initial {
        element["initial_option"] = initial;
    }
    element
}

/// Named choices of every project, grouped by project (departments or request types).
fn grouped(projects: &[&ProjectRecord], names: impl Fn(&ProjectRecord) -> Vec<String>) -> Option<Value> {
    let groups: Vec<Value> = projects
        .iter()
        .filter_map(|p| {
            let options: Vec<Value> = names(p).iter().map(|n| option(n, n)).collect();
            (!options.is_empty()).then(|| json!({ "label": plain(&p.key), "options": options }))
        })
        .collect();
    (!groups.is_empty()).then_some(Value::Array(groups))
}

/// The channel preferences modal, showing `channel`'s settings (none when unbound).
pub fn channel_prefs(channel_id: &str, channel: Option<&ChannelRecord>, projects: &[&ProjectRecord]) -> Value {
    let kinds = [
        ("support", "Support channel: requests are filed here"),
        ("agent", "Agent channel: cards and internal notes"),
        ("none", "Not served by deskhand"),
    ];
    let kind = channel.map_or("support", |c| c.kind.as_str());
    let kind_options: Vec<Value> = kinds.iter().map(|(v, t)| option(v, t)).collect();
    let initial_kind = kinds.iter().find(|(v, _)| *v == kind).map(|(v, t)| option(v, t));
    let project_options: Vec<Value> = projects
        .iter()
        .map(|p| option(&p.key, &format!("{} ({})", p.name, p.key)))
        .collect();
    let initial_project = channel
        .and_then(|c| c.project_key.as_deref())
        .and_then(|key| projects.iter().find(|p| p.key == key))
        .map(|p| option(&p.key, &format!("{} ({})", p.name, p.key)));
    let mut blocks = vec![
        input(
            "kind",
            "This channel is",
            select(Value::Array(kind_options), initial_kind),
            false,
            None,
        ),
        input(
            "project",
            "Project",
            select(Value::Array(project_options), initial_project),
            true,
            Some("Where a support channel's requests go."),
        ),
    ];
    let mut agents = json!({ "type": "conversations_select", "action_id": "value",
        "filter": { "include": ["public", "private"], "exclude_bot_users": true } });
    if let Some(agent) = channel.and_then(|c| c.agent_channel.as_deref()) {
        agents["initial_conversation"] = agent.into();
    }
    blocks.push(input(
        "agent_channel",
        "Agent channel",
        agents,
        true,
        Some("Where the agents get a card per request."),
    ));
    let auto_create = option("auto_create", "File every new message as a request");
    let thread_sync = option("thread_sync", "Add thread replies to their request");
    let mut checked = Vec::new();
    if channel.is_none_or(|c| c.auto_create) {
        checked.push(auto_create.clone());
    }
    if channel.is_none_or(|c| c.thread_sync) {
        checked.push(thread_sync.clone());
    }
    let mut boxes = vec![auto_create, thread_sync];
    if channel.is_some_and(|c| c.facilitator_slack_id.is_some()) {
        boxes.push(option(
            REVOKE,
            "Revoke the facilitator (guests' messages are parked again)",
        ));
    }
    let mut checkboxes = json!({ "type": "checkboxes", "action_id": "value", "options": boxes });
    if !checked.is_empty() {
        checkboxes["initial_options"] = Value::Array(checked);
    }
    blocks.push(input("options", "Requests", checkboxes, true, None));
    let emoji = channel.map_or("ticket", |c| {
        if c.create_emoji.is_empty() {
            "ticket"
        } else {
            &c.create_emoji
        }
    });
    blocks.push(input(
        "create_emoji",
        "Creation emoji",
        json!({ "type": "plain_text_input", "action_id": "value", "initial_value": emoji }),
        true,
        Some("Adding it to a message files the message."),
    ));
    let default = |v: Option<&String>| v.map(|n| option(n, n));
    if let Some(groups) = grouped(projects, |p| p.departments()) {
        let initial = default(channel.and_then(|c| c.default_department.as_ref()));
        blocks.push(input(
            "default_department",
            "Default department",
            select(groups, initial),
            true,
            None,
        ));
    }
    if let Some(groups) = grouped(projects, |p| p.request_types()) {
        let initial = default(channel.and_then(|c| c.default_request_type.as_ref()));
        blocks.push(input(
            "default_request_type",
            "Default request type",
            select(groups, initial),
            true,
            None,
        ));
    }
    let priorities: Vec<Value> = Priority::ALL.iter().map(|p| option(p.as_str(), p.as_str())).collect();
    let initial_priority = default(channel.and_then(|c| c.default_priority.as_ref()));
    blocks.push(input(
        "default_priority",
        "Default priority",
        select(Value::Array(priorities), initial_priority),
        true,
        None,
    ));
    let mut facilitator = json!({ "type": "users_select", "action_id": "value" });
    if let Some(user) = channel.and_then(|c| c.facilitator_slack_id.as_deref()) {
        facilitator["initial_user"] = user.into();
    }
    blocks.push(input(
        "facilitator",
        "Guest facilitation: facilitator",
        facilitator,
        true,
        Some("A verified person whose account files the requests and replies of guests and people from other organizations here, on their behalf. To remove them, tick \"Revoke the facilitator\" above."),
    ));
    json!({
        "type": "modal",
        "callback_id": CHANNEL_PREFS,
        "private_metadata": channel_id,
        "title": plain("Channel preferences"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    })
}

fn errors(field: &str, message: &str) -> Value {
    json!({ "response_action": "errors", "errors": { field: message } })
}

/// Save a submitted channel preferences modal, or say in the modal what is wrong: the
/// answer to the submission.
pub async fn save(state: &AppState, payload: &Payload) -> Value {
    let Some((channel_id, values)) = payload.channel_prefs().filter(|(id, _)| is_channel_id(id)) else {
        return errors(Field::Kind.as_str(), "This form is not for a channel.");
    };
    let user = payload.user_id();
    let name = match state.store.slack_user(user).await {
        Ok(Some(record)) => record.display_name,
        _ => user.to_owned(),
    };
    let actor = Actor {
        slack_id: Some(user),
        name: &name,
        source: "slack",
    };
    let saved = match admin::is_admin(&state.store, state.directory.as_ref(), user).await {
        Ok(true) => apply(state, &channel_id, values, actor).await,
        Ok(false) => return errors("kind", "Only help-desk admins change a channel's preferences."),
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => json!({ "response_action": "clear" }),
        Err(AdminError::Refused(refusal)) => errors(field_block(refusal.field), &refusal.message),
        Err(AdminError::Store(e)) => {
            tracing::error!(error = %e, "could not save channel preferences");
            errors("kind", "Saving failed; try again.")
        }
        Err(e) => errors("kind", &e.to_string()),
    }
}

/// The modal's block a refusal about `field` is shown under.
fn field_block(field: Field) -> &'static str {
    match field {
        Field::Project
        | Field::AgentChannel
        | Field::DefaultDepartment
        | Field::DefaultRequestType
        | Field::DefaultPriority
        | Field::Facilitator
        | Field::CreateEmoji => field.as_str(),
        // The modal has one emoji field: the others keep their values, so only it can be wrong.
        Field::AssignEmoji | Field::ResolveEmoji => Field::CreateEmoji.as_str(),
        _ => Field::Kind.as_str(),
    }
}

/// What the modal holds, by field: text, chosen option, user, conversation or boxes.
pub struct PrefValues {
    pub kind: Option<String>,
    pub project: Option<String>,
    pub agent_channel: Option<String>,
    pub options: Vec<String>,
    pub create_emoji: Option<String>,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<String>,
    pub facilitator: Option<String>,
}

async fn apply(state: &AppState, channel_id: &str, values: PrefValues, actor: Actor<'_>) -> Result<(), AdminError> {
    let before = state.store.channel(channel_id).await?;
    let kind = values.kind.unwrap_or_else(|| "support".into());
    if kind == "none" {
        if before.is_some() {
            channels::unbind(&state.store, actor, channel_id).await?;
        }
        return Ok(());
    }
    let current = before.as_ref().and_then(|c| c.facilitator_slack_id.clone());
    let support = ChannelKind::parse(&kind) == Some(ChannelKind::Support);
    let revoke = values.options.iter().any(|o| o == REVOKE);
    let facilitator = match (values.facilitator.filter(|_| support && !revoke), current) {
        (Some(user), current) if Some(&user) != current.as_ref() => FacilitatorChange::Authorize(user),
        (None, Some(_)) if support => FacilitatorChange::Revoke,
        _ => FacilitatorChange::Keep,
    };
    let kept = |emoji: Option<String>| emoji.filter(|e| !e.is_empty());
    // An agent channel takes none of a support channel's settings: those still chosen in
    // the modal (Slack's menus cannot be emptied) are left out.
    let request = ChannelRequest {
        kind,
        project: values.project.filter(|_| support),
        agent_channel: values.agent_channel.filter(|_| support),
        auto_create: values.options.iter().any(|o| o == "auto_create"),
        thread_sync: values.options.iter().any(|o| o == "thread_sync"),
        announcement_marker: before.as_ref().map(|c| c.announcement_marker.clone()),
        create_emoji: values.create_emoji,
        assign_emoji: kept(before.as_ref().map(|c| c.assign_emoji.clone())),
        resolve_emoji: kept(before.as_ref().map(|c| c.resolve_emoji.clone())),
        default_department: values.default_department.filter(|_| support),
        default_request_type: values.default_request_type.filter(|_| support),
        default_priority: values.default_priority.filter(|_| support),
    };
    let directory = state.directory.as_ref();
    channels::save(&state.store, directory, actor, channel_id, request, facilitator).await?;
    Ok(())
}
