-- Workspaces deskhand is installed in through Slack's OAuth (one row per installation: a
-- workspace, or a whole Enterprise Grid org for an org-wide install), with the bot token
-- sealed by DESKHAND_SECRET_KEY; the one-time states of installs under way; and, on every
-- queued row and ticket, the installation whose token carries it.
create table workspaces (
    installation          text primary key,
    team_id               text,
    enterprise_id         text,
    is_enterprise_install boolean not null default 0,
    name                  text not null,
    bot_user_id           text not null,
    -- null once the app was uninstalled or its tokens revoked
    bot_token             text,
    scopes                text not null,
    installed_by          text not null,
    installed_at          bigint not null,
    removed_at            bigint,
    removed_because       text
);

create table oauth_states (
    state_hash text primary key,
    created_at bigint not null
);

alter table inbox add column installation text;
alter table outbox add column installation text;
alter table tickets add column installation text;
alter table parked_messages add column installation text;
