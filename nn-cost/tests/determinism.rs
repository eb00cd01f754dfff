//! The `nn-cost` binary: its JSON output is identical across runs and thread counts, and bad
//! input is a clear error naming the problem (issue 9). The cost model has no random work.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use support::{assert_deterministic, assert_rejected};

const BIN: &str = env!("CARGO_BIN_EXE_nn-cost");

#[test]
fn json_is_identical_across_runs_and_thread_counts() {
    for net in ["resnet18", "vgg11", "cifar-alexnet"] {
        assert_deterministic(BIN, &["--net", net, "--bits", "8", "--json"]);
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    assert_rejected(BIN, &["--net", "nope"], &["nope", "resnet18"]);
    assert_rejected(BIN, &["--spec", "missing.json"], &["missing.json"]);
    assert_rejected(BIN, &["--net", "vgg11", "--bits", "0"], &["0 bits"]);
    assert_rejected(BIN, &["--net", "vgg11", "--bits", "40"], &["40 bits"]);
    // A negative number reaches the value parser (not "unexpected argument").
    assert_rejected(BIN, &["--net", "vgg11", "--bits", "-3"], &["--bits", "-3"]);
    assert_rejected(BIN, &[], &["--net"]);
}
