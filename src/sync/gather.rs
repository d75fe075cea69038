//! What the worker looks up before it opens a transaction: the workspace (`auth.test`),
//! the channels, the messages and users its events name, and the agent channels' members,
//! each with the token of the events' own installation.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::worker::{Worker, Workspace, AGENTS_TTL, REFUSED_FOR, USER_DB_TTL_MS, USER_MEMORY_TTL};
use crate::desk::identity::{self, Verification};
use crate::slack::api::{SlackApi, SlackError};
use crate::slack::events::{self, Command};
use crate::store::{ChannelRecord, PersonLink, SlackUserRecord, StoreError};
use crate::sync::handlers;
use crate::sync::lookup::{self, Lookups, Needs};
use crate::sync::unit::profile;

impl Worker {
    /// What `auth.test` says of an installation's token, remembered.
    pub(super) async fn workspace(
        &mut self,
        installation: &Option<String>,
        slack: &SlackApi,
    ) -> Result<Workspace, SlackError> {
        if let Some(workspace) = self.known.get(installation) {
            return Ok(workspace.clone());
        }
        // A token Slack refused is asked about again only after a while: the events wait
        // meanwhile, and Slack is not asked once per batch.
        if let Some((at, error)) = self.refused.get(installation) {
            if self.store.now_ms() - at < REFUSED_FOR.as_millis() as i64 {
                return Err(SlackError::Api(error.clone()));
            }
        }
        let auth = match slack.auth_test().await {
            Ok(auth) => auth,
            Err(e) => {
                if let SlackError::Api(error) = &e {
                    if !e.is_transient() {
                        self.refused
                            .insert(installation.clone(), (self.store.now_ms(), error.clone()));
                    }
                }
                return Err(e);
            }
        };
        self.refused.remove(installation);
        let workspace = Workspace {
            installation: installation.clone(),
            enterprise_id: auth.enterprise_id.filter(|e| !e.is_empty()),
            team_id: auth.team_id,
            bot_user_id: auth.user_id,
            url: auth.url,
            email: self.email,
            public_url: self.public_url.clone(),
        };
        tracing::info!(team = %workspace.team_id, bot = %workspace.bot_user_id, "connected to the Slack workspace");
        self.known.insert(installation.clone(), workspace.clone());
        Ok(workspace)
    }

    pub(super) async fn load_channels(
        &self,
        decoded: &[Result<Command, events::DecodeError>],
    ) -> Result<HashMap<String, Option<ChannelRecord>>, StoreError> {
        let mut wanted: Vec<String> = decoded.iter().flatten().flat_map(handlers::channels_of).collect();
        wanted.sort();
        wanted.dedup();
        let mut channels: HashMap<String, Option<ChannelRecord>> = wanted.iter().map(|c| (c.clone(), None)).collect();
        for channel in self.store.channels_by_ids(&wanted).await? {
            channels.insert(channel.channel_id.clone(), Some(channel));
        }
        Ok(channels)
    }

    /// Look up what the batch's events need (see [`lookup`]). Slack's failures are
    /// recorded as unavailable facts, not errors: their events wait.
    pub(super) async fn gather(
        &mut self,
        slack: &SlackApi,
        needs: &[Needs],
        channels: &HashMap<String, Option<ChannelRecord>>,
        workspace: &Workspace,
        deadline: Instant,
    ) -> Result<Lookups, StoreError> {
        let mut lookups = Lookups::default();
        for (channel, ts, with_thread) in needs.iter().filter_map(|n| n.message.as_ref()) {
            let key = (channel.clone(), ts.clone());
            if lookups.messages.contains_key(&key) || lookups.unavailable_messages.contains(&key) {
                continue;
            }
            self.find_message(slack, &mut lookups, channel, ts, *with_thread, channels, deadline)
                .await?;
        }
        if needs.iter().any(|n| n.projects || n.agents) {
            let settings = self.store.settings_for(workspace.installation.as_deref()).await?;
            lookups.roles = settings.roles();
            lookups.projects = self
                .store
                .projects()
                .await?
                .into_iter()
                .map(|p| (p.key.clone(), p))
                .collect();
            lookups.managers = lookups.projects.values().flat_map(|p| p.managers()).collect();
            lookups.settings = settings;
        }
        let mut users: Vec<String> = needs.iter().flat_map(|n| n.users.iter().cloned()).collect();
        users.extend(lookups.authors());
        users.extend(lookups.settings.facilitator.as_ref().map(|f| f.slack_user_id.clone()));
        for user in users {
            if lookups.users.contains_key(&user) || lookups.unavailable_users.contains(&user) {
                continue;
            }
            if Instant::now() >= deadline {
                lookups.unavailable_users.insert(user);
                continue;
            }
            match self.user(slack, &user, workspace).await {
                Ok(record) => {
                    lookups.users.insert(user, record);
                }
                Err(e) => {
                    tracing::warn!(slack.user = %user, error = %e, "users.info failed; the user's events wait");
                    lookups.unavailable_users.insert(user);
                }
            }
        }
        if needs.iter().any(|n| n.agents) {
            match self.agents(slack, &workspace.installation).await {
                Ok(agents) => lookups.agents = Some(agents),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the agent channels' members; their events wait");
                    lookups.agents_unavailable = true;
                }
            }
        }
        Ok(lookups)
    }

    /// A message (and, when wanted, its thread): from deskhand's own record of support
    /// channels, or from Slack when it is not there.
    #[allow(clippy::too_many_arguments)]
    async fn find_message(
        &mut self,
        slack: &SlackApi,
        lookups: &mut Lookups,
        channel: &str,
        ts: &str,
        with_thread: bool,
        channels: &HashMap<String, Option<ChannelRecord>>,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        if let Some(message) = self.store.channel_message(channel, ts).await? {
            let parent = message.thread_ts.clone().filter(|_| message.is_reply());
            let thread = match (&parent, with_thread) {
                (Some(parent), true) => self.store.thread_messages(channel, parent).await?,
                _ => Vec::new(),
            };
            if parent.is_none() || !with_thread || thread.iter().any(|m| Some(&m.ts) == parent.as_ref()) {
                let thread = if thread.is_empty() { vec![message] } else { thread };
                lookups.learn(channel, ts, thread, false);
                return Ok(());
            }
        }
        let key = (channel.to_owned(), ts.to_owned());
        if Instant::now() >= deadline {
            lookups.unavailable_messages.insert(key);
            return Ok(());
        }
        let keep = channels
            .get(channel)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.is_support());
        match slack.fetch_message(channel, ts).await {
            Ok(Some(thread)) => {
                let thread = thread.into_iter().map(|m| lookup::kept(channel, m)).collect();
                lookups.learn(channel, ts, thread, keep);
            }
            Ok(None) => tracing::info!(channel, ts, "Slack has no such message (deleted?); nothing to file"),
            Err(e) if e.is_transient() => {
                tracing::warn!(channel, ts, error = %e, "could not read a message from Slack; its event waits");
                lookups.unavailable_messages.insert(key);
            }
            Err(e) => tracing::warn!(channel, ts, error = %e, "Slack would not give a message; nothing to file"),
        }
        Ok(())
    }

    /// Everyone in an agent channel the installation's token can see: agents.
    /// Remembered for a few minutes.
    async fn agents(
        &mut self,
        slack: &SlackApi,
        installation: &Option<String>,
    ) -> Result<HashSet<String>, anyhow::Error> {
        if let Some((agents, at)) = self.agents.get(installation) {
            if at.elapsed() < AGENTS_TTL {
                return Ok(agents.clone());
            }
        }
        let mut agents = HashSet::new();
        for channel in self.store.channels().await? {
            if channel.is_agent() {
                match slack.conversations_members(&channel.channel_id).await {
                    Ok(members) => agents.extend(members),
                    // Another workspace's channel: its members are agents there.
                    Err(SlackError::Api(e)) if e == "channel_not_found" => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.agents
            .insert(installation.clone(), (agents.clone(), Instant::now()));
        Ok(agents)
    }

    async fn user(
        &mut self,
        slack: &SlackApi,
        user_id: &str,
        workspace: &Workspace,
    ) -> Result<SlackUserRecord, SlackError> {
        if let Some((record, at)) = self.users.get(user_id) {
            if at.elapsed() < USER_MEMORY_TTL {
                return Ok(record.clone());
            }
        }
        let cached = self.store.slack_user(user_id).await.ok().flatten();
        let record = match cached {
            Some(record) if self.store.now_ms() - record.fetched_at < USER_DB_TTL_MS => record,
            _ => self.fetch_user(slack, user_id, workspace).await?,
        };
        self.users.insert(user_id.to_owned(), (record.clone(), Instant::now()));
        Ok(record)
    }

    async fn fetch_user(
        &self,
        slack: &SlackApi,
        user_id: &str,
        workspace: &Workspace,
    ) -> Result<SlackUserRecord, SlackError> {
        let user = match slack.users_info(user_id).await {
            Ok(user) => user,
            // Slack does not know them (e.g. some Slack Connect users): nobody the desk
            // can verify, but their message is still kept.
            Err(SlackError::Api(error)) if error == "user_not_found" => {
                return Ok(SlackUserRecord {
                    slack_user_id: user_id.to_owned(),
                    team_id: String::new(),
                    name: user_id.to_owned(),
                    display_name: user_id.to_owned(),
                    email: None,
                    is_bot: false,
                    is_restricted: false,
                    is_ultra_restricted: false,
                    deleted: false,
                    person_id: None,
                    fetched_at: self.store.now_ms(),
                    is_admin: false,
                })
            }
            Err(e) => return Err(e),
        };
        // On Enterprise Grid a member of the org is one person in each of its workspaces.
        let org = user
            .enterprise_user
            .as_ref()
            .map(|e| e.enterprise_id.clone())
            .filter(|e| Some(e) == workspace.enterprise_id.as_ref());
        let record = SlackUserRecord {
            slack_user_id: user.id.clone(),
            team_id: org.unwrap_or_else(|| user.team_id.clone()),
            name: user.name.clone(),
            display_name: user.display_name(),
            email: user.profile.email.clone(),
            is_bot: user.is_bot,
            is_restricted: user.is_restricted,
            is_ultra_restricted: user.is_ultra_restricted,
            deleted: user.deleted,
            person_id: None,
            fetched_at: self.store.now_ms(),
            is_admin: user.is_admin || user.is_owner,
        };
        let link = match identity::verify(&profile(&record), workspace.home()) {
            Verification::Verified { email } => PersonLink::ByEmail(email),
            Verification::Unverified(_) => PersonLink::None,
        };
        let linked = matches!(link, PersonLink::ByEmail(_));
        // A user we could not store is still known for this batch; storing is retried
        // on the next lookup.
        match self.store.save_slack_user(&record, link).await {
            Ok(saved) => {
                // Someone who was a guest may be a member now: what they wrote while they
                // could not be helped is filed.
                if linked {
                    match crate::admin::parked::release_user(&self.store, user_id).await {
                        Ok(crate::admin::parked::Released { filed: 0, reported: 0 }) => {}
                        Ok(crate::admin::parked::Released {
                            filed: released,
                            reported,
                        }) => {
                            tracing::info!(slack.user = %user_id, released, reported, "a newly linked person's parked messages are filed");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "could not hand back a newly linked person's parked messages")
                        }
                    }
                }
                Ok(saved)
            }
            Err(e) => {
                tracing::warn!(slack.user = %user_id, error = %e, "could not store a looked-up user");
                Ok(record)
            }
        }
    }
}
