//! The Slack edge: signed requests (or Socket Mode envelopes) in, Web API calls out, Block
//! Kit in between.

pub mod actions;
pub mod admin;
pub mod api;
pub mod blocks;
pub mod directory;
pub mod events;
pub mod http;
pub mod ingress;
pub mod interactions;
pub mod kit;
pub mod manifest;
pub mod oauth;
pub mod shapes;
pub mod socket;
pub mod views;
pub mod workspaces;

/// A payload as Slack sends it, from the fixtures kept with the tests (`tests/fixtures/slack/`).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/slack/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
