//! What Jira answered that deskhand's mirror keeps: written with the effect's outcome, in
//! the dispatcher's group commit, with the effects it causes (the messages that show it).

use crate::desk::effects::Effect;
use crate::store::{NewEffect, Store, StoreError, Tx};

/// What Jira answered that the mirror keeps, recorded with the effect's outcome.
#[derive(Debug, Clone)]
pub enum JiraDone {
    /// The request was raised: the ticket takes its key, and its messages show it.
    Linked {
        ticket_id: i64,
        installation: Option<String>,
        issue_id: String,
        key: String,
        url: String,
    },
    /// Jira refused the request for good: the card says why.
    Refused {
        ticket_id: i64,
        installation: Option<String>,
        error: String,
    },
    /// A comment is this Jira comment.
    Comment { comment_id: i64, jira_id: String },
    /// deskhand changed the issue at `at` (unix ms): what Jira told of before is older.
    Seen { ticket_id: i64, at: i64 },
    /// Approvers to ask in Slack, for approvals Jira waits for.
    Approvers {
        ticket_id: i64,
        installation: Option<String>,
        asks: Vec<ApproverAsk>,
    },
    /// Jira did not make a move deskhand asked for: the mirror shows Jira's status again.
    Status {
        ticket_id: i64,
        installation: Option<String>,
        status: String,
        category: String,
        note: String,
    },
}

impl JiraDone {
    pub(super) async fn record(&self, tx: &mut Tx) -> Result<(), StoreError> {
        let refresh = |ticket_id: i64, installation: &Option<String>| -> Vec<NewEffect> {
            [
                Effect::RefreshThreadReply { ticket_id },
                Effect::RefreshAgentCard { ticket_id },
            ]
            .iter()
            .map(|e| NewEffect::of(e).through(installation.as_deref()))
            .collect()
        };
        match self {
            JiraDone::Linked {
                ticket_id,
                installation,
                issue_id,
                key,
                url,
            } => {
                if Store::link_jira_issue(tx, *ticket_id, issue_id, key, url).await? {
                    Store::enqueue_effects(tx, &refresh(*ticket_id, installation)).await?;
                }
            }
            JiraDone::Refused {
                ticket_id,
                installation,
                error,
            } => {
                Store::jira_filing_failed(tx, *ticket_id, error).await?;
                let mut effects = refresh(*ticket_id, installation);
                let note = Effect::PostCardNote {
                    ticket_id: *ticket_id,
                    text: format!(":warning: Jira refused to raise this request: {error}"),
                };
                effects.push(NewEffect::of(&note).through(installation.as_deref()));
                Store::enqueue_effects(tx, &effects).await?;
            }
            JiraDone::Comment { comment_id, jira_id } => Store::link_jira_comment(tx, *comment_id, jira_id).await?,
            JiraDone::Approvers {
                ticket_id,
                installation,
                asks,
            } => {
                let mut effects = Vec::new();
                for ask in asks {
                    if Store::asked_jira_approver(tx, *ticket_id, &ask.approval_id, &ask.account_id).await? {
                        let dm = Effect::DirectMessage {
                            user: ask.slack_user.clone(),
                            text: ask.text.clone(),
                        };
                        effects.push(NewEffect::of(&dm).through(installation.as_deref()));
                    }
                }
                Store::enqueue_effects(tx, &effects).await?;
            }
            JiraDone::Seen { ticket_id, at } => {
                Store::saw_jira_at(tx, *ticket_id, *at).await?;
            }
            JiraDone::Status {
                ticket_id,
                installation,
                status,
                category,
                note,
            } => {
                Store::set_ticket_status(tx, *ticket_id, status, category).await?;
                let mut effects = refresh(*ticket_id, installation);
                let note = Effect::PostCardNote {
                    ticket_id: *ticket_id,
                    text: note.clone(),
                };
                effects.push(NewEffect::of(&note).through(installation.as_deref()));
                Store::enqueue_effects(tx, &effects).await?;
            }
        }
        Ok(())
    }
}

/// An approver of a Jira approval, known in Slack, and what they are told.
#[derive(Debug, Clone)]
pub struct ApproverAsk {
    pub(super) approval_id: String,
    pub(super) account_id: String,
    pub(super) slack_user: String,
    pub(super) text: String,
}
