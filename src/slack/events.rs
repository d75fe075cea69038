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
            .unwrap_or("-")
            .to_owned()
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: RawEvent,
}

#[derive(Debug, Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    subtype: Option<String>,
    channel: Option<String>,
    user: Option<String>,
    bot_id: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    thread_ts: Option<String>,
    #[serde(default)]
    files: Vec<SlackFile>,
    message: Option<InnerMessage>,
    previous_message: Option<InnerMessage>,
    deleted_ts: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InnerMessage {
    bot_id: Option<String>,
    subtype: Option<String>,
    text: Option<String>,
    ts: Option<String>,
    #[serde(default)]
    files: Vec<SlackFile>,
}

/// A file shared in a message: deskhand keeps its metadata and permalink only.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SlackFile {
    pub id: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub mimetype: Option<String>,
    pub size: Option<i64>,
    pub permalink: Option<String>,
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
    pub files: Vec<SlackFile>,
}

/// What an event asks of the desk.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Posted(PostedMessage),
    Edited {
        channel: String,
        ts: String,
        text: String,
        from_bot: bool,
        files: Vec<SlackFile>,
    },
    Deleted {
        channel: String,
        ts: String,
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
}

/// Subtypes that are a person's message like any other.
const MESSAGE_SUBTYPES: &[&str] = &["file_share", "thread_broadcast", "me_message"];

/// Read a stored Events API body into a [`Command`].
pub fn decode(body: &str) -> Result<Command, DecodeError> {
    let Envelope { event } = serde_json::from_str(body)?;
    if event.kind != "message" {
        return Ok(Command::Ignored { what: event.kind });
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

    fn fixture(name: &str) -> String {
        let path = format!("{}/../shared/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_real_message_changed_payload_is_an_edit_of_the_previous_ts() {
        let command = decode(&fixture("message-changed.json")).unwrap();
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
        let command = decode(&fixture("message-deleted.json")).unwrap();
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
        let Command::Posted(message) = decode(&fixture("message-file-share.json")).unwrap() else {
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
            decode(join).unwrap(),
            Command::Ignored {
                what: "message/channel_join".into()
            }
        );
        assert_eq!(
            decode(pin).unwrap(),
            Command::Ignored {
                what: "pin_added".into()
            }
        );
    }
}
