//! Gradient products that skip the zeros ReLU and max-pooling leave in a layer's output
//! gradient. A 2×2 max-pool passes one gradient in four, a 3×3 one of stride 2 one in five, and
//! ReLU drops the gradient wherever the activation was zero; the pattern is the same for every
//! seed of an image (it comes from the forward pass), so the seeds' coefficients of one active
//! entry go together: `out_s += coef_s · row` for each active entry, `seeds` rows of output at
//! once. On AVX-512 with 9 seeds (10 classes) the 9 × 48 outputs of a column block stay in
//! registers over the whole list of entries. A product has one list per output channel (weight
//! gradients) or position (input gradients); it runs one 48-column block at a time over all its
//! lists, so that the block of rows they read (a panel of the patches, a column block of the
//! weights) stays in the cache. Every sum keeps its order: the results do not depend on the
//! blocking.

use super::backprop::positions;
use crate::net::ops::ConvGeom;

/// Whether a gradient with `active` of `total` entries nonzero is worth the sparse products:
/// below half. (Per product the sparse kernel ran at about 40 % of the dense GEMM's rate on an
/// AMD EPYC, so the break-even is nearer 40 %; the course network's conv layers have 5–20 %
/// active entries.)
pub fn worth_sparse(active: usize, total: usize) -> bool {
    2 * active < total
}

/// `out[s·out_stride + i] += Σ_j coefs[j·seeds + s] · rows[idx[j]·k + i]` for `s < seeds`,
/// `i < k`: the rows of `rows` (each `k` long) named by `idx`, weighted by each seed's
/// coefficient, added in the order of `idx`.
///
/// # Panics
/// If an index names a row past the end of `rows`, or `out`/`coefs` are too short.
pub fn add_weighted_rows(
    out: &mut [f32],
    out_stride: usize,
    seeds: usize,
    k: usize,
    rows: &[f32],
    idx: &[u32],
    coefs: &[f32],
) {
    weighted_rows::<true>(out, out_stride, seeds, Rows::new(rows, k, k), idx, coefs);
}

/// [`add_weighted_rows`] into zeros: `out[s·out_stride + i] = Σ_j …` (the same sums, without
/// reading `out` first; an empty `idx` writes zeros).
///
/// # Panics
/// As [`add_weighted_rows`].
pub fn set_weighted_rows(
    out: &mut [f32],
    out_stride: usize,
    seeds: usize,
    k: usize,
    rows: &[f32],
    idx: &[u32],
    coefs: &[f32],
) {
    weighted_rows::<false>(out, out_stride, seeds, Rows::new(rows, k, k), idx, coefs);
}

/// Columns of the 48-wide blocks of the AVX-512 kernel: the products below run one such block
/// of columns at a time over all their lists of entries, so that the rows they read (a block
/// of each) stay in the cache from one list to the next.
const BLOCK: usize = 48;

/// The first `k` values of each row of a row-major matrix whose rows are `stride` apart (a
/// block of columns of a wider matrix when `k < stride`).
#[derive(Debug, Clone, Copy)]
struct Rows<'a> {
    data: &'a [f32],
    stride: usize,
    k: usize,
}

impl<'a> Rows<'a> {
    fn new(data: &'a [f32], stride: usize, k: usize) -> Self {
        Rows { data, stride, k }
    }

    /// Row `r` (its first `k` values).
    fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.stride..][..self.k]
    }

    /// Whether row `r` lies inside the data.
    fn has(&self, r: usize) -> bool {
        r.checked_mul(self.stride)
            .and_then(|start| start.checked_add(self.k))
            .is_some_and(|end| end <= self.data.len())
    }
}

fn weighted_rows<const ACC: bool>(
    out: &mut [f32],
    out_stride: usize,
    seeds: usize,
    rows: Rows<'_>,
    idx: &[u32],
    coefs: &[f32],
) {
    let k = rows.k;
    if seeds == 0 || k == 0 {
        return;
    }
    assert!(
        idx.iter().max().is_none_or(|&r| rows.has(r as usize)),
        "weighted rows: row index out of range"
    );
    assert!(
        coefs.len() >= idx.len() * seeds,
        "weighted rows: coefficients"
    );
    assert!(
        out.len() >= (seeds - 1) * out_stride + k && out_stride >= k,
        "weighted rows: output length"
    );
    #[cfg(target_arch = "x86_64")]
    if seeds == 9 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present; the asserts above keep every access in bounds.
        unsafe { avx512::weighted_rows9::<ACC>(out, out_stride, rows, idx, coefs) };
        return;
    }
    if !ACC {
        for s in 0..seeds {
            out[s * out_stride..][..k].fill(0.0);
        }
    }
    for (j, &r) in idx.iter().enumerate() {
        let row = rows.row(r as usize);
        for (s, &c) in coefs[j * seeds..][..seeds].iter().enumerate() {
            if c != 0.0 {
                for (o, &x) in out[s * out_stride..][..k].iter_mut().zip(row) {
                    *o += c * x;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Lists, Rows};
    use std::arch::x86_64::*;

    /// [`super::add_weighted_rows`] (`ACC`) or [`super::set_weighted_rows`] for 9 seeds: column
    /// blocks of 48 (3 registers × 9 seeds = 27 accumulators), then blocks of 16 with a mask
    /// for the rest.
    ///
    /// # Safety
    /// AVX-512F must be available; the bounds are those checked by the caller.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn weighted_rows9<const ACC: bool>(
        out: &mut [f32],
        out_stride: usize,
        rows: Rows<'_>,
        idx: &[u32],
        coefs: &[f32],
    ) {
        let o = out.as_mut_ptr();
        let mut kb = 0;
        while kb + 48 <= rows.k {
            block48::<ACC>(o.add(kb), out_stride, rows, kb, idx, coefs);
            kb += 48;
        }
        while kb < rows.k {
            block16::<ACC>(o.add(kb), out_stride, rows, kb, idx, coefs);
            kb += 16;
        }
    }

    /// [`super::set_weighted_lists`] for 9 seeds: each column block over every list in turn.
    ///
    /// # Safety
    /// AVX-512F must be available; the bounds are those checked by the caller.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn weighted_lists9(
        out: &mut [f32],
        list_stride: usize,
        out_stride: usize,
        rows: Rows<'_>,
        lists: &Lists,
    ) {
        let o = out.as_mut_ptr();
        let mut kb = 0;
        while kb < rows.k {
            for i in 0..lists.len() {
                let (idx, coefs) = lists.get(i, 9);
                let dst = o.add(i * list_stride + kb);
                if kb + 48 <= rows.k {
                    block48::<false>(dst, out_stride, rows, kb, idx, coefs);
                } else {
                    let mut k16 = 0;
                    while kb + k16 < rows.k {
                        block16::<false>(dst.add(k16), out_stride, rows, kb + k16, idx, coefs);
                        k16 += 16;
                    }
                }
            }
            kb += 48;
        }
    }

    /// Columns `kb..kb + 48` of the 9 seeds' sums of one list, in registers, written at `o`
    /// (seed `s` at `o + s·out_stride`; added to what is there with `ACC`).
    #[inline(always)]
    unsafe fn block48<const ACC: bool>(
        o: *mut f32,
        out_stride: usize,
        rows: Rows<'_>,
        kb: usize,
        idx: &[u32],
        coefs: &[f32],
    ) {
        let (x, c) = (rows.data.as_ptr(), coefs.as_ptr());
        let mut acc = [[_mm512_setzero_ps(); 3]; 9];
        if ACC {
            for (s, a) in acc.iter_mut().enumerate() {
                for (v, a) in a.iter_mut().enumerate() {
                    *a = _mm512_loadu_ps(o.add(s * out_stride + 16 * v));
                }
            }
        }
        for (j, &r) in idx.iter().enumerate() {
            let row = x.add(r as usize * rows.stride + kb);
            let xs = [
                _mm512_loadu_ps(row),
                _mm512_loadu_ps(row.add(16)),
                _mm512_loadu_ps(row.add(32)),
            ];
            let cj = c.add(j * 9);
            for (s, a) in acc.iter_mut().enumerate() {
                let cs = _mm512_set1_ps(*cj.add(s));
                for (a, &xv) in a.iter_mut().zip(&xs) {
                    *a = _mm512_fmadd_ps(cs, xv, *a);
                }
            }
        }
        for (s, a) in acc.iter().enumerate() {
            for (v, &a) in a.iter().enumerate() {
                _mm512_storeu_ps(o.add(s * out_stride + 16 * v), a);
            }
        }
    }

    /// [`block48`] for columns `kb..min(kb + 16, k)`, with a mask.
    #[inline(always)]
    unsafe fn block16<const ACC: bool>(
        o: *mut f32,
        out_stride: usize,
        rows: Rows<'_>,
        kb: usize,
        idx: &[u32],
        coefs: &[f32],
    ) {
        let (x, c) = (rows.data.as_ptr(), coefs.as_ptr());
        let m: __mmask16 = if rows.k - kb >= 16 {
            0xFFFF
        } else {
            (1u16 << (rows.k - kb)) - 1
        };
        let mut acc = [_mm512_setzero_ps(); 9];
        if ACC {
            for (s, a) in acc.iter_mut().enumerate() {
                *a = _mm512_maskz_loadu_ps(m, o.add(s * out_stride));
            }
        }
        for (j, &r) in idx.iter().enumerate() {
            let xv = _mm512_maskz_loadu_ps(m, x.add(r as usize * rows.stride + kb));
            let cj = c.add(j * 9);
            for (s, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(*cj.add(s)), xv, *a);
            }
        }
        for (s, &a) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(o.add(s * out_stride), m, a);
        }
    }
}

/// For every list `i` of `lists`, [`set_weighted_rows`] into `out[i·list_stride..]`: the 9
/// seeds' (or `seeds'`) sums of its rows, one 48-column block at a time over all the lists (the
/// rows' block stays in the cache; one call instead of one per list and block).
fn set_weighted_lists(
    out: &mut [f32],
    list_stride: usize,
    out_stride: usize,
    seeds: usize,
    rows: Rows<'_>,
    lists: &Lists,
) {
    let (k, n) = (rows.k, lists.len());
    if n == 0 || seeds == 0 || k == 0 {
        return;
    }
    assert!(
        lists.idx.iter().max().is_none_or(|&r| rows.has(r as usize)),
        "weighted lists: row index out of range"
    );
    assert_eq!(
        lists.coefs.len(),
        lists.idx.len() * seeds,
        "weighted lists: coefficients"
    );
    assert!(
        out_stride >= k && out.len() >= (n - 1) * list_stride + (seeds - 1) * out_stride + k,
        "weighted lists: output length"
    );
    #[cfg(target_arch = "x86_64")]
    if seeds == 9 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present; the asserts above keep every access in bounds.
        unsafe { avx512::weighted_lists9(out, list_stride, out_stride, rows, lists) };
        return;
    }
    for kb in (0..k).step_by(BLOCK) {
        let block = Rows::new(&rows.data[kb..], rows.stride, BLOCK.min(k - kb));
        for i in 0..n {
            let (idx, coefs) = lists.get(i, seeds);
            let dst = &mut out[i * list_stride + kb..];
            weighted_rows::<false>(dst, out_stride, seeds, block, idx, coefs);
        }
    }
}

/// The transpose of a `rows × cols` matrix.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(m.len(), rows * cols, "transpose: matrix length");
    let mut t = vec![0.0f32; rows * cols];
    // Eight source rows at a time: eight sequential reads, eight contiguous writes per column.
    const B: usize = 8;
    let mut r0 = 0;
    while r0 + B <= rows {
        let src: [&[f32]; B] = std::array::from_fn(|i| &m[(r0 + i) * cols..][..cols]);
        for (c, dst) in t.chunks_exact_mut(rows).enumerate() {
            let dst = &mut dst[r0..r0 + B];
            for (d, s) in dst.iter_mut().zip(&src) {
                *d = s[c];
            }
        }
        r0 += B;
    }
    for r in r0..rows {
        for (c, &v) in m[r * cols..][..cols].iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

/// A convolution's weights (`C_out × C·k·k`, rows in (channel, tap) order) with each row in
/// (tap, channel) order: a tap's weights over the input channels are contiguous.
pub fn tap_major(weight: &[f32], g: &ConvGeom) -> Vec<f32> {
    let (c, kk) = (g.in_c, g.k * g.k);
    let mut out = Vec::with_capacity(weight.len());
    for row in weight.chunks_exact((c * kk).max(1)) {
        out.extend(transpose(row, c, kk));
    }
    out
}

/// The weight gradients `Σ_n grad_out_n · cols_nᵀ` of a convolution over the images of a chunk,
/// `seeds·C_out × K` (row `s·C_out + c`), from the active entries only. `grad_out` is
/// `images × seeds × C_out·P`, `cols[n]` the `K × P` patch matrix of image `n`. Each entry
/// sums its terms image by image, position by position.
pub fn conv_weight_grad_sparse(
    d: usize,
    o: usize,
    p: usize,
    cols: &[Vec<f32>],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    let masks: Vec<Vec<bool>> = grad_out
        .chunks_exact(seeds * o * p)
        .map(|g| active_mask(g, seeds, o * p).0)
        .collect();
    conv_weight_grad_masked(d, o, p, cols, grad_out, seeds, &masks)
}

/// [`conv_weight_grad_sparse`] with the [`active_mask`] of each image already made.
// The product's shape (d, o, p), its two operands, the seeds and the masks are independent
// values; a struct would only move the list.
#[allow(clippy::too_many_arguments)]
pub fn conv_weight_grad_masked(
    d: usize,
    o: usize,
    p: usize,
    cols: &[Vec<f32>],
    grad_out: &[f32],
    seeds: usize,
    masks: &[Vec<bool>],
) -> Vec<f32> {
    let per_image = seeds * o * p;
    assert_eq!(masks.len(), cols.len(), "sparse weight gradient: masks");
    // Per channel, its active entries image by image, position by position (row n·P + q of
    // the patches position-major).
    let mut lists = Lists::default();
    for ch in 0..o {
        for (im, (g, mask)) in grad_out.chunks_exact(per_image).zip(masks).enumerate() {
            for (q, _) in mask[ch * p..][..p].iter().enumerate().filter(|(_, &m)| m) {
                let coefs = (0..seeds).map(|s| g[(s * o + ch) * p + q]);
                lists.push((im * p + q) as u32, coefs);
            }
        }
        lists.close();
    }
    let mut out = vec![0.0f32; seeds * o * d];
    let mut panel = Vec::with_capacity(cols.len() * p * BLOCK.min(d));
    for kb in (0..d).step_by(BLOCK) {
        let w = BLOCK.min(d - kb);
        // Columns kb.. of the patches of every image, position-major: row n·P + q is position
        // q of image n (a block small enough for the cache, read by every channel).
        panel.clear();
        for c in cols {
            panel.extend(transpose(&c[kb * p..(kb + w) * p], w, p));
        }
        let rows = Rows::new(&panel, w, w);
        set_weighted_lists(&mut out[kb..], d, o * d, seeds, rows, &lists);
    }
    out
}

/// Lists of active entries, flattened: per entry a row index and the seeds' coefficients.
#[derive(Debug, Default)]
struct Lists {
    idx: Vec<u32>,
    coefs: Vec<f32>,
    /// List `i` holds the entries `ends[i − 1]..ends[i]` (from 0 for the first).
    ends: Vec<usize>,
}

impl Lists {
    /// Adds an entry to the open list.
    fn push(&mut self, row: u32, coefs: impl Iterator<Item = f32>) {
        self.idx.push(row);
        self.coefs.extend(coefs);
    }

    /// Closes the open list (an empty one when nothing was pushed).
    fn close(&mut self) {
        self.ends.push(self.idx.len());
    }

    /// The number of lists closed.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The indices and coefficients of list `i`.
    fn get(&self, i: usize, seeds: usize) -> (&[u32], &[f32]) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        (
            &self.idx[start..end],
            &self.coefs[start * seeds..end * seeds],
        )
    }
}

/// Where the gradients of one image (`seeds × len`) are nonzero for some seed, and how many
/// such entries there are.
pub fn active_mask(grad_out: &[f32], seeds: usize, len: usize) -> (Vec<bool>, usize) {
    let mut mask = vec![false; len];
    for g in grad_out[..seeds * len].chunks_exact(len.max(1)) {
        for (m, &v) in mask.iter_mut().zip(g) {
            *m |= v != 0.0;
        }
    }
    let active = mask.iter().filter(|&&m| m).count();
    (mask, active)
}

/// The gradient with respect to the input of a convolution (one image, `seeds` gradients:
/// `grad_out` is `seeds × C_out·P`, the result `seeds × C·H·W`) from the active entries of
/// `grad_out` only (`mask`: [`active_mask`]; worth it when they are few, [`worth_sparse`],
/// else the dense [`super::backprop::conv2d_backward_input`] is faster). `weight_tm` is the weight matrix in [`tap_major`] order. Per output position, the weight
/// rows of its active channels weighted by each seed's gradient give the patch-gradient
/// column, folded back onto the image tap by tap (each input element receives its taps'
/// terms in the order `col2im` adds them, so the result is that of the dense path).
pub fn conv2d_backward_input_sparse(
    g: &ConvGeom,
    weight_tm: &[f32],
    grad_out: &[f32],
    mask: &[bool],
    seeds: usize,
) -> Vec<f32> {
    let (d, p, o) = (g.d(), positions(g), g.out_c);
    assert_eq!(mask.len(), o * p, "sparse conv backward: mask length");
    COLS_T.with_borrow_mut(|cols_t| {
        // Reused: a fresh buffer per image and layer costs page faults. Every value is
        // written below before it is read.
        let len = seeds * p * d;
        if cols_t.len() < len {
            cols_t.resize(len, 0.0);
        }
        input_grad_from_cols(g, weight_tm, grad_out, mask, seeds, &mut cols_t[..len])
    })
}

thread_local! {
    /// The patch-gradient buffer of [`conv2d_backward_input_sparse`], one per thread.
    static COLS_T: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`conv2d_backward_input_sparse`] with a buffer of `seeds·P·K` values (overwritten).
fn input_grad_from_cols(
    g: &ConvGeom,
    weight_tm: &[f32],
    grad_out: &[f32],
    mask: &[bool],
    seeds: usize,
    cols_t: &mut [f32],
) -> Vec<f32> {
    let (d, p, o) = (g.d(), positions(g), g.out_c);
    // The patch gradients position-major, then seed, then taps and channels (P × seeds ×
    // k·k·C): the 9 rows of a position are written together.
    let mut lists = Lists::default();
    for q in 0..p {
        for ch in (0..o).filter(|&ch| mask[ch * p + q]) {
            lists.push(
                ch as u32,
                (0..seeds).map(|s| grad_out[(s * o + ch) * p + q]),
            );
        }
        lists.close();
    }
    // A block of columns of the weights at a time (in the cache for every position).
    set_weighted_lists(
        cols_t,
        seeds * d,
        d,
        seeds,
        Rows::new(weight_tm, d, d),
        &lists,
    );
    // Folded onto the image laid out (H, W, C), then back to (C, H, W).
    let (c, h, w) = (g.in_c, g.in_h, g.in_w);
    let mut grad_in = Vec::with_capacity(seeds * g.in_len());
    let mut acc = vec![0.0f32; h * w * c];
    for s in 0..seeds {
        acc.fill(0.0);
        fold(g, &cols_t[s * d..], seeds * d, &mut acc);
        grad_in.extend(transpose(&acc, h * w, c));
    }
    grad_in
}

/// Adds the patch gradients (row `q` of `cols`, `k·k·C` values in (tap, channel) order, at
/// `q·row_stride`) onto the image `acc` laid out (H, W, C), tap by tap: each element receives
/// its taps' terms in the order `col2im` adds them.
fn fold(g: &ConvGeom, cols: &[f32], row_stride: usize, acc: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present (the body is safe code, vectorised for it).
        unsafe { fold_avx512(g, cols, row_stride, acc) };
        return;
    }
    fold_portable(g, cols, row_stride, acc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fold_avx512(g: &ConvGeom, cols: &[f32], row_stride: usize, acc: &mut [f32]) {
    fold_portable(g, cols, row_stride, acc);
}

#[inline(always)]
fn fold_portable(g: &ConvGeom, cols: &[f32], row_stride: usize, acc: &mut [f32]) {
    let (c, h, w, ow, d) = (g.in_c, g.in_h, g.in_w, g.out_w(), g.d());
    let p = positions(g);
    for ky in 0..g.k {
        for kx in 0..g.k {
            let t = ky * g.k + kx;
            for q in 0..p {
                let iy = ((q / ow) * g.stride + ky) as isize - g.pad as isize;
                let ix = ((q % ow) * g.stride + kx) as isize - g.pad as isize;
                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                    continue;
                }
                let col = &cols[q * row_stride..][..d];
                let dst = &mut acc[(iy as usize * w + ix as usize) * c..][..c];
                for (a, &v) in dst.iter_mut().zip(&col[t * c..][..c]) {
                    *a += v;
                }
            }
        }
    }
}
