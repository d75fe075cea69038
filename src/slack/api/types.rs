//! The shapes of what deskhand sends to the Web API and reads back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::slack::kit::Block;

#[derive(Debug, Clone, Deserialize)]
pub struct AuthTest {
    pub url: String,
    pub team_id: String,
    pub user_id: String,
    #[serde(default)]
    pub bot_id: Option<String>,
    /// The Enterprise Grid org the workspace belongs to.
    #[serde(default)]
    pub enterprise_id: Option<String>,
}

/// What `oauth.v2.access` answers for a bot install: the token, and where it is installed
/// (a workspace, or a whole Enterprise Grid org, whose `team` is then null).
#[derive(Debug, Clone, Deserialize)]
pub struct OAuthAccess {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub scope: String,
    pub bot_user_id: String,
    #[serde(default)]
    pub team: Option<NamedId>,
    #[serde(default)]
    pub enterprise: Option<NamedId>,
    #[serde(default)]
    pub is_enterprise_install: bool,
    #[serde(default)]
    pub authed_user: Option<NamedId>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NamedId {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub real_name: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub is_restricted: bool,
    #[serde(default)]
    pub is_ultra_restricted: bool,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub is_owner: bool,
    #[serde(default)]
    pub profile: Profile,
    /// On Enterprise Grid: the org the member belongs to, whichever of its workspaces
    /// they are seen from.
    #[serde(default)]
    pub enterprise_user: Option<EnterpriseUser>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnterpriseUser {
    pub enterprise_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Profile {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub real_name: Option<String>,
}

impl User {
    /// The name deskhand shows for this user: their real name where Slack has one (as
    /// "Ana Lima"), else their display name, else their handle.
    pub fn display_name(&self) -> String {
        [&self.profile.real_name, &self.real_name, &self.profile.display_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .find(|s| !s.is_empty())
            .unwrap_or(&self.name)
            .to_owned()
    }
}

/// A message to post. `metadata` tags it with the effect that posts it, so a post whose
/// answer was lost can be found again instead of sent twice.
#[derive(Debug, Clone, Serialize)]
pub struct PostMessage<'a> {
    pub channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<&'a str>,
    pub text: &'a str,
    pub blocks: &'a [Block<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub unfurl_links: bool,
}

/// A message of deskhand's to show anew.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateMessage<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    pub text: &'a str,
    pub blocks: &'a [Block<'a>],
}

/// One message of a history or replies page: just what finding our own posts needs.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryMessage {
    pub ts: String,
    #[serde(default)]
    pub metadata: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HistoryPage {
    #[serde(default)]
    pub messages: Vec<HistoryMessage>,
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ResponseMetadata {
    #[serde(default)]
    pub next_cursor: String,
}

/// A message read back from Slack (history or replies): what filing it needs.
#[derive(Debug, Clone, Deserialize)]
pub struct FetchedMessage {
    pub ts: String,
    #[serde(default)]
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub files: Vec<crate::desk::SharedFile>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FetchedPage {
    #[serde(default)]
    pub messages: Vec<FetchedMessage>,
}
