//! CIFAR-10 binary batches: any bytes give records or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cifar_infer::data::CifarSet::from_bytes(data, std::path::Path::new("fuzz.bin"));
});
