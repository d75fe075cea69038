-- Projects whose tickets live in a Jira Service Management service desk: the connection
-- (its API token and webhook secret sealed by DESKHAND_SECRET_KEY), the mappings, and
-- whether its sync is paused; on tickets and comments, the Jira ids they are linked to.
alter table projects add column backend text not null default 'native';

create table jira_backends (
    project_key      text primary key references projects (key),
    site_url         text not null,
    service_desk_id  text not null,
    -- the Jira project key: the prefix of its issue keys
    jira_project     text not null,
    request_type_id  text not null,
    account_email    text not null,
    account_id       text not null,
    account_token    text not null,
    webhook_secret   text not null,
    -- JSON: departments → request types, priorities → Jira priorities
    mappings         text not null,
    create_customers boolean not null default 0,
    paused_at        bigint,
    paused_because   text,
    -- the reconcile has brought in every change Jira made before this time
    synced_to        bigint,
    created_at       bigint not null,
    updated_at       bigint not null
);

-- A support channel's facilitator's own Jira account, for the guests it files for.
create table jira_facilitators (
    channel_id    text primary key,
    email         text not null,
    account_id    text not null,
    account_token text not null,
    authorized_by text not null,
    created_at    bigint not null
);

-- 'filing' until Jira names it, then 'linked'; 'failed' when Jira refused it, 'deleted'
-- when it was deleted in Jira. filed_key: the key it had while filing.
alter table tickets add column jira_issue_id text;
alter table tickets add column jira_url text;
alter table tickets add column jira_state text;
alter table tickets add column jira_error text;
alter table tickets add column filed_key text;
-- when (Jira's clock, ms) the newest change Jira told of was made: older ones come late
alter table tickets add column jira_seen_at bigint;
create unique index tickets_jira_issue on tickets (jira_issue_id);
create index tickets_filed_key on tickets (filed_key);

alter table comments add column jira_comment_id text;
create unique index comments_jira on comments (ticket_id, jira_comment_id);

-- Who was asked, in Slack, for an approval Jira waits for (once each).
create table jira_approvals (
    ticket_id   bigint not null references tickets (id),
    approval_id text not null,
    account_id  text not null,
    asked_at    bigint not null,
    primary key (ticket_id, approval_id, account_id)
);
