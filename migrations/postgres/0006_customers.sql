-- Customers (people known by email), their organizations, and who follows which project.

create table organizations (
    id         bigserial primary key,
    name       text not null,
    -- the name in lower case: two organizations are never named alike
    name_key   text not null unique,
    created_at bigint not null
);

create table customers (
    id         bigserial primary key,
    -- in lower case
    email      text not null unique,
    name       text,
    created_at bigint not null,
    created_by text not null
);

create table organization_members (
    organization_id bigint not null references organizations (id),
    customer_id     bigint not null references customers (id),
    added_at        bigint not null,
    primary key (organization_id, customer_id)
);
create index organization_members_customer on organization_members (customer_id);

-- a project is shared with a customer or with an organization (everyone in it, now and later)
create table project_followers (
    project_key     text not null references projects (key),
    customer_id     bigint references customers (id),
    organization_id bigint references organizations (id),
    added_at        bigint not null,
    check ((customer_id is null) <> (organization_id is null))
);
create unique index project_followers_customer on project_followers (project_key, customer_id)
    where customer_id is not null;
create unique index project_followers_organization on project_followers (project_key, organization_id)
    where organization_id is not null;

-- announcements posted on a project, and how many followers they reached
create table project_messages (
    id          bigserial primary key,
    project_key text not null references projects (key),
    text        text not null,
    author      text not null,
    in_slack    bigint not null,
    by_email    bigint not null,
    unreachable bigint not null,
    created_at  bigint not null
);

create index slack_users_email on slack_users (lower(email));
