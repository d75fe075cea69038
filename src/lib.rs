//! deskhand: a Slack-first helpdesk. Requests made in Slack become tickets whose whole
//! life stays in sync between the Slack thread, the agents' channel and the ticket store.
//!
//! # Layout
//! - [`config`]: typed settings from the environment and `deskhand.toml`.
//! - [`app`]: building and running the server; the route table.
//! - [`desk`]: the domain and its rules, plain data and functions.
//! - [`store`]: the database (SQLite or PostgreSQL): tickets, config, inbox and outbox.
//! - [`slack`]: the Slack edge: signed ingress, Web API client, Block Kit.
//! - [`sync`]: the worker (inbox → desk → store + outbox) and the dispatcher (outbox → Slack).
//! - [`api`]: the JSON admin API.
//!
//! Data flows ingress → inbox → worker → outbox → dispatcher; see `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod config;
pub mod desk;
pub mod slack;
pub mod store;
pub mod sync;
