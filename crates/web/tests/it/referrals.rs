//! referrals pages and API tests.
