//! The conversion of each supported operator into description layers and parameters, with
//! the checks that refuse what the description cannot express.
use super::convert::Converter;
use super::graph::Attributes;
use super::tensor::{Constant, Values};
use super::{Param, ParamData};
use crate::error::Result;
use crate::spec::{LayerSpec, NetworkSpec};

impl<'a> Converter<'a> {
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
        while self.names.contains_key(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone(), n);
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

    pub(super) fn conv(&mut self, n: usize) -> Result<LayerSpec> {
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

    pub(super) fn gemm(&mut self, n: usize) -> Result<LayerSpec> {
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
    pub(super) fn matmul(&mut self, n: usize, layers: &mut Vec<LayerSpec>) -> Result<&'a str> {
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
    pub(super) fn clip(&self, n: usize) -> Result<LayerSpec> {
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

    pub(super) fn pool(&self, n: usize) -> Result<LayerSpec> {
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
        if padding > kernel / 2 {
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
    pub(super) fn reduce_mean(&self, n: usize, layers: &mut Vec<LayerSpec>) -> Result<()> {
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

    pub(super) fn batch_norm(&mut self, n: usize) -> Result<LayerSpec> {
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
    pub(super) fn reshape(&self, n: usize, layers: &[LayerSpec], top: bool) -> Result<()> {
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
