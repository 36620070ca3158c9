//! Identity: organisations, users and roles, passwords, second factors, sessions.

pub mod admin;
pub mod import;
pub mod model;
pub mod password;
pub mod service;
pub mod tokens;
pub mod totp;
