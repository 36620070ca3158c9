//! Networks: the graph of intelligence reports and the entities they name, kept up to date as
//! reports are linked, with components, central persons, communities, shortest links,
//! neighbourhoods and emerging-network alerts (rules police users tune).

use crate::Ctx;
use crate::error::Result;
use uuid::Uuid;

/// Storage for this module (implemented for both engines in `mace-store`).
pub trait NetworkRepo: Send {}

/// Called by `intelligence` in the same transaction, after police link a report's entities:
/// evaluates the emerging-network alert rules for the entities the report touches.
pub async fn after_linking<R: NetworkRepo + crate::ports::AuditLog>(
    _ctx: &Ctx,
    _tx: &mut R,
    _report_id: Uuid,
) -> Result<()> {
    Ok(())
}
