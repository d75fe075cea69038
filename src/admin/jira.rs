//! Connecting a project to a Jira Service Management service desk, and checking the
//! connection: the same use cases for the admin API and `deskhand doctor`. Jira is asked
//! through [`ServiceDeskProbe`], which the Jira edge implements.

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use super::doctor::Finding;
use super::{Actor, AdminError, Result};
use crate::config::Secret;
use crate::desk::config::{Field, Refusal};
use crate::desk::jira::{is_numeric_id, site_url, Mappings};
use crate::desk::workflow::{Status, Workflow};
use crate::store::{JiraBackendRecord, NewJiraBackend, Store};
use crate::vault::Vault;

/// How deskhand reaches a service desk.
#[derive(Debug, Clone)]
pub struct Connection {
    pub site_url: String,
    pub email: String,
    pub token: Secret,
    pub service_desk_id: String,
    /// The request type whose fields are asked about.
    pub request_type_id: String,
}

/// What Jira said about a connection, one answer per question.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The account's id and name.
    pub account: std::result::Result<(String, String), String>,
    /// The service desk's Jira project key.
    pub service_desk: std::result::Result<String, String>,
    /// The request types, as (id, name).
    pub request_types: std::result::Result<Vec<(String, String)>, String>,
    /// The names of Jira's priorities.
    pub priorities: std::result::Result<Vec<String>, String>,
    /// The default request type's field ids, and whether the account may raise requests
    /// on behalf of customers.
    pub fields: std::result::Result<(Vec<String>, bool), String>,
}

/// Jira, as the use cases ask it.
pub trait ServiceDeskProbe: Send + Sync {
    fn probe<'a>(&'a self, connection: &'a Connection) -> BoxFuture<'a, Probed>;
}

/// `PUT /api/v1/projects/{KEY}/backend`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendRequest {
    pub site_url: String,
    pub service_desk_id: String,
    /// The request type of requests no department mapping names.
    pub request_type_id: String,
    pub account: AccountRequest,
    /// The secret Jira's webhook signs its deliveries with.
    pub webhook_secret: String,
    /// Whether a requester Jira does not know is made a customer of the service desk
    /// (never for a managed domain).
    #[serde(default)]
    pub create_customers: bool,
    #[serde(default)]
    pub mappings: Mappings,
    /// Jira's statuses, in the order agents see them, each with its category; the first
    /// is where requests start.
    pub statuses: Vec<Status>,
    /// The status a requester's Close moves to.
    #[serde(default)]
    pub self_close: Option<String>,
    #[serde(default)]
    pub waiting_for_customer: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    pub email: String,
    pub api_token: String,
}

impl std::fmt::Debug for AccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

fn refused(message: impl Into<String>) -> AdminError {
    AdminError::Refused(Refusal::invalid(Field::Backend, message))
}

/// The vault that seals Jira's secrets, or why there is none.
pub fn vault_of(vault: Option<&Vault>) -> Result<&Vault> {
    vault.ok_or_else(|| {
        AdminError::Unavailable(
            "set DESKHAND_SECRET_KEY first: deskhand keeps Jira's API tokens and webhook secrets sealed with it".into(),
        )
    })
}

fn looks_like_email(email: &str) -> bool {
    email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'))
}

/// The workflow Jira's statuses make: any move Jira allows is allowed.
fn workflow_of(request: &BackendRequest) -> Result<Workflow> {
    let workflow = Workflow {
        statuses: request.statuses.clone(),
        self_close: request.self_close.clone(),
        transitions: None,
        waiting_for_customer: request.waiting_for_customer.clone(),
        resume_on_reply: true,
    };
    workflow.validate().map_err(|e| refused(format!("statuses: {e}")))?;
    Ok(workflow)
}

/// Connect `project` to its service desk, after Jira confirmed the account, the desk and
/// the request types. Its secrets are sealed; from now on its new requests are raised in
/// Jira.
pub async fn connect(
    store: &Store,
    probe: &dyn ServiceDeskProbe,
    vault: Option<&Vault>,
    actor: Actor<'_>,
    project: &str,
    request: BackendRequest,
) -> Result<JiraBackendRecord> {
    let vault = vault_of(vault)?;
    store
        .project(project)
        .await
        .map_err(|_| AdminError::NotFound(format!("no project {project}")))?;
    let site = site_url(&request.site_url)
        .ok_or_else(|| refused("site_url must be https://<your-site>.atlassian.net (no path)"))?;
    for (name, id) in [
        ("service_desk_id", &request.service_desk_id),
        ("request_type_id", &request.request_type_id),
    ] {
        if !is_numeric_id(id) {
            return Err(refused(format!("{name} must be Jira's numeric id")));
        }
    }
    if !looks_like_email(&request.account.email) {
        return Err(refused("account.email must be the Jira account's email address"));
    }
    if request.account.api_token.trim().is_empty() || request.account.api_token.len() > 1000 {
        return Err(refused("account.api_token must be the account's Jira API token"));
    }
    if request.webhook_secret.len() < 16 || request.webhook_secret.len() > 200 {
        return Err(refused("webhook_secret must be 16 to 200 characters"));
    }
    if let Some(problem) = request.mappings.problems().into_iter().next() {
        return Err(refused(problem));
    }
    let workflow = workflow_of(&request)?;
    let connection = Connection {
        site_url: site.clone(),
        email: request.account.email.clone(),
        token: Secret::new(request.account.api_token.clone()),
        service_desk_id: request.service_desk_id.clone(),
        request_type_id: request.request_type_id.clone(),
    };
    let probed = probe.probe(&connection).await;
    let lines = judge(&probed, &request.request_type_id, &request.mappings);
    if let Some(wrong) = lines.iter().find(|l| !l.ok) {
        return Err(AdminError::Refused(Refusal::invalid(
            Field::Backend,
            format!("{}: {}", wrong.check, wrong.detail),
        )));
    }
    let (Ok((account_id, _)), Ok(jira_project)) = (probed.account, probed.service_desk) else {
        return Err(refused("Jira did not confirm the account and the service desk"));
    };
    let projects = store.projects().await?;
    if projects.iter().any(|p| p.key == jira_project && p.key != project) {
        return Err(AdminError::Refused(Refusal::conflict(
            Field::Backend,
            format!("deskhand already has a project {jira_project}, whose keys Jira's issues would take"),
        )));
    }
    let sealed_token = vault.seal(&request.account.api_token, &token_purpose(project));
    let sealed_secret = vault.seal(&request.webhook_secret, &webhook_purpose(project));
    let mut tx = store.begin().await?;
    Store::save_jira_backend(
        &mut tx,
        &NewJiraBackend {
            project_key: project,
            site_url: &site,
            service_desk_id: &request.service_desk_id,
            jira_project: &jira_project,
            request_type_id: &request.request_type_id,
            account_email: &request.account.email,
            account_id: &account_id,
            sealed_token: &sealed_token,
            sealed_webhook_secret: &sealed_secret,
            mappings: &request.mappings,
            create_customers: request.create_customers,
        },
    )
    .await?;
    Store::set_workflow(&mut tx, project, &workflow).await?;
    let detail = json!({ "project": project, "site_url": site, "service_desk_id": request.service_desk_id });
    Store::insert_audits(&mut tx, &[actor.audit("jira_connected", detail)]).await?;
    tx.commit().await?;
    store
        .jira_backend(project)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no project {project}")))
}

/// The sealed secrets' purposes: a secret opens only for what it was sealed for.
pub fn token_purpose(project: &str) -> String {
    format!("jira-token:{project}")
}

pub fn webhook_purpose(project: &str) -> String {
    format!("jira-webhook:{project}")
}

/// A connected project's connection, its token opened.
pub fn connection_of(backend: &JiraBackendRecord, vault: &Vault) -> Result<Connection> {
    let token = vault
        .open(&backend.account_token, &token_purpose(&backend.project_key))
        .map_err(|e| AdminError::Unavailable(format!("the Jira API token cannot be opened: {e}")))?;
    Ok(Connection {
        site_url: backend.site_url.clone(),
        email: backend.account_email.clone(),
        token: Secret::new(token),
        service_desk_id: backend.service_desk_id.clone(),
        request_type_id: backend.request_type_id.clone(),
    })
}

fn line(check: String, ok: bool, detail: String) -> Finding {
    Finding { check, ok, detail }
}

/// What Jira's answers mean for the connection, one line each.
fn judge(probed: &Probed, request_type: &str, mappings: &Mappings) -> Vec<Finding> {
    let mut lines = Vec::new();
    lines.push(match &probed.account {
        Ok((id, name)) => line(
            "jira account".into(),
            true,
            format!("Jira accepts the account ({name}, {id})"),
        ),
        Err(e) => line(
            "jira account".into(),
            false,
            format!("{e}; check account.email and account.api_token (id.atlassian.com → API tokens)"),
        ),
    });
    lines.push(match &probed.service_desk {
        Ok(key) => line(
            "service desk".into(),
            true,
            format!("service desk of Jira project {key}"),
        ),
        Err(e) => line(
            "service desk".into(),
            false,
            format!("{e}; check service_desk_id, and that the account is an agent of it"),
        ),
    });
    match &probed.request_types {
        Ok(types) => {
            let known = |id: &str| types.iter().find(|(t, _)| t == id).map(|(_, name)| name.clone());
            let mut wanted = vec![("default".to_owned(), request_type.to_owned())];
            wanted.extend(
                mappings
                    .departments
                    .iter()
                    .map(|(d, t)| (format!("department {d}"), t.clone())),
            );
            for (what, id) in wanted {
                lines.push(match known(&id) {
                    Some(name) => line(format!("request type ({what})"), true, format!("{id} is {name}")),
                    None => line(
                        format!("request type ({what})"),
                        false,
                        format!("the service desk has no request type {id}"),
                    ),
                });
            }
        }
        Err(e) => lines.push(line("request types".into(), false, e.clone())),
    }
    match &probed.fields {
        Ok((fields, can_raise)) => {
            lines.push(if *can_raise {
                line(
                    "raise on behalf".into(),
                    true,
                    "the account raises requests on behalf of customers".into(),
                )
            } else {
                line(
                    "raise on behalf".into(),
                    false,
                    "the account cannot raise requests on behalf of customers: make it an agent of the service desk"
                        .into(),
                )
            });
            if let Some(field) = &mappings.department_field {
                let ok = fields.contains(field);
                let detail = if ok {
                    format!("departments are set in {field}")
                } else {
                    format!("the default request type has no field {field}")
                };
                lines.push(line("department field".into(), ok, detail));
            }
        }
        Err(e) => lines.push(line("request type fields".into(), false, e.clone())),
    }
    match &probed.priorities {
        Ok(names) => {
            for (ours, theirs) in &mappings.priorities {
                let ok = names.iter().any(|n| n.eq_ignore_ascii_case(theirs));
                let detail = if ok {
                    format!("{ours} is Jira's {theirs}")
                } else {
                    format!("Jira has no priority {theirs:?} (it has {})", names.join(", "))
                };
                lines.push(line(format!("priority {ours}"), ok, detail));
            }
        }
        Err(e) => lines.push(line("priorities".into(), false, e.clone())),
    }
    lines
}

/// Check a connected project's connection with Jira, line by line; a sync paused for the
/// account resumes when the account works again.
pub async fn check(
    store: &Store,
    probe: &dyn ServiceDeskProbe,
    vault: Option<&Vault>,
    backend: &JiraBackendRecord,
) -> Result<Vec<Finding>> {
    let vault = vault_of(vault)?;
    let connection = connection_of(backend, vault)?;
    let probed = probe.probe(&connection).await;
    let mut lines = judge(&probed, &backend.request_type_id, &backend.mappings());
    if let Ok(key) = &probed.service_desk {
        if *key != backend.jira_project {
            lines.push(line(
                "service desk".into(),
                false,
                format!(
                    "it is now of Jira project {key}, not {}: connect the project again",
                    backend.jira_project
                ),
            ));
        }
    }
    let account_ok = probed.account.is_ok();
    match (&backend.paused_because, account_ok) {
        (Some(_), true) => {
            store.resume_jira(&backend.project_key).await?;
            lines.push(line(
                "sync".into(),
                true,
                "was paused; Jira accepts the account again, so it resumed".into(),
            ));
        }
        (Some(why), false) => lines.push(line(
            "sync".into(),
            false,
            format!("paused: {why}; connect the project again with a working API token"),
        )),
        (None, _) => lines.push(line("sync".into(), true, "running".into())),
    }
    for l in &mut lines {
        l.check = format!("jira {}: {}", backend.project_key, l.check);
    }
    Ok(lines)
}

/// A support channel's facilitator's own Jira account: the guests they file for reach
/// Jira through it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilitatorAccount {
    pub email: String,
    pub api_token: String,
}

/// The sealed facilitator token's purpose.
pub fn facilitator_purpose(channel: &str) -> String {
    format!("jira-facilitator:{channel}")
}

/// Authorize the Jira account of a support channel's facilitator, after Jira accepted it
/// on the channel's project's site.
pub async fn authorize_facilitator(
    store: &Store,
    probe: &dyn ServiceDeskProbe,
    vault: Option<&Vault>,
    actor: Actor<'_>,
    channel: &str,
    account: FacilitatorAccount,
) -> Result<crate::store::JiraFacilitatorRecord> {
    let vault = vault_of(vault)?;
    let record = store
        .channel(channel)
        .await?
        .filter(|c| c.is_support())
        .ok_or_else(|| AdminError::NotFound(format!("{channel} is not a support channel")))?;
    if record.facilitator_slack_id.is_none() {
        return Err(refused(
            "authorize the channel's facilitator in Slack first (PUT …/facilitator)",
        ));
    }
    let project = record.project_key.clone().unwrap_or_default();
    let backend = backend_of(store, &project).await?;
    if !looks_like_email(&account.email) || account.api_token.trim().is_empty() {
        return Err(refused("email and api_token must be the facilitator's Jira account"));
    }
    let connection = Connection {
        site_url: backend.site_url.clone(),
        email: account.email.clone(),
        token: Secret::new(account.api_token.clone()),
        service_desk_id: backend.service_desk_id.clone(),
        request_type_id: backend.request_type_id.clone(),
    };
    let probed = probe.probe(&connection).await;
    let account_id = match probed.account {
        Ok((id, _)) => id,
        Err(e) => return Err(refused(format!("Jira refuses the facilitator's account: {e}"))),
    };
    let sealed = vault.seal(&account.api_token, &facilitator_purpose(channel));
    let mut tx = store.begin().await?;
    Store::save_jira_facilitator(
        &mut tx,
        channel,
        &account.email,
        &account_id,
        &sealed,
        actor.id_or_name(),
    )
    .await?;
    let detail = json!({ "channel": channel, "email": account.email });
    Store::insert_audits(&mut tx, &[actor.audit("jira_facilitator_authorized", detail)]).await?;
    tx.commit().await?;
    store
        .jira_facilitator(channel)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("{channel} has no facilitator")))
}

/// Revoke a support channel's facilitator's Jira account: its guests reach Jira through
/// the project's account again, their names in the words.
pub async fn revoke_facilitator(store: &Store, actor: Actor<'_>, channel: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    if !Store::remove_jira_facilitator(&mut tx, channel).await? {
        return Err(AdminError::NotFound(format!(
            "{channel} has no facilitator's Jira account"
        )));
    }
    let detail = json!({ "channel": channel });
    Store::insert_audits(&mut tx, &[actor.audit("jira_facilitator_revoked", detail)]).await?;
    tx.commit().await?;
    Ok(())
}

/// The project's connection, or not found.
pub async fn backend_of(store: &Store, project: &str) -> Result<JiraBackendRecord> {
    store
        .jira_backend(project)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("project {project} is not connected to Jira")))
}
