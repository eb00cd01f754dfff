//! ONNX files imported as descriptions and parameters: errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = nn_cost::OnnxNetwork::from_bytes(data, "fuzz") {
        let _ = net.tensors();
    }
});
