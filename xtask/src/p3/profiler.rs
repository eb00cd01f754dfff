//! Problem 3.2, first half: the noise-gain profiler — method, offsets, gains, and the
//! comparison with the provided npy files.
use super::{sweep_of, timing};
use crate::report::{md_table, sci};
use cifar_infer::problem3::{OffsetSource, Problem3, ProfilerRun};

/// Problem 3.2: the profiler's method, offsets, gains and the npy comparison.
pub(super) fn profiler_part(p: &Problem3) -> String {
    let pr = &p.profiler;
    let (course, per) = (&pr.course, &pr.per_image);
    let mut md =
        String::from("### 3.2 Per-layer precision from noise gains (the precision profiler)\n\n");
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
        pr.ranges_images,
        timing(pr.ranges_seconds, pr.ranges_from_cache),
        per.images,
        timing(per.seconds, per.from_cache),
        course.images,
        timing(course.seconds, course.from_cache)
    ));
    md.push_str(
        "*Unrounded* offsets are ½·log2(E·r²/m) before rounding; the offsets are those values \
         rounded to the nearest integer.\n\n",
    );
    md.push_str(&offsets_table(p));
    md.push_str("\nNoise gains (before the normalisation by r²):\n\n");
    md.push_str(&gains_table(p));
    md.push_str(&npy_comparison(p));
    md
}

fn raw_pair(w: &[f64], a: &[f64], l: usize) -> String {
    let at = |v: &[f64]| v.get(l).copied().unwrap_or(f64::NAN);
    format!("{:.3} / {:.3}", at(w), at(a))
}

/// The sign of a layer's quantized input, as the graph gives it.
fn sign(unsigned: Option<bool>) -> &'static str {
    unsigned.map_or("–", |u| fxp_core::Signedness::for_input(u).name())
}

fn offsets_table(p: &Problem3) -> String {
    let (c, q, r) = (&p.profiler.course, &p.profiler.per_image, &p.reference);
    let provided = sweep_of(p, OffsetSource::ProvidedNpy);
    let rows: Vec<Vec<String>> = (0..p.layers.len())
        .map(|l| {
            vec![
                format!("`{}`", p.layers[l]),
                sign(p.unsigned_inputs.get(l).copied()).into(),
                format!("{}", c.r_w[l]),
                format!("{}", c.r_a[l]),
                raw_pair(&c.w_raw, &c.a_raw, l),
                raw_pair(&r.data_readme_raw_w, &r.data_readme_raw_a, l),
                format!("{} / {}", c.w_offsets[l], c.a_offsets[l]),
                provided.map_or("–".into(), |s| {
                    format!("{} / {}", s.w_offsets[l], s.a_offsets[l])
                }),
                raw_pair(&q.w_raw, &q.a_raw, l),
                format!("{} / {}", q.w_offsets[l], q.a_offsets[l]),
            ]
        })
        .collect();
    md_table(
        &[
            "layer",
            "input",
            "r_W",
            "r_A",
            "course: unrounded W / A",
            "data README: unrounded W / A",
            "course: offsets W / A",
            "provided npy W / A",
            "per-image: unrounded W / A",
            "per-image: offsets W / A",
        ],
        &rows,
    )
}

fn gains_table(p: &Problem3) -> String {
    let (c, q): (&ProfilerRun, &ProfilerRun) = (&p.profiler.course, &p.profiler.per_image);
    let rows: Vec<Vec<String>> = (0..p.layers.len())
        .map(|l| {
            vec![
                format!("`{}`", p.layers[l]),
                sci(c.e_w[l]),
                sci(c.e_a[l]),
                sci(q.e_w[l]),
                sci(q.e_a[l]),
            ]
        })
        .collect();
    md_table(
        &[
            "layer",
            "course E_W",
            "course E_A",
            "per-image E_W",
            "per-image E_A",
        ],
        &rows,
    )
}

fn npy_comparison(p: &Problem3) -> String {
    let pr = &p.profiler;
    let mut md = String::from("\nByte-for-byte comparison of the files `profile --estimator course --out DIR` writes with the data folder's:\n\n");
    for name in &pr.npy_files {
        let s = match pr.matches_data_files.get(name) {
            Some(Some(true)) => "identical",
            Some(Some(false)) => "**different**",
            _ => "absent from the data folder",
        };
        md.push_str(&format!("- `{name}`: {s}\n"));
    }
    if p.settings.quick {
        md.push_str(&format!(
            "\n(quick run: the course estimator on {} images only, so its offsets need not match the files.)\n",
            pr.course.images
        ));
    }
    md
}
