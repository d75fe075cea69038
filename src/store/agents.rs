//! What the agents' workflow keeps beside tickets: approvals and their decisions,
//! satisfaction surveys, the agents' queue, and the rows the reports are computed from.

use serde::Serialize;

use super::bulk::Dialect;
use super::tickets::TICKET_COLUMNS;
use super::{execute, lite::lite_record, on_pool, on_tx, ProjectRecord, Result, Store, TicketRecord, Tx};
use crate::desk::reports::{Rated, TicketTimes};

/// A request's approval: who may decide, and the decision once made.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApprovalRecord {
    #[serde(skip)]
    pub ticket_id: i64,
    /// JSON array of Slack user ids.
    #[serde(skip)]
    pub approvers: String,
    pub decision: Option<String>,
    pub decided_by: Option<String>,
    pub decided_by_name: Option<String>,
    pub reason: Option<String>,
    pub requested_at: i64,
    pub decided_at: Option<i64>,
}

lite_record! {
    ApprovalRecord {
        ticket_id, approvers, decision, decided_by, decided_by_name, reason, requested_at, decided_at
    }
}

impl ApprovalRecord {
    pub fn approvers(&self) -> Vec<String> {
        serde_json::from_str(&self.approvers).unwrap_or_default()
    }
}

/// One satisfaction survey: asked once per resolution of a ticket.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SurveyRecord {
    #[serde(skip)]
    pub ticket_id: i64,
    pub resolution: i64,
    pub requester_slack_id: String,
    pub rating: Option<i64>,
    pub comment: Option<String>,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
}

lite_record! { SurveyRecord { ticket_id, resolution, requester_slack_id, rating, comment, asked_at, answered_at } }

/// A ticket as the response-time report reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResponseRow {
    pub project_key: String,
    pub department: Option<String>,
    pub assignee_slack_id: Option<String>,
    pub created_at: i64,
    pub first_response_at: Option<i64>,
    pub first_resolved_at: Option<i64>,
}

lite_record! {
    ResponseRow {
        project_key, department, assignee_slack_id, created_at, first_response_at, first_resolved_at
    }
}

/// An answered survey as the satisfaction report reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RatingRow {
    pub project_key: String,
    pub department: Option<String>,
    pub assignee_slack_id: Option<String>,
    pub answered_at: i64,
    pub rating: i64,
}

lite_record! { RatingRow { project_key, department, assignee_slack_id, answered_at, rating } }

const APPROVAL_COLUMNS: &str =
    "ticket_id, approvers, decision, decided_by, decided_by_name, reason, requested_at, decided_at";
const SURVEY_COLUMNS: &str = "ticket_id, resolution, requester_slack_id, rating, comment, asked_at, answered_at";

/// Priority first, then the oldest.
const QUEUE_ORDER: &str =
    "case priority when 'Urgent' then 0 when 'High' then 1 when 'Normal' then 2 else 3 end, created_at, id";

impl Store {
    pub async fn ticket_in(tx: &mut Tx, ticket_id: i64) -> Result<Option<TicketRecord>> {
        let sql = format!("select {TICKET_COLUMNS} from tickets where id = $1");
        Ok(on_tx!(tx, |conn| query_as::<TicketRecord>(&sql)
            .bind(ticket_id)
            .fetch_optional(conn)
            .await)?)
    }

    pub async fn set_ticket_department(tx: &mut Tx, ticket_id: i64, department: Option<&str>) -> Result<()> {
        let now = tx.now_ms();
        execute!(
            tx,
            "update tickets set department = $2, updated_at = $3 where id = $1",
            ticket_id,
            department,
            now
        )?;
        Ok(())
    }

    pub async fn set_ticket_approval(tx: &mut Tx, ticket_id: i64, approval: &str) -> Result<()> {
        execute!(
            tx,
            "update tickets set approval = $2 where id = $1",
            ticket_id,
            approval
        )?;
        Ok(())
    }

    /// Ask for a request's approval by `approvers`, once.
    pub async fn request_approval(tx: &mut Tx, ticket_id: i64, approvers: &[String]) -> Result<()> {
        let now = tx.now_ms();
        let approvers = serde_json::json!(approvers).to_string();
        execute!(
            tx,
            "insert into approvals (ticket_id, approvers, requested_at) values ($1, $2, $3)
             on conflict (ticket_id) do nothing",
            ticket_id,
            approvers,
            now
        )?;
        Ok(())
    }

    pub async fn approval_in(tx: &mut Tx, ticket_id: i64) -> Result<Option<ApprovalRecord>> {
        let sql = format!("select {APPROVAL_COLUMNS} from approvals where ticket_id = $1");
        Ok(on_tx!(tx, |conn| query_as::<ApprovalRecord>(&sql)
            .bind(ticket_id)
            .fetch_optional(conn)
            .await)?)
    }

    pub async fn approval(&self, ticket_id: i64) -> Result<Option<ApprovalRecord>> {
        let sql = format!("select {APPROVAL_COLUMNS} from approvals where ticket_id = $1");
        Ok(on_pool!(self, |pool| query_as::<ApprovalRecord>(&sql)
            .bind(ticket_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Record a decision, unless one was made already: whether this one counts.
    pub async fn decide(
        tx: &mut Tx,
        ticket_id: i64,
        decision: &str,
        by: (&str, &str),
        reason: Option<&str>,
    ) -> Result<bool> {
        let now = tx.now_ms();
        let changed = execute!(
            tx,
            "update approvals set decision = $2, decided_by = $3, decided_by_name = $4, reason = $5, decided_at = $6
             where ticket_id = $1 and decision is null",
            ticket_id,
            decision,
            by.0,
            by.1,
            reason,
            now
        )?;
        Ok(changed == 1)
    }

    /// Ask a ticket's requester about its `resolution`-th resolution, once: whether this
    /// asks.
    pub async fn ask_survey(tx: &mut Tx, ticket_id: i64, resolution: i64, requester: &str) -> Result<bool> {
        let now = tx.now_ms();
        let asked = execute!(
            tx,
            "insert into surveys (ticket_id, resolution, requester_slack_id, asked_at) values ($1, $2, $3, $4)
             on conflict (ticket_id, resolution) do nothing",
            ticket_id,
            resolution,
            requester,
            now
        )?;
        Ok(asked == 1)
    }

    pub async fn survey_in(tx: &mut Tx, ticket_id: i64, resolution: i64) -> Result<Option<SurveyRecord>> {
        let sql = format!("select {SURVEY_COLUMNS} from surveys where ticket_id = $1 and resolution = $2");
        Ok(on_tx!(tx, |conn| query_as::<SurveyRecord>(&sql)
            .bind(ticket_id)
            .bind(resolution)
            .fetch_optional(conn)
            .await)?)
    }

    /// Record a survey's answer, unless it was answered already: whether this one counts.
    pub async fn answer_survey(
        tx: &mut Tx,
        ticket_id: i64,
        resolution: i64,
        rating: i64,
        comment: Option<&str>,
    ) -> Result<bool> {
        let now = tx.now_ms();
        let answered = execute!(
            tx,
            "update surveys set rating = $3, comment = $4, answered_at = $5
             where ticket_id = $1 and resolution = $2 and rating is null",
            ticket_id,
            resolution,
            rating,
            comment,
            now
        )?;
        Ok(answered == 1)
    }

    /// A ticket's latest answered survey.
    pub async fn latest_rating(&self, ticket_id: i64) -> Result<Option<SurveyRecord>> {
        let sql = format!(
            "select {SURVEY_COLUMNS} from surveys where ticket_id = $1 and rating is not null
             order by resolution desc limit 1"
        );
        Ok(on_pool!(self, |pool| query_as::<SurveyRecord>(&sql)
            .bind(ticket_id)
            .fetch_optional(pool)
            .await)?)
    }

    /// The open requests of an agent's queue that no approval holds back: of the
    /// departments they manage, or of every project when they manage none. Priority first,
    /// then the oldest.
    pub async fn queue_of(&self, user: &str, limit: i64) -> Result<Vec<TicketRecord>> {
        let projects = self.projects().await?;
        let (projects, departments) = queue_scope(&projects, user);
        let sql = queue_sql(self.dialect(), departments.is_some());
        let departments = serde_json::json!(departments.unwrap_or_default()).to_string();
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(serde_json::json!(projects).to_string())
            .bind(limit)
            .bind(&departments)
            .fetch_all(pool)
            .await)?)
    }

    /// The same, inside a transaction.
    pub async fn queue_in(tx: &mut Tx, user: &str, limit: i64) -> Result<Vec<TicketRecord>> {
        let projects = Store::projects_in(tx).await?;
        let (projects, departments) = queue_scope(&projects, user);
        let sql = queue_sql(Dialect::of_tx(tx), departments.is_some());
        let departments = serde_json::json!(departments.unwrap_or_default()).to_string();
        Ok(on_tx!(tx, |conn| query_as::<TicketRecord>(&sql)
            .bind(serde_json::json!(projects).to_string())
            .bind(limit)
            .bind(&departments)
            .fetch_all(conn)
            .await)?)
    }

    /// The tickets created in [`from`, `to`) with their first agent response and first
    /// resolution.
    pub async fn response_rows(&self, from: i64, to: i64) -> Result<Vec<ResponseRow>> {
        let sql = "select t.project_key, t.department, t.assignee_slack_id, t.created_at, t.first_resolved_at,
                      (select min(c.created_at) from comments c
                        where c.ticket_id = t.id and c.by_agent and c.visibility = 'public') as first_response_at
                   from tickets t where t.created_at >= $1 and t.created_at < $2 and t.deleted_at is null
                   order by t.created_at";
        Ok(on_pool!(self, |pool| query_as::<ResponseRow>(sql)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?)
    }

    /// The surveys answered in [`from`, `to`), with their tickets' project, department
    /// and assignee.
    pub async fn rating_rows(&self, from: i64, to: i64) -> Result<Vec<RatingRow>> {
        let sql = "select t.project_key, t.department, t.assignee_slack_id, s.answered_at, s.rating
                   from surveys s join tickets t on t.id = s.ticket_id
                   where s.rating is not null and s.answered_at >= $1 and s.answered_at < $2
                   order by s.answered_at";
        Ok(on_pool!(self, |pool| query_as::<RatingRow>(sql)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await)?)
    }
}

/// Which projects, and which of their departments, an agent's queue holds.
fn queue_scope(projects: &[ProjectRecord], user: &str) -> (Vec<String>, Option<Vec<String>>) {
    let mut managed_projects = Vec::new();
    let mut managed = Vec::new();
    for project in projects {
        for department in project.department_list() {
            if department.managers.iter().any(|m| m == user) {
                managed_projects.push(project.key.clone());
                managed.push(department.name);
            }
        }
    }
    if managed.is_empty() {
        (projects.iter().map(|p| p.key.clone()).collect(), None)
    } else {
        managed_projects.dedup();
        (managed_projects, Some(managed))
    }
}

fn queue_sql(dialect: Dialect, of_departments: bool) -> String {
    let departments = match of_departments {
        true => format!("and department in (select value from {})", dialect.json_texts(3)),
        false => "and $3 = '[]'".to_owned(),
    };
    format!(
        "select {TICKET_COLUMNS} from tickets
         where status_category <> 'done' and deleted_at is null and coalesce(approval, '') <> 'pending'
           and project_key in (select value from {projects}) {departments}
         order by {QUEUE_ORDER} limit $2",
        projects = dialect.json_texts(1),
    )
}

impl From<ResponseRow> for TicketTimes {
    fn from(row: ResponseRow) -> Self {
        TicketTimes {
            project: row.project_key,
            department: row.department,
            agent: row.assignee_slack_id,
            created_at: row.created_at,
            first_response_at: row.first_response_at,
            first_resolved_at: row.first_resolved_at,
        }
    }
}

impl From<RatingRow> for Rated {
    fn from(row: RatingRow) -> Self {
        Rated {
            project: row.project_key,
            department: row.department,
            agent: row.assignee_slack_id,
            at: row.answered_at,
            rating: row.rating,
        }
    }
}
