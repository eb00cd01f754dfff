//! `cifar-infer profile`: dynamic ranges, noise gains and per-layer precision offsets
//! (Problem 3.2–3.3, Sakr et al.).
use super::{EstimatorArg, NetworkArgs};
use cifar_infer::eval::DEFAULT_BATCH;
use cifar_infer::profile::profile;
use cifar_infer::InferError;
use fxp_cli::clap::{self, Args};
use fxp_cli::{count_item, outln, print_json, Bar};
use fxp_core::progress::Progress;
use fxp_core::text::{fixed, group};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
#[derive(Args)]
pub(crate) struct ProfileArgs {
    #[command(flatten)]
    pub(crate) net: NetworkArgs,
    /// Calibration images (a CIFAR-10 batch, binary or Python format); default data_batch_1 of
    /// the CIFAR-10 folder.
    #[arg(long, value_name = "FILE")]
    pub(crate) calibration: Option<PathBuf>,
    /// Noise-gain estimator: the paper's per-image definition, or the course script's
    /// (logits summed over batches of 500 images).
    #[arg(long, value_enum, default_value_t = EstimatorArg::PerImage)]
    pub(crate) estimator: EstimatorArg,
    /// Only the first N calibration images for the noise gains (the dynamic ranges always use
    /// the whole calibration set).
    #[arg(long, value_name = "N", alias = "images", value_parser = count_item)]
    pub(crate) calibration_images: Option<usize>,
    /// Write weight/activation_dynamic_range.npy and weight/activation_offsets.npy (float64,
    /// the homework's format) into DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn profile_cmd(a: ProfileArgs) -> Result<(), InferError> {
    if let Some(dir) = &a.out {
        cifar_infer::profile::check_out_dir(dir)?; // before the long computation
    }
    let setup = a.net.load(Some(1))?;
    let calib_path = match a.calibration {
        Some(p) => p,
        None => setup.paths.calibration_batch()?,
    };
    let calib = cifar_infer::CifarSet::load(&calib_path)?;
    let t = Instant::now();
    let pb = Bar::new(a.json);
    pb.begin("dynamic ranges", calib.len() as u64);
    let ranges =
        cifar_infer::Ranges::compute_with_progress(&setup.model, &calib, DEFAULT_BATCH, &pb)?;
    pb.end();
    let ranges_secs = t.elapsed().as_secs_f64();
    let n = a.calibration_images.unwrap_or(calib.len()).min(calib.len());
    let t = Instant::now();
    let p = profile(
        &setup.model,
        &calib,
        &ranges,
        a.estimator.into(),
        Some(n),
        &pb,
    )?;
    let gains_secs = t.elapsed().as_secs_f64();
    if let Some(dir) = &a.out {
        p.write_npy(dir)?;
    }
    // Byte-for-byte comparison with the files of the data folder (the homework's hand-outs,
    // made for the course network: not compared for another network).
    let course_files = if setup.course_network {
        p.npy_files()
    } else {
        Vec::new()
    };
    let matches: serde_json::Map<String, serde_json::Value> = course_files
        .into_iter()
        .map(|(name, bytes)| {
            let same = std::fs::read(setup.paths.dir.join(name))
                .ok()
                .map(|f| f == bytes);
            (name.to_string(), json!(same))
        })
        .collect();
    if a.json {
        let mut v = serde_json::to_value(&p).map_err(|e| InferError::Invalid(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("calibration".into(), json!(calib_path));
            o.insert("calibration_images".into(), json!(calib.len()));
            o.insert("matches_data_files".into(), json!(matches));
            o.insert(
                "unsigned_inputs".into(),
                json!(setup.model.nonnegative_inputs()),
            );
        }
        eprintln!(
            "ranges in {ranges_secs:.1} s, gains in {gains_secs:.1} s on {} thread(s)",
            rayon::current_num_threads()
        );
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
        return Ok(());
    }
    let g = &p.gains;
    let o = &p.offsets;
    outln!(
        "{}: {} estimator on {} images ({} unit(s) averaged, {} tie(s) skipped); ranges over {} images",
        setup.model.name,
        p.estimator.name(),
        group(g.images as u64),
        group(g.units as u64),
        group(g.ties as u64),
        group(calib.len() as u64)
    );
    let signs = super::input_signs(&setup.model);
    let width = p
        .layers
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    outln!(
        "{:>2} {:<width$} {:>8} {:>7} {:>5} {:>11} {:>11} {:>8} {:>8} {:>4} {:>4}",
        "#",
        "layer",
        "input",
        "r_W",
        "r_A",
        "E_W",
        "E_A",
        "W raw",
        "A raw",
        "W",
        "A"
    );
    for (l, (name, sign)) in p.layers.iter().zip(&signs).enumerate() {
        outln!(
            "{:>2} {:<width$} {:>8} {:>7} {:>5} {:>11} {:>11} {:>8} {:>8} {:>4} {:>4}",
            l + 1,
            name,
            sign,
            fxp_core::text::short(p.ranges.weight[l], 4),
            fxp_core::text::short(p.ranges.activation[l], 4),
            fxp_core::text::num(g.e_w[l], 4),
            fxp_core::text::num(g.e_a[l], 4),
            fixed(o.w_raw[l], 3),
            fixed(o.a_raw[l], 3),
            o.w[l],
            o.a[l]
        );
    }
    for (name, same) in &matches {
        let s = match same.as_bool() {
            Some(true) => "identical to",
            Some(false) => "DIFFERENT from",
            None => "absent from",
        };
        outln!("{name}: {s} the data folder's file");
    }
    if let Some(dir) = &a.out {
        outln!("wrote the four npy files to {}", dir.display());
    }
    outln!(
        "ranges {} s, noise gains {} s ({} threads)",
        fixed(ranges_secs, 1),
        fixed(gains_secs, 1),
        rayon::current_num_threads()
    );
    Ok(())
}
