//! A project's workflow: its statuses, each in a category, and the one status a requester
//! may close their own request with.

use std::collections::{BTreeMap, HashSet};

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
    /// Where each status may move to; a status not listed may move anywhere, and no map at
    /// all means any status to any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitions: Option<BTreeMap<String, Vec<String>>>,
    /// The status in which the help desk waits for the requester: their reply moves the
    /// request back to the status it was in before (when `resume_on_reply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for_customer: Option<String>,
    #[serde(default = "yes")]
    pub resume_on_reply: bool,
}

fn yes() -> bool {
    true
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
    #[error("transitions name {0:?}, which is not one of the statuses")]
    UnknownInTransitions(String),
    #[error("status {0:?} cannot be reached from {1:?} through the transitions")]
    Unreachable(String, String),
    #[error("waiting_for_customer {0:?} is not one of the statuses, or is a done status")]
    BadWaiting(String),
}

/// A move the workflow does not allow, and where the request could go instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalMove {
    pub from: String,
    pub to: String,
    pub allowed: Vec<String>,
}

impl IllegalMove {
    pub fn explanation(&self) -> String {
        let to = if self.allowed.is_empty() {
            "nowhere else".to_owned()
        } else {
            self.allowed.join(", ")
        };
        format!(
            "The workflow doesn't allow moving a request from *{}* to *{}*. From {} it can move to: {to}.",
            self.from, self.to, self.from
        )
    }
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
            transitions: Some(
                [
                    (
                        "Open",
                        &["In Progress", "Waiting for customer", "Resolved", "Closed"][..],
                    ),
                    ("In Progress", &["Open", "Waiting for customer", "Resolved", "Closed"]),
                    ("Waiting for customer", &["In Progress", "Resolved", "Closed"]),
                    ("Resolved", &["Closed", "Open"]),
                    ("Closed", &["Open"]),
                ]
                .into_iter()
                .map(|(from, to)| (from.to_owned(), to.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
            ),
            waiting_for_customer: Some("Waiting for customer".into()),
            resume_on_reply: true,
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
        if let Some(waiting) = &self.waiting_for_customer {
            if self.status(waiting).is_none_or(|s| s.category == Category::Done) {
                return Err(InvalidWorkflow::BadWaiting(waiting.clone()));
            }
        }
        if let Some(transitions) = &self.transitions {
            for name in transitions.keys().chain(transitions.values().flatten()) {
                if self.status(name).is_none() {
                    return Err(InvalidWorkflow::UnknownInTransitions(name.clone()));
                }
            }
            let mut reached: HashSet<&str> = HashSet::from([first.name.as_str()]);
            let mut frontier = vec![first];
            while let Some(status) = frontier.pop() {
                for next in self.allowed_from(&status.name) {
                    if reached.insert(next.name.as_str()) {
                        frontier.push(next);
                    }
                }
            }
            if let Some(unreached) = self.statuses.iter().find(|s| !reached.contains(s.name.as_str())) {
                return Err(InvalidWorkflow::Unreachable(unreached.name.clone(), first.name.clone()));
            }
        }
        Ok(())
    }

    /// The statuses a request in `from` may move to, in the workflow's order.
    pub fn allowed_from(&self, from: &str) -> Vec<&Status> {
        let listed = self.transitions.as_ref().and_then(|t| {
            t.iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(from))
                .map(|(_, to)| to)
        });
        self.statuses
            .iter()
            .filter(|s| !s.name.eq_ignore_ascii_case(from))
            .filter(|s| listed.is_none_or(|to| to.iter().any(|t| t.eq_ignore_ascii_case(&s.name))))
            .collect()
    }

    /// Check a move from `from` to `to`: the status to move to, or why not.
    pub fn check_move(&self, from: &str, to: &str) -> Result<&Status, IllegalMove> {
        let allowed = self.allowed_from(from);
        match allowed.iter().find(|s| s.name.eq_ignore_ascii_case(to)) {
            Some(status) => Ok(status),
            None => Err(IllegalMove {
                from: from.to_owned(),
                to: to.to_owned(),
                allowed: allowed.iter().map(|s| s.name.clone()).collect(),
            }),
        }
    }

    /// Where a requester's reply takes a request that waits for them: back to the status
    /// it was in before (`previous`), else the first open one, when the workflow allows it.
    pub fn on_requester_reply(&self, current: &str, previous: Option<&str>) -> Option<&Status> {
        let waiting = self.waiting_for_customer.as_deref()?;
        if !self.resume_on_reply || !waiting.eq_ignore_ascii_case(current) {
            return None;
        }
        let back = previous
            .and_then(|p| self.status(p))
            .filter(|s| s.category != Category::Done && !s.name.eq_ignore_ascii_case(waiting));
        let allowed = self.allowed_from(current);
        back.filter(|b| allowed.iter().any(|s| s.name == b.name))
            .or_else(|| allowed.into_iter().find(|s| s.category != Category::Done))
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
            transitions: None,
            waiting_for_customer: None,
            resume_on_reply: true,
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
                ..workflow.clone()
            }
            .validate(),
            Err(InvalidWorkflow::Empty)
        );
    }

    fn with_transitions(pairs: &[(&str, &[&str])]) -> Workflow {
        Workflow {
            transitions: Some(
                pairs
                    .iter()
                    .map(|(from, to)| (from.to_string(), to.iter().map(|t| t.to_string()).collect()))
                    .collect(),
            ),
            ..Workflow::default()
        }
    }

    #[test]
    fn transitions_say_where_a_status_may_go() {
        let workflow = Workflow::default();
        let names =
            |from: &str| -> Vec<String> { workflow.allowed_from(from).iter().map(|s| s.name.clone()).collect() };
        assert_eq!(names("Resolved"), ["Open", "Closed"]);
        assert_eq!(workflow.check_move("open", "resolved").unwrap().name, "Resolved");
        let refused = workflow.check_move("Closed", "Resolved").unwrap_err();
        assert_eq!(refused.allowed, ["Open"]);
        assert!(refused.explanation().contains("from *Closed* to *Resolved*"));
        assert!(workflow.check_move("Open", "Open").is_err(), "no move to where it is");
        let any = Workflow {
            transitions: None,
            ..Workflow::default()
        };
        assert_eq!(any.allowed_from("Closed").len(), 4);
    }

    #[test]
    fn transitions_are_checked_for_unknown_and_unreachable_statuses() {
        assert_eq!(Workflow::default().validate(), Ok(()));
        let unknown = with_transitions(&[("Open", &["Doing"])]);
        assert_eq!(
            unknown.validate(),
            Err(InvalidWorkflow::UnknownInTransitions("Doing".into()))
        );
        let unreachable = with_transitions(&[("Open", &["Resolved"]), ("Resolved", &[])]);
        assert_eq!(
            unreachable.validate(),
            Err(InvalidWorkflow::Unreachable("In Progress".into(), "Open".into()))
        );
        // A done status with no way out is fine.
        let one_way = with_transitions(&[
            ("Open", &["In Progress"]),
            ("In Progress", &["Waiting for customer", "Resolved"]),
            ("Waiting for customer", &["Closed"]),
            ("Resolved", &[]),
            ("Closed", &[]),
        ]);
        assert_eq!(one_way.validate(), Ok(()));
        let waiting_done = Workflow {
            waiting_for_customer: Some("Closed".into()),
            ..Workflow::default()
        };
        assert_eq!(
            waiting_done.validate(),
            Err(InvalidWorkflow::BadWaiting("Closed".into()))
        );
    }

    #[test]
    fn a_requester_reply_takes_a_waiting_request_back() {
        let workflow = Workflow::default();
        let back = workflow.on_requester_reply("Waiting for customer", Some("In Progress"));
        assert_eq!(back.unwrap().name, "In Progress");
        let back = workflow.on_requester_reply("Waiting for customer", None);
        assert_eq!(back.unwrap().name, "In Progress", "the first open status it may go to");
        assert!(workflow.on_requester_reply("In Progress", Some("Open")).is_none());
        let off = Workflow {
            resume_on_reply: false,
            ..Workflow::default()
        };
        assert!(off.on_requester_reply("Waiting for customer", Some("Open")).is_none());
    }
}
