//! Partner intelligence to police: submissions from any professional (structured persons,
//! vehicles, phones, places, handles and businesses, with free text, linked to children), the
//! submitter's receipt and status, police grading on the 3x5x2 model, sanitised sharing as the
//! handling code allows, and linking what a report names to resolved entities.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait IntelligenceRepo: Send {}
