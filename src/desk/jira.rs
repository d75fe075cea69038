//! Jira Service Management as a project's ticket store: what its connection says, how
//! deskhand's fields map to Jira's, and what a change Jira tells of means. Plain data and
//! rules; the Jira edge speaks HTTP, the store keeps the links.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Priority;

/// How deskhand's fields become Jira's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// A department's requests are raised with this request type (by id) instead of the
    /// default one.
    #[serde(default)]
    pub departments: BTreeMap<String, String>,
    /// deskhand's priority (`Low`, `Normal`, `High`, `Urgent`) → the Jira priority's name.
    #[serde(default)]
    pub priorities: BTreeMap<String, String>,
    /// A field of the request types (`customfield_10050`) whose option is the request's
    /// department, by name: instead of, or beside, a request type per department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_field: Option<String>,
}

impl Mappings {
    /// The request type a request of `department` is raised with.
    pub fn request_type<'a>(&'a self, department: Option<&str>, default: &'a str) -> &'a str {
        department
            .and_then(|d| self.departments.get(d))
            .map(String::as_str)
            .unwrap_or(default)
    }

    /// The Jira priority a deskhand priority is; `None`: Jira's default.
    pub fn jira_priority(&self, priority: Priority) -> Option<&str> {
        self.priorities.get(priority.as_str()).map(String::as_str)
    }

    /// The deskhand priority a Jira priority is, when the mapping names it.
    pub fn priority_of(&self, jira: &str) -> Option<Priority> {
        self.priorities
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(jira))
            .and_then(|(ours, _)| Priority::parse(ours))
    }

    /// What is wrong with the mapping, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for ours in self.priorities.keys() {
            if Priority::parse(ours).is_none() {
                problems.push(format!(
                    "priorities: {ours:?} is not a priority (Low, Normal, High, Urgent)"
                ));
            }
        }
        if let Some(field) = &self.department_field {
            let custom = field.strip_prefix("customfield_").is_some_and(is_numeric_id);
            if !custom {
                problems.push(format!(
                    "department_field: {field:?} is not a custom field id (customfield_…)"
                ));
            }
        }
        for (department, request_type) in &self.departments {
            if !is_numeric_id(request_type) {
                problems.push(format!(
                    "departments: {department:?} maps to {request_type:?}, which is not a request type id"
                ));
            }
        }
        problems
    }
}

/// A Jira site's URL as deskhand calls it: `https://` and a host, nothing after it
/// (plain `http://` only for this machine, as tests and tunnels use). `None`: not one.
pub fn site_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    let local = rest.starts_with("127.0.0.1") || rest.starts_with("localhost") || rest.starts_with("[::1]");
    let host_ok = !rest.is_empty()
        && rest.len() <= 253
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    match scheme {
        "https" if host_ok => Some(url.to_owned()),
        "http" if host_ok && local => Some(url.to_owned()),
        _ => None,
    }
}

/// Jira's ids are decimal numbers (service desks, request types, issues, comments).
pub fn is_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A Jira project key: a capital letter, then capitals, digits or `_` (2–10 in all).
pub fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && (2..=10).contains(&key.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// An issue key: a project key, `-`, a number.
pub fn is_issue_key(key: &str) -> bool {
    key.rsplit_once('-')
        .is_some_and(|(project, number)| is_project_key(project) && is_numeric_id(number))
}

/// What a request of a Jira project is called while Jira has not named it yet: never an
/// issue key (`IT-D7`), so that it cannot meet one.
pub fn filing_key(project: &str, number: i64) -> String {
    format!("{project}-D{number}")
}

/// The reference that finds a request in Jira again when the answer to its creation was
/// lost: written in its description, searched for by text.
pub fn reference(ticket_id: i64, created_at: i64) -> String {
    format!("deskhand{ticket_id}x{created_at}")
}

/// Who a comment or request is by, in words Jira shows: JSM writes every comment as the
/// calling account, so the text says whose words they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice<'a> {
    /// A Slack user, by name.
    Person(&'a str),
    /// A guest, through the facilitator: their name and the Slack message's link.
    OnBehalfOf { name: &'a str, permalink: &'a str },
}

/// A comment's body as sent to Jira: the words, then who wrote them in Slack.
pub fn comment_body(text: &str, voice: Voice<'_>) -> String {
    match voice {
        Voice::Person(name) => format!("{text}\n\n— {name}, in Slack"),
        Voice::OnBehalfOf { name, permalink } => format!("{text}\n\n— on behalf of {name} ({permalink})"),
    }
}

/// A request's description as sent to Jira: the words, where they were written, for whom
/// when a facilitator filed them, and the reference that finds it again.
pub fn request_description(text: &str, permalink: &str, on_behalf_of: Option<&str>, reference: &str) -> String {
    let mut body = text.to_owned();
    if !body.is_empty() {
        body.push_str("\n\n");
    }
    if let Some(name) = on_behalf_of {
        body.push_str(&format!("On behalf of {name} ({permalink}).\n"));
    } else if !permalink.is_empty() {
        body.push_str(&format!("From Slack: {permalink}\n"));
    }
    body.push_str(&format!("deskhand ref {reference}"));
    body
}

/// A Jira person as a change names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraUser {
    pub account_id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// A comment as Jira tells of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraComment {
    pub id: String,
    pub body: String,
    /// Shown to the customer; an internal note otherwise. A comment whose visibility Jira
    /// does not say is internal: nothing reaches a requester unless Jira says it may.
    pub public: bool,
    pub author: JiraUser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JiraEventKind {
    IssueCreated,
    IssueUpdated,
    IssueDeleted,
    CommentCreated,
    CommentUpdated,
    CommentDeleted,
}

/// A change Jira tells of, through its webhook or found by the reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraEvent {
    pub kind: JiraEventKind,
    pub issue_id: String,
    pub issue_key: String,
    pub summary: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// `Some(None)`: unassigned; `None`: the change does not say.
    pub assignee: Option<Option<JiraUser>>,
    pub reporter: Option<JiraUser>,
    /// Who made the change, when Jira says: their account and name.
    pub actor: Option<String>,
    #[serde(default)]
    pub actor_name: Option<String>,
    pub comment: Option<JiraComment>,
    /// When Jira made the change (its clock, ms): a change older than one already seen
    /// came late, and the issue's fields it shows are stale.
    #[serde(default)]
    pub at: Option<i64>,
}

/// Jira's time stamps (`2026-12-02T10:00:00.000+0000`) as unix milliseconds.
pub fn jira_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The words of a Jira text field: plain text, or an Atlassian Document's text nodes
/// (paragraphs on their own lines).
pub fn plain_text(value: &serde_json::Value) -> String {
    fn walk(node: &serde_json::Value, out: &mut String) {
        if let Some(text) = node["text"].as_str() {
            out.push_str(text);
        }
        if node["type"] == "hardBreak" {
            out.push('\n');
        }
        if let Some(children) = node["content"].as_array() {
            for child in children {
                walk(child, out);
            }
            if matches!(node["type"].as_str(), Some("paragraph" | "heading" | "listItem")) {
                out.push('\n');
            }
        }
    }
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(_) => {
            let mut out = String::new();
            walk(value, &mut out);
            out.trim_end().to_owned()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn site_urls_are_https_hosts_or_this_machine() {
        assert_eq!(
            site_url("https://acme.atlassian.net/").as_deref(),
            Some("https://acme.atlassian.net")
        );
        assert_eq!(
            site_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        for bad in [
            "http://acme.atlassian.net",
            "ftp://x",
            "https://",
            "https://a/b?c",
            "acme",
            "https://a b",
        ] {
            assert_eq!(site_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_and_ids_are_shaped_as_jira_shapes_them() {
        assert!(is_issue_key("SUP-12") && is_issue_key("IT_2-1"));
        assert!(!is_issue_key("IT-D7") && !is_issue_key("sup-1") && !is_issue_key("SUP-"));
        assert!(
            !is_issue_key(&filing_key("IT", 7)),
            "a filing key never meets an issue key"
        );
        assert!(is_numeric_id("10023") && !is_numeric_id("1a") && !is_numeric_id(""));
    }

    #[test]
    fn priorities_map_both_ways_and_bad_mappings_are_named() {
        let mappings = Mappings {
            priorities: [("Urgent".to_owned(), "Highest".to_owned())].into(),
            departments: [("Hardware".to_owned(), "13".to_owned())].into(),
            department_field: Some("customfield_10050".into()),
        };
        assert_eq!(mappings.jira_priority(Priority::Urgent), Some("Highest"));
        assert_eq!(mappings.jira_priority(Priority::Low), None);
        assert_eq!(mappings.priority_of("highest"), Some(Priority::Urgent));
        assert_eq!(mappings.request_type(Some("Hardware"), "10"), "13");
        assert_eq!(mappings.request_type(None, "10"), "10");
        assert!(mappings.problems().is_empty());
        let bad = Mappings {
            priorities: [("Whenever".to_owned(), "Low".to_owned())].into(),
            departments: [("Hardware".to_owned(), "laptops".to_owned())].into(),
            department_field: Some("Department".into()),
        };
        assert_eq!(bad.problems().len(), 3);
    }

    #[test]
    fn words_say_whose_they_are() {
        assert_eq!(comment_body("hi", Voice::Person("Ana")), "hi\n\n— Ana, in Slack");
        let guest = Voice::OnBehalfOf {
            name: "Gil",
            permalink: "https://s/p1",
        };
        assert_eq!(comment_body("hi", guest), "hi\n\n— on behalf of Gil (https://s/p1)");
        let description = request_description("VPN down", "https://s/p1", Some("Gil"), "deskhand1x2");
        assert!(description.contains("On behalf of Gil (https://s/p1)") && description.ends_with("deskhand1x2"));
    }

    #[test]
    fn jira_times_read_as_milliseconds() {
        assert_eq!(jira_time("1970-01-01T00:00:01.500+0000"), Some(1500));
        assert_eq!(jira_time("2026-12-02T10:00:00.000+0100"), Some(1_796_202_000_000));
        assert_eq!(jira_time("yesterday"), None);
    }

    #[test]
    fn documents_read_as_their_words() {
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Try "}, {"type": "text", "text": "again"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "now"}]}
        ]});
        assert_eq!(plain_text(&adf), "Try again\nnow");
        assert_eq!(plain_text(&json!("plain")), "plain");
        assert_eq!(plain_text(&json!(null)), "");
    }
}
