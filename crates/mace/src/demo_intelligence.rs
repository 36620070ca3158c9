//! Demo data for `mace_domain::intelligence` (synthetic, never graphic), loaded once on first start.

use anyhow::Result;
use mace_domain::Ctx;
use mace_domain::audit::ChainKey;
use mace_store::Store;

pub async fn load(_store: &Store, _ctx: &Ctx, _key: &ChainKey) -> Result<()> {
    Ok(())
}
