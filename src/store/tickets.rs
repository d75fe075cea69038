//! Tickets, comments, attachments, the Slack messages deskhand posted about them, the
//! people behind them and the audit trail.

use serde::Serialize;

use super::{enum_column, execute, from_rows, lite::lite_record, on_pool, on_tx, raw_json, Result, Store, Tx};
use crate::desk::workflow::Category;
use crate::desk::{Priority, Source};

#[derive(Debug, Clone, Serialize)]
pub struct TicketRecord {
    #[serde(skip)]
    pub id: i64,
    pub key: String,
    #[serde(rename = "project")]
    pub project_key: String,
    pub summary: String,
    pub description: String,
    pub status: String,
    pub priority: Priority,
    pub source: Source,
    #[serde(skip)]
    pub requester_person_id: Option<i64>,
    pub requester_slack_id: String,
    pub requester_name: String,
    /// Who the request is for when someone filed it for them, as JSON.
    #[serde(serialize_with = "raw_json")]
    pub on_behalf_of: Option<String>,
    pub channel_id: String,
    pub message_ts: String,
    pub permalink: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub department: Option<String>,
    pub request_type: Option<String>,
    /// Who filed the request, when not its requester (an emoji, a shortcut, a form).
    pub reporter_slack_id: Option<String>,
    pub reporter_name: Option<String>,
    pub assignee_slack_id: Option<String>,
    pub assignee_name: Option<String>,
    /// Seen only by its requester and agents (requests made in a DM).
    pub private: bool,
    /// The category of its status: open, in_progress or done.
    pub status_category: Category,
    pub resolved_at: Option<i64>,
    /// The parent of the thread its message is in, when it was filed from a reply.
    pub origin_thread_ts: Option<String>,
    /// The status it was in before its last move.
    pub previous_status: Option<String>,
    /// When it first reached a done status.
    pub first_resolved_at: Option<i64>,
    /// How often it reached a done status (each asks its requester for a rating).
    pub resolutions: i64,
    /// `pending`, `approved` or `declined`, when its request type needs an approval.
    pub approval: Option<String>,
    /// The Slack installation it was filed through (`None`: the configured token).
    pub installation: Option<String>,
    /// Its issue in Jira Service Management, when its project's tickets live there.
    pub jira_issue_id: Option<String>,
    pub jira_url: Option<String>,
    /// `filing` until Jira names it, then `linked`; `failed` (with `jira_error`) when Jira
    /// refused it, `deleted` when it was deleted in Jira; `None` in a built-in project.
    pub jira_state: Option<String>,
    pub jira_error: Option<String>,
    /// The key it had while it was being filed in Jira.
    pub filed_key: Option<String>,
}

// Read by column name: priority, source and status category as the desk's enums.
from_rows!(TicketRecord, |row| Ok(TicketRecord {
    id: row.try_get("id")?,
    key: row.try_get("key")?,
    project_key: row.try_get("project_key")?,
    summary: row.try_get("summary")?,
    description: row.try_get("description")?,
    status: row.try_get("status")?,
    priority: enum_column("priority", row.try_get("priority")?, Priority::parse)?,
    source: enum_column("source", row.try_get("source")?, Source::parse)?,
    requester_person_id: row.try_get("requester_person_id")?,
    requester_slack_id: row.try_get("requester_slack_id")?,
    requester_name: row.try_get("requester_name")?,
    on_behalf_of: row.try_get("on_behalf_of")?,
    channel_id: row.try_get("channel_id")?,
    message_ts: row.try_get("message_ts")?,
    permalink: row.try_get("permalink")?,
    created_at: row.try_get("created_at")?,
    updated_at: row.try_get("updated_at")?,
    deleted_at: row.try_get("deleted_at")?,
    department: row.try_get("department")?,
    request_type: row.try_get("request_type")?,
    reporter_slack_id: row.try_get("reporter_slack_id")?,
    reporter_name: row.try_get("reporter_name")?,
    assignee_slack_id: row.try_get("assignee_slack_id")?,
    assignee_name: row.try_get("assignee_name")?,
    private: row.try_get("private")?,
    status_category: enum_column("status_category", row.try_get("status_category")?, Category::parse)?,
    resolved_at: row.try_get("resolved_at")?,
    origin_thread_ts: row.try_get("origin_thread_ts")?,
    previous_status: row.try_get("previous_status")?,
    first_resolved_at: row.try_get("first_resolved_at")?,
    resolutions: row.try_get("resolutions")?,
    approval: row.try_get("approval")?,
    installation: row.try_get("installation")?,
    jira_issue_id: row.try_get("jira_issue_id")?,
    jira_url: row.try_get("jira_url")?,
    jira_state: row.try_get("jira_state")?,
    jira_error: row.try_get("jira_error")?,
    filed_key: row.try_get("filed_key")?,
}));

impl TicketRecord {
    /// The thread deskhand answers the requester in: the message's own, or its parent's.
    pub fn thread_ts(&self) -> &str {
        self.origin_thread_ts.as_deref().unwrap_or(&self.message_ts)
    }

    /// Filed from a form rather than from a Slack message: its conversation is in the
    /// requester's DM with deskhand.
    pub fn from_form(&self) -> bool {
        self.channel_id.is_empty()
    }

    pub fn is_done(&self) -> bool {
        self.status_category == Category::Done
    }

    /// Waiting for an approver's decision: nothing else moves it.
    pub fn awaits_approval(&self) -> bool {
        self.approval.as_deref() == Some("pending")
    }

    /// A Jira project's ticket still waiting for Jira to name it.
    pub fn is_filing(&self) -> bool {
        self.jira_state.as_deref() == Some("filing")
    }

    /// In Jira (or on its way there): changes made in deskhand are sent on.
    pub fn syncs_to_jira(&self) -> bool {
        matches!(self.jira_state.as_deref(), Some("filing" | "linked"))
    }

    /// Its key as people are told it: none yet while Jira files it.
    pub fn shown_key(&self) -> &str {
        if self.is_filing() {
            "(filing in Jira)"
        } else {
            &self.key
        }
    }

    /// The person it was filed for through a facilitator, by name.
    pub fn filed_on_behalf_of(&self) -> Option<String> {
        let json: serde_json::Value = serde_json::from_str(self.on_behalf_of.as_deref()?).ok()?;
        json["name"].as_str().map(str::to_owned)
    }
}

pub(super) const TICKET_COLUMNS: &str =
    "id, key, project_key, summary, description, status, priority, source, requester_person_id,
    requester_slack_id, requester_name, on_behalf_of, channel_id, message_ts, permalink, created_at, updated_at, deleted_at,
    department, request_type, reporter_slack_id, reporter_name, assignee_slack_id, assignee_name, private,
    status_category, resolved_at, origin_thread_ts, previous_status, first_resolved_at, resolutions, approval, installation,
    jira_issue_id, jira_url, jira_state, jira_error, filed_key";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CommentRecord {
    pub id: i64,
    #[serde(skip)]
    pub ticket_id: i64,
    pub visibility: String,
    pub body: String,
    #[serde(skip)]
    pub author_person_id: Option<i64>,
    pub author_slack_id: String,
    pub author_name: String,
    /// Whose words these are when the author wrote them for someone else, as JSON.
    #[serde(serialize_with = "raw_json")]
    pub on_behalf_of: Option<String>,
    pub channel_id: String,
    pub message_ts: String,
    pub permalink: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// The Jira comment it is, in a Jira project.
    pub jira_comment_id: Option<String>,
}

lite_record! {
    CommentRecord {
        id, ticket_id, visibility, body, author_person_id, author_slack_id, author_name, on_behalf_of, channel_id,
        message_ts, permalink, created_at, edited_at, deleted_at, jira_comment_id
    }
}

const COMMENT_COLUMNS: &str = "id, ticket_id, visibility, body, author_person_id, author_slack_id, author_name,
    on_behalf_of, channel_id, message_ts, permalink, created_at, edited_at, deleted_at, jira_comment_id";

pub struct NewComment<'a> {
    pub ticket_id: i64,
    /// JSON: whose words these are, when the author wrote them through a facilitator.
    pub on_behalf_of: Option<&'a str>,
    pub visibility: &'a str,
    pub body: &'a str,
    pub author_person_id: Option<i64>,
    pub author_slack_id: &'a str,
    pub author_name: &'a str,
    pub channel_id: &'a str,
    pub message_ts: &'a str,
    pub permalink: &'a str,
    /// Written by an agent: the first such public comment is the first response.
    pub by_agent: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AttachmentRecord {
    #[serde(skip)]
    pub ticket_id: i64,
    pub comment_id: Option<i64>,
    pub slack_file_id: String,
    pub name: String,
    pub mimetype: String,
    pub size: i64,
    pub permalink: String,
}

lite_record! { AttachmentRecord { ticket_id, comment_id, slack_file_id, name, mimetype, size, permalink } }

pub struct NewAttachment<'a> {
    pub slack_file_id: &'a str,
    pub name: &'a str,
    pub mimetype: &'a str,
    pub size: i64,
    pub permalink: &'a str,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketMessageRecord {
    pub role: String,
    pub channel_id: String,
    pub ts: String,
}

lite_record! { TicketMessageRecord { role, channel_id, ts } }

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub at: i64,
    pub actor_slack_id: Option<String>,
    pub actor_name: Option<String>,
    pub on_behalf_of: Option<String>,
    pub source: String,
    pub action: String,
    pub detail: String,
}

lite_record! { AuditRecord { at, actor_slack_id, actor_name, on_behalf_of, source, action, detail } }

/// What Slack told deskhand about a user, and the desk person it links to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SlackUserRecord {
    pub slack_user_id: String,
    pub team_id: String,
    pub name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub is_bot: bool,
    pub is_restricted: bool,
    pub is_ultra_restricted: bool,
    pub deleted: bool,
    pub person_id: Option<i64>,
    pub fetched_at: i64,
    /// A workspace owner or admin.
    pub is_admin: bool,
}

lite_record! {
    SlackUserRecord {
        slack_user_id, team_id, name, display_name, email, is_bot, is_restricted, is_ultra_restricted, deleted,
        person_id, fetched_at, is_admin
    }
}

pub(super) const SLACK_USER_COLUMNS: &str = "slack_user_id, team_id, name, display_name, email, is_bot, is_restricted,
    is_ultra_restricted, deleted, person_id, fetched_at, is_admin";

/// Whether to link a Slack user to a desk person by their email.
pub enum PersonLink<'a> {
    ByEmail(&'a str),
    None,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ParkedRecord {
    pub id: i64,
    pub channel_id: String,
    pub slack_user_id: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub reason: String,
    pub parked_at: i64,
    pub filed_at: Option<i64>,
    /// When it was reported to the agents instead of filed (it waited past the retention).
    pub reported_at: Option<i64>,
}

lite_record! {
    ParkedRecord {
        id, channel_id, slack_user_id, ts, thread_ts, text, reason, parked_at, filed_at, reported_at
    }
}

pub struct NewParked<'a> {
    pub channel_id: &'a str,
    pub slack_user_id: &'a str,
    pub ts: &'a str,
    pub thread_ts: Option<&'a str>,
    pub text: &'a str,
    pub reason: &'a str,
    pub event: &'a str,
    /// The Slack installation it came through: it is filed (or reported) there.
    pub installation: Option<&'a str>,
}

impl Store {
    pub async fn slack_user(&self, slack_user_id: &str) -> Result<Option<SlackUserRecord>> {
        let sql = format!("select {SLACK_USER_COLUMNS} from slack_users where slack_user_id = $1");
        Ok(on_pool!(self, |pool| {
            query_as::<SlackUserRecord>(&sql)
                .bind(slack_user_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Remember what Slack said about a user, linking them to the person with their email
    /// (created when new) when `link` says so.
    pub async fn save_slack_user(&self, user: &SlackUserRecord, link: PersonLink<'_>) -> Result<SlackUserRecord> {
        let mut tx = self.begin().await?;
        let now = self.now_ms();
        let person_id: Option<i64> = match link {
            PersonLink::ByEmail(email) => Some(on_tx!(tx, |conn| {
                query_scalar(
                    "insert into people (email, display_name, created_at) values ($1, $2, $3)
                     on conflict (email) do update set display_name = excluded.display_name
                     returning id",
                )
                .bind(email.to_lowercase())
                .bind(&user.display_name)
                .bind(now)
                .fetch_one(conn)
                .await
            })?),
            PersonLink::None => None,
        };
        let sql = format!(
            "insert into slack_users ({SLACK_USER_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             on conflict (slack_user_id) do update set team_id = excluded.team_id, name = excluded.name,
               display_name = excluded.display_name, email = excluded.email, is_bot = excluded.is_bot,
               is_restricted = excluded.is_restricted, is_ultra_restricted = excluded.is_ultra_restricted,
               deleted = excluded.deleted, person_id = excluded.person_id, fetched_at = excluded.fetched_at,
               is_admin = excluded.is_admin
             returning {SLACK_USER_COLUMNS}"
        );
        let saved = on_tx!(tx, |conn| {
            query_as::<SlackUserRecord>(&sql)
                .bind(&user.slack_user_id)
                .bind(&user.team_id)
                .bind(&user.name)
                .bind(&user.display_name)
                .bind(&user.email)
                .bind(user.is_bot)
                .bind(user.is_restricted)
                .bind(user.is_ultra_restricted)
                .bind(user.deleted)
                .bind(person_id)
                .bind(now)
                .bind(user.is_admin)
                .fetch_one(conn)
                .await
        })?;
        tx.commit().await?;
        Ok(saved)
    }

    /// The ticket filed from the Slack message at (`channel_id`, `ts`).
    pub async fn ticket_by_message(tx: &mut Tx, channel_id: &str, ts: &str) -> Result<Option<TicketRecord>> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where channel_id = $1 and message_ts = $2");
        Ok(on_tx!(tx, |conn| {
            query_as::<TicketRecord>(&sql)
                .bind(channel_id)
                .bind(ts)
                .fetch_optional(conn)
                .await
        })?)
    }

    /// The ticket whose message deskhand posted at (`channel_id`, `ts`) in `role`.
    pub async fn ticket_by_posted(tx: &mut Tx, role: &str, channel_id: &str, ts: &str) -> Result<Option<TicketRecord>> {
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets where id =
               (select ticket_id from ticket_messages where role = $1 and channel_id = $2 and ts = $3)"
        );
        Ok(on_tx!(tx, |conn| {
            query_as::<TicketRecord>(&sql)
                .bind(role)
                .bind(channel_id)
                .bind(ts)
                .fetch_optional(conn)
                .await
        })?)
    }

    pub async fn comment_by_message(tx: &mut Tx, channel_id: &str, ts: &str) -> Result<Option<CommentRecord>> {
        let sql = format!("select {COMMENT_COLUMNS} from comments where channel_id = $1 and message_ts = $2");
        Ok(on_tx!(tx, |conn| {
            query_as::<CommentRecord>(&sql)
                .bind(channel_id)
                .bind(ts)
                .fetch_optional(conn)
                .await
        })?)
    }

    pub async fn insert_comment(tx: &mut Tx, comment: &NewComment<'_>) -> Result<CommentRecord> {
        let now = tx.now_ms();
        let sql = format!(
            "insert into comments (ticket_id, visibility, body, author_person_id, author_slack_id, author_name,
               channel_id, message_ts, permalink, created_at, on_behalf_of, by_agent)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             returning {COMMENT_COLUMNS}"
        );
        Ok(on_tx!(tx, |conn| {
            query_as::<CommentRecord>(&sql)
                .bind(comment.ticket_id)
                .bind(comment.visibility)
                .bind(comment.body)
                .bind(comment.author_person_id)
                .bind(comment.author_slack_id)
                .bind(comment.author_name)
                .bind(comment.channel_id)
                .bind(comment.message_ts)
                .bind(comment.permalink)
                .bind(now)
                .bind(comment.on_behalf_of)
                .bind(comment.by_agent)
                .fetch_one(conn)
                .await
        })?)
    }

    pub async fn insert_attachment(
        tx: &mut Tx,
        ticket_id: i64,
        comment_id: Option<i64>,
        file: &NewAttachment<'_>,
    ) -> Result<()> {
        execute!(
            tx,
            "insert into attachments (ticket_id, comment_id, slack_file_id, name, mimetype, size, permalink)
                 values ($1, $2, $3, $4, $5, $6, $7)",
            ticket_id,
            comment_id,
            file.slack_file_id,
            file.name,
            file.mimetype,
            file.size,
            file.permalink
        )?;
        Ok(())
    }

    pub async fn update_ticket_text(tx: &mut Tx, ticket_id: i64, summary: &str, description: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set summary = $2, description = $3, updated_at = $4 where id = $1",
            ticket_id,
            summary,
            description,
            now
        )?;
        Ok(())
    }

    pub async fn mark_ticket_deleted(tx: &mut Tx, ticket_id: i64) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set deleted_at = $2, updated_at = $2 where id = $1 and deleted_at is null",
            ticket_id,
            now
        )?;
        Ok(())
    }

    pub async fn update_comment_body(tx: &mut Tx, comment_id: i64, body: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update comments set body = $2, edited_at = $3 where id = $1",
            comment_id,
            body,
            now
        )?;
        Ok(())
    }

    /// Mark a comment deleted and forget its text here: the audit trail keeps it.
    pub async fn mark_comment_deleted(tx: &mut Tx, comment_id: i64) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update comments set deleted_at = $2, body = '' where id = $1 and deleted_at is null",
            comment_id,
            now
        )?;
        Ok(())
    }

    /// Keep a message nobody could file yet; `false` when it was kept already.
    pub async fn park_message(tx: &mut Tx, parked: &NewParked<'_>) -> Result<bool> {
        let now = tx.now_ms();
        let id: Option<i64> = on_tx!(tx, |conn| {
            query_scalar(
                "insert into parked_messages (channel_id, slack_user_id, ts, thread_ts, text, reason, event, parked_at,
                                              installation)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (channel_id, ts) do nothing returning id",
            )
            .bind(parked.channel_id)
            .bind(parked.slack_user_id)
            .bind(parked.ts)
            .bind(parked.thread_ts)
            .bind(parked.text)
            .bind(parked.reason)
            .bind(parked.event)
            .bind(now)
            .bind(parked.installation)
            .fetch_optional(conn)
            .await
        })?;
        Ok(id.is_some())
    }

    /// Parked messages, oldest first, `limit` at most.
    pub async fn parked_messages(&self, limit: i64) -> Result<Vec<ParkedRecord>> {
        Ok(on_pool!(self, |pool| {
            query_as::<ParkedRecord>(
                "select id, channel_id, slack_user_id, ts, thread_ts, text, reason, parked_at, filed_at, reported_at
                 from parked_messages order by id limit $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn ticket(&self, ticket_id: i64) -> Result<TicketRecord> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where id = $1");
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(ticket_id)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn ticket_by_key(&self, key: &str) -> Result<TicketRecord> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where key = $1 or filed_key = $1 limit 1");
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(key)
            .fetch_one(pool)
            .await)?)
    }

    /// Tickets newest first, optionally of one project, `limit` at most, before id `before`.
    pub async fn tickets(&self, project: Option<&str>, before: Option<i64>, limit: i64) -> Result<Vec<TicketRecord>> {
        let sql = format!(
            "select {TICKET_COLUMNS} from tickets where ($1 is null or project_key = $1) and ($2 is null or id < $2)
             order by id desc limit $3"
        );
        Ok(on_pool!(self, |pool| {
            query_as::<TicketRecord>(&sql)
                .bind(project)
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?)
    }

    pub async fn comment(&self, id: i64) -> Result<CommentRecord> {
        let sql = format!("select {COMMENT_COLUMNS} from comments where id = $1");
        Ok(on_pool!(self, |pool| query_as::<CommentRecord>(&sql)
            .bind(id)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn comments(&self, ticket_id: i64) -> Result<Vec<CommentRecord>> {
        let sql = format!("select {COMMENT_COLUMNS} from comments where ticket_id = $1 order by id");
        Ok(on_pool!(self, |pool| query_as::<CommentRecord>(&sql)
            .bind(ticket_id)
            .fetch_all(pool)
            .await)?)
    }

    pub async fn attachments(&self, ticket_id: i64) -> Result<Vec<AttachmentRecord>> {
        Ok(on_pool!(self, |pool| {
            query_as::<AttachmentRecord>(
                "select ticket_id, comment_id, slack_file_id, name, mimetype, size, permalink
                 from attachments where ticket_id = $1 order by id",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// A ticket's audit trail, oldest first; with `None`, the latest configuration changes
    /// (those of no ticket), newest first.
    pub async fn audit(&self, ticket_id: Option<i64>) -> Result<Vec<AuditRecord>> {
        Ok(on_pool!(self, |pool| {
            query_as::<AuditRecord>(
                "select at, actor_slack_id, actor_name, on_behalf_of, source, action, detail from audit
                 where ($1 is null and ticket_id is null) or ticket_id = $1
                 order by case when $1 is null then -id else id end limit 500",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn ticket_messages(&self, ticket_id: i64) -> Result<Vec<TicketMessageRecord>> {
        Ok(on_pool!(self, |pool| {
            query_as::<TicketMessageRecord>(
                "select role, channel_id, ts from ticket_messages where ticket_id = $1 order by role",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await
        })?)
    }
}
