//! The workspace's settings and its projects.

use serde_json::json;

use super::{Actor, AdminError, Result};
use crate::desk::config::{check_names, Field, Refusal};
use crate::desk::project::{
    departments_named, put_department, Approval, Approvals, Department, InvalidDepartment, MessageField,
    INTRO_MAX_CHARS,
};
use crate::desk::settings::{Settings, SettingsChange};
use crate::desk::workflow::Workflow;
use crate::desk::ProjectKey;
use crate::store::{NewProject, ProjectRecord, Store};

/// Change the settings: every value is checked before anything is written, and a setting
/// the change leaves out keeps its value. The settings after it.
pub async fn update(store: &Store, actor: Actor<'_>, change: SettingsChange) -> Result<Settings> {
    let projects = project_keys(store).await?;
    let mut tx = store.begin().await?;
    let before = Store::settings_in(&mut tx).await?;
    let after = change.apply(&before, |key| projects.iter().any(|p| p == key))?;
    Store::put_settings(&mut tx, &after.changes_since(&before)).await?;
    Store::insert_audits(&mut tx, &[actor.audit("settings_updated", json!(after))]).await?;
    tx.commit().await?;
    Ok(after)
}

/// Every project's key, which a setting may name.
async fn project_keys(store: &Store) -> Result<Vec<String>> {
    Ok(store.projects().await?.into_iter().map(|p| p.key).collect())
}

/// An installation deskhand has (in place or removed), else not found.
async fn installed(store: &Store, installation: &str) -> Result<()> {
    let installed = store.installations().await?;
    if installed.iter().any(|w| w.installation == installation) {
        Ok(())
    } else {
        Err(AdminError::NotFound(format!(
            "no workspace {installation} installed deskhand"
        )))
    }
}

/// One installed workspace's settings: its own, else the shared ones.
pub async fn of_workspace(store: &Store, installation: &str) -> Result<Settings> {
    installed(store, installation).await?;
    Ok(store.settings_for(Some(installation)).await?)
}

/// Change the settings of one installed workspace (they start as the shared ones); the
/// workspace's settings after the change.
pub async fn update_workspace(
    store: &Store,
    actor: Actor<'_>,
    installation: &str,
    change: SettingsChange,
) -> Result<Settings> {
    installed(store, installation).await?;
    let projects = project_keys(store).await?;
    let mut tx = store.begin().await?;
    let before = Store::settings_in_for(&mut tx, Some(installation)).await?;
    let after = change.apply(&before, |key| projects.iter().any(|p| p == key))?;
    Store::put_workspace_settings(&mut tx, installation, &after).await?;
    let detail = json!({ "workspace": installation, "settings": after });
    Store::insert_audits(&mut tx, &[actor.audit("workspace_settings_updated", detail)]).await?;
    tx.commit().await?;
    Ok(after)
}

/// A request type as an admin names it: its name, or its name and the approval it needs.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum RequestTypeRequest {
    Name(String),
    Detailed {
        name: String,
        #[serde(default)]
        approval: Option<Approval>,
    },
}

impl RequestTypeRequest {
    fn name(&self) -> &str {
        match self {
            RequestTypeRequest::Name(name) | RequestTypeRequest::Detailed { name, .. } => name,
        }
    }
}

/// A project as an admin asked for it (the admin API's body as it is).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    pub name: String,
    /// The departments' names; left out, the departments stay as they are.
    #[serde(default)]
    pub departments: Option<Vec<String>>,
    #[serde(default)]
    pub request_types: Vec<RequestTypeRequest>,
    pub workflow: Option<Workflow>,
    #[serde(default)]
    pub message_fields: Option<Vec<MessageField>>,
    #[serde(default)]
    pub intro: Option<String>,
    /// Left out, the portal stays as it is.
    #[serde(default)]
    pub portal: Option<crate::desk::portal::PortalSettings>,
}

/// Create or change a project.
pub async fn save_project(
    store: &Store,
    actor: Actor<'_>,
    key: &str,
    request: ProjectRequest,
) -> Result<ProjectRecord> {
    let key = ProjectKey::parse(key).map_err(|e| Refusal::invalid(Field::Project, e.to_string()))?;
    let name = request.name.trim();
    if name.is_empty() {
        return Err(Refusal::invalid(Field::Name, "name must not be empty").into());
    }
    if let Some(workflow) = &request.workflow {
        workflow
            .validate()
            .map_err(|e| Refusal::invalid(Field::Workflow, format!("workflow: {e}")))?;
    }
    let type_names: Vec<String> = request.request_types.iter().map(|t| t.name().to_owned()).collect();
    let request_types = check_names(Field::RequestTypes, &type_names)?;
    let mut approvals = Approvals::new();
    for (kind, name) in request.request_types.iter().zip(&request_types) {
        if let RequestTypeRequest::Detailed {
            approval: Some(approval),
            ..
        } = kind
        {
            approval
                .check()
                .map_err(|e| Refusal::invalid(Field::Approvals, format!("{name}: {e}")))?;
            approvals.insert(name.clone(), approval.clone());
        }
    }
    let intro = request.intro.as_deref().map(str::trim).filter(|i| !i.is_empty());
    if intro.is_some_and(|i| i.chars().count() > INTRO_MAX_CHARS) {
        let message = format!("intro must be at most {INTRO_MAX_CHARS} characters");
        return Err(Refusal::invalid(Field::Intro, message).into());
    }
    let mut tx = store.begin().await?;
    let existing = Store::project_in(&mut tx, key.as_str())
        .await?
        .map(|p| p.department_list())
        .unwrap_or_default();
    let departments = match &request.departments {
        Some(names) => departments_named(&existing, &check_names(Field::Departments, names)?),
        None => existing,
    };
    let project = NewProject {
        key: key.as_str(),
        name,
        departments: &departments,
        request_types: &request_types,
        workflow: request.workflow.as_ref(),
        approvals: &approvals,
        message_fields: request.message_fields.as_deref(),
        intro,
    };
    let mut saved = Store::save_project(&mut tx, &project).await?;
    if let Some(portal) = &request.portal {
        Store::set_portal(&mut tx, &saved.key, portal).await?;
        saved.portal = Some(json!(portal).to_string());
    }
    let detail = json!({ "project": saved.key, "name": saved.name, "departments": departments,
                         "request_types": request_types, "workflow": request.workflow, "approvals": approvals,
                         "message_fields": request.message_fields, "intro": intro,
                         "portal": request.portal });
    Store::insert_audits(&mut tx, &[actor.audit("project_updated", detail)]).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Open or close a project's portal, or change whose requests it shows.
pub async fn set_portal(
    store: &Store,
    actor: Actor<'_>,
    key: &str,
    portal: &crate::desk::portal::PortalSettings,
) -> Result<()> {
    let mut tx = store.begin().await?;
    if Store::project_in(&mut tx, key).await?.is_none() {
        return Err(AdminError::NotFound(format!("no project {key}")));
    }
    Store::set_portal(&mut tx, key, portal).await?;
    let detail = json!({ "project": key, "portal": portal });
    Store::insert_audits(&mut tx, &[actor.audit("project_updated", detail)]).await?;
    tx.commit().await?;
    Ok(())
}

/// A department as an admin sets it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRequest {
    pub name: String,
    #[serde(default)]
    pub managers: Vec<String>,
}

/// Create or change one of a project's departments.
pub async fn save_department(
    store: &Store,
    actor: Actor<'_>,
    key: &str,
    slug: &str,
    request: DepartmentRequest,
) -> Result<ProjectRecord> {
    let mut tx = store.begin().await?;
    let project = Store::project_in(&mut tx, key)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no project {key}")))?;
    let department = Department {
        slug: slug.to_owned(),
        name: request.name,
        managers: request.managers,
    };
    let departments = put_department(&project.department_list(), department).map_err(|e| {
        let field = match e {
            InvalidDepartment::Manager(_) => Field::Managers,
            _ => Field::Department,
        };
        Refusal::invalid(field, e.to_string())
    })?;
    let saved = Store::set_departments(&mut tx, key, &departments).await?;
    let detail = json!({ "project": key, "department": departments.iter().find(|d| d.slug == slug) });
    Store::insert_audits(&mut tx, &[actor.audit("department_updated", detail)]).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Remove one of a project's departments; its requests keep their department's name.
pub async fn delete_department(store: &Store, actor: Actor<'_>, key: &str, slug: &str) -> Result<ProjectRecord> {
    let mut tx = store.begin().await?;
    let project = Store::project_in(&mut tx, key)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no project {key}")))?;
    let mut departments = project.department_list();
    let before = departments.len();
    departments.retain(|d| d.slug != slug);
    if departments.len() == before {
        return Err(AdminError::NotFound(format!("no department {slug} in {key}")));
    }
    let saved = Store::set_departments(&mut tx, key, &departments).await?;
    Store::insert_audits(
        &mut tx,
        &[actor.audit("department_deleted", json!({ "project": key, "department": slug }))],
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}
