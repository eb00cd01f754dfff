//! `cifar-infer eval`: accuracy in float or at given precisions.
use super::{input_signs, load, ranges_at, ranges_of, Common};
use cifar_infer::eval::evaluate;
use cifar_infer::{FloatKernel, InferError, QuantizedModel};
use fxp_cli::clap::{self, Args};
use fxp_cli::{bits_item, outln, print_json, Bar};
use fxp_core::progress::Progress;
use fxp_core::text::{fixed, group, list, percent};
use fxp_core::LayerPrecision;
use serde_json::json;
use std::time::Instant;
#[derive(Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Uniform precisions B (1..=32) for every weight and activation, comma-separated: one
    /// evaluation each (omit all precision flags for float).
    #[arg(long, value_name = "LIST", conflicts_with_all = ["weight_bits", "act_bits"],
          value_delimiter = ',', value_parser = bits_item)]
    pub(crate) bits: Vec<u32>,
    /// Per-layer weight precisions, e.g. 8,8,7,7,7,6,6,8 (with --act-bits).
    #[arg(long, value_name = "LIST", requires = "act_bits", value_delimiter = ',', value_parser = bits_item)]
    pub(crate) weight_bits: Vec<u32>,
    /// Per-layer input-activation precisions (with --weight-bits).
    #[arg(long, value_name = "LIST", requires = "weight_bits", value_delimiter = ',', value_parser = bits_item)]
    pub(crate) act_bits: Vec<u32>,
}

pub(crate) fn eval(a: EvalArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, c.images)?;
    let layers = setup.model.num_weight_layers();
    let settings: Vec<Option<Vec<LayerPrecision>>> = if !a.bits.is_empty() {
        a.bits
            .iter()
            .map(|&b| Some(vec![LayerPrecision { b_w: b, b_a: b }; layers]))
            .collect()
    } else if !a.weight_bits.is_empty() {
        let (w, x) = (&a.weight_bits, &a.act_bits);
        if w.len() != layers || x.len() != layers {
            return Err(InferError::Invalid(format!(
                "--weight-bits has {} and --act-bits {} values; the network has {layers} conv/linear layers",
                w.len(),
                x.len()
            )));
        }
        vec![Some(
            w.iter()
                .zip(x)
                .map(|(&b_w, &b_a)| LayerPrecision { b_w, b_a })
                .collect(),
        )]
    } else {
        vec![None]
    };
    // One set of ranges for all settings, except `mse`: one per setting.
    let shared = if settings.iter().any(Option::is_some) && !c.ranges.per_precision() {
        Some(ranges_of(&setup, c)?)
    } else {
        None
    };
    let mut runs = Vec::new();
    for precisions in &settings {
        let pb = Bar::new(c.json);
        pb.begin("evaluating", setup.test.len() as u64);
        let t = Instant::now();
        let ranges = match (precisions, &shared) {
            (Some(_), Some(r)) => Some(r.clone()),
            (Some(p), None) => Some(ranges_at(&setup, c, p)?),
            (None, _) => None,
        };
        let (res, extra) = match (precisions, &ranges) {
            (Some(p), Some(ranges)) => {
                let q = QuantizedModel::new(&setup.model, ranges, p, c.kernel.into())?;
                let r = evaluate(&setup.model, &q, &setup.test, c.batch, &pb)?;
                let extra = json!({
                    "mode": "fixed-point",
                    "weight_bits": p.iter().map(|x| x.b_w).collect::<Vec<_>>(),
                    "act_bits": p.iter().map(|x| x.b_a).collect::<Vec<_>>(),
                    "unsigned_inputs": setup.model.nonnegative_inputs(),
                    "ranges_source": setup.resolve(c.ranges),
                    "weight_ranges": ranges.weight,
                    "activation_ranges": ranges.activation,
                    "kernel_paths": q.paths(),
                });
                (r, extra)
            }
            _ => (
                evaluate(&setup.model, &FloatKernel, &setup.test, c.batch, &pb)?,
                json!({"mode": "float"}),
            ),
        };
        pb.end();
        runs.push((precisions, res, extra, t.elapsed().as_secs_f64()));
    }
    if c.json {
        let objects: Vec<serde_json::Value> = runs
            .iter()
            .map(|(_, res, extra, secs)| {
                // timings go to stderr: the JSON is the same on every run and thread count
                eprintln!("evaluated {} images in {secs:.1} s", res.n);
                let mut v = json!({
                    "network": setup.model.name,
                    "data": setup.data_dir(),
                    "preprocess": setup.spec.preprocess,
                    "layers": setup.model.weight_layer_names(),
                    "accuracy": res.accuracy,
                    "correct": res.correct,
                    "n": res.n,
                    "predictions": res.predictions,
                });
                if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                    o.extend(e.clone());
                }
                v
            })
            .collect();
        let out = match objects.as_slice() {
            [one] => print_json(one),
            all => print_json(&all),
        };
        out.map_err(|e| InferError::Invalid(e.to_string()))?;
        return Ok(());
    }
    for (precisions, res, extra, secs) in &runs {
        let mode = match precisions {
            None => "float".to_string(),
            Some(p) => {
                let paths: Vec<String> = extra["kernel_paths"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "fixed point, B_W = {}; B_A = {}; inputs {}; kernels {}",
                    list(p.iter().map(|x| x.b_w)),
                    list(p.iter().map(|x| x.b_a)),
                    list(input_signs(&setup.model)),
                    list(paths)
                )
            }
        };
        outln!("{} ({mode})", setup.model.name);
        outln!(
            "accuracy {} ({} / {} images) in {} s",
            percent(res.accuracy),
            group(res.correct as u64),
            group(res.n as u64),
            fixed(*secs, 1)
        );
    }
    Ok(())
}
