//! What a batch must know before its transaction opens: who people are (`users.info`), the
//! messages an emoji or a mention files and their threads, who the agents are, and the
//! projects. Everything that may call Slack happens here, so no Slack call ever holds a
//! database lock; an event whose facts cannot be had right now waits, and so does every
//! later event of its order key.

use std::collections::{HashMap, HashSet};

use crate::desk::roles::Roles;
use crate::desk::settings::Settings;
use crate::slack::api::FetchedMessage;
use crate::store::{ChannelMessage, ChannelRecord, ProjectRecord, SlackUserRecord};

/// What one event needs looked up.
#[derive(Debug, Default)]
pub struct Needs {
    pub users: Vec<String>,
    /// A message (channel, ts) to read, and whether its thread is wanted too.
    pub message: Option<(String, String, bool)>,
    pub agents: bool,
    pub projects: bool,
}

/// Everything looked up for a batch.
#[derive(Default)]
pub struct Lookups {
    pub users: HashMap<String, SlackUserRecord>,
    pub unavailable_users: HashSet<String>,
    /// Messages by (channel, ts).
    pub messages: HashMap<(String, String), ChannelMessage>,
    /// Threads by (channel, parent ts): parent and replies, oldest first.
    pub threads: HashMap<(String, String), Vec<ChannelMessage>>,
    pub unavailable_messages: HashSet<(String, String)>,
    /// Messages read from Slack that belong to support channels: kept like received ones.
    pub fetched: Vec<ChannelMessage>,
    /// Members of the agent channels; `None` when not needed or not known right now.
    pub agents: Option<HashSet<String>>,
    pub agents_unavailable: bool,
    pub projects: HashMap<String, ProjectRecord>,
    /// The workspace's settings (the default project, the workspace's facilitator).
    pub settings: Settings,
    /// The admins' settings about people, from `settings`.
    pub roles: Roles,
    /// Every department's managers (agents too), with the projects.
    pub managers: HashSet<String>,
}

pub fn served(channels: &HashMap<String, Option<ChannelRecord>>, channel: &str) -> bool {
    channels.get(channel).is_some_and(Option::is_some)
}

/// A support channel's own facilitator.
pub fn facilitator(channels: &HashMap<String, Option<ChannelRecord>>, channel: &str) -> Option<String> {
    channels
        .get(channel)
        .and_then(Option::as_ref)
        .and_then(|c| c.facilitator_slack_id.clone())
}

impl Lookups {
    /// Whether an event must wait: something it needs could not be looked up.
    pub fn waits(&self, needs: &Needs) -> bool {
        needs.users.iter().any(|u| self.unavailable_users.contains(u))
            || needs
                .message
                .as_ref()
                .is_some_and(|(c, t, _)| self.unavailable_messages.contains(&(c.clone(), t.clone())))
            || (needs.agents && self.agents_unavailable)
    }

    /// Whether someone is an agent: a member of an agent channel, or named in the settings.
    pub fn is_agent(&self, user: &str) -> bool {
        let in_agent_channel = self.agents.as_ref().is_some_and(|agents| agents.contains(user));
        self.roles
            .is_agent(user, in_agent_channel || self.managers.contains(user))
    }

    /// Whether someone may set a request's priority: admins, and agents when the admins
    /// allow it.
    pub fn may_set_priority(&self, user: &SlackUserRecord) -> bool {
        self.roles
            .may_set_priority(self.is_admin(user), self.is_agent(&user.slack_user_id))
    }

    /// Whether someone is a deskhand admin: a workspace owner or admin, or named in the
    /// settings.
    pub fn is_admin(&self, user: &SlackUserRecord) -> bool {
        self.roles.is_admin(&user.slack_user_id, user.is_admin)
    }

    /// The thread a kept message is in, when it is a reply and its thread is known.
    pub fn thread_of(&self, message: &ChannelMessage) -> Option<&[ChannelMessage]> {
        let parent = message.thread_ts.as_deref().filter(|_| message.is_reply())?;
        self.threads
            .get(&(message.channel_id.clone(), parent.to_owned()))
            .map(Vec::as_slice)
    }

    /// Remember a message (and its thread) read from the store or from Slack.
    pub fn learn(&mut self, channel: &str, ts: &str, thread: Vec<ChannelMessage>, keep: bool) {
        if let Some(message) = thread.iter().find(|m| m.ts == ts) {
            self.messages
                .insert((channel.to_owned(), ts.to_owned()), message.clone());
            if let Some(parent) = message.thread_ts.clone().filter(|_| message.is_reply()) {
                if thread.iter().any(|m| m.ts == parent) {
                    self.threads.insert((channel.to_owned(), parent), thread.clone());
                }
            }
        }
        if keep {
            self.fetched.extend(thread);
        }
    }

    /// The authors of the messages and threads learned, to look up.
    pub fn authors(&self) -> Vec<String> {
        let mut authors: Vec<String> = self
            .messages
            .values()
            .chain(self.threads.values().flatten())
            .filter_map(|m| m.user_id.clone())
            .collect();
        authors.sort();
        authors.dedup();
        authors
    }
}

/// A message read back from Slack, as deskhand keeps messages.
pub fn kept(channel: &str, message: FetchedMessage) -> ChannelMessage {
    ChannelMessage {
        channel_id: channel.to_owned(),
        ts: message.ts,
        thread_ts: message.thread_ts,
        user_id: message.user.filter(|_| message.bot_id.is_none()),
        text: message.text,
        files: serde_json::to_string(&message.files).unwrap_or_else(|_| "[]".into()),
        deleted: false,
    }
}
