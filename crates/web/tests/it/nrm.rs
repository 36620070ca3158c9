//! nrm pages and API tests.
