//! The ONNX graph indexed for the conversion: constants, the data path from the input, who
//! consumes each value, node attributes and labels for errors.
use super::proto::{AttributeProto, GraphProto, NodeProto};
use super::tensor::{decode, Constant, Values};
use crate::error::{CostError, Result};
use std::collections::{HashMap, HashSet};

/// Operators that compute shapes, not activations: evaluated when a `Reshape` needs its target.
const SHAPE_OPS: [&str; 6] = ["Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast"];

/// The graph with its constants and data-flow index.
pub(crate) struct Graph<'a> {
    /// The nodes in file (topological) order.
    pub nodes: &'a [NodeProto],
    /// Constant values by name: initializers, `Constant` nodes, `Identity` of a constant.
    pub consts: HashMap<&'a str, Constant>,
    /// Nodes on the data path (reached from the graph input through activations).
    pub on_path: Vec<bool>,
    /// The data-path nodes that take each value as an input.
    consumers: HashMap<&'a str, Vec<usize>>,
    /// The node producing each value.
    producer: HashMap<&'a str, usize>,
    /// Values read by anything at all (node inputs and graph outputs).
    used: HashSet<&'a str>,
    /// Name of the graph input (the images).
    pub input: &'a str,
    /// Its shape (channels, height, width).
    pub input_shape: [usize; 3],
    /// Name of the graph output (the class scores).
    pub output: &'a str,
}

/// An error about the file as a whole.
pub(crate) fn file_error(message: impl Into<String>) -> CostError {
    CostError::Onnx {
        message: message.into(),
    }
}

impl<'a> Graph<'a> {
    /// Indexes `g`: decodes its constants, finds its one image input and one output, and marks
    /// the data path.
    pub fn new(g: &'a GraphProto) -> Result<Self> {
        let mut consts = HashMap::new();
        for t in &g.initializer {
            let c = decode(t).map_err(|m| file_error(format!("initializer {:?}: {m}", t.name)))?;
            consts.insert(t.name.as_str(), c);
        }
        let inputs: Vec<_> = g
            .input
            .iter()
            .filter(|i| !consts.contains_key(i.name.as_str()))
            .collect();
        let [input] = inputs.as_slice() else {
            let names: Vec<_> = inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(file_error(format!(
                "the graph has {} inputs {names:?}; one image input (N, C, H, W) is supported",
                inputs.len()
            )));
        };
        let input_shape = image_shape(input)?;
        let [output] = g.output.as_slice() else {
            return Err(file_error(format!(
                "the graph has {} outputs; one output (the class scores) is supported",
                g.output.len()
            )));
        };
        let mut graph = Self {
            nodes: &g.node,
            consts,
            on_path: vec![false; g.node.len()],
            consumers: HashMap::new(),
            producer: HashMap::new(),
            used: g.output.iter().map(|o| o.name.as_str()).collect(),
            input: &input.name,
            input_shape,
            output: &output.name,
        };
        let mut data: HashSet<&str> = HashSet::from([graph.input]);
        for (i, n) in g.node.iter().enumerate() {
            for o in &n.output {
                graph.producer.insert(o, i);
            }
            graph
                .used
                .extend(n.input.iter().filter(|s| !s.is_empty()).map(String::as_str));
            if n.op_type != "Shape" && n.input.iter().any(|v| data.contains(v.as_str())) {
                graph.on_path[i] = true;
                for v in n.input.iter().filter(|v| data.contains(v.as_str())) {
                    let c = graph.consumers.entry(v.as_str()).or_default();
                    if !c.contains(&i) {
                        c.push(i);
                    }
                }
                data.extend(n.output.iter().map(String::as_str));
            } else {
                graph.fold_constant(i)?;
            }
        }
        Ok(graph)
    }

    /// Records the value of a constant-producing node off the data path (`Constant`, or
    /// `Identity` of a constant); other nodes off the path are left alone.
    fn fold_constant(&mut self, i: usize) -> Result<()> {
        let n = &self.nodes[i];
        let value = match n.op_type.as_str() {
            "Constant" => Some(constant_node(n).map_err(|m| self.error(i, m))?),
            "Identity" => n
                .input
                .first()
                .and_then(|v| self.consts.get(v.as_str()))
                .cloned(),
            "Cast" => n
                .input
                .first()
                .and_then(|v| self.consts.get(v.as_str()))
                .and_then(|c| cast(c, n.int("to", 0))),
            _ => None,
        };
        if let (Some(c), Some(out)) = (value, n.output.first()) {
            self.consts.insert(out.as_str(), c);
        }
        Ok(())
    }

    /// The data-path nodes that read `value`.
    pub fn consumers(&self, value: &str) -> &[usize] {
        self.consumers.get(value).map_or(&[], Vec::as_slice)
    }

    /// Whether anything reads `value` (a node or the graph output).
    pub fn is_used(&self, value: &str) -> bool {
        self.used.contains(value)
    }

    /// `node 7/31 "/features/features.0/Conv" (Conv)`: a node as errors name it.
    pub fn label(&self, i: usize) -> String {
        let n = &self.nodes[i];
        format!(
            "node {}/{} {:?} ({})",
            i + 1,
            self.nodes.len(),
            n.name,
            n.op_type
        )
    }

    /// An error about node `i`.
    pub fn error(&self, i: usize, message: impl Into<String>) -> CostError {
        CostError::OnnxNode {
            node: self.label(i),
            message: message.into(),
        }
    }

    /// Evaluates a shape tensor (a `Reshape` target): constants, and the `Shape → Gather →
    /// Unsqueeze → Concat` chains exporters write for `x.view(x.size(0), -1)`. `None` in the
    /// result stands for a size read from the input at run time (the batch).
    pub fn eval_shape(&self, value: &str) -> Option<Vec<Option<i64>>> {
        self.eval_shape_at(value, 0)
    }

    /// [`Graph::eval_shape`] at a recursion depth (a cyclic file stops at 32).
    fn eval_shape_at(&self, value: &str, depth: usize) -> Option<Vec<Option<i64>>> {
        if depth > 32 {
            return None;
        }
        if let Some(c) = self.consts.get(value) {
            return c.ints().map(|v| v.iter().map(|&x| Some(x)).collect());
        }
        let n = &self.nodes[*self.producer.get(value)?];
        if !SHAPE_OPS.contains(&n.op_type.as_str()) {
            return None;
        }
        match n.op_type.as_str() {
            "Concat" => {
                let mut out = Vec::new();
                for v in &n.input {
                    out.extend(self.eval_shape_at(v, depth + 1)?);
                }
                Some(out)
            }
            "Unsqueeze" | "Squeeze" | "Cast" => self.eval_shape_at(n.input.first()?, depth + 1),
            "Gather" => {
                // Gather(Shape(x), 0): the batch size, known only at run time.
                let from_shape = self
                    .producer
                    .get(n.input.first()?.as_str())
                    .is_some_and(|&p| self.nodes[p].op_type == "Shape");
                let index = self.consts.get(n.input.get(1)?.as_str())?.ints()?.to_vec();
                (from_shape && index == [0]).then(|| vec![None])
            }
            _ => None,
        }
    }
}

/// A constant converted to the element type `to` (float or integer types only).
fn cast(c: &Constant, to: i64) -> Option<Constant> {
    let values = match (&c.values, to) {
        (Values::Float(v), 1 | 10 | 11 | 16) => Values::Float(v.clone()),
        (Values::Int(v), 1 | 10 | 11 | 16) => Values::Float(v.iter().map(|&x| x as f32).collect()),
        (Values::Int(v), 6 | 7) => Values::Int(v.clone()),
        (Values::Float(v), 6 | 7) => Values::Int(v.iter().map(|&x| x as i64).collect()),
        _ => return None,
    };
    Some(Constant {
        shape: c.shape.clone(),
        values,
    })
}

/// The (C, H, W) of the image input, whose shape must be (N, C, H, W) with known C, H, W.
fn image_shape(input: &super::proto::ValueInfoProto) -> Result<[usize; 3]> {
    let dims = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .and_then(|t| t.shape.as_ref())
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    let known: Vec<Option<usize>> = dims
        .iter()
        .map(|d| d.dim_value.and_then(|v| usize::try_from(v).ok()))
        .collect();
    match known.as_slice() {
        [_, Some(c), Some(h), Some(w)] if *c > 0 && *h > 0 && *w > 0 => Ok([*c, *h, *w]),
        _ => Err(file_error(format!(
            "graph input {:?} has shape {}: expected (batch, channels, height, width) with known \
             channels, height and width (export with a fixed-size example input)",
            input.name,
            describe_dims(dims)
        ))),
    }
}

fn describe_dims(dims: &[super::proto::Dimension]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match (&d.dim_value, &d.dim_param) {
            (Some(v), _) => v.to_string(),
            (None, Some(p)) => p.clone(),
            (None, None) => "?".into(),
        })
        .collect();
    format!("({})", parts.join(", "))
}

/// The value of a `Constant` node.
fn constant_node(n: &NodeProto) -> std::result::Result<Constant, String> {
    let a = n
        .attribute
        .first()
        .ok_or("a Constant node without a value")?;
    let scalar = |values| Constant {
        shape: Vec::new(),
        values,
    };
    let list = |len: usize, values| Constant {
        shape: vec![len],
        values,
    };
    Ok(match a.name.as_str() {
        "value" => decode(a.t.as_ref().ok_or("a Constant `value` without a tensor")?)?,
        "value_float" => scalar(Values::Float(vec![a.f])),
        "value_int" => scalar(Values::Int(vec![a.i])),
        "value_floats" => list(a.floats.len(), Values::Float(a.floats.clone())),
        "value_ints" => list(a.ints.len(), Values::Int(a.ints.clone())),
        other => return Err(format!("a Constant given as `{other}` is not supported")),
    })
}

/// Attribute look-ups on a node.
pub(crate) trait Attributes {
    /// The attribute `name`, if present.
    fn attr(&self, name: &str) -> Option<&AttributeProto>;
    /// An integer attribute, or `default`.
    fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }
    /// A float attribute, or `default`.
    fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }
    /// An integer-list attribute.
    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }
    /// A string attribute, or `default`.
    fn string(&self, name: &str, default: &str) -> String {
        self.attr(name)
            .map_or(default.into(), |a| String::from_utf8_lossy(&a.s).into())
    }
}

impl Attributes for NodeProto {
    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.attribute.iter().find(|a| a.name == name)
    }
}
