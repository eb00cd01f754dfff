//! `cifar-infer bench`: images per second of the float and quantized evaluations.
use super::{load, ranges_of, Common};
use cifar_infer::{bench, InferError};
use fxp_cli::clap::{self, Args};
use fxp_cli::{bits_item, outln, print_json, Bar};
use fxp_core::text::{fixed, group, list};
#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Uniform precisions to time, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = bits_item,
          default_values_t = [4u32, 6, 8, 12])]
    pub(crate) bits: Vec<u32>,
}

/// Test images of `bench` when --images is not given.
pub(crate) const BENCH_IMAGES: usize = 1000;

pub(crate) fn bench_cmd(a: BenchArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, Some(c.images.unwrap_or(BENCH_IMAGES)))?;
    let ranges = ranges_of(&setup, c)?;
    let bits = a.bits.clone();
    if !c.json {
        eprintln!(
            "timing float and B = {} on {} images ...",
            list(&bits),
            group(setup.test.len() as u64)
        );
    }
    let r = bench::run_with_progress(
        &setup.model,
        &setup.test,
        &ranges,
        &bits,
        c.batch,
        c.kernel.into(),
        &Bar::new(c.json),
    )?;
    if c.json {
        print_json(&r).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!(
            "{} threads, integer kernel: {}, batch {}",
            r.threads,
            serde_json::to_value(r.simd)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "unknown".into()),
            r.batch
        );
        outln!(
            "{:>7}  {:>8}  {:>9}  {:>9}  {:>8}  paths",
            "config",
            "images",
            "seconds",
            "images/s",
            "acc %"
        );
        for row in &r.rows {
            let paths: Vec<String> = row
                .paths
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok())
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            outln!(
                "{:>7}  {:>8}  {:>9}  {:>9}  {:>8}  {}",
                row.config,
                group(row.images as u64),
                fixed(row.seconds, 2),
                fixed(row.images_per_s, 1),
                fixed(row.accuracy, 2),
                list(paths)
            );
        }
    }
    Ok(())
}
