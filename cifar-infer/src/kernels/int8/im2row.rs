//! im2row: one image of codes unfolded into rows of patches, padded to the packed length.
use crate::net::ops::ConvGeom;

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

/// im2row in (i, j, c) order: the image `x` (C, H, W), or (H, W, C) when `channels_last`, is
/// first laid out (H + 2p, W + 2p, C) in `xp` with the border holding `pad`, then row p (an
/// output position) is the k runs of k·C contiguous codes of its window, then zeros up to `kp`.
/// For weights packed by [`PackedWeights::for_conv`](super::PackedWeights::for_conv).
pub(super) fn im2row_hwc<T: Copy + Default>(
    (x, channels_last): (&[T], bool),
    g: &ConvGeom,
    kp: usize,
    pad: T,
    xp: &mut Vec<T>,
    rows: &mut [T],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(rows.len() >= oh * ow * kp && g.d() <= kp);
    pad_hwc((x, channels_last), g, pad, xp);
    let c = g.in_c;
    // A run of a fixed length is copied with plain moves (a 3 × 3 kernel on 3 channels: 9
    // codes, where a call to memcpy per run cost more than the copy).
    match g.k * c {
        9 => patch_rows::<T, 9>(xp, g, kp, rows),
        _ => patch_rows::<T, 0>(xp, g, kp, rows),
    }
}

/// The image `x` (C, H, W), or (H, W, C) when `channels_last`, laid out (H + 2p, W + 2p, C) in
/// `xp`, the border holding `pad`.
pub(super) fn pad_hwc<T: Copy>(
    (x, channels_last): (&[T], bool),
    g: &ConvGeom,
    pad: T,
    xp: &mut Vec<T>,
) {
    let (c, h, w, p) = (g.in_c, g.in_h, g.in_w, g.pad);
    let wp = w + 2 * p;
    assert!(x.len() >= g.in_len());
    xp.clear();
    xp.resize((h + 2 * p) * wp * c, pad);
    if channels_last {
        for (y, line) in x.chunks_exact(w * c).take(h).enumerate() {
            xp[((y + p) * wp + p) * c..][..w * c].copy_from_slice(line);
        }
    } else {
        for (ci, plane) in x.chunks_exact(h * w).take(c).enumerate() {
            for (y, line) in plane.chunks_exact(w).enumerate() {
                let dst = &mut xp[((y + p) * wp + p) * c + ci..];
                for (xx, &v) in line.iter().enumerate() {
                    dst[xx * c] = v;
                }
            }
        }
    }
}

/// The patch rows of [`im2row_hwc`] from the padded image `xp`: runs of `RUN` codes (0: of
/// the geometry's k·C, not fixed).
fn patch_rows<T: Copy + Default, const RUN: usize>(
    xp: &[T],
    g: &ConvGeom,
    kp: usize,
    rows: &mut [T],
) {
    let (c, wp) = (g.in_c, g.in_w + 2 * g.pad);
    let (oh, ow) = (g.out_h(), g.out_w());
    let run = g.k * c;
    debug_assert!(RUN == 0 || RUN == run);
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut rows[(oy * ow + ox) * kp..][..kp];
            let (patch, rest) = row.split_at_mut(g.k * run);
            for (i, dst) in patch.chunks_exact_mut(run).enumerate() {
                let y = oy * g.stride + i;
                let src = &xp[(y * wp + ox * g.stride) * c..][..run];
                if RUN == 0 {
                    dst.copy_from_slice(src);
                } else {
                    let dst: &mut [T; RUN] = dst.try_into().expect("RUN values");
                    *dst = src.try_into().expect("RUN values");
                }
            }
            rest.fill(T::default());
        }
    }
}
