//! The request form ("New request", `/desk new`, "Create ticket"): what it asks, and what
//! makes an answer acceptable. Errors are keyed by the form's fields, so Slack shows each
//! under its field.

use serde::{Deserialize, Serialize};

use super::SUMMARY_MAX_CHARS;

/// The form's fields, as named in the modal (block ids).
pub const PROJECT: &str = "project";
pub const DEPARTMENT: &str = "department";
pub const REQUEST_TYPE: &str = "request_type";
pub const SUMMARY: &str = "summary";
pub const DESCRIPTION: &str = "description";
pub const ON_BEHALF_OF: &str = "on_behalf_of";

/// The longest description the form takes, in characters (Slack's own input limit).
pub const DESCRIPTION_MAX_CHARS: usize = 3000;

/// What someone entered in the request form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestForm {
    pub project: Option<String>,
    pub department: Option<String>,
    /// What kind of request it is (some need an approval).
    #[serde(default)]
    pub request_type: Option<String>,
    pub summary: String,
    pub description: String,
    /// The person the request is for, when the submitter chose someone.
    pub on_behalf_of: Option<String>,
}

/// What the form knows about a project to check an answer against.
pub struct ProjectChoice<'a> {
    pub key: &'a str,
    pub departments: &'a [String],
    pub request_types: &'a [String],
}

/// A field and what is wrong with it.
pub type FieldError = (&'static str, String);

/// Check an answer; every problem, by field.
pub fn validate(form: &RequestForm, projects: &[ProjectChoice]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let summary = form.summary.trim();
    if summary.is_empty() {
        errors.push((SUMMARY, "Say in a few words what you need.".to_owned()));
    } else if summary.chars().count() > SUMMARY_MAX_CHARS {
        errors.push((
            SUMMARY,
            format!("Keep the summary under {SUMMARY_MAX_CHARS} characters; put the rest in the description."),
        ));
    }
    if form.description.chars().count() > DESCRIPTION_MAX_CHARS {
        errors.push((
            DESCRIPTION,
            format!("The description is limited to {DESCRIPTION_MAX_CHARS} characters."),
        ));
    }
    match form.project.as_deref() {
        None => errors.push((PROJECT, "Choose where this request goes.".to_owned())),
        Some(key) => match projects.iter().find(|p| p.key == key) {
            None => errors.push((PROJECT, format!("{key} no longer takes requests; choose another."))),
            Some(project) => {
                if let Some(department) = &form.department {
                    if !project.departments.iter().any(|d| d == department) {
                        errors.push((
                            DEPARTMENT,
                            format!("{key} has no department {department}; choose one of its own."),
                        ));
                    }
                }
                if let Some(kind) = &form.request_type {
                    if !project.request_types.iter().any(|t| t == kind) {
                        errors.push((
                            REQUEST_TYPE,
                            format!("{key} has no request type {kind}; choose one of its own."),
                        ));
                    }
                }
            }
        },
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RequestForm {
        RequestForm {
            project: Some("IT".into()),
            department: Some("Hardware".into()),
            request_type: None,
            summary: "New laptop".into(),
            description: String::new(),
            on_behalf_of: None,
        }
    }

    #[test]
    fn a_complete_form_is_accepted_and_each_problem_is_named_by_field() {
        let departments = vec!["Hardware".to_owned()];
        let request_types = vec!["Access".to_owned()];
        let projects = [ProjectChoice {
            key: "IT",
            departments: &departments,
            request_types: &request_types,
        }];
        assert_eq!(validate(&form(), &projects), Ok(()));

        let blank = RequestForm {
            summary: "  ".into(),
            project: None,
            ..form()
        };
        let fields: Vec<_> = validate(&blank, &projects)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, [SUMMARY, PROJECT]);

        let wrong_department = RequestForm {
            department: Some("Payroll".into()),
            ..form()
        };
        assert_eq!(validate(&wrong_department, &projects).unwrap_err()[0].0, DEPARTMENT);
        let access = RequestForm {
            request_type: Some("Access".into()),
            ..form()
        };
        assert_eq!(validate(&access, &projects), Ok(()));
        let wrong_type = RequestForm {
            request_type: Some("Payroll".into()),
            ..form()
        };
        assert_eq!(validate(&wrong_type, &projects).unwrap_err()[0].0, REQUEST_TYPE);
        let gone = RequestForm {
            project: Some("HR".into()),
            ..form()
        };
        assert_eq!(validate(&gone, &projects).unwrap_err()[0].0, PROJECT);
        let long = RequestForm {
            summary: "x".repeat(151),
            ..form()
        };
        assert_eq!(validate(&long, &projects).unwrap_err()[0].0, SUMMARY);
    }
}
