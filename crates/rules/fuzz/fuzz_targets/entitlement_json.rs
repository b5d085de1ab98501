//! Arbitrary bytes into `evaluate_json`: it must never panic, and whatever it accepts must
//! serialise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rules::entitlement::{builtin_policy, evaluate_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(e) = evaluate_json(text, builtin_policy)
    {
        let _ = serde_json::to_vec(&e);
    }
});
