//! What is wrong with the setup, one finding a line: the database and its migrations,
//! Slack's view of the token and its scopes, that deskhand is in every channel it serves,
//! and that every facilitator can still act. `deskhand doctor` and `GET /api/v1/doctor`
//! both run these checks.

use serde::Serialize;

use super::jira::ServiceDeskProbe;
use super::Directory;
use crate::desk::identity::{verify, Verification};
use crate::store::Store;
use crate::vault::Vault;

/// One check and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: String,
    pub ok: bool,
    /// What was found, and when not ok what to do about it.
    pub detail: String,
}

fn finding(check: impl Into<String>, ok: bool, detail: impl Into<String>) -> Finding {
    Finding {
        check: check.into(),
        ok,
        detail: detail.into(),
    }
}

/// Run every check; each finds something, in this order: the store and Slack, then each
/// project's connection to Jira.
pub async fn run(
    store: &Store,
    directory: &dyn Directory,
    service_desk: &dyn ServiceDeskProbe,
    vault: Option<&Vault>,
) -> Vec<Finding> {
    let mut found = store_and_slack(store, directory).await;
    let backends = match store.jira_backends().await {
        Ok(backends) => backends,
        Err(e) => {
            found.push(finding("jira", false, format!("the connections cannot be read: {e}")));
            return found;
        }
    };
    for backend in &backends {
        match super::jira::check(store, service_desk, vault, backend).await {
            Ok(lines) => found.extend(lines),
            Err(e) => found.push(finding(format!("jira {}", backend.project_key), false, e.to_string())),
        }
    }
    found
}

async fn store_and_slack(store: &Store, directory: &dyn Directory) -> Vec<Finding> {
    let mut found = Vec::new();
    match store.migrations_pending().await {
        Ok(0) => found.push(finding(
            "database",
            true,
            format!("{} database, migrated", store.backend()),
        )),
        Ok(n) => found.push(finding(
            "database",
            false,
            format!("{n} migration(s) pending: run `deskhand migrate` (or start this version once)"),
        )),
        Err(e) => {
            found.push(finding(
                "database",
                false,
                format!("cannot be read: {e}; check DATABASE_URL"),
            ));
            return found;
        }
    }
    match directory.installed().await {
        Ok(installed) => {
            for super::Installed {
                installation,
                name,
                accepted,
            } in installed
            {
                let check = format!("workspace {installation}");
                found.push(match accepted {
                    Ok(()) => finding(check, true, format!("{name}: Slack accepts its token")),
                    Err(e) => finding(
                        check,
                        false,
                        format!(
                            "{name}: Slack refuses its token ({e}); install deskhand there again from /slack/install"
                        ),
                    ),
                });
            }
        }
        Err(e) => found.push(finding("workspaces", false, format!("cannot be read: {e}"))),
    }
    let team = match directory.workspace_team().await {
        Ok(team) => {
            found.push(finding(
                "slack token",
                true,
                format!("Slack accepts deskhand's token (workspace {team})"),
            ));
            team
        }
        Err(e) => {
            found.push(finding(
                "slack token",
                false,
                format!(
                    "Slack refuses SLACK_BOT_TOKEN or cannot be reached ({e}): copy the Bot User OAuth Token again"
                ),
            ));
            return found;
        }
    };
    match directory.socket_mode().await {
        None => {}
        Some(Ok(())) => found.push(finding(
            "socket mode",
            true,
            "Slack opens Socket Mode connections for SLACK_APP_TOKEN",
        )),
        Some(Err(e)) => found.push(finding(
            "socket mode",
            false,
            format!(
                "Slack opens no Socket Mode connection for SLACK_APP_TOKEN ({e}): turn Socket Mode on for the app \
                 and give the app-level token the connections:write scope"
            ),
        )),
    }
    match directory.missing_scopes().await {
        Ok(missing) if missing.is_empty() => {
            found.push(finding("scopes", true, "the token has every scope deskhand uses"))
        }
        Ok(missing) => found.push(finding(
            "scopes",
            false,
            format!(
                "the token lacks {}: update the app from `deskhand manifest` and reinstall it",
                missing.join(", ")
            ),
        )),
        Err(e) => found.push(finding("scopes", false, format!("could not be read: {e}"))),
    }
    let (channels, settings) = match (store.channels().await, store.settings().await) {
        (Ok(channels), Ok(settings)) => (channels, settings),
        (Err(e), _) | (_, Err(e)) => {
            found.push(finding("channels", false, format!("cannot be read: {e}")));
            return found;
        }
    };
    for channel in &channels {
        let check = format!("channel {}", channel.channel_id);
        match directory.present_in(&channel.channel_id).await {
            Ok(true) => found.push(finding(
                check,
                true,
                format!("deskhand is in this {} channel", channel.kind.as_str()),
            )),
            Ok(false) => found.push(finding(
                check,
                false,
                format!(
                    "deskhand is not in this {} channel, so it hears nothing there: /invite @deskhand in <#{}>",
                    channel.kind.as_str(),
                    channel.channel_id
                ),
            )),
            Err(e) => found.push(finding(check, false, format!("Slack could not say: {e}"))),
        }
    }
    let facilitators = channels
        .iter()
        .filter_map(|c| {
            c.facilitator_slack_id
                .as_deref()
                .map(|f| (format!("facilitator of {}", c.channel_id), f))
        })
        .chain(
            settings
                .facilitator
                .as_ref()
                .map(|f| ("workspace facilitator".to_owned(), f.slack_user_id.as_str())),
        );
    for (check, user) in facilitators {
        let verdict = match directory.person(user).await {
            Ok(Some(person)) => match verify(&person.profile(), &team) {
                Verification::Verified { .. } => Ok(format!("<@{user}> can file for others")),
                Verification::Unverified(reason) => Err(format!(
                    "<@{user}> can no longer facilitate ({}): authorize someone else",
                    reason.as_str()
                )),
            },
            Ok(None) => Err(format!("<@{user}> no longer exists in Slack: authorize someone else")),
            Err(e) => Err(format!("Slack could not say who <@{user}> is: {e}")),
        };
        match verdict {
            Ok(detail) => found.push(finding(check, true, detail)),
            Err(detail) => found.push(finding(check, false, detail)),
        }
    }
    found
}
