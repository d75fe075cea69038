//! The agents' and approvers' buttons and modals: a card's triage actions (assign, status,
//! priority, department, internal note), the queue's "Take", an approver's Approve and
//! Decline, and a requester's satisfaction survey. Each is read into a [`Command`].

use super::events::Command;
use super::interactions::{input_value, Payload, TICKET_ACTIONS};

/// "Assign to me" on a card, and "Take" in the queue (its value is the ticket's key).
pub const ASSIGN_TO_ME: &str = "assign_to_me";
/// The card's user select.
pub const ASSIGN_TO: &str = "assign_to";
/// The card's status menu: the moves the workflow allows.
pub const SET_STATUS: &str = "set_status";
/// The card's priority menu.
pub const SET_PRIORITY: &str = "set_priority";
/// The card's department menu.
pub const SET_DEPARTMENT: &str = "set_department";
/// The card's "Internal note" button, and the modal it opens.
pub const ADD_NOTE: &str = "add_note";
pub const ADD_PARTICIPANT: &str = "add_participant";
/// The modal that adds a participant, and its two ways to name them.
pub const PARTICIPANT_FORM: &str = "participant_form";
pub const PARTICIPANT_USER: &str = "participant_user";
pub const PARTICIPANT_EMAIL: &str = "participant_email";
pub const INTERNAL_NOTE: &str = "internal_note";
/// An approver's buttons (their value is the ticket's key), and the modal asking why.
pub const APPROVE: &str = "approve";
pub const DECLINE: &str = "decline";
pub const DECLINE_REASON: &str = "decline_reason";
/// A requester's "Rate" button (value `KEY#resolution`), and the survey's modal.
pub const RATE: &str = "rate";
pub const SURVEY: &str = "survey";
/// The one text field of the note and decline modals, and the survey's fields.
pub const TEXT_FIELD: &str = "text";
pub const RATING_FIELD: &str = "rating";
pub const COMMENT_FIELD: &str = "comment";

/// What an agent changes from a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardChange {
    AssignToMe,
    AssignTo(String),
    Status(String),
    Priority(String),
    Department(String),
    /// Open the internal note modal.
    OpenNote,
    /// Open the modal that adds a participant.
    OpenParticipant,
}

/// Someone to add to a ticket, as the participant modal named them (a Slack user id or a
/// customer's address); `confirm`: the agent saw that they will receive the earlier
/// public replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantSubmission {
    pub user: String,
    pub ticket_key: String,
    pub person: String,
    pub confirm: bool,
}

/// The participant modal's metadata: the ticket, and once the agent was asked to confirm,
/// the person (`KEY` or `KEY|confirm|PERSON`).
pub fn participant_metadata(key: &str, confirmed: Option<&str>) -> String {
    match confirmed {
        Some(person) => format!("{key}|confirm|{person}"),
        None => key.to_owned(),
    }
}

/// The person a submitted participant modal names: the one confirmed, else the user
/// chosen, else the address written.
pub fn submitted_participant(payload: &Payload) -> Option<(String, Option<String>, bool)> {
    let view = payload.view.as_ref().filter(|v| v.callback_id == PARTICIPANT_FORM)?;
    let mut parts = view.private_metadata.splitn(3, '|');
    let key = parts.next()?.to_owned();
    if let (Some("confirm"), Some(person)) = (parts.next(), parts.next()) {
        return Some((key, Some(person.to_owned()), true));
    }
    let person = payload
        .field(PARTICIPANT_USER)
        .or_else(|| payload.field(PARTICIPANT_EMAIL));
    Some((key, person, false))
}

/// A card's action, or the queue's "Take".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRequest {
    pub user: String,
    pub ticket_key: String,
    pub change: CardChange,
    pub trigger_id: String,
    pub response_url: Option<String>,
}

/// A modal's text about a ticket, submitted: an internal note, or why a request is declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketText {
    pub view_id: String,
    pub user: String,
    pub ticket_key: String,
    pub text: String,
}

/// An approver's Approve or Decline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest {
    pub user: String,
    pub ticket_key: String,
    pub approve: bool,
    pub trigger_id: String,
    pub response_url: Option<String>,
}

/// A requester's "Rate", or their submitted survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyRequest {
    pub user: String,
    pub ticket_key: String,
    pub resolution: i64,
    pub trigger_id: String,
    pub response_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub view_id: String,
    pub user: String,
    pub ticket_key: String,
    pub resolution: i64,
    /// As submitted: the desk checks it is 1 to 5.
    pub rating: String,
    pub comment: Option<String>,
}

/// What a survey is about, as its button's value and modal's metadata carry it.
pub fn survey_ref(ticket_key: &str, resolution: i64) -> String {
    format!("{ticket_key}#{resolution}")
}

fn read_survey_ref(value: &str) -> Option<(String, i64)> {
    let (key, resolution) = value.split_once('#')?;
    Some((key.to_owned(), resolution.parse().ok()?))
}

/// A button or menu of this module's, pressed.
pub fn decode_action(payload: &Payload) -> Option<Command> {
    let action = payload.actions.first()?;
    let user = payload.user_id().to_owned();
    let trigger_id = payload.trigger_id.clone().unwrap_or_default();
    let response_url = payload.response_url.clone();
    let card_key = action
        .block_id
        .strip_prefix(TICKET_ACTIONS)
        .unwrap_or_default()
        .to_owned();
    let value = action.value.clone().unwrap_or_default();
    let selected = action
        .selected_option
        .as_ref()
        .map(|o| o.value.clone())
        .unwrap_or_default();
    let card = |ticket_key: String, change| {
        Some(Command::Card(CardRequest {
            user: user.clone(),
            ticket_key,
            change,
            trigger_id: trigger_id.clone(),
            response_url: response_url.clone(),
        }))
    };
    match action.action_id.as_str() {
        ASSIGN_TO_ME => card(value, CardChange::AssignToMe),
        ASSIGN_TO => card(
            card_key,
            CardChange::AssignTo(action.selected_user.clone().unwrap_or_default()),
        ),
        SET_STATUS => card(card_key, CardChange::Status(selected)),
        SET_PRIORITY => card(card_key, CardChange::Priority(selected)),
        SET_DEPARTMENT => card(card_key, CardChange::Department(selected)),
        ADD_NOTE => card(value, CardChange::OpenNote),
        ADD_PARTICIPANT => card(value, CardChange::OpenParticipant),
        APPROVE | DECLINE => Some(Command::Decide(DecisionRequest {
            user,
            ticket_key: value,
            approve: action.action_id == APPROVE,
            trigger_id,
            response_url,
        })),
        RATE => {
            let (ticket_key, resolution) = read_survey_ref(&value)?;
            Some(Command::OpenSurvey(SurveyRequest {
                user,
                ticket_key,
                resolution,
                trigger_id,
                response_url,
            }))
        }
        _ => None,
    }
}

/// A modal of this module's, submitted.
pub fn decode_submission(payload: &Payload) -> Option<Command> {
    let view = payload.view.as_ref()?;
    let user = payload.user_id().to_owned();
    let field = |block: &str| payload.field(block);
    let text = |ticket_key: String| TicketText {
        view_id: view.id.clone(),
        user: user.clone(),
        ticket_key,
        text: field(TEXT_FIELD).unwrap_or_default(),
    };
    match view.callback_id.as_str() {
        INTERNAL_NOTE => Some(Command::Note(text(view.private_metadata.clone()))),
        PARTICIPANT_FORM => {
            let (ticket_key, person, confirm) = submitted_participant(payload)?;
            Some(Command::AddParticipant(ParticipantSubmission {
                user,
                ticket_key,
                person: person?,
                confirm,
            }))
        }
        DECLINE_REASON => Some(Command::Declined(text(view.private_metadata.clone()))),
        SURVEY => {
            let (ticket_key, resolution) = read_survey_ref(&view.private_metadata)?;
            Some(Command::Rated(SurveyAnswer {
                view_id: view.id.clone(),
                user,
                ticket_key,
                resolution,
                rating: field(RATING_FIELD).unwrap_or_default(),
                comment: field(COMMENT_FIELD),
            }))
        }
        _ => None,
    }
}

impl Payload {
    /// The value of one input of a submitted modal, whatever kind of input it is.
    pub fn field(&self, block: &str) -> Option<String> {
        self.view
            .as_ref()?
            .state
            .as_ref()?
            .values
            .get(block)?
            .values()
            .find_map(input_value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn card_actions_name_their_ticket_by_block_or_value() {
        let payload = |action: serde_json::Value| {
            Payload::parse(
                &json!({ "type": "block_actions", "user": { "id": "U1" }, "trigger_id": "1.2", "actions": [action] })
                    .to_string(),
            )
            .unwrap()
        };
        let status = payload(
            json!({ "action_id": SET_STATUS, "block_id": "ticket:IT-4", "selected_option": { "value": "Resolved" } }),
        );
        let Some(Command::Card(request)) = decode_action(&status) else {
            panic!("not a card action")
        };
        assert_eq!(request.ticket_key, "IT-4");
        assert_eq!(request.change, CardChange::Status("Resolved".into()));
        let assign = payload(json!({ "action_id": ASSIGN_TO, "block_id": "ticket:IT-4", "selected_user": "U7" }));
        assert!(
            matches!(decode_action(&assign), Some(Command::Card(CardRequest { change: CardChange::AssignTo(u), .. })) if u == "U7")
        );
        let rate = payload(json!({ "action_id": RATE, "value": survey_ref("IT-4", 2) }));
        assert!(matches!(
            decode_action(&rate),
            Some(Command::OpenSurvey(SurveyRequest { resolution: 2, .. }))
        ));
        let forged = payload(json!({ "action_id": RATE, "value": "IT-4#two" }));
        assert_eq!(decode_action(&forged), None);
    }
}
