//! Fakes of the outside APIs deskhand talks to, one module each, on 127.0.0.1.

pub mod jira;
pub mod slack;
pub mod smtp;
pub mod socket;
