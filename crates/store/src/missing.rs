//! Storage for `mace_domain::missing` over both engines.

use crate::tx::Tx;
use mace_domain::ports::MissingRepo;

impl MissingRepo for Tx {}
