//! The injected id generator. Keys are UUIDv7: time-ordered, so B-tree inserts stay local.

use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

pub trait IdGen: Send + Sync + 'static {
    fn new_id(&self) -> Uuid;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Ids;

impl IdGen for UuidV7Ids {
    #[allow(clippy::disallowed_methods)] // the one production source of ids
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Deterministic, increasing ids for tests: version-7 layout with a counter in place of time.
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl SequentialIds {
    pub fn new() -> Self {
        Self {
            next: AtomicU64::new(1),
        }
    }
}

impl IdGen for SequentialIds {
    fn new_id(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_custom_bytes(bytes)
            .with_version(uuid::Version::SortRand)
            .into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_ordered_and_distinct() {
        let g = SequentialIds::new();
        let a = g.new_id();
        let b = g.new_id();
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
    }

    #[test]
    fn v7_ids_are_version_7() {
        assert_eq!(UuidV7Ids.new_id().get_version_num(), 7);
    }
}
