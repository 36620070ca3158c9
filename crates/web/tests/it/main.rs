//! mace-web's one integration-test binary: the router driven in-process with `oneshot`.

// A test binary: its helpers (not only `#[test]` fns) may unwrap and panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod api;
mod assessments;
mod assets;
mod auth;
mod browser;
mod cases;
mod chronology;
mod concerns;
mod duplicates;
mod fixtures;
mod headers;
mod hostile;
mod hotspots;
mod intelligence;
mod missing;
mod networks;
mod nrm;
mod pages;
mod people;
mod plans;
mod programmes;
mod referrals;
mod support;
mod teams;
