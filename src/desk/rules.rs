//! What a Slack message means to the desk: a new ticket, a comment, nothing, or a message
//! to keep until its author can be helped.

pub use super::config::ChannelKind;
use super::identity::{Unverified, Verification};
use super::Visibility;

/// A support channel's announcement marker unless its admin chose another: the one teams
/// know from Jira Service Management.
pub const DEFAULT_ANNOUNCEMENT_MARKER: &str = ":megaphone:";

/// The settings of the channel a message was written in.
#[derive(Debug, Clone, Copy)]
pub struct ChannelRules<'a> {
    pub kind: ChannelKind,
    pub auto_create: bool,
    pub thread_sync: bool,
    /// A top-level message starting with this is an announcement, not a request.
    pub announcement_marker: &'a str,
    /// A facilitator files for people the desk cannot link (the channel's own, or the
    /// workspace's).
    pub facilitated: bool,
}

/// A message as the desk sees it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub ts: &'a str,
    pub thread_ts: Option<&'a str>,
    pub text: &'a str,
    /// Written by a bot or an app, deskhand included.
    pub from_bot: bool,
}

impl Message<'_> {
    /// A reply inside a thread (the thread's parent message is top-level).
    pub fn is_reply(&self) -> bool {
        self.thread_ts.is_some_and(|t| t != self.ts)
    }
}

/// What the thread a reply is in belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thread {
    /// Not a thread deskhand knows.
    Unknown,
    /// The thread under a ticket's original message in a support channel.
    Support { ticket_id: i64 },
    /// The thread under a ticket's card in an agent channel.
    AgentCard { ticket_id: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    FromBot,
    NotConfigured,
    AutoCreateOff,
    ThreadSyncOff,
    Announcement,
    NotATicketThread,
    AgentChannelTopLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ignore(Ignored),
    FileTicket,
    Comment {
        ticket_id: i64,
        visibility: Visibility,
    },
    /// The author cannot be helped yet: tell them why and keep the message.
    Park(Unverified),
    /// The author cannot be linked; the channel's facilitator files the request for them.
    FileThroughFacilitator(Unverified),
    /// The author cannot be linked; the facilitator adds their reply for them.
    CommentThroughFacilitator {
        ticket_id: i64,
        reason: Unverified,
    },
}

/// Decide what a new message means. `channel` is `None` for a channel deskhand does not
/// serve; `thread` says what the reply's thread belongs to.
pub fn on_message(channel: Option<&ChannelRules>, message: &Message, thread: Thread, author: &Verification) -> Outcome {
    if message.from_bot {
        return Outcome::Ignore(Ignored::FromBot);
    }
    let Some(channel) = channel else {
        return Outcome::Ignore(Ignored::NotConfigured);
    };
    let wanted = match (message.is_reply(), channel.kind, thread) {
        (false, ChannelKind::Agent, _) => return Outcome::Ignore(Ignored::AgentChannelTopLevel),
        (false, ChannelKind::Support, _) if !channel.auto_create => return Outcome::Ignore(Ignored::AutoCreateOff),
        (false, ChannelKind::Support, _) => {
            let marker = channel.announcement_marker;
            if !marker.is_empty() && message.text.trim_start().starts_with(marker) {
                return Outcome::Ignore(Ignored::Announcement);
            }
            Outcome::FileTicket
        }
        (true, ChannelKind::Support, Thread::Support { ticket_id }) if channel.thread_sync => Outcome::Comment {
            ticket_id,
            visibility: Visibility::Public,
        },
        (true, ChannelKind::Support, Thread::Support { .. }) => return Outcome::Ignore(Ignored::ThreadSyncOff),
        (true, ChannelKind::Agent, Thread::AgentCard { ticket_id }) => Outcome::Comment {
            ticket_id,
            visibility: Visibility::Internal,
        },
        (true, _, _) => return Outcome::Ignore(Ignored::NotATicketThread),
    };
    match (author, wanted) {
        (Verification::Verified { .. }, wanted) => wanted,
        (Verification::Unverified(Unverified::Bot), _) => Outcome::Ignore(Ignored::FromBot),
        // Facilitation exists only in support channels, for requests and their threads.
        (Verification::Unverified(reason), Outcome::FileTicket)
            if channel.facilitated && reason.can_be_facilitated() =>
        {
            Outcome::FileThroughFacilitator(*reason)
        }
        (
            Verification::Unverified(reason),
            Outcome::Comment {
                ticket_id,
                visibility: Visibility::Public,
            },
        ) if channel.facilitated && reason.can_be_facilitated() => Outcome::CommentThroughFacilitator {
            ticket_id,
            reason: *reason,
        },
        (Verification::Unverified(reason), _) => Outcome::Park(*reason),
    }
}

/// A support channel's emoji actions, by name without colons.
#[derive(Debug, Clone, Copy)]
pub struct EmojiActions<'a> {
    pub create: &'a str,
    pub assign: &'a str,
    pub resolve: &'a str,
}

/// The emoji actions of a channel whose admin chose none.
pub const DEFAULT_EMOJI: EmojiActions<'static> = EmojiActions {
    create: "ticket",
    assign: "eyes",
    resolve: "white_check_mark",
};

/// An emoji name as admins may write it (`:ticket:`) or Slack sends it with a skin tone
/// (`+1::skin-tone-2`): the bare name.
pub fn emoji_name(name: &str) -> &str {
    let name = name.trim().trim_matches(':');
    name.split_once("::").map_or(name, |(base, _)| base)
}

/// Where an emoji was added, as far as the desk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reacted {
    /// A person's message in a support channel, with the ticket filed from it, if any.
    SupportMessage { ticket_id: Option<i64> },
    /// A message deskhand posted about a ticket: its thread reply or agent card.
    TicketPost { ticket_id: i64 },
    /// Anything else: other channels, deskhand's other posts.
    Elsewhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionOutcome {
    Ignore(IgnoredReaction),
    FileTicket,
    Assign { ticket_id: i64 },
    Resolve { ticket_id: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReaction {
    FromBot,
    NotAnAction,
    AlreadyFiled,
    NotAnAgent,
    NoTicket,
}

/// Decide what an emoji means: the channel's creation emoji files the message, and agents'
/// emoji assign or resolve the ticket it belongs to.
pub fn on_reaction(
    actions: &EmojiActions,
    reaction: &str,
    on: Reacted,
    by_agent: bool,
    by_bot: bool,
) -> ReactionOutcome {
    use ReactionOutcome::Ignore;
    if by_bot {
        return Ignore(IgnoredReaction::FromBot);
    }
    let name = emoji_name(reaction);
    let is = |action: &str| !action.is_empty() && emoji_name(action) == name;
    if is(actions.create) {
        return match on {
            Reacted::SupportMessage { ticket_id: None } => ReactionOutcome::FileTicket,
            Reacted::SupportMessage { .. } | Reacted::TicketPost { .. } => Ignore(IgnoredReaction::AlreadyFiled),
            Reacted::Elsewhere => Ignore(IgnoredReaction::NotAnAction),
        };
    }
    if !is(actions.assign) && !is(actions.resolve) {
        return Ignore(IgnoredReaction::NotAnAction);
    }
    let ticket_id = match on {
        Reacted::SupportMessage { ticket_id: Some(id) } | Reacted::TicketPost { ticket_id: id } => id,
        _ => return Ignore(IgnoredReaction::NoTicket),
    };
    if !by_agent {
        return Ignore(IgnoredReaction::NotAnAgent);
    }
    if is(actions.assign) {
        ReactionOutcome::Assign { ticket_id }
    } else {
        ReactionOutcome::Resolve { ticket_id }
    }
}

/// Where a request's thread is, as far as its replies go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestThread {
    /// Its requester's DM with deskhand (requests by DM or from the form).
    DirectMessage,
    /// A channel's thread; `support_sync` when the channel is a support channel with thread
    /// sync on, `own` when the thread is the request's own (it was not filed from a reply).
    Channel { support_sync: bool, own: bool },
}

/// Whether replies in a request's thread reach the help desk (and deskhand says so).
pub fn replies_reach_desk(thread: RequestThread) -> bool {
    match thread {
        RequestThread::DirectMessage => true,
        RequestThread::Channel { support_sync, own } => support_sync && own,
    }
}

/// An edit changes the desk only when the words changed: Slack also sends
/// `message_changed` when it unfurls a link.
pub fn edit_changes_text(previous: &str, current: &str) -> bool {
    previous != current
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUPPORT: ChannelRules = ChannelRules {
        kind: ChannelKind::Support,
        auto_create: true,
        thread_sync: true,
        announcement_marker: ":megaphone:",
        facilitated: false,
    };
    const AGENTS: ChannelRules = ChannelRules {
        kind: ChannelKind::Agent,
        ..SUPPORT
    };
    const ANA: Verification = Verification::Verified {
        email: "ana@example.com",
    };

    fn top(text: &str) -> Message<'_> {
        Message {
            ts: "1.1",
            thread_ts: None,
            text,
            from_bot: false,
        }
    }

    fn reply(text: &str) -> Message<'_> {
        Message {
            ts: "1.2",
            thread_ts: Some("1.1"),
            text,
            from_bot: false,
        }
    }

    #[test]
    fn a_top_level_message_in_a_support_channel_files_a_ticket() {
        assert_eq!(
            on_message(Some(&SUPPORT), &top("help"), Thread::Unknown, &ANA),
            Outcome::FileTicket
        );
    }

    #[test]
    fn announcements_bots_and_unserved_channels_file_nothing() {
        let bot = Message {
            from_bot: true,
            ..top("hi")
        };
        assert_eq!(
            on_message(Some(&SUPPORT), &top(" :megaphone: maintenance"), Thread::Unknown, &ANA),
            Outcome::Ignore(Ignored::Announcement)
        );
        assert_eq!(
            on_message(Some(&SUPPORT), &bot, Thread::Unknown, &ANA),
            Outcome::Ignore(Ignored::FromBot)
        );
        assert_eq!(
            on_message(None, &top("help"), Thread::Unknown, &ANA),
            Outcome::Ignore(Ignored::NotConfigured)
        );
        let off = ChannelRules {
            auto_create: false,
            ..SUPPORT
        };
        assert_eq!(
            on_message(Some(&off), &top("help"), Thread::Unknown, &ANA),
            Outcome::Ignore(Ignored::AutoCreateOff)
        );
    }

    #[test]
    fn replies_are_public_in_support_threads_and_internal_under_agent_cards() {
        let support = Thread::Support { ticket_id: 7 };
        let card = Thread::AgentCard { ticket_id: 7 };
        assert_eq!(
            on_message(Some(&SUPPORT), &reply("more"), support, &ANA),
            Outcome::Comment {
                ticket_id: 7,
                visibility: Visibility::Public
            }
        );
        assert_eq!(
            on_message(Some(&AGENTS), &reply("note"), card, &ANA),
            Outcome::Comment {
                ticket_id: 7,
                visibility: Visibility::Internal
            }
        );
        assert_eq!(
            on_message(Some(&SUPPORT), &reply("x"), Thread::Unknown, &ANA),
            Outcome::Ignore(Ignored::NotATicketThread)
        );
        let no_sync = ChannelRules {
            thread_sync: false,
            ..SUPPORT
        };
        assert_eq!(
            on_message(Some(&no_sync), &reply("x"), support, &ANA),
            Outcome::Ignore(Ignored::ThreadSyncOff)
        );
    }

    #[test]
    fn the_creation_emoji_files_a_message_once_and_agent_emoji_need_an_agent_and_a_ticket() {
        let on_new = Reacted::SupportMessage { ticket_id: None };
        let on_filed = Reacted::SupportMessage { ticket_id: Some(4) };
        let card = Reacted::TicketPost { ticket_id: 4 };
        let r = |reaction, on, agent| on_reaction(&DEFAULT_EMOJI, reaction, on, agent, false);
        assert_eq!(r("ticket", on_new, false), ReactionOutcome::FileTicket);
        assert_eq!(
            r("ticket", on_filed, false),
            ReactionOutcome::Ignore(IgnoredReaction::AlreadyFiled)
        );
        assert_eq!(
            r("ticket", Reacted::Elsewhere, true),
            ReactionOutcome::Ignore(IgnoredReaction::NotAnAction)
        );
        assert_eq!(r("eyes", on_filed, true), ReactionOutcome::Assign { ticket_id: 4 });
        assert_eq!(
            r("white_check_mark", card, true),
            ReactionOutcome::Resolve { ticket_id: 4 }
        );
        assert_eq!(
            r("eyes", on_filed, false),
            ReactionOutcome::Ignore(IgnoredReaction::NotAnAgent)
        );
        assert_eq!(
            r("eyes", on_new, true),
            ReactionOutcome::Ignore(IgnoredReaction::NoTicket)
        );
        assert_eq!(
            r("tada", on_new, true),
            ReactionOutcome::Ignore(IgnoredReaction::NotAnAction)
        );
        assert_eq!(
            on_reaction(&DEFAULT_EMOJI, "ticket", on_new, false, true),
            ReactionOutcome::Ignore(IgnoredReaction::FromBot)
        );
        let custom = EmojiActions {
            create: ":sos:",
            ..DEFAULT_EMOJI
        };
        assert_eq!(
            on_reaction(&custom, "sos", on_new, false, false),
            ReactionOutcome::FileTicket
        );
        assert_eq!(emoji_name("+1::skin-tone-3"), "+1");
    }

    #[test]
    fn replies_reach_the_desk_from_dms_and_synced_support_threads_only() {
        assert!(replies_reach_desk(RequestThread::DirectMessage));
        assert!(replies_reach_desk(RequestThread::Channel {
            support_sync: true,
            own: true
        }));
        assert!(!replies_reach_desk(RequestThread::Channel {
            support_sync: false,
            own: true
        }));
        assert!(
            !replies_reach_desk(RequestThread::Channel {
                support_sync: true,
                own: false
            }),
            "a thread the request was only a reply in belongs to someone else"
        );
    }

    #[test]
    fn a_facilitator_files_for_unlinked_people_in_support_channels_only() {
        let guest = Verification::Unverified(Unverified::Guest);
        let facilitated = ChannelRules {
            facilitated: true,
            ..SUPPORT
        };
        let support = Thread::Support { ticket_id: 7 };
        assert_eq!(
            on_message(Some(&facilitated), &top("help"), Thread::Unknown, &guest),
            Outcome::FileThroughFacilitator(Unverified::Guest)
        );
        assert_eq!(
            on_message(Some(&facilitated), &reply("more"), support, &guest),
            Outcome::CommentThroughFacilitator {
                ticket_id: 7,
                reason: Unverified::Guest
            }
        );
        assert_eq!(
            on_message(Some(&facilitated), &top("help"), Thread::Unknown, &ANA),
            Outcome::FileTicket,
            "a verified person always acts as themselves"
        );
        let agents = ChannelRules {
            kind: ChannelKind::Agent,
            ..facilitated
        };
        assert_eq!(
            on_message(
                Some(&agents),
                &reply("note"),
                Thread::AgentCard { ticket_id: 7 },
                &guest
            ),
            Outcome::Park(Unverified::Guest),
            "never in agent channels"
        );
        let gone = Verification::Unverified(Unverified::Deactivated);
        assert_eq!(
            on_message(Some(&facilitated), &top("help"), Thread::Unknown, &gone),
            Outcome::Park(Unverified::Deactivated)
        );
    }

    #[test]
    fn an_unverified_author_is_parked_only_where_something_would_be_filed() {
        let guest = Verification::Unverified(Unverified::Guest);
        assert_eq!(
            on_message(Some(&SUPPORT), &top("help"), Thread::Unknown, &guest),
            Outcome::Park(Unverified::Guest)
        );
        assert_eq!(
            on_message(Some(&SUPPORT), &top(":megaphone: hi"), Thread::Unknown, &guest),
            Outcome::Ignore(Ignored::Announcement)
        );
    }
}
