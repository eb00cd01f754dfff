//! Problem 3 report: fixed-point inference of the course CIFAR-10 network (crate cifar-infer).
//!
//! [`run`] computes [`Problem3`] with [`cifar_infer::problem3::run`] (the calibration passes
//! cached in `<out>/cache` through [`CtxHooks`]) and [`render`]s it: one function per part
//! (3.1 uniform precision, 3.2 profiler and B_min sweeps, 3.3 costs, the mismatch bound), each
//! writing its markdown and figures: `uniform` (3.1), `profiler` and `b_min` (3.2), `costs`
//! (3.3), `mismatch`. `results.json["p3"]` is the serialisation of [`Problem3`].
mod b_min;
mod costs;
mod mismatch;
mod profiler;
mod uniform;

use crate::report::{cached, Cached, Ctx, Section, XResult};
use b_min::b_min_part;
use cifar_infer::problem3::{
    BMinSweep, Hooks, OffsetSource, Problem3, Problem3Error, Settings, Timed,
};
use costs::costs_part;
use fxp_core::progress::Progress;
use mismatch::mismatch_part;
use profiler::profiler_part;
use uniform::uniform_part;

/// Runs Problem 3 and returns its section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    let problem = cifar_infer::problem3::run(&settings(ctx), &CtxHooks::new(ctx))?;
    Ok(vec![render(&problem, ctx)?])
}

/// The library's settings for this context: quick or full, with the data folders.
pub fn settings(ctx: &Ctx) -> Settings {
    let base = if ctx.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    Settings {
        data_dir: ctx.data_dir.clone(),
        cifar_dir: ctx.cifar_dir.clone(),
        ..base
    }
}

/// The hooks of a report run: progress lines and bars on stderr (the sweeps' notes too), the
/// cache in `<out>/cache`.
pub struct CtxHooks<'a> {
    ctx: &'a Ctx,
    bar: fxp_cli::Bar,
}

impl<'a> CtxHooks<'a> {
    /// The hooks of a run writing into `ctx`.
    pub fn new(ctx: &'a Ctx) -> Self {
        Self {
            ctx,
            bar: fxp_cli::Bar::new(false).with_notes(true),
        }
    }
}

impl Hooks for CtxHooks<'_> {
    fn step(&self, message: &str) {
        self.ctx.step(message);
    }

    fn progress(&self) -> &dyn Progress {
        &self.bar
    }

    fn cached<T, K>(
        &self,
        name: &str,
        key: &K,
        compute: impl FnOnce() -> Result<T, Problem3Error>,
    ) -> Result<Timed<T>, Problem3Error>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        K: std::hash::Hash + ?Sized,
    {
        let c = cached(self.ctx, name, key, || Ok(compute()?)).map_err(|e| {
            e.downcast::<Problem3Error>()
                .map_or_else(Problem3Error::Hook, |e| *e)
        })?;
        Ok(Timed {
            value: c.value,
            seconds: c.seconds,
            from_cache: c.from_cache,
        })
    }
}

/// The section of `p`: markdown, figures under `ctx.out`, and `results.json["p3"]`.
pub fn render(p: &Problem3, ctx: &Ctx) -> XResult<Section> {
    let mut md = intro(p);
    md.push_str(&uniform_part(p, ctx)?);
    md.push_str(&profiler_part(p));
    md.push_str(&b_min_part(p, ctx)?);
    md.push_str(&costs_part(p));
    md.push_str(&mismatch_part(p, ctx)?);
    Ok(Section {
        id: "p3".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn pct(x: f64) -> String {
    format!("{x:.2} %")
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "583 s", or "583 s, read from the cache of an earlier run".
fn timing(seconds: f64, from_cache: bool) -> String {
    Cached {
        value: (),
        seconds,
        from_cache,
    }
    .timing()
}

/// Power-of-two ranges as people write them: `1, 0.5, 0.25`.
fn ranges_list(ranges: &[f64]) -> String {
    fxp_core::text::list(ranges.iter().map(|&r| fxp_core::text::short(r, 4)))
}

fn intro(p: &Problem3) -> String {
    let mut md = String::from("## Problem 3 — Fixed-point inference of the CIFAR-10 network\n\n");
    md.push_str(&format!(
        "The course network (`cifar-alexnet`: 5 conv + 3 linear layers, 249 M multiply-accumulates \
         per image) with the parameters of `{}`, on the first {} of the CIFAR-10 test images of \
         `{}`{}. Fixed point: each conv/linear \
         layer's weights are quantized signed with B_W bits over r_W, its input with B_A bits over r_A \
         (signed for the image, unsigned after a ReLU), ranges from the course npy files \
         (r_W = {}; r_A = {}), biases in float. Every quantized dot product is computed exactly \
         (integer codes; u8×i8 digits accumulated in i32 with AMX or AVX-512 VNNI, or exact f32/f64 \
         GEMMs), so the accuracies below are those of exact fixed-point arithmetic.\n\n",
        p.files.model,
        p.n,
        p.files.test_batch,
        if p.settings.quick { " (quick run: not the report's numbers)" } else { "" },
        ranges_list(&p.npy_ranges.weight),
        ranges_list(&p.npy_ranges.activation),
    ));
    md
}

/// The sweep of `source` (present by construction of the library's result).
fn sweep_of(p: &Problem3, source: OffsetSource) -> Option<&BMinSweep> {
    p.offsets.by_source.iter().find(|s| s.source == source)
}
