//! The layer drivers: the exact integer sums of a convolution or linear layer (digits split,
//! one micro-kernel call per digit pair, offset correction), optionally dequantized in the
//! same pass.
use super::cpu::IntKernel;
#[cfg(target_arch = "x86_64")]
use super::cpu::SimdLevel;
use super::epilogue::{write_sums, Emit, Exact, OutLayout, Staged};
pub use super::epilogue::{Dequantize, Requantize};
use super::im2row::{im2row, im2row_hwc, pad_hwc};
use super::pack::PackedWeights;
use super::pool::pooled;
use super::portable::Kernel;
use super::NR;
use crate::net::ops::{ConvGeom, PoolGeom};
use fxp_core::Quantizer;
use rayon::prelude::*;

/// The shortest run of k·C codes for which the (i, j, c) unfolding pays (measured on the first
/// layer of the course network, 3 channels, k = 3: (c, i, j) order was faster there with a
/// memcpy per 9-code run; runs of 9 are now copied with plain moves, see `im2row_hwc`).
const MIN_RUN: usize = 9;

/// Reusable buffers of [`dot_rows`].
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) acc: Vec<i32>,
    pub(super) total: Vec<i64>,
    digit: Vec<u8>,
    pub(super) digit16: Vec<u16>,
    pub(super) pooled32: Vec<i32>,
    pub(super) pooled64: Vec<i64>,
}

/// Activation rows for [`dot_rows`]: single u8 digits, or u16 codes split into digits there.
#[derive(Clone, Copy)]
enum Rows<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Exact sums of one batch of activation rows: `codes` is n rows of `kp` offset codes;
/// computes S(p, r) = Σ_k k_a·k_w (offset removed) for the rows of blocks `b0..b1` and writes
/// `emit`'s value of S at the place `lay` gives.
///
/// With an AVX-512 level the digit splitting, the digit-sum accumulation and the epilogue are
/// compiled for AVX-512 (F/BW/DQ/VL, checked by
/// [`detected_level`](super::cpu::detected_level)), which vectorises the multi-digit bookkeeping.
// Allowed: bundling these arguments in a struct made the B = 8 layers 6 % slower (measured
// in the performance work); kept separate, they stay in registers.
#[allow(clippy::too_many_arguments)]
fn dot_rows<T: Staged>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: IntKernel,
    (b0, b1): (usize, usize),
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: &impl Emit<T>,
) {
    #[cfg(target_arch = "x86_64")]
    if let (SimdLevel::Avx512Vnni, Some(_), Rows::U16(a)) = (kernel.level(), &pw.pairs, codes) {
        // SAFETY: the VNNI level exists only where AVX-512 F/BW/DQ/VL/VNNI were detected.
        unsafe { super::pairs::pair_rows(a, n, pw, (b0, b1), pool, out, lay, sc, emit) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel.level() >= SimdLevel::Avx512Vnni {
        // SAFETY: an `IntKernel` above `Portable` exists only where `detected_level` found
        // AVX-512 F/BW/DQ/VL (and VNNI) on this CPU.
        unsafe {
            dot_rows_avx512(
                codes,
                n,
                pw,
                kernel.gemm(),
                (b0, b1),
                pool,
                out,
                lay,
                sc,
                emit,
            )
        };
        return;
    }
    dot_rows_body(
        codes,
        n,
        pw,
        kernel.gemm(),
        (b0, b1),
        pool,
        out,
        lay,
        sc,
        emit,
    );
}

/// [`dot_rows_body`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
// Allowed: bundling these arguments in a struct made the B = 8 layers 6 % slower (measured
// in the performance work); kept separate, they stay in registers.
#[allow(clippy::too_many_arguments)]
unsafe fn dot_rows_avx512<T: Staged>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: Kernel,
    blocks: (usize, usize),
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: &impl Emit<T>,
) {
    dot_rows_body(codes, n, pw, kernel, blocks, pool, out, lay, sc, emit);
}

#[inline(always)]
// Allowed: bundling these arguments in a struct made the B = 8 layers 6 % slower (measured
// in the performance work); kept separate, they stay in registers.
#[allow(clippy::too_many_arguments)]
fn dot_rows_body<T: Staged>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: Kernel,
    (b0, b1): (usize, usize),
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: &impl Emit<T>,
) {
    let kp = pw.kp;
    let len = (b1 - b0) * n * NR;
    sc.acc.resize(len, 0);
    let single = pw.act_digits == 1 && pw.digits.len() == 1;
    if !single {
        sc.total.clear();
        sc.total.resize(len, 0);
    }
    for ai in 0..pw.act_digits {
        let digit: &[u8] = match codes {
            Rows::U8(d) => d,
            Rows::U16(c) => {
                sc.digit.resize(n * kp, 0);
                for (d, v) in sc.digit.iter_mut().zip(c) {
                    *d = (v >> (8 * ai)) as u8;
                }
                &sc.digit
            }
        };
        for (wj, w) in pw.digits.iter().enumerate() {
            kernel(digit, n, kp, w, b0, b1, &mut sc.acc);
            if !single {
                let shift = 8 * (ai + wj);
                for (t, &s) in sc.total.iter_mut().zip(&sc.acc) {
                    *t += (s as i64) << shift;
                }
            }
        }
    }
    if single {
        let (sums, m) = pooled(&sc.acc[..len], n, b1 - b0, pool, &mut sc.pooled32);
        write_sums(sums, m, pw, b0, b1, out, lay, emit);
    } else {
        let (sums, m) = pooled(&sc.total[..len], n, b1 - b0, pool, &mut sc.pooled64);
        write_sums(sums, m, pw, b0, b1, out, lay, emit);
    }
}

/// The activations of an integer layer: offset codes already made, or float values quantized on
/// the fly by the layer's activation quantizer (one pass less over memory).
#[derive(Clone, Copy)]
pub enum Activations<'a> {
    /// Offset codes k_a + o, as [`activation_codes_u16`](super::activation_codes_u16) makes them.
    Codes(&'a [u16]),
    /// Float activations and their quantizer.
    Float(&'a [f32], &'a Quantizer),
    /// Single-digit offset codes (B_A ≤ 8), as a [`Requantize`]d layer writes them: NCHW, or
    /// NHWC when `channels_last` (a convolution's input only).
    Codes8 {
        /// The codes.
        codes: &'a [u8],
        /// Channels last.
        channels_last: bool,
    },
    /// Two-byte offset codes (8 < B_A ≤ 16), as [`Codes8`](Activations::Codes8).
    Codes16 {
        /// The codes.
        codes: &'a [u16],
        /// Channels last.
        channels_last: bool,
    },
}

impl Activations<'_> {
    fn channels_last(&self) -> bool {
        matches!(
            self,
            Activations::Codes8 {
                channels_last: true,
                ..
            } | Activations::Codes16 {
                channels_last: true,
                ..
            }
        )
    }

    fn len(&self) -> usize {
        match self {
            Activations::Codes(c) => c.len(),
            Activations::Float(x, _) => x.len(),
            Activations::Codes8 { codes, .. } => codes.len(),
            Activations::Codes16 { codes, .. } => codes.len(),
        }
    }

    /// Offset codes of values `start..start + dst.len()` into `dst` (u8 for single-digit codes,
    /// u16 otherwise; the quantizer's range keeps the codes within the type).
    fn fill<T: Code>(&self, start: usize, dst: &mut [T], offset: i64) {
        match self {
            Activations::Codes(c) | Activations::Codes16 { codes: c, .. } => {
                for (d, &v) in dst.iter_mut().zip(&c[start..]) {
                    *d = T::from_code(v as i32);
                }
            }
            Activations::Codes8 { codes, .. } => {
                for (d, &v) in dst.iter_mut().zip(&codes[start..]) {
                    *d = T::from_code(v as i32);
                }
            }
            Activations::Float(x, q) => {
                let x = &x[start..start + dst.len()];
                match q.f32_leveler() {
                    Some(lv) => {
                        let o = offset as i32;
                        for (d, &v) in dst.iter_mut().zip(x) {
                            *d = T::from_code(lv.level(v) + o);
                        }
                    }
                    None => {
                        for (d, &v) in dst.iter_mut().zip(x) {
                            *d = T::from_code((q.level(v as f64) + offset) as i32);
                        }
                    }
                }
            }
        }
    }
}

/// An activation code digit type: u8 (B_A ≤ 8) or u16 (B_A ≤ 16).
trait Code: Copy + Default + Send + Sync + 'static {
    /// The code `v` (already within the type's range).
    fn from_code(v: i32) -> Self;
}

impl Code for u8 {
    #[inline]
    fn from_code(v: i32) -> Self {
        v as u8
    }
}

impl Code for u16 {
    #[inline]
    fn from_code(v: i32) -> Self {
        v as u16
    }
}

/// The buffers of one image of a convolution: its codes, the padded (H, W, C) copy, the patch
/// rows and the sums. Kept per thread across layers and batches: the per-image buffers of the
/// first layers are hundreds of KB, which fresh allocations would page-fault in every time.
#[derive(Default)]
struct ImageBufs<T> {
    x: Vec<T>,
    xp: Vec<T>,
    rows: Vec<T>,
    sc: Scratch,
}

impl<T: Code> ImageBufs<T> {
    /// Sizes the codes and rows buffers (their contents are overwritten before use).
    fn take(&mut self, x: usize, rows: usize) {
        self.x.resize(x, T::default());
        self.rows.resize(rows, T::default());
    }
}

thread_local! {
    static BUFS_U8: std::cell::RefCell<ImageBufs<u8>> = Default::default();
    static BUFS_U16: std::cell::RefCell<ImageBufs<u16>> = Default::default();
}

/// The calling thread's [`ImageBufs`] of a code type (borrowed only by code that starts no
/// parallel work, so never twice at once).
trait WithBufs: Code {
    fn with_bufs<R>(f: impl FnOnce(&mut ImageBufs<Self>) -> R) -> R;
    /// Patch rows of this code type as the kernels take them.
    fn rows(rows: &[Self]) -> Rows<'_>;
}

impl WithBufs for u8 {
    fn with_bufs<R>(f: impl FnOnce(&mut ImageBufs<u8>) -> R) -> R {
        BUFS_U8.with_borrow_mut(f)
    }
    fn rows(rows: &[u8]) -> Rows<'_> {
        Rows::U8(rows)
    }
}

impl WithBufs for u16 {
    fn with_bufs<R>(f: impl FnOnce(&mut ImageBufs<u16>) -> R) -> R {
        BUFS_U16.with_borrow_mut(f)
    }
    fn rows(rows: &[u16]) -> Rows<'_> {
        Rows::U16(rows)
    }
}

impl<T: WithBufs> ImageBufs<T> {
    /// Image `i` of `src` unfolded into patch rows (in (i, j, c) order when `hwc`), returned
    /// with the scratch of its sums.
    fn patch_rows(
        &mut self,
        src: &Activations<'_>,
        i: usize,
        g: &ConvGeom,
        pw: &PackedWeights,
        hwc: bool,
    ) -> (Rows<'_>, &mut Scratch) {
        let in_len = g.in_len().max(1);
        self.take(in_len, g.out_h() * g.out_w() * pw.kp);
        src.fill(i * in_len, &mut self.x, pw.offset);
        let pad = T::from_code(pw.offset as i32);
        let x = (self.x.as_slice(), src.channels_last());
        unfold(x, g, pw.kp, hwc, pad, &mut self.xp, &mut self.rows);
        (T::rows(&self.rows), &mut self.sc)
    }
}

/// Exact integer sums Σ k_a·k_w of a convolution on a batch of offset codes (images in
/// parallel): n × O × OH × OW, NCHW.
pub fn conv2d(codes: &[u16], n: usize, g: &ConvGeom, pw: &PackedWeights) -> Vec<i64> {
    conv2d_on(IntKernel::best(), codes, n, g, pw)
}

/// [`conv2d`] with a given kernel (one of [`IntKernel::available`]).
pub fn conv2d_on(
    kernel: IntKernel,
    codes: &[u16],
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
) -> Vec<i64> {
    let mut out = vec![0i64; n * g.out_len()];
    let src = Activations::Codes(codes);
    conv2d_into(src, n, g, pw, kernel, Out::planar(&mut out), &Exact);
    out
}

/// A quantized convolution end to end: activations (float ones quantized on the fly), exact
/// integer sums, then [`Dequantize`] (bias per output channel). Equal, bit for bit, to [`conv2d`]
/// on [`activation_codes_u16`](super::activation_codes_u16) followed by `de`, in one pass per
/// image.
pub fn conv2d_dequantized(
    src: Activations<'_>,
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    de: Dequantize<'_>,
) -> Vec<f32> {
    let mut out = vec![0f32; n * g.out_len()];
    conv2d_into(src, n, g, pw, IntKernel::best(), Out::planar(&mut out), &de);
    out
}

/// [`conv2d_dequantized`] whose output is quantized again by the next layer's quantizer
/// ([`Requantize`]): that layer's input codes (u8 up to 8 bits, u16 up to 16), from the same
/// float values; NHWC when `channels_last` (for a next convolution: no transposes, neither here
/// nor there), else NCHW. With `pool`, the max-pooling that follows the layer (geometry of its
/// output) is done on the exact sums, before the epilogue: the codes of the pooled output.
pub(crate) fn conv2d_requantized<T: Staged + Send>(
    src: Activations<'_>,
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    rq: Requantize<'_>,
    channels_last: bool,
    pool: Option<&PoolGeom>,
) -> Vec<T>
where
    for<'r> Requantize<'r>: Emit<T>,
{
    let per_image = pool.map_or(g.out_len(), |p| p.c * p.out_h() * p.out_w());
    let mut out = vec![T::default(); n * per_image];
    let out_ = Out {
        values: &mut out,
        channels_last,
        pool,
    };
    conv2d_into(src, n, g, pw, IntKernel::best(), out_, &rq);
    out
}

/// A convolution's output buffer (n images) and its layout.
struct Out<'a, T> {
    values: &'a mut [T],
    /// NHWC instead of NCHW.
    channels_last: bool,
    /// Max-pooling of the output, done on the exact sums (codes only: see [`pooled`]).
    pool: Option<&'a PoolGeom>,
}

impl<'a, T> Out<'a, T> {
    fn planar(values: &'a mut [T]) -> Self {
        Self {
            values,
            channels_last: false,
            pool: None,
        }
    }
}

fn conv2d_into<T: Staged + Send>(
    src: Activations<'_>,
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    kernel: IntKernel,
    out: Out<'_, T>,
    emit: &impl Emit<T>,
) {
    assert_eq!(src.len(), n * g.in_len());
    assert_eq!((pw.rows, pw.d), (g.out_c, g.d()));
    let hw = g.out_h() * g.out_w();
    let pool = out.pool;
    if let Some(p) = pool {
        assert_eq!(
            (p.c, p.h, p.w),
            (g.out_c, g.out_h(), g.out_w()),
            "pool: input shape"
        );
    }
    // Output positions per image (after the pooling, if any).
    let hw_out = pool.map_or(hw, |p| p.out_h() * p.out_w());
    assert_eq!(out.values.len(), n * g.out_c * hw_out);
    // NCHW: row r of position p at r·hw + p (transposed); NHWC: at p·C + r.
    let lay = OutLayout {
        ld: if out.channels_last { g.out_c } else { hw_out },
        col0: 0,
        transposed: !out.channels_last,
    };
    let cl = src.channels_last();
    let out = out.values;
    let blocks = pw.rows_pad / NR;
    let (in_len, out_len) = (g.in_len().max(1), (g.out_c * hw_out).max(1));
    // Patches in (i, j, c) order (runs of k·C codes) where the weights can be laid out so, for
    // channels-last input or runs long enough to copy as blocks (a first layer's runs of
    // 3·3 codes go faster in (c, i, j) order, k at a time, than as 9-byte block copies).
    let hwc = pw.for_conv(g).filter(|_| cl || g.k * g.in_c >= MIN_RUN);
    let pw = hwc.unwrap_or(pw);
    let hwc = hwc.is_some();
    let pad = pw.offset as i32;
    // Single digits in (i, j, c) order on the VNNI level: the micro-kernel reads the padded
    // image itself (no patch rows).
    #[cfg(target_arch = "x86_64")]
    let direct = hwc
        && kernel.level() == SimdLevel::Avx512Vnni
        && pw.act_digits == 1
        && pw.digits.len() == 1
        && super::direct::applies(g, pw.kp, false);
    // Codes of more than one digit on the VNNI level's pairs kernel, when an exact chunk holds
    // at least one kernel line (k·C inputs): the same, on 16-bit codes, a chunk of lines at a
    // time.
    #[cfg(target_arch = "x86_64")]
    let direct_pairs = hwc
        && kernel.level() == SimdLevel::Avx512Vnni
        && pw
            .pairs
            .as_ref()
            .is_some_and(|(_, chunk)| 2 * chunk >= g.k * g.in_c)
        && super::direct::applies(g, pw.kp, true);
    let dot = |rows: Rows<'_>, sc: &mut Scratch, y: &mut [T]| {
        dot_rows(rows, hw, pw, kernel, (0, blocks), pool, y, lay, sc, emit);
    };
    if pw.act_digits == 1 {
        out.par_chunks_mut(out_len).enumerate().for_each(|(i, y)| {
            u8::with_bufs(|b| {
                #[cfg(target_arch = "x86_64")]
                if direct {
                    let x = match src {
                        Activations::Codes8 { codes, .. } => &codes[i * in_len..][..in_len],
                        _ => {
                            b.x.resize(in_len, 0);
                            src.fill(i * in_len, &mut b.x, pw.offset);
                            &b.x
                        }
                    };
                    pad_hwc((x, cl), g, pad as u8, &mut b.xp);
                    // SAFETY: the VNNI level exists only where AVX-512 F/BW/DQ/VL/VNNI were
                    // detected.
                    unsafe {
                        let xp = (b.xp.as_slice(), pad as u8);
                        direct_rows(xp, g, pw, blocks, pool, y, lay, &mut b.sc, emit);
                    }
                    return;
                }
                let (rows, sc) = b.patch_rows(&src, i, g, pw, hwc);
                dot(rows, sc, y);
            })
        });
    } else {
        out.par_chunks_mut(out_len).enumerate().for_each(|(i, y)| {
            u16::with_bufs(|b| {
                #[cfg(target_arch = "x86_64")]
                if direct_pairs {
                    b.x.resize(in_len, 0);
                    src.fill(i * in_len, &mut b.x, pw.offset);
                    pad_hwc((&b.x, cl), g, pad as u16, &mut b.xp);
                    // SAFETY: as above.
                    unsafe {
                        let xp = (b.xp.as_slice(), pad as u16);
                        let (digits, sc) = (&mut b.rows, &mut b.sc);
                        super::pairs::direct_pair_rows(xp, g, pw, pool, y, lay, (digits, sc), emit);
                    }
                    return;
                }
                let (rows, sc) = b.patch_rows(&src, i, g, pw, hwc);
                dot(rows, sc, y);
            })
        });
    }
}

/// The exact sums of a direct convolution ([`super::direct`]) on the padded image `xp` (and its
/// border code), then pooled and written as in [`dot_rows`] (row blocks `0..blocks`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
// Allowed: as for `dot_rows`.
#[allow(clippy::too_many_arguments)]
unsafe fn direct_rows<T: Staged>(
    xp: (&[u8], u8),
    g: &ConvGeom,
    pw: &PackedWeights,
    blocks: usize,
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: &impl Emit<T>,
) {
    let n = g.out_h() * g.out_w();
    let len = blocks * n * NR;
    sc.acc.resize(len, 0);
    super::direct::sums(xp, g, &pw.digits[0], pw.kp, (0, blocks), &mut sc.acc);
    let (sums, m) = pooled(&sc.acc[..len], n, blocks, pool, &mut sc.pooled32);
    write_sums(sums, m, pw, 0, blocks, out, lay, emit);
}

/// One image's codes (CHW, or HWC when the flag is set) unfolded into patch rows: in (i, j, c)
/// order through `xp` when `hwc` (the weights come from [`PackedWeights::for_conv`]), else in
/// (c, i, j) order.
fn unfold<T: Copy + Default>(
    (x, channels_last): (&[T], bool),
    g: &ConvGeom,
    kp: usize,
    hwc: bool,
    pad: T,
    xp: &mut Vec<T>,
    rows: &mut [T],
) {
    match (hwc, channels_last) {
        (true, _) => im2row_hwc((x, channels_last), g, kp, pad, xp, rows),
        (false, false) => im2row(x, g, kp, pad, rows),
        (false, true) => {
            // Back to CHW for the (c, i, j) order.
            let (c, hw) = (g.in_c, g.in_h * g.in_w);
            xp.clear();
            xp.resize(c * hw, pad);
            for (p, px) in x.chunks_exact(c.max(1)).take(hw).enumerate() {
                for (ci, &v) in px.iter().enumerate() {
                    xp[ci * hw + p] = v;
                }
            }
            im2row(xp, g, kp, pad, rows);
        }
    }
}

/// Exact integer sums of a linear layer on n rows of offset codes: n × out (blocks of 64 output
/// features in parallel).
pub fn linear(codes: &[u16], n: usize, pw: &PackedWeights) -> Vec<i64> {
    linear_on(IntKernel::best(), codes, n, pw)
}

/// [`linear`] with a given kernel (one of [`IntKernel::available`]).
pub fn linear_on(kernel: IntKernel, codes: &[u16], n: usize, pw: &PackedWeights) -> Vec<i64> {
    let mut out = vec![0i64; n * pw.rows];
    linear_into(Activations::Codes(codes), n, pw, kernel, &mut out, &Exact);
    out
}

/// A quantized linear layer end to end (see [`conv2d_dequantized`]; bias per output feature).
pub fn linear_dequantized(
    src: Activations<'_>,
    n: usize,
    pw: &PackedWeights,
    de: Dequantize<'_>,
) -> Vec<f32> {
    let mut out = vec![0f32; n * pw.rows];
    linear_into(src, n, pw, IntKernel::best(), &mut out, &de);
    out
}

/// [`linear_dequantized`] giving the next layer's input codes (see [`conv2d_requantized`]).
pub(crate) fn linear_requantized<T: Staged + Send>(
    src: Activations<'_>,
    n: usize,
    pw: &PackedWeights,
    rq: Requantize<'_>,
) -> Vec<T>
where
    for<'r> Requantize<'r>: Emit<T>,
{
    let mut out = vec![T::default(); n * pw.rows];
    linear_into(src, n, pw, IntKernel::best(), &mut out, &rq);
    out
}

fn linear_into<T: Staged + Send>(
    src: Activations<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: IntKernel,
    out: &mut [T],
    emit: &impl Emit<T>,
) {
    assert_eq!(src.len(), n * pw.d);
    assert_eq!(out.len(), n * pw.rows);
    // The rows of codes, padded to kp, made once for every block of output features.
    let (mut a8, mut a16) = (Vec::new(), Vec::new());
    if pw.act_digits == 1 {
        a8 = vec![0u8; n * pw.kp];
        padded_rows(src, pw, &mut a8);
    } else {
        a16 = vec![0u16; n * pw.kp];
        padded_rows(src, pw, &mut a16);
    }
    let rows = if pw.act_digits == 1 {
        Rows::U8(&a8)
    } else {
        Rows::U16(&a16)
    };
    let blocks = pw.rows_pad / NR;
    let parts: Vec<(usize, Vec<T>)> = (0..blocks)
        .into_par_iter()
        .map_init(Scratch::default, |sc, b| {
            let cols = (pw.rows - b * NR).min(NR);
            let mut s = vec![T::default(); n * cols];
            let lay = OutLayout {
                ld: cols,
                col0: b * NR,
                transposed: false,
            };
            dot_rows(rows, n, pw, kernel, (b, b + 1), None, &mut s, lay, sc, emit);
            (b, s)
        })
        .collect();
    for (b, s) in parts {
        let cols = (pw.rows - b * NR).min(NR);
        for p in 0..n {
            out[p * pw.rows + b * NR..][..cols].copy_from_slice(&s[p * cols..(p + 1) * cols]);
        }
    }
}

/// Row i of `a` (kp values) = the offset codes of activation row i (d values), then zeros.
fn padded_rows<T: Code>(src: Activations<'_>, pw: &PackedWeights, a: &mut [T]) {
    a.par_chunks_mut(pw.kp)
        .enumerate()
        .for_each(|(i, row)| src.fill(i * pw.d, &mut row[..pw.d], pw.offset));
}
