//! Leiserson–Saxe retiming: the W and D matrices, the feasibility test of a clock period
//! (Bellman–Ford on the constraint graph) and the retimed graph.
use super::{Dfg, Retiming, Timing, WdMatrices};
use crate::error::{LmsError, Result};

impl Dfg {
    /// The W and D matrices of Leiserson–Saxe (`None` in W where no path exists).
    #[allow(clippy::needless_range_loop)]
    pub fn wd_matrices(&self, t: &Timing) -> Result<WdMatrices> {
        self.check()?;
        let n = self.nodes.len();
        // lexicographic shortest paths of (w(e), −t(u))
        let mut dist: Vec<Vec<Option<(i64, f64)>>> = vec![vec![None; n]; n];
        for e in &self.edges {
            let c = (e.delays, -t.of(self.nodes[e.from].kind));
            let cur = &mut dist[e.from][e.to];
            if cur.is_none_or_gt(c) {
                *cur = Some(c);
            }
        }
        for k in 0..n {
            for i in 0..n {
                let Some(a) = dist[i][k] else { continue };
                for j in 0..n {
                    let Some(b) = dist[k][j] else { continue };
                    let c = (a.0 + b.0, a.1 + b.1);
                    if dist[i][j].is_none_or_gt(c) {
                        dist[i][j] = Some(c);
                    }
                }
            }
        }
        let w = dist
            .iter()
            .map(|row| row.iter().map(|d| d.map(|x| x.0)).collect())
            .collect();
        let d = dist
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(j, x)| x.map_or(f64::NEG_INFINITY, |x| t.of(self.nodes[j].kind) - x.1))
                    .collect()
            })
            .collect();
        Ok((w, d))
    }

    /// Tests whether the clock period `c` is reachable by retiming (Leiserson–Saxe, FEAS via
    /// Bellman–Ford on the constraint graph).
    pub fn retime(&self, t: &Timing, c: f64) -> Result<Retiming> {
        crate::error::check_positive("clock period", c)?;
        if self.nodes.iter().any(|v| t.of(v.kind) > c + 1e-12) {
            return Ok(Retiming { period: c, r: None });
        }
        let (w, d) = self.wd_matrices(t)?;
        let n = self.nodes.len();
        // constraint r(u) − r(v) ≤ k  →  edge v → u of weight k
        let mut cons: Vec<(usize, usize, i64)> = self
            .edges
            .iter()
            .map(|e| (e.to, e.from, e.delays))
            .collect();
        for u in 0..n {
            for v in 0..n {
                if u != v {
                    if let Some(wuv) = w[u][v] {
                        if d[u][v] > c + 1e-12 {
                            cons.push((v, u, wuv - 1));
                        }
                    }
                }
            }
        }
        let mut dist = vec![0i64; n]; // virtual source with 0-weight edges to all
        for _ in 0..n {
            let mut changed = false;
            for &(a, b, k) in &cons {
                if dist[a] + k < dist[b] {
                    dist[b] = dist[a] + k;
                    changed = true;
                }
            }
            if !changed {
                let m = dist.iter().copied().min().unwrap_or(0);
                return Ok(Retiming {
                    period: c,
                    r: Some(dist.iter().map(|x| x - m).collect()),
                });
            }
        }
        Ok(Retiming { period: c, r: None })
    }

    /// The graph retimed by `r`: w_r(e) = w(e) + r(v) − r(u). Errors when an edge would get a
    /// negative delay count.
    pub fn retimed(&self, r: &[i64]) -> Result<Dfg> {
        if r.len() != self.nodes.len() {
            return Err(LmsError::Graph(
                "retiming vector has the wrong length".into(),
            ));
        }
        let mut g = self.clone();
        for e in &mut g.edges {
            e.delays += r[e.to] - r[e.from];
            if e.delays < 0 {
                return Err(LmsError::Graph(format!(
                    "retiming gives edge {e:?} a negative delay"
                )));
            }
        }
        Ok(g)
    }
}

trait NoneOrGt {
    fn is_none_or_gt(&self, c: (i64, f64)) -> bool;
}

impl NoneOrGt for Option<(i64, f64)> {
    fn is_none_or_gt(&self, c: (i64, f64)) -> bool {
        match self {
            None => true,
            Some(x) => c.0 < x.0 || (c.0 == x.0 && c.1 < x.1 - 1e-12),
        }
    }
}
