//! Projects and channel bindings: what admins configure.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{enum_column, execute, from_rows, lite::lite_record, on_pool, on_tx, raw_json, Db, Result, Store, Tx};
use crate::desk::config::{ChannelKind, ChannelSettings, ProjectNames};
use crate::desk::project::{self, Approval, Approvals, Department, MessageField, DEFAULT_MESSAGE_FIELDS};
use crate::desk::settings::Settings;
use crate::desk::workflow::Workflow;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProjectRecord {
    pub key: String,
    pub name: String,
    /// The number the next ticket would take when this was read. Tickets are numbered in
    /// the database (the projects kept between reads do not follow it).
    #[serde(skip)]
    pub next_number: i64,
    /// JSON array of department names.
    #[serde(serialize_with = "raw_json")]
    pub departments: String,
    /// JSON array of request type names.
    #[serde(serialize_with = "raw_json")]
    pub request_types: String,
    /// JSON workflow; `None` is the default workflow.
    #[serde(skip)]
    pub workflow: Option<String>,
    /// JSON: the request types that need an approval, and who gives it.
    #[serde(serialize_with = "raw_json")]
    pub approvals: String,
    /// JSON array of the fields the ticket's messages show; `None` is the default.
    #[serde(skip)]
    pub message_fields: Option<String>,
    /// A short text the ticket's messages start with.
    pub intro: Option<String>,
    /// JSON array of the departments with their slugs and managers.
    #[serde(skip)]
    pub department_records: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON portal settings; `None`: no portal.
    #[serde(serialize_with = "raw_json")]
    pub portal: Option<String>,
    /// Where its tickets live: `native` (this database) or `jira`.
    pub backend: String,
}

lite_record! {
    ProjectRecord {
        key, name, next_number, departments, request_types, workflow, approvals, message_fields, intro,
        department_records, created_at, updated_at, portal, backend
    }
}

impl ProjectRecord {
    pub fn portal(&self) -> crate::desk::portal::PortalSettings {
        crate::desk::portal::PortalSettings::from_stored(self.portal.as_deref())
    }

    pub fn departments(&self) -> Vec<String> {
        serde_json::from_str(&self.departments).unwrap_or_default()
    }

    pub fn request_types(&self) -> Vec<String> {
        serde_json::from_str(&self.request_types).unwrap_or_default()
    }

    pub fn workflow(&self) -> Workflow {
        Workflow::from_stored(self.workflow.as_deref())
    }

    /// The departments with their managers.
    pub fn department_list(&self) -> Vec<Department> {
        serde_json::from_str(&self.department_records).unwrap_or_default()
    }

    pub fn approvals(&self) -> Approvals {
        serde_json::from_str(&self.approvals).unwrap_or_default()
    }

    /// The approval a request type needs, if any.
    pub fn approval_for(&self, request_type: Option<&str>) -> Option<Approval> {
        let request_type = request_type?;
        self.approvals()
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(request_type))
            .map(|(_, approval)| approval)
    }

    /// The managers who hear of a request of `department` (all of the project's when none).
    pub fn managers_of(&self, department: Option<&str>) -> Vec<String> {
        project::managers_of(&self.department_list(), department)
    }

    /// Every manager of every department.
    pub fn managers(&self) -> impl Iterator<Item = String> {
        self.department_list().into_iter().flat_map(|d| d.managers)
    }

    pub fn message_fields(&self) -> Vec<MessageField> {
        self.message_fields
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or_else(|| DEFAULT_MESSAGE_FIELDS.to_vec())
    }
}

/// A project's names, read once, for the desk's checks.
pub struct ProjectLists {
    pub key: String,
    pub departments: Vec<String>,
    pub request_types: Vec<String>,
}

impl ProjectLists {
    pub fn of(project: &ProjectRecord) -> Self {
        Self {
            key: project.key.clone(),
            departments: project.departments(),
            request_types: project.request_types(),
        }
    }

    pub fn names(&self) -> ProjectNames<'_> {
        ProjectNames {
            key: &self.key,
            departments: &self.departments,
            request_types: &self.request_types,
        }
    }
}

/// A project as an admin sets it.
pub struct NewProject<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub departments: &'a [Department],
    pub request_types: &'a [String],
    pub workflow: Option<&'a Workflow>,
    pub approvals: &'a Approvals,
    pub message_fields: Option<&'a [MessageField]>,
    pub intro: Option<&'a str>,
}

const PROJECT_COLUMNS: &str = "key, name, next_number, departments, request_types, workflow, approvals, message_fields,
    intro, department_records, created_at, updated_at, portal, backend";

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRecord {
    pub channel_id: String,
    pub kind: ChannelKind,
    pub project_key: Option<String>,
    pub agent_channel: Option<String>,
    pub auto_create: bool,
    pub thread_sync: bool,
    pub announcement_marker: String,
    pub create_emoji: String,
    pub assign_emoji: String,
    pub resolve_emoji: String,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The verified person who files for people the desk cannot link, in this channel.
    pub facilitator_slack_id: Option<String>,
    /// Who authorized the facilitator, and when.
    pub facilitator_authorized_by: Option<String>,
    pub facilitator_authorized_at: Option<i64>,
}

// Read by column name, the kind checked (the table checks it too).
from_rows!(ChannelRecord, |row| Ok(ChannelRecord {
    kind: enum_column("kind", row.try_get("kind")?, ChannelKind::parse)?,
    channel_id: row.try_get("channel_id")?,
    project_key: row.try_get("project_key")?,
    agent_channel: row.try_get("agent_channel")?,
    auto_create: row.try_get("auto_create")?,
    thread_sync: row.try_get("thread_sync")?,
    announcement_marker: row.try_get("announcement_marker")?,
    create_emoji: row.try_get("create_emoji")?,
    assign_emoji: row.try_get("assign_emoji")?,
    resolve_emoji: row.try_get("resolve_emoji")?,
    default_department: row.try_get("default_department")?,
    default_request_type: row.try_get("default_request_type")?,
    default_priority: row.try_get("default_priority")?,
    created_at: row.try_get("created_at")?,
    updated_at: row.try_get("updated_at")?,
    facilitator_slack_id: row.try_get("facilitator_slack_id")?,
    facilitator_authorized_by: row.try_get("facilitator_authorized_by")?,
    facilitator_authorized_at: row.try_get("facilitator_authorized_at")?,
}));

impl ChannelRecord {
    pub fn is_support(&self) -> bool {
        self.kind == ChannelKind::Support
    }

    pub fn is_agent(&self) -> bool {
        self.kind == ChannelKind::Agent
    }
}

/// The columns an admin sets by binding a channel.
const CHANNEL_SETTINGS: &str = "channel_id, kind, project_key, agent_channel, auto_create, thread_sync,
    announcement_marker, create_emoji, assign_emoji, resolve_emoji, default_department, default_request_type,
    default_priority, created_at, updated_at";

pub(super) const CHANNEL_COLUMNS: &str = "channel_id, kind, project_key, agent_channel, auto_create, thread_sync,
    announcement_marker, create_emoji, assign_emoji, resolve_emoji, default_department, default_request_type,
    default_priority, created_at, updated_at, facilitator_slack_id, facilitator_authorized_by, facilitator_authorized_at";

const SETTINGS: &str = "select key, value from settings";

/// The projects and the settings as last read. On SQLite, where deskhand is the only
/// process using the database (`Store::connect` locks it), they are kept between reads:
/// every transaction that changes either says so (`Tx::changes_config`), and once it
/// commits the next read goes to the database again. So the worker and the dispatcher,
/// which need both for every batch, do not read them for every batch. On PostgreSQL, where
/// other replicas change them too, every read goes to the database.
#[derive(Default)]
pub(crate) struct ConfigMemory {
    /// Counts the commits that changed projects or settings.
    generation: AtomicU64,
    projects: Kept<[ProjectRecord]>,
    settings: Kept<[(String, String)]>,
}

/// A value as read, with the generation it was read at.
type Kept<T> = Mutex<Option<(u64, Arc<T>)>>;

impl ConfigMemory {
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl Store {
    /// What `read` reads, or what it read last time if nothing it reads has changed since.
    /// The generation is taken before reading: a change committed during the read makes
    /// what it returned stale at once.
    async fn remembered<T: ?Sized>(
        &self,
        slot: &Kept<T>,
        read: impl Future<Output = Result<Arc<T>>>,
    ) -> Result<Arc<T>> {
        if !matches!(self.db, Db::Sqlite { .. }) {
            return read.await;
        }
        let generation = self.config.generation.load(Ordering::Acquire);
        let kept = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((_, value)) = kept.filter(|(at, _)| *at == generation) {
            return Ok(value);
        }
        let value = read.await?;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((generation, value.clone()));
        Ok(value)
    }

    async fn setting_rows(&self) -> Result<Arc<[(String, String)]>> {
        self.remembered(&self.config.settings, async {
            let rows: Vec<(String, String)> = on_pool!(self, |pool| query_as(SETTINGS).fetch_all(pool).await)?;
            Ok(rows.into())
        })
        .await
    }
}

fn settings_of(rows: &[(String, String)]) -> Settings {
    Settings::from_stored(rows.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The key that says a workspace has settings of its own (its rows are `{installation}/…`).
fn own_marker(installation: &str) -> String {
    format!("{installation}/own")
}

/// One workspace's settings: its own once an admin set any, else the shared ones.
fn workspace_settings_of(rows: &[(String, String)], installation: Option<&str>) -> Settings {
    let prefix = installation.map(|i| format!("{i}/"));
    match prefix {
        Some(prefix) if rows.iter().any(|(k, _)| k.starts_with(&prefix)) => Settings::from_stored(
            rows.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?, v.as_str()))),
        ),
        _ => settings_of(rows),
    }
}

impl Store {
    pub async fn save_project(tx: &mut Tx, project: &NewProject<'_>) -> Result<ProjectRecord> {
        tx.changes_config();
        let now = tx.now_ms();
        let json = |value: serde_json::Value| value.to_string();
        let names: Vec<&str> = project.departments.iter().map(|d| d.name.as_str()).collect();
        let departments = json(serde_json::json!(names));
        let records = json(serde_json::json!(project.departments));
        let request_types = json(serde_json::json!(project.request_types));
        let workflow = project.workflow.map(|w| json(serde_json::json!(w)));
        let approvals = json(serde_json::json!(project.approvals));
        let fields = project.message_fields.map(|f| json(serde_json::json!(f)));
        let sql = format!(
            "insert into projects (key, name, departments, request_types, workflow, approvals, message_fields, intro,
                                   department_records, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             on conflict (key) do update set name = excluded.name, departments = excluded.departments,
               request_types = excluded.request_types, workflow = excluded.workflow, approvals = excluded.approvals,
               message_fields = excluded.message_fields, intro = excluded.intro,
               department_records = excluded.department_records, updated_at = excluded.updated_at
             returning {PROJECT_COLUMNS}"
        );
        Ok(on_tx!(tx, |conn| {
            query_as::<ProjectRecord>(&sql)
                .bind(project.key)
                .bind(project.name)
                .bind(&departments)
                .bind(&request_types)
                .bind(&workflow)
                .bind(&approvals)
                .bind(&fields)
                .bind(project.intro)
                .bind(&records)
                .bind(now)
                .fetch_one(conn)
                .await
        })?)
    }

    /// Set a project's portal.
    pub async fn set_portal(tx: &mut Tx, key: &str, portal: &crate::desk::portal::PortalSettings) -> Result<()> {
        tx.changes_config();
        let json = serde_json::json!(portal).to_string();
        execute!(tx, "update projects set portal = $2 where key = $1", key, json)?;
        Ok(())
    }

    /// Replace a project's departments (the names list follows).
    pub async fn set_departments(tx: &mut Tx, key: &str, departments: &[Department]) -> Result<ProjectRecord> {
        tx.changes_config();
        let now = tx.now_ms();
        let names: Vec<&str> = departments.iter().map(|d| d.name.as_str()).collect();
        let names = serde_json::json!(names).to_string();
        let records = serde_json::json!(departments).to_string();
        let sql = format!(
            "update projects set departments = $2, department_records = $3, updated_at = $4 where key = $1
             returning {PROJECT_COLUMNS}"
        );
        Ok(on_tx!(tx, |conn| query_as::<ProjectRecord>(&sql)
            .bind(key)
            .bind(&names)
            .bind(&records)
            .bind(now)
            .fetch_one(conn)
            .await)?)
    }

    pub async fn project_in(tx: &mut Tx, key: &str) -> Result<Option<ProjectRecord>> {
        let sql = format!("select {PROJECT_COLUMNS} from projects where key = $1");
        Ok(on_tx!(tx, |conn| query_as::<ProjectRecord>(&sql)
            .bind(key)
            .fetch_optional(conn)
            .await)?)
    }

    /// Every project, in key order.
    pub async fn projects(&self) -> Result<Vec<ProjectRecord>> {
        let projects = self
            .remembered(&self.config.projects, async {
                let sql = format!("select {PROJECT_COLUMNS} from projects order by key");
                let rows = on_pool!(self, |pool| query_as::<ProjectRecord>(&sql).fetch_all(pool).await)?;
                Ok(rows.into())
            })
            .await?;
        Ok(projects.to_vec())
    }

    pub async fn projects_in(tx: &mut Tx) -> Result<Vec<ProjectRecord>> {
        let sql = format!("select {PROJECT_COLUMNS} from projects order by key");
        Ok(on_tx!(tx, |conn| query_as::<ProjectRecord>(&sql)
            .fetch_all(conn)
            .await)?)
    }

    pub async fn project(&self, key: &str) -> Result<ProjectRecord> {
        let sql = format!("select {PROJECT_COLUMNS} from projects where key = $1");
        Ok(on_pool!(self, |pool| query_as::<ProjectRecord>(&sql)
            .bind(key)
            .fetch_one(pool)
            .await)?)
    }

    /// Every workspace setting, read at once.
    pub async fn settings(&self) -> Result<Settings> {
        Ok(settings_of(&self.setting_rows().await?))
    }

    /// The settings of the workspace an installation serves (see
    /// [`Store::put_workspace_settings`]).
    pub async fn settings_for(&self, installation: Option<&str>) -> Result<Settings> {
        Ok(workspace_settings_of(&self.setting_rows().await?, installation))
    }

    /// The same, read inside a change to them.
    pub async fn settings_in_for(tx: &mut Tx, installation: Option<&str>) -> Result<Settings> {
        let rows: Vec<(String, String)> = on_tx!(tx, |conn| query_as(SETTINGS).fetch_all(conn).await)?;
        Ok(workspace_settings_of(&rows, installation))
    }

    /// Give a workspace settings of its own, all of them: from then on the shared settings
    /// no longer apply there.
    pub async fn put_workspace_settings(tx: &mut Tx, installation: &str, settings: &Settings) -> Result<()> {
        let marker = own_marker(installation);
        let mut rows: Vec<(String, Option<String>)> = settings
            .to_stored()
            .into_iter()
            .map(|(key, value)| (format!("{installation}/{key}"), value))
            .collect();
        rows.push((marker, Some("true".into())));
        let pairs: Vec<(&str, Option<String>)> = rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        Self::put_settings(tx, &pairs).await
    }

    /// The settings, read inside a change to them.
    pub async fn settings_in(tx: &mut Tx) -> Result<Settings> {
        let rows: Vec<(String, String)> = on_tx!(tx, |conn| query_as(SETTINGS).fetch_all(conn).await)?;
        Ok(settings_of(&rows))
    }

    /// Write settings as stored (name, JSON); `None` removes the row.
    pub async fn put_settings(tx: &mut Tx, pairs: &[(&str, Option<String>)]) -> Result<()> {
        tx.changes_config();
        let now = tx.now_ms();
        for (key, value) in pairs {
            on_tx!(tx, |conn| {
                match value {
                    Some(value) => query(
                        "insert into settings (key, value, updated_at) values ($1, $2, $3)
                         on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at",
                    )
                    .bind(*key)
                    .bind(value)
                    .bind(now),
                    None => query("delete from settings where key = $1").bind(*key),
                }
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// What a channel is bound as now, inside a change.
    pub async fn channel_kind(tx: &mut Tx, channel_id: &str) -> Result<Option<ChannelKind>> {
        let kind: Option<String> = on_tx!(tx, |conn| {
            query_scalar("select kind from channels where channel_id = $1")
                .bind(channel_id)
                .fetch_optional(conn)
                .await
        })?;
        Ok(kind.and_then(|k| ChannelKind::parse(&k)))
    }

    /// A support channel whose agent channel `channel_id` is, if any.
    pub async fn agent_channel_user(tx: &mut Tx, channel_id: &str) -> Result<Option<String>> {
        Ok(on_tx!(tx, |conn| {
            query_scalar("select channel_id from channels where agent_channel = $1 limit 1")
                .bind(channel_id)
                .fetch_optional(conn)
                .await
        })?)
    }

    /// Bind a channel as an agent channel with nothing else set.
    pub async fn bind_agent_channel(tx: &mut Tx, channel_id: &str) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "insert into channels (channel_id, kind, created_at, updated_at) values ($1, 'agent', $2, $2)
                 on conflict (channel_id) do nothing",
            channel_id,
            now
        )?;
        Ok(())
    }

    /// Write a channel's checked settings (its facilitator is kept).
    pub async fn save_channel(tx: &mut Tx, channel: &ChannelSettings) -> Result<ChannelRecord> {
        let now = tx.now_ms();
        let sql = format!(
            "insert into channels ({CHANNEL_SETTINGS})
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
             on conflict (channel_id) do update set kind = excluded.kind, project_key = excluded.project_key,
               agent_channel = excluded.agent_channel, auto_create = excluded.auto_create,
               thread_sync = excluded.thread_sync, announcement_marker = excluded.announcement_marker,
               create_emoji = excluded.create_emoji, assign_emoji = excluded.assign_emoji,
               resolve_emoji = excluded.resolve_emoji, default_department = excluded.default_department,
               default_request_type = excluded.default_request_type, default_priority = excluded.default_priority,
               updated_at = excluded.updated_at
             returning {CHANNEL_COLUMNS}"
        );
        Ok(on_tx!(tx, |conn| {
            query_as::<ChannelRecord>(&sql)
                .bind(&channel.channel_id)
                .bind(channel.kind.as_str())
                .bind(&channel.project)
                .bind(&channel.agent_channel)
                .bind(channel.auto_create)
                .bind(channel.thread_sync)
                .bind(&channel.announcement_marker)
                .bind(&channel.create_emoji)
                .bind(&channel.assign_emoji)
                .bind(&channel.resolve_emoji)
                .bind(&channel.default_department)
                .bind(&channel.default_request_type)
                .bind(channel.default_priority.map(|p| p.as_str()))
                .bind(now)
                .fetch_one(conn)
                .await
        })?)
    }

    /// Authorize a support channel's facilitator (`Some((user, by))`), or revoke it.
    pub async fn set_facilitator(
        tx: &mut Tx,
        channel_id: &str,
        facilitator: Option<(&str, &str)>,
    ) -> Result<ChannelRecord> {
        let sql = format!(
            "update channels set facilitator_slack_id = $2, facilitator_authorized_by = $3,
               facilitator_authorized_at = $4, updated_at = coalesce($4, updated_at)
             where channel_id = $1 and kind = 'support' returning {CHANNEL_COLUMNS}"
        );
        let now = facilitator.map(|_| tx.now_ms());
        Ok(on_tx!(tx, |conn| {
            query_as::<ChannelRecord>(&sql)
                .bind(channel_id)
                .bind(facilitator.map(|f| f.0))
                .bind(facilitator.map(|f| f.1))
                .bind(now)
                .fetch_one(conn)
                .await
        })?)
    }

    pub async fn channel(&self, channel_id: &str) -> Result<Option<ChannelRecord>> {
        let sql = format!("select {CHANNEL_COLUMNS} from channels where channel_id = $1");
        Ok(on_pool!(self, |pool| {
            query_as::<ChannelRecord>(&sql)
                .bind(channel_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A channel, read inside a change.
    pub async fn channel_in(tx: &mut Tx, channel_id: &str) -> Result<Option<ChannelRecord>> {
        let sql = format!("select {CHANNEL_COLUMNS} from channels where channel_id = $1");
        Ok(on_tx!(tx, |conn| {
            query_as::<ChannelRecord>(&sql)
                .bind(channel_id)
                .fetch_optional(conn)
                .await
        })?)
    }

    pub async fn channels(&self) -> Result<Vec<ChannelRecord>> {
        let sql = format!("select {CHANNEL_COLUMNS} from channels order by channel_id");
        Ok(on_pool!(self, |pool| query_as::<ChannelRecord>(&sql)
            .fetch_all(pool)
            .await)?)
    }

    /// Unbind a channel; whether it was bound. Its tickets stay.
    pub async fn delete_channel(tx: &mut Tx, channel_id: &str) -> Result<bool> {
        let deleted: u64 = execute!(tx, "delete from channels where channel_id = $1", channel_id)?;
        Ok(deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction that has saved project IT under `name`, not yet committed.
    async fn saving(store: &Store, name: &str) -> Tx {
        let approvals = Approvals::new();
        let project = NewProject {
            key: "IT",
            name,
            departments: &[],
            request_types: &[],
            workflow: None,
            approvals: &approvals,
            message_fields: None,
            intro: None,
        };
        let mut tx = store.begin().await.unwrap();
        Store::save_project(&mut tx, &project).await.unwrap();
        tx
    }

    #[tokio::test]
    async fn projects_kept_between_reads_follow_every_committed_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite:{}", dir.path().join("kept.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let names = |projects: Vec<ProjectRecord>| projects.into_iter().map(|p| p.name).collect::<Vec<_>>();

        saving(&store, "IT help").await.commit().await.unwrap();
        assert_eq!(names(store.projects().await.unwrap()), ["IT help"]);

        // Not seen before its commit, nor after a rollback; seen at once after a commit.
        let tx = saving(&store, "IT desk").await;
        assert_eq!(names(store.projects().await.unwrap()), ["IT help"]);
        drop(tx);
        assert_eq!(names(store.projects().await.unwrap()), ["IT help"]);
        saving(&store, "IT desk").await.commit().await.unwrap();
        assert_eq!(names(store.projects().await.unwrap()), ["IT desk"]);

        let mut tx = store.begin().await.unwrap();
        Store::put_settings(&mut tx, &[("admins", Some(r#"["U1"]"#.into()))])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.settings().await.unwrap().admins, ["U1"]);
    }
}
