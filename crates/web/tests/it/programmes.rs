//! programmes pages and API tests.
