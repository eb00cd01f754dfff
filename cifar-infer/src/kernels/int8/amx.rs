//! AMX-INT8 through inline assembly (the AMX intrinsics are not stable Rust yet).
//!
//! Tiles: tmm0–3 accumulate C (16 positions × 16 rows of i32 each), tmm4–5 hold A (16 positions
//! × 64 input bytes), tmm6–7 hold B (16 groups of 4 inputs × 16 rows × 4 bytes). In the packed
//! layout a B tile is 16 lines of 64 bytes at a stride of 256 bytes (one group of 64 rows).
use super::cpu::{detected_level, SimdLevel};
use super::portable::check_kernel_args;
use super::NR;
use std::arch::asm;

/// The AMX micro-kernel behind the [`Kernel`](super::portable::Kernel) contract.
pub(super) fn gemm_amx(
    a: &[u8],
    n: usize,
    kp: usize,
    w: &[i8],
    b0: usize,
    b1: usize,
    c: &mut [i32],
) {
    assert!(detected_level() >= SimdLevel::Amx && kp.is_multiple_of(super::KP_AMX));
    check_kernel_args(a, n, kp, w, b0, b1, c);
    // SAFETY: AMX (and the tile permission) and VNNI were detected, the bounds checked above.
    unsafe { gemm(a, n, kp, w, b0, b1, c) };
}

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
