//! Max-pooling of a convolution's exact integer sums, before its epilogue: for a layer that
//! emits the next layer's codes, the code of the largest sum is the largest code.
use super::NR;
use crate::net::ops::PoolGeom;

/// The kernel output `sums` (layout c[b][p][o], n positions, `blocks` row blocks) max-pooled
/// by `pool` into `buf` when given (then n is the pooled positions), else as it is. Exact for
/// codes: the emitted value is a non-decreasing function of each row's sum (positive scale,
/// monotone rounding and quantizer), so the code of the largest sum is the largest code.
///
/// Inlined so that the drivers' AVX-512 builds vectorise the maxima (a call compiled for the
/// baseline took SSE2, which has no 32-bit max).
#[inline(always)]
pub(super) fn pooled<'a, S: Copy + Ord + Default>(
    sums: &'a [S],
    n: usize,
    blocks: usize,
    pool: Option<&PoolGeom>,
    buf: &'a mut Vec<S>,
) -> (&'a [S], usize) {
    let Some(g) = pool else {
        return (sums, n);
    };
    let (oh, ow) = (g.out_h(), g.out_w());
    debug_assert_eq!(g.h * g.w, n);
    let m = oh * ow;
    buf.clear();
    buf.resize(blocks * m * NR, S::default());
    for (src, dst) in sums.chunks_exact(n * NR).zip(buf.chunks_exact_mut(m * NR)) {
        for (q, d) in dst.chunks_exact_mut(NR).enumerate() {
            let (qy, qx) = (q / ow, q % ow);
            let mut first = true;
            for i in 0..g.k {
                let y = (qy * g.stride + i) as isize - g.pad as isize;
                if y < 0 || y >= g.h as isize {
                    continue;
                }
                for j in 0..g.k {
                    let x = (qx * g.stride + j) as isize - g.pad as isize;
                    if x < 0 || x >= g.w as isize {
                        continue;
                    }
                    let p = y as usize * g.w + x as usize;
                    let v = &src[p * NR..][..NR];
                    if first {
                        d.copy_from_slice(v);
                        first = false;
                    } else {
                        for (d, &v) in d.iter_mut().zip(v) {
                            *d = (*d).max(v);
                        }
                    }
                }
            }
        }
    }
    (buf, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ops::max_pool2d;

    /// `pooled` equals max-pooling each row's plane (`ops::max_pool2d`, the forward pass's own),
    /// with padding, overlapping windows and two row blocks.
    #[test]
    fn pooled_sums_equal_max_pooling_each_row() {
        let g = PoolGeom {
            c: 2 * NR,
            h: 7,
            w: 6,
            k: 3,
            stride: 2,
            pad: 1,
        };
        let (n, blocks) = (g.h * g.w, 2);
        // c[b][p][o], values spread over signs.
        let sums: Vec<i64> = (0..blocks * n * NR)
            .map(|i| ((i * 7919) % 1009) as i64 - 500)
            .collect();
        let mut buf = Vec::new();
        let (got, m) = pooled(&sums, n, blocks, Some(&g), &mut buf);
        assert_eq!(m, g.out_h() * g.out_w());
        // The same sums as planes (row r = b·64 + o, then position), pooled as planes; i64
        // values below 2^24 are exact in f32.
        let planes: Vec<f32> = (0..blocks * NR)
            .flat_map(|r| {
                let (b, o) = (r / NR, r % NR);
                let sums = &sums;
                (0..n).map(move |p| sums[(b * n + p) * NR + o] as f32)
            })
            .collect();
        let want = max_pool2d(&planes, 1, &g);
        for r in 0..blocks * NR {
            for q in 0..m {
                let (b, o) = (r / NR, r % NR);
                assert_eq!(
                    got[(b * m + q) * NR + o] as f32,
                    want[r * m + q],
                    "row {r}, {q}"
                );
            }
        }
    }
}
