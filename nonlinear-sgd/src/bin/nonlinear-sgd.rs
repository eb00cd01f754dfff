//! `nonlinear-sgd` — Problem 4: back-propagation through the non-linear system
//! y2 = ln(1 + (w3·(w1·x1 + w2·x2)²)²) predicting the angle of (x1, x2) on the unit circle.
use fxp_cli::clap::{self, Args as ClapArgs, Parser, Subcommand};
use fxp_cli::outln;
use fxp_cli::{parse_list, print_json, run};
use fxp_core::text::{fixed, num};
use nonlinear_sgd::minima::{self, MinimaConfig};
use nonlinear_sgd::precision::{self, PrecisionConfig};
use nonlinear_sgd::problem::seed;
use nonlinear_sgd::sgd::{self, Schedule, SgdConfig};
use nonlinear_sgd::{Quadrature, Weights};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Examples:\n  \
      nonlinear-sgd cost --weights 0.9547247,-0.8316406,0.7071791 --json\n  \
      nonlinear-sgd train --seed 1\n  \
      nonlinear-sgd precision --max-bits 8\n  \
      nonlinear-sgd minima --starts 400 --seed 1",
    about = "Problem 4: gradients, expected cost by quadrature, SGD, precision of w1 and local minima \
             of the system y2 = ln(1 + (w3 (w1 x1 + w2 x2)^2)^2), target atan2(x2, x1)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Seeded SGD (part 3): final weights, train/test MSE, C by quadrature, convergence curve.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  nonlinear-sgd train --seed 1\n  nonlinear-sgd train --epochs 2 --mu0 0.05 --init 0.5,-0.5,0.5 --json --curve"
    )]
    Train(TrainArgs),
    /// C, ∇C and ∂²C/∂w1² (and the full Hessian) by quadrature at given weights.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  nonlinear-sgd cost\n  nonlinear-sgd cost --weights 0.9547247,-0.8316406,0.7071791 --panels 128 --json"
    )]
    Cost(CostArgs),
    /// Bits of w1 (parts 4–5): first-/second-order models against C with w1 quantized.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  nonlinear-sgd precision --max-bits 8\n  nonlinear-sgd precision --weights 0.9547247,-0.8316406,0.7071791 --budget 0.01 --json"
    )]
    Precision(PrecisionArgs),
    /// Local minima (part 6): seeded multi-start search, clustered and sorted by C.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  nonlinear-sgd minima --starts 400 --seed 1\n  nonlinear-sgd minima --starts 50 --box-half-width 1 --json"
    )]
    Minima(MinimaArgs),
}

#[derive(ClapArgs, Debug)]
struct WeightsArg {
    /// Weights w1,w2,w3 (comma-separated); default: the seed's final weights.
    #[arg(
        long,
        allow_hyphen_values = true,
        default_value = "0.9547247,-0.8316406,0.7071791"
    )]
    weights: String,
}

impl WeightsArg {
    fn parse(&self) -> Result<Weights, String> {
        let ws: Vec<f64> = parse_list("--weights", &self.weights)?;
        Weights::from_slice(&ws).map_err(|e| format!("--weights: {e}"))
    }
}

#[derive(ClapArgs, Debug)]
struct TrainArgs {
    /// Seed of the training/test sets and the shuffles.
    #[arg(long, default_value_t = SgdConfig::default().seed)]
    seed: u64,
    /// Passes over the training set.
    #[arg(long, default_value_t = SgdConfig::default().epochs)]
    epochs: usize,
    /// Training samples (1..=10,000,000).
    #[arg(long, default_value_t = SgdConfig::default().n_train, value_parser = samples_parser())]
    n_train: usize,
    /// Test samples (1..=10,000,000).
    #[arg(long, default_value_t = SgdConfig::default().n_test, value_parser = samples_parser())]
    n_test: usize,
    /// Initial step size μ0.
    #[arg(long, default_value_t = SgdConfig::default().schedule.mu0)]
    mu0: f64,
    /// Iterations at constant μ0 before the 1/t decay (t0).
    #[arg(long, default_value_t = SgdConfig::default().schedule.constant_iters)]
    constant_iters: usize,
    /// Decay time constant τ: μ_t = μ0 / (1 + (t − t0)/τ) after t0.
    #[arg(long, default_value_t = SgdConfig::default().schedule.decay_iters)]
    decay_iters: f64,
    /// Initial weights w1,w2,w3 (default 0.5,-0.5,0.5).
    #[arg(long, allow_hyphen_values = true)]
    init: Option<String>,
    /// Curve points recorded over the run (log-spaced iterations).
    #[arg(long, default_value_t = SgdConfig::default().curve_points)]
    curve_points: usize,
    /// Include the whole convergence curve in the JSON output.
    #[arg(long)]
    curve: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs, Debug)]
struct CostArgs {
    #[command(flatten)]
    weights: WeightsArg,
    /// Quadrature panels over [−π, π] (panels × order ≤ 1,048,576).
    #[arg(long, default_value_t = Quadrature::DEFAULT_PANELS)]
    panels: usize,
    /// Gauss–Legendre nodes per panel.
    #[arg(long, default_value_t = Quadrature::DEFAULT_ORDER)]
    order: usize,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs, Debug)]
struct PrecisionArgs {
    #[command(flatten)]
    weights: WeightsArg,
    /// Largest precision of the table (B = 1..=max, max ≤ 32).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=32))]
    max_bits: u32,
    /// Allowed relative increase of C.
    #[arg(long, default_value_t = 0.01)]
    budget: f64,
    /// Seed of the sampled test set (test-MSE column).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Size of the sampled test set (0 = skip; at most 10,000,000).
    #[arg(long, default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_SAMPLES))]
    n_test: usize,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(ClapArgs, Debug)]
struct MinimaArgs {
    /// Number of random starts (1..=1,000,000).
    #[arg(long, default_value_t = 200,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    starts: usize,
    /// Seed of the starts.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Starts are uniform in [−a, a]³.
    #[arg(long, default_value_t = 2.0)]
    box_half_width: f64,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Most samples of a training or test set (kept in memory).
const MAX_SAMPLES: u64 = 10_000_000;

fn samples_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_SAMPLES)
}

fn fmt_w(w: &Weights) -> String {
    let signed = |x: f64| {
        let t = fixed(x, 7); // no "-0.0000000"
        if t.starts_with('-') {
            t
        } else {
            format!("+{t}")
        }
    };
    format!(
        "({}, {}, {})",
        signed(w.0[0]),
        signed(w.0[1]),
        signed(w.0[2])
    )
}

fn opt_bits(b: Option<u32>) -> String {
    b.map_or("none ≤ max".into(), |b| b.to_string())
}

fn train(a: &TrainArgs) -> Result<(), String> {
    let init = match &a.init {
        Some(s) => {
            let ws: Vec<f64> = parse_list("--init", s)?;
            Weights::from_slice(&ws).map_err(|e| format!("--init: {e}"))?
        }
        None => SgdConfig::default().init,
    };
    let cfg = SgdConfig {
        seed: a.seed,
        n_train: a.n_train,
        n_test: a.n_test,
        epochs: a.epochs,
        schedule: Schedule {
            mu0: a.mu0,
            constant_iters: a.constant_iters,
            decay_iters: a.decay_iters,
        },
        init,
        curve_points: a.curve_points,
    };
    let r = sgd::train(&cfg).map_err(|e| e.to_string())?;
    r.quadrature.check_finite().map_err(|e| e.to_string())?;
    if a.json {
        let mut v = serde_json::to_value(&r).map_err(|e| e.to_string())?;
        if !a.curve {
            if let Some(o) = v.as_object_mut() {
                o.remove("curve");
            }
        }
        return print_json(&v).map_err(|e| e.to_string());
    }
    outln!(
        "SGD: {} epochs × {} samples, seed {}",
        cfg.epochs,
        cfg.n_train,
        cfg.seed
    );
    outln!("  initial weights   {}", fmt_w(&cfg.init));
    outln!("  final weights     {}", fmt_w(&r.final_weights));
    outln!("  train MSE         {:.6}", r.train_mse);
    outln!(
        "  test MSE          {:.6}   (seed: {})",
        r.test_mse,
        seed::TEST_MSE
    );
    outln!(
        "  C (quadrature)    {:.6}   (seed: {}; accuracy {})",
        r.quadrature.c,
        seed::C,
        fxp_core::text::sci(r.quadrature_error, 2)
    );
    let g = r.quadrature.grad;
    outln!(
        "  ∇C                {}",
        fxp_core::text::vector(g.iter().copied(), 4)
    );
    Ok(())
}

fn cost(a: &CostArgs) -> Result<(), String> {
    let w = a.weights.parse()?;
    let quad = Quadrature::new(a.panels, a.order).map_err(|e| e.to_string())?;
    let e = quad.expectation(&w);
    e.check_finite().map_err(|e| e.to_string())?;
    let err = quad.error_estimate(&w);
    if a.json {
        return print_json(&json!({
            "weights": w,
            "c": e.c,
            "grad": e.grad,
            "hessian_w1": e.hessian_w1,
            "hessian": e.hessian,
            "quadrature": { "panels": quad.panels(), "order": quad.order(), "error_estimate": err },
        }))
        .map_err(|e| e.to_string());
    }
    outln!("weights      {}", fmt_w(&w));
    outln!("C            {:.10}", e.c);
    outln!(
        "∇C           {}",
        fxp_core::text::vector(e.grad.iter().copied(), 7)
    );
    outln!("∂²C/∂w1²     {:.6}", e.hessian_w1);
    outln!(
        "Hessian      ({})",
        e.hessian
            .iter()
            .map(|r| format!("({})", fxp_core::text::num_list(r.iter().copied(), 6)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!(
        "quadrature   {} panels × {} nodes, |Δ| vs doubled rule {}",
        fxp_core::text::group(quad.panels() as u64),
        quad.order(),
        fxp_core::text::sci(err, 2)
    );
    Ok(())
}

fn precision(a: &PrecisionArgs) -> Result<(), String> {
    let w = a.weights.parse()?;
    let cfg = PrecisionConfig {
        max_bits: a.max_bits,
        budget: a.budget,
        seed: a.seed,
        n_test: a.n_test,
    };
    let r = precision::study(&w, &cfg).map_err(|e| e.to_string())?;
    r.float.check_finite().map_err(|e| e.to_string())?;
    if a.json {
        return print_json(&r).map_err(|e| e.to_string());
    }
    outln!(
        "w = {}, C = {:.6}, ∂C/∂w1 = {:.6}, ∂²C/∂w1² = {:.6}, range of w1 = {}, budget {:.5}",
        fmt_w(&w),
        r.float.c,
        r.float.grad[0],
        r.float.hessian_w1,
        r.range,
        r.budget_abs
    );
    outln!(
        "{:>3} {:>10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "B",
        "q(w1)",
        "δ",
        "C",
        "ΔC/C %",
        "test MSE",
        "1st |g||δ|",
        "1st |g|Δ/2",
        "2nd gδ+½Hδ²",
        "2nd HΔ²/24"
    );
    for row in &r.rows {
        outln!(
            "{:>3} {:>10} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10} {:>10}",
            row.bits,
            fixed(row.w1_quantized, 6),
            fixed(row.error, 6),
            fixed(row.c, 6),
            fixed(100.0 * row.rel_increase, 4),
            row.test_mse.map_or("-".into(), |m| fixed(m, 5)),
            num(row.dc_first_order, 4),
            num(row.dc_first_order_bound, 4),
            num(row.dc_second_order, 4),
            num(row.dc_second_order_noise, 4)
        );
    }
    outln!(
        "minimum bits: first order {} (bound Δ/2: {}), second order {} (Δ²/12: {}), validated {}",
        opt_bits(r.bits_first_order),
        opt_bits(r.bits_first_order_bound),
        opt_bits(r.bits_second_order),
        opt_bits(r.bits_second_order_noise),
        opt_bits(r.bits_validated)
    );
    Ok(())
}

fn minima_cmd(a: &MinimaArgs) -> Result<(), String> {
    let cfg = MinimaConfig {
        starts: a.starts,
        seed: a.seed,
        box_half_width: a.box_half_width,
        ..Default::default()
    };
    let r = minima::search(&cfg).map_err(|e| e.to_string())?;
    if a.json {
        return print_json(&r).map_err(|e| e.to_string());
    }
    outln!(
        "{} starts, {} converged, {} not converged; distinct stationary points of F(m), \
         m = sqrt|w3|·(w1, w2) up to sign:",
        cfg.starts,
        r.end_points.len(),
        r.not_converged
    );
    for m in &r.minima {
        outln!(
            "  m = ({:+.6}, {:+.6})  C = {:.8}  {}  eig F = ({}, {})  {} starts; representative {}",
            m.invariant[0],
            m.invariant[1],
            m.c,
            serde_json::to_value(m.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            num(m.eigenvalues[0], 4),
            num(m.eigenvalues[1], 4),
            m.count,
            fmt_w(&m.weights)
        );
        for b in &m.branches {
            outln!(
                "      branch sign(w1,w2) {:+} sign(w3) {:+}: {:>4} starts, e.g. {}, |w3| in [{:.3}, {:.3}]",
                b.sign_w1, b.sign_w3, b.count, fmt_w(&b.example), b.w3_abs_min, b.w3_abs_max
            );
        }
    }
    let w = r
        .minima
        .first()
        .map(|m| m.weights)
        .unwrap_or(Weights(nonlinear_sgd::SEED_WEIGHTS));
    outln!("symmetries at {}:", fmt_w(&w));
    for im in minima::symmetry_images(&w) {
        outln!(
            "  {:<32} {}  C = {:.15}",
            im.transform,
            fmt_w(&im.weights),
            im.c
        );
    }
    let cc = minima::convexity_check(&w);
    outln!(
        "non-convex: C(w) = {:.6}, C(w3 flipped) = {:.6}, C(midpoint (w1, w2, 0)) = {:.6}",
        cc.c,
        cc.c_flipped,
        cc.c_midpoint
    );
    Ok(())
}

fn main() {
    run(|| -> Result<(), String> {
        match Cli::parse().command {
            Command::Train(a) => train(&a),
            Command::Cost(a) => cost(&a),
            Command::Precision(a) => precision(&a),
            Command::Minima(a) => minima_cmd(&a),
        }
    });
}
