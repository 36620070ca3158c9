//! Storage for `mace_domain::hotspots` over both engines.

use crate::tx::Tx;
use mace_domain::ports::HotspotRepo;

impl HotspotRepo for Tx {}
