//! Storage for `mace_domain::intelligence` over both engines.

use crate::tx::Tx;
use mace_domain::ports::IntelligenceRepo;

impl IntelligenceRepo for Tx {}
