//! referrals tests (both engines where storage is involved).
