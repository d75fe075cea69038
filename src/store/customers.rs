//! Customers, organizations and who follows which project. A customer whose address is a
//! Slack member's (as deskhand last read it) is that member: `slack_user_id` says who.

use serde::Serialize;

use super::{execute, lite::lite_record, on_pool, on_tx, Result, SlackUserRecord, Store, StoreError, Tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CustomerRecord {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    /// The Slack member with this address, when there is one.
    pub slack_user_id: Option<String>,
}

lite_record! { CustomerRecord { id, email, name, created_at, created_by, slack_user_id } }

impl CustomerRecord {
    /// How people see this customer: their name, else their address.
    pub fn shown_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.email)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OrganizationRecord {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

lite_record! { OrganizationRecord { id, name, created_at } }

const CUSTOMER_COLUMNS: &str = "c.id, c.email, c.name, c.created_at, c.created_by,
    (select s.slack_user_id from slack_users s where lower(s.email) = c.email and not s.deleted
     order by s.slack_user_id limit 1) as slack_user_id";

/// The customers who follow a project: directly, or through an organization.
const AUDIENCE: &str = "select customer_id from project_followers where project_key = $1 and customer_id is not null
     union
     select m.customer_id from project_followers f join organization_members m on m.organization_id = f.organization_id
     where f.project_key = $1";

impl Store {
    pub async fn insert_customer(tx: &mut Tx, email: &str, name: Option<&str>, by: &str) -> Result<i64> {
        let now = tx.now_ms();
        Ok(on_tx!(tx, |conn| query_scalar(
            "insert into customers (email, name, created_at, created_by) values ($1, $2, $3, $4) returning id"
        )
        .bind(email)
        .bind(name)
        .bind(now)
        .bind(by)
        .fetch_one(conn)
        .await)?)
    }

    async fn customers_where(
        &self,
        condition: &str,
        bind: Option<&str>,
        id: Option<i64>,
    ) -> Result<Vec<CustomerRecord>> {
        let sql = format!("select {CUSTOMER_COLUMNS} from customers c {condition} order by c.email");
        Ok(on_pool!(self, |pool| {
            let mut query = query_as::<CustomerRecord>(&sql);
            if let Some(text) = bind {
                query = query.bind(text);
            }
            if let Some(id) = id {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?)
    }

    pub async fn customer(&self, id: i64) -> Result<Option<CustomerRecord>> {
        Ok(self.customers_where("where c.id = $1", None, Some(id)).await?.pop())
    }

    pub async fn customer_by_email(&self, email: &str) -> Result<Option<CustomerRecord>> {
        Ok(self
            .customers_where("where c.email = $1", Some(email), None)
            .await?
            .pop())
    }

    /// Every customer, or an organization's members.
    pub async fn customers(&self, organization: Option<i64>) -> Result<Vec<CustomerRecord>> {
        match organization {
            None => self.customers_where("", None, None).await,
            Some(id) => {
                let condition =
                    "where c.id in (select customer_id from organization_members where organization_id = $1)";
                self.customers_where(condition, None, Some(id)).await
            }
        }
    }

    /// The customers who follow `project`, directly or through an organization.
    pub async fn audience(&self, project: &str) -> Result<Vec<CustomerRecord>> {
        self.customers_where(&format!("where c.id in ({AUDIENCE})"), Some(project), None)
            .await
    }

    /// Remove a customer, with their memberships and follows. Whether there was one.
    pub async fn delete_customer(tx: &mut Tx, id: i64) -> Result<bool> {
        execute!(tx, "delete from organization_members where customer_id = $1", id)?;
        execute!(tx, "delete from project_followers where customer_id = $1", id)?;
        Ok(execute!(tx, "delete from customers where id = $1", id)? > 0)
    }

    /// A new organization; `Conflict` when one is named alike (case aside).
    pub async fn insert_organization(tx: &mut Tx, name: &str) -> Result<i64> {
        let now = tx.now_ms();
        Ok(on_tx!(tx, |conn| query_scalar(
            "insert into organizations (name, name_key, created_at) values ($1, $2, $3) returning id"
        )
        .bind(name)
        .bind(name.to_lowercase())
        .bind(now)
        .fetch_one(conn)
        .await)?)
    }

    pub async fn organizations(&self) -> Result<Vec<OrganizationRecord>> {
        Ok(on_pool!(self, |pool| query_as(
            "select id, name, created_at from organizations order by name_key"
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn organization(&self, id: i64) -> Result<Option<OrganizationRecord>> {
        Ok(on_pool!(self, |pool| query_as(
            "select id, name, created_at from organizations where id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn organization_named(&self, name: &str) -> Result<Option<OrganizationRecord>> {
        Ok(on_pool!(self, |pool| query_as(
            "select id, name, created_at from organizations where name_key = $1"
        )
        .bind(name.trim().to_lowercase())
        .fetch_optional(pool)
        .await)?)
    }

    /// The organizations `customer` belongs to.
    pub async fn organizations_of(&self, customer: i64) -> Result<Vec<OrganizationRecord>> {
        Ok(on_pool!(self, |pool| query_as(
            "select o.id, o.name, o.created_at from organizations o
             join organization_members m on m.organization_id = o.id where m.customer_id = $1 order by o.name_key"
        )
        .bind(customer)
        .fetch_all(pool)
        .await)?)
    }

    /// Remove an organization, its memberships and follows (its members stay customers).
    pub async fn delete_organization(tx: &mut Tx, id: i64) -> Result<bool> {
        execute!(tx, "delete from organization_members where organization_id = $1", id)?;
        execute!(tx, "delete from project_followers where organization_id = $1", id)?;
        Ok(execute!(tx, "delete from organizations where id = $1", id)? > 0)
    }

    /// Put `customer` in `organization`; whether they were not in it yet.
    pub async fn add_member(tx: &mut Tx, organization: i64, customer: i64) -> Result<bool> {
        let now = tx.now_ms();
        Ok(execute!(
            tx,
            "insert into organization_members (organization_id, customer_id, added_at) values ($1, $2, $3)
             on conflict do nothing",
            organization,
            customer,
            now
        )? > 0)
    }

    pub async fn remove_member(tx: &mut Tx, organization: i64, customer: i64) -> Result<bool> {
        Ok(execute!(
            tx,
            "delete from organization_members where organization_id = $1 and customer_id = $2",
            organization,
            customer
        )? > 0)
    }

    /// Replace who `project` is shared with.
    pub async fn set_followers(tx: &mut Tx, project: &str, customers: &[i64], organizations: &[i64]) -> Result<()> {
        let now = tx.now_ms();
        execute!(tx, "delete from project_followers where project_key = $1", project)?;
        for id in customers {
            execute!(
                tx,
                "insert into project_followers (project_key, customer_id, added_at) values ($1, $2, $3)",
                project,
                id,
                now
            )?;
        }
        for id in organizations {
            execute!(
                tx,
                "insert into project_followers (project_key, organization_id, added_at) values ($1, $2, $3)",
                project,
                id,
                now
            )?;
        }
        Ok(())
    }

    /// Who `project` is shared with: customers, and organizations.
    pub async fn followers(&self, project: &str) -> Result<(Vec<CustomerRecord>, Vec<OrganizationRecord>)> {
        let customers = self
            .customers_where(
                "where c.id in (select customer_id from project_followers where project_key = $1)",
                Some(project),
                None,
            )
            .await?;
        let organizations = on_pool!(self, |pool| query_as(
            "select o.id, o.name, o.created_at from organizations o
             join project_followers f on f.organization_id = o.id where f.project_key = $1 order by o.name_key"
        )
        .bind(project)
        .fetch_all(pool)
        .await)?;
        Ok((customers, organizations))
    }

    /// The projects a customer follows (directly or through an organization), or that an
    /// organization follows.
    pub async fn followed_projects(&self, customer: Option<i64>, organization: Option<i64>) -> Result<Vec<String>> {
        let (sql, id) = match (customer, organization) {
            (Some(id), _) => (
                "select project_key from project_followers where customer_id = $1
                 union
                 select f.project_key from project_followers f
                 join organization_members m on m.organization_id = f.organization_id where m.customer_id = $1
                 order by 1",
                id,
            ),
            (None, Some(id)) => (
                "select project_key from project_followers where organization_id = $1 order by 1",
                id,
            ),
            (None, None) => return Err(StoreError::Other("followed_projects of nobody".into())),
        };
        Ok(on_pool!(self, |pool| query_scalar(sql).bind(id).fetch_all(pool).await)?)
    }

    /// The Slack member deskhand knows with this address (as last read from Slack).
    pub async fn slack_user_by_email(&self, email: &str) -> Result<Option<SlackUserRecord>> {
        let sql = format!(
            "select {} from slack_users where lower(email) = $1 and not deleted order by slack_user_id limit 1",
            super::tickets::SLACK_USER_COLUMNS
        );
        Ok(on_pool!(self, |pool| query_as::<SlackUserRecord>(&sql)
            .bind(email)
            .fetch_optional(pool)
            .await)?)
    }

    /// Remember an announcement and whom it reached.
    pub async fn insert_project_message(
        tx: &mut Tx,
        project: &str,
        text: &str,
        author: &str,
        reached: (i64, i64, i64),
    ) -> Result<i64> {
        let now = tx.now_ms();
        Ok(on_tx!(tx, |conn| query_scalar(
            "insert into project_messages (project_key, text, author, in_slack, by_email, unreachable, created_at)
             values ($1, $2, $3, $4, $5, $6, $7) returning id"
        )
        .bind(project)
        .bind(text)
        .bind(author)
        .bind(reached.0)
        .bind(reached.1)
        .bind(reached.2)
        .bind(now)
        .fetch_one(conn)
        .await)?)
    }
}
