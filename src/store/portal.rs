//! The portal's memory: one-time sign-in links and sessions (kept as SHA-256 hashes: the
//! database never holds what a browser presents), sign-in requests for rate limits, and
//! the tickets a signed-in person may see.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::tickets::TICKET_COLUMNS;
use super::{execute, lite::lite_record, on_pool, on_tx, Result, Store, TicketRecord, Tx};
use crate::desk::portal::{PortalVisibility, LINK_LIFETIME_MS, SESSION_IDLE_MS};
use crate::desk::ProjectKey;

/// Who is signed in: a Slack member or a customer, with the customer record their address
/// has (a Slack member may have one too).
#[derive(Debug, Clone, Serialize)]
pub struct PortalPerson {
    pub slack_user_id: Option<String>,
    pub customer_id: Option<i64>,
    pub name: String,
}

/// A session as a request presents it.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub slack_user_id: Option<String>,
    pub customer_id: Option<i64>,
    pub csrf: String,
}

/// A line of the portal's list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PortalTicket {
    pub key: String,
    pub summary: String,
    pub status: String,
    pub updated_at: i64,
}

lite_record! { PortalTicket { key, summary, status, updated_at } }

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// A fresh secret: 32 random bytes, as hex.
fn secret() -> String {
    format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>())
}

impl Store {
    /// A sign-in link's token for a Slack member or a customer, good once for
    /// [`LINK_LIFETIME_MS`]; only its hash is kept.
    pub async fn create_portal_link(
        tx: &mut Tx,
        slack_user_id: Option<&str>,
        customer_id: Option<i64>,
        next: &str,
    ) -> Result<String> {
        let now = tx.now_ms();
        let token = secret();
        execute!(
            tx,
            "insert into portal_links (token_hash, slack_user_id, customer_id, next_path, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
            hash(&token),
            slack_user_id,
            customer_id,
            next,
            now,
            now + LINK_LIFETIME_MS
        )?;
        Ok(token)
    }

    /// Use a link: who it signs in and where they go, if it is unused and unexpired. It
    /// cannot be used again.
    pub async fn use_portal_link(&self, token: &str) -> Result<Option<(Option<String>, Option<i64>, String)>> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        let used: Option<(Option<String>, Option<i64>, String)> = on_tx!(tx, |conn| query_as(
            "update portal_links set used_at = $2 where token_hash = $1 and used_at is null and expires_at > $2
             returning slack_user_id, customer_id, next_path"
        )
        .bind(hash(token))
        .bind(now)
        .fetch_optional(conn)
        .await)?;
        tx.commit().await?;
        Ok(used)
    }

    /// Whether a link is still good (for the page that asks to use it).
    pub async fn portal_link_usable(&self, token: &str) -> Result<bool> {
        let found: Option<i64> = on_pool!(self, |pool| query_scalar(
            "select expires_at from portal_links where token_hash = $1 and used_at is null and expires_at > $2"
        )
        .bind(hash(token))
        .bind(self.now_ms())
        .fetch_optional(pool)
        .await)?;
        Ok(found.is_some())
    }

    /// Start a session; its id (for the cookie) and its CSRF token.
    pub async fn create_portal_session(&self, slack_user_id: Option<&str>, customer_id: Option<i64>) -> Result<String> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        let id = secret();
        execute!(
            tx,
            "insert into portal_sessions (id_hash, slack_user_id, customer_id, csrf, created_at, seen_at)
             values ($1, $2, $3, $4, $5, $5)",
            hash(&id),
            slack_user_id,
            customer_id,
            secret(),
            now
        )?;
        tx.commit().await?;
        Ok(id)
    }

    /// The live session with this id, seen now.
    pub async fn portal_session(&self, id: &str) -> Result<Option<PortalSession>> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        let found: Option<(Option<String>, Option<i64>, String)> = on_tx!(tx, |conn| query_as(
            "update portal_sessions set seen_at = $2
             where id_hash = $1 and ended_at is null and seen_at > $3
             returning slack_user_id, customer_id, csrf"
        )
        .bind(hash(id))
        .bind(now)
        .bind(now - SESSION_IDLE_MS)
        .fetch_optional(conn)
        .await)?;
        tx.commit().await?;
        Ok(found.map(|(slack_user_id, customer_id, csrf)| PortalSession {
            slack_user_id,
            customer_id,
            csrf,
        }))
    }

    pub async fn end_portal_session(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        execute!(
            tx,
            "update portal_sessions set ended_at = $2 where id_hash = $1 and ended_at is null",
            hash(id),
            now
        )?;
        tx.commit().await
    }

    /// Count a sign-in request by `subject` (an address, a client), and say how many it
    /// made in the last hour, this one included.
    pub async fn count_portal_request(&self, subject: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let now = tx.now_ms();
        execute!(tx, "delete from portal_requests where at < $1", now - 3_600_000)?;
        execute!(
            tx,
            "insert into portal_requests (subject, at) values ($1, $2)",
            hash(subject),
            now
        )?;
        let count: i64 = on_tx!(tx, |conn| query_scalar(
            "select count(*) from portal_requests where subject = $1"
        )
        .bind(hash(subject))
        .fetch_one(conn)
        .await)?;
        tx.commit().await?;
        Ok(count)
    }

    /// Which tickets `person` may see: in projects whose portal is private (`projects`:
    /// their keys and visibility), their own and those they take part in, and as each
    /// project's visibility allows, their organizations' or all the followed projects'.
    fn visible_condition(projects: &[(ProjectKey, PortalVisibility)]) -> String {
        let own = "(t.requester_slack_id = $1
                    or exists (select 1 from ticket_participants tp where tp.ticket_id = t.id
                               and (tp.slack_user_id = $1 or tp.customer_id = $2)))";
        let organization = "exists (select 1 from organization_members mine
                    join organization_members theirs on theirs.organization_id = mine.organization_id
                    join customers c on c.id = theirs.customer_id
                    where mine.customer_id = $2
                      and (c.email = (select lower(s.email) from slack_users s where s.slack_user_id = t.requester_slack_id)
                           or exists (select 1 from ticket_participants tp where tp.ticket_id = t.id
                                      and tp.customer_id = theirs.customer_id)))";
        let followed = "t.project_key in (select project_key from project_followers where customer_id = $2
                    union select f.project_key from project_followers f
                    join organization_members m on m.organization_id = f.organization_id where m.customer_id = $2)";
        let clauses: Vec<String> = projects
            .iter()
            .map(|(key, visibility)| {
                // Project keys are letters and digits (`ProjectKey`): safe as literals.
                let wider = match visibility {
                    PortalVisibility::Own => String::new(),
                    PortalVisibility::Organization => format!(" or {organization}"),
                    PortalVisibility::Followed => format!(" or {followed}"),
                };
                format!("(t.project_key = '{}' and ({own}{wider}))", key.as_str())
            })
            .collect();
        if clauses.is_empty() {
            "false".into()
        } else {
            format!("({})", clauses.join(" or "))
        }
    }

    /// A page of the tickets `person` may see, newest change first.
    pub async fn portal_tickets(
        &self,
        person: &PortalPerson,
        projects: &[(ProjectKey, PortalVisibility)],
        limit: i64,
        offset: i64,
    ) -> Result<Vec<PortalTicket>> {
        let sql = format!(
            "select t.key, t.summary, t.status, t.updated_at from tickets t where {}
             order by t.updated_at desc, t.id desc limit $3 offset $4",
            Self::visible_condition(projects)
        );
        Ok(on_pool!(self, |pool| query_as::<PortalTicket>(&sql)
            .bind(person.slack_user_id.as_deref().unwrap_or(""))
            .bind(person.customer_id.unwrap_or(-1))
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)?)
    }

    /// The ticket `key`, if `person` may see it.
    pub async fn portal_ticket(
        &self,
        person: &PortalPerson,
        projects: &[(ProjectKey, PortalVisibility)],
        key: &str,
    ) -> Result<Option<TicketRecord>> {
        let columns: Vec<String> = TICKET_COLUMNS.split(',').map(|c| format!("t.{}", c.trim())).collect();
        let sql = format!(
            "select {} from tickets t where t.key = $3 and {}",
            columns.join(", "),
            Self::visible_condition(projects)
        );
        Ok(on_pool!(self, |pool| query_as::<TicketRecord>(&sql)
            .bind(person.slack_user_id.as_deref().unwrap_or(""))
            .bind(person.customer_id.unwrap_or(-1))
            .bind(key)
            .fetch_optional(pool)
            .await)?)
    }
}
