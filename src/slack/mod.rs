//! The Slack edge: signed requests in, Web API calls out, Block Kit in between.

pub mod admin;
pub mod api;
pub mod blocks;
pub mod events;
pub mod ingress;
pub mod interactions;
pub mod views;
