-- Requests from everywhere: emoji, shortcuts, forms, mentions, DMs, /desk and App Home.

-- A project's departments and request types (JSON arrays of names) and its workflow
-- (JSON; null means the default workflow).
alter table projects add column departments text not null default '[]';
alter table projects add column request_types text not null default '[]';
alter table projects add column workflow text;

-- A support channel's emoji actions and the defaults applied to its requests.
alter table channels add column create_emoji text not null default 'ticket';
alter table channels add column assign_emoji text not null default 'eyes';
alter table channels add column resolve_emoji text not null default 'white_check_mark';
alter table channels add column default_department text;
alter table channels add column default_request_type text;
alter table channels add column default_priority text;

-- Who filed a request for its requester (the reporter), who works on it, where it belongs,
-- whether only its requester and agents may see it, and its status's category.
-- A request filed from a reply inside a thread answers in that thread (its parent's ts).
alter table tickets add column origin_thread_ts text;
alter table tickets add column department text;
alter table tickets add column request_type text;
alter table tickets add column reporter_slack_id text;
alter table tickets add column reporter_name text;
alter table tickets add column assignee_slack_id text;
alter table tickets add column assignee_name text;
alter table tickets add column private boolean not null default 0;
alter table tickets add column status_category text not null default 'open';
alter table tickets add column resolved_at bigint;
create index tickets_requester on tickets (requester_slack_id, id);
create index tickets_assignee on tickets (assignee_slack_id, id) where assignee_slack_id is not null;

-- Workspace-wide settings an admin chose (JSON values).
create table settings (
    key        text primary key,
    value      text not null,
    updated_at bigint not null
);

-- The messages of support channels, as deskhand received them: an emoji on a message, or a
-- mention in a thread, files it with its text and thread without asking Slack again.
create table channel_messages (
    channel_id  text not null,
    ts          text not null,
    thread_ts   text,
    user_id     text,
    text        text not null,
    files       text not null default '[]',
    deleted     boolean not null default 0,
    received_at bigint not null,
    primary key (channel_id, ts)
);
create index channel_messages_thread on channel_messages (channel_id, thread_ts) where thread_ts is not null;
create index channel_messages_received on channel_messages (received_at);

-- What each person chose, and what deskhand knows of them: notifications on or off, when
-- they last opened deskhand's Home tab, and their DM channel with deskhand.
create table slack_user_prefs (
    slack_user_id  text primary key,
    notifications  boolean not null default 1,
    home_opened_at bigint,
    dm_channel     text
);
