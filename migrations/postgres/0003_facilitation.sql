-- Guest facilitation, roles and the audit of who acted for whom.

-- A support channel's facilitator: the verified person whose account files the requests
-- and replies of people the desk cannot link, on their behalf; who authorized them, when.
alter table channels add column facilitator_slack_id text;
alter table channels add column facilitator_authorized_by text;
alter table channels add column facilitator_authorized_at bigint;

-- Slack workspace owners and admins are deskhand admins.
alter table slack_users add column is_admin boolean not null default false;

-- Who a change was made for, when someone acted through a facilitator (JSON).
alter table audit add column on_behalf_of text;

-- A parked message is filed once someone can act for its author, or, when it waited
-- longer than the retention, reported to the channel's agents instead.
alter table parked_messages add column reported_at bigint;
