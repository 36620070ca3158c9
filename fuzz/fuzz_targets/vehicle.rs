//! Fuzz target: `mace_domain::properties::vehicle` over any UTF-8 input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mace_domain::properties;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(broken) = properties::vehicle(text) {
            panic!("property broken: {broken}");
        }
    }
});
