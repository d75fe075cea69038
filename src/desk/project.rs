//! What a project holds beyond its workflow: departments with their managers, the
//! request types that need an approval and who gives it, and what the ticket's messages
//! show.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::is_user_id;

/// A department of a project, and the agents who manage it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub managers: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDepartment {
    #[error("a department's slug is 1 to 40 lower-case letters, digits and dashes")]
    Slug,
    #[error("a department's name must be 1 to 80 characters")]
    Name,
    #[error("managers are Slack user ids (U…/W…); {0:?} is not one")]
    Manager(String),
    #[error("another department of this project is named {0:?}")]
    NameTaken(String),
}

/// The slug a department's name gets when an admin names it in a project's list.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    if slug.is_empty() {
        "department".into()
    } else {
        slug
    }
}

fn is_slug(slug: &str) -> bool {
    (1..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Check a department an admin puts into `existing` (the project's departments), and
/// return the project's departments with it in place.
pub fn put_department(existing: &[Department], department: Department) -> Result<Vec<Department>, InvalidDepartment> {
    if !is_slug(&department.slug) {
        return Err(InvalidDepartment::Slug);
    }
    let name = department.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(InvalidDepartment::Name);
    }
    if let Some(bad) = department.managers.iter().find(|m| !is_user_id(m)) {
        return Err(InvalidDepartment::Manager(bad.clone()));
    }
    if existing
        .iter()
        .any(|d| d.slug != department.slug && d.name.eq_ignore_ascii_case(name))
    {
        return Err(InvalidDepartment::NameTaken(name.to_owned()));
    }
    let mut managers = department.managers.clone();
    managers.dedup();
    let department = Department {
        name: name.to_owned(),
        managers,
        ..department
    };
    let mut all = existing.to_vec();
    match all.iter_mut().find(|d| d.slug == department.slug) {
        Some(slot) => *slot = department,
        None => all.push(department),
    }
    Ok(all)
}

/// The departments a project's list of names makes: those already known keep their slug
/// and managers, new names get a slug of their own.
pub fn departments_named(existing: &[Department], names: &[String]) -> Vec<Department> {
    let mut out: Vec<Department> = Vec::new();
    for name in names {
        if let Some(known) = existing.iter().find(|d| d.name.eq_ignore_ascii_case(name)) {
            out.push(known.clone());
            continue;
        }
        let base = slug_of(name);
        let mut slug = base.clone();
        let mut n = 2;
        while out.iter().chain(existing).any(|d| d.slug == slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        out.push(Department {
            slug,
            name: name.clone(),
            managers: Vec::new(),
        });
    }
    out
}

/// The status of a request that waits for its approvers, before its workflow starts.
pub const AWAITING_APPROVAL: &str = "Waiting for approval";

/// Who must approve a request type's requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Approvers {
    /// `"department_managers"`: the managers of the request's department (of the
    /// project, when it has none).
    Role(ApproverRole),
    /// Named people.
    People(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApproverRole {
    DepartmentManagers,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub by: Approvers,
}

impl Approval {
    pub fn check(&self) -> Result<(), String> {
        match &self.by {
            Approvers::People(people) if people.is_empty() => Err("an approval needs at least one approver".into()),
            Approvers::People(people) => match people.iter().find(|p| !is_user_id(p)) {
                Some(bad) => Err(format!("approvers are Slack user ids (U…/W…); {bad:?} is not one")),
                None => Ok(()),
            },
            Approvers::Role(_) => Ok(()),
        }
    }

    /// The people who may decide on a request of `department` in a project with
    /// `departments`.
    pub fn approvers(&self, departments: &[Department], department: Option<&str>) -> Vec<String> {
        match &self.by {
            Approvers::People(people) => people.clone(),
            Approvers::Role(ApproverRole::DepartmentManagers) => managers_of(departments, department),
        }
    }
}

/// The approvals a project's request types need, by request type name.
pub type Approvals = BTreeMap<String, Approval>;

/// The managers who hear of a request of `department`: its own, or every manager of
/// the project when it has none (or one the project does not know).
pub fn managers_of(departments: &[Department], department: Option<&str>) -> Vec<String> {
    let own = department.and_then(|name| departments.iter().find(|d| d.name.eq_ignore_ascii_case(name)));
    let mut managers: Vec<String> = match own {
        Some(d) => d.managers.clone(),
        None => departments.iter().flat_map(|d| d.managers.clone()).collect(),
    };
    managers.sort();
    managers.dedup();
    managers
}

/// A field the ticket's messages may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageField {
    Status,
    Priority,
    Assignee,
    Department,
    RequestType,
    Requester,
}

/// What the messages show when the admins have not chosen.
pub const DEFAULT_MESSAGE_FIELDS: [MessageField; 5] = [
    MessageField::Status,
    MessageField::Priority,
    MessageField::Requester,
    MessageField::Assignee,
    MessageField::Department,
];

/// The longest intro text a project's messages may carry.
pub const INTRO_MAX_CHARS: usize = 300;

#[cfg(test)]
mod tests {
    use super::*;

    fn department(slug: &str, name: &str, managers: &[&str]) -> Department {
        Department {
            slug: slug.into(),
            name: name.into(),
            managers: managers.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn departments_are_put_by_slug_and_checked() {
        let hardware = department("hardware", "Hardware", &["U11"]);
        let all = put_department(&[], hardware.clone()).unwrap();
        let renamed = put_department(&all, department("hardware", " Devices ", &["U11", "U22"])).unwrap();
        assert_eq!(renamed, [department("hardware", "Devices", &["U11", "U22"])]);
        assert_eq!(
            put_department(&renamed, department("other", "devices", &[])),
            Err(InvalidDepartment::NameTaken("devices".into()))
        );
        assert_eq!(
            put_department(&[], department("Bad Slug", "x", &[])),
            Err(InvalidDepartment::Slug)
        );
        assert_eq!(
            put_department(&[], department("x", "x", &["bob"])),
            Err(InvalidDepartment::Manager("bob".into()))
        );
    }

    #[test]
    fn a_list_of_names_keeps_known_departments_and_slugs_new_ones() {
        let known = [department("hw", "Hardware", &["U11"])];
        let names = [
            "hardware".to_string(),
            "Access & Accounts".into(),
            "Access  Accounts".into(),
        ];
        let made = departments_named(&known, &names);
        assert_eq!(made[0], known[0]);
        assert_eq!(made[1].slug, "access-accounts");
        assert_eq!(made[2].slug, "access-accounts-2");
        assert_eq!(slug_of("!!!"), "department");
    }

    #[test]
    fn managers_and_approvers_come_from_the_department_or_the_whole_project() {
        let departments = [
            department("hw", "Hardware", &["U11"]),
            department("net", "Network", &["U22", "U11"]),
        ];
        assert_eq!(managers_of(&departments, Some("hardware")), ["U11"]);
        assert_eq!(managers_of(&departments, None), ["U11", "U22"]);
        let rule: Approval = serde_json::from_str(r#"{"by": "department_managers"}"#).unwrap();
        assert_eq!(rule.approvers(&departments, Some("Network")), ["U11", "U22"]);
        let named: Approval = serde_json::from_str(r#"{"by": ["U99"]}"#).unwrap();
        assert_eq!(named.approvers(&departments, None), ["U99"]);
        assert!(serde_json::from_str::<Approval>(r#"{"by": "everyone"}"#).is_err());
        let nobody: Approval = serde_json::from_str(r#"{"by": []}"#).unwrap();
        assert!(nobody.check().is_err());
    }
}
