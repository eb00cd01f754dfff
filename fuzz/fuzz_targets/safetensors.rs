//! safetensors files checked against the course network's tensors: errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let expected = [
        cifar_infer::weights::ExpectedTensor { name: "a.weight".into(), shape: vec![2, 3] },
        cifar_infer::weights::ExpectedTensor { name: "a.bias".into(), shape: vec![2] },
    ];
    let _ = cifar_infer::weights::parse_safetensors(data, std::path::Path::new("fuzz.safetensors"), &expected);
});
