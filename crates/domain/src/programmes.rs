//! Group programmes: programmes, cohorts, members with eligibility checks, sessions, attendance and outcomes.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait ProgrammeRepo: Send {}
