//! What an inbox row says: Slack's payloads (decoded by the Slack edge), what the portal
//! stores there for the worker (a requester's Close, or reply), and how a row is told of when it is
//! set aside.

use crate::desk::effects::Effect;
use crate::slack::events::{Command, DecodeError};
use crate::store::ChannelRecord;

/// An inbox row as a command: Slack's payloads, and a requester's Close on the portal.
pub(super) fn decode(dedupe_key: &str, body: &str) -> Result<Command, DecodeError> {
    use crate::desk::portal::{CLOSE_KEY_PREFIX, REPLY_KEY_PREFIX};
    if dedupe_key.starts_with(crate::jira::webhook::JIRA_KEY_PREFIX) {
        return match crate::jira::webhook::decode(body) {
            Ok((project, Some(event))) => Ok(Command::Jira { project, event }),
            Ok((_, None)) => Ok(Command::Ignored {
                what: "a Jira event deskhand does not act on".into(),
            }),
            Err(e) => Err(DecodeError::Jira(e.to_string())),
        };
    }
    let close = dedupe_key.starts_with(CLOSE_KEY_PREFIX);
    if !close && !dedupe_key.starts_with(REPLY_KEY_PREFIX) {
        return crate::slack::events::decode(dedupe_key, body);
    }
    #[derive(serde::Deserialize)]
    struct FromPortal {
        user: String,
        ticket: String,
        #[serde(default)]
        text: String,
    }
    let asked: FromPortal = serde_json::from_str(body)?;
    if !crate::slack::shapes::is_id(&asked.user) {
        return Err(DecodeError::Shape("user"));
    }
    Ok(if close {
        Command::Close(crate::slack::interactions::CloseRequest {
            user: asked.user,
            ticket_key: asked.ticket,
            channel: None,
            response_url: None,
            via_portal: true,
        })
    } else {
        Command::PortalReply(crate::slack::actions::TicketText {
            view_id: dedupe_key.to_owned(),
            user: asked.user,
            ticket_key: asked.ticket,
            text: asked.text,
        })
    })
}

/// Log lines show at most this much of an event's body.
const LOGGED_BODY_CHARS: usize = 300;

/// The start of `text`, for a log line: one bad event must not write megabytes of log.
pub(super) fn clip(text: &str) -> String {
    match text.char_indices().nth(LOGGED_BODY_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// What the agents of a person's message's support channel are told when it is set aside.
pub(super) fn set_aside_report<'c>(
    command: &Command,
    channel_of: impl Fn(&str) -> Option<&'c ChannelRecord>,
    error: &str,
) -> Option<Effect> {
    let (Command::Posted(m) | Command::Mentioned(m)) = command else {
        return None;
    };
    let support = channel_of(&m.channel).filter(|c| c.is_support())?;
    Some(Effect::ReportSetAside {
        agent_channel: support.agent_channel.clone()?,
        channel: m.channel.clone(),
        user: m.user.clone().filter(|_| !m.from_bot)?,
        text: m.text.clone(),
        error: error.to_owned(),
    })
}
