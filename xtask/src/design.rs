//! "Beyond the homework: precision design" (issue 17): the budgeted search and the
//! bound-optimal allocation beside the homework's assignments (Pareto fronts of accuracy
//! against each cost), the range-method comparison and the accumulator analysis. The numbers
//! come from [`cifar_infer::search::design::run`]; this module only renders them.
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, sci, Ctx, Section, XResult};
use cifar_infer::quant::accumulators::AccumulatorAnalysis;
use cifar_infer::search::design::{self, DesignSettings, PrecisionDesign};
use cifar_infer::search::study::{Assignment, RangeStudy, SearchStudy};
use cifar_infer::search::CostMetric;
use cifar_infer::Sources;
use fxp_cli::Bar;

/// The settings of `ctx`: the report's, or the quick smoke configuration.
pub fn settings(ctx: &Ctx) -> DesignSettings {
    if ctx.quick {
        DesignSettings::quick()
    } else {
        DesignSettings::full()
    }
}

/// Runs the studies and writes the section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    let sources = Sources {
        data_dir: ctx.data_dir.clone(),
        cifar: ctx.cifar_dir.clone(),
        ..Default::default()
    };
    // Notes on stderr: each result and each stage's wall and CPU time (logs).
    let d = design::run(&sources, &settings(ctx), &Bar::new(false).with_notes(true))?;
    Ok(vec![render(&d, ctx)?])
}

/// The section: markdown (figures written under `ctx.out`) and results.json.
pub fn render(d: &PrecisionDesign, ctx: &Ctx) -> XResult<Section> {
    let mut md = String::from(
        "## Beyond the homework: precision design\n\n\
         What a hardware designer asks next: the cheapest per-layer fixed-point format within an \
         accuracy tolerance, in the cost that matters to the hardware, and what guarantee comes \
         with it (issue 17). Costs: representational (bits), computational (full adders, seed's \
         accumulator), BOPs = Σ MACs·B_W·B_A, and energy from Horowitz's 45 nm figures \
         (`nn_cost::metrics`). Every accuracy is exact fixed point.\n\n\
         **Two answers, two guarantees.** The *searched* assignment removes bits greedily (most \
         cost saved per accuracy point lost) while the exact accuracy on labelled **calibration** \
         images (data_batch_1) stays ≥ float − T, and each step it takes is **validated** on \
         further calibration images, which the greedy's choices never saw: validation accuracy \
         − z·SE ≥ float − T, SE the standard error of the paired accuracy difference to float \
         (McNemar; z = 1.645 gives a one-sided 95 % lower bound); a step the validation \
         refuses is dropped and the search goes on with the other removals. What this covers: \
         the accuracy drop on images drawn like the validation images is at most T with that \
         confidence for one assignment tested; the search tests one per winning step, which \
         weakens it (the last accepted is the one reported), and the validation images are \
         training images (each table gives the float accuracy on them and on test), so the test \
         images, never seen, are the real check (the test column). The *bound-optimal* assignment \
         minimises the cost subject to Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l) ≤ p = T/100 (Lagrangian \
         relaxation, then greedy completion): an analytical bound on the expected decision \
         mismatch under the additive-noise model, with no image evaluated — it needs the noise \
         gains, which the profiler computes for networks without batch norm.\n\n",
    );
    for s in &d.searches {
        md.push_str(&search_md(s, ctx)?);
    }
    md.push_str(&ranges_md(&d.ranges));
    md.push_str(&ranges_md(&d.outlier_ranges));
    for a in &d.accumulators {
        md.push_str(&accumulators_md(a, ctx)?);
    }
    Ok(Section {
        id: "design".into(),
        markdown: md,
        json: serde_json::to_value(d)?,
    })
}

fn pct(a: Option<f64>) -> String {
    a.map_or("—".into(), |a| format!("{a:.2}"))
}

fn bits(a: &Assignment) -> String {
    let w: Vec<String> = a.precisions.iter().map(|p| p.b_w.to_string()).collect();
    let x: Vec<String> = a.precisions.iter().map(|p| p.b_a.to_string()).collect();
    format!("W {} / A {}", w.join(","), x.join(","))
}

fn search_md(s: &SearchStudy, ctx: &Ctx) -> XResult<String> {
    let mut md = format!(
        "### Budgeted search — {}\n\n\
         Float accuracy {:.2} % on {} calibration images (searched on), {:.2} % on the next {} \
         (validation), {:.2} % on {} test images (reported on); tolerance T = {} points, \
         validation margin z = {}; bound budget p = {}.{}\n\n",
        s.network,
        s.float_calibration_accuracy,
        s.calibration_images,
        s.float_validation_accuracy,
        s.validation_images,
        s.float_test_accuracy,
        s.test_images,
        s.settings.tolerance,
        s.settings.z,
        s.budget,
        s.no_bound
            .as_ref()
            .map_or(String::new(), |w| format!(" No bound: {w}.")),
    );
    let mut rows = Vec::new();
    for m in &s.searches {
        let base = m
            .best_baseline
            .as_ref()
            .map_or("none".to_string(), |(l, c)| format!("{l}: {}", sci(*c)));
        let searched = (
            &m.searched,
            m.searched_not_costlier,
            Some(m.searched_within_tolerance_on_test),
        );
        let bound = m.bound_optimal.iter().map(|b| {
            (
                b,
                m.bound_optimal_not_costlier,
                m.bound_optimal_within_tolerance_on_test,
            )
        });
        for (a, not_costlier, within) in std::iter::once(searched).chain(bound) {
            let cost = a.costs.get(m.metric);
            let verdict = match not_costlier {
                Some(true) => "≤ baseline",
                Some(false) => "> baseline",
                None => "—",
            };
            rows.push(vec![
                m.metric.name().to_string(),
                a.label.clone(),
                sci(cost),
                base.clone(),
                verdict.to_string(),
                pct(a.calibration_accuracy),
                match (a.validation_accuracy, a.validation_se) {
                    (Some(v), Some(se)) => format!("{v:.2} ± {se:.2}"),
                    _ => "—".into(),
                },
                format!(
                    "{:.2}{}",
                    a.test_accuracy,
                    match within {
                        Some(true) => " (within T)",
                        Some(false) => " (below float − T)",
                        None => "",
                    }
                ),
                a.bound.map_or("—".into(), sci),
                bits(a),
            ]);
        }
    }
    md.push_str(&md_table(
        &[
            "cost",
            "assignment",
            "its cost",
            "cheapest baseline within T on test",
            "vs baseline",
            "calibration %",
            "validation % ± SE",
            "test %",
            "bound",
            "precisions",
        ],
        &rows,
    ));
    md.push_str(&format!(
        "\nGreedy starts (cheapest baseline within T on calibration and validated), steps taken, \
         winning steps the validation refused (each dropped; the search ends when no removal is \
         left), and exact evaluations (calibration + validation; an assignment \
         another search evaluated is not counted again): {}.\n",
        s.searches
            .iter()
            .map(|m| {
                format!(
                    "{} from {} ({} steps, {} refused; {} + {} evaluations)",
                    m.metric.name(),
                    m.start,
                    m.steps,
                    m.refused_by_validation,
                    m.evaluations,
                    m.validations
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    ));
    md.push_str(&format!(
        "\n**Issue 17's check ({}):** every searched assignment within T on the test images and \
         no costlier than the cheapest baseline within T on test, in its cost: **{}**.\n",
        s.network,
        if s.holds { "holds" } else { "does not hold" }
    ));
    for metric in CostMetric::ALL {
        let name = format!("design_pareto_{}_{}.svg", s.network, metric.name());
        let pts = |v: &[Assignment]| -> Vec<(f64, f64)> {
            v.iter()
                .map(|a| (a.costs.get(metric), a.test_accuracy))
                .collect()
        };
        let searched: Vec<Assignment> = s
            .searches
            .iter()
            .filter(|m| m.metric == metric)
            .map(|m| m.searched.clone())
            .collect();
        let bound: Vec<Assignment> = s
            .searches
            .iter()
            .filter(|m| m.metric == metric)
            .filter_map(|m| m.bound_optimal.clone())
            .collect();
        let mut chart = LineChart::new(
            format!(
                "{}: test accuracy against {} cost",
                s.network,
                metric.name()
            ),
            metric.axis_label(),
            "test accuracy (%)",
        )
        .log_x()
        .series(Series::line_markers("uniform", pts(&s.uniform)))
        .series(Series::markers("searched", pts(&searched)))
        .hline(s.float_test_accuracy - s.settings.tolerance, "float − T");
        for (kind, label) in [
            ("offsets", "B_min + offsets (course npy)"),
            ("offsets-per-image", "B_min + offsets (per-image)"),
        ] {
            let v: Vec<Assignment> = s
                .offsets
                .iter()
                .filter(|a| a.kind == kind)
                .cloned()
                .collect();
            if !v.is_empty() {
                chart = chart.series(Series::line_markers(label, pts(&v)));
            }
        }
        if !bound.is_empty() {
            chart = chart.series(Series::markers("bound-optimal", pts(&bound)));
        }
        line_chart(&ctx.figure(&name), &chart)?;
        md.push_str(&ctx.figure_link(
            &name,
            &format!("{}: accuracy against {} cost", s.network, metric.name()),
        ));
    }
    Ok(md)
}

fn ranges_md(r: &RangeStudy) -> String {
    let mut md = format!(
        "### Range calibration — {}\n\n\
         Batch norm after ReLU and raw 0..255 input. Float {:.2} % on {} test images; ranges \
         from {} calibration images (`max`: the course's 2^⌈log2 max|x|⌉; `percentile:P`: \
         2^⌈log2 Q_P(|x|)⌉; `mse`: per layer and precision, the power-of-two range minimising \
         E[(q(x) − x)²]).\n\n",
        r.network, r.float_accuracy, r.test_images, r.calibration_images
    );
    let mut bits: Vec<u32> = r.rows.iter().map(|x| x.bits).collect();
    bits.dedup();
    let mut methods: Vec<String> = Vec::new();
    for x in &r.rows {
        let m = x.method.to_string();
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let rows: Vec<Vec<String>> = bits
        .iter()
        .map(|&b| {
            let mut row = vec![b.to_string()];
            for m in &methods {
                let acc = r
                    .rows
                    .iter()
                    .find(|x| x.bits == b && &x.method.to_string() == m)
                    .map_or("—".into(), |x| format!("{:.2}", x.accuracy));
                row.push(acc);
            }
            row
        })
        .collect();
    let mut header = vec!["B"];
    header.extend(methods.iter().map(String::as_str));
    md.push_str(&md_table(&header, &rows));
    if let Some(low) = r.rows.iter().find(|x| x.method.to_string() == "mse") {
        md.push_str(&format!(
            "\nPer layer at B = {} with `mse` (chosen range, max range; input noise clipping / \
             granular, mean squared):\n\n",
            low.bits
        ));
        let rows: Vec<Vec<String>> = low
            .ranges
            .layers
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    format!("{} ({})", sci(l.weight_range), sci(l.max_weight_range)),
                    format!(
                        "{} ({})",
                        sci(l.activation_range),
                        sci(l.max_activation_range)
                    ),
                    format!(
                        "{} / {}",
                        sci(l.activation_noise.clipping),
                        sci(l.activation_noise.granular)
                    ),
                ]
            })
            .collect();
        md.push_str(&md_table(
            &["layer", "r_W (max)", "r_A (max)", "input noise clip / gran"],
            &rows,
        ));
    }
    md.push('\n');
    md
}

fn accumulators_md(a: &AccumulatorAnalysis, ctx: &Ctx) -> XResult<String> {
    let mut md = format!(
        "### Accumulators — {}\n\n\
         Uniform 8 bits, max ranges. Widths: assumed by the cost model (B_A + B_W + ⌈log2 D⌉), \
         worst case from the codes (max|k_a|·max_row Σ|k_w|), reached on {} calibration images \
         (final sums, and every partial sum in the saturation order). Accuracy on {} test \
         images with every accumulator cut to W bits: wrap-around (sum modulo 2^W) and \
         saturation (clamped after every addition, in the order input channel, kernel row, \
         kernel column). Exact accumulators: {:.2} %.\n\n",
        a.network, a.calibration_images, a.test_images, a.exact_accuracy
    );
    let rows: Vec<Vec<String>> = a
        .layers
        .iter()
        .map(|l| {
            vec![
                l.name.clone(),
                l.d.to_string(),
                l.assumed_bits.to_string(),
                l.worst_case_bits.to_string(),
                l.reached_bits.to_string(),
                l.reached_partial_bits.to_string(),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &[
            "layer",
            "D",
            "assumed",
            "worst case",
            "reached",
            "reached (partial)",
        ],
        &rows,
    ));
    let rows: Vec<Vec<String>> = a
        .points
        .iter()
        .map(|p| {
            vec![
                p.bits.to_string(),
                format!("{:.2}", p.wrap_accuracy),
                format!("{:.2}", p.saturate_accuracy),
            ]
        })
        .collect();
    md.push('\n');
    md.push_str(&md_table(&["W", "wrap-around %", "saturation %"], &rows));
    let name = format!("design_accumulators_{}.svg", a.network);
    let wrap: Vec<(f64, f64)> = a
        .points
        .iter()
        .map(|p| (p.bits as f64, p.wrap_accuracy))
        .collect();
    let sat: Vec<(f64, f64)> = a
        .points
        .iter()
        .map(|p| (p.bits as f64, p.saturate_accuracy))
        .collect();
    line_chart(
        &ctx.figure(&name),
        &LineChart::new(
            format!(
                "{}: accuracy with W-bit accumulators (8-bit codes)",
                a.network
            ),
            "accumulator width W (bits)",
            "test accuracy (%)",
        )
        .series(Series::line_markers("wrap-around", wrap))
        .series(Series::line_markers("saturation", sat))
        .hline(a.exact_accuracy, "exact"),
    )?;
    md.push_str(&ctx.figure_link(
        &name,
        &format!("{}: wrap-around against saturation", a.network),
    ));
    Ok(md)
}
