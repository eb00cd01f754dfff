//! The micro-kernel contract ([`Kernel`]) and the portable scalar micro-kernel.
use super::{KP_VNNI, NR};

/// c[b][p][o] (b = row block of 64, o < 64) = Σ_k a[p][k]·w[b·64 + o][k] for `n` activation
/// rows of `kp` bytes and row blocks `b0..b1`; `c` holds (b1 − b0)·n·64 values.
pub(super) type Kernel = fn(&[u8], usize, usize, &[i8], usize, usize, &mut [i32]);

pub(super) fn gemm_portable(
    a: &[u8],
    n: usize,
    kp: usize,
    w: &[i8],
    b0: usize,
    b1: usize,
    c: &mut [i32],
) {
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
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) fn check_kernel_args(
    a: &[u8],
    n: usize,
    kp: usize,
    w: &[i8],
    b0: usize,
    b1: usize,
    c: &[i32],
) {
    assert!(
        a.len() >= n * kp
            && c.len() >= (b1 - b0) * n * NR
            && w.len() >= b1 * NR * kp
            && kp.is_multiple_of(KP_VNNI)
    );
}
