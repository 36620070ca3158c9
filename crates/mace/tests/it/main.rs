//! The binary crate's one integration-test binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code: failing loudly is the point

mod cli;
mod e2e;
