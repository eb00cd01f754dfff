//! npy arrays (offsets, dynamic ranges): errors, never a panic or an unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nn_cost::npy::parse_f64_vec(data, None);
    let _ = nn_cost::npy::parse_f64_vec(data, Some(8));
});
