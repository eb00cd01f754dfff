//! `lms` — Problems 5, 6 and 7: the fitted time series, the Wiener predictor, the fixed-point
//! precision analysis, LMS and delayed-LMS ensembles, and the architectures as data-flow graphs.
use fxp_cli::clap::{self, Parser, Subcommand};
use fxp_cli::outln;
use fxp_cli::{list_item, print_json, run};
use fxp_core::text::{fixed, label, num, opt, short, vector};
use lms::precision::PrecisionConfig;
use lms::problems::{self, Settings};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    version,
    allow_negative_numbers = true,
    after_help = "Examples:\n  \
      lms series\n  \
      lms precision --loss-db 0.1 --max-bits 10\n  \
      lms lms --multiples 0.5,0.01 --quick\n  \
      lms dlms --json > dlms.json\n  \
      lms arch --dot | dot -Tsvg > arch.svg",
    about = "Problems 5–7: fixed-point 3-tap predictor, LMS, delayed LMS, DFG retiming"
)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
    /// Print JSON on stdout (and nothing else).
    #[arg(long, global = true)]
    json: bool,
    /// Seed of every random stream.
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Fast smoke configuration (fewer realizations, shorter runs).
    #[arg(long, global = true)]
    quick: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The AR(3) generator fitted to the seed's statistics: target vs model vs measured.
    #[command(after_help = "Examples:\n  lms series\n  lms series --seed 2 --json")]
    Series,
    /// The Wiener predictor of the generated series: R, w*, MMSE, SNR.
    #[command(after_help = "Examples:\n  lms wiener\n  lms wiener --quick --json")]
    Wiener,
    /// Problem 5: noise budget, analytic and bit-true minimum precision, FA cost.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  lms precision\n  lms precision --loss-db 0.2 --max-bits 10 --json"
    )]
    Precision {
        /// Allowed SNR loss in dB.
        #[arg(long, default_value_t = 0.1)]
        loss_db: f64,
        /// Input range r_x (power of two); default: 2^ceil(log2 max|x|).
        #[arg(long)]
        range_x: Option<f64>,
        /// Coefficient range r_w (power of two); default: 2^ceil(log2 max|w*|).
        #[arg(long)]
        range_w: Option<f64>,
        /// Largest precision simulated (1..=32).
        #[arg(long, default_value_t = 12, alias = "bits-max",
              value_parser = clap::value_parser!(u32).range(1..=32))]
        max_bits: u32,
    },
    /// Problem 6: LMS ensembles at multiples of μ_max, misadjustment, architecture.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  lms lms\n  lms lms --multiples 0.5,0.01 --quick --json"
    )]
    Lms {
        /// Multiples of μ_max, comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = list_item::<f64>,
              default_values_t = [0.5, 0.01, 50.0])]
        multiples: Vec<f64>,
    },
    /// Problem 7: delayed LMS, the μ sweep / stability map, minimum M1 by retiming.
    #[command(after_help = "Examples:\n  lms dlms\n  lms dlms --quick --json")]
    Dlms,
    /// Architectures: critical path, latency, throughput, retiming; DOT text.
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  lms arch --t-m 3 --t-a 2\n  lms arch --dot | dot -Tsvg > arch.svg"
    )]
    Arch {
        /// Multiplier delay T_M.
        #[arg(long, default_value_t = 3.0)]
        t_m: f64,
        /// Adder delay T_A.
        #[arg(long, default_value_t = 2.0)]
        t_a: f64,
        /// Print only the DOT text of both architectures (pipe it into `dot`).
        #[arg(long)]
        dot: bool,
    },
}

fn main() {
    run(|| -> Result<(), String> {
        let args = Args::parse();
        let mut s = if args.quick {
            Settings::quick(args.seed)
        } else {
            Settings::full(args.seed)
        };
        let e = |x: lms::LmsError| x.to_string();
        let out = |v: serde_json::Value| print_json(&v).map_err(|x| x.to_string());
        match args.cmd {
            Cmd::Series => {
                let (r, _) = problems::series(&s).map_err(e)?;
                if args.json {
                    return out(json!(r));
                }
                let f = &r.fit;
                outln!(
                    "AR(3) model: a = {}, sigma_v^2 = {}, pole radius {}",
                    vector(f.model.a.iter().copied(), 4),
                    num(f.model.sigma_v2, 4),
                    fixed(f.pole_radius, 4)
                );
                outln!("selection: {}", f.selection);
                outln!(
                    "{:<12} {:>10} {:>10} {:>10}",
                    "",
                    "target",
                    "model",
                    "measured"
                );
                outln!(
                    "{:<12} {:>10.4} {:>10.4} {:>10.4}",
                    "sigma_x^2",
                    f.target.sigma_x2,
                    f.model_sigma_x2,
                    r.measured.sigma_x2
                );
                outln!(
                    "{:<12} {:>10.4} {:>10.4} {:>10.4}",
                    "sigma_e^2",
                    f.target.sigma_e2,
                    f.model_sigma_e2,
                    r.measured.mmse
                );
                outln!(
                    "{:<12} {:>10.4} {:>10.4} {:>10.4}",
                    "|w*|^2",
                    f.target.w_norm2,
                    f.model_w_norm2,
                    r.measured.w_norm2
                );
            }
            Cmd::Wiener => {
                let (r, _) = problems::series(&s).map_err(e)?;
                let w = &r.measured;
                if args.json {
                    return out(json!(w));
                }
                outln!("r = {}", vector(w.r.iter().copied(), 4));
                outln!("w* = {}", vector(w.w.iter().copied(), 4));
                outln!(
                    "sigma_x^2 = {:.5}, MMSE = {:.5}, |w*|^2 = {:.5}, SNR = {:.3} dB",
                    w.sigma_x2,
                    w.mmse,
                    w.w_norm2,
                    w.snr_db
                );
                outln!(
                    "eigenvalues of R: {}",
                    vector(w.eigenvalues.iter().copied(), 4)
                );
            }
            Cmd::Precision {
                loss_db,
                range_x,
                range_w,
                max_bits,
            } => {
                s.precision = PrecisionConfig {
                    loss_db,
                    range_x,
                    range_w,
                    bits_max: max_bits,
                    ..PrecisionConfig::default()
                };
                let p = problems::p5(&s).map_err(e)?;
                let pr = &p.precision;
                if args.json {
                    let mut v = json!(p);
                    if let Some(o) = v.get_mut("precision").and_then(|x| x.as_object_mut()) {
                        o.remove("grid");
                    }
                    return out(v);
                }
                let (m, seed) = (&pr.model, &p.seed_values);
                outln!(
                    "noise budget (10^(L/10)-1) sigma_e^2 = {:.6} (seed {})",
                    m.budget,
                    seed.noise_budget
                );
                outln!(
                    "ranges: r_x = {}, r_w = {}; noise = {:.5} Dx^2 + {:.5} Dw^2",
                    m.range_x,
                    m.range_w,
                    m.coef_x(),
                    m.coef_w()
                );
                outln!("equal precision: B > {:.3} -> B = {} (seed: B > {} -> {} with r = 1; ours with r = 1: B > {:.3})", pr.bits_equal_real, pr.bits_analytic, seed.bits_real, seed.bits, pr.seed_ranges_bits_real);
                outln!(
                    "best pair (min Bx+Bw): Bx = {}, Bw = {}; cheapest: Bx = {}, Bw = {}",
                    pr.best_pair_analytic.bx,
                    pr.best_pair_analytic.bw,
                    pr.cheapest_pair_analytic.bx,
                    pr.cheapest_pair_analytic.bw
                );
                outln!(
                    "{:>3} {:>12} {:>12} {:>6}",
                    "B",
                    "loss dB",
                    "model dB",
                    "acc"
                );
                for q in &pr.equal_bits {
                    outln!(
                        "{:>3} {:>12} {:>12} {:>6}",
                        q.bx,
                        fixed(q.loss_db, 5),
                        fixed(q.predicted_loss_db, 5),
                        q.acc_bits
                    );
                }
                outln!(
                    "simulated minimum B = {}; best simulated pair {}",
                    opt(pr.bits_simulated, "none up to --max-bits"),
                    opt(
                        pr.best_pair_simulated
                            .as_ref()
                            .map(|p| format!("Bx = {}, Bw = {}", p.bx, p.bw)),
                        "none"
                    )
                );
                let c = &pr.fa_cost;
                outln!("FA at B = {}: printed {:.2}, seed convention {:.0}, seed formula {:.0}, (N-1)(2B-1) variant {:.0} (seed prints {} at B = {})", c.bits, c.printed, c.seed_convention, c.seed_formula, c.seed_printed_value_formula, seed.fa_cost, seed.bits);
            }
            Cmd::Lms { multiples } => {
                s.lms_multiples = multiples;
                let p = problems::p6(&s).map_err(e)?;
                if args.json {
                    return out(json!(p));
                }
                outln!(
                    "mu_max = 2/(N sigma_x^2) = {:.4} (seed {}); mean bound 2/lambda_max = {:.4}; Gaussian mean-square bound {:.4}",
                    p.mu_max, p.seed_values.mu_max, p.mu_mean_bound, p.mu_mean_square_bound
                );
                outln!(
                    "Wiener w* = {}, MMSE = {}",
                    vector(p.wiener.w.iter().copied(), 4),
                    fixed(p.wiener.mmse, 5)
                );
                for r in &p.runs {
                    let c = &r.curves;
                    outln!(
                        "mu = {} ({} mu_max): {}, final MSE {} (Wiener {}), M measured {}, theory {} / {}, final w {}, diverged {}/{}",
                        fixed(r.mu, 4),
                        short(r.multiple, 4),
                        label(&c.status),
                        num(c.final_mse, 6),
                        fixed(c.final_wiener_mse, 5),
                        opt(c.misadjustment.map(|m| num(m, 4)), "none (diverged)"),
                        num(r.misadjustment_small_mu, 4),
                        opt(r.misadjustment_independence.map(|m| num(m, 4)), "none (unstable)"),
                        opt(c.final_coef.as_ref().map(|w| vector(w.iter().copied(), 4)), "none (diverged)"),
                        c.diverged_realizations,
                        c.config.realizations
                    );
                }
                let a = &p.arch;
                outln!(
                    "critical path {} = {}; latency {}; throughput {}",
                    a.critical_path.symbolic,
                    a.critical_path.time,
                    a.latency.symbolic,
                    a.throughput
                );
            }
            Cmd::Dlms => {
                let p = problems::p7(&s).map_err(e)?;
                if args.json {
                    return out(json!(p));
                }
                let c = &p.dlms;
                outln!(
                    "DLMS M1 = {} mu = {}: {}, final w {} (w* {})",
                    c.config.delay,
                    short(c.config.mu, 4),
                    label(&c.status),
                    opt(
                        c.final_coef.as_ref().map(|w| vector(w.iter().copied(), 4)),
                        "none (diverged)"
                    ),
                    vector(p.wiener.w.iter().copied(), 4)
                );
                for b in &p.bounds {
                    outln!(
                        "M1 = {:>2}: mean bound {}, trace bound {}, last stable mu {}, first diverged mu {}",
                        b.delay,
                        fixed(b.mean_bound, 4),
                        fixed(b.trace_bound, 4),
                        opt(b.last_stable_mu.map(|m| num(m, 4)), "none"),
                        opt(b.first_diverged_mu.map(|m| num(m, 4)), "none")
                    );
                }
                outln!(
                    "mu_fail (M1 = {}) = {} (seed {})",
                    s.dlms_delay,
                    opt(p.mu_fail.map(|m| num(m, 4)), "none"),
                    p.seed_values.mu_fail
                );
                for r in &p.ratios {
                    outln!(
                        "T_M/T_A = {:>4}: min M1 = {} (mu as a free shift: {})",
                        short(r.t_m, 3),
                        opt(r.min_m1, "none"),
                        opt(r.min_m1_mu_free, "none")
                    );
                }
                outln!(
                    "min M1 for T_cp = T_M at every T_M > T_A: {} (seed {})",
                    p.min_m1,
                    p.seed_values.min_m1
                );
            }
            Cmd::Arch { t_m, t_a, dot } => {
                let t = lms::dfg::Timing::new(t_m, t_a).map_err(e)?;
                let opt = lms::dfg::ArchOptions {
                    taps: s.taps,
                    delay: 0,
                    count_mu: true,
                };
                let g = lms::dfg::lms_architecture(opt).map_err(e)?;
                let cp = g.critical_path(&t).map_err(e)?;
                let lat = g.latency(&t, "yhat").map_err(e)?;
                let min = lms::dfg::min_delay_for_period(s.taps, true, &t, t.t_m, 40).map_err(e)?;
                let (min_m1, rg) = match &min {
                    Some((m, r)) => {
                        let gd =
                            lms::dfg::lms_architecture(lms::dfg::ArchOptions { delay: *m, ..opt })
                                .map_err(e)?;
                        (Some(*m), Some(gd.retimed(r).map_err(e)?))
                    }
                    None => (None, None),
                };
                if args.json {
                    return out(json!({
                        "timing": t, "critical_path": cp.symbolic.to_string(), "critical_path_time": cp.time,
                        "critical_path_nodes": cp.nodes, "latency": lat.symbolic.to_string(), "latency_time": lat.time,
                        "throughput": cp.symbolic.throughput(), "min_m1": min_m1,
                        "dot_lms": g.to_dot(), "dot_dlms_retimed": rg.as_ref().map(|g| g.to_dot()),
                    }));
                }
                if dot {
                    // DOT only, so that the output can be piped into `dot`.
                    outln!("{}", g.to_dot());
                    if let Some(rg) = rg {
                        outln!("{}", rg.to_dot());
                    }
                    return Ok(());
                }
                outln!(
                    "critical path {} = {} ({})",
                    cp.symbolic,
                    short(cp.time, 4),
                    cp.nodes.join(" -> ")
                );
                outln!(
                    "latency {} = {}; throughput {}",
                    lat.symbolic,
                    lat.time,
                    cp.symbolic.throughput()
                );
                outln!(
                    "min M1 for T_cp = T_M at T_M = {}, T_A = {}: {}",
                    short(t_m, 4),
                    short(t_a, 4),
                    fxp_core::text::opt(min_m1, "none up to 40")
                );
                if rg.is_some() {
                    outln!("(--dot prints both architectures as DOT)");
                }
            }
        }
        Ok(())
    })
}
