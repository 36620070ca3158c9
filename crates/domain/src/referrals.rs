//! Service directory and referrals: services with eligibility rules, referrals from a child's record with a chosen minimum set of information (a disclosure), statuses, response-time targets and the service's inbox.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait ReferralRepo: Send {}
