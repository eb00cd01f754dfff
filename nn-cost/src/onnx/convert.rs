//! ONNX nodes → description layers. The data path is followed from the graph input: a chain of
//! nodes becomes a list of layers, and a value read by two branches that meet again at an
//! `Add` becomes a `residual { body, shortcut }` block (the shorter branch is the shortcut; a
//! branch that is the value itself is the identity shortcut).
use super::graph::{Attributes, Graph};
use super::tensor::{Constant, Values};
use super::{Param, ParamData};
use crate::error::Result;
use crate::spec::{LayerSpec, NetworkSpec};
use std::collections::HashSet;

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
    g: &'a Graph<'a>,
    names: HashSet<String>,
    visited: Vec<bool>,
    /// The parameters of the layers, in layer order.
    pub params: Vec<Param>,
    name: String,
}

impl<'a> Converter<'a> {
    /// A converter of `g` for a network called `name`.
    pub fn new(g: &'a Graph<'a>, name: &str) -> Self {
        Self {
            g,
            names: HashSet::new(),
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
    fn is_bias_add(&self, n: usize) -> bool {
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
            "Add" => {
                return Err(g.error(
                    n,
                    "adds a constant that is not the bias of a MatMul: not supported",
                ))
            }
            other => {
                return Err(g.error(
                    n,
                    format!("operator {other} is not supported; supported: {SUPPORTED_OPS}"),
                ))
            }
        }
        Ok(out)
    }

    /// The constant input `k` of node `n` (`what` names it in errors).
    fn constant(&self, n: usize, k: usize, what: &str) -> Result<(&'a str, &'a Constant)> {
        let g = self.g;
        let name = g.nodes[n]
            .input
            .get(k)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| g.error(n, format!("has no {what} input")))?;
        let c = g.consts.get(name).ok_or_else(|| {
            g.error(
                n,
                format!("its {what} {name:?} is not a constant tensor of the file"),
            )
        })?;
        Ok((name, c))
    }

    /// An optional constant input (absent or empty name → `None`).
    fn optional(&self, n: usize, k: usize, what: &str) -> Result<Option<(&'a str, &'a Constant)>> {
        match self.g.nodes[n].input.get(k) {
            Some(s) if !s.is_empty() => self.constant(n, k, what).map(Some),
            _ => Ok(None),
        }
    }

    /// The layer name of node `n`: the PyTorch module name when its parameter `param` is
    /// called `<module>.weight`, else the node's name; made unique.
    fn layer_name(&mut self, n: usize, param: &str) -> String {
        let node = &self.g.nodes[n];
        let base = match param.strip_suffix(".weight") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => {
                let s = node.name.trim_matches('/');
                if s.is_empty() {
                    format!("{}_{}", node.op_type.to_lowercase(), n + 1)
                } else {
                    s.to_string()
                }
            }
        };
        let mut name = base.clone();
        let mut k = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    }

    /// Records parameter `{layer}.{suffix}` from a constant, reshaped to `shape`
    /// (transposed first when `transpose`: a (in, out) matrix stored as (out, in)).
    fn param(
        &mut self,
        n: usize,
        layer: &str,
        suffix: &str,
        c: &Constant,
        shape: Vec<usize>,
        transpose: bool,
    ) -> Result<()> {
        let data = match &c.values {
            Values::Float(v) if transpose => {
                let (rows, cols) = (c.shape[0], c.shape[1]);
                let mut t = vec![0.0; v.len()];
                for r in 0..rows {
                    for col in 0..cols {
                        t[col * rows + r] = v[r * cols + col];
                    }
                }
                ParamData::Values(t)
            }
            Values::Float(v) => ParamData::Values(v.clone()),
            Values::External(location) => ParamData::External(location.clone()),
            Values::Int(_) => {
                return Err(self.g.error(
                    n,
                    format!("parameter {layer}.{suffix} holds integers: float tensors expected"),
                ))
            }
        };
        self.params.push(Param {
            name: format!("{layer}.{suffix}"),
            shape,
            data,
        });
        Ok(())
    }

    /// A bias of `out` elements (shape (out) or (1, out)).
    fn bias(&mut self, n: usize, layer: &str, c: Option<&Constant>, out: usize) -> Result<bool> {
        let Some(c) = c else { return Ok(false) };
        let len: usize = c.shape.iter().product();
        if len != out || c.shape.iter().filter(|&&d| d != 1).count() > 1 {
            return Err(self
                .g
                .error(n, format!("bias of shape {:?}: expected ({out})", c.shape)));
        }
        self.param(n, layer, "bias", c, vec![out], false)?;
        Ok(true)
    }

    fn conv(&mut self, n: usize) -> Result<LayerSpec> {
        let g = self.g;
        let node = &g.nodes[n];
        let (w_name, w) = self.constant(n, 1, "weight")?;
        let [o, i, kh, kw] = w.shape[..] else {
            return Err(g.error(
                n,
                format!(
                    "weight of shape {:?}: only 2-D convolutions are supported",
                    w.shape
                ),
            ));
        };
        if kh != kw {
            return Err(g.error(
                n,
                format!("kernel {kh}×{kw}: only square kernels are supported"),
            ));
        }
        let stride = self.square(n, "strides", 1)?;
        let dilation = self.square(n, "dilations", 1)?;
        let padding = self.pads(n)?;
        let groups =
            usize::try_from(node.int("group", 1)).map_err(|_| g.error(n, "negative `group`"))?;
        let bias = self.optional(n, 2, "bias")?;
        let name = self.layer_name(n, w_name);
        self.param(n, &name, "weight", w, vec![o, i, kh, kw], false)?;
        let bias = self.bias(n, &name, bias.map(|b| b.1), o)?;
        Ok(LayerSpec::Conv {
            name,
            out_channels: o,
            kernel: kh,
            stride,
            padding,
            bias,
            groups,
            dilation,
        })
    }

    /// A two-element attribute with equal elements (`strides`, `dilations`), or `default`.
    fn square(&self, n: usize, attr: &str, default: usize) -> Result<usize> {
        let g = self.g;
        match g.nodes[n].ints(attr).as_deref() {
            None => Ok(default),
            Some(&[a, b]) if a == b && a > 0 => Ok(a as usize),
            Some(v) => Err(g.error(
                n,
                format!(
                    "`{attr}` {v:?}: only equal positive values in both directions are supported"
                ),
            )),
        }
    }

    /// The symmetric padding of a conv or pool (`pads` all equal, or `auto_pad` VALID).
    fn pads(&self, n: usize) -> Result<usize> {
        let g = self.g;
        let node = &g.nodes[n];
        match node.string("auto_pad", "NOTSET").as_str() {
            "NOTSET" | "" => {}
            "VALID" => return Ok(0),
            other => {
                return Err(g.error(
                    n,
                    format!(
                        "auto_pad {other}: not supported (export with explicit symmetric padding)"
                    ),
                ))
            }
        }
        match node.ints("pads").as_deref() {
            None => Ok(0),
            Some(&[a, b, c, d]) if a == b && b == c && c == d && a >= 0 => Ok(a as usize),
            Some(v) => Err(g.error(
                n,
                format!("`pads` {v:?}: only the same padding on every side is supported"),
            )),
        }
    }

    fn gemm(&mut self, n: usize) -> Result<LayerSpec> {
        let g = self.g;
        let node = &g.nodes[n];
        if node.int("transA", 0) != 0 {
            return Err(g.error(n, "transA = 1 is not supported"));
        }
        let (alpha, beta) = (node.float("alpha", 1.0), node.float("beta", 1.0));
        if alpha != 1.0 || beta != 1.0 {
            return Err(g.error(
                n,
                format!("alpha {alpha}, beta {beta}: only alpha = beta = 1 is supported"),
            ));
        }
        let (b_name, b) = self.constant(n, 1, "weight")?;
        let [r, c] = b.shape[..] else {
            return Err(g.error(
                n,
                format!("weight of shape {:?}: a matrix expected", b.shape),
            ));
        };
        let trans_b = node.int("transB", 0) != 0;
        let (out, inp) = if trans_b { (r, c) } else { (c, r) };
        let bias = self.optional(n, 2, "bias")?;
        let name = self.layer_name(n, b_name);
        self.param(n, &name, "weight", b, vec![out, inp], !trans_b)?;
        let bias = self.bias(n, &name, bias.map(|b| b.1), out)?;
        Ok(LayerSpec::Linear {
            name,
            out_features: out,
            bias,
        })
    }

    /// `MatMul` by a constant (in, out) matrix, with the `Add` of a bias that follows it.
    fn matmul(&mut self, n: usize, layers: &mut Vec<LayerSpec>) -> Result<&'a str> {
        let g = self.g;
        let (b_name, b) = self.constant(n, 1, "weight")?;
        let [inp, out] = b.shape[..] else {
            return Err(g.error(
                n,
                format!("weight of shape {:?}: a matrix expected", b.shape),
            ));
        };
        let mut end = g.nodes[n].output.first().map(String::as_str).unwrap_or("");
        let name = self.layer_name(n, b_name);
        self.param(n, &name, "weight", b, vec![out, inp], true)?;
        let mut has_bias = false;
        if let &[a] = g.consumers(end) {
            if g.nodes[a].op_type == "Add" && self.is_bias_add(a) {
                let k = usize::from(g.nodes[a].input.first().map(String::as_str) == Some(end));
                let (_, c) = self.constant(a, k, "bias")?;
                has_bias = self.bias(a, &name, Some(c), out)?;
                self.visited[a] = true;
                end = g.nodes[a].output.first().map(String::as_str).unwrap_or("");
            }
        }
        layers.push(LayerSpec::Linear {
            name,
            out_features: out,
            bias: has_bias,
        });
        Ok(end)
    }

    /// `Clip(0, 6)` → relu6, `Clip(0, ∞)` → relu (bounds as inputs, or attributes before opset 11).
    fn clip(&self, n: usize) -> Result<LayerSpec> {
        let g = self.g;
        let node = &g.nodes[n];
        let bound = |k: usize, attr: &str, default: f64| -> Result<f64> {
            if let Some(a) = node.attr(attr) {
                return Ok(f64::from(a.f));
            }
            match self.optional(n, k, attr)? {
                None => Ok(default),
                Some((_, c)) => c
                    .scalar()
                    .ok_or_else(|| g.error(n, format!("`{attr}` is not a single number"))),
            }
        };
        let (lo, hi) = (
            bound(1, "min", f64::NEG_INFINITY)?,
            bound(2, "max", f64::INFINITY)?,
        );
        match (lo, hi) {
            (0.0, 6.0) => Ok(LayerSpec::Relu6),
            (0.0, h) if h == f64::INFINITY => Ok(LayerSpec::Relu),
            _ => Err(g.error(
                n,
                format!("Clip({lo}, {hi}): only Clip(0, 6) (ReLU6) and Clip(0, ∞) are supported"),
            )),
        }
    }

    fn pool(&self, n: usize) -> Result<LayerSpec> {
        let g = self.g;
        let node = &g.nodes[n];
        let kernel = match node.ints("kernel_shape").as_deref() {
            Some(&[a, b]) if a == b && a > 0 => a as usize,
            other => {
                return Err(g.error(
                    n,
                    format!("kernel_shape {other:?}: only square 2-D windows are supported"),
                ))
            }
        };
        let stride = self.square(n, "strides", 1)?;
        let padding = self.pads(n)?;
        if self.square(n, "dilations", 1)? != 1 {
            return Err(g.error(n, "dilated pooling is not supported"));
        }
        if node.int("ceil_mode", 0) != 0 {
            return Err(g.error(
                n,
                "ceil_mode = 1 is not supported (floor mode, PyTorch's default, is)",
            ));
        }
        if 2 * padding > kernel {
            return Err(g.error(
                n,
                format!("padding {padding} is more than half the window {kernel}"),
            ));
        }
        let stride = (stride != kernel).then_some(stride);
        if node.op_type == "MaxPool" {
            return Ok(LayerSpec::MaxPool {
                kernel,
                stride,
                padding,
            });
        }
        if padding > 0 && node.int("count_include_pad", 0) == 0 {
            return Err(g.error(
                n,
                "count_include_pad = 0 with padding: the average would exclude the padded \
                 pixels, but avg_pool counts them (PyTorch's default count_include_pad=True); \
                 export with count_include_pad=True or without padding",
            ));
        }
        Ok(LayerSpec::AvgPool {
            kernel,
            stride,
            padding,
        })
    }

    /// `ReduceMean` over the two spatial axes: global average pooling.
    fn reduce_mean(&self, n: usize, layers: &mut Vec<LayerSpec>) -> Result<()> {
        let g = self.g;
        let node = &g.nodes[n];
        let axes = match node.ints("axes") {
            Some(a) => a,
            None => self
                .optional(n, 1, "axes")?
                .and_then(|(_, c)| c.ints().map(<[i64]>::to_vec))
                .unwrap_or_default(),
        };
        let mut axes: Vec<i64> = axes
            .iter()
            .map(|&a| if a < 0 { a + 4 } else { a })
            .collect();
        axes.sort_unstable();
        if axes != [2, 3] {
            return Err(g.error(
                n,
                format!("ReduceMean over axes {axes:?}: only over H and W (2, 3) is supported"),
            ));
        }
        layers.push(LayerSpec::AdaptiveAvgPool { output: 1 });
        if node.int("keepdims", 1) == 0 {
            layers.push(LayerSpec::Flatten);
        }
        Ok(())
    }

    fn batch_norm(&mut self, n: usize) -> Result<LayerSpec> {
        let g = self.g;
        let node = &g.nodes[n];
        if node.int("training_mode", 0) != 0 {
            return Err(g.error(n, "training_mode = 1: export the network in eval mode"));
        }
        let parts = ["weight", "bias", "running_mean", "running_var"];
        let mut consts = Vec::new();
        for (k, what) in parts.iter().enumerate() {
            consts.push(self.constant(n, k + 1, what)?);
        }
        let c = consts[0].1.shape.iter().product::<usize>();
        let name = self.layer_name(n, consts[0].0);
        for (what, (_, t)) in parts.iter().zip(&consts) {
            if t.shape.iter().product::<usize>() != c {
                return Err(g.error(
                    n,
                    format!("{what} of shape {:?}: {c} channels expected", t.shape),
                ));
            }
            self.param(n, &name, what, t, vec![c], false)?;
        }
        // The shortest decimal of the f32 attribute: 1e-5, not 9.99999974e-6.
        let eps = node.float("epsilon", 1e-5);
        let eps = eps.to_string().parse::<f64>().unwrap_or(f64::from(eps));
        Ok(LayerSpec::BatchNorm { name, eps })
    }

    /// Checks that a `Reshape` turns each image's activation into a vector.
    fn reshape(&self, n: usize, layers: &[LayerSpec], top: bool) -> Result<()> {
        let g = self.g;
        let target = g.nodes[n]
            .input
            .get(1)
            .and_then(|s| g.eval_shape(s))
            .ok_or_else(|| {
                g.error(
                    n,
                    "its target shape is neither a constant nor the batch size + sizes",
                )
            })?;
        let features = || -> Option<i64> {
            let spec = NetworkSpec {
                name: self.name.clone(),
                input: g.input_shape,
                preprocess: None,
                layers: layers.to_vec(),
            };
            let out = spec.analyze().ok()?.output;
            i64::try_from(out.iter().product::<usize>()).ok()
        };
        let ok = match target.as_slice() {
            // (batch, -1), (0, -1), (1, -1): flatten.
            [None | Some(0 | 1), Some(-1)] => true,
            // (batch or -1, features): flatten if `features` is the size of one activation.
            [None | Some(-1..=1), Some(k)] if top => features() == Some(*k),
            _ => false,
        };
        if !ok {
            let shown: Vec<String> = target
                .iter()
                .map(|d| d.map_or("batch".into(), |x| x.to_string()))
                .collect();
            return Err(g.error(
                n,
                format!(
                    "Reshape to ({}): only a reshape to (batch, features) (a flatten) is supported",
                    shown.join(", ")
                ),
            ));
        }
        Ok(())
    }
}
