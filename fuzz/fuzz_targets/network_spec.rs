//! Network description files: parse, validate and analyze any text without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = nn_cost::NetworkSpec::from_json_str(text) {
            let _ = spec.analyze();
        }
    }
});
