//! The National Referral Mechanism for children who may be trafficked: first responder, submission, reasonable and conclusive grounds decisions with their deadlines, the independent child trafficking guardian, and partnership statistics.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait NrmRepo: Send {}
