//! Storage for `mace_domain::referrals` over both engines.

use crate::tx::Tx;
use mace_domain::ports::ReferralRepo;

impl ReferralRepo for Tx {}
