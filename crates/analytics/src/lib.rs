//! Pure analytics for mace: no I/O, no database, no async. The domain crate wraps these with
//! authorisation and storage; the bench crate measures them against their Python peers.
//!
//! - [`graph`]: the report graph (reports and the entities they name), kept up to date one edge
//!   at a time: connected components, neighbourhoods, shortest links, degree, sampled
//!   betweenness, communities (Louvain/Leiden) and the measures used to check them.
//! - [`hotspot`]: incidents on a regular grid: counts, Gaussian kernel density and Getis-Ord Gi*.

pub mod graph;
pub mod hotspot;
