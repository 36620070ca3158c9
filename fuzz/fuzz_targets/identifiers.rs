//! Fuzz target: `mace_domain::properties::identifier` (every identifier kind through
//! `identifiers::parse`, and `identifiers::recognise`). The first byte picks the kind; the
//! rest is the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mace_domain::properties;

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Err(broken) = properties::identifier(*kind, text) {
            panic!("property broken: {broken}");
        }
    }
});
