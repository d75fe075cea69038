//! Customers, organizations, and sharing projects with them: what the admin API and
//! `/desk customer` call. Each change is written with its audit entry in one transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Actor, AdminError, Directory, Result};
use crate::desk::config::{Field, Refusal};
use crate::desk::customers::{check_announcement, check_name, managed_domain, managed_refusal, normalize_email};
use crate::desk::effects::Effect;
use crate::store::{CustomerRecord, NewEffect, OrganizationRecord, Store, StoreError};

/// A customer or an organization, named by its id or by its address or name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Ref {
    Id(i64),
    Name(String),
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Id(id) => write!(f, "{id}"),
            Ref::Name(name) => f.write_str(name),
        }
    }
}

/// A customer to add, as the API or `/desk customer add` gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRequest {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub organization: Option<Ref>,
}

/// Someone who is already known by an address.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Existing {
    Customer(CustomerRecord),
    SlackMember { slack_user_id: String, name: String },
}

#[derive(Debug, Clone)]
pub enum Added {
    Created(CustomerRecord),
    /// Nobody was added: this person is already known.
    Exists(Existing),
}

/// Add a customer. `may_add_managed`: whether the actor is an admin (only admins add
/// people of a managed domain).
pub async fn add(
    store: &Store,
    directory: &dyn Directory,
    actor: Actor<'_>,
    request: CustomerRequest,
    may_add_managed: bool,
) -> Result<Added> {
    let email = normalize_email(&request.email)?;
    let name = check_name(Field::Name, request.name.as_deref())?;
    let settings = store.settings().await?;
    if let Some(domain) = managed_domain(&email, &settings.managed_domains).filter(|_| !may_add_managed) {
        let admins = if settings.admins.is_empty() {
            "a workspace admin".to_owned()
        } else {
            let named: Vec<String> = settings.admins.iter().map(|a| format!("<@{a}>")).collect();
            format!("an admin ({})", named.join(", "))
        };
        return Err(managed_refusal(&email, domain, &admins).into());
    }
    if let Some(existing) = existing(store, directory, &email).await? {
        return Ok(Added::Exists(existing));
    }
    let organization = match &request.organization {
        Some(org) => Some(organization(store, org).await?),
        None => None,
    };
    let mut tx = store.begin().await?;
    let id = match Store::insert_customer(&mut tx, &email, name.as_deref(), actor.id_or_name()).await {
        Ok(id) => id,
        // Added meanwhile by someone else.
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            return match store.customer_by_email(&email).await? {
                Some(customer) => Ok(Added::Exists(Existing::Customer(customer))),
                None => Err(AdminError::Unavailable(
                    "the customer changed meanwhile; try again".into(),
                )),
            };
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(org) = &organization {
        Store::add_member(&mut tx, org.id, id).await?;
    }
    let detail = json!({ "customer": id, "email": email, "organization": organization.as_ref().map(|o| o.id) });
    Store::insert_audits(&mut tx, &[actor.audit("customer_added", detail)]).await?;
    tx.commit().await?;
    let customer = store.customer(id).await?.ok_or(StoreError::NotFound)?;
    Ok(Added::Created(customer))
}

/// Who is already known by `email`: a customer, or a Slack member (as deskhand last read
/// them, else as Slack says now; when Slack cannot be asked, only what deskhand knows).
async fn existing(store: &Store, directory: &dyn Directory, email: &str) -> Result<Option<Existing>> {
    if let Some(customer) = store.customer_by_email(email).await? {
        return Ok(Some(Existing::Customer(customer)));
    }
    if let Some(member) = store.slack_user_by_email(email).await? {
        return Ok(Some(Existing::SlackMember {
            slack_user_id: member.slack_user_id,
            name: member.display_name,
        }));
    }
    match directory.person_by_email(email).await {
        Ok(Some(person)) if !person.deleted && !person.is_bot => Ok(Some(Existing::SlackMember {
            slack_user_id: person.id,
            name: person.name,
        })),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::warn!(error = %e, "could not ask Slack whether a customer is a member; added as a customer");
            Ok(None)
        }
    }
}

/// The customer `r` names, or a refusal naming it.
pub async fn customer(store: &Store, r: &Ref) -> Result<CustomerRecord> {
    let found = match r {
        Ref::Id(id) => store.customer(*id).await?,
        Ref::Name(email) => match normalize_email(email) {
            Ok(email) => store.customer_by_email(&email).await?,
            Err(_) => None,
        },
    };
    found.ok_or_else(|| Refusal::invalid(Field::Customers, format!("no customer {r}: add them first")).into())
}

/// The organization `r` names, or a refusal naming it.
pub async fn organization(store: &Store, r: &Ref) -> Result<OrganizationRecord> {
    let found = match r {
        Ref::Id(id) => store.organization(*id).await?,
        Ref::Name(name) => store.organization_named(name).await?,
    };
    found.ok_or_else(|| Refusal::invalid(Field::Organization, format!("no organization {r}: create it first")).into())
}

pub async fn delete_customer(store: &Store, actor: Actor<'_>, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !Store::delete_customer(&mut tx, id).await? {
        return Err(AdminError::NotFound(format!("no customer {id}")));
    }
    Store::insert_audits(&mut tx, &[actor.audit("customer_removed", json!({ "customer": id }))]).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_organization(store: &Store, actor: Actor<'_>, name: &str) -> Result<OrganizationRecord> {
    let name = check_name(Field::Name, Some(name))?
        .ok_or_else(|| Refusal::invalid(Field::Name, "name: give the organization a name"))?;
    let mut tx = store.begin().await?;
    let id = match Store::insert_organization(&mut tx, &name).await {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            return Err(Refusal::conflict(Field::Name, format!("there is already an organization named {name}")).into())
        }
        Err(e) => return Err(e.into()),
    };
    let detail = json!({ "organization": id, "name": name });
    Store::insert_audits(&mut tx, &[actor.audit("organization_added", detail)]).await?;
    tx.commit().await?;
    Ok(store.organization(id).await?.ok_or(StoreError::NotFound)?)
}

pub async fn delete_organization(store: &Store, actor: Actor<'_>, id: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if !Store::delete_organization(&mut tx, id).await? {
        return Err(AdminError::NotFound(format!("no organization {id}")));
    }
    let detail = json!({ "organization": id });
    Store::insert_audits(&mut tx, &[actor.audit("organization_removed", detail)]).await?;
    tx.commit().await?;
    Ok(())
}

/// Put a customer in an organization, or take them out (`member: false`).
pub async fn set_member(store: &Store, actor: Actor<'_>, org: i64, who: &Ref, member: bool) -> Result<CustomerRecord> {
    let organization = store
        .organization(org)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no organization {org}")))?;
    let customer = customer(store, who).await?;
    let mut tx = store.begin().await?;
    let changed = if member {
        Store::add_member(&mut tx, organization.id, customer.id).await?
    } else {
        Store::remove_member(&mut tx, organization.id, customer.id).await?
    };
    if changed {
        let action = if member { "member_added" } else { "member_removed" };
        let detail = json!({ "organization": organization.id, "customer": customer.id });
        Store::insert_audits(&mut tx, &[actor.audit(action, detail)]).await?;
    } else if !member {
        return Err(AdminError::NotFound(format!(
            "{} is not in {}",
            customer.email, organization.name
        )));
    }
    tx.commit().await?;
    Ok(customer)
}

/// Who a project is shared with, as an admin sets it (the whole list).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowersRequest {
    #[serde(default)]
    pub customers: Vec<Ref>,
    #[serde(default)]
    pub organizations: Vec<Ref>,
}

/// Share `project` with exactly these customers and organizations.
pub async fn share(
    store: &Store,
    actor: Actor<'_>,
    project: &str,
    request: FollowersRequest,
) -> Result<(Vec<CustomerRecord>, Vec<OrganizationRecord>)> {
    project_named(store, project).await?;
    let mut customers = Vec::new();
    for r in &request.customers {
        let found = customer(store, r).await?;
        if !customers.contains(&found.id) {
            customers.push(found.id);
        }
    }
    let mut organizations = Vec::new();
    for r in &request.organizations {
        let found = organization(store, r).await?;
        if !organizations.contains(&found.id) {
            organizations.push(found.id);
        }
    }
    let mut tx = store.begin().await?;
    Store::set_followers(&mut tx, project, &customers, &organizations).await?;
    let detail = json!({ "project": project, "customers": customers, "organizations": organizations });
    Store::insert_audits(&mut tx, &[actor.audit("project_shared", detail)]).await?;
    tx.commit().await?;
    Ok(store.followers(project).await?)
}

async fn project_named(store: &Store, key: &str) -> Result<crate::store::ProjectRecord> {
    match store.project(key).await {
        Err(StoreError::NotFound) => Err(AdminError::NotFound(format!("no project {key}"))),
        other => Ok(other?),
    }
}

/// Whom an announcement reached.
#[derive(Debug, Clone, Serialize)]
pub struct Announced {
    pub id: i64,
    /// Followers who are Slack members: by DM.
    pub in_slack: usize,
    /// Followers outside Slack: by mail.
    pub by_email: usize,
    /// Followers outside Slack while no mail is set up (`DESKHAND_SMTP_URL`).
    pub unreachable: Vec<String>,
}

/// Send a public message to every follower of `project`: in Slack to those who are
/// members, by mail to the others (when `mail` is set up).
pub async fn announce(store: &Store, actor: Actor<'_>, project: &str, text: &str, mail: bool) -> Result<Announced> {
    let text = check_announcement(text)?;
    let record = project_named(store, project).await?;
    let audience = store.audience(project).await?;
    let mut effects = Vec::new();
    let (mut in_slack, mut by_email, mut unreachable) = (0, 0, Vec::new());
    for customer in &audience {
        match &customer.slack_user_id {
            Some(user) => {
                in_slack += 1;
                effects.push(NewEffect::of(&Effect::DirectMessage {
                    user: user.clone(),
                    text: format!("*{}*: {text}", record.name),
                }));
            }
            None if mail => {
                by_email += 1;
                effects.push(NewEffect::of(&Effect::MailTo {
                    address: customer.email.clone(),
                    subject: format!("{}: an announcement", record.name),
                    body: format!("{text}\n\n-- {} help desk", record.name),
                    reply_token: None,
                }));
            }
            None => unreachable.push(customer.email.clone()),
        }
    }
    let mut tx = store.begin().await?;
    let reached = (in_slack as i64, by_email as i64, unreachable.len() as i64);
    let id = Store::insert_project_message(&mut tx, project, &text, actor.id_or_name(), reached).await?;
    Store::enqueue_effects(&mut tx, &effects).await?;
    let detail = json!({ "project": project, "message": id, "in_slack": in_slack, "by_email": by_email });
    Store::insert_audits(&mut tx, &[actor.audit("project_announced", detail)]).await?;
    tx.commit().await?;
    Ok(Announced {
        id,
        in_slack,
        by_email,
        unreachable,
    })
}
