//! Browser end-to-end tests (architecture §5.3): the real binary, Debian's headless Chromium via
//! chromedriver, and axe-core with zero WCAG 2.2 AA violations allowed.
//!
//! Gated: without `MACE_E2E=1` every test prints `skipped: …` and passes. With it, a missing
//! Chromium or ChromeDriver skips too, unless `MACE_TEST_REQUIRE=browser` (CI), which fails.
//!
//! ```sh
//! MACE_E2E=1 cargo test -p mace -- e2e
//! ```
//!
//! Every test name contains `e2e`, so that filter selects exactly these. A failing test leaves a
//! screenshot, the page source and the server log in `.e2e-artifacts/`. `MACE_E2E_JOBS` caps how
//! many browsers run at once (default 2).

mod admin;
mod assessments;
mod casework;
mod duplicates;
mod harness;
mod intelligence;
mod pages;
mod plans;
mod services;
mod sign_in;
mod steps;
