//! The desk: what deskhand decides. Plain data and plain functions over it: no HTTP, no
//! SQL, no Slack client. The edges translate the outside world into these types, and the
//! worker carries out what the rules return.

pub mod commands;
pub mod config;
pub mod customers;
pub mod effects;
pub mod forms;
pub mod identity;
pub mod jira;
pub mod participants;
pub mod portal;
pub mod project;
pub mod reports;
pub mod requests;
pub mod roles;
pub mod rules;
pub mod settings;
pub mod workflow;

use std::fmt;

/// A project's key prefix (`IT` in `IT-42`): 2–10 upper-case letters or digits, starting
/// with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a project key is 2 to 10 upper-case letters or digits, starting with a letter")]
pub struct InvalidProjectKey;

impl ProjectKey {
    pub fn parse(s: &str) -> Result<Self, InvalidProjectKey> {
        let ok = (2..=10).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        ok.then(|| Self(s.to_owned())).ok_or(InvalidProjectKey)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    /// A priority by its name, whatever its case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "Low",
            Priority::Normal => "Normal",
            Priority::High => "High",
            Priority::Urgent => "Urgent",
        }
    }
}

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ChannelMessage,
    Emoji,
    /// The "Create ticket" message shortcut.
    Shortcut,
    /// The request form ("New request", `/desk new`).
    Form,
    /// `@deskhand` in a message.
    Mention,
    DirectMessage,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::ChannelMessage => "channel message",
            Source::Emoji => "emoji",
            Source::Shortcut => "shortcut",
            Source::Form => "form",
            Source::Mention => "mention",
            Source::DirectMessage => "DM",
        }
    }

    pub const ALL: [Source; 6] = [
        Source::ChannelMessage,
        Source::Emoji,
        Source::Shortcut,
        Source::Form,
        Source::Mention,
        Source::DirectMessage,
    ];

    /// A source by the name it is stored and shown with.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == s)
    }
}

impl serde::Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a comment is for the requester too, or for agents only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file shared in a message: deskhand keeps its metadata and permalink only (the
/// fields are Slack's own names for them).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SharedFile {
    pub id: String,
    pub name: Option<String>,
    pub title: Option<String>,
    pub mimetype: Option<String>,
    pub size: Option<i64>,
    pub permalink: Option<String>,
}

/// The longest summary a ticket gets from its message's first line, in characters.
pub const SUMMARY_MAX_CHARS: usize = 150;

/// A ticket's summary: the first non-blank line of its text, trimmed and shortened to
/// [`SUMMARY_MAX_CHARS`], or a placeholder when the message had only files.
pub fn summary_from(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.is_empty() {
        return "(no text)".to_owned();
    }
    match line.char_indices().nth(SUMMARY_MAX_CHARS - 1) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_first_non_blank_line() {
        assert_eq!(summary_from("\n  VPN is down  \nsince 9am"), "VPN is down");
        assert_eq!(summary_from("   "), "(no text)");
    }

    #[test]
    fn a_long_first_line_is_shortened_on_a_character_boundary() {
        let long = "é".repeat(400);
        let summary = summary_from(&long);
        assert_eq!(summary.chars().count(), SUMMARY_MAX_CHARS);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn sources_and_priorities_read_back_what_they_write() {
        for source in Source::ALL {
            assert_eq!(Source::parse(source.as_str()), Some(source));
        }
        assert_eq!(Source::parse("carrier pigeon"), None);
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(&priority.to_string()), Some(priority));
        }
    }

    #[test]
    fn project_keys_are_validated() {
        assert!(ProjectKey::parse("IT").is_ok());
        assert!(ProjectKey::parse("HR2").is_ok());
        for bad in ["", "I", "it", "2IT", "IT-1", "ABCDEFGHIJK"] {
            assert_eq!(ProjectKey::parse(bad), Err(InvalidProjectKey), "{bad}");
        }
    }
}
