//! mace's domain: entities, validated newtypes, the ports (repository traits) that storage
//! adapters implement, and the injected clock and id generator.
//!
//! This crate is pure: no SQL, no HTTP, no async runtime. CI checks that it never depends on
//! sqlx, axum or tokio.

pub mod assessment;
pub mod audit;
pub mod authz;
pub mod calendar;
pub mod cases;
pub mod clock;
pub mod dedupe;
pub mod demo;
pub mod drafts;
pub mod error;
pub mod hotspots;
pub mod identifiers;
pub mod identity;
pub mod ids;
pub mod intelligence;
pub mod language;
pub mod linkage;
pub mod matching;
pub mod missing;
pub mod networks;
pub mod nrm;
pub mod person;
pub mod plans;
pub mod ports;
pub mod postcode;
pub mod profile;
pub mod programmes;
pub mod referrals;
pub mod search;
pub mod teams;
pub(crate) mod validate;
pub mod vehicle;

/// Properties of every parser of outside input, checked by unit tests and by the fuzz targets.
#[cfg(any(test, feature = "fuzzing"))]
pub mod properties;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, FieldError, Result};
pub use ids::{IdGen, SequentialIds, UuidV7Ids};

use std::sync::Arc;

/// What every service call carries besides its transaction: the clock and the id generator.
#[derive(Clone)]
pub struct Ctx {
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
}

impl Ctx {
    /// Production context: the system clock and UUIDv7 ids.
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
        }
    }

    pub fn new(clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> Self {
        Self { clock, ids }
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.clock.now())
            .finish()
    }
}
