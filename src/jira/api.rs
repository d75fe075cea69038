//! The Jira Cloud REST client: the Service Management API (`/rest/servicedeskapi`) and the
//! platform API (`/rest/api/3`), with an account's email and API token (HTTP Basic).
//!
//! Every answer is sorted into what the caller does next: network errors, timeouts, 429
//! (with its `Retry-After`) and 5xx are [`JiraError::Transient`] and retried from the
//! outbox; 401 is [`JiraError::Unauthorized`], which pauses the project's sync; 404 is
//! [`JiraError::NotFound`]; any other refusal is permanent.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Secret;

#[derive(Debug, Clone, thiserror::Error)]
pub enum JiraError {
    #[error("Jira did not answer in time or at all: {why}")]
    Transient { why: String, retry_after: Option<Duration> },
    #[error("Jira refused the account's credentials ({0})")]
    Unauthorized(String),
    #[error("Jira has no {0}")]
    NotFound(String),
    #[error("Jira refused: {0}")]
    Refused(String),
}

pub type Result<T, E = JiraError> = std::result::Result<T, E>;

/// Longest wait a `Retry-After` may ask for before the outbox tries again.
const MOST_RETRY_AFTER: Duration = Duration::from_secs(600);
/// How much of an error answer is kept to say what was wrong.
const ERROR_CHARS: usize = 300;

/// A Jira account: who deskhand calls as.
#[derive(Clone)]
pub struct JiraApi {
    http: reqwest::Client,
    site: String,
    email: String,
    token: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub account_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDesk {
    pub id: String,
    pub project_key: String,
    #[serde(default)]
    pub project_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestType {
    pub id: String,
    pub name: String,
}

/// What a request type asks for, and what the account may do with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestTypeFields {
    #[serde(default)]
    pub request_type_fields: Vec<RequestTypeField>,
    #[serde(default)]
    pub can_raise_on_behalf_of: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestTypeField {
    pub field_id: String,
    #[serde(default)]
    pub required: bool,
}

/// A request Jira raised: its issue's id and key.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Raised {
    pub issue_id: String,
    pub issue_key: String,
}

/// A customer request as deskhand raises it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRequest {
    pub service_desk_id: String,
    pub request_type_id: String,
    pub request_field_values: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raise_on_behalf_of: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transition {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub to: StatusName,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatusName {
    pub name: String,
}

/// One page of a JQL search.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    #[serde(default)]
    pub start_at: usize,
    #[serde(default)]
    pub total: usize,
    #[serde(default)]
    pub issues: Vec<Value>,
}

/// One page of a Service Management list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
    #[serde(default = "yes")]
    pub is_last_page: bool,
}

fn yes() -> bool {
    true
}

/// An approval of a request, with its approvers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: String,
    #[serde(default)]
    pub final_decision: String,
    #[serde(default)]
    pub approvers: Vec<Approver>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approver {
    pub approver: Account,
    #[serde(default)]
    pub approver_decision: String,
}

/// A comment of a request, as the Service Management API lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestComment {
    pub id: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub author: Option<Account>,
}

fn clipped(text: &str) -> String {
    text.chars().take(ERROR_CHARS).collect()
}

/// Jira's own words for a refusal: `errorMessage` (Service Management), or
/// `errorMessages` and `errors` (the platform); else the body's start.
fn jira_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return clipped(body);
    };
    let mut said: Vec<String> = Vec::new();
    if let Some(message) = value["errorMessage"].as_str() {
        said.push(message.to_owned());
    }
    for message in value["errorMessages"].as_array().into_iter().flatten() {
        said.extend(message.as_str().map(str::to_owned));
    }
    if let Some(errors) = value["errors"].as_object() {
        for (field, message) in errors {
            said.push(format!("{field}: {}", message.as_str().unwrap_or_default()));
        }
    }
    if said.is_empty() {
        clipped(body)
    } else {
        clipped(&said.join("; "))
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MOST_RETRY_AFTER))
}

/// `text` as a JQL string literal.
pub fn jql_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl JiraApi {
    pub fn new(http: reqwest::Client, site: &str, email: &str, token: Secret) -> Self {
        Self {
            http,
            site: site.trim_end_matches('/').to_owned(),
            email: email.to_owned(),
            token,
        }
    }

    /// The client deskhand's Jira calls share, each call at most `timeout`.
    pub fn http_client(timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(16)
            .build()
            .unwrap_or_default()
    }

    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<&Value>) -> Result<T> {
        let text = self.call_text(method, path, body).await?;
        let text = if text.trim().is_empty() { "null" } else { &text };
        serde_json::from_str(text).map_err(|e| JiraError::Refused(format!("an answer deskhand cannot read: {e}")))
    }

    async fn call_text(&self, method: Method, path: &str, body: Option<&Value>) -> Result<String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.site))
            .basic_auth(&self.email, Some(self.token.expose()))
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| JiraError::Transient {
            why: if e.is_timeout() {
                "timed out".into()
            } else {
                "could not reach it".into()
            },
            retry_after: None,
        })?;
        let status = response.status();
        let wait = retry_after(&response);
        let text = response.text().await.map_err(|_| JiraError::Transient {
            why: "the answer was cut off".into(),
            retry_after: None,
        })?;
        match status {
            s if s.is_success() => Ok(text),
            StatusCode::TOO_MANY_REQUESTS => Err(JiraError::Transient {
                why: "rate limited (429)".into(),
                retry_after: wait,
            }),
            s if s.is_server_error() => Err(JiraError::Transient {
                why: format!("{} {}", s.as_u16(), jira_message(&text)),
                retry_after: wait,
            }),
            StatusCode::UNAUTHORIZED => Err(JiraError::Unauthorized(jira_message(&text))),
            StatusCode::NOT_FOUND => Err(JiraError::NotFound(format!("{path}: {}", jira_message(&text)))),
            s => Err(JiraError::Refused(format!("{} {}", s.as_u16(), jira_message(&text)))),
        }
    }

    /// The account deskhand calls as.
    pub async fn myself(&self) -> Result<Account> {
        self.call(Method::GET, "/rest/api/3/myself", None).await
    }

    pub async fn service_desk(&self, id: &str) -> Result<ServiceDesk> {
        self.call(Method::GET, &format!("/rest/servicedeskapi/servicedesk/{id}"), None)
            .await
    }

    /// Every request type of a service desk, page after page.
    pub async fn request_types(&self, service_desk: &str) -> Result<Vec<RequestType>> {
        let mut all = Vec::new();
        for page in 0..100 {
            let path = format!(
                "/rest/servicedeskapi/servicedesk/{service_desk}/requesttype?start={}&limit=50",
                page * 50
            );
            let found: Page<RequestType> = self.call(Method::GET, &path, None).await?;
            all.extend(found.values);
            if found.is_last_page {
                break;
            }
        }
        Ok(all)
    }

    /// The fields of a request type, and whether the account may raise it for others.
    pub async fn request_type_fields(&self, service_desk: &str, request_type: &str) -> Result<RequestTypeFields> {
        self.call(
            Method::GET,
            &format!("/rest/servicedeskapi/servicedesk/{service_desk}/requesttype/{request_type}/field"),
            None,
        )
        .await
    }

    /// The Jira user with this address, when Jira finds exactly them.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<Account>> {
        let query: String = form_urlencoded::byte_serialize(email.as_bytes()).collect();
        let found: Vec<Account> = self
            .call(Method::GET, &format!("/rest/api/3/user/search?query={query}"), None)
            .await?;
        let exact = found.iter().find(|a| {
            a.email_address
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        // Jira hides addresses by people's privacy settings: one match is the person.
        Ok(exact.cloned().or_else(|| (found.len() == 1).then(|| found[0].clone())))
    }

    /// Make someone a JSM customer (Jira administrators only).
    pub async fn create_customer(&self, email: &str, name: &str) -> Result<Account> {
        let body = json!({ "email": email, "displayName": name });
        self.call(Method::POST, "/rest/servicedeskapi/customer", Some(&body))
            .await
    }

    /// Let a customer raise requests in a service desk.
    pub async fn add_customer(&self, service_desk: &str, account_id: &str) -> Result<()> {
        let body = json!({ "accountIds": [account_id] });
        self.call_text(
            Method::POST,
            &format!("/rest/servicedeskapi/servicedesk/{service_desk}/customer"),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    pub async fn create_request(&self, request: &NewRequest) -> Result<Raised> {
        let body = serde_json::to_value(request).map_err(|e| JiraError::Refused(e.to_string()))?;
        self.call(Method::POST, "/rest/servicedeskapi/request", Some(&body))
            .await
    }

    /// The issues a JQL query finds, one page: `fields` of each.
    pub async fn search(&self, jql: &str, start_at: usize, max_results: usize, fields: &[&str]) -> Result<Found> {
        let body = json!({ "jql": jql, "startAt": start_at, "maxResults": max_results, "fields": fields });
        self.call(Method::POST, "/rest/api/3/search", Some(&body)).await
    }

    /// A comment on a request, public or internal; its id.
    pub async fn add_comment(&self, issue: &str, body: &str, public: bool) -> Result<String> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let request = json!({ "body": body, "public": public });
        let created: Created = self
            .call(
                Method::POST,
                &format!("/rest/servicedeskapi/request/{issue}/comment"),
                Some(&request),
            )
            .await?;
        Ok(created.id)
    }

    /// A request's comments, one page.
    pub async fn comments(&self, issue: &str, start: usize, limit: usize) -> Result<Page<RequestComment>> {
        self.call(
            Method::GET,
            &format!("/rest/servicedeskapi/request/{issue}/comment?start={start}&limit={limit}"),
            None,
        )
        .await
    }

    /// A request's approvals, one page.
    pub async fn approvals(&self, issue: &str) -> Result<Page<Approval>> {
        self.call(
            Method::GET,
            &format!("/rest/servicedeskapi/request/{issue}/approval?start=0&limit=50"),
            None,
        )
        .await
    }

    /// Add customers to a request's participants.
    pub async fn add_participant(&self, issue: &str, account_id: &str) -> Result<()> {
        let body = json!({ "accountIds": [account_id] });
        self.call_text(
            Method::POST,
            &format!("/rest/servicedeskapi/request/{issue}/participant"),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// The moves an issue can make now.
    pub async fn transitions(&self, issue: &str) -> Result<Vec<Transition>> {
        #[derive(Deserialize)]
        struct Transitions {
            transitions: Vec<Transition>,
        }
        let found: Transitions = self
            .call(Method::GET, &format!("/rest/api/3/issue/{issue}/transitions"), None)
            .await?;
        Ok(found.transitions)
    }

    pub async fn transition(&self, issue: &str, transition_id: &str) -> Result<()> {
        let body = json!({ "transition": { "id": transition_id } });
        self.call_text(
            Method::POST,
            &format!("/rest/api/3/issue/{issue}/transitions"),
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    pub async fn set_priority(&self, issue: &str, priority: &str) -> Result<()> {
        let body = json!({ "fields": { "priority": { "name": priority } } });
        self.call_text(Method::PUT, &format!("/rest/api/3/issue/{issue}"), Some(&body))
            .await
            .map(|_| ())
    }

    /// The names of Jira's priorities.
    pub async fn priorities(&self) -> Result<Vec<String>> {
        let found: Vec<StatusName> = self.call(Method::GET, "/rest/api/3/priority", None).await?;
        Ok(found.into_iter().map(|p| p.name).collect())
    }

    /// Assign an issue to an account.
    pub async fn assign(&self, issue: &str, account_id: &str) -> Result<()> {
        let body = json!({ "accountId": account_id });
        self.call_text(Method::PUT, &format!("/rest/api/3/issue/{issue}/assignee"), Some(&body))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_jira_says_them() {
        assert_eq!(jira_message(r#"{"errorMessage":"No such desk"}"#), "No such desk");
        assert_eq!(
            jira_message(r#"{"errorMessages":["Bad"],"errors":{"summary":"required"}}"#),
            "Bad; summary: required"
        );
        assert_eq!(jira_message("<html>oops"), "<html>oops");
    }

    #[test]
    fn jql_strings_are_quoted() {
        assert_eq!(jql_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
