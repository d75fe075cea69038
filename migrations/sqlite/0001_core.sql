-- The core loop: configuration, people, tickets and their Slack messages, and the
-- inbox/outbox that carry work between ingress, worker and dispatcher.
-- Times are unix milliseconds (bigint) so both backends store and compare them alike.

create table projects (
    key          text primary key,
    name         text not null,
    next_number  bigint not null default 1,
    created_at   bigint not null,
    updated_at   bigint not null
);

create table channels (
    channel_id          text primary key,
    kind                text not null check (kind in ('support', 'agent')),
    project_key         text references projects (key),
    agent_channel       text,
    auto_create         boolean not null default 1,
    thread_sync         boolean not null default 1,
    announcement_marker text not null default ':megaphone:',
    created_at          bigint not null,
    updated_at          bigint not null
);

-- A desk person: who a ticket belongs to, whatever edge they came through.
create table people (
    id           integer primary key,
    email        text not null unique,
    display_name text not null,
    created_at   bigint not null
);

-- What Slack told us about a user (users.info), and the person it links to.
create table slack_users (
    slack_user_id       text primary key,
    team_id             text not null,
    name                text not null,
    display_name        text not null,
    email               text,
    is_bot              boolean not null,
    is_restricted       boolean not null,
    is_ultra_restricted boolean not null,
    deleted             boolean not null,
    person_id           bigint references people (id),
    fetched_at          bigint not null
);

create table tickets (
    id                 integer primary key,
    key                text not null unique,
    project_key        text not null references projects (key),
    number             bigint not null,
    summary            text not null,
    description        text not null,
    status             text not null,
    priority           text not null,
    source             text not null,
    requester_person_id bigint references people (id),
    requester_slack_id text not null,
    requester_name     text not null,
    -- who the request is for when someone filed it for them (JSON: Slack id, name, team, email)
    on_behalf_of       text,
    channel_id         text not null,
    message_ts         text not null,
    permalink          text not null,
    created_at         bigint not null,
    updated_at         bigint not null,
    deleted_at         bigint,
    -- one ticket per Slack message, whatever retries or replicas do
    unique (channel_id, message_ts)
);
create index tickets_project on tickets (project_key, id);

create table comments (
    id              integer primary key,
    ticket_id       bigint not null references tickets (id),
    visibility      text not null check (visibility in ('public', 'internal')),
    body            text not null,
    author_person_id bigint references people (id),
    author_slack_id text not null,
    author_name     text not null,
    -- whose words these are when the author wrote them for someone else (JSON, as for tickets)
    on_behalf_of    text,
    channel_id      text not null,
    message_ts      text not null,
    permalink       text not null,
    created_at      bigint not null,
    edited_at       bigint,
    deleted_at      bigint,
    unique (channel_id, message_ts)
);
create index comments_ticket on comments (ticket_id, id);

-- Files shared with a ticket or comment: metadata and permalink only.
create table attachments (
    id          integer primary key,
    ticket_id   bigint not null references tickets (id),
    comment_id  bigint references comments (id),
    slack_file_id text not null,
    name        text not null,
    mimetype    text not null,
    size        bigint not null,
    permalink   text not null
);
create index attachments_ticket on attachments (ticket_id);

-- Messages deskhand posted about a ticket, so later changes edit them in place.
create table ticket_messages (
    ticket_id  bigint not null references tickets (id),
    role       text not null check (role in ('thread_reply', 'agent_card')),
    channel_id text not null,
    ts         text not null,
    primary key (ticket_id, role),
    unique (channel_id, ts)
);

create table audit (
    id          integer primary key,
    ticket_id   bigint references tickets (id),
    at          bigint not null,
    actor_slack_id text,
    actor_name  text,
    source      text not null,
    action      text not null,
    detail      text not null
);
create index audit_ticket on audit (ticket_id, id);

-- Messages nobody could file yet (unverified authors); kept, never dropped.
create table parked_messages (
    id            integer primary key,
    channel_id    text not null,
    slack_user_id text not null,
    ts            text not null,
    thread_ts     text,
    text          text not null,
    reason        text not null,
    event         text not null,
    parked_at     bigint not null,
    filed_at      bigint,
    unique (channel_id, ts)
);

-- Everything Slack sent, stored before the acknowledgement. dedupe_key makes retries no-ops;
-- order_key (the channel) keeps one channel's events in order across workers.
create table inbox (
    id              integer primary key,
    dedupe_key      text not null unique,
    order_key       text not null,
    body            text not null,
    received_at     bigint not null,
    state           text not null default 'pending' check (state in ('pending', 'done', 'failed')),
    attempts        bigint not null default 0,
    due_at          bigint not null,
    lease_until     bigint,
    last_error      text,
    finished_at     bigint
);
-- partial indexes: claiming looks only at pending rows, however long the history
create index inbox_pending on inbox (id) where state = 'pending';
-- the events that hold back later ones of their channel: tried, and not yet done
create index inbox_tried on inbox (order_key, id) where state = 'pending' and attempts > 0;
create index inbox_finished on inbox (finished_at) where state = 'done';

-- Effects to carry out on the outside world, written in the same transaction as the change
-- that caused them. order_key (the ticket) keeps one ticket's effects in order; a pending
-- row with a coalesce_key absorbs later identical requests.
create table outbox (
    id           integer primary key,
    effect_id    text not null unique,
    order_key    text not null,
    coalesce_key text,
    kind         text not null,
    payload      text not null,
    state        text not null default 'pending' check (state in ('pending', 'done', 'failed')),
    attempts     bigint not null default 0,
    ambiguous    boolean not null default 0,
    -- set when first claimed: from then on the row no longer absorbs later requests
    started      boolean not null default 0,
    due_at       bigint not null,
    lease_until  bigint,
    last_error   text,
    created_at   bigint not null,
    finished_at  bigint
);
create index outbox_pending on outbox (id) where state = 'pending';
create index outbox_order on outbox (order_key, id) where state = 'pending';
create index outbox_finished on outbox (finished_at) where state = 'done';
create unique index outbox_coalesce on outbox (coalesce_key) where state = 'pending' and not started;
