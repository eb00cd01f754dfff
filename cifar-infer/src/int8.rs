//! Integer kernel path: u8 × i8 products accumulated in i32, for B_A ≤ 16 and B_W ≤ 16.
//!
//! **Codes.** Unsigned activation codes k_a ∈ [0, 2^B_A − 1] are used as they are; signed ones
//! (the image) are offset by o = 2^(B_A−1) into [0, 2^B_A − 1], and the offset is removed exactly
//! at the end: Σ k_a·k_w = Σ (k_a + o)·k_w − o·Σ k_w. Weight codes lie in [−2^(B_W−1), 2^(B_W−1) − 1].
//!
//! **Digits.** For B ≤ 8 a code is a single u8 (activation) or i8 (weight) digit. For 8 < B ≤ 16
//! it is split into base-256 digits: activations k = 256·hi + lo with hi, lo ∈ [0, 255];
//! weights in balanced form k = Σ_j 256^j·w_j with w_j ∈ [−128, 127] (two digits up to 15 bits,
//! three at 16 bits). Then Σ k_a·k_w = Σ_{i,j} 256^(i+j) · S_ij with S_ij = Σ a_i·w_j, one u8×i8
//! dot product per digit pair (1 to 6 of them).
//!
//! **Exactness.** |a_i·w_j| ≤ 255·128, so a dot product of D ≤ 65,536 terms stays below 2^31 and
//! every S_ij is exact in i32; the digit sums are combined in i64 (|S| < 2^56). The results are
//! the exact integer dot products, identical for every kernel.
//!
//! **Kernels.** Weights are packed once per precision in the VNNI layout (blocks of 64 output
//! rows × groups of 4 inputs, inputs padded to a multiple of 64). Three kernels read it, chosen
//! at run time ([`simd_level`]):
//! - **AMX** (`tdpbusd`: 16 × 16 × 64 multiply-accumulates per instruction) on CPUs with AMX-INT8
//!   whose kernel grants the tile state: 2 × 2 tiles of 16 positions × 16 rows, K in steps of 64;
//!   positions left over (fewer than 16) go to the VNNI kernel;
//! - **AVX-512 VNNI** (`vpdpbusd`: 64 multiply-accumulates per instruction): a 4 × 64
//!   register-blocked micro-kernel;
//! - a portable scalar loop.
//!
//! The environment variable `FXP_HW_INT_KERNEL` (`amx`, `vnni` or `portable`) caps the choice,
//! for benchmarks; all three give the same exact sums.
#![allow(clippy::incompatible_msrv)]
use crate::error::{InferError, Result};
use crate::ops::ConvGeom;
use fxp_core::{Quantizer, Signedness};
use rayon::prelude::*;

/// Output rows per packed block (4 AVX-512 registers of 16 i32 lanes).
const NR: usize = 64;
/// Positions per micro-kernel call.
const MR: usize = 4;
/// Inputs are padded to a multiple of this (the bytes of one AMX tile row).
const KP_ALIGN: usize = 64;
/// Largest precision of the integer path.
pub const MAX_BITS: u32 = 16;

/// The SIMD level of the integer kernel, from slowest to fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimdLevel {
    /// Portable scalar code.
    Portable,
    /// AVX-512 F/BW/DQ/VL + VNNI.
    Avx512Vnni,
    /// AMX-INT8 tiles (with AVX-512 VNNI for the leftover positions).
    Amx,
}

/// An integer kernel this CPU can run. It can only be obtained through [`IntKernel::new`],
/// which checks the CPU, or [`IntKernel::best`], so no safe call can reach an instruction the
/// CPU lacks (the pattern of rten-gemm's kernel values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntKernel {
    level: SimdLevel,
}

impl IntKernel {
    /// The kernel of `level`, or `None` when this CPU cannot run it.
    pub fn new(level: SimdLevel) -> Option<Self> {
        (level <= detected_level()).then_some(Self { level })
    }

    /// The kernel the integer path uses: [`simd_level`] (the best of this CPU, capped by
    /// `FXP_HW_INT_KERNEL`).
    pub fn best() -> Self {
        Self {
            level: simd_level(),
        }
    }

    /// Every kernel this CPU can run, slowest first (for tests and benchmarks).
    pub fn available() -> Vec<Self> {
        [SimdLevel::Portable, SimdLevel::Avx512Vnni, SimdLevel::Amx]
            .into_iter()
            .filter_map(Self::new)
            .collect()
    }

    /// Its SIMD level.
    pub fn level(self) -> SimdLevel {
        self.level
    }

    fn gemm(self) -> Kernel {
        match self.level {
            SimdLevel::Portable => gemm_portable,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => gemm_vnni,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Amx => gemm_amx,
            #[cfg(not(target_arch = "x86_64"))]
            _ => gemm_portable,
        }
    }
}

/// The level the integer path uses: the best this CPU supports, capped by the environment
/// variable `FXP_HW_INT_KERNEL` (`amx`, `vnni`, `portable`) when it is set.
pub fn simd_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let best = detected_level();
        let cap = match std::env::var("FXP_HW_INT_KERNEL").as_deref() {
            Ok("portable") => SimdLevel::Portable,
            Ok("vnni") => SimdLevel::Avx512Vnni,
            _ => SimdLevel::Amx,
        };
        best.min(cap)
    })
}

/// Checks the environment variable `FXP_HW_INT_KERNEL`: unset, empty, `amx`, `vnni` or
/// `portable`. Anything else is an error (it used to be ignored silently).
pub fn check_kernel_env() -> Result<(), crate::InferError> {
    match std::env::var("FXP_HW_INT_KERNEL") {
        Err(std::env::VarError::NotPresent) => Ok(()),
        Ok(v) if matches!(v.as_str(), "" | "amx" | "vnni" | "portable") => Ok(()),
        Ok(v) => Err(crate::InferError::Invalid(format!(
            "FXP_HW_INT_KERNEL={v:?} is not a kernel: use amx, vnni or portable (or unset it)"
        ))),
        Err(e) => Err(crate::InferError::Invalid(format!(
            "FXP_HW_INT_KERNEL: {e}"
        ))),
    }
}

/// The best level of this CPU, whatever the environment says (detected once).
fn detected_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
            {
                if amx::enable() {
                    return SimdLevel::Amx;
                }
                return SimdLevel::Avx512Vnni;
            }
        }
        SimdLevel::Portable
    })
}

/// Whether the integer path applies to a layer (B_A ≤ 16, B_W ≤ 16, signed weights, D ≤ 65,536)
/// *and* is fast on this CPU (a SIMD kernel exists).
pub fn applies(act: &Quantizer, weight: &Quantizer, d: usize) -> bool {
    act.bits() <= MAX_BITS
        && weight.bits() <= MAX_BITS
        && weight.signedness() == Signedness::Signed
        && d <= 1 << 16
        && simd_level() != SimdLevel::Portable
}

fn act_offset(act: &Quantizer) -> i64 {
    match act.signedness() {
        Signedness::Signed => -act.min_level(),
        Signedness::Unsigned => 0,
    }
}

/// Base-256 digits of an unsigned activation code of `bits` bits.
fn act_digits_of(bits: u32) -> usize {
    bits.div_ceil(8) as usize
}

/// Balanced base-256 digits (each in [−128, 127]) of a signed code of `bits` bits: one up to 8
/// bits, two up to 15 bits, three for 16 bits (2^15 − 1 = 256·128 − 1 needs a third digit).
fn weight_digits_of(bits: u32) -> usize {
    match bits {
        0..=8 => 1,
        9..=15 => 2,
        _ => 3,
    }
}

/// Offset activation codes k_a + o (in [0, 2^B_A − 1]) of a buffer.
pub fn activation_codes_u16(act: &Quantizer, x: &[f32]) -> Vec<u16> {
    let o = act_offset(act);
    let mut out = vec![0u16; x.len()];
    out.par_chunks_mut(8192)
        .zip(x.par_chunks(8192))
        .for_each(|(c, x)| {
            for (c, &v) in c.iter_mut().zip(x) {
                *c = (act.level(v as f64) + o) as u16;
            }
        });
    out
}

/// Weight codes of a layer packed for the kernel (once per precision).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedWeights {
    /// Output rows (channels or features).
    pub rows: usize,
    /// Dot-product length D.
    pub d: usize,
    /// D padded to a multiple of 64 (one AMX tile row; 16 VNNI groups).
    pub kp: usize,
    /// Rows padded to a multiple of 64.
    pub rows_pad: usize,
    /// Offset o of the activation codes (2^(B_A−1) for signed activations, else 0).
    pub offset: i64,
    /// Number of activation digits (1 or 2).
    pub act_digits: usize,
    /// One packed i8 matrix per weight digit, least significant first.
    digits: Vec<Vec<i8>>,
    /// o·Σ_j k_w of each row.
    correction: Vec<i64>,
}

impl PackedWeights {
    /// Packs `codes` (rows × d, row-major, signed weight codes) for activations quantized by `act`.
    pub fn new(
        codes: &[i64],
        rows: usize,
        d: usize,
        act: &Quantizer,
        weight: &Quantizer,
    ) -> Result<Self> {
        if codes.len() != rows * d {
            return Err(InferError::Invalid("integer pack: code count".into()));
        }
        if act.bits() > MAX_BITS || weight.bits() > MAX_BITS || d > 1 << 16 {
            return Err(InferError::Invalid(format!(
                "integer path needs B_A, B_W ≤ 16 and D ≤ 65536 (B_A = {}, B_W = {}, D = {d})",
                act.bits(),
                weight.bits()
            )));
        }
        let kp = d.div_ceil(KP_ALIGN) * KP_ALIGN;
        let rows_pad = rows.div_ceil(NR) * NR;
        let wd = weight_digits_of(weight.bits());
        let mut digits = vec![vec![0i8; rows_pad * kp]; wd];
        for r in 0..rows {
            for k in 0..d {
                let c = codes[r * d + k];
                // Balanced base-256 digits: c = Σ_j 256^j·d_j with d_j ∈ [−128, 127].
                let idx = packed_index(r, k, kp);
                let mut rest = c;
                for digit in digits.iter_mut() {
                    let lo = (rest + 128).rem_euclid(256) - 128;
                    digit[idx] = lo as i8;
                    rest = (rest - lo) / 256;
                }
                if rest != 0 {
                    return Err(InferError::Invalid(format!(
                        "weight code {c} does not fit {} bits",
                        weight.bits()
                    )));
                }
            }
        }
        let o = act_offset(act);
        let correction = (0..rows)
            .map(|r| o * codes[r * d..(r + 1) * d].iter().sum::<i64>())
            .collect();
        Ok(Self {
            rows,
            d,
            kp,
            rows_pad,
            offset: o,
            act_digits: act_digits_of(act.bits()),
            digits,
            correction,
        })
    }
}

/// Position of weight (row r, input k) in the VNNI layout: blocks of 64 rows, then groups of 4
/// inputs, then the 64 rows × 4 bytes of the group.
fn packed_index(r: usize, k: usize, kp: usize) -> usize {
    (r / NR) * NR * kp + (k / 4) * NR * 4 + (r % NR) * 4 + k % 4
}

/// c[b][p][o] (b = row block of 64, o < 64) = Σ_k a[p][k]·w[b·64 + o][k] for `n` activation
/// rows of `kp` bytes and row blocks `b0..b1`; `c` holds (b1 − b0)·n·64 values.
type Kernel = fn(&[u8], usize, usize, &[i8], usize, usize, &mut [i32]);

fn gemm_portable(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &mut [i32]) {
    assert!(a.len() >= n * kp && c.len() >= (b1 - b0) * n * NR && w.len() >= b1 * NR * kp);
    for b in b0..b1 {
        let panel = &w[b * NR * kp..(b + 1) * NR * kp];
        for p in 0..n {
            let row = &a[p * kp..(p + 1) * kp];
            let out = &mut c[((b - b0) * n + p) * NR..][..NR];
            out.fill(0);
            for (g, quad) in row.chunks_exact(4).enumerate() {
                let wg = &panel[g * NR * 4..(g + 1) * NR * 4];
                for (o, acc) in out.iter_mut().enumerate() {
                    for t in 0..4 {
                        *acc += quad[t] as i32 * wg[o * 4 + t] as i32;
                    }
                }
            }
        }
    }
}

/// Checks the sizes every SIMD kernel relies on.
fn check_kernel_args(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &[i32]) {
    assert!(
        a.len() >= n * kp
            && c.len() >= (b1 - b0) * n * NR
            && w.len() >= b1 * NR * kp
            && kp.is_multiple_of(KP_ALIGN)
    );
}

#[cfg(target_arch = "x86_64")]
fn gemm_vnni(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &mut [i32]) {
    assert!(detected_level() >= SimdLevel::Avx512Vnni);
    check_kernel_args(a, n, kp, w, b0, b1, c);
    // SAFETY: the CPU features were detected and the bounds checked above.
    unsafe { vnni::gemm(a, n, kp, w, b0, b1, c) };
}

#[cfg(target_arch = "x86_64")]
fn gemm_amx(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &mut [i32]) {
    assert!(detected_level() >= SimdLevel::Amx);
    check_kernel_args(a, n, kp, w, b0, b1, c);
    // SAFETY: AMX (and the tile permission) and VNNI were detected, the bounds checked above.
    unsafe { amx::gemm(a, n, kp, w, b0, b1, c) };
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(
        a: &[u8],
        n: usize,
        kp: usize,
        w: &[i8],
        b0: usize,
        b1: usize,
        c: &mut [i32],
    ) {
        for b in b0..b1 {
            positions(a, n, 0, kp, w, b, b0, c);
        }
    }

    /// Positions `p0..n` of row block `b` (the AMX kernel's leftovers use it too).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn positions(
        a: &[u8],
        n: usize,
        p0: usize,
        kp: usize,
        w: &[i8],
        b: usize,
        b0: usize,
        c: &mut [i32],
    ) {
        let panel = w.as_ptr().add(b * NR * kp);
        let mut p = p0;
        while p < n {
            let out = c.as_mut_ptr().add(((b - b0) * n + p) * NR);
            let ap = a.as_ptr().add(p * kp);
            match n - p {
                1 => block::<1>(ap, kp, panel, out),
                2 => block::<2>(ap, kp, panel, out),
                3 => block::<3>(ap, kp, panel, out),
                _ => block::<MR>(ap, kp, panel, out),
            }
            p += MR;
        }
    }

    /// M positions × 64 rows: per group of 4 inputs, 4 weight loads, M broadcasts, 4·M vpdpbusd.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn block<const M: usize>(a: *const u8, kp: usize, panel: *const i8, out: *mut i32) {
        let mut acc = [[_mm512_setzero_si512(); 4]; M];
        let mut k = 0;
        while k < kp {
            let wp = panel.add(k * NR);
            let w0 = _mm512_loadu_si512(wp as *const _);
            let w1 = _mm512_loadu_si512(wp.add(64) as *const _);
            let w2 = _mm512_loadu_si512(wp.add(128) as *const _);
            let w3 = _mm512_loadu_si512(wp.add(192) as *const _);
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_epi32((a.add(i * kp + k) as *const i32).read_unaligned());
                row[0] = _mm512_dpbusd_epi32(row[0], av, w0);
                row[1] = _mm512_dpbusd_epi32(row[1], av, w1);
                row[2] = _mm512_dpbusd_epi32(row[2], av, w2);
                row[3] = _mm512_dpbusd_epi32(row[3], av, w3);
            }
            k += 4;
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                _mm512_storeu_si512(out.add(i * NR + j * 16) as *mut _, *v);
            }
        }
    }
}

/// AMX-INT8 through inline assembly (the AMX intrinsics are not stable Rust yet).
///
/// Tiles: tmm0–3 accumulate C (16 positions × 16 rows of i32 each), tmm4–5 hold A (16 positions
/// × 64 input bytes), tmm6–7 hold B (16 groups of 4 inputs × 16 rows × 4 bytes). In the packed
/// layout a B tile is 16 lines of 64 bytes at a stride of 256 bytes (one group of 64 rows).
#[cfg(target_arch = "x86_64")]
mod amx {
    use super::NR;
    use std::arch::asm;

    /// Asks Linux for the AMX tile-data state (`arch_prctl(ARCH_REQ_XCOMP_PERM,
    /// XFEATURE_XTILEDATA)`), once per process; true when the CPU has AMX-TILE and AMX-INT8 and
    /// the kernel granted it.
    pub(super) fn enable() -> bool {
        // CPUID leaf 7, sub-leaf 0: EDX bit 24 = AMX-TILE, bit 25 = AMX-INT8.
        let edx = std::arch::x86_64::__cpuid_count(7, 0).edx;
        if edx & (1 << 24) == 0 || edx & (1 << 25) == 0 {
            return false;
        }
        #[cfg(target_os = "linux")]
        {
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            // SAFETY: a plain system call with integer arguments.
            unsafe {
                libc::syscall(
                    libc::SYS_arch_prctl,
                    ARCH_REQ_XCOMP_PERM,
                    XFEATURE_XTILEDATA,
                ) == 0
            }
        }
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// The tile configuration: palette 1, eight tiles of 16 lines × 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    const TILE_CONFIG: TileConfig = {
        let mut c = [0u8; 64];
        c[0] = 1;
        let mut t = 0;
        while t < 8 {
            c[16 + 2 * t] = 64;
            c[48 + t] = 16;
            t += 1;
        }
        TileConfig(c)
    };

    /// Same contract as the VNNI kernel. Safety: AMX enabled ([`enable`]), AVX-512 VNNI present,
    /// bounds as in `check_kernel_args`.
    pub(super) unsafe fn gemm(
        a: &[u8],
        n: usize,
        kp: usize,
        w: &[i8],
        b0: usize,
        b1: usize,
        c: &mut [i32],
    ) {
        let cfg = TILE_CONFIG;
        asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly));
        let n16 = n / 16 * 16;
        let steps = kp / 64;
        let (ap, wp, cp) = (a.as_ptr(), w.as_ptr(), c.as_mut_ptr());
        for b in b0..b1 {
            let panel = wp.add(b * NR * kp);
            for half in 0..2 {
                // B tiles of rows 32·half + 0..16 and + 16..32 of the block.
                let bt = panel.add(half * 32 * 4);
                let mut p = 0;
                while p < n16 {
                    let pair = n16 - p >= 32;
                    let at = ap.add(p * kp);
                    let ct = cp.add(((b - b0) * n + p) * NR + half * 32);
                    if pair {
                        pair_2x2(at, kp, bt, steps, ct);
                        p += 32;
                    } else {
                        single_1x2(at, kp, bt, steps, ct);
                        p += 16;
                    }
                }
            }
            if n16 < n {
                super::vnni::positions(a, n, n16, kp, w, b, b0, c);
            }
        }
        asm!("tilerelease", options(nostack, nomem));
    }

    /// C[32 positions × 32 rows] = A[32 × kp] · B[kp × 32]: four accumulator tiles.
    #[inline(always)]
    unsafe fn pair_2x2(a: *const u8, kp: usize, b: *const i8, steps: usize, c: *mut i32) {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            "2:",
            "tileloadd tmm4, [{a} + {kp}*1]",
            "tileloadd tmm5, [{a2} + {kp}*1]",
            "tileloadd tmm6, [{b} + {bs}*1]",
            "tileloadd tmm7, [{b} + {bs}*1 + 64]",
            "tdpbusd tmm0, tmm4, tmm6",
            "tdpbusd tmm1, tmm4, tmm7",
            "tdpbusd tmm2, tmm5, tmm6",
            "tdpbusd tmm3, tmm5, tmm7",
            "add {a}, 64",
            "add {a2}, 64",
            "add {b}, {bstep}",
            "dec {steps}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 64], tmm1",
            "tilestored [{c2} + {cs}*1], tmm2",
            "tilestored [{c2} + {cs}*1 + 64], tmm3",
            a = inout(reg) a => _,
            a2 = inout(reg) a.add(16 * kp) => _,
            b = inout(reg) b => _,
            steps = inout(reg) steps => _,
            kp = in(reg) kp,
            bs = in(reg) NR * 4,
            bstep = in(reg) 16 * NR * 4,
            c = in(reg) c,
            c2 = in(reg) c.add(16 * NR),
            cs = in(reg) NR * 4,
            options(nostack),
        );
    }

    /// C[16 positions × 32 rows] = A[16 × kp] · B[kp × 32]: two accumulator tiles.
    #[inline(always)]
    unsafe fn single_1x2(a: *const u8, kp: usize, b: *const i8, steps: usize, c: *mut i32) {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "2:",
            "tileloadd tmm4, [{a} + {kp}*1]",
            "tileloadd tmm6, [{b} + {bs}*1]",
            "tileloadd tmm7, [{b} + {bs}*1 + 64]",
            "tdpbusd tmm0, tmm4, tmm6",
            "tdpbusd tmm1, tmm4, tmm7",
            "add {a}, 64",
            "add {b}, {bstep}",
            "dec {steps}",
            "jnz 2b",
            "tilestored [{c} + {cs}*1], tmm0",
            "tilestored [{c} + {cs}*1 + 64], tmm1",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            steps = inout(reg) steps => _,
            kp = in(reg) kp,
            bs = in(reg) NR * 4,
            bstep = in(reg) 16 * NR * 4,
            c = in(reg) c,
            cs = in(reg) NR * 4,
            options(nostack),
        );
    }
}

/// Reusable buffers of [`dot_rows`].
#[derive(Default)]
struct Scratch {
    acc: Vec<i32>,
    total: Vec<i64>,
    digit: Vec<u8>,
}

/// Activation rows for [`dot_rows`]: single u8 digits, or u16 codes split into digits there.
#[derive(Clone, Copy)]
enum Rows<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Where [`dot_rows`] writes S(p, r): `out[p·ld + r − col0]`, or transposed `out[(r − col0)·ld + p]`.
#[derive(Clone, Copy)]
struct OutLayout {
    ld: usize,
    col0: usize,
    transposed: bool,
}

/// Exact sums of one batch of activation rows: `codes` is n rows of `kp` offset codes;
/// computes S(p, r) = Σ_k k_a·k_w (offset removed) for the rows of blocks `b0..b1` and writes
/// `emit(S, r)` at the place `lay` gives.
///
/// With an AVX-512 level the digit splitting, the digit-sum accumulation and the epilogue are
/// compiled for AVX-512 (F/BW/DQ/VL, checked by [`detected_level`]), which vectorises the
/// multi-digit bookkeeping.
#[allow(clippy::too_many_arguments)]
fn dot_rows<T: Copy>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: IntKernel,
    b0: usize,
    b1: usize,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: impl Fn(i64, usize) -> T,
) {
    #[cfg(target_arch = "x86_64")]
    if kernel.level >= SimdLevel::Avx512Vnni {
        // SAFETY: an `IntKernel` above `Portable` exists only where `detected_level` found
        // AVX-512 F/BW/DQ/VL (and VNNI) on this CPU.
        unsafe { dot_rows_avx512(codes, n, pw, kernel.gemm(), b0, b1, out, lay, sc, emit) };
        return;
    }
    dot_rows_body(codes, n, pw, kernel.gemm(), b0, b1, out, lay, sc, emit);
}

/// [`dot_rows_body`] compiled for AVX-512.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_rows_avx512<T: Copy>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: Kernel,
    b0: usize,
    b1: usize,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: impl Fn(i64, usize) -> T,
) {
    dot_rows_body(codes, n, pw, kernel, b0, b1, out, lay, sc, emit);
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dot_rows_body<T: Copy>(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: Kernel,
    b0: usize,
    b1: usize,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: impl Fn(i64, usize) -> T,
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
        let acc = &sc.acc;
        write_sums(|i| acc[i] as i64, n, pw, b0, b1, out, lay, &emit);
    } else {
        let total = &sc.total;
        write_sums(|i| total[i], n, pw, b0, b1, out, lay, &emit);
    }
}

/// Writes `emit(S − correction, r)` for the kernel output `sum(i)` (layout c[b][p][o]) of row
/// blocks `b0..b1` where `lay` says.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn write_sums<T: Copy>(
    sum: impl Fn(usize) -> i64,
    n: usize,
    pw: &PackedWeights,
    b0: usize,
    b1: usize,
    out: &mut [T],
    lay: OutLayout,
    emit: &impl Fn(i64, usize) -> T,
) {
    /// Positions per pass of the transposed write: their 64-row lines stay in L1 for every row.
    const PC: usize = 32;
    for b in b0..b1 {
        let rmax = (pw.rows - b * NR).min(NR);
        let base = (b - b0) * n * NR;
        if lay.transposed {
            for p0 in (0..n).step_by(PC) {
                let p1 = (p0 + PC).min(n);
                for o in 0..rmax {
                    let r = b * NR + o;
                    let corr = pw.correction[r];
                    let dst = &mut out[(r - lay.col0) * lay.ld + p0..][..p1 - p0];
                    for (p, d) in (p0..p1).zip(dst) {
                        *d = emit(sum(base + p * NR + o) - corr, r);
                    }
                }
            }
        } else {
            for p in 0..n {
                let dst = &mut out[p * lay.ld + b * NR - lay.col0..][..rmax];
                for (o, d) in dst.iter_mut().enumerate() {
                    let r = b * NR + o;
                    *d = emit(sum(base + p * NR + o) - pw.correction[r], r);
                }
            }
        }
    }
}

/// Unfolds one image of codes into rows of patches: row p (an output position) holds the
/// D = C·k·k inputs of that position in (c, i, j) order, then zeros up to `kp`. Positions in the
/// zero padding of the image hold `pad` (the code of the value 0).
pub fn im2row<T: Copy + Default>(x: &[T], g: &ConvGeom, kp: usize, pad: T, rows: &mut [T]) {
    // A fixed kernel width lets the compiler copy each patch line with plain moves.
    match g.k {
        1 => im2row_k::<T, 1>(x, g, kp, pad, rows),
        3 => im2row_k::<T, 3>(x, g, kp, pad, rows),
        5 => im2row_k::<T, 5>(x, g, kp, pad, rows),
        _ => im2row_any(x, g, kp, pad, rows),
    }
}

fn im2row_k<T: Copy + Default, const K: usize>(
    x: &[T],
    g: &ConvGeom,
    kp: usize,
    pad: T,
    rows: &mut [T],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(g.k == K && rows.len() >= oh * ow * kp && x.len() >= g.in_len());
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut rows[(oy * ow + ox) * kp..][..kp];
            let x0 = (ox * g.stride) as isize - g.pad as isize;
            let inside_x = x0 >= 0 && x0 as usize + K <= g.in_w;
            let (patch, rest) = row.split_at_mut(g.in_c * K * K);
            for (ci, plane) in patch.chunks_exact_mut(K * K).enumerate() {
                for (i, dst) in plane.chunks_exact_mut(K).enumerate() {
                    let dst: &mut [T; K] = dst.try_into().expect("K values");
                    let y = (oy * g.stride + i) as isize - g.pad as isize;
                    if y < 0 || y >= g.in_h as isize {
                        *dst = [pad; K];
                        continue;
                    }
                    let line = &x[(ci * g.in_h + y as usize) * g.in_w..][..g.in_w];
                    if inside_x {
                        *dst = line[x0 as usize..x0 as usize + K]
                            .try_into()
                            .expect("K values");
                    } else {
                        for (j, d) in dst.iter_mut().enumerate() {
                            let xx = x0 + j as isize;
                            *d = if xx < 0 || xx >= g.in_w as isize {
                                pad
                            } else {
                                line[xx as usize]
                            };
                        }
                    }
                }
            }
            rest.fill(T::default());
        }
    }
}

fn im2row_any<T: Copy + Default>(x: &[T], g: &ConvGeom, kp: usize, pad: T, rows: &mut [T]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(rows.len() >= oh * ow * kp && x.len() >= g.in_len());
    let k = g.k;
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut rows[(oy * ow + ox) * kp..][..kp];
            let x0 = (ox * g.stride) as isize - g.pad as isize;
            let inside_x = x0 >= 0 && x0 as usize + k <= g.in_w;
            let mut t = 0;
            for c in 0..g.in_c {
                for i in 0..k {
                    let y = (oy * g.stride + i) as isize - g.pad as isize;
                    let dst = &mut row[t..t + k];
                    t += k;
                    if y < 0 || y >= g.in_h as isize {
                        dst.fill(pad);
                        continue;
                    }
                    let line = &x[(c * g.in_h + y as usize) * g.in_w..][..g.in_w];
                    if inside_x {
                        dst.copy_from_slice(&line[x0 as usize..x0 as usize + k]);
                    } else {
                        for (j, d) in dst.iter_mut().enumerate() {
                            let xx = x0 + j as isize;
                            *d = if xx < 0 || xx >= g.in_w as isize {
                                pad
                            } else {
                                line[xx as usize]
                            };
                        }
                    }
                }
            }
            row[t..].fill(T::default());
        }
    }
}

/// The activations of an integer layer: offset codes already made, or float values quantized on
/// the fly by the layer's activation quantizer (one pass less over memory).
#[derive(Clone, Copy)]
pub enum Activations<'a> {
    /// Offset codes k_a + o, as [`activation_codes_u16`] makes them.
    Codes(&'a [u16]),
    /// Float activations and their quantizer.
    Float(&'a [f32], &'a Quantizer),
}

impl Activations<'_> {
    fn len(&self) -> usize {
        match self {
            Activations::Codes(c) => c.len(),
            Activations::Float(x, _) => x.len(),
        }
    }

    /// Offset codes of values `start..start + dst.len()` into `dst` (u8 for single-digit codes,
    /// u16 otherwise; the quantizer's range keeps the codes within the type).
    fn fill<T: Code>(&self, start: usize, dst: &mut [T], offset: i64) {
        match self {
            Activations::Codes(c) => {
                for (d, &v) in dst.iter_mut().zip(&c[start..]) {
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
trait Code: Copy + Default + Send + Sync {
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

/// y = (S·scale + bias) rounded once to f32, with S the exact integer sum: the dequantizing
/// output of a layer.
#[derive(Clone, Copy)]
pub struct Dequantize<'a> {
    /// Δ_A·Δ_W.
    pub scale: f64,
    /// Per-row bias (float), if any.
    pub bias: Option<&'a [f32]>,
}

impl Dequantize<'_> {
    #[inline]
    fn apply(&self, s: i64, row: usize) -> f32 {
        let b = self.bias.map_or(0.0, |b| b[row] as f64);
        (s as f64 * self.scale + b) as f32
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
    conv2d_into(
        Activations::Codes(codes),
        n,
        g,
        pw,
        kernel,
        &mut out,
        |s, _| s,
    );
    out
}

/// A quantized convolution end to end: float activations quantized by `act`, exact integer sums,
/// then [`Dequantize`] (bias per output channel). Equal, bit for bit, to [`conv2d`] on
/// [`activation_codes_u16`] followed by `de`, in one pass per image.
pub fn conv2d_dequantized(
    x: &[f32],
    act: &Quantizer,
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    de: Dequantize<'_>,
) -> Vec<f32> {
    let mut out = vec![0f32; n * g.out_len()];
    let src = Activations::Float(x, act);
    conv2d_into(src, n, g, pw, IntKernel::best(), &mut out, |s, r| {
        de.apply(s, r)
    });
    out
}

fn conv2d_into<T: Copy + Send>(
    src: Activations<'_>,
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    kernel: IntKernel,
    out: &mut [T],
    emit: impl Fn(i64, usize) -> T + Sync,
) {
    assert_eq!(src.len(), n * g.in_len());
    assert_eq!(out.len(), n * g.out_len());
    assert_eq!((pw.rows, pw.d), (g.out_c, g.d()));
    let hw = g.out_h() * g.out_w();
    let lay = OutLayout {
        ld: hw,
        col0: 0,
        transposed: true,
    };
    let blocks = pw.rows_pad / NR;
    let (in_len, out_len) = (g.in_len().max(1), g.out_len().max(1));
    let emit = &emit;
    if pw.act_digits == 1 {
        out.par_chunks_mut(out_len).enumerate().for_each_init(
            || (vec![0u8; in_len], vec![0u8; hw * pw.kp], Scratch::default()),
            |(x8, rows, sc), (i, y)| {
                src.fill(i * in_len, x8, pw.offset);
                im2row(x8, g, pw.kp, pw.offset as u8, rows);
                dot_rows(Rows::U8(rows), hw, pw, kernel, 0, blocks, y, lay, sc, emit);
            },
        );
    } else {
        out.par_chunks_mut(out_len).enumerate().for_each_init(
            || {
                (
                    vec![0u16; in_len],
                    vec![0u16; hw * pw.kp],
                    Scratch::default(),
                )
            },
            |(x16, rows, sc), (i, y)| {
                src.fill(i * in_len, x16, pw.offset);
                im2row(x16, g, pw.kp, pw.offset as u16, rows);
                dot_rows(Rows::U16(rows), hw, pw, kernel, 0, blocks, y, lay, sc, emit);
            },
        );
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
    linear_into(Activations::Codes(codes), n, pw, kernel, &mut out, |s, _| s);
    out
}

/// A quantized linear layer end to end (see [`conv2d_dequantized`]; bias per output feature).
pub fn linear_dequantized(
    x: &[f32],
    act: &Quantizer,
    n: usize,
    pw: &PackedWeights,
    de: Dequantize<'_>,
) -> Vec<f32> {
    let mut out = vec![0f32; n * pw.rows];
    let src = Activations::Float(x, act);
    linear_into(src, n, pw, IntKernel::best(), &mut out, |s, r| {
        de.apply(s, r)
    });
    out
}

fn linear_into<T: Copy + Send + Default>(
    src: Activations<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: IntKernel,
    out: &mut [T],
    emit: impl Fn(i64, usize) -> T + Sync,
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
    let emit = &emit;
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
            dot_rows(rows, n, pw, kernel, b, b + 1, &mut s, lay, sc, emit);
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
