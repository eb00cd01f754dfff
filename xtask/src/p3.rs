//! Problem 3 report: fixed-point inference of the course CIFAR-10 network (crate cifar-infer).
//!
//! Structure: [`run`] loads what every part needs once ([`P3`]: network, test images, ranges),
//! then each part appends its markdown and its `results.json["p3"]` keys:
//! * 3.1 uniform precision — [`section_uniform`];
//! * 3.2 / 3.3 (per-layer precisions from noise gains) — add `section_…` functions next to it and
//!   call them in [`run`] at the marked place.
use crate::plot::{line_chart, Legend, LineChart, Series};
use crate::report::{cached, md_table, Cached, Ctx, Section, XResult};
use cifar_infer::sweep::{uniform_sweep, SweepOptions, SweepResult, Tolerance};
use cifar_infer::{RangeSource, Ranges, Setup, Sources};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Float accuracy printed in the data README (PyTorch, f32, 10,000 test images).
const DATA_README_FL_ACCURACY: f64 = 85.57;
/// Seed comparison values (the worked solution's own training run of the network).
const SEED_FL_ACCURACY: f64 = 86.24;
const SEED_MIN_BITS: u32 = 7;
const SEED_MIN_BITS_ACCURACY: f64 = 85.87;
/// Test images of the quick (smoke) configuration.
const QUICK_IMAGES: usize = 500;

/// What every part of Problem 3 shares.
pub struct P3 {
    /// Network, test images and data folder.
    pub setup: Setup,
    /// Dynamic ranges from the course npy files.
    pub ranges: Ranges,
}

impl P3 {
    fn load(ctx: &Ctx) -> XResult<Self> {
        let setup = Setup::load(&Sources {
            data_dir: ctx.data_dir.clone(),
            cifar: ctx.cifar_dir.clone(),
            limit: ctx.quick.then_some(QUICK_IMAGES),
            ..Default::default()
        })?;
        ctx.step(&match setup.paths.verified_in {
            Some(t) => format!(
                "data: bundled {} (checked against SHA256SUMS in {:.2} s)",
                setup.paths.dir.display(),
                t.as_secs_f64()
            ),
            None => format!(
                "data: {} (your own files, not checked)",
                setup.paths.dir.display()
            ),
        });
        let ranges = setup.ranges(RangeSource::Npy)?;
        Ok(Self { setup, ranges })
    }
}

/// How the report names a data file: relative to the workspace for the bundled data (so the
/// report does not depend on where the clone lives), else its full path.
fn data_file(setup: &cifar_infer::Setup, file: &std::path::Path) -> XResult<String> {
    let root = std::fs::canonicalize(cifar_infer::data::workspace_root())?;
    Ok(match (setup.paths.origin, file.strip_prefix(&root)) {
        (cifar_infer::data::DataOrigin::Bundled, Ok(rel)) => rel.display().to_string(),
        _ => file.display().to_string(),
    })
}

/// Runs Problem 3 and returns its section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p3: loading the network and the test images");
    let p3 = P3::load(ctx)?;
    let mut md = String::from("## Problem 3 — Fixed-point inference of the CIFAR-10 network\n\n");
    md.push_str(&format!(
        "The course network (`cifar-alexnet`: 5 conv + 3 linear layers, 249 M multiply-accumulates \
         per image) with the parameters of `{}`, on the first {} of the CIFAR-10 test images of \
         `{}`{}. Fixed point: each conv/linear \
         layer's weights are quantized signed with B_W bits over r_W, its input with B_A bits over r_A \
         (signed for the image, unsigned after a ReLU), ranges from the course npy files \
         (r_W = {}; r_A = {}), biases in float. Every quantized dot product is computed exactly \
         (integer codes; u8×i8 digits accumulated in i32 with AMX or AVX-512 VNNI, or exact f32/f64 \
         GEMMs), so the accuracies below are those of exact fixed-point arithmetic.\n\n",
        data_file(&p3.setup, &p3.setup.paths.model())?,
        p3.setup.test.len(),
        data_file(&p3.setup, &p3.setup.paths.test_batch()?)?,
        if ctx.quick { " (quick run: not the report's numbers)" } else { "" },
        fxp_core::text::list(p3.ranges.weight.iter().map(|&r| fxp_core::text::short(r, 4))),
        fxp_core::text::list(
            p3.ranges
                .activation
                .iter()
                .map(|&r| fxp_core::text::short(r, 4))
        ),
    ));
    let mut json = Map::new();
    let uniform = section_uniform(ctx, &p3, &mut md, &mut json)?;
    section_profile(ctx, &p3, &uniform, &mut md, &mut json)?;
    Ok(vec![Section {
        id: "p3".into(),
        markdown: md,
        json: Value::Object(json),
    }])
}

fn pct(x: f64) -> String {
    format!("{x:.2} %")
}

/// Problem 3.1: float baseline, uniform sweep B = 2…16, minimum B within 1 percentage point.
/// JSON keys: `fl_accuracy`, `uniform.{sweep, min_bits, accuracy}` (+ details).
pub fn section_uniform(
    ctx: &Ctx,
    p3: &P3,
    md: &mut String,
    json: &mut Map<String, Value>,
) -> XResult<SweepResult> {
    ctx.step("p3: float baseline and uniform sweep B = 2..16");
    let opt = SweepOptions {
        tolerance: Tolerance::Absolute(1.0),
        ..Default::default()
    };
    let t = Instant::now();
    let r: SweepResult = uniform_sweep(
        &p3.setup.model,
        &p3.setup.test,
        &p3.ranges,
        &opt,
        &fxp_cli::Bar::new(false).with_notes(true),
    )?;
    let secs = t.elapsed().as_secs_f64();
    let tol = opt.tolerance.points(r.baseline);
    ctx.step(&format!("p3: sweep done in {secs:.0} s"));

    md.push_str("### 3.1 Float baseline and uniform precision\n\n");
    md.push_str(&md_table(
        &["quantity", "ours", "data README (PyTorch)", "seed"],
        &[
            vec![
                "float accuracy".into(),
                format!("{} ({} / {})", pct(r.baseline), r.baseline_correct, r.n),
                pct(DATA_README_FL_ACCURACY),
                pct(SEED_FL_ACCURACY),
            ],
            vec![
                "minimum uniform B (≤ 1 pp below float)".into(),
                r.min_bits.map_or("none".into(), |b| b.to_string()),
                "—".into(),
                SEED_MIN_BITS.to_string(),
            ],
            vec![
                "accuracy at that B".into(),
                r.min_bits_accuracy.map_or("—".into(), pct),
                "—".into(),
                pct(SEED_MIN_BITS_ACCURACY),
            ],
        ],
    ));
    let collapse = r.min_bits.map_or(String::new(), |b| {
        let below: Vec<String> = r.points.iter().filter(|p| p.bits < b).map(|p| format!("{} bits: {}", p.bits, pct(p.accuracy))).collect();
        format!(" Here accuracy stays within {tol:.0} pp of float from {b} bits up; below it falls ({}).", below.join(", "))
    });
    md.push_str(&format!(
        "\nOur float accuracy {} the data README's PyTorch figure{}. The seed's values come from \
         another training run of the same architecture (the seed's own network, not shipped), so \
         they are comparison values only: its baseline and minimum precision need not match ours.{collapse}\n\n",
        if (r.baseline - DATA_README_FL_ACCURACY).abs() < 0.005 { "reproduces" } else { "differs from" },
        if ctx.quick { " (quick run on a subset: not comparable)" } else { "" },
    ));
    let rows: Vec<Vec<String>> = r
        .points
        .iter()
        .map(|p| {
            vec![
                p.bits.to_string(),
                pct(p.accuracy),
                p.correct.to_string(),
                format!("{:+.2}", p.accuracy - r.baseline),
                if p.within { "yes".into() } else { "no".into() },
            ]
        })
        .collect();
    md.push_str(&md_table(
        &["B", "accuracy", "correct", "vs float (pp)", "within 1 pp"],
        &rows,
    ));
    md.push_str(&format!(
        "\nUniform precision: B_W = B_A = B in every layer; pass threshold {} (float − {tol:.0} pp). \
         Sweep of {} precisions on {} images: {secs:.0} s.\n\n",
        pct(r.threshold),
        r.points.len(),
        r.n
    ));

    let fig = "p3_uniform_accuracy.svg";
    let pts: Vec<(f64, f64)> = r
        .points
        .iter()
        .map(|p| (p.bits as f64, p.accuracy))
        .collect();
    let chart = LineChart::new(
        "Problem 3.1: accuracy vs uniform precision",
        "B (bits)",
        "test accuracy (%)",
    )
    .series(Series::line_markers("fixed point, uniform B", pts))
    .hline(r.baseline, format!("float {:.2} %", r.baseline))
    .band(r.threshold, r.baseline, format!("tolerance {tol:.0} pp"));
    line_chart(&ctx.figure(fig), &chart)?;
    md.push_str(&ctx.figure_link(fig, "Accuracy of exact fixed-point inference vs uniform precision B, with the float baseline and the 1-percentage-point tolerance band"));
    md.push('\n');
    // The same near the baseline, where the tolerance band is visible.
    let zoom = "p3_uniform_accuracy_zoom.svg";
    let near: Vec<(f64, f64)> = r
        .points
        .iter()
        .filter(|p| p.accuracy >= r.threshold - 3.0 * tol)
        .map(|p| (p.bits as f64, p.accuracy))
        .collect();
    if near.len() >= 2 {
        let chart = LineChart::new(
            "Problem 3.1: accuracy near the float baseline",
            "B (bits)",
            "test accuracy (%)",
        )
        .series(Series::line_markers("fixed point, uniform B", near))
        .hline(r.baseline, format!("float {:.2} %", r.baseline))
        .band(r.threshold, r.baseline, format!("tolerance {tol:.0} pp"));
        line_chart(&ctx.figure(zoom), &chart)?;
        md.push_str(&ctx.figure_link(
            zoom,
            "The same, precisions within 3 tolerances of the threshold",
        ));
        md.push('\n');
    }

    json.insert("fl_accuracy".into(), json!(r.baseline));
    json.insert("fl_correct".into(), json!(r.baseline_correct));
    json.insert("n".into(), json!(r.n));
    json.insert(
        "uniform".into(),
        json!({
            "sweep": r.accuracy_map().into_iter().map(|(b, a)| (b.to_string(), json!(a))).collect::<Map<_, _>>(),
            "min_bits": r.min_bits,
            "accuracy": r.min_bits_accuracy,
            "tolerance_pp": tol,
            "threshold": r.threshold,
            "seconds": secs,
        }),
    );
    Ok(r)
}

// ---- Problem 3.2–3.3 and the mismatch bound: the precision profiler (cifar_infer::profile) ----

/// Seed comparison values of Problem 3.2–3.3 (their own trained network): minimum B_min with
/// offsets and its accuracy; costs (representational bits, computational FA in the seed's
/// accumulator convention) of the uniform minimum and of the offsets minimum.
const SEED_OFFSETS: (u32, f64) = (5, 85.96);
const SEED_COST_UNIFORM: (f64, f64) = (2.517e8, 1.85e10);
const SEED_COST_OFFSETS: (f64, f64) = (1.916e8, 2.84e10);

/// The data README's offsets before rounding (course estimator), shown beside ours.
const README_RAW_W: [f64; 8] = [3.856, 4.425, 3.958, 3.874, 3.276, 1.313, 1.533, 3.190];
const README_RAW_A: [f64; 8] = [0.000, 2.467, 3.491, 2.998, 2.924, 1.628, 0.927, 1.221];

/// One estimator's profile with its run time.
type Profiled = Cached<cifar_infer::profile::Profile>;

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A hash of what every calibration computation depends on (contents of the parameter file and
/// of the calibration images, the network description): part of the cache keys. Computed once
/// per run, since it reads about 100 MB.
fn calibration_fingerprint(setup: &cifar_infer::Setup) -> XResult<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::fs::read(setup.paths.model())?.hash(&mut h);
    std::fs::read(setup.paths.calibration_batch()?)?.hash(&mut h);
    serde_json::to_string(&setup.spec)?.hash(&mut h);
    Ok(h.finish())
}

/// The profile of `est` on the first `images` calibration images (cached by its inputs).
fn run_profiler(
    ctx: &Ctx,
    setup: &cifar_infer::Setup,
    fingerprint: u64,
    calib: &cifar_infer::CifarSet,
    ranges: &cifar_infer::Ranges,
    est: cifar_infer::profile::Estimator,
    images: usize,
) -> XResult<Profiled> {
    let name = format!("profile-{}-{images}", est.name());
    let key = (
        fingerprint,
        serde_json::to_string(ranges)?,
        est.name(),
        images,
    );
    cached(ctx, &name, &key, || {
        ctx.step(&format!(
            "profiler: {} estimator on {images} calibration images",
            est.name()
        ));
        let bar = fxp_cli::Bar::new(false);
        let p =
            cifar_infer::profile::profile(&setup.model, calib, ranges, est, Some(images), &bar)?;
        Ok(p)
    })
}

/// The uniform sweep of 3.1 as [`section_uniform`] left it in the JSON.
struct UniformSummary {
    points: Vec<(u32, f64)>,
    min_bits: Option<u32>,
    accuracy: Option<f64>,
    baseline: f64,
    threshold: f64,
}

impl UniformSummary {
    fn from_sweep(r: &SweepResult) -> Self {
        Self {
            points: r.accuracy_map().into_iter().collect(),
            min_bits: r.min_bits,
            accuracy: r.min_bits_accuracy,
            baseline: r.baseline,
            threshold: r.threshold,
        }
    }
}

/// Problems 3.2 and 3.3 and the mismatch bound, from the precision profiler and the uniform
/// `sweep` of [`section_uniform`]. JSON keys: `profiler.<estimator>`, `offsets`, `costs`,
/// `mismatch`.
pub fn section_profile(
    ctx: &Ctx,
    p3: &P3,
    sweep: &SweepResult,
    md: &mut String,
    json: &mut Map<String, Value>,
) -> XResult<()> {
    use cifar_infer::mismatch::mismatch_from_sweep;
    use cifar_infer::offsets::{
        mean_weight_bits, offsets_sweep_against, precisions_at, OffsetSweepOptions,
    };
    use cifar_infer::profile::{Estimator, NPY_FILES};

    let setup = &p3.setup;
    let uniform = UniformSummary::from_sweep(sweep);
    let model = &setup.model;
    let layers = model.num_weight_layers();
    let names = model.weight_layer_names();
    let calib = setup.calibration()?;
    // --- dynamic ranges (whole calibration set) and the two estimators
    ctx.step("profiler: dynamic ranges over the calibration set");
    let batch = cifar_infer::eval::DEFAULT_BATCH;
    let fingerprint = calibration_fingerprint(setup)?;
    let ranges_run = cached(ctx, "ranges", &(fingerprint, batch), || {
        Ok(cifar_infer::Ranges::compute(model, &calib, batch)?)
    })?;
    let ranges = ranges_run.value.clone();
    let (n_course, n_per) = if ctx.quick {
        (500.min(calib.len()), 100.min(calib.len()))
    } else {
        (calib.len(), 1000.min(calib.len()))
    };
    let course = run_profiler(
        ctx,
        setup,
        fingerprint,
        &calib,
        &ranges,
        Estimator::Course,
        n_course,
    )?;
    let per = run_profiler(
        ctx,
        setup,
        fingerprint,
        &calib,
        &ranges,
        Estimator::PerImage,
        n_per,
    )?;
    let matches: Vec<(String, Option<bool>)> = course
        .value
        .npy_files()
        .into_iter()
        .map(|(name, bytes)| {
            (
                name.to_string(),
                std::fs::read(setup.paths.dir.join(name))
                    .ok()
                    .map(|f| f == bytes),
            )
        })
        .collect();

    md.push_str("### 3.2 Per-layer precision from noise gains (the precision profiler)\n\n");
    md.push_str(&format!(
        "`cifar-infer profile` computes what the homework handed out as npy files. **Dynamic ranges**: \
         r_W,l = 2^⌈log2 max|w|⌉ per layer; r_A,l the same over the input of each conv/linear layer on the \
         {} calibration images of `data_batch_1.bin` ({}). **Noise gains** (Sakr et al., ICML 2017) by \
         back-propagation of the logit differences Z_ŷ − Z_i (9 backward passes per image, gradients \
         checked against finite differences in `tests/profile_backprop.rs`): \
         E_A,l = Σ_i≠ŷ Σ_h |∂(Z_ŷ − Z_i)/∂a_h|² / (24 (Z_ŷ − Z_i)²), E_W,l likewise over the weights. \
         Two estimators: **per-image** (the paper's definition, ŷ per image, averaged over {} images, {}) and \
         **course** (the course script's shortcut: logits summed over batches of 500 images before the argmax \
         and the differences, weight gradients summed over the batch before squaring; {} images, {}). \
         **Offsets** round(½·log2(E·r²/m)), m the smallest normalised gain, ties to even.\n\n",
        calib.len(),
        ranges_run.timing(),
        per.value.gains.images,
        per.timing(),
        course.value.gains.images,
        course.timing()
    ));
    let provided = nn_cost::costs::read_offsets_dir(&setup.paths.dir)?;
    let rows: Vec<Vec<String>> = (0..layers)
        .map(|l| {
            let (c, p) = (&course.value, &per.value);
            vec![
                format!("`{}`", names[l]),
                format!("{}", ranges.weight[l]),
                format!("{}", ranges.activation[l]),
                format!("{:.3} / {:.3}", c.offsets.w_raw[l], c.offsets.a_raw[l]),
                format!(
                    "{:.3} / {:.3}",
                    README_RAW_W.get(l).copied().unwrap_or(f64::NAN),
                    README_RAW_A.get(l).copied().unwrap_or(f64::NAN)
                ),
                format!("{} / {}", c.offsets.w[l], c.offsets.a[l]),
                format!("{} / {}", provided.0[l], provided.1[l]),
                format!("{:.3} / {:.3}", p.offsets.w_raw[l], p.offsets.a_raw[l]),
                format!("{} / {}", p.offsets.w[l], p.offsets.a[l]),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &[
            "layer",
            "r_W",
            "r_A",
            "course: raw W / A",
            "data README raw W / A",
            "course: offsets W / A",
            "provided npy W / A",
            "per-image: raw W / A",
            "per-image: offsets W / A",
        ],
        &rows,
    ));
    let gain_rows: Vec<Vec<String>> = (0..layers)
        .map(|l| {
            let (c, p) = (&course.value.gains, &per.value.gains);
            vec![
                format!("`{}`", names[l]),
                crate::report::sci(c.e_w[l]),
                crate::report::sci(c.e_a[l]),
                crate::report::sci(p.e_w[l]),
                crate::report::sci(p.e_a[l]),
            ]
        })
        .collect();
    md.push_str("\nNoise gains (before the normalisation by r²):\n\n");
    md.push_str(&md_table(
        &[
            "layer",
            "course E_W",
            "course E_A",
            "per-image E_W",
            "per-image E_A",
        ],
        &gain_rows,
    ));
    md.push_str("\nByte-for-byte comparison of the files `profile --estimator course --out DIR` writes with the data folder's:\n\n");
    for (name, same) in &matches {
        let s = match same {
            Some(true) => "identical",
            Some(false) => "**different**",
            None => "absent from the data folder",
        };
        md.push_str(&format!("- `{name}`: {s}\n"));
    }
    if ctx.quick {
        md.push_str("\n(quick run: the course estimator on 500 images only, so its offsets need not match the files.)\n");
    }

    // --- B_min sweeps
    let opt = OffsetSweepOptions {
        min_b: 1,
        max_b: if ctx.quick { 6 } else { 8 },
        tolerance: Tolerance::Absolute(uniform.baseline - uniform.threshold),
        ..Default::default()
    };
    let f = |o: &[i64]| o.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let sets: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("provided npy", provided.0.clone(), provided.1.clone()),
        (
            "course estimator",
            f(&course.value.offsets.w),
            f(&course.value.offsets.a),
        ),
        (
            "per-image estimator",
            f(&per.value.offsets.w),
            f(&per.value.offsets.a),
        ),
    ];
    let mut sweeps: Vec<(String, Vec<f64>, Vec<f64>, SweepResult)> = Vec::new();
    for (label, w, a) in sets {
        if let Some(prev) = sweeps.iter().find(|s| s.1 == w && s.2 == a) {
            let r = prev.3.clone();
            sweeps.push((label.to_string(), w, a, r));
            continue;
        }
        ctx.step(&format!("offsets sweep: {label}"));
        // The float baseline of the uniform sweep (same network and images) is reused.
        let base = sweep.baseline_eval();
        let r = offsets_sweep_against(
            model,
            &setup.test,
            &ranges,
            &w,
            &a,
            &opt,
            base,
            &fxp_cli::Bar::new(false),
        )?;
        sweeps.push((label.to_string(), w, a, r));
    }
    md.push_str(&format!(
        "\n**B_min sweep** (B_l = B_min + offset_l, ranges computed as above = the npy files; {} test images, \
         tolerance {:.2} points below the float baseline {:.2} %):\n\n",
        setup.test.len(),
        uniform.baseline - uniform.threshold,
        uniform.baseline
    ));
    let mut header = vec!["B_min".to_string()];
    header.extend(sweeps.iter().map(|s| format!("{} (%)", s.0)));
    let header_refs: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    let rows: Vec<Vec<String>> = (opt.min_b..=opt.max_b)
        .map(|b| {
            let mut r = vec![b.to_string()];
            for s in &sweeps {
                let p = s.3.points.iter().find(|p| p.bits == b);
                r.push(p.map_or("–".into(), |p| {
                    format!("{:.2}{}", p.accuracy, if p.within { "" } else { " ✗" })
                }));
            }
            r
        })
        .collect();
    md.push_str(&md_table(&header_refs, &rows));
    let summary: Vec<Vec<String>> = sweeps
        .iter()
        .map(|(label, w, a, r)| {
            let prec = r.min_bits.and_then(|b| precisions_at(b, w, a, layers).ok());
            vec![
                label.clone(),
                r.min_bits.map_or("none".into(), |b| b.to_string()),
                r.min_bits_accuracy
                    .map_or("–".into(), |a| format!("{a:.2} %")),
                prec.as_ref().map_or("–".into(), |p| {
                    list(&p.iter().map(|x| x.b_w).collect::<Vec<_>>())
                }),
                prec.as_ref().map_or("–".into(), |p| {
                    list(&p.iter().map(|x| x.b_a).collect::<Vec<_>>())
                }),
                prec.as_ref().map_or("–".into(), |p| {
                    format!("{:.2}", mean_weight_bits(model, p))
                }),
            ]
        })
        .collect();
    md.push('\n');
    let mut summary = summary;
    summary.push(vec![
        "seed (their network)".into(),
        SEED_OFFSETS.0.to_string(),
        format!("{:.2} %", SEED_OFFSETS.1),
        "–".into(),
        "–".into(),
        "–".into(),
    ]);
    md.push_str(&md_table(
        &[
            "offsets",
            "min B_min",
            "accuracy",
            "B_W",
            "B_A",
            "mean weight bits",
        ],
        &summary,
    ));
    md.push_str(&format!(
        "\nUniform minimum (3.1) for comparison: {} bits, {}.\n\n",
        uniform.min_bits.map_or("none".into(), |b| b.to_string()),
        uniform.accuracy.map_or("–".into(), |a| format!("{a:.2} %"))
    ));

    // Figure: accuracy vs average bits per weight.
    let mut chart = LineChart::new(
        "Accuracy vs storage: uniform B and B_min + offsets",
        "average bits per weight",
        "test accuracy (%)",
    )
    .legend(Legend::LowerRight)
    .series(Series::line_markers(
        "uniform B",
        uniform
            .points
            .iter()
            .map(|&(b, a)| (f64::from(b), a))
            .collect(),
    ));
    for (label, w, a, r) in &sweeps {
        let pts: Vec<(f64, f64)> = r
            .points
            .iter()
            .filter_map(|p| {
                precisions_at(p.bits, w, a, layers)
                    .ok()
                    .map(|pr| (mean_weight_bits(model, &pr), p.accuracy))
            })
            .collect();
        // The provided npy files are the course estimator's on the full calibration set:
        // markers only, so that a near-identical curve cannot hide them; identical points
        // share one legend entry (plot::line_chart).
        let name = format!("B_min + offsets ({label})");
        chart = chart.series(if label.contains("provided") {
            Series::markers(name, pts)
        } else {
            Series::line_markers(name, pts)
        });
    }
    chart = chart.hline(uniform.baseline, "float baseline").band(
        uniform.threshold,
        uniform.baseline,
        "tolerance",
    );
    line_chart(&ctx.figure("p3_offsets_accuracy.svg"), &chart)?;
    md.push_str(&ctx.figure_link(
        "p3_offsets_accuracy.svg",
        "Accuracy vs average bits per weight",
    ));
    md.push('\n');
    // Per-layer precisions at the minima.
    let mut groups = Vec::new();
    if let Some(b) = uniform.min_bits {
        groups.push((format!("uniform {b}"), vec![f64::from(b); layers]));
    }
    for (label, w, a, r) in &sweeps[..1].iter().chain(&sweeps[2..]).collect::<Vec<_>>() {
        if let Some(p) = r.min_bits.and_then(|b| precisions_at(b, w, a, layers).ok()) {
            groups.push((
                format!("B_W {label}"),
                p.iter().map(|x| f64::from(x.b_w)).collect(),
            ));
            groups.push((
                format!("B_A {label}"),
                p.iter().map(|x| f64::from(x.b_a)).collect(),
            ));
        }
    }
    crate::plot::bar_chart(
        &ctx.figure("p3_layer_precisions.svg"),
        &crate::plot::BarChart {
            title: "Per-layer precision at the minimum".into(),
            x_label: "layer".into(),
            y_label: "bits".into(),
            categories: names.clone(),
            groups,
            log_y: false,
        },
    )?;
    md.push_str(&ctx.figure_link(
        "p3_layer_precisions.svg",
        "Per-layer precisions at the minimum B_min",
    ));
    md.push('\n');

    // --- 3.3 costs
    let table = setup.spec.analyze()?;
    let uni_bits = uniform
        .min_bits
        .ok_or("no uniform precision within the tolerance")?;
    let uni_cost = nn_cost::network_costs(&table, &nn_cost::costs::uniform(uni_bits, layers)?)?;
    let (_, w0, a0, r0) = &sweeps[0];
    let off_b = r0
        .min_bits
        .ok_or("no B_min within the tolerance with the provided offsets")?;
    let off_prec = precisions_at(off_b, w0, a0, layers)?;
    let off_cost = nn_cost::network_costs(&table, &off_prec)?;
    md.push_str(&format!(
        "\n### 3.3 Costs of the two minima\n\nRepresentational cost Σ(R_W B_W + R_A B_A) and computational cost \
         (full adders; accumulator as printed, and the seed's convention (D−1)(B_A+B_W+⌈log2 D⌉), see Problem 2) of \
         the uniform minimum ({uni_bits} bits) and of the offsets minimum (provided offsets, B_min = {off_b}).\n\n"
    ));
    let rows = vec![
        vec![
            format!("uniform {uni_bits} bits"),
            crate::report::sci(uni_cost.rep_bits),
            crate::report::sci(uni_cost.comp_fa_printed),
            crate::report::sci(uni_cost.comp_fa_seed),
            format!(
                "{} / {} (7 bits)",
                crate::report::sci(SEED_COST_UNIFORM.0),
                crate::report::sci(SEED_COST_UNIFORM.1)
            ),
        ],
        vec![
            format!("offsets, B_min = {off_b}"),
            crate::report::sci(off_cost.rep_bits),
            crate::report::sci(off_cost.comp_fa_printed),
            crate::report::sci(off_cost.comp_fa_seed),
            format!(
                "{} / {} (B_min 5, their offsets)",
                crate::report::sci(SEED_COST_OFFSETS.0),
                crate::report::sci(SEED_COST_OFFSETS.1)
            ),
        ],
    ];
    md.push_str(&md_table(
        &[
            "configuration",
            "rep. bits",
            "comp. FA (printed)",
            "comp. FA (seed conv.)",
            "seed: rep. / comp.",
        ],
        &rows,
    ));
    let rep_lower = off_cost.rep_bits < uni_cost.rep_bits;
    let comp_higher = off_cost.comp_fa_seed > uni_cost.comp_fa_seed;
    md.push_str(&format!(
        "\nThe seed concludes that the offsets lower the representational cost but raise the computational cost \
         (its numbers: {} → {} bits, {} → {} FA). On our network: representational cost {} ({} → {}, {:+.1} %), \
         computational cost {} ({} → {}, {:+.1} %, seed convention). The conclusion {}.\n",
        crate::report::sci(SEED_COST_UNIFORM.0),
        crate::report::sci(SEED_COST_OFFSETS.0),
        crate::report::sci(SEED_COST_UNIFORM.1),
        crate::report::sci(SEED_COST_OFFSETS.1),
        if rep_lower { "lower" } else { "not lower" },
        crate::report::sci(uni_cost.rep_bits),
        crate::report::sci(off_cost.rep_bits),
        100.0 * (off_cost.rep_bits / uni_cost.rep_bits - 1.0),
        if comp_higher { "higher" } else { "not higher" },
        crate::report::sci(uni_cost.comp_fa_seed),
        crate::report::sci(off_cost.comp_fa_seed),
        100.0 * (off_cost.comp_fa_seed / uni_cost.comp_fa_seed - 1.0),
        if rep_lower && comp_higher { "holds" } else { "does not hold here" }
    ));

    // --- mismatch bound vs measurement
    let bits: Vec<u32> = if ctx.quick {
        (3..=10).collect()
    } else {
        (2..=12).collect()
    };
    ctx.step("mismatch: fixed point vs float decisions");
    // the uniform sweep's predictions (same npy ranges) give the measured rates: no re-evaluation
    let mm = mismatch_from_sweep(model, &p3.ranges, &per.value.gains, sweep, &bits)?;
    let course_bound: Vec<f64> = bits
        .iter()
        .map(|&b| {
            let p = vec![fxp_core::LayerPrecision { b_w: b, b_a: b }; layers];
            cifar_infer::mismatch::mismatch_bound(model, &ranges, &course.value.gains, &p)
        })
        .collect::<Result<_, _>>()?;
    md.push_str(&format!(
        "\n### Beyond the homework: the mismatch bound\n\nThe analysis bounds the probability that the fixed-point \
         decision differs from the float one: p_m ≤ Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l). Measured: the fraction of the \
         {} test images whose fixed-point (uniform B) prediction differs from the float prediction. Bound with the \
         per-image gains (the paper's estimator; the course estimator's gains are a different quantity, shown for \
         comparison).\n\n",
        setup.test.len()
    ));
    let rows: Vec<Vec<String>> = mm
        .iter()
        .zip(&course_bound)
        .map(|(p, cb)| {
            vec![
                p.bits.to_string(),
                format!("{:.4} ({})", p.measured, p.disagreements),
                crate::report::sci(p.bound),
                crate::report::sci(*cb),
                format!("{:.2}", p.accuracy),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &[
            "B",
            "measured p_m (images)",
            "bound (per-image E)",
            "bound (course E)",
            "accuracy %",
        ],
        &rows,
    ));
    md.push('\n');
    let holds = mm.iter().all(|p| p.measured <= p.bound);
    let course_holds = mm.iter().zip(&course_bound).all(|(p, b)| p.measured <= *b);
    let ratios: Vec<f64> = mm
        .iter()
        .filter(|p| p.measured > 0.0)
        .map(|p| p.bound / p.measured)
        .collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
        (lo.min(r), hi.max(r))
    });
    md.push_str(&format!(
        "\nWith the per-image gains the bound {} at every B measured{}; with the course gains it {} \
         (those gains are not the quantity the bound is about).\n",
        if holds { "holds" } else { "is violated" },
        if ratios.is_empty() {
            String::new()
        } else {
            format!(", loose by a factor {lo:.0}–{hi:.0} where mismatches occur")
        },
        if course_holds { "also holds here" } else { "does not hold" },
    ));
    let floor = 0.5 / setup.test.len() as f64;
    let chart = LineChart::new(
        "Decision mismatch: measured vs bound",
        "uniform precision B (bits)",
        "probability of mismatch",
    )
    .series(Series::line_markers(
        "measured",
        mm.iter()
            .map(|p| (f64::from(p.bits), p.measured.max(floor)))
            .collect(),
    ))
    .series(Series::dashed(
        "bound, per-image gains",
        mm.iter().map(|p| (f64::from(p.bits), p.bound)).collect(),
    ))
    .series(Series::dashed(
        "bound, course gains",
        bits.iter()
            .zip(&course_bound)
            .map(|(&b, &v)| (f64::from(b), v))
            .collect(),
    ))
    .hline(1.0, "p = 1")
    .log_y();
    line_chart(&ctx.figure("p3_mismatch.svg"), &chart)?;
    md.push_str(&ctx.figure_link(
        "p3_mismatch.svg",
        "Measured mismatch vs the bound (zero plotted at half an image)",
    ));
    md.push('\n');

    // --- JSON
    let j = json;
    let prof_json = |p: &Profiled| {
        let pr = &p.value;
        json!({
            "r_w": pr.ranges.weight, "r_a": pr.ranges.activation,
            "w_offsets": pr.offsets.w, "a_offsets": pr.offsets.a,
            "w_raw": pr.offsets.w_raw, "a_raw": pr.offsets.a_raw,
            "e_w": pr.gains.e_w, "e_a": pr.gains.e_a,
            "images": pr.gains.images, "units": pr.gains.units, "seconds": p.seconds,
        })
    };
    j.insert(
        "profiler".into(),
        json!({
            "course": prof_json(&course),
            "per-image": prof_json(&per),
            "matches_data_files": matches.iter().map(|(n, s)| (n.clone(), json!(s))).collect::<Map<_, _>>(),
            "npy_files": NPY_FILES,
        }),
    );
    j.insert(
        "offsets".into(),
        json!({
            "min_b_min": r0.min_bits,
            "accuracy": r0.min_bits_accuracy,
            "sweep": r0.accuracy_map().into_iter().map(|(b, a)| (b.to_string(), json!(a))).collect::<Map<_, _>>(),
            "by_source": sweeps.iter().map(|(label, _, _, r)| (label.clone(), json!({
                "min_b_min": r.min_bits, "accuracy": r.min_bits_accuracy,
                "sweep": r.accuracy_map().into_iter().map(|(b, a)| (b.to_string(), json!(a))).collect::<Map<_, _>>(),
            }))).collect::<Map<_, _>>(),
        }),
    );
    let cost_json = |c: &nn_cost::CostReport| json!({"rep_bits": c.rep_bits, "comp_fa_printed": c.comp_fa_printed, "comp_fa_seed": c.comp_fa_seed});
    j.insert(
        "costs".into(),
        json!({
            "uniform": cost_json(&uni_cost),
            "offsets": cost_json(&off_cost),
            "seed_uniform": {"rep_bits": SEED_COST_UNIFORM.0, "comp_fa_seed": SEED_COST_UNIFORM.1},
            "seed_offsets": {"rep_bits": SEED_COST_OFFSETS.0, "comp_fa_seed": SEED_COST_OFFSETS.1},
        }),
    );
    j.insert(
        "mismatch".into(),
        mm.iter()
            .zip(&course_bound)
            .map(|(p, cb)| {
                (p.bits.to_string(), json!({"measured": p.measured, "bound": p.bound, "bound_course": cb, "disagreements": p.disagreements}))
            })
            .collect::<Map<_, _>>()
            .into(),
    );
    Ok(())
}
