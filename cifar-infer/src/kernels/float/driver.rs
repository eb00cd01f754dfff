//! The blocked product C (rows × cols) = A (rows × d) · B (d × cols) of one work unit, over
//! slabs of `kc` inputs: A packed once per layer call into MR-row panels ([`PackedA`], shared by
//! the work units), each slab of B written by the caller (im2col rows of a convolution, packed
//! panels of a linear layer), every tile through the micro-kernel. The sums stay in a buffer of
//! tiles that the caller reads back ([`Tiles::row_run`]) in its epilogue.
use super::tile::{RowsTileFn, TileFn};
use rayon::prelude::*;

/// A micro-kernel and its tile shape.
#[derive(Clone, Copy)]
pub(super) struct Shape {
    /// Rows of A per tile.
    pub mr: usize,
    /// Columns of B per tile (a multiple of 16).
    pub nr: usize,
    /// Inputs per slab.
    pub kc: usize,
    /// The micro-kernel on a packed A.
    pub tile: TileFn,
    /// The micro-kernel on A in place.
    pub tile_rows: RowsTileFn,
}

/// The A of a product: packed, or read in place (row-major, its rows as stored).
#[derive(Clone, Copy)]
pub(super) enum A<'a> {
    /// Packed once for the call (shared by the work units).
    Packed(&'a PackedA),
    /// `rows` rows of `d` values, row-major, with the shape to use.
    Rows {
        a: &'a [f32],
        rows: usize,
        d: usize,
        shape: Shape,
    },
}

impl A<'_> {
    /// Rows, inputs and tile shape.
    fn dims(&self) -> (usize, usize, Shape) {
        match *self {
            A::Packed(p) => (p.rows, p.d, p.shape),
            A::Rows { rows, d, shape, .. } => (rows, d, shape),
        }
    }
}

/// A (rows × d, row-major) packed for a [`Shape`]: slab by slab of `kc` inputs, within a slab
/// MR-row panels, within a panel input by input the MR values of its rows (rows past the last
/// repeat it: their sums are never read).
pub(super) struct PackedA {
    data: Vec<f32>,
    rows: usize,
    d: usize,
    shape: Shape,
}

impl PackedA {
    /// Packs `a` (`rows` rows of `d` values) for `shape`.
    pub fn new(a: &[f32], rows: usize, d: usize, shape: Shape) -> Self {
        let (mr, kc) = (shape.mr, shape.kc);
        assert!(
            a.len() >= rows * d && rows > 0 && kc > 0,
            "f32 product: sizes of A"
        );
        let rb = rows.div_ceil(mr);
        let mut data = vec![0f32; rb * mr * d];
        // Every slab but the last holds rb·MR·kc values; slabs in parallel (the layer's work
        // units wait for the whole of A).
        data.par_chunks_mut(rb * mr * kc)
            .enumerate()
            .for_each(|(s, slab)| {
                let (k0, kk) = (s * kc, slab.len() / (rb * mr));
                for (i, panel) in slab.chunks_exact_mut(mr * kk).enumerate() {
                    for r in 0..mr {
                        let row = (i * mr + r).min(rows - 1);
                        for (t, &v) in a[row * d + k0..][..kk].iter().enumerate() {
                            panel[t * mr + r] = v;
                        }
                    }
                }
            });
        Self {
            data,
            rows,
            d,
            shape,
        }
    }
}

/// The tiles of one work unit and its buffer for slabs of B (reused across the units of a
/// thread).
#[derive(Default)]
pub(super) struct Tiles {
    b: Vec<f32>,
    c: Vec<f32>,
    mr: usize,
    nr: usize,
    row_blocks: usize,
}

/// Where a slab of B lies in its buffer: row `t`, column `j` of the slab at
/// `(j / NR)·panel + t·ldb + j % NR`.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlabLayout {
    /// Values from one row of a panel to the next.
    pub ldb: usize,
    /// Values from one panel to the next.
    pub panel: usize,
}

impl Tiles {
    /// The sums of row `r`, columns `j..j + len`, when these do not cross a multiple of NR (one
    /// tile holds them, contiguously).
    #[inline(always)]
    pub fn row_run(&self, r: usize, j: usize, len: usize) -> Option<&[f32]> {
        let (mr, nr) = (self.mr, self.nr);
        (j % nr + len <= nr).then(|| {
            let s = ((j / nr) * self.row_blocks + r / mr) * mr * nr + (r % mr) * nr + j % nr;
            &self.c[s..s + len]
        })
    }

    /// Columns per B panel.
    pub fn nr(&self) -> usize {
        self.nr
    }

    /// C = A·B for the packed A and `cols` columns of B. `fill_b(k0, kk, buf)` writes rows
    /// `k0..k0 + kk` of B into `buf` (`slab_len(kk)` values, the columns past `cols` included,
    /// any finite values) and says where they lie.
    ///
    /// # Safety
    /// The CPU must run `a`'s micro-kernel (checked by the caller once, see `super::shape`).
    pub unsafe fn product(
        &mut self,
        a: A<'_>,
        cols: usize,
        slab_len: impl Fn(usize) -> usize,
        fill_b: impl Fn(usize, usize, &mut [f32]) -> SlabLayout,
    ) {
        let (rows, d, shape) = a.dims();
        let Shape { mr, nr, kc, .. } = shape;
        assert!(rows > 0 && d > 0, "f32 product: empty A");
        let (rb, cb) = (rows.div_ceil(mr), cols.div_ceil(nr));
        (self.mr, self.nr, self.row_blocks) = (mr, nr, rb);
        grow(&mut self.b, slab_len(kc.min(d)));
        grow(&mut self.c, rb * mr * cb * nr);
        // In place: the row pointers of each row block (rows past the last repeat it).
        let row_ptrs: Vec<*const f32> = match a {
            A::Rows { a, .. } => {
                assert!(a.len() >= rows * d, "f32 product: sizes of A");
                (0..rb * mr)
                    .map(|r| a.as_ptr().add(r.min(rows - 1) * d))
                    .collect()
            }
            A::Packed(_) => Vec::new(),
        };
        let mut k0 = 0;
        while k0 < d {
            let kk = kc.min(d - k0);
            let lay = fill_b(k0, kk, &mut self.b[..slab_len(kk)]);
            let mut block_ptrs = vec![std::ptr::null::<f32>(); mr];
            for j in 0..cb {
                let bp = self.b.as_ptr().add(j * lay.panel);
                for i in 0..rb {
                    let cp = self.c.as_mut_ptr().add((j * rb + i) * mr * nr);
                    match a {
                        A::Packed(p) => {
                            let ap = p.data.as_ptr().add(rb * mr * k0 + i * kk * mr);
                            (shape.tile)(kk, ap, bp, lay.ldb, cp, k0 == 0);
                        }
                        A::Rows { .. } => {
                            for (q, &r) in block_ptrs.iter_mut().zip(&row_ptrs[i * mr..]) {
                                *q = r.add(k0);
                            }
                            (shape.tile_rows)(kk, block_ptrs.as_ptr(), bp, lay.ldb, cp, k0 == 0);
                        }
                    }
                }
            }
            k0 += kk;
        }
    }
}

/// Grows a buffer to at least `len` values (never shrinks: buffers are reused).
fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}
