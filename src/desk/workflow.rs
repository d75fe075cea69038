//! A project's workflow: its statuses, each in a category, and the one status a requester
//! may close their own request with.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Open,
    InProgress,
    Done,
}

impl Category {
    pub fn parse(s: &str) -> Option<Self> {
        [Category::Open, Category::InProgress, Category::Done]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Open => "open",
            Category::InProgress => "in_progress",
            Category::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    pub name: String,
    pub category: Category,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// In the order agents see them; the first is where every request starts.
    pub statuses: Vec<Status>,
    /// The status a requester may move their own request to ("Close" in Slack), if any.
    #[serde(default)]
    pub self_close: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidWorkflow {
    #[error("a workflow needs at least one status")]
    Empty,
    #[error("the first status ({0}) must be in the open category: it is where requests start")]
    FirstNotOpen(String),
    #[error("status {0:?} appears twice")]
    Duplicate(String),
    #[error("a status name must be 1 to 40 characters")]
    BadName,
    #[error("self_close {0:?} is not one of the statuses")]
    UnknownSelfClose(String),
    #[error("self_close {0:?} must be in the done category")]
    SelfCloseNotDone(String),
    #[error("a workflow needs a status in the done category")]
    NoDone,
}

impl Default for Workflow {
    fn default() -> Self {
        let status = |name: &str, category| Status {
            name: name.into(),
            category,
        };
        Self {
            statuses: vec![
                status("Open", Category::Open),
                status("In Progress", Category::InProgress),
                status("Waiting for customer", Category::InProgress),
                status("Resolved", Category::Done),
                status("Closed", Category::Done),
            ],
            self_close: Some("Closed".into()),
        }
    }
}

impl Workflow {
    /// The workflow stored as JSON, or the default one when there is none (or it cannot be
    /// read, which validation on the way in prevents).
    pub fn from_stored(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), InvalidWorkflow> {
        let first = self.statuses.first().ok_or(InvalidWorkflow::Empty)?;
        if first.category != Category::Open {
            return Err(InvalidWorkflow::FirstNotOpen(first.name.clone()));
        }
        for (i, status) in self.statuses.iter().enumerate() {
            if status.name.trim().is_empty() || status.name.chars().count() > 40 {
                return Err(InvalidWorkflow::BadName);
            }
            if self.statuses[..i]
                .iter()
                .any(|s| s.name.eq_ignore_ascii_case(&status.name))
            {
                return Err(InvalidWorkflow::Duplicate(status.name.clone()));
            }
        }
        if self.resolved().is_none() {
            return Err(InvalidWorkflow::NoDone);
        }
        if let Some(close) = &self.self_close {
            match self.status(close) {
                None => return Err(InvalidWorkflow::UnknownSelfClose(close.clone())),
                Some(s) if s.category != Category::Done => {
                    return Err(InvalidWorkflow::SelfCloseNotDone(close.clone()))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn initial(&self) -> &Status {
        &self.statuses[0]
    }

    pub fn status(&self, name: &str) -> Option<&Status> {
        self.statuses.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The category of a status; a status the workflow no longer has counts as open, so
    /// the request stays in sight.
    pub fn category(&self, name: &str) -> Category {
        self.status(name).map_or(Category::Open, |s| s.category)
    }

    /// Where an agent's "resolve" takes a request: the first status in the done category.
    pub fn resolved(&self) -> Option<&Status> {
        self.statuses.iter().find(|s| s.category == Category::Done)
    }

    /// The status a requester's "Close" moves to, when the workflow has one.
    pub fn self_close(&self) -> Option<&Status> {
        self.self_close.as_deref().and_then(|name| self.status(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workflow_is_valid_and_lets_requesters_close() {
        let workflow = Workflow::default();
        assert_eq!(workflow.validate(), Ok(()));
        assert_eq!(workflow.initial().name, "Open");
        assert_eq!(workflow.resolved().unwrap().name, "Resolved");
        assert_eq!(workflow.self_close().unwrap().name, "Closed");
        assert_eq!(workflow.category("in progress"), Category::InProgress);
        assert_eq!(workflow.category("Gone"), Category::Open);
    }

    #[test]
    fn invalid_workflows_say_why() {
        let status = |name: &str, category| Status {
            name: name.into(),
            category,
        };
        let mut workflow = Workflow {
            statuses: vec![status("New", Category::InProgress)],
            self_close: None,
        };
        assert_eq!(workflow.validate(), Err(InvalidWorkflow::FirstNotOpen("New".into())));
        workflow.statuses = vec![status("New", Category::Open)];
        assert_eq!(workflow.validate(), Err(InvalidWorkflow::NoDone));
        workflow.statuses.push(status("Done", Category::Done));
        workflow.self_close = Some("New".into());
        assert_eq!(
            workflow.validate(),
            Err(InvalidWorkflow::SelfCloseNotDone("New".into()))
        );
        workflow.self_close = Some("Gone".into());
        assert_eq!(
            workflow.validate(),
            Err(InvalidWorkflow::UnknownSelfClose("Gone".into()))
        );
        workflow.self_close = None;
        workflow.statuses.push(status("done", Category::Done));
        assert_eq!(workflow.validate(), Err(InvalidWorkflow::Duplicate("done".into())));
        assert_eq!(
            Workflow {
                statuses: vec![],
                self_close: None
            }
            .validate(),
            Err(InvalidWorkflow::Empty)
        );
    }
}
