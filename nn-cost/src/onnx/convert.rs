//! ONNX nodes → description layers. The data path is followed from the graph input: a chain of
//! nodes becomes a list of layers, and a value read by two branches that meet again at an
//! `Add` becomes a `residual { body, shortcut }` block (the shorter branch is the shortcut; a
//! branch that is the value itself is the identity shortcut).
use super::graph::{Attributes, Graph};
use super::Param;
use crate::error::CostError;
use crate::error::Result;
use crate::spec::LayerSpec;
use std::collections::HashMap;

/// The operators the importer converts (for the message about any other).
pub const SUPPORTED_OPS: &str = "Conv, Gemm, MatMul (+ Add of a bias), Relu, Clip (0, 6 or no \
    maximum), MaxPool, AveragePool, GlobalAveragePool, ReduceMean over H and W, \
    BatchNormalization, Add (residual), Flatten, Reshape to (batch, features), Dropout, Identity";

/// How a chain of nodes ended.
enum End<'a> {
    /// At a value nothing on the data path reads (it must be the graph output).
    Output(&'a str),
    /// At the `Add` node `add`, reached with `value` as one of its inputs.
    Join { add: usize, value: &'a str },
}

/// The conversion state: the graph, the layer names used so far and the parameters collected.
pub(crate) struct Converter<'a> {
    /// The graph.
    pub(super) g: &'a Graph<'a>,
    /// Layer names given so far (kept unique), with the node of each.
    pub(super) names: HashMap<String, usize>,
    /// Nodes converted so far.
    pub(super) visited: Vec<bool>,
    /// The parameters of the layers, in layer order.
    pub params: Vec<Param>,
    /// Name of the network.
    pub(super) name: String,
}

impl<'a> Converter<'a> {
    /// A converter of `g` for a network called `name`.
    pub fn new(g: &'a Graph<'a>, name: &str) -> Self {
        Self {
            g,
            names: HashMap::new(),
            visited: vec![false; g.nodes.len()],
            params: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Converts the whole graph into layers, checking that the data path ends at the graph
    /// output and that every node on it was converted.
    pub fn layers(&mut self) -> Result<Vec<LayerSpec>> {
        let g = self.g;
        let mut layers = Vec::new();
        match self.chain(g.input, &mut layers, true)? {
            End::Output(v) if v == g.output => {}
            End::Output(v) => {
                return Err(super::graph::file_error(format!(
                    "the value {v:?} is computed but not used, and the graph output {:?} is \
                     not reached from the input through supported nodes",
                    g.output
                )))
            }
            End::Join { add, .. } => {
                return Err(g.error(
                    add,
                    "adds two values that do not branch from one common value: only residual \
                     blocks (two branches from one value, joined by an Add) are supported",
                ))
            }
        }
        if let Some(i) = (0..g.nodes.len()).find(|&i| g.on_path[i] && !self.visited[i]) {
            return Err(g.error(
                i,
                "is on the data path but not between the input and the output (a second \
                 output or a side branch is not supported)",
            ));
        }
        Ok(layers)
    }

    /// An error of the converted description (a shape that does not fit, …) told about the
    /// node the layer came from, when the error names a layer.
    pub fn locate(&self, e: CostError) -> CostError {
        let label = match &e {
            CostError::Field { layer, .. } | CostError::Layer { layer, .. } => layer,
            _ => return e,
        };
        let node = self
            .names
            .iter()
            .find(|(name, _)| label.ends_with(&format!(" {name})")))
            .map(|(_, &n)| n);
        match node {
            Some(n) => self
                .g
                .error(n, format!("the converted layer does not fit: {e}")),
            None => CostError::Onnx {
                message: format!("the imported description is not valid: {e}"),
            },
        }
    }

    /// Checks every conv/linear weight against the layer's input as the description infers
    /// it (the description does not repeat the input channels: a weight made for another input
    /// would otherwise give a wrong table).
    pub fn check_weights(&self, spec: &crate::spec::NetworkSpec) -> Result<()> {
        for row in spec.analyze()?.rows {
            let name = format!("{}.weight", row.name);
            let Some(p) = self.params.iter().find(|p| p.name == name) else {
                continue;
            };
            if p.shape.iter().product::<usize>() as u64 != row.weights {
                let message = format!(
                    "weight of shape {:?} does not fit the layer's input {:?} ({} weights \
                     expected)",
                    p.shape, row.in_shape, row.weights
                );
                return Err(match self.names.get(&row.name) {
                    Some(&n) => self.g.error(n, message),
                    None => CostError::Onnx { message },
                });
            }
        }
        Ok(())
    }

    /// Follows the data path from `v`, appending layers, until a join or the end.
    fn chain(&mut self, mut v: &'a str, layers: &mut Vec<LayerSpec>, top: bool) -> Result<End<'a>> {
        let g = self.g;
        loop {
            match g.consumers(v) {
                [] => return Ok(End::Output(v)),
                &[n] => {
                    if g.nodes[n].op_type == "Add" && !self.is_bias_add(n) {
                        return Ok(End::Join { add: n, value: v });
                    }
                    v = self.node(n, v, layers, top)?;
                }
                &[a, b] => {
                    let (add, branches) = self.fork(v, [a, b])?;
                    let [first, second] = branches;
                    // The longer branch is the body; on a tie, the Add's first operand.
                    let (body, shortcut) = if second.len() > first.len() {
                        (second, first)
                    } else {
                        (first, second)
                    };
                    layers.push(LayerSpec::Residual { body, shortcut });
                    self.visited[add] = true;
                    v = g.nodes[add]
                        .output
                        .first()
                        .map(String::as_str)
                        .unwrap_or("");
                }
                many => {
                    return Err(g.error(
                        many[2],
                        format!(
                            "is the third node reading {v:?}: a value may feed at most two \
                             branches (a residual block)"
                        ),
                    ))
                }
            }
        }
    }

    /// The two branches from `v` (through the nodes `starts`) up to the `Add` where they meet,
    /// as layers in the order of the Add's operands.
    fn fork(&mut self, v: &'a str, starts: [usize; 2]) -> Result<(usize, [Vec<LayerSpec>; 2])> {
        let g = self.g;
        let mut ends = Vec::new();
        for s in starts {
            let mut layers = Vec::new();
            let end = if g.nodes[s].op_type == "Add" && !self.is_bias_add(s) {
                (s, v)
            } else {
                let out = self.node(s, v, &mut layers, false)?;
                match self.chain(out, &mut layers, false)? {
                    End::Join { add, value } => (add, value),
                    End::Output(_) => {
                        return Err(g.error(
                            s,
                            format!(
                                "starts a branch from {v:?} that never joins the other branch \
                                 in an Add (only residual blocks are supported)"
                            ),
                        ))
                    }
                }
            };
            ends.push((end, layers));
        }
        let ((add, value0), layers0) = ends.remove(0);
        let ((add1, _), layers1) = ends.remove(0);
        if add != add1 {
            return Err(g.error(
                add.min(add1),
                format!(
                    "the two branches from {v:?} end in different Add nodes ({} and {}): only \
                     residual blocks are supported",
                    g.label(add),
                    g.label(add1)
                ),
            ));
        }
        let first_is_0 = g.nodes[add].input.first().map(String::as_str) == Some(value0);
        Ok(if first_is_0 {
            (add, [layers0, layers1])
        } else {
            (add, [layers1, layers0])
        })
    }

    /// Whether the Add node `n` adds a constant (a bias after a MatMul).
    pub(super) fn is_bias_add(&self, n: usize) -> bool {
        self.g.nodes[n]
            .input
            .iter()
            .any(|v| self.g.consts.contains_key(v.as_str()))
    }

    /// Converts node `n`, which reads the activation `v`; returns the value it produces.
    fn node(
        &mut self,
        n: usize,
        v: &'a str,
        layers: &mut Vec<LayerSpec>,
        top: bool,
    ) -> Result<&'a str> {
        let g = self.g;
        let node = &g.nodes[n];
        if self.visited[n] {
            return Err(g.error(n, "is reached twice: the graph has a cycle"));
        }
        self.visited[n] = true;
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(g.error(
                n,
                format!(
                    "operator of domain {:?} is not supported; supported: {SUPPORTED_OPS}",
                    node.domain
                ),
            ));
        }
        if node.op_type == "Add" {
            return Err(g.error(
                n,
                "adds a constant that is not the bias of a MatMul: not supported",
            ));
        }
        if node.input.first().map(String::as_str) != Some(v) {
            return Err(g.error(
                n,
                format!("reads the activation {v:?} as a parameter: not supported"),
            ));
        }
        let out = node.output.first().map(String::as_str).unwrap_or("");
        for extra in node.output.iter().skip(1).filter(|o| !o.is_empty()) {
            if g.is_used(extra) {
                return Err(g.error(
                    n,
                    format!("its second output {extra:?} is used: only the first is supported"),
                ));
            }
        }
        match node.op_type.as_str() {
            "Conv" => layers.push(self.conv(n)?),
            "Gemm" => layers.push(self.gemm(n)?),
            "MatMul" => return self.matmul(n, layers),
            "Relu" => layers.push(LayerSpec::Relu),
            "Clip" => layers.push(self.clip(n)?),
            "MaxPool" | "AveragePool" => layers.push(self.pool(n)?),
            "GlobalAveragePool" => layers.push(LayerSpec::AdaptiveAvgPool { output: 1 }),
            "ReduceMean" => self.reduce_mean(n, layers)?,
            "BatchNormalization" => layers.push(self.batch_norm(n)?),
            "Flatten" => {
                if node.int("axis", 1) != 1 {
                    return Err(g.error(n, "Flatten with axis ≠ 1 is not supported"));
                }
                layers.push(LayerSpec::Flatten);
            }
            "Reshape" => {
                self.reshape(n, layers, top)?;
                layers.push(LayerSpec::Flatten);
            }
            "Dropout" => layers.push(LayerSpec::Dropout),
            "Identity" => {}
            other => {
                return Err(g.error(
                    n,
                    format!("operator {other} is not supported; supported: {SUPPORTED_OPS}"),
                ))
            }
        }
        Ok(out)
    }
}
