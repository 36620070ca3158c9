//! missing pages and API tests.
