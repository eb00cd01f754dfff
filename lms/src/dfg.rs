//! Data-flow graphs (DFGs) of the LMS and delayed-LMS architectures (Problems 6.3 and 7.3):
//! critical path, latency and throughput — symbolic in T_M, T_A and numeric — and
//! Leiserson–Saxe retiming.
//!
//! A node is a multiplier (time T_M), an adder/subtractor (T_A) or an I/O port (time 0); an edge
//! u → v carries w(e) ≥ 0 delays (registers). The critical path is the longest path through
//! zero-delay edges. Retiming assigns r(v) ∈ ℤ to every node and moves delays:
//! w_r(e) = w(e) + r(v) − r(u). A clock period c is feasible iff the system
//! r(u) − r(v) ≤ w(e) (every edge) and r(u) − r(v) ≤ W(u,v) − 1 (every pair with D(u,v) > c)
//! has a solution (Leiserson & Saxe, "Retiming synchronous circuitry", Algorithmica 1991), where
//! W(u,v) is the minimum number of delays on a u → v path and D(u,v) the largest computation
//! time among those minimum-delay paths. The system is solved with Bellman–Ford on its
//! constraint graph. Delays may move across the input port (pipelining), which changes the
//! latency but not the function.
//!
//! `retime` holds the Leiserson–Saxe W/D matrices and retiming, `draw` the DOT and SVG
//! drawings, `arch` the (delayed) LMS architecture built as a graph.
mod arch;
mod draw;
mod retime;

use crate::error::{LmsError, Result};
pub use arch::{lms_architecture, min_delay_for_period, ArchOptions};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a node and therefore its computation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// A multiplier, T_M.
    Mul,
    /// An adder or subtractor, T_A.
    Add,
    /// An input or output port, no computation.
    Io,
}

/// Node computation times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Multiplier delay T_M.
    pub t_m: f64,
    /// Adder delay T_A.
    pub t_a: f64,
}

impl Timing {
    /// Validated timing (finite, positive).
    pub fn new(t_m: f64, t_a: f64) -> Result<Self> {
        crate::error::check_positive("T_M", t_m)?;
        crate::error::check_positive("T_A", t_a)?;
        Ok(Self { t_m, t_a })
    }
    fn of(&self, k: OpKind) -> f64 {
        match k {
            OpKind::Mul => self.t_m,
            OpKind::Add => self.t_a,
            OpKind::Io => 0.0,
        }
    }
}

/// A symbolic path time m·T_M + a·T_A (serialized as its text, e.g. `"3T_M + 4T_A"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PathTime {
    /// Multipliers on the path.
    pub muls: u32,
    /// Adders on the path.
    pub adds: u32,
}

impl PathTime {
    fn with(self, k: OpKind) -> Self {
        match k {
            OpKind::Mul => Self {
                muls: self.muls + 1,
                ..self
            },
            OpKind::Add => Self {
                adds: self.adds + 1,
                ..self
            },
            OpKind::Io => self,
        }
    }
    /// Numeric value m·T_M + a·T_A.
    pub fn eval(&self, t: &Timing) -> f64 {
        self.muls as f64 * t.t_m + self.adds as f64 * t.t_a
    }
    /// Throughput 1/(path) as a symbolic string.
    pub fn throughput(&self) -> String {
        match self.muls + self.adds {
            0 => "unbounded".into(),
            1 => format!("1/{self}"),
            _ => format!("1/({self})"),
        }
    }
}

impl fmt::Display for PathTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let term = |n: u32, s: &str| match n {
            0 => None,
            1 => Some(s.to_string()),
            n => Some(format!("{n}{s}")),
        };
        let parts: Vec<String> = [term(self.muls, "T_M"), term(self.adds, "T_A")]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            write!(f, "0")
        } else {
            write!(f, "{}", parts.join(" + "))
        }
    }
}

impl From<PathTime> for String {
    fn from(p: PathTime) -> Self {
        p.to_string()
    }
}

impl TryFrom<String> for PathTime {
    type Error = LmsError;

    /// Parses the [`fmt::Display`] form: `0`, `T_M`, `3T_M + 4T_A`, `2T_A`, ...
    fn try_from(text: String) -> Result<Self> {
        let mut p = Self::default();
        if text.trim() == "0" {
            return Ok(p);
        }
        for term in text.split('+').map(str::trim) {
            let bad = || LmsError::Invalid {
                what: "path time",
                reason: format!("{text:?} is not of the form aT_M + bT_A"),
            };
            let (count, slot) = if let Some(n) = term.strip_suffix("T_M") {
                (n, &mut p.muls)
            } else if let Some(n) = term.strip_suffix("T_A") {
                (n, &mut p.adds)
            } else {
                return Err(bad());
            };
            *slot = if count.is_empty() {
                1
            } else {
                count.parse().map_err(|_| bad())?
            };
        }
        Ok(p)
    }
}

/// A DFG node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Identifier (DOT-safe).
    pub name: String,
    /// Operation.
    pub kind: OpKind,
    /// Label for drawings (e.g. "×", "+", "−", "x_n").
    pub label: String,
    /// Drawing position (column, row).
    pub pos: (f64, f64),
}

/// A DFG edge u → v with `delays` registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Source node index.
    pub from: usize,
    /// Target node index.
    pub to: usize,
    /// Number of delays.
    pub delays: i64,
}

/// A data-flow graph.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dfg {
    /// Title used in drawings.
    pub title: String,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Edges.
    pub edges: Vec<Edge>,
}

/// The Leiserson–Saxe matrices (W, D): W[u][v] = minimum delays on a u → v path (`None` when
/// there is no path), D[u][v] = largest computation time among those paths.
pub type WdMatrices = (Vec<Vec<Option<i64>>>, Vec<Vec<f64>>);

/// A longest zero-delay path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CriticalPath {
    /// Symbolic time.
    pub symbolic: PathTime,
    /// Numeric time for the given timing.
    pub time: f64,
    /// Node names along the path.
    pub nodes: Vec<String>,
}

/// The critical path over a range of timings: `path` is the longest zero-delay path for
/// `from_ratio` ≤ T_M/T_A ≤ `to_ratio` (`None`: no upper end).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PathRegime {
    /// The critical path in this range.
    pub path: PathTime,
    /// Lower end of T_M/T_A.
    pub from_ratio: f64,
    /// Upper end of T_M/T_A, `None` when unbounded.
    pub to_ratio: Option<f64>,
}

/// The path times of `paths` that no other one exceeds in both counts (duplicates removed).
fn non_dominated(paths: impl Iterator<Item = PathTime>) -> Vec<PathTime> {
    let all: Vec<PathTime> = paths.collect();
    let mut out: Vec<PathTime> = vec![];
    for p in &all {
        let dominated = all
            .iter()
            .any(|q| q != p && q.muls >= p.muls && q.adds >= p.adds);
        if !dominated && !out.contains(p) {
            out.push(*p);
        }
    }
    out
}

/// The result of a feasibility test of a clock period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Retiming {
    /// Clock period tested.
    pub period: f64,
    /// r(v) per node (normalised so that min r = 0), `None` when infeasible.
    pub r: Option<Vec<i64>>,
}

impl Dfg {
    /// An empty graph.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }

    /// Adds a node and returns its index.
    pub fn node(&mut self, name: &str, kind: OpKind, label: &str, pos: (f64, f64)) -> usize {
        self.nodes.push(Node {
            name: name.into(),
            kind,
            label: label.into(),
            pos,
        });
        self.nodes.len() - 1
    }

    /// Adds an edge.
    pub fn edge(&mut self, from: usize, to: usize, delays: i64) {
        self.edges.push(Edge { from, to, delays });
    }

    /// Index of the node called `name`.
    pub fn index(&self, name: &str) -> Result<usize> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .ok_or_else(|| LmsError::Graph(format!("no node {name:?}")))
    }

    fn check(&self) -> Result<()> {
        for e in &self.edges {
            if e.from >= self.nodes.len() || e.to >= self.nodes.len() {
                return Err(LmsError::Graph(format!("edge {e:?} names a missing node")));
            }
            if e.delays < 0 {
                return Err(LmsError::Graph(format!(
                    "edge {e:?} has a negative delay count"
                )));
            }
        }
        Ok(())
    }

    /// The nodes in a topological order of the zero-delay edges (an error when they form a
    /// cycle: the graph is not computable).
    fn zero_delay_order(&self) -> Result<Vec<usize>> {
        self.check()?;
        let n = self.nodes.len();
        let mut indeg = vec![0usize; n];
        for e in self.edges.iter().filter(|e| e.delays == 0) {
            indeg[e.to] += 1;
        }
        let mut order: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
        let mut i = 0;
        while i < order.len() {
            let u = order[i];
            for e in self.edges.iter().filter(|e| e.delays == 0 && e.from == u) {
                indeg[e.to] -= 1;
                if indeg[e.to] == 0 {
                    order.push(e.to);
                }
            }
            i += 1;
        }
        if order.len() != n {
            return Err(LmsError::Graph(
                "a cycle without delays (the graph is not computable)".into(),
            ));
        }
        Ok(order)
    }

    /// Longest zero-delay path ending at each node: (time, symbolic, predecessor).
    fn longest_zero_delay(&self, t: &Timing) -> Result<Vec<(f64, PathTime, Option<usize>)>> {
        let order = self.zero_delay_order()?;
        let mut best: Vec<(f64, PathTime, Option<usize>)> = self
            .nodes
            .iter()
            .map(|v| (t.of(v.kind), PathTime::default().with(v.kind), None))
            .collect();
        for &u in &order {
            for e in self.edges.iter().filter(|e| e.delays == 0 && e.from == u) {
                let k = self.nodes[e.to].kind;
                let cand = best[u].0 + t.of(k);
                if cand > best[e.to].0 + 1e-12 {
                    best[e.to] = (cand, best[u].1.with(k), Some(u));
                }
            }
        }
        Ok(best)
    }

    fn path_to(&self, best: &[(f64, PathTime, Option<usize>)], end: usize) -> CriticalPath {
        let mut nodes = vec![];
        let mut v = Some(end);
        while let Some(u) = v {
            nodes.push(self.nodes[u].name.clone());
            v = best[u].2;
        }
        nodes.reverse();
        CriticalPath {
            symbolic: best[end].1,
            time: best[end].0,
            nodes,
        }
    }

    /// The critical path: the longest path through zero-delay edges.
    pub fn critical_path(&self, t: &Timing) -> Result<CriticalPath> {
        let best = self.longest_zero_delay(t)?;
        let end = (0..self.nodes.len())
            .max_by(|&a, &b| best[a].0.total_cmp(&best[b].0))
            .ok_or_else(|| LmsError::Graph("empty graph".into()))?;
        Ok(self.path_to(&best, end))
    }

    /// The zero-delay path times m·T_M + a·T_A that no other zero-delay path exceeds in both
    /// counts (the candidates for the critical path at some timing), by fewest multipliers.
    pub fn path_time_frontier(&self) -> Result<Vec<PathTime>> {
        let order = self.zero_delay_order()?;
        let mut ending: Vec<Vec<PathTime>> = self
            .nodes
            .iter()
            .map(|v| vec![PathTime::default().with(v.kind)])
            .collect();
        for &u in &order {
            for e in self.edges.iter().filter(|e| e.delays == 0 && e.from == u) {
                let k = self.nodes[e.to].kind;
                let extended: Vec<PathTime> = ending[u].iter().map(|p| p.with(k)).collect();
                ending[e.to] = non_dominated(ending[e.to].iter().chain(&extended).copied());
            }
        }
        let mut frontier = non_dominated(ending.into_iter().flatten());
        frontier.sort_by_key(|p| (p.muls, p.adds));
        Ok(frontier)
    }

    /// Which zero-delay path is critical for each ratio ρ = T_M/T_A > 0: the upper envelope of
    /// the lines ρ·m + a of [`Dfg::path_time_frontier`], in increasing ρ.
    pub fn critical_path_regimes(&self) -> Result<Vec<PathRegime>> {
        let frontier = self.path_time_frontier()?;
        // as ρ → 0 the path with the most adders (then multipliers) is the longest
        let Some(mut current) = frontier.iter().copied().max_by_key(|p| (p.adds, p.muls)) else {
            return Ok(vec![]);
        };
        let mut from = 0.0;
        let mut regimes = vec![];
        loop {
            // the first line with more multipliers to overtake the current one
            let next = frontier
                .iter()
                .filter(|p| p.muls > current.muls)
                .map(|p| {
                    let cross = (current.adds as f64 - p.adds as f64)
                        / (p.muls as f64 - current.muls as f64);
                    (cross.max(from), *p)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.muls.cmp(&a.1.muls)));
            match next {
                Some((cross, p)) => {
                    regimes.push(PathRegime {
                        path: current,
                        from_ratio: from,
                        to_ratio: Some(cross),
                    });
                    (current, from) = (p, cross);
                }
                None => {
                    regimes.push(PathRegime {
                        path: current,
                        from_ratio: from,
                        to_ratio: None,
                    });
                    return Ok(regimes);
                }
            }
        }
    }

    /// Latency: the longest zero-delay path ending at the output node `output`.
    pub fn latency(&self, t: &Timing, output: &str) -> Result<CriticalPath> {
        let best = self.longest_zero_delay(t)?;
        Ok(self.path_to(&best, self.index(output)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_time_strings() {
        assert_eq!(PathTime { muls: 3, adds: 4 }.to_string(), "3T_M + 4T_A");
        assert_eq!(PathTime { muls: 1, adds: 0 }.to_string(), "T_M");
        assert_eq!(PathTime { muls: 1, adds: 2 }.throughput(), "1/(T_M + 2T_A)");
        assert_eq!(PathTime { muls: 1, adds: 0 }.throughput(), "1/T_M");
    }

    #[test]
    fn path_time_serializes_as_its_text_and_back() {
        for (muls, adds) in [(0, 0), (1, 0), (0, 1), (3, 4), (1, 2), (12, 1)] {
            let p = PathTime { muls, adds };
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("{:?}", p.to_string()));
            assert_eq!(serde_json::from_str::<PathTime>(&json).unwrap(), p);
        }
        for bad in ["\"3T_X\"", "\"xT_M\"", "\"\"", "\"T_M + \""] {
            assert!(serde_json::from_str::<PathTime>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn critical_path_regimes_follow_the_timing() {
        let path = |muls, adds| PathTime { muls, adds };
        let dlms = lms_architecture(ArchOptions {
            taps: 3,
            delay: 6,
            count_mu: true,
        })
        .unwrap();
        assert_eq!(
            dlms.path_time_frontier().unwrap(),
            vec![path(1, 3), path(2, 1)]
        );
        let regimes = dlms.critical_path_regimes().unwrap();
        assert_eq!(regimes.len(), 2);
        assert_eq!(
            (regimes[0].path, regimes[0].to_ratio),
            (path(1, 3), Some(2.0))
        );
        assert_eq!((regimes[1].path, regimes[1].to_ratio), (path(2, 1), None));
        // each regime agrees with the numeric critical path inside it
        for (t_m, expected) in [(1.5, path(1, 3)), (3.0, path(2, 1))] {
            let cp = dlms.critical_path(&Timing::new(t_m, 1.0).unwrap()).unwrap();
            assert_eq!(cp.symbolic, expected, "T_M = {t_m}");
        }
        let lms = lms_architecture(ArchOptions {
            taps: 3,
            delay: 0,
            count_mu: true,
        })
        .unwrap();
        let one = lms.critical_path_regimes().unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].path, one[0].to_ratio), (path(3, 4), None));
    }

    #[test]
    fn zero_delay_cycle_is_an_error() {
        let mut g = Dfg::new("bad");
        let a = g.node("a", OpKind::Add, "+", (0.0, 0.0));
        let b = g.node("b", OpKind::Add, "+", (1.0, 0.0));
        g.edge(a, b, 0);
        g.edge(b, a, 0);
        assert!(g.critical_path(&Timing::new(2.0, 1.0).unwrap()).is_err());
    }
}
