//! Block Kit as typed values (<https://api.slack.com/reference/block-kit>): the blocks and
//! elements deskhand's ticket messages use, serialized straight into the request body.
//! Text borrows from the ticket where it can, so rendering a card allocates little and
//! builds no JSON tree to throw away.

use std::borrow::Cow;

use serde::Serialize;

/// Text a block holds: borrowed where it is shown as it is, owned where it is built.
pub type Str<'a> = Cow<'a, str>;

/// A text object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text<'a> {
    Mrkdwn { text: Str<'a> },
    PlainText { text: Str<'a> },
}

impl<'a> Text<'a> {
    pub fn mrkdwn(text: impl Into<Str<'a>>) -> Self {
        Text::Mrkdwn { text: text.into() }
    }

    pub fn plain(text: impl Into<Str<'a>>) -> Self {
        Text::PlainText { text: text.into() }
    }
}

/// A layout block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block<'a> {
    Header {
        text: Text<'a>,
    },
    Section {
        text: Text<'a>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        accessory: Option<Element<'a>>,
    },
    Context {
        elements: Vec<Text<'a>>,
    },
    Actions {
        block_id: Str<'a>,
        elements: Vec<Element<'a>>,
    },
}

impl<'a> Block<'a> {
    /// A section of mrkdwn text alone.
    pub fn section(text: impl Into<Str<'a>>) -> Self {
        Block::Section {
            text: Text::mrkdwn(text),
            fields: Vec::new(),
            accessory: None,
        }
    }

    /// A context line of mrkdwn text.
    pub fn context(text: impl Into<Str<'a>>) -> Self {
        Block::Context {
            elements: vec![Text::mrkdwn(text)],
        }
    }
}

/// An interactive element.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element<'a> {
    Button {
        action_id: &'a str,
        value: Str<'a>,
        text: Text<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        style: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        confirm: Option<Box<Confirm<'a>>>,
    },
    UsersSelect {
        action_id: &'a str,
        placeholder: Text<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        initial_user: Option<Str<'a>>,
    },
    StaticSelect {
        action_id: &'a str,
        placeholder: Text<'a>,
        options: Vec<Choice<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        initial_option: Option<Choice<'a>>,
    },
}

impl<'a> Element<'a> {
    /// A plain button carrying `value`.
    pub fn button(action_id: &'a str, text: &'a str, value: impl Into<Str<'a>>) -> Self {
        Element::Button {
            action_id,
            value: value.into(),
            text: Text::plain(text),
            style: None,
            confirm: None,
        }
    }
}

/// One option of a select menu.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice<'a> {
    pub text: Text<'a>,
    pub value: Str<'a>,
}

/// The dialog a button asks before it acts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirm<'a> {
    pub title: Text<'a>,
    pub text: Text<'a>,
    pub confirm: Text<'a>,
    pub deny: Text<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_serialize_as_slack_reads_them() {
        let blocks = vec![
            Block::section("*A* · b"),
            Block::context("c"),
            Block::Actions {
                block_id: "t:1".into(),
                elements: vec![
                    Element::button("take", "Take", "T-1"),
                    Element::StaticSelect {
                        action_id: "p",
                        placeholder: Text::plain("Priority"),
                        options: vec![Choice {
                            text: Text::plain("high"),
                            value: "high".into(),
                        }],
                        initial_option: None,
                    },
                ],
            },
        ];
        assert_eq!(
            serde_json::to_value(&blocks).unwrap(),
            json!([
                { "type": "section", "text": { "type": "mrkdwn", "text": "*A* · b" } },
                { "type": "context", "elements": [{ "type": "mrkdwn", "text": "c" }] },
                { "type": "actions", "block_id": "t:1", "elements": [
                    { "type": "button", "action_id": "take", "value": "T-1", "text": { "type": "plain_text", "text": "Take" } },
                    { "type": "static_select", "action_id": "p", "placeholder": { "type": "plain_text", "text": "Priority" },
                      "options": [{ "text": { "type": "plain_text", "text": "high" }, "value": "high" }] },
                ] },
            ])
        );
    }
}
