//! deskhand's Slack app manifest (<https://api.slack.com/reference/manifests>), written
//! from what the code uses: the events it handles, its shortcuts, `/desk` and its words,
//! and the scopes its Web API calls need. `deskhand manifest` prints it; the committed
//! `slack-manifest.yaml` is its output for `https://deskhand.example.com`.

use std::fmt::Write;

use super::interactions::{CREATE_TICKET, NEW_REQUEST};
use crate::desk::commands::USAGE;

/// The events deskhand subscribes to, each with why.
pub const BOT_EVENTS: &[(&str, &str)] = &[
    ("message.channels", "messages in public support and agent channels"),
    ("message.groups", "messages in private support and agent channels"),
    ("message.im", "direct messages to deskhand"),
    ("reaction_added", "the emoji that file, assign and resolve"),
    ("app_mention", "@deskhand in a message"),
    ("app_home_opened", "the Home tab"),
    (
        "app_uninstalled",
        "a workspace that removed deskhand: its token is forgotten",
    ),
    ("tokens_revoked", "a workspace that revoked deskhand's token: the same"),
];

/// The bot scopes, in groups, each group with what it is for.
pub const BOT_SCOPES: &[(&[&str], &str)] = &[
    (
        &["channels:history", "groups:history"],
        "read the messages of the public and private channels deskhand is invited to",
    ),
    (
        &["chat:write"],
        "answer in threads, post agent cards, update them, and explain privately",
    ),
    (
        &["users:read", "users:read.email"],
        "who wrote a message: full member, guest or from another workspace, and their email",
    ),
    (
        &["reactions:read", "reactions:write"],
        "see the reactions that act on tickets, and mark messages with reactions",
    ),
    (&["app_mentions:read"], "hear when someone @mentions deskhand"),
    (
        &["im:history", "im:write"],
        "read the direct messages people send deskhand, and open DMs to notify them",
    ),
    (&["commands"], "the /desk command"),
    (
        &["channels:read", "groups:read"],
        "who is in an agent channel (conversations.members), public or private",
    ),
];

/// The manifest: with request URLs under `url` (`https://…`, no trailing slash), or for
/// Socket Mode (no URLs).
pub fn render(url: Option<&str>, socket_mode: bool) -> String {
    let url = url.unwrap_or("https://deskhand.example.com").trim_end_matches('/');
    let mut out = String::new();
    let line = |out: &mut String, text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(
        &mut out,
        "# deskhand's Slack app. Paste this at https://api.slack.com/apps → Create New App →",
    );
    if socket_mode {
        line(
            &mut out,
            "# From an app manifest. Socket Mode: deskhand needs no public address.",
        );
    } else {
        line(
            &mut out,
            "# From an app manifest. `deskhand manifest --url https://…` writes it for your address.",
        );
    }
    out.push_str(HEAD);
    let _ = writeln!(out, "  shortcuts:");
    for (name, kind, callback, description, why) in [
        (
            "Create ticket",
            "message",
            CREATE_TICKET,
            "File this message as a help-desk ticket",
            "on any message: file it as a ticket",
        ),
        (
            "New request",
            "global",
            NEW_REQUEST,
            "Ask the help desk for something",
            "from the shortcuts menu anywhere: open the request form",
        ),
    ] {
        let _ = writeln!(
            out,
            "    # {why}\n    - name: {name}\n      type: {kind}\n      callback_id: {callback}\n      description: {description}"
        );
    }
    let _ = writeln!(out, "  slash_commands:\n    - command: /desk");
    if !socket_mode {
        let _ = writeln!(out, "      url: {url}/slack/commands");
    }
    let _ = writeln!(
        out,
        "      description: Ask for help and follow your requests\n      usage_hint: {USAGE}\n      should_escape: false"
    );
    let _ = writeln!(out, "oauth_config:");
    if !socket_mode {
        // Where Slack sends a workspace installing deskhand from /slack/install.
        let _ = writeln!(out, "  redirect_urls:\n    - {url}/slack/oauth/callback");
    }
    let _ = writeln!(out, "  scopes:\n    bot:");
    for (scopes, why) in BOT_SCOPES {
        let _ = writeln!(out, "      # {why}");
        for scope in *scopes {
            let _ = writeln!(out, "      - {scope}");
        }
    }
    let _ = writeln!(out, "settings:\n  event_subscriptions:");
    if !socket_mode {
        let _ = writeln!(out, "    request_url: {url}/slack/events");
    }
    let _ = writeln!(out, "    bot_events:");
    for (event, why) in BOT_EVENTS {
        let _ = writeln!(out, "      # {why}\n      - {event}");
    }
    let _ = writeln!(
        out,
        "  interactivity:\n    # buttons, modals and shortcuts\n    is_enabled: true"
    );
    if !socket_mode {
        let _ = writeln!(out, "    request_url: {url}/slack/interactivity");
    }
    let _ = writeln!(
        out,
        "  org_deploy_enabled: false\n  socket_mode_enabled: {socket_mode}\n  token_rotation_enabled: false"
    );
    out
}

const HEAD: &str = r##"_metadata:
  major_version: 2
  minor_version: 1
display_information:
  name: deskhand
  description: Ask for help where you work; every request becomes a ticket that stays in sync.
  long_description: >-
    deskhand turns messages in your support channels into help-desk tickets. It answers
    in the thread, posts a card for the agents, and keeps the ticket in sync with the
    thread: replies become comments, edits and deletes follow, and replies under the
    agents' card stay internal. Agents triage from the card, approvers decide from a
    direct message, and requesters rate the help they got. Everything is stored before
    Slack is acknowledged, so no request is ever lost.
  background_color: "#1f3a5f"
features:
  app_home:
    # the Home tab lists your requests (and an agent's queue); the Messages tab is where
    # deskhand writes to you privately, and where you can ask it for help
    home_tab_enabled: true
    messages_tab_enabled: true
    messages_tab_read_only_enabled: false
  bot_user:
    display_name: deskhand
    always_online: true
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_mode_has_no_request_urls_and_a_url_fills_them_all() {
        let socket = render(None, true);
        assert!(!socket.contains("request_url") && !socket.contains("url: "), "{socket}");
        assert!(socket.contains("socket_mode_enabled: true"));
        let http = render(Some("https://help.acme.example/"), false);
        assert_eq!(http.matches("https://help.acme.example/slack/").count(), 4, "{http}");
        assert!(http.contains("redirect_urls:\n    - https://help.acme.example/slack/oauth/callback"));
    }
}
