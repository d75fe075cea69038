//! Projects whose tickets live in Jira Service Management: their connection (its secrets
//! sealed before they get here), the links between tickets and comments and Jira's
//! issues and comments, and whether a project's sync is paused.

use serde::Serialize;

use super::tickets::TICKET_COLUMNS;
use super::{execute, lite::lite_record, on_pool, on_tx, Result, Store, TicketRecord, Tx};
use crate::desk::jira::Mappings;

/// A project's connection to its service desk, as the admin API shows it: never its
/// secrets.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JiraBackendRecord {
    pub project_key: String,
    pub site_url: String,
    pub service_desk_id: String,
    /// The Jira project's key: the prefix of its issue keys.
    pub jira_project: String,
    pub request_type_id: String,
    pub account_email: String,
    pub account_id: String,
    #[serde(skip)]
    pub account_token: String,
    #[serde(skip)]
    pub webhook_secret: String,
    #[serde(skip)]
    pub mappings: String,
    pub create_customers: bool,
    /// Set while Jira refuses the account: nothing is sent, nothing is dropped.
    pub paused_at: Option<i64>,
    pub paused_because: Option<String>,
    pub synced_to: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

lite_record! {
    JiraBackendRecord {
        project_key, site_url, service_desk_id, jira_project, request_type_id, account_email, account_id,
        account_token, webhook_secret, mappings, create_customers, paused_at, paused_because, synced_to,
        created_at, updated_at
    }
}

impl JiraBackendRecord {
    pub fn mappings(&self) -> Mappings {
        serde_json::from_str(&self.mappings).unwrap_or_default()
    }

    /// Where a person sees an issue in Jira.
    pub fn browse_url(&self, key: &str) -> String {
        format!("{}/browse/{key}", self.site_url)
    }
}

/// What connecting a project stores: the secrets already sealed.
#[derive(Debug, Clone)]
pub struct NewJiraBackend<'a> {
    pub project_key: &'a str,
    pub site_url: &'a str,
    pub service_desk_id: &'a str,
    pub jira_project: &'a str,
    pub request_type_id: &'a str,
    pub account_email: &'a str,
    pub account_id: &'a str,
    pub sealed_token: &'a str,
    pub sealed_webhook_secret: &'a str,
    pub mappings: &'a Mappings,
    pub create_customers: bool,
}

/// A support channel's facilitator's Jira account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JiraFacilitatorRecord {
    pub channel_id: String,
    pub email: String,
    pub account_id: String,
    #[serde(skip)]
    pub account_token: String,
    pub authorized_by: String,
    pub created_at: i64,
}

lite_record! { JiraFacilitatorRecord { channel_id, email, account_id, account_token, authorized_by, created_at } }

const BACKEND_COLUMNS: &str = "project_key, site_url, service_desk_id, jira_project, request_type_id, account_email, \
     account_id, account_token, webhook_secret, mappings, create_customers, paused_at, paused_because, synced_to, \
     created_at, updated_at";

impl Store {
    /// Connect a project to its service desk (again): its tickets live there from now on,
    /// and a sync paused for the old account resumes.
    pub async fn save_jira_backend(tx: &mut Tx, new: &NewJiraBackend<'_>) -> Result<()> {
        let now = tx.now_ms();
        let mappings = serde_json::to_string(new.mappings).unwrap_or_else(|_| "{}".into());
        execute!(
            tx,
            "insert into jira_backends (project_key, site_url, service_desk_id, jira_project, request_type_id,
                 account_email, account_id, account_token, webhook_secret, mappings, create_customers, created_at,
                 updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
             on conflict (project_key) do update set site_url = excluded.site_url,
                 service_desk_id = excluded.service_desk_id, jira_project = excluded.jira_project,
                 request_type_id = excluded.request_type_id, account_email = excluded.account_email,
                 account_id = excluded.account_id, account_token = excluded.account_token,
                 webhook_secret = excluded.webhook_secret, mappings = excluded.mappings,
                 create_customers = excluded.create_customers, paused_at = null, paused_because = null,
                 updated_at = excluded.updated_at",
            new.project_key,
            new.site_url,
            new.service_desk_id,
            new.jira_project,
            new.request_type_id,
            new.account_email,
            new.account_id,
            new.sealed_token,
            new.sealed_webhook_secret,
            mappings,
            new.create_customers,
            now
        )?;
        tx.changes_config();
        execute!(
            tx,
            "update projects set backend = 'jira', updated_at = $2 where key = $1",
            new.project_key,
            now
        )?;
        Ok(())
    }

    /// A project's statuses as its service desk has them.
    pub async fn set_workflow(tx: &mut Tx, project: &str, workflow: &crate::desk::workflow::Workflow) -> Result<()> {
        tx.changes_config();
        let workflow = serde_json::to_string(workflow).unwrap_or_default();
        execute!(
            tx,
            "update projects set workflow = $2 where key = $1",
            project,
            workflow
        )?;
        Ok(())
    }

    /// Every project connected to a service desk.
    pub async fn jira_backends(&self) -> Result<Vec<JiraBackendRecord>> {
        let sql = format!("select {BACKEND_COLUMNS} from jira_backends order by project_key");
        Ok(on_pool!(self, |pool| query_as(&sql).fetch_all(pool).await)?)
    }

    pub async fn jira_backend(&self, project: &str) -> Result<Option<JiraBackendRecord>> {
        let sql = format!("select {BACKEND_COLUMNS} from jira_backends where project_key = $1");
        Ok(on_pool!(self, |pool| query_as(&sql)
            .bind(project)
            .fetch_optional(pool)
            .await)?)
    }

    /// Pause a project's sync because Jira refuses its account; whether it was running.
    pub async fn pause_jira(&self, project: &str, because: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        let paused = execute!(
            tx,
            "update jira_backends set paused_at = $2, paused_because = $3 where project_key = $1 and paused_at is null",
            project,
            now,
            because
        )?;
        tx.commit().await?;
        Ok(paused > 0)
    }

    /// Resume a paused project's sync: what waited is sent.
    pub async fn resume_jira(&self, project: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let resumed = execute!(
            tx,
            "update jira_backends set paused_at = null, paused_because = null where project_key = $1
             and paused_at is not null",
            project
        )?;
        tx.commit().await?;
        Ok(resumed > 0)
    }

    /// The reconcile has brought in every change Jira made before `at`.
    pub async fn set_jira_synced_to(&self, project: &str, at: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        execute!(
            tx,
            "update jira_backends set synced_to = $2 where project_key = $1",
            project,
            at
        )?;
        tx.commit().await
    }

    /// Tickets Jira is to name: their row is written, their request not yet raised.
    pub async fn mark_filing(tx: &mut Tx, ids: &[i64]) -> Result<()> {
        for id in ids {
            execute!(tx, "update tickets set jira_state = 'filing' where id = $1", id)?;
        }
        Ok(())
    }

    /// Jira raised the request: its key is the ticket's key from now on (the one it had
    /// while filing still finds it). Whether it was still waiting for one.
    pub async fn link_jira_issue(tx: &mut Tx, ticket_id: i64, issue_id: &str, key: &str, url: &str) -> Result<bool> {
        let now = tx.now_ms();
        let linked = execute!(
            tx,
            "update tickets set filed_key = key, key = $2, jira_issue_id = $3, jira_url = $4, jira_state = 'linked',
                 jira_error = null, updated_at = $5
             where id = $1 and jira_state in ('filing', 'failed')",
            ticket_id,
            key,
            issue_id,
            url,
            now
        )?;
        Ok(linked > 0)
    }

    /// Jira refused to raise the request, for good: the card says why.
    pub async fn jira_filing_failed(tx: &mut Tx, ticket_id: i64, error: &str) -> Result<()> {
        execute!(
            tx,
            "update tickets set jira_state = 'failed', jira_error = $2 where id = $1 and jira_state = 'filing'",
            ticket_id,
            error
        )?;
        Ok(())
    }

    /// The issue was deleted in Jira; whether the ticket did not know yet.
    pub async fn jira_issue_deleted(tx: &mut Tx, ticket_id: i64) -> Result<bool> {
        let now = tx.now_ms();
        let changed = execute!(
            tx,
            "update tickets set jira_state = 'deleted', updated_at = $2 where id = $1 and jira_state = 'linked'",
            ticket_id,
            now
        )?;
        Ok(changed > 0)
    }

    /// The ticket linked to a Jira issue, by the issue's id.
    pub async fn ticket_by_jira_issue(tx: &mut Tx, issue_id: &str) -> Result<Option<TicketRecord>> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where jira_issue_id = $1");
        Ok(on_tx!(tx, |conn| query_as::<TicketRecord>(&sql)
            .bind(issue_id)
            .fetch_optional(conn)
            .await)?)
    }

    /// The ticket linked to the issue: its id and Slack installation.
    pub async fn jira_ticket_of_issue(&self, issue_id: &str) -> Result<Option<(i64, Option<String>)>> {
        Ok(on_pool!(self, |pool| query_as(
            "select id, installation from tickets where jira_issue_id = $1"
        )
        .bind(issue_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Whether changes to a ticket still wait to be sent to Jira: until they are, what
    /// Jira shows of it is older than deskhand's.
    pub async fn jira_changes_pending(&self, ticket_id: i64) -> Result<bool> {
        let found: Option<i64> = on_pool!(self, |pool| query_scalar(
            "select id from outbox where order_key = $1 and state = 'pending' limit 1"
        )
        .bind(format!("jira:{ticket_id}"))
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Note that Jira told of the ticket's issue as of `at`; whether nothing newer was
    /// seen before (an older change came late, and its fields are stale).
    pub async fn saw_jira_at(tx: &mut Tx, ticket_id: i64, at: i64) -> Result<bool> {
        let newer = execute!(
            tx,
            "update tickets set jira_seen_at = $2 where id = $1 and (jira_seen_at is null or jira_seen_at <= $2)",
            ticket_id,
            at
        )?;
        Ok(newer > 0)
    }

    /// Note that an approver was asked for a Jira approval; whether they had not been.
    pub async fn asked_jira_approver(tx: &mut Tx, ticket_id: i64, approval_id: &str, account_id: &str) -> Result<bool> {
        let now = tx.now_ms();
        let asked = execute!(
            tx,
            "insert into jira_approvals (ticket_id, approval_id, account_id, asked_at) values ($1, $2, $3, $4)
             on conflict do nothing",
            ticket_id,
            approval_id,
            account_id,
            now
        )?;
        Ok(asked > 0)
    }

    /// Record which Jira comment a comment became.
    pub async fn link_jira_comment(tx: &mut Tx, comment_id: i64, jira_comment_id: &str) -> Result<()> {
        execute!(
            tx,
            "update comments set jira_comment_id = $2 where id = $1 and jira_comment_id is null",
            comment_id,
            jira_comment_id
        )?;
        Ok(())
    }

    /// Whether a Jira comment is already one of the ticket's comments.
    pub async fn has_jira_comment(tx: &mut Tx, ticket_id: i64, jira_comment_id: &str) -> Result<bool> {
        let found: Option<i64> = on_tx!(tx, |conn| query_scalar(
            "select id from comments where ticket_id = $1 and jira_comment_id = $2"
        )
        .bind(ticket_id)
        .bind(jira_comment_id)
        .fetch_optional(conn)
        .await)?;
        Ok(found.is_some())
    }

    /// Authorize a support channel's facilitator's Jira account (its token sealed).
    pub async fn save_jira_facilitator(
        tx: &mut Tx,
        channel: &str,
        email: &str,
        account_id: &str,
        sealed_token: &str,
        by: &str,
    ) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "insert into jira_facilitators (channel_id, email, account_id, account_token, authorized_by, created_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (channel_id) do update set email = excluded.email, account_id = excluded.account_id,
                 account_token = excluded.account_token, authorized_by = excluded.authorized_by,
                 created_at = excluded.created_at",
            channel,
            email,
            account_id,
            sealed_token,
            by,
            now
        )?;
        Ok(())
    }

    pub async fn jira_facilitator(&self, channel: &str) -> Result<Option<JiraFacilitatorRecord>> {
        Ok(on_pool!(self, |pool| query_as(
            "select channel_id, email, account_id, account_token, authorized_by, created_at
             from jira_facilitators where channel_id = $1"
        )
        .bind(channel)
        .fetch_optional(pool)
        .await)?)
    }

    /// Forget a support channel's facilitator's Jira account; whether it had one.
    pub async fn remove_jira_facilitator(tx: &mut Tx, channel: &str) -> Result<bool> {
        Ok(execute!(tx, "delete from jira_facilitators where channel_id = $1", channel)? > 0)
    }

    /// The Jira accounts deskhand writes with (every project's and facilitator's): what
    /// Jira says they did, deskhand did.
    pub async fn jira_own_accounts_in(tx: &mut Tx) -> Result<Vec<String>> {
        Ok(on_tx!(tx, |conn| query_scalar(
            "select account_id from jira_backends union select account_id from jira_facilitators"
        )
        .fetch_all(conn)
        .await)?)
    }

    /// A connected project's mappings (the empty ones when it is not connected).
    pub async fn jira_mappings_in(tx: &mut Tx, project: &str) -> Result<Mappings> {
        let stored: Option<String> = on_tx!(tx, |conn| query_scalar(
            "select mappings from jira_backends where project_key = $1"
        )
        .bind(project)
        .fetch_optional(conn)
        .await)?;
        Ok(stored.and_then(|m| serde_json::from_str(&m).ok()).unwrap_or_default())
    }

    /// A connected project's Jira site.
    pub async fn jira_site_in(tx: &mut Tx, project: &str) -> Result<Option<String>> {
        Ok(on_tx!(tx, |conn| query_scalar(
            "select site_url from jira_backends where project_key = $1"
        )
        .bind(project)
        .fetch_optional(conn)
        .await)?)
    }

    /// The Slack member with this address, as last read from Slack.
    pub async fn slack_user_by_email_in(tx: &mut Tx, email: &str) -> Result<Option<crate::store::SlackUserRecord>> {
        let sql = format!(
            "select {} from slack_users where lower(email) = lower($1) and not deleted order by slack_user_id limit 1",
            super::tickets::SLACK_USER_COLUMNS
        );
        Ok(on_tx!(tx, |conn| query_as::<crate::store::SlackUserRecord>(&sql)
            .bind(email)
            .fetch_optional(conn)
            .await)?)
    }
}
