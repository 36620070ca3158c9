//! Storage for `mace_domain::networks` over both engines.

use crate::tx::Tx;
use mace_domain::ports::NetworkRepo;

impl NetworkRepo for Tx {}
