//! Events API payloads, as Slack really sends them, and their translation into the
//! commands the worker understands.
//!
//! Two views of one body: [`IngressEnvelope`] reads only what the acknowledgement needs
//! (type, event id, channel); [`decode`] reads the whole event later, in the worker.
//! These types are our own rather than slack-morphism's push-event models because those
//! file a known event with an unexpected shape under `Unknown` (the real `message_changed`
//! has no inner `ts`); here every field we rely on is optional where Slack leaves it out.

use std::borrow::Cow;

use serde::Deserialize;

use super::shapes;
use crate::desk::SharedFile;

/// What ingress reads from an Events API body.
#[derive(Debug, Deserialize)]
pub struct IngressEnvelope<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub challenge: Option<String>,
    #[serde(borrow)]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub event: Option<IngressEvent<'a>>,
    #[serde(borrow, default)]
    pub team_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub enterprise_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub is_enterprise_install: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct IngressEvent<'a> {
    #[serde(borrow)]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub item: Option<IngressItem<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct IngressItem<'a> {
    #[serde(borrow)]
    pub channel: Option<Cow<'a, str>>,
}

impl IngressEnvelope<'_> {
    /// The installation whose token handles the event (see [`shapes::installation`]).
    pub fn installation(&self) -> Result<Option<String>, &'static str> {
        shapes::installation(
            self.team_id.as_deref(),
            self.enterprise_id.as_deref(),
            self.is_enterprise_install.unwrap_or(false),
        )
    }

    /// The key that keeps one conversation's events in order: the channel, when the event
    /// has one.
    pub fn order_key(&self) -> String {
        let event = self.event.as_ref();
        event
            .and_then(|e| {
                e.channel
                    .as_deref()
                    .or_else(|| e.item.as_ref().and_then(|i| i.channel.as_deref()))
            })
            .filter(|channel| shapes::is_id(channel))
            .unwrap_or("-")
            .to_owned()
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: RawEvent,
}

#[derive(Debug, Deserialize)]
struct RevokedTokens {
    #[serde(default)]
    bot: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    channel: Option<String>,
    channel_type: Option<String>,
    user: Option<String>,
    reaction: Option<String>,
    item: Option<ReactionItem>,
    tab: Option<String>,
    bot_id: Option<String>,
    /// `tokens_revoked`: which tokens (by user id) no longer work.
    tokens: Option<RevokedTokens>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    #[serde(default)]
    files: Vec<SharedFile>,
    message: Option<InnerMessage>,
    previous_message: Option<InnerMessage>,
    deleted_ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReactionItem {
    #[serde(rename = "type")]
    kind: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InnerMessage {
    bot_id: Option<String>,
    subtype: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    #[serde(default)]
    files: Vec<SharedFile>,
}

/// A message someone wrote (or a bot posted).
#[derive(Debug, Clone, PartialEq)]
pub struct PostedMessage {
    pub channel: String,
    pub user: Option<String>,
    pub from_bot: bool,
    pub text: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub files: Vec<SharedFile>,
    /// Written in a direct message with deskhand.
    pub in_dm: bool,
}

impl PostedMessage {
    /// A reply inside a thread (not the thread's parent).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_deref().is_some_and(|t| t != self.ts)
    }
}

/// What an event, an interaction or a command asks of the desk.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Posted(PostedMessage),
    /// `@deskhand` in a message: file it (or its thread).
    Mentioned(PostedMessage),
    /// An emoji added to a message.
    Reacted {
        channel: String,
        ts: String,
        user: String,
        reaction: String,
    },
    /// Someone opened deskhand's Home tab.
    HomeOpened {
        user: String,
    },
    /// Open the request form: a shortcut or `/desk new`.
    OpenForm(super::interactions::FormRequest),
    /// `/desk …` other than `new`.
    Desk(super::interactions::DeskRequest),
    /// The request form, submitted (and already checked).
    Submitted(super::interactions::Submission),
    /// A requester's "Close" button.
    Close(super::interactions::CloseRequest),
    /// An agent's "Reply to requester" button on a card: open the reply modal.
    OpenReply(super::interactions::ReplyRequest),
    /// An agent's public reply, submitted.
    PublicReply(super::interactions::PublicReply),
    /// A card's triage action (or the queue's "Take").
    Card(super::actions::CardRequest),
    /// An internal note, written in its modal.
    Note(super::actions::TicketText),
    /// A requester answered on the portal (already a comment): as a reply in Slack does,
    /// it tells the card and resumes a request that waited for them.
    PortalReply(super::actions::TicketText),
    /// An agent adds a participant from the card.
    AddParticipant(super::actions::ParticipantSubmission),
    /// An approver's Approve or Decline.
    Decide(super::actions::DecisionRequest),
    /// Why an approver declines, written in its modal.
    Declined(super::actions::TicketText),
    /// A requester's "Rate": open the survey.
    OpenSurvey(super::actions::SurveyRequest),
    /// A survey, answered.
    Rated(super::actions::SurveyAnswer),
    Edited {
        channel: String,
        ts: String,
        text: String,
        from_bot: bool,
        files: Vec<SharedFile>,
    },
    Deleted {
        channel: String,
        ts: String,
    },
    /// deskhand was uninstalled from the event's workspace, or its bot token revoked: its
    /// token is gone, and nothing more is sent there.
    Uninstalled {
        because: &'static str,
    },
    /// A change Jira told of, for a project connected to it (signed with its secret).
    Jira {
        project: String,
        event: crate::desk::jira::JiraEvent,
    },
    /// Nothing for the desk: an event or subtype deskhand does not act on.
    Ignored {
        what: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not an Events API envelope: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a {0} event without {1}")]
    Missing(&'static str, &'static str),
    #[error("not a slash command: {0}")]
    Form(String),
    /// A stored Jira change that cannot be read.
    #[error("{0}")]
    Jira(String),
    /// A field that is not shaped as Slack shapes it (an id that is not an id…).
    #[error("{0} is not shaped as Slack sends it")]
    Shape(&'static str),
}

/// Subtypes that are a person's message like any other.
const MESSAGE_SUBTYPES: &[&str] = &["file_share", "thread_broadcast", "me_message"];

/// Read a stored inbox row into a [`Command`]: its dedupe key says what the body is (an
/// Events API envelope, an interaction or a slash command).
pub fn decode(dedupe_key: &str, body: &str) -> Result<Command, DecodeError> {
    let body = shapes::clean_escapes(body);
    let command = if dedupe_key.starts_with(super::interactions::INTERACTION_KEY_PREFIX) {
        super::interactions::decode_interaction(&body)?
    } else if dedupe_key.starts_with(super::interactions::COMMAND_KEY_PREFIX) {
        super::interactions::decode_command(&body)?
    } else {
        decode_event(&body)?
    };
    checked(command)
}

/// A command whose ids and timestamps have Slack's shapes; anything else is set aside
/// before it reaches a lookup.
fn checked(command: Command) -> Result<Command, DecodeError> {
    let id = |field: &'static str, value: &str| shapes::is_id(value).then_some(()).ok_or(DecodeError::Shape(field));
    let ts = |field: &'static str, value: &str| shapes::is_ts(value).then_some(()).ok_or(DecodeError::Shape(field));
    match &command {
        Command::Posted(m) | Command::Mentioned(m) => {
            id("channel", &m.channel)?;
            ts("ts", &m.ts)?;
            if let Some(thread_ts) = &m.thread_ts {
                ts("thread_ts", thread_ts)?;
            }
            if let Some(user) = &m.user {
                id("user", user)?;
            }
        }
        Command::Reacted {
            channel,
            ts: at,
            user,
            reaction,
        } => {
            id("item.channel", channel)?;
            ts("item.ts", at)?;
            id("user", user)?;
            if reaction.len() > 100 {
                return Err(DecodeError::Shape("reaction"));
            }
        }
        Command::Edited { channel, ts: at, .. } | Command::Deleted { channel, ts: at } => {
            id("channel", channel)?;
            ts("ts", at)?;
        }
        Command::HomeOpened { user } => id("user", user)?,
        Command::OpenForm(request) => {
            id("user", &request.user)?;
            if let Some(message) = &request.message {
                id("channel", &message.channel)?;
                ts("message.ts", &message.ts)?;
            }
        }
        Command::Desk(request) => {
            id("user_id", &request.user)?;
            if !request.channel.is_empty() {
                id("channel_id", &request.channel)?;
            }
        }
        Command::Submitted(submission) => id("user", &submission.user)?,
        Command::Close(request) => id("user", &request.user)?,
        Command::OpenReply(request) => id("user", &request.user)?,
        Command::PublicReply(reply) => id("user", &reply.user)?,
        Command::Card(request) => {
            id("user", &request.user)?;
            if let super::actions::CardChange::AssignTo(assignee) = &request.change {
                id("selected_user", assignee)?;
            }
        }
        Command::Decide(request) => id("user", &request.user)?,
        Command::OpenSurvey(request) => id("user", &request.user)?,
        Command::Note(text) | Command::Declined(text) | Command::PortalReply(text) => id("user", &text.user)?,
        Command::AddParticipant(added) => id("user", &added.user)?,
        Command::Rated(answer) => id("user", &answer.user)?,
        Command::Ignored { .. } | Command::Uninstalled { .. } | Command::Jira { .. } => {}
    }
    Ok(command)
}

/// Read a stored Events API envelope into a [`Command`].
pub fn decode_event(body: &str) -> Result<Command, DecodeError> {
    let Envelope { event } = serde_json::from_str(body)?;
    match event.kind.as_str() {
        "message" => {}
        "app_mention" => {
            return Ok(Command::Mentioned(PostedMessage {
                channel: event.channel.ok_or(DecodeError::Missing("app_mention", "channel"))?,
                user: event.user,
                from_bot: event.bot_id.is_some(),
                text: event.text.unwrap_or_default(),
                ts: event.ts.ok_or(DecodeError::Missing("app_mention", "ts"))?,
                thread_ts: event.thread_ts,
                files: event.files,
                in_dm: false,
            }))
        }
        "reaction_added" => {
            let item = event.item.ok_or(DecodeError::Missing("reaction_added", "item"))?;
            if item.kind.as_deref().is_some_and(|k| k != "message") {
                return Ok(Command::Ignored {
                    what: "reaction_added/file".into(),
                });
            }
            return Ok(Command::Reacted {
                channel: item
                    .channel
                    .ok_or(DecodeError::Missing("reaction_added", "item.channel"))?,
                ts: item.ts.ok_or(DecodeError::Missing("reaction_added", "item.ts"))?,
                user: event.user.ok_or(DecodeError::Missing("reaction_added", "user"))?,
                reaction: event
                    .reaction
                    .ok_or(DecodeError::Missing("reaction_added", "reaction"))?,
            });
        }
        "app_uninstalled" => {
            return Ok(Command::Uninstalled {
                because: "deskhand was uninstalled from the workspace",
            })
        }
        "tokens_revoked" if event.tokens.is_some_and(|t| !t.bot.is_empty()) => {
            return Ok(Command::Uninstalled {
                because: "deskhand's bot token was revoked",
            })
        }
        "app_home_opened" if event.tab.as_deref() != Some("messages") => {
            return Ok(Command::HomeOpened {
                user: event.user.ok_or(DecodeError::Missing("app_home_opened", "user"))?,
            })
        }
        other => return Ok(Command::Ignored { what: other.to_owned() }),
    }
    let channel = event.channel.ok_or(DecodeError::Missing("message", "channel"))?;
    match event.subtype.as_deref() {
        None | Some("bot_message") => {}
        Some(s) if MESSAGE_SUBTYPES.contains(&s) => {}
        Some("message_changed") => {
            let message = event
                .message
                .ok_or(DecodeError::Missing("message_changed", "message"))?;
            // The real payload's inner message may lack `ts`: the previous one has it.
            let ts = message
                .ts
                .or_else(|| event.previous_message.and_then(|p| p.ts))
                .ok_or(DecodeError::Missing("message_changed", "ts"))?;
            return Ok(Command::Edited {
                channel,
                ts,
                text: message.text.unwrap_or_default(),
                from_bot: message.bot_id.is_some() || message.subtype.as_deref() == Some("bot_message"),
                files: message.files,
            });
        }
        Some("message_deleted") => {
            let ts = event
                .deleted_ts
                .or_else(|| event.previous_message.and_then(|p| p.ts))
                .ok_or(DecodeError::Missing("message_deleted", "deleted_ts"))?;
            return Ok(Command::Deleted { channel, ts });
        }
        Some(other) => {
            return Ok(Command::Ignored {
                what: format!("message/{other}"),
            })
        }
    }
    let from_bot = event.bot_id.is_some() || event.subtype.as_deref() == Some("bot_message");
    let ts = event.ts.ok_or(DecodeError::Missing("message", "ts"))?;
    Ok(Command::Posted(PostedMessage {
        in_dm: event.channel_type.as_deref() == Some("im"),
        channel,
        user: event.user,
        from_bot,
        text: event.text.unwrap_or_default(),
        ts,
        thread_ts: event.thread_ts,
        files: event.files,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::slack::fixture;

    #[test]
    fn the_real_message_changed_payload_is_an_edit_of_the_previous_ts() {
        let command = decode_event(&fixture("message-changed.json")).unwrap();
        assert_eq!(
            command,
            Command::Edited {
                channel: "C111".into(),
                ts: "1665102338.901939".into(),
                text: "updated message".into(),
                from_bot: false,
                files: vec![],
            }
        );
    }

    #[test]
    fn the_real_message_deleted_payload_names_the_deleted_ts() {
        let command = decode_event(&fixture("message-deleted.json")).unwrap();
        assert_eq!(
            command,
            Command::Deleted {
                channel: "C111".into(),
                ts: "1665368619.804829".into()
            }
        );
    }

    #[test]
    fn a_file_share_is_a_message_with_its_files() {
        let Command::Posted(message) = decode_event(&fixture("message-file-share.json")).unwrap() else {
            panic!("not a message")
        };
        assert_eq!(message.text, "Hi there!");
        assert_eq!(message.files.len(), 1);
        assert_eq!(message.files[0].name.as_deref(), Some("file.png"));
        assert_eq!(message.files[0].size, Some(92582));
        assert_eq!(
            message.files[0].permalink.as_deref(),
            Some("https://xxx.slack.com/files/U111/F111/file.png")
        );
    }

    #[test]
    fn unknown_events_and_subtypes_are_ignored_not_errors() {
        let join = r#"{"event":{"type":"message","subtype":"channel_join","channel":"C1","ts":"1.1"}}"#;
        let pin = r#"{"event":{"type":"pin_added","channel_id":"C1"}}"#;
        assert_eq!(
            decode_event(join).unwrap(),
            Command::Ignored {
                what: "message/channel_join".into()
            }
        );
        assert_eq!(
            decode_event(pin).unwrap(),
            Command::Ignored {
                what: "pin_added".into()
            }
        );
    }
}
