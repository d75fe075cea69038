//! `/desk` and what its words ask for.

/// What a `/desk …` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskCommand {
    /// Open the request form.
    New,
    /// My open requests.
    Mine,
    /// One request, by key.
    Status(String),
    /// Turn personal notifications on or off.
    Notifications(bool),
    /// The channel's preferences (admins).
    Admin,
    /// The open requests of the agent's departments (agents).
    Queue,
    /// How the team did in the last 7 days (agents).
    Report,
    /// A one-time link to the portal.
    Portal,
    /// Add a customer known by email, perhaps with a name (agents).
    AddCustomer {
        email: String,
        name: Option<String>,
    },
    Help,
    /// Words `/desk` does not know: answered with help.
    Unknown(String),
}

impl DeskCommand {
    pub fn parse(text: &str) -> Self {
        let mut words = text.split_whitespace();
        let first = words.next().map(str::to_lowercase);
        let rest: Vec<&str> = words.collect();
        match (first.as_deref(), rest.as_slice()) {
            (None, []) | (Some("help"), _) => DeskCommand::Help,
            (Some("new" | "request"), _) => DeskCommand::New,
            (Some("mine" | "list"), []) => DeskCommand::Mine,
            (Some("admin"), []) => DeskCommand::Admin,
            (Some("queue"), []) => DeskCommand::Queue,
            (Some("report"), []) => DeskCommand::Report,
            (Some("portal"), []) => DeskCommand::Portal,
            (Some("status"), [key]) => DeskCommand::Status(key.to_uppercase()),
            (Some("customer"), [add, email, name @ ..]) if add.eq_ignore_ascii_case("add") => {
                DeskCommand::AddCustomer {
                    email: (*email).to_owned(),
                    name: Some(name.join(" ")).filter(|n| !n.is_empty()),
                }
            }
            (Some("notifications"), [setting]) => match setting.to_lowercase().as_str() {
                "on" => DeskCommand::Notifications(true),
                "off" => DeskCommand::Notifications(false),
                _ => DeskCommand::Unknown(text.trim().to_owned()),
            },
            _ => DeskCommand::Unknown(text.trim().to_owned()),
        }
    }
}

/// Every `/desk` word, as Slack shows them while one types (the manifest's usage hint).
pub const USAGE: &str =
    "new | mine | status KEY | portal | queue | report | customer add EMAIL [Name] | notifications on|off | admin | help";

/// What `/desk help` says.
pub const HELP: &str = "*How to ask the help desk for something*\n\
• Write in a support channel: every new message there is a request.\n\
• Add :ticket: (or your channel's emoji) to any message in a support channel to file it.\n\
• Message shortcut *Create ticket* (the ⋮ menu on any message), or the global shortcut *New request*.\n\
• Mention @deskhand in a message, or write to deskhand in a direct message.\n\
\n\
*Commands*\n\
• `/desk new`: open the request form\n\
• `/desk mine`: your open requests\n\
• `/desk status IT-42`: where one request stands\n\
• `/desk portal`: a private link to the help desk's web portal, where your requests are\n\
• `/desk notifications off` (or `on`): a direct message when an agent changes the status of one of your requests\n\
• `/desk queue`: the open requests of your departments, to take one (agents)\n\
• `/desk report`: the last 7 days' response times and ratings (agents)\n\
• `/desk customer add ana@example.com Ana Lima`: add a customer known by email (agents)\n\
• `/desk admin`: this channel's preferences (help-desk admins)\n\
• `/desk help`: this message";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_commands_are_read_forgivingly() {
        assert_eq!(DeskCommand::parse(""), DeskCommand::Help);
        assert_eq!(DeskCommand::parse(" NEW "), DeskCommand::New);
        assert_eq!(DeskCommand::parse("mine"), DeskCommand::Mine);
        assert_eq!(DeskCommand::parse("Admin"), DeskCommand::Admin);
        assert_eq!(DeskCommand::parse("queue"), DeskCommand::Queue);
        assert_eq!(DeskCommand::parse("report"), DeskCommand::Report);
        assert_eq!(
            DeskCommand::parse("customer ADD ana@example.edu Ana  Lima"),
            DeskCommand::AddCustomer {
                email: "ana@example.edu".into(),
                name: Some("Ana Lima".into())
            }
        );
        assert_eq!(DeskCommand::parse("status it-42"), DeskCommand::Status("IT-42".into()));
        assert_eq!(
            DeskCommand::parse("notifications Off"),
            DeskCommand::Notifications(false)
        );
        assert_eq!(DeskCommand::parse("notifications on"), DeskCommand::Notifications(true));
        assert_eq!(
            DeskCommand::parse("notifications maybe"),
            DeskCommand::Unknown("notifications maybe".into())
        );
        assert_eq!(DeskCommand::parse("status"), DeskCommand::Unknown("status".into()));
        assert_eq!(DeskCommand::parse("dance"), DeskCommand::Unknown("dance".into()));
    }

    #[test]
    fn the_usage_hint_names_every_word_and_only_words_desk_knows() {
        let words: Vec<String> = USAGE
            .split(" | ")
            .flat_map(|w| match w.split_once(' ') {
                Some((word, "on|off")) => vec![format!("{word} on"), format!("{word} off")],
                Some((word, "KEY")) => vec![format!("{word} IT-1")],
                _ => vec![w.to_owned()],
            })
            .collect();
        for word in &words {
            assert!(
                !matches!(DeskCommand::parse(word), DeskCommand::Unknown(_)),
                "{word} is in the usage hint"
            );
        }
        for command in [
            DeskCommand::New,
            DeskCommand::Mine,
            DeskCommand::Status("IT-1".into()),
            DeskCommand::Notifications(true),
            DeskCommand::Admin,
            DeskCommand::Queue,
            DeskCommand::Report,
            DeskCommand::Help,
        ] {
            assert!(
                words.iter().any(|w| DeskCommand::parse(w) == command),
                "{command:?} is missing from the usage hint"
            );
        }
    }
}
