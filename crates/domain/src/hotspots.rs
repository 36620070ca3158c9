//! Hotspots: incidents with coordinates (intelligence, missing episodes, places of concern) on a
//! grid: counts over time windows, kernel density and Getis-Ord Gi* clusters, with minimum-count
//! suppression outside police roles.

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait HotspotRepo: Send {}
