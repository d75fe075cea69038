//! Participants: who besides the requester hears a ticket's public replies, and what they
//! are sent: a DM to a Slack member, a mail to a customer, whose reply address carries
//! their token so that answering the mail answers the ticket.

use super::config::{is_user_id, Field, Refusal};
use super::customers::normalize_email;
use super::effects::Effect;

/// Someone named as a participant: a Slack member by id, or a customer by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRef {
    Slack(String),
    Email(String),
}

impl PersonRef {
    pub fn parse(text: &str) -> Result<Self, Refusal> {
        let text = text.trim();
        if is_user_id(text) {
            return Ok(PersonRef::Slack(text.to_owned()));
        }
        normalize_email(text).map(PersonRef::Email).map_err(|_| {
            Refusal::invalid(
                Field::Customers,
                format!("{text:?} is neither a Slack user id nor an email address"),
            )
        })
    }
}

/// A participant as a notice needs them.
#[derive(Debug, Clone)]
pub struct Recipient<'a> {
    pub slack_user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub reply_token: &'a str,
}

/// The ticket a notice is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub ticket_id: i64,
    pub key: &'a str,
    pub summary: &'a str,
}

/// A mail to `to` about the ticket, answerable by replying.
fn mail(about: About<'_>, to: &Recipient<'_>, address: &str, body: String) -> Effect {
    Effect::MailTo {
        address: address.to_owned(),
        subject: format!("[{}] {}", about.key, about.summary),
        body: format!(
            "{body}\n\n-- \nReply to this message to answer; your reply is added to {}.",
            about.key
        ),
        reply_token: Some(to.reply_token.to_owned()),
    }
}

/// What each participant is sent when `author` (their Slack id, or their address) writes a
/// public reply: nothing to the author themselves.
pub fn reply_notices(about: About<'_>, author: (&str, &str), text: &str, recipients: &[Recipient<'_>]) -> Vec<Effect> {
    let (author_id, author_name) = author;
    recipients
        .iter()
        .filter(|r| r.slack_user_id != Some(author_id) && r.email != Some(author_id))
        .filter_map(|r| match (r.slack_user_id, r.email) {
            (Some(user), _) => Some(Effect::Notify {
                user: user.to_owned(),
                ticket_id: about.ticket_id,
                text: format!("{author_name} replied on {}: {text}", about.key),
            }),
            (None, Some(address)) => Some(mail(about, r, address, format!("{author_name} wrote:\n\n{text}"))),
            (None, None) => None,
        })
        .collect()
}

/// What a new participant is sent: the public replies so far, oldest first.
pub fn catch_up(about: About<'_>, replies: &[(String, String)], to: &Recipient<'_>) -> Option<Effect> {
    if replies.is_empty() {
        return None;
    }
    let conversation: Vec<String> = replies
        .iter()
        .map(|(who, text)| format!("{who} wrote:\n{text}"))
        .collect();
    let body = format!(
        "You were added to {}. The conversation so far:\n\n{}",
        about.key,
        conversation.join("\n\n")
    );
    match (to.slack_user_id, to.email) {
        (Some(user), _) => Some(Effect::Notify {
            user: user.to_owned(),
            ticket_id: about.ticket_id,
            text: body,
        }),
        (None, Some(address)) => Some(mail(about, to, address, body)),
        (None, None) => None,
    }
}

/// The text of a mailed reply without what it quotes: the lines after the first
/// `On … wrote:` line or a `>` quote, and the signature after `-- `.
pub fn reply_text(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim_end();
        let quoted_header = trimmed.starts_with("On ") && trimmed.ends_with("wrote:");
        if trimmed.starts_with('>') || quoted_header || trimmed == "--" || trimmed == "-- " || line == "-- " {
            break;
        }
        kept.push(trimmed);
    }
    kept.join("\n").trim().to_owned()
}

/// deskhand's address with `+r-TOKEN` after its local part: `help@acme.example` becomes
/// `help+r-0123…@acme.example`. The mail relay hands such mail to `POST /mail/inbound`.
pub fn reply_address(from: &str, token: &str) -> String {
    match from.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+r-{token}@{domain}"),
        None => format!("{from}+r-{token}"),
    }
}

/// The reply token in one of these recipient addresses, if any carries one.
pub fn reply_token<'a>(addresses: impl IntoIterator<Item = &'a str>) -> Option<String> {
    addresses.into_iter().find_map(|address| {
        let local = address.rsplit_once('@')?.0;
        let token = local.rsplit_once("+r-")?.1;
        (token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit())).then(|| token.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABOUT: About<'static> = About {
        ticket_id: 7,
        key: "IT-7",
        summary: "VPN",
    };

    #[test]
    fn a_reply_reaches_every_participant_but_its_author() {
        let people = [
            Recipient {
                slack_user_id: Some("U1"),
                email: Some("u1@acme.example"),
                reply_token: "a",
            },
            Recipient {
                slack_user_id: None,
                email: Some("carla@client.example"),
                reply_token: "b",
            },
        ];
        let sent = reply_notices(ABOUT, ("U1", "Ana"), "Try again now", &people);
        assert_eq!(sent.len(), 1);
        let Effect::MailTo {
            address,
            subject,
            reply_token,
            body,
        } = &sent[0]
        else {
            panic!("{sent:?}")
        };
        assert_eq!(
            (address.as_str(), subject.as_str()),
            ("carla@client.example", "[IT-7] VPN")
        );
        assert_eq!(reply_token.as_deref(), Some("b"));
        assert!(body.starts_with("Ana wrote:\n\nTry again now"), "{body}");
        let sent = reply_notices(ABOUT, ("carla@client.example", "Carla"), "Thanks", &people);
        assert!(matches!(&sent[..], [Effect::Notify { user, .. }] if user == "U1"));
    }

    #[test]
    fn a_new_participant_catches_up_and_quoted_text_is_left_out_of_a_mailed_reply() {
        let to = Recipient {
            slack_user_id: None,
            email: Some("c@x.example"),
            reply_token: "t",
        };
        assert!(catch_up(ABOUT, &[], &to).is_none());
        let replies = [("Ana".to_owned(), "It is down".to_owned())];
        let Some(Effect::MailTo { body, .. }) = catch_up(ABOUT, &replies, &to) else {
            panic!("a mail")
        };
        assert!(body.contains("Ana wrote:\nIt is down"), "{body}");
        let mailed = "Works now, thanks!\r\n\r\nOn Tue, 1 Dec 2026, Help <help@acme.example> wrote:\r\n> Ana wrote:\r\n> Try again";
        assert_eq!(reply_text(mailed), "Works now, thanks!");
        assert_eq!(reply_text("Fine\n-- \nCarla"), "Fine");
        assert_eq!(PersonRef::parse(" U0ANA ").unwrap(), PersonRef::Slack("U0ANA".into()));
        assert_eq!(
            PersonRef::parse("C@X.example").unwrap(),
            PersonRef::Email("c@x.example".into())
        );
        assert!(PersonRef::parse("bob").is_err());
        let token = "0123456789abcdef0123456789abcdef";
        let address = reply_address("help@acme.example", token);
        assert_eq!(address, format!("help+r-{token}@acme.example"));
        assert_eq!(
            reply_token(["someone@else.example", address.as_str()]),
            Some(token.to_owned())
        );
        assert_eq!(reply_token(["help+r-short@acme.example"]), None);
    }
}
