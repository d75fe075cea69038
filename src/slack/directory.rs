//! Slack as the admin use cases' [`Directory`]: who the workspace is (`auth.test`) and who
//! a person is (`users.info`).

use super::api::{SlackApi, SlackError, User};
use super::manifest::BOT_SCOPES;
use super::workspaces::{NoClient, Workspaces};
use crate::admin::{BoxFuture, Directory, DirectoryError, Installed, Person};

fn directory_error(e: SlackError) -> DirectoryError {
    if e.is_transient() {
        DirectoryError::Unavailable(e.to_string())
    } else {
        DirectoryError::Refused(e.to_string())
    }
}

fn person(found: User) -> Person {
    Person {
        name: found.display_name(),
        id: found.id,
        team_id: found.team_id,
        email: found.profile.email,
        is_bot: found.is_bot,
        is_restricted: found.is_restricted,
        is_ultra_restricted: found.is_ultra_restricted,
        deleted: found.deleted,
        is_admin: found.is_admin || found.is_owner,
    }
}

impl Directory for SlackApi {
    fn workspace_team(&self) -> BoxFuture<'_, Result<String, DirectoryError>> {
        Box::pin(async move { self.auth_test().await.map(|auth| auth.team_id).map_err(directory_error) })
    }

    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>> {
        Box::pin(async move {
            match self.users_info(user).await {
                Ok(found) => Ok(Some(person(found))),
                Err(SlackError::Api(e)) if e == "user_not_found" => Ok(None),
                Err(e) => Err(directory_error(e)),
            }
        })
    }

    fn person_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>> {
        Box::pin(async move {
            match self.user_by_email(email).await {
                Ok(found) => Ok(found.map(person)),
                Err(e) => Err(directory_error(e)),
            }
        })
    }

    fn missing_scopes(&self) -> BoxFuture<'_, Result<Vec<String>, DirectoryError>> {
        Box::pin(async move {
            let granted = self.granted_scopes().await.map_err(directory_error)?;
            Ok(BOT_SCOPES
                .iter()
                .flat_map(|(scopes, _)| scopes.iter())
                .filter(|needed| !granted.iter().any(|g| g == *needed))
                .map(|s| (*s).to_owned())
                .collect())
        })
    }

    fn present_in<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<bool, DirectoryError>> {
        Box::pin(async move { self.bot_is_member(channel).await.map_err(directory_error) })
    }

    fn socket_mode(&self) -> BoxFuture<'_, Option<Result<(), DirectoryError>>> {
        Box::pin(async move {
            if !self.has_app_token() {
                return None;
            }
            Some(self.connections_open().await.map(|_| ()).map_err(directory_error))
        })
    }
}

fn no_client(e: NoClient) -> DirectoryError {
    if e.is_transient() {
        DirectoryError::Unavailable(e.to_string())
    } else {
        DirectoryError::Refused(e.to_string())
    }
}

/// The admin use cases ask the workspace of the configured token, else the first one
/// installed.
impl Directory for Workspaces {
    fn workspace_team(&self) -> BoxFuture<'_, Result<String, DirectoryError>> {
        Box::pin(async move { self.default_client().await.map_err(no_client)?.workspace_team().await })
    }

    /// Looked for in every workspace deskhand serves: a member of any of them is one of
    /// the desk's own people (shown as of the first one's team, which they are checked
    /// against).
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>> {
        Box::pin(async move {
            let first = self.default_client().await.map_err(no_client)?;
            if let Some(found) = first.person(user).await? {
                return Ok(Some(found));
            }
            for (installation, team) in self.installed_teams().await.map_err(no_client)? {
                let client = self.client(Some(&installation)).await.map_err(no_client)?;
                if let Some(mut found) = client.person(user).await? {
                    if team.as_deref() == Some(found.team_id.as_str()) {
                        found.team_id = first.workspace_team().await?;
                    }
                    return Ok(Some(found));
                }
            }
            Ok(None)
        })
    }

    fn person_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<Person>, DirectoryError>> {
        Box::pin(async move {
            let slack = self.default_client().await.map_err(no_client)?;
            slack.person_by_email(email).await
        })
    }

    fn missing_scopes(&self) -> BoxFuture<'_, Result<Vec<String>, DirectoryError>> {
        Box::pin(async move { self.default_client().await.map_err(no_client)?.missing_scopes().await })
    }

    fn present_in<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<bool, DirectoryError>> {
        Box::pin(async move {
            self.default_client()
                .await
                .map_err(no_client)?
                .present_in(channel)
                .await
        })
    }

    fn socket_mode(&self) -> BoxFuture<'_, Option<Result<(), DirectoryError>>> {
        Box::pin(async move { self.configured().socket_mode().await })
    }

    fn installed(&self) -> BoxFuture<'_, Result<Vec<Installed>, DirectoryError>> {
        Box::pin(async move {
            let mut checked = Vec::new();
            for (installation, name) in self.installed_names().await.map_err(no_client)? {
                let accepted = match self.client(Some(&installation)).await {
                    Ok(client) => client.auth_test().await.map(|_| ()).map_err(directory_error),
                    Err(e) => Err(no_client(e)),
                };
                checked.push(Installed {
                    installation,
                    name,
                    accepted,
                });
            }
            Ok(checked)
        })
    }
}
