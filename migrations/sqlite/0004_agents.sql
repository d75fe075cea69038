-- The agents' workflow: where a request was before its last move, how often it was
-- resolved, departments' managers, approvals and satisfaction surveys.

alter table tickets add column previous_status text;
alter table tickets add column first_resolved_at bigint;
alter table tickets add column resolutions bigint not null default 0;
-- pending, approved or declined, for request types that need an approval
alter table tickets add column approval text;
create index tickets_created on tickets (created_at);

-- written by an agent (first responses are measured from these)
alter table comments add column by_agent boolean not null default 0;

-- per request type: who approves (JSON object by request type name)
alter table projects add column approvals text not null default '{}';
-- which fields the ticket's messages show (JSON array), and a short intro text
alter table projects add column message_fields text;
alter table projects add column intro text;
-- the departments with their managers (JSON array of slug, name, managers)
alter table projects add column department_records text not null default '[]';

create table approvals (
    ticket_id       bigint primary key references tickets (id),
    -- JSON array of the Slack user ids who may decide
    approvers       text not null,
    decision        text check (decision in ('approved', 'declined')),
    decided_by      text,
    decided_by_name text,
    reason          text,
    requested_at    bigint not null,
    decided_at      bigint
);

create table surveys (
    ticket_id          bigint not null references tickets (id),
    -- which resolution of the ticket it asks about: reopened and resolved again asks again
    resolution         bigint not null,
    requester_slack_id text not null,
    rating             bigint,
    comment            text,
    asked_at           bigint not null,
    answered_at        bigint,
    primary key (ticket_id, resolution)
);

-- What a person waits for (a shortcut's modal, a button's answer) goes before the
-- backlog: claims look at urgent rows first.
alter table inbox add column urgent boolean not null default 0;
create index inbox_urgent on inbox (id) where state = 'pending' and urgent;
alter table outbox add column urgent boolean not null default 0;
create index outbox_urgent on outbox (id) where state = 'pending' and urgent;
