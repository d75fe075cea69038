//! The people besides the requester who follow one ticket, and the tokens their reply
//! addresses carry.

use serde::Serialize;

use super::{execute, lite::lite_record, on_pool, on_tx, Result, Store, Tx};

/// A participant: a Slack member, or a customer (with their address).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ParticipantRecord {
    pub ticket_id: i64,
    pub slack_user_id: Option<String>,
    pub customer_id: Option<i64>,
    /// The customer's address, or the Slack member's as deskhand knows it.
    pub email: Option<String>,
    /// How people see them.
    pub name: Option<String>,
    #[serde(skip)]
    pub reply_token: String,
    pub added_by: String,
    pub added_at: i64,
}

lite_record! {
    ParticipantRecord {
        ticket_id, slack_user_id, customer_id, email, name, reply_token, added_by, added_at
    }
}

impl ParticipantRecord {
    /// As the desk's notices need them.
    pub fn recipient(&self) -> crate::desk::participants::Recipient<'_> {
        crate::desk::participants::Recipient {
            slack_user_id: self.slack_user_id.as_deref(),
            email: self.email.as_deref().filter(|_| self.customer_id.is_some()),
            reply_token: &self.reply_token,
        }
    }

    pub fn shown_name(&self) -> String {
        match (&self.name, &self.email, &self.slack_user_id) {
            (Some(name), _, _) => name.clone(),
            (None, Some(email), _) => email.clone(),
            (None, None, Some(user)) => format!("<@{user}>"),
            (None, None, None) => "someone".into(),
        }
    }
}

const PARTICIPANT_COLUMNS: &str = "p.ticket_id, p.slack_user_id, p.customer_id,
    coalesce(c.email, s.email) as email, coalesce(c.name, s.display_name) as name,
    p.reply_token, p.added_by, p.added_at";
const PARTICIPANT_FROM: &str = "ticket_participants p
    left join customers c on c.id = p.customer_id
    left join slack_users s on s.slack_user_id = p.slack_user_id";

impl Store {
    /// Add a participant (`slack_user_id` or `customer_id`); whether they were not one yet.
    pub async fn add_participant(
        tx: &mut Tx,
        ticket_id: i64,
        slack_user_id: Option<&str>,
        customer_id: Option<i64>,
        added_by: &str,
    ) -> Result<bool> {
        let now = tx.now_ms();
        let token = format!("{:032x}", rand::random::<u128>());
        Ok(execute!(
            tx,
            "insert into ticket_participants (ticket_id, slack_user_id, customer_id, reply_token, added_by, added_at)
             values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
            ticket_id,
            slack_user_id,
            customer_id,
            token,
            added_by,
            now
        )? > 0)
    }

    pub async fn remove_participant(
        tx: &mut Tx,
        ticket_id: i64,
        slack_user_id: Option<&str>,
        customer_id: Option<i64>,
    ) -> Result<bool> {
        Ok(execute!(
            tx,
            "delete from ticket_participants where ticket_id = $1
               and (slack_user_id = $2 or customer_id = $3)",
            ticket_id,
            slack_user_id,
            customer_id
        )? > 0)
    }

    pub async fn participants_in(tx: &mut Tx, ticket_id: i64) -> Result<Vec<ParticipantRecord>> {
        let sql = format!("select {PARTICIPANT_COLUMNS} from {PARTICIPANT_FROM} where p.ticket_id = $1 order by p.id");
        Ok(on_tx!(tx, |conn| query_as::<ParticipantRecord>(&sql)
            .bind(ticket_id)
            .fetch_all(conn)
            .await)?)
    }

    pub async fn participants(&self, ticket_id: i64) -> Result<Vec<ParticipantRecord>> {
        let sql = format!("select {PARTICIPANT_COLUMNS} from {PARTICIPANT_FROM} where p.ticket_id = $1 order by p.id");
        Ok(on_pool!(self, |pool| query_as::<ParticipantRecord>(&sql)
            .bind(ticket_id)
            .fetch_all(pool)
            .await)?)
    }

    /// The participant whose reply address carries `token`.
    pub async fn participant_by_token(&self, token: &str) -> Result<Option<ParticipantRecord>> {
        let sql = format!("select {PARTICIPANT_COLUMNS} from {PARTICIPANT_FROM} where p.reply_token = $1");
        Ok(on_pool!(self, |pool| query_as::<ParticipantRecord>(&sql)
            .bind(token)
            .fetch_optional(pool)
            .await)?)
    }
}
