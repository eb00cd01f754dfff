//! The noise-gain estimators (per image, the course's batches), the offsets derived from the
//! gains and ranges, and [`profile`]: the whole profiler run with its npy files.
use super::backprop::{conv_weight_grad_sq_norms, dot64, gemm, positions, sum_sq, Mat};
use super::passes::{
    argmax, backward, check_profilable, difference_seeds, forward, Forward, LayerInput,
};
use super::sparse;
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::net::model::Model;
use crate::net::ops::ConvGeom;
use crate::quant::quantized::Ranges;
use fxp_core::progress::Progress;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Images per batch of the course estimator.
pub const COURSE_BATCH: usize = 500;
/// Images per work unit inside a course batch (fixed, so results do not depend on threads).
pub const COURSE_CHUNK: usize = 20;
/// Images per work unit of the per-image estimator (linear layers run as one GEMM per unit).
pub const PER_IMAGE_CHUNK: usize = 10;

/// The estimator of the noise gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// The paper's definition: ŷ and the logit differences per image, averaged over images.
    PerImage,
    /// The course script: logits summed over batches of 500 images (file order) before the
    /// argmax and the differences, averaged over batches.
    Course,
}

impl Estimator {
    /// Both estimators.
    pub const ALL: [Estimator; 2] = [Estimator::PerImage, Estimator::Course];
    /// `per-image` or `course`.
    pub fn name(self) -> &'static str {
        match self {
            Estimator::PerImage => "per-image",
            Estimator::Course => "course",
        }
    }
}

/// Noise gains of every conv/linear layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gains {
    /// `E_W,l`.
    pub e_w: Vec<f64>,
    /// `E_A,l`.
    pub e_a: Vec<f64>,
    /// Units averaged over (images for `PerImage`, batches for `Course`).
    pub units: usize,
    /// Images used.
    pub images: usize,
    /// Pairs skipped because `Z_ŷ = Z_i` exactly (an infinite term).
    pub ties: usize,
}

/// Per-seed squared gradient norms of one unit: `[layer][seed]`.
#[derive(Debug, Clone)]
struct SqNorms {
    act: Vec<Vec<f64>>,
    wt: Vec<Vec<f64>>,
}

impl SqNorms {
    fn zeros(layers: usize, seeds: usize) -> Self {
        SqNorms {
            act: vec![vec![0.0; seeds]; layers],
            wt: vec![vec![0.0; seeds]; layers],
        }
    }
}

fn seed_norms(grad: &[f32], seeds: usize) -> Vec<f64> {
    grad.chunks_exact(grad.len() / seeds).map(sum_sq).collect()
}

/// Squared norms of `∂(Z_ŷ − Z_i)/∂a` and `∂(Z_ŷ − Z_i)/∂W` of each image of a chunk for every
/// layer and every `i ≠ ŷ` of that image (`tops[j]` = ŷ of image `j`).
fn per_image_sq_norms(model: &Model, fwd: &Forward, tops: &[usize]) -> Vec<SqNorms> {
    let seeds = model.classes - 1;
    let n = fwd.images;
    let mut out = vec![SqNorms::zeros(model.num_weight_layers(), seeds); n];
    let rows: Vec<f32> = tops
        .iter()
        .flat_map(|&t| difference_seeds(model.classes, t))
        .collect();
    backward(model, fwd, &rows, seeds, |lg| {
        let gi_len = lg.grad_in.len() / n;
        let go_len = lg.grad_out.len() / n;
        for (j, o) in out.iter_mut().enumerate() {
            let gi = &lg.grad_in[j * gi_len..][..gi_len];
            let go = &lg.grad_out[j * go_len..][..go_len];
            // Added up over the groups of a grouped convolution (one term otherwise).
            let wt = match lg.input {
                LayerInput::Conv { geom, cols } => {
                    conv_weight_grad_sq_norms(&geom, &cols[j], go, seeds)
                }
                // ‖g xᵀ‖² = ‖g‖²·‖x‖².
                LayerInput::Linear { input } => {
                    let in_f = input.len() / n;
                    let xx = sum_sq(&input[j * in_f..][..in_f]);
                    seed_norms(go, seeds).into_iter().map(|v| v * xx).collect()
                }
            };
            add_to(&mut o.act[lg.layer], seed_norms(gi, seeds));
            add_to(&mut o.wt[lg.layer], wt);
        }
    });
    out
}

/// `acc += v` element-wise.
fn add_to(acc: &mut [f64], v: Vec<f64>) {
    for (a, v) in acc.iter_mut().zip(v) {
        *a += v;
    }
}

/// `Σ_{i≠ŷ} norms[i] / (24 (Z_ŷ − Z_i)²)`, skipping exact ties; returns (sum, ties).
fn weigh(norms: &[f64], z: &[f64], top: usize) -> (f64, usize) {
    let mut sum = 0.0;
    let mut ties = 0;
    for (v, i) in norms.iter().zip((0..z.len()).filter(|&i| i != top)) {
        let d = z[top] - z[i];
        if d == 0.0 {
            ties += 1;
        } else {
            sum += v / (24.0 * d * d);
        }
    }
    (sum, ties)
}

/// Per-layer `E_A` and `E_W` terms of one unit, and its ties.
type UnitGains = (Vec<f64>, Vec<f64>, usize);

/// Per-layer `E_A` and `E_W` terms of one unit from its squared norms and logits.
fn unit_gains(n: &SqNorms, z: &[f64], top: usize) -> UnitGains {
    let mut ties = 0;
    let mut ea = Vec::with_capacity(n.act.len());
    let mut ew = Vec::with_capacity(n.act.len());
    for (a, w) in n.act.iter().zip(&n.wt) {
        let (ga, t) = weigh(a, z, top);
        ties = ties.max(t);
        ea.push(ga);
        ew.push(weigh(w, z, top).0);
    }
    (ea, ew, ties)
}

/// Noise gains over the first `images` images of `inputs` (preprocessed, `in_len` each, file
/// order) with the given estimator. `progress` advances by the images finished (the caller
/// begins and ends the phase).
///
/// # Errors
/// A network the profiler cannot differentiate ([`check_profilable`]), no images or an input
/// of the wrong length.
pub fn noise_gains(
    model: &Model,
    inputs: &[f32],
    estimator: Estimator,
    progress: &dyn Progress,
) -> Result<Gains> {
    check_profilable(model)?;
    let n = check_inputs(model, inputs)?;
    match estimator {
        Estimator::PerImage => Ok(per_image_gains(model, inputs, n, progress)),
        Estimator::Course => Ok(course_gains(model, inputs, n, progress)),
    }
}

fn check_inputs(model: &Model, inputs: &[f32]) -> Result<usize> {
    if !inputs.len().is_multiple_of(model.input_len()) {
        return Err(InferError::Invalid(format!(
            "profiler input of {} values is not a whole number of images of {} values",
            inputs.len(),
            model.input_len()
        )));
    }
    let n = inputs.len() / model.input_len();
    if n == 0 {
        return Err(InferError::Invalid(
            "the profiler needs at least one image".into(),
        ));
    }
    Ok(n)
}

fn per_image_gains(model: &Model, inputs: &[f32], n: usize, progress: &dyn Progress) -> Gains {
    let per: Vec<Vec<UnitGains>> = inputs
        .par_chunks(PER_IMAGE_CHUNK * model.input_len())
        .map(|chunk| {
            let fwd = forward(model, chunk);
            let zs: Vec<Vec<f64>> = fwd
                .logits
                .chunks_exact(model.classes)
                .map(|z| z.iter().map(|&v| f64::from(v)).collect())
                .collect();
            let tops: Vec<usize> = zs.iter().map(|z| argmax(z)).collect();
            let norms = per_image_sq_norms(model, &fwd, &tops);
            progress.advance(fwd.images as u64);
            norms
                .iter()
                .zip(&zs)
                .zip(&tops)
                .map(|((nm, z), &t)| unit_gains(nm, z, t))
                .collect()
        })
        .collect();
    let layers = model.num_weight_layers();
    let (mut e_a, mut e_w, mut ties) = (vec![0.0; layers], vec![0.0; layers], 0);
    for (a, w, t) in per.iter().flatten() {
        for l in 0..layers {
            e_a[l] += a[l];
            e_w[l] += w[l];
        }
        ties += t;
    }
    for v in e_a.iter_mut().chain(e_w.iter_mut()) {
        *v /= n as f64;
    }
    Gains {
        e_w,
        e_a,
        units: n,
        images: n,
        ties,
    }
}

/// Accumulated gradients of one chunk of a course batch.
struct ChunkAcc {
    /// Σ over the chunk's images of the per-seed squared activation-gradient norms `[layer][seed]`.
    act: Vec<Vec<f64>>,
    /// Conv layers: Σ_n grad_out_n · cols_nᵀ, `seeds·C_out × K`, per group (None for linear
    /// layers).
    conv: Vec<Option<Vec<Vec<f32>>>>,
    /// Linear layers: per seed, the rows `grad_out_{n,s}` of the chunk's images (`images×out`).
    lin_grad: Vec<Vec<Vec<f32>>>,
    /// Linear layers: the inputs of the chunk's images (`images×in`).
    lin_input: Vec<Vec<f32>>,
}

/// The gradients of one chunk of a course batch from its forward pass (kept from the batch's
/// logits, so the forward runs once per image).
fn course_chunk(model: &Model, fwd: &Forward, top: usize, progress: &dyn Progress) -> ChunkAcc {
    let layers = model.num_weight_layers();
    let seeds = model.classes - 1;
    let count = fwd.images;
    let seed_rows = difference_seeds(model.classes, top).repeat(count);
    let mut act = vec![vec![0.0; seeds]; layers];
    // Conv layers: Σ_n grad_out_n · cols_nᵀ per group.
    let mut conv: Vec<Option<Vec<Vec<f32>>>> = vec![None; layers];
    let mut lin_grad: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); seeds]; layers];
    let mut lin_input: Vec<Vec<f32>> = vec![Vec::new(); layers];
    backward(model, fwd, &seed_rows, seeds, |lg| {
        let l = lg.layer;
        // Images in file order: the per-image norms are summed in a fixed order.
        for gi in lg.grad_in.chunks_exact(lg.grad_in.len() / count) {
            for (a, v) in act[l].iter_mut().zip(seed_norms(gi, seeds)) {
                *a += v;
            }
        }
        let go_len = lg.grad_out.len() / count;
        match lg.input {
            LayerInput::Conv { geom, cols } => {
                let groups = conv[l].get_or_insert_with(Vec::new);
                groups.push(conv_weight_grad_sum(&geom, cols, lg.grad_out, seeds));
            }
            LayerInput::Linear { input } => {
                let out = go_len / seeds;
                for go in lg.grad_out.chunks_exact(go_len) {
                    for (s, rows) in lin_grad[l].iter_mut().enumerate() {
                        rows.extend_from_slice(&go[s * out..][..out]);
                    }
                }
                lin_input[l].extend_from_slice(input);
            }
        }
    });
    progress.advance(count as u64);
    ChunkAcc {
        act,
        conv,
        lin_grad,
        lin_input,
    }
}

/// `Σ_n grad_out_n · cols_nᵀ` (`seeds·C_out × K`) over the images of a chunk: from the entries
/// ReLU and max-pooling leave nonzero when they are few ([`sparse`]), else as one GEMM over the
/// images side by side (`(seeds·C_out × n·P) · (n·P × K)`).
fn conv_weight_grad_sum(
    geom: &ConvGeom,
    cols: &[Vec<f32>],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    let (p, d, o) = (positions(geom), geom.d(), geom.out_c);
    let count = cols.len();
    let (masks, active): (Vec<Vec<bool>>, Vec<usize>) = grad_out
        .chunks_exact(seeds * o * p)
        .map(|g| sparse::active_mask(g, seeds, o * p))
        .unzip();
    if sparse::worth_sparse(active.iter().sum(), count * o * p) {
        return sparse::conv_weight_grad_masked(d, o, p, cols, grad_out, seeds, &masks);
    }
    // Row r of the stacked matrices: row r of every image, side by side.
    let gos: Vec<&[f32]> = grad_out.chunks_exact(seeds * o * p).collect();
    let cg = stack_rows(&gos, seeds * o, p);
    let xs: Vec<&[f32]> = cols.iter().map(Vec::as_slice).collect();
    let cx = stack_rows(&xs, d, p);
    let width = count * p;
    let mut acc = vec![0.0f32; seeds * o * d];
    gemm(
        Mat::new(&cg, seeds * o, width),
        Mat::new(&cx, d, width).t(),
        0.0,
        &mut acc,
    );
    acc
}

/// The matrix whose row `r` is row `r` of each of the `rows × cols` matrices `mats`, side by
/// side: `rows × (mats.len()·cols)`.
fn stack_rows(mats: &[&[f32]], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * cols * mats.len());
    for r in 0..rows {
        for m in mats {
            out.extend_from_slice(&m[r * cols..][..cols]);
        }
    }
    out
}

/// `‖Σ_n g_n x_nᵀ‖² = Σ_{n,m} (g_n·g_m)(x_n·x_m)` from the rows `g` (`n×out`) and the Gram
/// matrix `xx` (`n×n`) of the inputs.
fn outer_sum_sq_norm(g: &[f32], out: usize, xx: &[f32], n: usize) -> f64 {
    let mut gg = vec![0.0f32; n * n];
    let gm = Mat::new(g, n, out);
    gemm(gm, gm.t(), 0.0, &mut gg);
    dot64(&gg, xx)
}

fn course_gains(model: &Model, inputs: &[f32], n: usize, progress: &dyn Progress) -> Gains {
    let layers = model.num_weight_layers();
    let seeds = model.classes - 1;
    let in_len = model.input_len();
    let (mut e_a, mut e_w) = (vec![0.0; layers], vec![0.0; layers]);
    let mut ties = 0;
    let mut batches = 0;
    for batch in inputs.chunks(COURSE_BATCH * in_len) {
        let b = batch.len() / in_len;
        // Pass 1: the forward passes of the batch's chunks (in parallel; kept for pass 2) and
        // the batch-summed logits (summed in file order).
        let fwds: Vec<Forward> = batch
            .par_chunks(COURSE_CHUNK * in_len)
            .map(|chunk| forward(model, chunk))
            .collect();
        let mut z = vec![0.0f64; model.classes];
        for row in fwds
            .iter()
            .flat_map(|f| f.logits.chunks_exact(model.classes))
        {
            for (zi, &v) in z.iter_mut().zip(row) {
                *zi += f64::from(v);
            }
        }
        let top = argmax(&z);
        // Pass 2: gradients of the differences, chunks in parallel, reduced in chunk order.
        let n_chunks = fwds.len();
        let wave = rayon::current_num_threads().max(1);
        let mut act = vec![vec![0.0f64; seeds]; layers];
        let mut conv: Vec<Option<Vec<Vec<f32>>>> = vec![None; layers];
        let mut lin_grad: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); seeds]; layers];
        let mut lin_input: Vec<Vec<f32>> = vec![Vec::new(); layers];
        for w0 in (0..n_chunks).step_by(wave) {
            let accs: Vec<ChunkAcc> = (w0..(w0 + wave).min(n_chunks))
                .into_par_iter()
                .map(|c| course_chunk(model, &fwds[c], top, progress))
                .collect();
            for acc in accs {
                for l in 0..layers {
                    for (a, v) in act[l].iter_mut().zip(&acc.act[l]) {
                        *a += v;
                    }
                    if let Some(c) = &acc.conv[l] {
                        match &mut conv[l] {
                            Some(sum) => {
                                for (sg, cg) in sum.iter_mut().zip(c) {
                                    sg.iter_mut().zip(cg).for_each(|(s, v)| *s += v);
                                }
                            }
                            None => conv[l] = Some(c.clone()),
                        }
                    }
                    for (dst, src) in lin_grad[l].iter_mut().zip(&acc.lin_grad[l]) {
                        dst.extend_from_slice(src);
                    }
                    lin_input[l].extend_from_slice(&acc.lin_input[l]);
                }
            }
        }
        // Squared norms of the batch's weight gradients per layer and seed.
        let wt: Vec<Vec<f64>> = (0..layers)
            .map(|l| match &conv[l] {
                // Per seed, added up over the groups (one group: its value as is).
                Some(groups) => (0..seeds)
                    .map(|s| {
                        groups
                            .iter()
                            .map(|g| sum_sq(&g[s * (g.len() / seeds)..][..g.len() / seeds]))
                            .reduce(|a, b| a + b)
                            .unwrap_or(0.0)
                    })
                    .collect(),
                None => {
                    let in_f = lin_input[l].len() / b;
                    let xm = Mat::new(&lin_input[l], b, in_f);
                    let mut xx = vec![0.0f32; b * b];
                    gemm(xm, xm.t(), 0.0, &mut xx);
                    lin_grad[l]
                        .par_iter()
                        .map(|g| outer_sum_sq_norm(g, g.len() / b, &xx, b))
                        .collect()
                }
            })
            .collect();
        let (ea, ew, t) = unit_gains(&SqNorms { act, wt }, &z, top);
        for l in 0..layers {
            e_a[l] += ea[l];
            e_w[l] += ew[l];
        }
        ties += t;
        batches += 1;
    }
    for v in e_a.iter_mut().chain(e_w.iter_mut()) {
        *v /= batches as f64;
    }
    Gains {
        e_w,
        e_a,
        units: batches,
        images: n,
        ties,
    }
}

/// Per-layer precision offsets and the values before rounding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offsets {
    /// Weight offsets `round(½·log2(E_W,l r_W,l² / m))`.
    pub w: Vec<i64>,
    /// Activation offsets.
    pub a: Vec<i64>,
    /// Weight offsets before rounding.
    pub w_raw: Vec<f64>,
    /// Activation offsets before rounding.
    pub a_raw: Vec<f64>,
    /// Normalised weight gains `E_W,l r_W,l²`.
    pub w_gain: Vec<f64>,
    /// Normalised activation gains `E_A,l r_A,l²`.
    pub a_gain: Vec<f64>,
}

/// Offsets from the gains and ranges (NOTES.md): `m` = the smallest normalised gain of all
/// layers, weights and activations; ties of the rounding go to even (`numpy.round`).
///
/// # Errors
/// A normalised gain that is zero, negative or not finite.
pub fn offsets(gains: &Gains, ranges: &Ranges) -> Result<Offsets> {
    if ranges.weight.len() != gains.e_w.len() || ranges.activation.len() != gains.e_a.len() {
        return Err(InferError::Invalid(format!(
            "{} weight and {} activation ranges for {} layers",
            ranges.weight.len(),
            ranges.activation.len(),
            gains.e_w.len()
        )));
    }
    let w_gain: Vec<f64> = gains
        .e_w
        .iter()
        .zip(&ranges.weight)
        .map(|(e, r)| e * r * r)
        .collect();
    let a_gain: Vec<f64> = gains
        .e_a
        .iter()
        .zip(&ranges.activation)
        .map(|(e, r)| e * r * r)
        .collect();
    for (what, v) in w_gain
        .iter()
        .enumerate()
        .map(|(l, v)| (format!("weights of layer {}", l + 1), v))
        .chain(
            a_gain
                .iter()
                .enumerate()
                .map(|(l, v)| (format!("activations of layer {}", l + 1), v)),
        )
    {
        if !(v.is_finite() && *v > 0.0) {
            return Err(InferError::Invalid(format!(
                "the normalised noise gain of the {what} is {v}; offsets need gains > 0"
            )));
        }
    }
    let m = w_gain
        .iter()
        .chain(&a_gain)
        .copied()
        .fold(f64::INFINITY, f64::min);
    let raw = |g: &[f64]| -> Vec<f64> { g.iter().map(|v| 0.5 * (v / m).log2()).collect() };
    let (w_raw, a_raw) = (raw(&w_gain), raw(&a_gain));
    let round = |r: &[f64]| -> Vec<i64> { r.iter().map(|v| v.round_ties_even() as i64).collect() };
    Ok(Offsets {
        w: round(&w_raw),
        a: round(&a_raw),
        w_raw,
        a_raw,
        w_gain,
        a_gain,
    })
}

/// File names of the four course npy files the profiler writes (as the homework hands them out).
pub const NPY_FILES: [&str; 4] = [
    "weight_dynamic_range.npy",
    "activation_dynamic_range.npy",
    nn_cost::costs::WEIGHT_OFFSETS_FILE,
    nn_cost::costs::ACTIVATION_OFFSETS_FILE,
];

/// Everything the profiler computes with one estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The estimator of the gains.
    pub estimator: Estimator,
    /// Names of the conv/linear layers.
    pub layers: Vec<String>,
    /// Dynamic ranges used for the normalised gains.
    pub ranges: Ranges,
    /// Noise gains.
    pub gains: Gains,
    /// Offsets.
    pub offsets: Offsets,
}

impl Profile {
    /// The four npy files (name, bytes) in the course's format: ranges and offsets as float64
    /// vectors, in the order of [`NPY_FILES`].
    pub fn npy_files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let f = |v: &[i64]| v.iter().map(|&o| o as f64).collect::<Vec<f64>>();
        let values = [
            self.ranges.weight.clone(),
            self.ranges.activation.clone(),
            f(&self.offsets.w),
            f(&self.offsets.a),
        ];
        NPY_FILES
            .iter()
            .zip(values)
            .map(|(n, v)| (*n, nn_cost::npy::f64_vec_bytes(&v)))
            .collect()
    }

    /// Writes the four npy files into `dir` (each atomically; the folder is created).
    ///
    /// # Errors
    /// An I/O error.
    pub fn write_npy(&self, dir: &std::path::Path) -> Result<()> {
        check_out_dir(dir)?;
        for (name, bytes) in self.npy_files() {
            fxp_core::io::atomic_write(&dir.join(name), &bytes)?;
        }
        Ok(())
    }
}

/// Runs the profiler: noise gains on the first `images` images of `calibration` (all when
/// `None`) with `estimator`, normalised with `ranges` (usually [`Ranges::compute`] on the whole
/// calibration set), and the offsets. Reports to `progress` one phase, "noise gains (<estimator>)",
/// of the images used.
///
/// # Errors
/// A network the profiler cannot differentiate, no images, or a degenerate gain.
pub fn profile(
    model: &Model,
    calibration: &CifarSet,
    ranges: &Ranges,
    estimator: Estimator,
    images: Option<usize>,
    progress: &dyn Progress,
) -> Result<Profile> {
    check_profilable(model)?;
    let n = images.unwrap_or(calibration.len()).min(calibration.len());
    let x = model.input_of(calibration.slice(0, n))?;
    let x = x
        .as_slice()
        .expect("input_of builds a standard-layout batch");
    progress.begin(&format!("noise gains ({})", estimator.name()), n as u64);
    let gains = noise_gains(model, x, estimator, progress);
    progress.end();
    let gains = gains?;
    let offsets = offsets(&gains, ranges)?;
    Ok(Profile {
        estimator,
        layers: model.weight_layer_names(),
        ranges: ranges.clone(),
        gains,
        offsets,
    })
}

/// Checks that `dir` can be the output folder of the npy files: absent (it is created) or a
/// folder; an existing file is refused in words (instead of "File exists (os error 17)").
pub fn check_out_dir(dir: &std::path::Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(InferError::Invalid(format!(
            "--out {}: this is a file, not a folder; give a folder (created if absent) for the \
             four npy files",
            dir.display()
        )));
    }
    Ok(())
}
