//! The blocked product C (rows × cols) = A (rows × d) · B (d × cols) of one work unit, over
//! slabs of `kc` inputs: A packed once per layer call into MR-row panels ([`PackedA`], shared by
//! the work units); B either written slab by slab by the caller (the im2col rows of a
//! convolution, [`Tiles::product`]) or packed once for good into NR-column panels ([`PackedB`]:
//! a linear layer's weights, [`Tiles::product_packed`]); every tile through the micro-kernel.
//! The sums stay in a buffer of tiles that the caller reads back ([`Tiles::row_run`]) in its
//! epilogue.
use super::tile::TileFn;
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
    /// The micro-kernel.
    pub tile: TileFn,
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
        a: &PackedA,
        cols: usize,
        slab_len: impl Fn(usize) -> usize,
        fill_b: impl Fn(usize, usize, &mut [f32]) -> SlabLayout,
    ) {
        let (rb, cb) = self.start(a, cols.div_ceil(a.shape.nr));
        grow(&mut self.b, slab_len(a.shape.kc.min(a.d)));
        let mut k0 = 0;
        while k0 < a.d {
            let kk = a.shape.kc.min(a.d - k0);
            let lay = fill_b(k0, kk, &mut self.b[..slab_len(kk)]);
            for j in 0..cb {
                let bp = self.b.as_ptr().add(j * lay.panel);
                self.column(a, rb, (k0, kk), j, bp, lay.ldb);
            }
            k0 += kk;
        }
    }

    /// C = A·B for the packed A and B's panels `p0..p1` (columns `p0·NR..p1·NR`).
    ///
    /// # Safety
    /// As [`Tiles::product`].
    pub unsafe fn product_packed(&mut self, a: &PackedA, b: &PackedB, (p0, p1): (usize, usize)) {
        assert!(
            b.d == a.d && b.nr == a.shape.nr && b.kc == a.shape.kc && p1 * b.nr <= b.cols_padded,
            "f32 product: sizes of B"
        );
        let (rb, cb) = self.start(a, p1 - p0);
        let mut k0 = 0;
        while k0 < a.d {
            let kk = a.shape.kc.min(a.d - k0);
            for j in 0..cb {
                let bp = b
                    .data
                    .as_ptr()
                    .add(k0 * b.cols_padded + (p0 + j) * kk * b.nr);
                self.column(a, rb, (k0, kk), j, bp, b.nr);
            }
            k0 += kk;
        }
    }

    /// Sets the tile shape for A and `cb` column panels; returns the row and column blocks.
    fn start(&mut self, a: &PackedA, cb: usize) -> (usize, usize) {
        let Shape { mr, nr, .. } = a.shape;
        let rb = a.rows.div_ceil(mr);
        (self.mr, self.nr, self.row_blocks) = (mr, nr, rb);
        grow(&mut self.c, rb * mr * cb * nr);
        (rb, cb)
    }

    /// The tiles of column panel `j` (B's slab rows at `bp`, `ldb` apart) for slab `k0..k0 + kk`.
    ///
    /// # Safety
    /// As [`Tiles::product`]; `bp` valid for `kk` rows of NR values `ldb` apart.
    #[inline(always)]
    unsafe fn column(
        &mut self,
        a: &PackedA,
        rb: usize,
        (k0, kk): (usize, usize),
        j: usize,
        bp: *const f32,
        ldb: usize,
    ) {
        let (mr, nr) = (a.shape.mr, a.shape.nr);
        for i in 0..rb {
            let cp = self.c.as_mut_ptr().add((j * rb + i) * mr * nr);
            let ap = a.data.as_ptr().add(rb * mr * k0 + i * kk * mr);
            (a.shape.tile)(kk, ap, bp, ldb, cp, k0 == 0);
        }
    }
}

/// B (d × cols) packed once for good, from its transpose (`cols` rows of `d` values, row-major:
/// a linear layer's weights): slab by slab of `kc` inputs, within a slab NR-column panels
/// (columns past `cols` zero), within a panel input by input the NR values of its columns.
pub(super) struct PackedB {
    data: Vec<f32>,
    d: usize,
    cols_padded: usize,
    nr: usize,
    kc: usize,
}

impl PackedB {
    /// Packs the transpose of `w` (`cols` rows of `d` values) for tiles of `nr` columns and
    /// slabs of `kc` inputs. Sequential: it runs once per layer, possibly inside a rayon task.
    pub fn transposed(w: &[f32], cols: usize, d: usize, nr: usize, kc: usize) -> Self {
        assert!(
            w.len() >= cols * d && nr > 0 && kc > 0,
            "f32 product: sizes of B"
        );
        let cols_padded = cols.next_multiple_of(nr);
        let mut data = vec![0f32; d * cols_padded];
        if cols_padded > 0 {
            for (s, slab) in data.chunks_mut(kc * cols_padded).enumerate() {
                let (k0, kk) = (s * kc, slab.len() / cols_padded);
                for (f, row) in w.chunks_exact(d).take(cols).enumerate() {
                    let panel = &mut slab[(f / nr) * kk * nr + f % nr..];
                    for (t, &v) in row[k0..k0 + kk].iter().enumerate() {
                        panel[t * nr] = v;
                    }
                }
            }
        }
        Self {
            data,
            d,
            cols_padded,
            nr,
            kc,
        }
    }

    /// Column panels.
    pub fn panels(&self) -> usize {
        self.cols_padded / self.nr
    }
}

/// Grows a buffer to at least `len` values (never shrinks: buffers are reused).
fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}
