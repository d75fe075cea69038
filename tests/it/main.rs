//! deskhand's integration tests: one binary, a module per feature, all through the real
//! path (signed HTTP in, the fake Slack's recorded calls out).

mod support;

mod admin_api;
mod admin_slack;
mod agents;
mod browser;
mod contracts;
mod customers;
mod decisions;
mod doctor;
mod durability;
mod facilitation;
mod fuzz;
mod hostile;
mod identity;
mod ingress;
mod jira;
mod jira_model;
mod layers;
mod manifest;
mod metrics;
mod outbox;
mod participants;
mod portal;
mod portal_admin;
mod requests;
mod socket_mode;
mod startup;
mod threads;
mod tickets;
mod urgent;
mod workspaces;
