//! `cifar-infer sweep`: the uniform precision sweep (Problem 3.1) and `--offsets`, B_min +
//! per-layer offsets (Problem 3.2).
use super::{load, ranges_of, Common};
use cifar_infer::offsets::{offsets_sweep, precisions_at, OffsetSweepOptions};
use cifar_infer::sweep::{uniform_sweep, SweepMode, SweepOptions, Tolerance};
use cifar_infer::{InferError, Setup};
use fxp_cli::clap::{self, Args};
use fxp_cli::{outln, print_json, Bar};
use fxp_core::text::{fixed, group, list, percent};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
#[derive(Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Smallest precision.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub(crate) min_bits: u32,
    /// Largest precision.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub(crate) max_bits: u32,
    /// Tolerance below the float baseline, 0..=100: percentage points, or with --relative
    /// percent of it.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub(crate) tolerance: f64,
    /// Read --tolerance as a percentage of the baseline accuracy (1 → 1 % of it).
    #[arg(long)]
    pub(crate) relative: bool,
    /// Only find the minimum precision, by bisection (assumes accuracy grows with B).
    #[arg(long)]
    pub(crate) bisect: bool,
    /// Problem 3.2: sweep B_min instead, with per-layer precisions B_l = B_min + offset_l read
    /// from DIR/weight_offsets.npy and DIR/activation_offsets.npy (the data folder, or the output
    /// of `profile --out`); --min-bits/--max-bits bound B_min.
    #[arg(long, value_name = "DIR", conflicts_with = "bisect")]
    pub(crate) offsets: Option<PathBuf>,
}

pub(crate) fn sweep(a: SweepArgs) -> Result<(), InferError> {
    let c = &a.common;
    let tolerance = if a.relative {
        Tolerance::Relative(a.tolerance / 100.0)
    } else {
        Tolerance::Absolute(a.tolerance)
    };
    tolerance.check()?; // before loading anything
    if a.min_bits > a.max_bits {
        return Err(InferError::Invalid(format!(
            "--min-bits {} is above --max-bits {}",
            a.min_bits, a.max_bits
        )));
    }
    let setup = load(c, c.images)?;
    let ranges = ranges_of(&setup, c)?;
    if let Some(dir) = &a.offsets {
        return offsets_sweep_cmd(&a, &setup, &ranges, dir, tolerance);
    }
    let opt = SweepOptions {
        min_bits: a.min_bits,
        max_bits: a.max_bits,
        tolerance,
        mode: if a.bisect {
            SweepMode::Bisect
        } else {
            SweepMode::Full
        },
        batch: c.batch,
        policy: c.kernel.into(),
    };
    let t = Instant::now();
    let r = uniform_sweep(&setup.model, &setup.test, &ranges, &opt, &Bar::new(c.json))?;
    let secs = t.elapsed().as_secs_f64();
    if c.json {
        eprintln!("sweep done in {secs:.1} s");
        let v = json!({
            "network": setup.model.name,
            "n": r.n,
            "fl_accuracy": r.baseline,
            "fl_correct": r.baseline_correct,
            "tolerance": r.tolerance,
            "threshold": r.threshold,
            "sweep": r.accuracy_map(),
            "points": r.points,
            "min_bits": r.min_bits,
            "accuracy": r.min_bits_accuracy,
            "stopped_early": r.stopped_early,
        });
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!("{} on {} test images", setup.model.name, group(r.n as u64));
        outln!(
            "float baseline {} ({} correct); pass ≥ {}",
            percent(r.baseline),
            group(r.baseline_correct as u64),
            percent(r.threshold)
        );
        outln!("{:>3}  {:>9}  {:>7}  within", "B", "accuracy", "correct");
        for p in &r.points {
            outln!(
                "{:>3}  {:>9}  {:>7}  {}",
                p.bits,
                percent(p.accuracy),
                group(p.correct as u64),
                if p.within { "yes" } else { "no" }
            );
        }
        if !r.stopped_early.is_empty() {
            outln!(
                "stopped early (cannot pass): B = {}",
                list(&r.stopped_early)
            );
        }
        match (r.min_bits, r.min_bits_accuracy) {
            (Some(b), Some(acc)) => {
                outln!("minimum uniform precision: {b} bits ({})", percent(acc))
            }
            _ => outln!(
                "no precision in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({} s)", fixed(secs, 1));
    }
    Ok(())
}

/// `sweep --offsets DIR`: B_l = B_min + offset_l for B_min in --min-bits..=--max-bits.
pub(crate) fn offsets_sweep_cmd(
    a: &SweepArgs,
    setup: &Setup,
    ranges: &cifar_infer::Ranges,
    dir: &std::path::Path,
    tolerance: Tolerance,
) -> Result<(), InferError> {
    let c = &a.common;
    let (w_off, a_off) = nn_cost::costs::read_offsets_for(dir, setup.model.num_weight_layers())?;
    let opt = OffsetSweepOptions {
        min_b: a.min_bits,
        max_b: a.max_bits,
        tolerance,
        batch: c.batch,
        policy: c.kernel.into(),
    };
    let t = Instant::now();
    let bar = Bar::new(c.json);
    let r = offsets_sweep(
        &setup.model,
        &setup.test,
        ranges,
        &w_off,
        &a_off,
        &opt,
        &bar,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let layers = setup.model.num_weight_layers();
    let at_min = match r.min_bits {
        Some(b) => Some(precisions_at(b, &w_off, &a_off, layers)?),
        None => None,
    };
    if c.json {
        eprintln!("offsets sweep done in {secs:.1} s");
        let v = json!({
            "network": setup.model.name,
            "offsets_dir": dir,
            "w_offsets": w_off,
            "a_offsets": a_off,
            "n": r.n,
            "fl_accuracy": r.baseline,
            "tolerance": r.tolerance,
            "threshold": r.threshold,
            "sweep": r.accuracy_map(),
            "points": r.points,
            "min_b_min": r.min_bits,
            "accuracy": r.min_bits_accuracy,
            "weight_bits": at_min.as_ref().map(|p| p.iter().map(|x| x.b_w).collect::<Vec<_>>()),
            "act_bits": at_min.as_ref().map(|p| p.iter().map(|x| x.b_a).collect::<Vec<_>>()),
        });
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!(
            "{} on {} test images, offsets from {}",
            setup.model.name,
            group(r.n as u64),
            dir.display()
        );
        outln!(
            "weight offsets {}; activation offsets {}",
            fxp_core::text::num_list(w_off.iter().copied(), 4),
            fxp_core::text::num_list(a_off.iter().copied(), 4)
        );
        outln!(
            "float baseline {} ({} correct); pass ≥ {}",
            percent(r.baseline),
            group(r.baseline_correct as u64),
            percent(r.threshold)
        );
        outln!(
            "{:>5}  {:>9}  {:>7}  within",
            "B_min",
            "accuracy",
            "correct"
        );
        for p in &r.points {
            outln!(
                "{:>5}  {:>9}  {:>7}  {}",
                p.bits,
                percent(p.accuracy),
                group(p.correct as u64),
                if p.within { "yes" } else { "no" }
            );
        }
        match (r.min_bits, r.min_bits_accuracy, &at_min) {
            (Some(b), Some(acc), Some(p)) => outln!(
                "minimum B_min: {b} ({}): B_W = {}; B_A = {}",
                percent(acc),
                list(p.iter().map(|x| x.b_w)),
                list(p.iter().map(|x| x.b_a))
            ),
            _ => outln!(
                "no B_min in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({} s)", fixed(secs, 1));
    }
    Ok(())
}
