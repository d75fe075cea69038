//! What every edge shares: the configuration, the store, the inbox writer that ingress
//! stores events with, and the directory the admin use cases ask who people are. It knows
//! no edge: each edge adds what is its own (the Slack edge its signature check).

use std::sync::Arc;

use crate::admin::jira::ServiceDeskProbe;
use crate::admin::Directory;
use crate::config::Config;
use crate::store::{GroupCommit, NewEvent, Store};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// Stores events before they are acknowledged, many to a commit.
    pub inbox: GroupCommit<NewEvent, bool>,
    /// Who people are: Slack's directory, behind the use cases' own trait.
    pub directory: Arc<dyn Directory>,
    /// What Jira says about a project's connection, behind the use cases' own trait.
    pub service_desk: Arc<dyn ServiceDeskProbe>,
}
