//! Storage for `mace_domain::programmes` over both engines.

use crate::tx::Tx;
use mace_domain::ports::ProgrammeRepo;

impl ProgrammeRepo for Tx {}
