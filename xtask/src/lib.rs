//! The library side of `cargo xtask`: one module per problem renders its results (markdown,
//! figures, results.json section), plus the report assembly, the plotting helper and the bench.
//! The binary (`main.rs`) only parses the command line and runs the problems in order; the
//! tests (`tests/`) snapshot the results and the rendered report.
pub mod bench;
pub mod design; // issue 17: precision design (after the problems)
pub mod p1;
pub mod p2;
pub mod p3;
pub mod p4;
pub mod p5; // Problems 5, 6 and 7 (crate lms)
pub mod plot;
pub mod report;
// Problem modules: add `pub mod pN;` here and an entry in PROBLEMS in main.rs.
