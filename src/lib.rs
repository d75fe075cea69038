//! deskhand: a Slack-first helpdesk. Requests made in Slack become tickets whose whole
//! life stays in sync between the Slack thread, the agents' channel and the ticket store.
//!
//! # Layout
//! - [`config`]: typed settings from the environment and `deskhand.toml`.
//! - [`metrics`]: what deskhand counts and times, for `/metrics`. It imports nothing else.
//! - [`vault`]: secrets sealed at rest under `DESKHAND_SECRET_KEY`.
//! - [`app`]: building and running the server; the route table. Nothing imports it.
//! - [`state`]: what every edge shares (config, store, inbox writer, directory).
//! - [`desk`]: the domain and its rules, plain data and functions. It imports nothing else.
//! - [`store`]: the database (SQLite or PostgreSQL): tickets, config, inbox and outbox.
//!   It knows the desk's types and nothing else.
//! - [`admin`]: configuration use cases that every admin surface calls.
//! - [`sync`]: the worker (inbox → handlers → store + outbox) and the dispatcher (outbox →
//!   each effect's sender).
//! - The edges, which translate and never import one another: [`slack`] (signed ingress,
//!   Web API client, Block Kit), [`api`] (the JSON admin API), [`portal`] (the web pages)
//!   and [`jira`] (Jira Service Management's REST API and webhook).
//!
//! Data flows ingress → inbox → worker → outbox → dispatcher; see `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod app;
pub mod config;
pub mod desk;
pub mod jira;
pub mod metrics;
pub mod portal;
pub mod slack;
pub mod state;
pub mod store;
pub mod sync;
pub mod vault;
