//! Interactivity payloads (shortcuts, modal submissions, buttons) and slash commands, as
//! Slack sends them (<https://api.slack.com/interactivity/handling#payloads>,
//! <https://api.slack.com/interactivity/slash-commands#app_command_handling>), and their
//! translation into the commands the worker understands.
//!
//! Ingress stores an interaction's `payload` JSON as it came, and a slash command's form
//! fields as a JSON object; the dedupe key's prefix says which it is.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{Command, DecodeError};
use crate::desk::commands::DeskCommand;
use crate::desk::forms::{self, RequestForm};

pub const INTERACTION_KEY_PREFIX: &str = "interaction:";
pub const COMMAND_KEY_PREFIX: &str = "command:";

/// The message shortcut "Create ticket" (as in `slack-manifest.yaml`).
pub const CREATE_TICKET: &str = "create_ticket";
/// The global shortcut "New request" (as in `slack-manifest.yaml`).
pub const NEW_REQUEST: &str = "new_request";
/// The request form's modal.
pub const REQUEST_FORM: &str = "request_form";
/// The "Close" button on a requester's thread reply.
pub const CLOSE_REQUEST: &str = "close_request";
/// The "Reply to requester" button on an agent card.
pub const REPLY_PUBLICLY: &str = "reply_publicly";
/// The modal of an agent's public reply.
pub const PUBLIC_REPLY: &str = "public_reply";
/// Its one field.
pub const REPLY_FIELD: &str = "reply";
/// The block id prefix of a card's actions; the ticket's key follows.
pub const TICKET_ACTIONS: &str = "ticket:";
/// The channel preferences modal (`/desk admin`).
pub const CHANNEL_PREFS: &str = "channel_prefs";

#[derive(Debug, Clone, Default, Deserialize)]
struct Id {
    #[serde(default)]
    id: String,
}

/// An interactivity payload: only the fields deskhand reads, all optional.
#[derive(Debug, Default, Deserialize)]
pub struct Payload {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    callback_id: Option<String>,
    #[serde(default)]
    pub(super) trigger_id: Option<String>,
    #[serde(default)]
    user: Option<Id>,
    #[serde(default)]
    channel: Option<Id>,
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    pub(super) response_url: Option<String>,
    #[serde(default)]
    pub view: Option<WireView>,
    #[serde(default)]
    pub(super) actions: Vec<WireAction>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    team: Option<Id>,
    #[serde(default)]
    enterprise: Option<Id>,
    #[serde(default)]
    is_enterprise_install: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct WireMessage {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    ts: String,
    #[serde(default)]
    thread_ts: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WireView {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub callback_id: String,
    #[serde(default)]
    pub(super) private_metadata: String,
    #[serde(default)]
    pub(super) state: Option<ViewState>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ViewState {
    #[serde(default)]
    pub(super) values: HashMap<String, HashMap<String, Value>>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireAction {
    #[serde(default)]
    pub(super) action_id: String,
    #[serde(default)]
    pub(super) block_id: String,
    #[serde(default)]
    pub(super) value: Option<String>,
    #[serde(default)]
    pub(super) selected_option: Option<WireOption>,
    #[serde(default)]
    pub(super) selected_user: Option<String>,
    #[serde(default)]
    action_ts: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireOption {
    #[serde(default)]
    pub(super) value: String,
}

#[derive(Debug, Default, Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    message_ts: Option<String>,
}

impl Payload {
    /// The installation whose token handles the payload (see [`super::shapes::installation`]).
    pub fn installation(&self) -> Result<Option<String>, &'static str> {
        super::shapes::installation(
            self.team.as_ref().map(|t| t.id.as_str()),
            self.enterprise.as_ref().map(|e| e.id.as_str()),
            self.is_enterprise_install.unwrap_or(false),
        )
    }

    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn user_id(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.id.as_str())
    }

    /// The inbox dedupe key: one per shortcut use, button press or submitted form. `None`
    /// for what deskhand does not act on (a closed modal, a new kind of interaction).
    pub fn dedupe_key(&self) -> Option<String> {
        let key = match self.kind.as_str() {
            "shortcut" | "message_action" => format!("trigger:{}", self.trigger_id.as_deref()?),
            "block_actions" => {
                let action = self.actions.first()?;
                let id = action.action_ts.as_deref().or(self.trigger_id.as_deref())?;
                format!("action:{}:{id}", self.user_id())
            }
            "view_submission" => format!("view:{}", self.view.as_ref()?.id),
            _ => return None,
        };
        Some(format!("{INTERACTION_KEY_PREFIX}{key}"))
    }

    /// The channel preferences this payload submits, if it is them: the channel and the
    /// values, by field.
    pub fn channel_prefs(&self) -> Option<(String, super::admin::PrefValues)> {
        let view = self.view.as_ref().filter(|v| v.callback_id == CHANNEL_PREFS)?;
        if self.kind != "view_submission" {
            return None;
        }
        let values = view.state.as_ref().map(|s| &s.values);
        let field = |block: &str| -> Option<&Value> { values?.get(block)?.values().next() };
        let text = |block: &str| {
            field(block).and_then(|v| input_value(v).or_else(|| v["selected_conversation"].as_str().map(str::to_owned)))
        };
        let options = field("options")
            .and_then(|v| v["selected_options"].as_array())
            .map(|options| {
                options
                    .iter()
                    .filter_map(|o| o["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some((
            view.private_metadata.clone(),
            super::admin::PrefValues {
                kind: text("kind"),
                project: text("project"),
                agent_channel: text("agent_channel"),
                options,
                create_emoji: text("create_emoji"),
                default_department: text("default_department"),
                default_request_type: text("default_request_type"),
                default_priority: text("default_priority"),
                facilitator: text("facilitator"),
            },
        ))
    }

    /// The public reply this payload submits, if it is one: its ticket key and text.
    pub fn submitted_reply(&self) -> Option<(String, String)> {
        let view = self.view.as_ref().filter(|v| v.callback_id == PUBLIC_REPLY)?;
        let text = view
            .state
            .as_ref()
            .and_then(|s| s.values.get(REPLY_FIELD))
            .and_then(|actions| actions.values().find_map(input_value))
            .unwrap_or_default();
        (self.kind == "view_submission").then(|| (view.private_metadata.clone(), text))
    }

    /// The request form this payload submits, if it is one.
    pub fn submitted_form(&self) -> Option<(RequestForm, FormContext)> {
        let view = self.view.as_ref().filter(|v| v.callback_id == REQUEST_FORM)?;
        (self.kind == "view_submission").then(|| (read_form(view), FormContext::read(&view.private_metadata)))
    }
}

/// What the form was opened for, carried in the modal's `private_metadata` (Slack returns
/// it untouched with the submission).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormContext {
    /// The channel the form was opened from, whose requesting defaults apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The message a "Create ticket" shortcut files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ShortcutMessage>,
    /// Whether the submitter may file for anyone (an agent): the form then asks for whom.
    #[serde(default)]
    pub agent: bool,
}

impl FormContext {
    pub fn read(metadata: &str) -> Self {
        serde_json::from_str(metadata).unwrap_or_default()
    }

    pub fn write(&self) -> String {
        serde_json::to_string(self).expect("form contexts serialize")
    }
}

/// The message a "Create ticket" shortcut was used on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortcutMessage {
    pub channel: String,
    pub ts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// Its author; `None` when a bot or an app wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// Someone asked for the request form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRequest {
    pub user: String,
    pub trigger_id: String,
    /// Where it was asked from (`/desk new` in a channel, or a shortcut's message).
    pub channel: Option<String>,
    pub message: Option<ShortcutMessage>,
    /// The shortcut message's text, to start the form with.
    pub text: String,
    pub response_url: Option<String>,
}

/// `/desk …` other than `new`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskRequest {
    pub user: String,
    pub channel: String,
    pub command: DeskCommand,
    pub response_url: String,
    pub trigger_id: String,
}

/// The request form, submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub view_id: String,
    pub user: String,
    pub form: RequestForm,
    pub context: FormContext,
}

/// An agent's "Reply to requester" on a card.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyRequest {
    pub user: String,
    pub trigger_id: String,
    pub ticket_key: String,
}

/// An agent's public reply, written in its modal.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicReply {
    pub view_id: String,
    pub user: String,
    pub ticket_key: String,
    pub text: String,
}

/// A requester's "Close" on their request's thread reply.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseRequest {
    pub user: String,
    pub ticket_key: String,
    pub channel: Option<String>,
    pub response_url: Option<String>,
    /// Asked on the portal, not in Slack (audited as such).
    pub via_portal: bool,
}

/// The value a form input holds, whatever kind of input it is.
pub(super) fn input_value(value: &Value) -> Option<String> {
    let text = value["value"]
        .as_str()
        .or_else(|| value["selected_option"]["value"].as_str())
        .or_else(|| value["selected_user"].as_str())?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn read_form(view: &WireView) -> RequestForm {
    let field = |block: &str| {
        view.state
            .as_ref()
            .and_then(|s| s.values.get(block))
            .and_then(|actions| actions.values().find_map(input_value))
    };
    RequestForm {
        project: field(forms::PROJECT),
        department: field(forms::DEPARTMENT),
        request_type: field(forms::REQUEST_TYPE),
        summary: field(forms::SUMMARY).unwrap_or_default(),
        description: field(forms::DESCRIPTION).unwrap_or_default(),
        on_behalf_of: field(forms::ON_BEHALF_OF),
    }
}

/// Read a stored interaction payload.
pub fn decode_interaction(body: &str) -> Result<Command, DecodeError> {
    let payload = Payload::parse(body)?;
    let user = payload.user_id().to_owned();
    let ignored = |what: String| Ok(Command::Ignored { what });
    let agents = match payload.kind.as_str() {
        "block_actions" => super::actions::decode_action(&payload),
        "view_submission" => super::actions::decode_submission(&payload),
        _ => None,
    };
    if let Some(command) = agents {
        return Ok(command);
    }
    match (payload.kind.as_str(), payload.callback_id.as_deref()) {
        ("shortcut", Some(NEW_REQUEST)) => Ok(Command::OpenForm(FormRequest {
            user,
            trigger_id: payload.trigger_id.unwrap_or_default(),
            channel: None,
            message: None,
            text: String::new(),
            response_url: None,
        })),
        ("message_action", Some(CREATE_TICKET)) => {
            let channel = payload.channel.map(|c| c.id).unwrap_or_default();
            let message = payload.message.unwrap_or_default();
            Ok(Command::OpenForm(FormRequest {
                user,
                trigger_id: payload.trigger_id.unwrap_or_default(),
                channel: Some(channel.clone()),
                message: Some(ShortcutMessage {
                    channel,
                    ts: message.ts,
                    thread_ts: message.thread_ts,
                    author: message.user.filter(|_| message.bot_id.is_none()),
                }),
                text: message.text,
                response_url: payload.response_url,
            }))
        }
        ("view_submission", _) if payload.submitted_reply().is_some() => {
            let (ticket_key, text) = payload.submitted_reply().unwrap_or_default();
            Ok(Command::PublicReply(PublicReply {
                view_id: payload.view.map(|v| v.id).unwrap_or_default(),
                user,
                ticket_key,
                text,
            }))
        }
        ("view_submission", _) => match payload.submitted_form() {
            Some((form, context)) => Ok(Command::Submitted(Submission {
                view_id: payload.view.map(|v| v.id).unwrap_or_default(),
                user,
                form,
                context,
            })),
            None => ignored(format!(
                "view_submission/{}",
                payload.view.map(|v| v.callback_id).unwrap_or_default()
            )),
        },
        ("block_actions", _) => {
            if let Some(action) = payload.actions.iter().find(|a| a.action_id == REPLY_PUBLICLY) {
                return Ok(Command::OpenReply(ReplyRequest {
                    user,
                    trigger_id: payload.trigger_id.unwrap_or_default(),
                    ticket_key: action.value.clone().unwrap_or_default(),
                }));
            }
            let Some(action) = payload.actions.into_iter().find(|a| a.action_id == CLOSE_REQUEST) else {
                return ignored("block_actions".into());
            };
            Ok(Command::Close(CloseRequest {
                user,
                ticket_key: action.value.unwrap_or_default(),
                channel: payload
                    .container
                    .and_then(|c| c.channel_id.filter(|_| c.message_ts.is_some())),
                response_url: payload.response_url,
                via_portal: false,
            }))
        }
        (kind, callback) => ignored(format!("{kind}/{}", callback.unwrap_or("-"))),
    }
}

/// A slash command's form fields (<https://api.slack.com/interactivity/slash-commands#app_command_handling>).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlashCommand {
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    pub trigger_id: String,
    #[serde(default)]
    pub response_url: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub enterprise_id: String,
    /// `"true"` for an org-wide install on Enterprise Grid (form fields are text).
    #[serde(default)]
    pub is_enterprise_install: String,
}

impl SlashCommand {
    /// The installation whose token handles the command (see [`shapes::installation`]).
    pub fn installation(&self) -> Result<Option<String>, &'static str> {
        super::shapes::installation(
            Some(&self.team_id),
            Some(&self.enterprise_id),
            self.is_enterprise_install == "true",
        )
    }

    /// Read the form-encoded body Slack posts.
    pub fn from_form(body: &str) -> Result<Self, String> {
        let mut fields = serde_json::Map::new();
        for (k, v) in form_urlencoded::parse(body.as_bytes()) {
            fields.insert(k.into_owned(), Value::String(v.into_owned()));
        }
        serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
    }

    pub fn dedupe_key(&self) -> String {
        format!("{COMMAND_KEY_PREFIX}{}", self.trigger_id)
    }
}

/// Read a stored slash command.
pub fn decode_command(body: &str) -> Result<Command, DecodeError> {
    let command: SlashCommand = serde_json::from_str(body)?;
    Ok(match DeskCommand::parse(&command.text) {
        DeskCommand::New => Command::OpenForm(FormRequest {
            user: command.user_id,
            trigger_id: command.trigger_id,
            channel: Some(command.channel_id).filter(|c| !c.is_empty()),
            message: None,
            text: String::new(),
            response_url: Some(command.response_url).filter(|u| !u.is_empty()),
        }),
        desk => Command::Desk(DeskRequest {
            user: command.user_id,
            channel: command.channel_id,
            command: desk,
            response_url: command.response_url,
            trigger_id: command.trigger_id,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::slack::fixture;

    #[test]
    fn the_real_payloads_have_keys_and_unknown_callbacks_are_ignored() {
        for (name, key) in [
            ("global-shortcut.json", "interaction:trigger:111.111.xxxxxx"),
            ("message-shortcut.json", "interaction:trigger:111.222.xxx"),
            ("block-actions.json", "interaction:action:W111:1596530385.194939"),
            ("view-submission.json", "interaction:view:V111"),
            ("view-submission-response-url.json", "interaction:view:V111"),
            ("view-submission-connect-channel.json", "interaction:view:V11111"),
        ] {
            let body = fixture(name);
            let payload = Payload::parse(&body).unwrap();
            assert_eq!(payload.dedupe_key().as_deref(), Some(key), "{name}");
            assert!(
                matches!(decode_interaction(&body).unwrap(), Command::Ignored { .. }),
                "{name}: its callback is not deskhand's"
            );
        }
    }

    #[test]
    fn a_message_shortcut_opens_the_form_for_its_message() {
        let body = fixture("message-shortcut.json").replace("test-shortcut", CREATE_TICKET);
        let Command::OpenForm(request) = decode_interaction(&body).unwrap() else {
            panic!("not a form request")
        };
        assert_eq!(request.user, "W111");
        assert_eq!(request.trigger_id, "111.222.xxx");
        let message = request.message.unwrap();
        assert_eq!(
            (message.channel.as_str(), message.ts.as_str()),
            ("C111", "1583636382.000300")
        );
        assert_eq!(message.author.as_deref(), Some("W111"));
        assert_eq!(request.text, "<@W222> test");
    }

    #[test]
    fn a_submitted_form_is_read_by_field_whatever_the_input_kind() {
        let payload = serde_json::json!({
            "type": "view_submission", "user": { "id": "U1" },
            "view": {
                "id": "V9", "callback_id": REQUEST_FORM,
                "private_metadata": FormContext { channel: Some("C1".into()), message: None, agent: true }.write(),
                "state": { "values": {
                    "project": { "value": { "type": "static_select", "selected_option": { "value": "IT" } } },
                    "department": { "value": { "type": "static_select", "selected_option": null } },
                    "summary": { "value": { "type": "plain_text_input", "value": "  New laptop " } },
                    "description": { "value": { "type": "plain_text_input", "value": null } },
                    "on_behalf_of": { "value": { "type": "users_select", "selected_user": "U2" } },
                } }
            }
        });
        let Command::Submitted(submission) = decode_interaction(&payload.to_string()).unwrap() else {
            panic!("not a submission")
        };
        assert_eq!(submission.view_id, "V9");
        assert_eq!(
            submission.form,
            RequestForm {
                project: Some("IT".into()),
                department: None,
                request_type: None,
                summary: "New laptop".into(),
                description: String::new(),
                on_behalf_of: Some("U2".into()),
            }
        );
        assert!(submission.context.agent);
        assert_eq!(submission.context.channel.as_deref(), Some("C1"));
    }

    #[test]
    fn slash_commands_are_read_from_their_form() {
        let body = "command=%2Fdesk&text=status+it-7&user_id=U1&channel_id=C1&trigger_id=1.2.3&response_url=https%3A%2F%2Fhooks.slack.com%2Fx";
        let command = SlashCommand::from_form(body).unwrap();
        assert_eq!(command.dedupe_key(), "command:1.2.3");
        let Command::Desk(request) = decode_command(&serde_json::to_string(&command).unwrap()).unwrap() else {
            panic!("not /desk")
        };
        assert_eq!(request.command, DeskCommand::Status("IT-7".into()));
        assert_eq!(request.response_url, "https://hooks.slack.com/x");
        assert!(SlashCommand::from_form("text=hi").is_err());
    }
}
