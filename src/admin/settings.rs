//! The workspace's settings and its projects.

use serde_json::json;

use super::{Actor, Result};
use crate::desk::config::{check_names, Field, Refusal};
use crate::desk::settings::{Settings, SettingsChange};
use crate::desk::workflow::Workflow;
use crate::desk::ProjectKey;
use crate::store::{NewProject, ProjectRecord, Store};

/// Change the settings: every value is checked before anything is written, and a setting
/// the change leaves out keeps its value. The settings after it.
pub async fn update(store: &Store, actor: Actor<'_>, change: SettingsChange) -> Result<Settings> {
    let projects: Vec<String> = store.projects().await?.into_iter().map(|p| p.key).collect();
    let mut tx = store.begin().await?;
    let before = Store::settings_in(&mut tx).await?;
    let after = change.apply(&before, |key| projects.iter().any(|p| p == key))?;
    Store::put_settings(&mut tx, &after.changes_since(&before)).await?;
    Store::insert_audits(&mut tx, &[actor.audit("settings_updated", json!(after))]).await?;
    tx.commit().await?;
    Ok(after)
}

/// A project as an admin asked for it (the admin API's body as it is).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    pub name: String,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub request_types: Vec<String>,
    pub workflow: Option<Workflow>,
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
    let departments = check_names(Field::Departments, &request.departments)?;
    let request_types = check_names(Field::RequestTypes, &request.request_types)?;
    let project = NewProject {
        key: key.as_str(),
        name,
        departments: &departments,
        request_types: &request_types,
        workflow: request.workflow.as_ref(),
    };
    let mut tx = store.begin().await?;
    let saved = Store::save_project(&mut tx, &project).await?;
    let detail = json!({ "project": saved.key, "name": saved.name, "departments": departments,
                         "request_types": request_types, "workflow": request.workflow });
    Store::insert_audits(&mut tx, &[actor.audit("project_updated", detail)]).await?;
    tx.commit().await?;
    Ok(saved)
}
