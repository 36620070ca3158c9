//! Storage for `mace_domain::nrm` over both engines.

use crate::tx::Tx;
use mace_domain::ports::NrmRepo;

impl NrmRepo for Tx {}
