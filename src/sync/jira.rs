//! The Jira sender: the outbox's Jira effects as Service Management and platform calls,
//! with the project's account (or, for a guest's words, their channel facilitator's).
//!
//! Each is safe to repeat. A request whose creation may have gone through (its answer was
//! lost) is looked for by the reference in its description before it is raised again; a
//! comment likewise by its words. While Jira refuses a project's account its sync is
//! paused: its effects wait, and the admins are told once.

use std::time::Duration;

use crate::admin::jira::{connection_of, facilitator_purpose};
use crate::desk::customers::managed_domain;
use crate::desk::effects::Effect;
use crate::desk::jira::{comment_body, is_issue_key, is_numeric_id, reference, request_description, Voice};
use crate::desk::workflow::Workflow;
use crate::jira::api::{jql_string, JiraApi, JiraError, NewRequest};
use crate::store::{ClaimedEffect, JiraBackendRecord, NewEffect, Settle, Store, StoreError, TicketRecord};
use crate::sync::dispatcher::{Completion, Dispatcher};
use crate::sync::{backoff, out_of_tries};
use crate::vault::Vault;

/// How long a paused project's effects wait before they look again.
const PAUSED_WAIT: Duration = Duration::from_secs(15);

pub use super::jira_answers::{ApproverAsk, JiraDone};

/// What deskhand needs to call Jira.
#[derive(Clone)]
pub struct JiraSender {
    pub http: reqwest::Client,
    pub vault: Option<Vault>,
}

/// How a call ended before it is a completion.
enum Sent {
    Done(Option<JiraDone>),
    Failed(JiraError),
}

impl From<Result<Option<JiraDone>, JiraError>> for Sent {
    fn from(result: Result<Option<JiraDone>, JiraError>) -> Self {
        match result {
            Ok(done) => Sent::Done(done),
            Err(e) => Sent::Failed(e),
        }
    }
}

impl Dispatcher {
    /// Carry out a Jira effect for its ticket.
    pub(super) async fn send_to_jira(
        &self,
        claimed: &ClaimedEffect,
        effect: &Effect,
        ticket: Option<TicketRecord>,
    ) -> Completion {
        let ticket_id = match effect {
            Effect::JiraCreate { ticket_id }
            | Effect::JiraComment { ticket_id, .. }
            | Effect::JiraTransition { ticket_id, .. }
            | Effect::JiraPriority { ticket_id }
            | Effect::JiraAssign { ticket_id }
            | Effect::JiraApprovals { ticket_id }
            | Effect::JiraParticipant { ticket_id, .. } => *ticket_id,
            _ => return self.failed(claimed, "not a Jira effect".into()),
        };
        let ticket = match ticket {
            Some(ticket) => ticket,
            None => match self.store.ticket(ticket_id).await {
                Ok(ticket) => ticket,
                Err(e) => return self.retry_store(claimed, e),
            },
        };
        let backend = match self.store.jira_backend(&ticket.project_key).await {
            Ok(Some(backend)) => backend,
            Ok(None) => {
                return self.failed(
                    claimed,
                    format!("project {} is not connected to Jira", ticket.project_key),
                )
            }
            Err(e) => return self.retry_store(claimed, e),
        };
        if backend.paused_at.is_some() {
            return self.defer(claimed, PAUSED_WAIT);
        }
        let Some(vault) = self.jira.vault.as_ref() else {
            return self.failed(
                claimed,
                "DESKHAND_SECRET_KEY is not set: Jira's token cannot be opened".into(),
            );
        };
        let api = match connection_of(&backend, vault) {
            Ok(connection) => JiraApi::new(
                self.jira.http.clone(),
                &connection.site_url,
                &connection.email,
                connection.token,
            ),
            Err(e) => return self.failed(claimed, e.to_string()),
        };
        // Whatever Jira refused a ticket, or deleted, there is nothing more to send it.
        if !matches!(effect, Effect::JiraCreate { .. }) && ticket.jira_state.as_deref() != Some("linked") {
            return self.done(claimed);
        }
        let sent: Sent = match effect {
            Effect::JiraCreate { .. } => self.raise(claimed, &api, vault, &backend, &ticket).await,
            Effect::JiraComment { comment_id, .. } => {
                match self.comment(claimed, &api, vault, &backend, &ticket, *comment_id).await {
                    Ok(sent) => sent,
                    Err(e) => return self.retry_store(claimed, e),
                }
            }
            Effect::JiraTransition { status, .. } => self.move_issue(&api, &backend, &ticket, status).await.into(),
            Effect::JiraPriority { .. } => match backend.mappings().jira_priority(ticket.priority) {
                Some(priority) => api
                    .set_priority(&ticket.key, priority)
                    .await
                    .map(|_| seen(&ticket))
                    .into(),
                None => Sent::Done(None),
            },
            Effect::JiraAssign { .. } => self.assign(&api, &ticket).await.into(),
            Effect::JiraApprovals { .. } => self.approvers(&api, &ticket).await.into(),
            Effect::JiraParticipant { email, .. } => match self.customer(&api, &backend, email, email).await {
                Ok(Some(account)) => api.add_participant(&ticket.key, &account).await.map(|_| None).into(),
                Ok(None) => Sent::Done(None),
                Err(e) => Sent::Failed(e),
            },
            _ => return self.failed(claimed, "not a Jira effect".into()),
        };
        match sent {
            Sent::Done(jira) => Completion {
                jira: jira.map(Box::new),
                ..self.done(claimed)
            },
            Sent::Failed(e) => self.jira_failed(claimed, &backend, e).await,
        }
    }

    fn defer(&self, claimed: &ClaimedEffect, wait: Duration) -> Completion {
        Completion {
            settle: Settle::Defer {
                due_at: self.store.now_ms() + wait.as_millis() as i64,
            },
            ..self.done(claimed)
        }
    }

    /// Raise the ticket's request, once: after an attempt whose answer was lost, the
    /// request is looked for first.
    async fn raise(
        &self,
        claimed: &ClaimedEffect,
        api: &JiraApi,
        vault: &Vault,
        backend: &JiraBackendRecord,
        ticket: &TicketRecord,
    ) -> Sent {
        if !ticket.is_filing() {
            return Sent::Done(None);
        }
        let linked = |issue_id: String, key: String| {
            Sent::Done(Some(JiraDone::Linked {
                ticket_id: ticket.id,
                installation: ticket.installation.clone(),
                url: backend.browse_url(&key),
                issue_id,
                key,
            }))
        };
        let reference = reference(ticket.id, ticket.created_at);
        if claimed.ambiguous || claimed.attempts > 1 {
            let jql = format!(
                "project = {} AND text ~ {}",
                jql_string(&backend.jira_project),
                jql_string(&reference)
            );
            match api.search(&jql, 0, 1, &["summary"]).await {
                Ok(found) => {
                    let found = found.issues.first().and_then(|issue| {
                        let id = issue["id"].as_str().filter(|id| is_numeric_id(id))?;
                        let key = issue["key"].as_str().filter(|key| is_issue_key(key))?;
                        Some((id.to_owned(), key.to_owned()))
                    });
                    if let Some((id, key)) = found {
                        tracing::info!(ticket.id = ticket.id, jira.key = %key, "found the request an earlier attempt raised");
                        return linked(id, key);
                    }
                }
                Err(e) => return Sent::Failed(e),
            }
        }
        // A guest's request goes through their channel's facilitator's own account.
        let guest = guest_of(ticket);
        let facilitator = match &guest {
            Some(_) => self.facilitator_api(vault, &backend.site_url, &ticket.channel_id).await,
            None => None,
        };
        let api = facilitator.as_ref().unwrap_or(api);
        let (email, name) = match &guest {
            Some(guest) => (guest.email.clone(), guest.name.clone()),
            None => {
                let user = self.store.slack_user(&ticket.requester_slack_id).await.ok().flatten();
                (user.and_then(|u| u.email), ticket.requester_name.clone())
            }
        };
        let on_behalf = match email {
            Some(email) => match self.customer(api, backend, &email, &name).await {
                Ok(account) => account,
                Err(e) => return Sent::Failed(e),
            },
            None => None,
        };
        let behalf_words = match (&on_behalf, &guest) {
            (Some(_), _) => None,
            (None, Some(guest)) => Some(guest.name.as_str()),
            (None, None) => Some(ticket.requester_name.as_str()),
        };
        let mappings = backend.mappings();
        let mut fields = serde_json::json!({
            "summary": summary_of(&ticket.summary),
            "description": request_description(&ticket.description, &ticket.permalink, behalf_words, &reference),
        });
        if let (Some(field), Some(department)) = (&mappings.department_field, &ticket.department) {
            fields[field] = serde_json::json!({ "value": department });
        }
        let request = NewRequest {
            service_desk_id: backend.service_desk_id.clone(),
            request_type_id: mappings
                .request_type(ticket.department.as_deref(), &backend.request_type_id)
                .to_owned(),
            request_field_values: fields,
            raise_on_behalf_of: on_behalf,
        };
        match api.create_request(&request).await {
            Ok(raised) if is_issue_key(&raised.issue_key) && is_numeric_id(&raised.issue_id) => {
                linked(raised.issue_id, raised.issue_key)
            }
            Ok(raised) => Sent::Failed(JiraError::Refused(format!(
                "Jira answered with an issue key deskhand cannot use: {:?}",
                raised.issue_key
            ))),
            Err(JiraError::Refused(why)) => Sent::Done(Some(JiraDone::Refused {
                ticket_id: ticket.id,
                installation: ticket.installation.clone(),
                error: why,
            })),
            Err(e) => Sent::Failed(e),
        }
    }

    /// The requester's JSM customer account: theirs when Jira knows the address, else a
    /// new customer when the project allows it (never for a managed domain); `None`
    /// otherwise, and the request says whose it is.
    async fn customer(
        &self,
        api: &JiraApi,
        backend: &JiraBackendRecord,
        email: &str,
        name: &str,
    ) -> Result<Option<String>, JiraError> {
        if let Some(account) = api.user_by_email(email).await? {
            return Ok(Some(account.account_id));
        }
        let managed = self
            .store
            .settings()
            .await
            .map(|s| s.managed_domains)
            .unwrap_or_default();
        if !backend.create_customers || managed_domain(email, &managed).is_some() {
            return Ok(None);
        }
        let account = match api.create_customer(email, name).await {
            Ok(account) => account,
            // Jira administrators only: without the right, the request says whose it is.
            Err(JiraError::Refused(why)) => {
                tracing::warn!(error = %why, "Jira would not make a requester a customer");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        api.add_customer(&backend.service_desk_id, &account.account_id).await?;
        Ok(Some(account.account_id))
    }

    /// The Jira client of a support channel's facilitator, on the project's site, when an
    /// admin authorized one.
    async fn facilitator_api(&self, vault: &Vault, site: &str, channel: &str) -> Option<JiraApi> {
        let facilitator = self.store.jira_facilitator(channel).await.ok().flatten()?;
        let token = vault
            .open(&facilitator.account_token, &facilitator_purpose(channel))
            .ok()?;
        Some(JiraApi::new(
            self.jira.http.clone(),
            site,
            &facilitator.email,
            crate::config::Secret::new(token),
        ))
    }

    /// Add a comment to the request, once; a guest's through their facilitator.
    async fn comment(
        &self,
        claimed: &ClaimedEffect,
        api: &JiraApi,
        vault: &Vault,
        backend: &JiraBackendRecord,
        ticket: &TicketRecord,
        comment_id: i64,
    ) -> Result<Sent, StoreError> {
        let comment = self.store.comment(comment_id).await?;
        if comment.jira_comment_id.is_some() {
            return Ok(Sent::Done(None));
        }
        let public = comment.visibility == "public";
        let guest = comment
            .on_behalf_of
            .as_deref()
            .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok());
        let voice = match &guest {
            Some(guest) => Voice::OnBehalfOf {
                name: guest["name"].as_str().unwrap_or("a guest"),
                permalink: &comment.permalink,
            },
            None => Voice::Person(&comment.author_name),
        };
        let body = comment_body(&comment.body, voice);
        let facilitator = match &guest {
            Some(_) => self.facilitator_api(vault, &backend.site_url, &ticket.channel_id).await,
            None => None,
        };
        let api = facilitator.as_ref().unwrap_or(api);
        let linked = |jira_id: String| Sent::Done(Some(JiraDone::Comment { comment_id, jira_id }));
        if claimed.ambiguous || claimed.attempts > 1 {
            match find_comment(api, &ticket.key, &body).await {
                Ok(Some(id)) => return Ok(linked(id)),
                Ok(None) => {}
                Err(e) => return Ok(Sent::Failed(e)),
            }
        }
        Ok(match api.add_comment(&ticket.key, &body, public).await {
            Ok(id) => linked(id),
            Err(e) => Sent::Failed(e),
        })
    }

    /// Move the issue to `status` with the transition Jira offers to it; when it offers
    /// none, the mirror shows Jira's status again and the card says why.
    async fn move_issue(
        &self,
        api: &JiraApi,
        backend: &JiraBackendRecord,
        ticket: &TicketRecord,
        status: &str,
    ) -> Result<Option<JiraDone>, JiraError> {
        let transitions = api.transitions(&ticket.key).await?;
        if let Some(t) = transitions.iter().find(|t| t.to.name.eq_ignore_ascii_case(status)) {
            api.transition(&ticket.key, &t.id).await?;
            return Ok(seen(ticket));
        }
        let found = api
            .search(&format!("key = {}", jql_string(&ticket.key)), 0, 1, &["status"])
            .await?;
        let Some(now) = found
            .issues
            .first()
            .and_then(|i| i["fields"]["status"]["name"].as_str())
        else {
            return Ok(None);
        };
        let workflow = match self.store.project(&backend.project_key).await {
            Ok(project) => project.workflow(),
            Err(_) => Workflow::default(),
        };
        let category = workflow
            .status(now)
            .map(|s| s.category.as_str())
            .unwrap_or("in_progress");
        Ok(Some(JiraDone::Status {
            ticket_id: ticket.id,
            installation: ticket.installation.clone(),
            status: now.to_owned(),
            category: category.to_owned(),
            note: format!(":warning: Jira offers no move from *{now}* to *{status}*; the request stays *{now}*."),
        }))
    }

    /// The approvers of the ticket's pending Jira approvals whom deskhand knows in Slack:
    /// told with a link, since only their own Jira account can answer.
    async fn approvers(&self, api: &JiraApi, ticket: &TicketRecord) -> Result<Option<JiraDone>, JiraError> {
        let page = api.approvals(&ticket.key).await?;
        let link = ticket.jira_url.as_deref().unwrap_or_default();
        let mut asks = Vec::new();
        for approval in page.values.iter().filter(|a| a.final_decision == "pending") {
            for approver in approval.approvers.iter().filter(|a| a.approver_decision == "pending") {
                let Some(email) = approver.approver.email_address.as_deref() else {
                    continue;
                };
                let Ok(Some(user)) = self.store.slack_user_by_email(&email.to_lowercase()).await else {
                    continue;
                };
                asks.push(ApproverAsk {
                    approval_id: approval.id.clone(),
                    account_id: approver.approver.account_id.clone(),
                    slack_user: user.slack_user_id,
                    text: format!(
                        ":raised_hand: Your approval is asked for *<{link}|{}>* · {} from {}. Jira takes the \
                         decision only from your own account: <{link}|approve or decline it in Jira>.",
                        ticket.key, ticket.summary, ticket.requester_name
                    ),
                });
            }
        }
        Ok((!asks.is_empty()).then(|| JiraDone::Approvers {
            ticket_id: ticket.id,
            installation: ticket.installation.clone(),
            asks,
        }))
    }

    /// Assign the issue to the ticket's assignee's Jira account, found by their email.
    async fn assign(&self, api: &JiraApi, ticket: &TicketRecord) -> Result<Option<JiraDone>, JiraError> {
        let Some(assignee) = ticket.assignee_slack_id.as_deref() else {
            return Ok(None);
        };
        let email = self
            .store
            .slack_user(assignee)
            .await
            .ok()
            .flatten()
            .and_then(|u| u.email);
        let Some(email) = email else {
            return Ok(None);
        };
        match api.user_by_email(&email).await? {
            Some(account) => api.assign(&ticket.key, &account.account_id).await.map(|_| seen(ticket)),
            None => {
                tracing::info!(ticket.key = %ticket.key, "the assignee has no Jira account; not assigned in Jira");
                Ok(None)
            }
        }
    }

    /// A Jira call failed: retried when it may succeed later; a refused account pauses
    /// its project's sync (the effect waits) and the admins hear of it once.
    async fn jira_failed(&self, claimed: &ClaimedEffect, backend: &JiraBackendRecord, e: JiraError) -> Completion {
        match e {
            JiraError::Transient { why, retry_after } => {
                if out_of_tries(claimed.created_at, self.store.now_ms(), claimed.attempts) {
                    return self.failed(claimed, format!("gave up after a day of retries: {why}"));
                }
                let wait = retry_after.unwrap_or_else(|| backoff(claimed.attempts));
                tracing::warn!(error = %why, retry_in = ?wait, "Jira call failed; will retry");
                Completion {
                    settle: Settle::Retry {
                        due_at: self.store.now_ms() + wait.as_millis() as i64,
                        error: why,
                        // Jira may have acted on a request whose answer was lost.
                        ambiguous: true,
                    },
                    ..self.done(claimed)
                }
            }
            JiraError::Unauthorized(why) => {
                let because = format!("Jira refused the account {}: {why}", backend.account_email);
                match self.store.pause_jira(&backend.project_key, &because).await {
                    Ok(true) => {
                        tracing::error!(project = %backend.project_key, "Jira refused the project's account; its sync is paused");
                        self.tell_admins(backend, &because).await;
                    }
                    Ok(false) => {}
                    Err(e) => return self.retry_store(claimed, e),
                }
                self.defer(claimed, PAUSED_WAIT)
            }
            other => self.failed(claimed, other.to_string()),
        }
    }

    /// DM deskhand's admins (the `admins` setting) that a project's Jira sync paused.
    async fn tell_admins(&self, backend: &JiraBackendRecord, because: &str) {
        let admins = self.store.settings().await.map(|s| s.admins).unwrap_or_default();
        let text = format!(
            ":warning: Jira sync of project *{}* is paused: {because}. Nothing is lost: it resumes once the \
             project is connected again with a working API token (`PUT /api/v1/projects/{}/backend`).",
            backend.project_key, backend.project_key
        );
        let effects: Vec<NewEffect> = admins
            .into_iter()
            .map(|user| {
                NewEffect::of(&Effect::DirectMessage {
                    user,
                    text: text.clone(),
                })
            })
            .collect();
        let written = async {
            let mut tx = self.store.begin().await?;
            Store::enqueue_effects(&mut tx, &effects).await?;
            tx.commit().await
        };
        if let Err(e) = written.await {
            tracing::error!(error = %e, "could not tell the admins that Jira sync paused");
        }
    }
}

/// deskhand's own change is the newest Jira has: by the wall clock, as Jira's is.
fn seen(ticket: &TicketRecord) -> Option<JiraDone> {
    Some(JiraDone::Seen {
        ticket_id: ticket.id,
        at: chrono::Utc::now().timestamp_millis(),
    })
}

/// Jira's summary is one line of at most 255 characters.
fn summary_of(summary: &str) -> String {
    let line = summary.lines().next().unwrap_or_default().trim();
    let line = if line.is_empty() { "Request from Slack" } else { line };
    line.chars().take(255).collect()
}

/// The guest a facilitated ticket was filed for: their name and address.
struct Guest {
    name: String,
    email: Option<String>,
}

fn guest_of(ticket: &TicketRecord) -> Option<Guest> {
    let json: serde_json::Value = serde_json::from_str(ticket.on_behalf_of.as_deref()?).ok()?;
    Some(Guest {
        name: json["name"].as_str().unwrap_or("a guest").to_owned(),
        email: json["email"].as_str().map(str::to_owned),
    })
}

/// A comment an earlier attempt may have added, by its words.
async fn find_comment(api: &JiraApi, issue: &str, body: &str) -> Result<Option<String>, JiraError> {
    let mut start = 0;
    for _ in 0..20 {
        let page = api.comments(issue, start, 50).await?;
        if let Some(found) = page.values.iter().find(|c| c.body == body) {
            return Ok(Some(found.id.clone()));
        }
        if page.is_last_page || page.values.is_empty() {
            break;
        }
        start += page.values.len();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_one_short_line() {
        assert_eq!(summary_of("VPN down\nsince noon"), "VPN down");
        assert_eq!(summary_of("  "), "Request from Slack");
        assert_eq!(summary_of(&"x".repeat(400)).len(), 255);
    }
}
