-- The portal: each project's portal settings (JSON; null: no portal), one-time sign-in
-- links and sessions, both kept only as hashes, and sign-in requests for rate limits.
alter table projects add column portal text;

create table portal_links (
    token_hash    text primary key,
    slack_user_id text,
    customer_id   bigint references customers (id),
    next_path     text not null,
    created_at    bigint not null,
    expires_at    bigint not null,
    used_at       bigint,
    check ((slack_user_id is null) <> (customer_id is null))
);

create table portal_sessions (
    id_hash       text primary key,
    slack_user_id text,
    customer_id   bigint references customers (id),
    csrf          text not null,
    created_at    bigint not null,
    seen_at       bigint not null,
    ended_at      bigint,
    check ((slack_user_id is null) <> (customer_id is null))
);

create table portal_requests (
    subject text not null,
    at      bigint not null
);
create index portal_requests_subject on portal_requests (subject, at);
