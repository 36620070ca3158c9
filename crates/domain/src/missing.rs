//! Missing episodes: reported missing or absent, found, return home interviews within 72 hours, and pattern alerts that prompt a risk review.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait MissingRepo: Send {}
