//! What admins may configure: a channel's binding and its preferences, and the rules that
//! hold between channels. Whoever asks (the admin API, `/desk admin`, later the web pages)
//! gets the same answer, with the field it is about.

use super::rules::{emoji_name, DEFAULT_ANNOUNCEMENT_MARKER, DEFAULT_EMOJI};
use super::Priority;

/// What a channel is to deskhand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Requests are filed here.
    Support,
    /// Agents get a card per request here, and talk internally in its thread.
    Agent,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Support => "support",
            ChannelKind::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "support" => Some(ChannelKind::Support),
            "agent" => Some(ChannelKind::Agent),
            _ => None,
        }
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of a configuration a refusal is about: a modal shows it under that field, the
/// API names it in its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Channel,
    Kind,
    Project,
    AgentChannel,
    CreateEmoji,
    AssignEmoji,
    ResolveEmoji,
    DefaultDepartment,
    DefaultRequestType,
    DefaultPriority,
    Facilitator,
    Name,
    Workflow,
    Departments,
    RequestTypes,
    DefaultProject,
    ParkedRetentionDays,
    Admins,
    Agents,
    Department,
    Managers,
    Approvals,
    MessageFields,
    Intro,
    Email,
    Organization,
    ManagedDomains,
    Customers,
    Organizations,
    Text,
    Backend,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Channel => "channel",
            Field::Kind => "kind",
            Field::Project => "project",
            Field::AgentChannel => "agent_channel",
            Field::CreateEmoji => "create_emoji",
            Field::AssignEmoji => "assign_emoji",
            Field::ResolveEmoji => "resolve_emoji",
            Field::DefaultDepartment => "default_department",
            Field::DefaultRequestType => "default_request_type",
            Field::DefaultPriority => "default_priority",
            Field::Facilitator => "facilitator",
            Field::Name => "name",
            Field::Workflow => "workflow",
            Field::Departments => "departments",
            Field::RequestTypes => "request_types",
            Field::DefaultProject => "default_project",
            Field::ParkedRetentionDays => "parked_retention_days",
            Field::Admins => "admins",
            Field::Agents => "agents",
            Field::Department => "department",
            Field::Managers => "managers",
            Field::Approvals => "approvals",
            Field::MessageFields => "message_fields",
            Field::Intro => "intro",
            Field::Email => "email",
            Field::Organization => "organization",
            Field::ManagedDomains => "managed_domains",
            Field::Customers => "customers",
            Field::Organizations => "organizations",
            Field::Text => "text",
            Field::Backend => "backend",
        }
    }
}

/// Why a configuration change was refused, and which field it is about. `conflict`: the
/// change is well-formed but clashes with how other things are set up now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub field: Field,
    pub message: String,
    pub conflict: bool,
}

impl Refusal {
    pub fn invalid(field: Field, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            conflict: false,
        }
    }

    pub fn conflict(field: Field, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            conflict: true,
        }
    }
}

/// A Slack conversation id: C… (channel), G… (private channel) or D… (DM), then
/// upper-case letters and digits.
pub fn is_channel_id(id: &str) -> bool {
    (3..=24).contains(&id.len())
        && id.starts_with(['C', 'G', 'D'])
        && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A Slack user id: U… or W…, then upper-case letters and digits.
pub fn is_user_id(id: &str) -> bool {
    (3..=24).contains(&id.len())
        && id.starts_with(['U', 'W'])
        && id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A channel's settings as an admin asked for them, not yet checked (the admin API's body
/// as it is: a field it does not know is refused).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    pub kind: String,
    pub project: Option<String>,
    pub agent_channel: Option<String>,
    #[serde(default = "yes")]
    pub auto_create: bool,
    #[serde(default = "yes")]
    pub thread_sync: bool,
    pub announcement_marker: Option<String>,
    pub create_emoji: Option<String>,
    pub assign_emoji: Option<String>,
    pub resolve_emoji: Option<String>,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<String>,
}

fn yes() -> bool {
    true
}

/// A channel's settings, checked: what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSettings {
    pub channel_id: String,
    pub kind: ChannelKind,
    pub project: Option<String>,
    pub agent_channel: Option<String>,
    pub auto_create: bool,
    pub thread_sync: bool,
    pub announcement_marker: String,
    pub create_emoji: String,
    pub assign_emoji: String,
    pub resolve_emoji: String,
    pub default_department: Option<String>,
    pub default_request_type: Option<String>,
    pub default_priority: Option<Priority>,
}

/// The names of the project a support channel is bound to, as they are now.
#[derive(Debug, Clone, Copy)]
pub struct ProjectNames<'a> {
    pub key: &'a str,
    pub departments: &'a [String],
    pub request_types: &'a [String],
}

/// Check a channel's settings. `project`: the project the request names, when it exists.
pub fn check_channel(
    id: &str,
    request: ChannelRequest,
    project: Option<ProjectNames>,
) -> Result<ChannelSettings, Refusal> {
    if !is_channel_id(id) {
        return Err(Refusal::invalid(
            Field::Channel,
            format!("{id} is not a Slack channel id (C…, G… or D…)"),
        ));
    }
    let kind = ChannelKind::parse(&request.kind).ok_or_else(|| {
        Refusal::invalid(
            Field::Kind,
            format!("kind must be \"support\" or \"agent\", not {:?}", request.kind),
        )
    })?;
    if kind == ChannelKind::Agent {
        if request.project.is_some() || request.agent_channel.is_some() {
            return Err(Refusal::invalid(
                Field::Project,
                "an agent channel takes no project or agent_channel",
            ));
        }
        return Ok(ChannelSettings {
            channel_id: id.to_owned(),
            kind,
            project: None,
            agent_channel: None,
            auto_create: false,
            thread_sync: true,
            announcement_marker: String::new(),
            create_emoji: String::new(),
            assign_emoji: String::new(),
            resolve_emoji: String::new(),
            default_department: None,
            default_request_type: None,
            default_priority: None,
        });
    }
    let key = request
        .project
        .ok_or_else(|| Refusal::invalid(Field::Project, "a support channel needs a project"))?;
    let project = project
        .filter(|p| p.key == key)
        .ok_or_else(|| Refusal::invalid(Field::Project, format!("no project {key}: create it first")))?;
    check_default(
        &request.default_department,
        project.departments,
        Field::DefaultDepartment,
        &key,
    )?;
    check_default(
        &request.default_request_type,
        project.request_types,
        Field::DefaultRequestType,
        &key,
    )?;
    let default_priority = match request.default_priority.as_deref() {
        None => None,
        Some(given) => Some(Priority::parse(given).ok_or_else(|| {
            Refusal::invalid(
                Field::DefaultPriority,
                format!("default_priority {given:?} is not one of Low, Normal, High, Urgent"),
            )
        })?),
    };
    let create_emoji = check_emoji(request.create_emoji, DEFAULT_EMOJI.create, Field::CreateEmoji)?;
    let assign_emoji = check_emoji(request.assign_emoji, DEFAULT_EMOJI.assign, Field::AssignEmoji)?;
    let resolve_emoji = check_emoji(request.resolve_emoji, DEFAULT_EMOJI.resolve, Field::ResolveEmoji)?;
    if create_emoji == assign_emoji || create_emoji == resolve_emoji || assign_emoji == resolve_emoji {
        return Err(Refusal::invalid(
            Field::CreateEmoji,
            "create, assign and resolve emoji must differ",
        ));
    }
    if let Some(agents) = &request.agent_channel {
        if !is_channel_id(agents) {
            return Err(Refusal::invalid(
                Field::AgentChannel,
                format!("agent_channel {agents} is not a Slack channel id"),
            ));
        }
        if agents == id {
            return Err(Refusal::conflict(
                Field::AgentChannel,
                "a channel cannot be its own agent channel",
            ));
        }
    }
    Ok(ChannelSettings {
        channel_id: id.to_owned(),
        kind,
        project: Some(key),
        agent_channel: request.agent_channel,
        auto_create: request.auto_create,
        thread_sync: request.thread_sync,
        announcement_marker: request
            .announcement_marker
            .unwrap_or_else(|| DEFAULT_ANNOUNCEMENT_MARKER.into()),
        create_emoji,
        assign_emoji,
        resolve_emoji,
        default_department: request.default_department,
        default_request_type: request.default_request_type,
        default_priority,
    })
}

/// A requesting default must be one of the project's own names.
fn check_default(given: &Option<String>, allowed: &[String], field: Field, project: &str) -> Result<(), Refusal> {
    match given {
        Some(name) if !allowed.contains(name) => Err(Refusal::invalid(
            field,
            format!(
                "{} {name:?} is not one of project {project}'s: {allowed:?}",
                field.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// An emoji name (`ticket` or `:ticket:`), or the default when none is given.
fn check_emoji(given: Option<String>, default: &str, field: Field) -> Result<String, Refusal> {
    let name = given.as_deref().map(emoji_name).unwrap_or(default);
    let valid =
        !name.is_empty() && name.len() <= 100 && name.chars().all(|c| c.is_alphanumeric() || "_-+'".contains(c));
    if !valid {
        return Err(Refusal::invalid(
            field,
            format!("{name:?} is not an emoji name (like ticket or :ticket:)"),
        ));
    }
    Ok(name.to_owned())
}

/// What binding a channel does to the others: a support channel's agent channel is bound
/// as an agent channel when it is not bound yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    Alone,
    AlsoBindAgentChannel(String),
}

/// The rules between channels, given how they are bound now: `agent_channel_kind`, the
/// current kind of the agent channel `settings` names (`None`: not bound); `agent_channel_of`,
/// a support channel whose agent channel `settings`' channel is.
pub fn check_binding(
    settings: &ChannelSettings,
    agent_channel_kind: Option<ChannelKind>,
    agent_channel_of: Option<&str>,
) -> Result<Binding, Refusal> {
    if settings.kind == ChannelKind::Support {
        if let Some(user) = agent_channel_of {
            return Err(Refusal::conflict(
                Field::Kind,
                format!(
                    "{} is the agent channel of {user}; it cannot be a support channel",
                    settings.channel_id
                ),
            ));
        }
    }
    match (&settings.agent_channel, agent_channel_kind) {
        (None, _) | (Some(_), Some(ChannelKind::Agent)) => Ok(Binding::Alone),
        (Some(agents), Some(ChannelKind::Support)) => Err(Refusal::conflict(
            Field::AgentChannel,
            format!("{agents} is a support channel, not an agent channel"),
        )),
        (Some(agents), None) => Ok(Binding::AlsoBindAgentChannel(agents.clone())),
    }
}

/// A channel may be unbound unless a support channel still uses it as its agent channel.
/// Its tickets stay.
pub fn check_unbind(channel_id: &str, agent_channel_of: Option<&str>) -> Result<(), Refusal> {
    match agent_channel_of {
        Some(user) => Err(Refusal::conflict(
            Field::Channel,
            format!("{user} uses {channel_id} as its agent channel"),
        )),
        None => Ok(()),
    }
}

/// A facilitator serves a support channel only.
pub fn check_facilitated_channel(channel_id: &str, kind: ChannelKind) -> Result<(), Refusal> {
    match kind {
        ChannelKind::Support => Ok(()),
        ChannelKind::Agent => Err(Refusal::invalid(
            Field::Channel,
            format!("{channel_id} is an agent channel: facilitators act in support channels only"),
        )),
    }
}

/// Names for a list (departments, request types): trimmed, 1 to 60 characters, no repeats
/// whatever their case.
pub fn check_names(field: Field, names: &[String]) -> Result<Vec<String>, Refusal> {
    let what = field.as_str();
    let mut clean: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()) {
        if name.is_empty() || name.chars().count() > 60 {
            return Err(Refusal::invalid(
                field,
                format!("each of {what} must be 1 to 60 characters"),
            ));
        }
        if clean.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return Err(Refusal::invalid(field, format!("{what} lists {name:?} twice")));
        }
        clean.push(name.to_owned());
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support(project: &str) -> ChannelRequest {
        ChannelRequest {
            kind: "support".into(),
            project: Some(project.into()),
            auto_create: true,
            thread_sync: true,
            ..ChannelRequest::default()
        }
    }

    const IT: ProjectNames<'static> = ProjectNames {
        key: "IT",
        departments: &[],
        request_types: &[],
    };

    #[test]
    fn a_support_channel_needs_a_project_that_exists() {
        let mut request = support("IT");
        request.project = None;
        assert_eq!(check_channel("C01", request, None).unwrap_err().field, Field::Project);
        let refusal = check_channel("C01", support("HR"), None).unwrap_err();
        assert_eq!(refusal.message, "no project HR: create it first");
        let settings = check_channel("C01", support("IT"), Some(IT)).unwrap();
        assert_eq!(settings.kind, ChannelKind::Support);
        assert_eq!(
            (
                settings.create_emoji.as_str(),
                settings.assign_emoji.as_str(),
                settings.resolve_emoji.as_str()
            ),
            ("ticket", "eyes", "white_check_mark")
        );
        assert_eq!(settings.announcement_marker, DEFAULT_ANNOUNCEMENT_MARKER);
    }

    #[test]
    fn ids_and_kinds_are_checked() {
        assert_eq!(
            check_channel("X1", support("IT"), Some(IT)).unwrap_err().field,
            Field::Channel
        );
        assert_eq!(
            check_channel("c0lower", support("IT"), Some(IT)).unwrap_err().field,
            Field::Channel
        );
        let mut request = support("IT");
        request.kind = "lobby".into();
        assert_eq!(check_channel("C01", request, Some(IT)).unwrap_err().field, Field::Kind);
        assert!(is_user_id("U0ANA") && is_user_id("W123") && !is_user_id("C01") && !is_user_id("U"));
    }

    #[test]
    fn defaults_must_be_the_projects_own_and_priorities_known() {
        let departments = ["Hardware".to_owned()];
        let project = ProjectNames {
            departments: &departments,
            ..IT
        };
        let mut request = support("IT");
        request.default_department = Some("Plumbing".into());
        let refusal = check_channel("C01", request.clone(), Some(project)).unwrap_err();
        assert_eq!(refusal.field, Field::DefaultDepartment);
        assert!(refusal.message.contains("Plumbing"), "{refusal}");
        request.default_department = Some("Hardware".into());
        request.default_priority = Some("urgent".into());
        let settings = check_channel("C01", request.clone(), Some(project)).unwrap();
        assert_eq!(settings.default_priority, Some(Priority::Urgent));
        request.default_priority = Some("Whenever".into());
        assert_eq!(
            check_channel("C01", request, Some(project)).unwrap_err().field,
            Field::DefaultPriority
        );
    }

    #[test]
    fn emoji_must_be_names_and_differ() {
        let mut request = support("IT");
        request.create_emoji = Some(":eyes:".into());
        assert_eq!(
            check_channel("C01", request.clone(), Some(IT)).unwrap_err().field,
            Field::CreateEmoji
        );
        request.create_emoji = Some("not an emoji!".into());
        assert_eq!(
            check_channel("C01", request.clone(), Some(IT)).unwrap_err().field,
            Field::CreateEmoji
        );
        request.create_emoji = Some(":sos:".into());
        assert_eq!(check_channel("C01", request, Some(IT)).unwrap().create_emoji, "sos");
    }

    #[test]
    fn an_agent_channel_takes_no_project_and_no_channel_is_its_own_agent_channel() {
        let agent = ChannelRequest {
            kind: "agent".into(),
            project: Some("IT".into()),
            ..ChannelRequest::default()
        };
        assert_eq!(check_channel("C02", agent, Some(IT)).unwrap_err().field, Field::Project);
        let mut request = support("IT");
        request.agent_channel = Some("C01".into());
        let refusal = check_channel("C01", request, Some(IT)).unwrap_err();
        assert!(refusal.conflict && refusal.field == Field::AgentChannel);
    }

    #[test]
    fn binding_a_support_channel_binds_its_agent_channel_once_and_never_a_support_channel() {
        let mut request = support("IT");
        request.agent_channel = Some("C09".into());
        let settings = check_channel("C01", request, Some(IT)).unwrap();
        assert_eq!(
            check_binding(&settings, None, None),
            Ok(Binding::AlsoBindAgentChannel("C09".into()))
        );
        assert_eq!(
            check_binding(&settings, Some(ChannelKind::Agent), None),
            Ok(Binding::Alone)
        );
        assert!(
            check_binding(&settings, Some(ChannelKind::Support), None)
                .unwrap_err()
                .conflict
        );
        let refusal = check_binding(&settings, Some(ChannelKind::Agent), Some("C07")).unwrap_err();
        assert!(refusal.message.contains("is the agent channel of C07"), "{refusal}");
    }

    #[test]
    fn an_agent_channel_in_use_cannot_be_unbound_and_facilitators_serve_support_channels() {
        assert!(check_unbind("C09", Some("C01")).unwrap_err().conflict);
        assert_eq!(check_unbind("C09", None), Ok(()));
        assert_eq!(check_facilitated_channel("C01", ChannelKind::Support), Ok(()));
        assert!(check_facilitated_channel("C09", ChannelKind::Agent).is_err());
    }

    #[test]
    fn names_are_trimmed_bounded_and_unique_whatever_their_case() {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_names(Field::Departments, &names(&[" IT ", "HR"])),
            Ok(names(&["IT", "HR"]))
        );
        assert!(check_names(Field::Departments, &names(&["IT", "it"])).is_err());
        assert!(check_names(Field::Departments, &names(&[""])).is_err());
        assert!(check_names(Field::Departments, &names(&[&"x".repeat(61)])).is_err());
    }
}
