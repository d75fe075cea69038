//! Driving the agents' workflow as Slack does: pressing a button or choosing from a menu
//! found in a message deskhand posted (read from the fake's records), and submitting the
//! modals those open.

use serde_json::{json, Value};

use super::fake_slack::{dm_channel, Message, View};
use super::{TestApp, AGENTS};

/// Every element of a message's actions blocks and sections' accessories.
pub fn elements(blocks: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for block in blocks.as_array().into_iter().flatten() {
        let block_id = block["block_id"].as_str().unwrap_or_default().to_owned();
        for element in block["elements"].as_array().into_iter().flatten() {
            if element["action_id"].is_string() {
                found.push((block_id.clone(), element.clone()));
            }
        }
        if block["accessory"]["action_id"].is_string() {
            found.push((block_id.clone(), block["accessory"].clone()));
        }
    }
    found
}

/// The element with `action_id` in `blocks`, and its block's id.
pub fn element(blocks: &Value, action_id: &str) -> Option<(String, Value)> {
    elements(blocks).into_iter().find(|(_, e)| e["action_id"] == action_id)
}

/// The options a menu offers, by value.
pub fn options(element: &Value) -> Vec<String> {
    element["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["value"].as_str().map(str::to_owned))
        .collect()
}

impl TestApp {
    /// The agent card of a ticket, as Slack shows it now.
    pub fn card(&self, key: &str) -> Message {
        self.slack
            .messages_in(AGENTS)
            .into_iter()
            .find(|m| m.thread_ts.is_none() && m.blocks.to_string().contains(&format!("ticket:{key}")))
            .unwrap_or_else(|| panic!("no card for {key}"))
    }

    /// What deskhand posted in the thread of a ticket's card.
    pub fn card_thread(&self, key: &str) -> Vec<String> {
        let card = self.card(key);
        self.slack
            .messages_in(AGENTS)
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(card.ts.as_str()))
            .map(|m| m.text)
            .collect()
    }

    /// deskhand's DMs to `user` that are not a survey or an approval to give.
    pub fn status_dms(&self, user: &str) -> Vec<Message> {
        self.dms(user)
            .into_iter()
            .filter(|m| element(&m.blocks, "rate").is_none() && element(&m.blocks, "approve").is_none())
            .collect()
    }

    /// Everything deskhand sent `user` in their DM.
    pub fn dms(&self, user: &str) -> Vec<Message> {
        self.slack.messages_in(&dm_channel(user))
    }

    /// `user` uses the element `action_id` of `message` (a button, or a menu choosing
    /// `choice`: an option's value, or a user for a user select); the answer goes to the
    /// `response_url` named after `trigger`. Waits until deskhand has done all it causes.
    pub async fn press(&self, user: &str, message: &Message, action_id: &str, choice: Option<&str>, trigger: &str) {
        self.press_in(
            user,
            (&message.channel, &message.ts),
            &message.blocks,
            action_id,
            choice,
            trigger,
        )
        .await
    }

    /// The same, for blocks shown at (`channel`, `ts`): a private answer's, too.
    pub async fn press_in(
        &self,
        user: &str,
        (channel, ts): (&str, &str),
        blocks: &Value,
        action_id: &str,
        choice: Option<&str>,
        trigger: &str,
    ) {
        let (block_id, element) = element(blocks, action_id).unwrap_or_else(|| panic!("no {action_id} in {blocks}"));
        let value = element.get("value").and_then(Value::as_str);
        let kind = element["type"].as_str().unwrap_or("button");
        self.act(
            user,
            (channel, ts),
            (&block_id, action_id, kind),
            value,
            choice,
            trigger,
        )
        .await
    }

    /// Send an action as Slack would for an element (`block_id`, `action_id`, its type)
    /// whether or not deskhand showed it: a forged one, too.
    pub async fn act(
        &self,
        user: &str,
        (channel, ts): (&str, &str),
        (block_id, action_id, kind): (&str, &str, &str),
        value: Option<&str>,
        choice: Option<&str>,
        trigger: &str,
    ) {
        let mut action = json!({ "action_id": action_id, "block_id": block_id, "type": kind, "action_ts": trigger });
        if let Some(value) = value {
            action["value"] = value.into();
        }
        match (kind, choice) {
            ("users_select", Some(user)) => action["selected_user"] = user.into(),
            (_, Some(value)) => action["selected_option"] = json!({ "value": value }),
            _ => {}
        }
        let payload = json!({
            "type": "block_actions", "user": { "id": user }, "trigger_id": trigger,
            "response_url": self.slack.response_url(trigger),
            "container": { "type": "message", "channel_id": channel, "message_ts": ts },
            "channel": { "id": channel },
            "actions": [action],
        });
        assert_eq!(self.interact(payload).await.status(), 200);
        self.drain().await;
    }

    /// Submit the last modal deskhand opened, as `user`, with `values` by block id (text
    /// inputs; a radio button's value for `rating`). Waits for what it causes.
    pub async fn submit_modal(&self, user: &str, values: &[(&str, &str)]) -> Value {
        self.submit_view(user, &self.slack.last_view(), values).await
    }

    /// Submit one modal deskhand opened.
    pub async fn submit_view(&self, user: &str, view: &View, values: &[(&str, &str)]) -> Value {
        let payload = view_submission(user, view, values);
        let answer = self.interact(payload).await;
        assert_eq!(answer.status(), 200);
        let text = answer.text().await.unwrap_or_default();
        self.drain().await;
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// The `view_submission` Slack sends when `user` submits `view` with these values (by
/// block id; `rating` is a radio button, everything else a text input).
pub fn view_submission(user: &str, view: &View, values: &[(&str, &str)]) -> Value {
    let mut state = serde_json::Map::new();
    for (block, value) in values {
        let input = if *block == "rating" {
            json!({ "type": "radio_buttons", "selected_option": { "value": value } })
        } else {
            json!({ "type": "plain_text_input", "value": value })
        };
        state.insert((*block).to_owned(), json!({ "value": input }));
    }
    json!({
        "type": "view_submission", "user": { "id": user }, "trigger_id": format!("sub-{}", view.id),
        "view": {
            "id": view.id, "callback_id": view.view["callback_id"], "private_metadata": view.view["private_metadata"],
            "state": { "values": state },
        },
    })
}
