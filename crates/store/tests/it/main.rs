//! mace-store's one integration-test binary: the contract suite (every test on SQLite, and on
//! PostgreSQL when TEST_DATABASE_URL is set) and the schema-parity checks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)] // test code: failing loudly is the point

mod assessments;
mod audit;
mod cases;
mod contract;
mod hotspots;
mod identity;
mod intelligence;
mod merges;
mod missing;
mod networks;
mod nrm;
mod open;
mod parity;
mod plans;
mod profile;
mod programmes;
mod referrals;
mod teams;
