//! `lms` — Problems 5, 6 and 7: the fitted time series, the Wiener predictor, the fixed-point
//! precision analysis, LMS and delayed-LMS ensembles, and the architectures as data-flow graphs.
use clap::{Parser, Subcommand};
use fxp_core::cli::{print_json, run};
use fxp_core::outln;
use lms::precision::PrecisionConfig;
use lms::problems::{self, Settings};
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    version,
    allow_negative_numbers = true,
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
    Series,
    /// The Wiener predictor of the generated series: R, w*, MMSE, SNR.
    Wiener,
    /// Problem 5: noise budget, analytic and bit-true minimum precision, FA cost.
    #[command(allow_negative_numbers = true)]
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
        /// Largest precision simulated.
        #[arg(long, default_value_t = 12)]
        bits_max: u32,
    },
    /// Problem 6: LMS ensembles at multiples of μ_max, misadjustment, architecture.
    #[command(allow_negative_numbers = true)]
    Lms {
        /// Multiples of μ_max, comma-separated.
        #[arg(long, default_value = "0.5,0.01,50")]
        multiples: String,
    },
    /// Problem 7: delayed LMS, the μ sweep / stability map, minimum M1 by retiming.
    Dlms,
    /// Architectures: critical path, latency, throughput, retiming; DOT text.
    #[command(allow_negative_numbers = true)]
    Arch {
        /// Multiplier delay T_M.
        #[arg(long, default_value_t = 3.0)]
        t_m: f64,
        /// Adder delay T_A.
        #[arg(long, default_value_t = 2.0)]
        t_a: f64,
        /// Print the DOT text of both architectures.
        #[arg(long)]
        dot: bool,
    },
}

fn main() {
    run(|| -> Result<(), String> {
        let args = Args::parse();
        let s = if args.quick {
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
                    "AR(3) model: a = {:?}, sigma_v^2 = {}, pole radius {:.4}",
                    f.model.a,
                    f.model.sigma_v2,
                    f.pole_radius
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
                outln!("r = {:?}", w.r);
                outln!("w* = {:?}", w.w);
                outln!(
                    "sigma_x^2 = {:.5}, MMSE = {:.5}, |w*|^2 = {:.5}, SNR = {:.3} dB",
                    w.sigma_x2,
                    w.mmse,
                    w.w_norm2,
                    w.snr_db
                );
                outln!("eigenvalues of R: {:?}", w.eigenvalues);
            }
            Cmd::Precision {
                loss_db,
                range_x,
                range_w,
                bits_max,
            } => {
                let cfg = PrecisionConfig {
                    loss_db,
                    range_x,
                    range_w,
                    bits_max,
                    ..PrecisionConfig::default()
                };
                let p = problems::p5(&s, &cfg).map_err(e)?;
                let pr = &p.precision;
                if args.json {
                    let mut v = json!(p);
                    if let Some(o) = v.get_mut("precision").and_then(|x| x.as_object_mut()) {
                        o.remove("grid");
                    }
                    return out(v);
                }
                let m = &pr.model;
                outln!(
                    "noise budget (10^(L/10)-1) sigma_e^2 = {:.6} (seed 0.008199)",
                    m.budget
                );
                outln!(
                    "ranges: r_x = {}, r_w = {}; noise = {:.5} Dx^2 + {:.5} Dw^2",
                    m.range_x,
                    m.range_w,
                    m.coef_x(),
                    m.coef_w()
                );
                outln!("equal precision: B > {:.3} -> B = {} (seed: B > 3.24 -> 4 with r = 1; ours with r = 1: B > {:.3})", pr.bits_equal_real, pr.bits_analytic, pr.seed_ranges_bits_real);
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
                        "{:>3} {:>12.5} {:>12.5} {:>6}",
                        q.bx,
                        q.loss_db,
                        q.predicted_loss_db,
                        q.acc_bits
                    );
                }
                outln!(
                    "simulated minimum B = {:?}; best simulated pair {:?}",
                    pr.bits_simulated,
                    pr.best_pair_simulated.as_ref().map(|p| (p.bx, p.bw))
                );
                let c = &pr.fa_cost;
                outln!("FA at B = {}: printed {:.2}, seed convention {:.0}, seed formula {:.0}, (N-1)(2B-1) variant {:.0} (seed prints 62 at B = 4)", c.bits, c.printed, c.seed_convention, c.seed_formula, c.seed_printed_value_formula);
            }
            Cmd::Lms { multiples } => {
                let ms: Vec<f64> = fxp_core::cli::parse_list("--multiples", &multiples)?;
                let p = problems::p6(&s, &ms).map_err(e)?;
                if args.json {
                    return out(json!(p));
                }
                outln!(
                    "mu_max = 2/(N sigma_x^2) = {:.4} (seed 1.28); mean bound 2/lambda_max = {:.4}; Gaussian mean-square bound {:.4}",
                    p.mu_max, p.mu_mean_bound, p.mu_mean_square_bound
                );
                outln!("Wiener w* = {:?}, MMSE = {:.5}", p.wiener.w, p.wiener.mmse);
                for r in &p.runs {
                    let c = &r.curves;
                    outln!(
                        "mu = {:.4} ({} mu_max): {:?}, final MSE {:.5} (Wiener {:.5}), M measured {:?}, theory {:.4} / {:?}, final w {:?}, diverged {}/{}",
                        r.mu, r.multiple, c.status, c.final_mse, c.final_wiener_mse, c.misadjustment, r.misadjustment_small_mu, r.misadjustment_independence, c.final_coef, c.diverged_realizations, c.config.realizations
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
                    "DLMS M1 = {} mu = {}: {:?}, final w {:?} (w* {:?})",
                    c.config.delay,
                    c.config.mu,
                    c.status,
                    c.final_coef,
                    p.wiener.w
                );
                for b in &p.bounds {
                    outln!("M1 = {:>2}: mean bound {:.4}, trace bound {:.4}, last stable {:?}, first diverged {:?}", b.delay, b.mean_bound, b.trace_bound, b.last_stable_mu, b.first_diverged_mu);
                }
                outln!(
                    "mu_fail (M1 = {}) = {:?} (seed 0.1)",
                    s.dlms_delay,
                    p.mu_fail
                );
                for r in &p.ratios {
                    outln!(
                        "T_M/T_A = {:>4}: min M1 = {:?} (mu as a free shift: {:?})",
                        r.t_m,
                        r.min_m1,
                        r.min_m1_mu_free
                    );
                }
                outln!(
                    "min M1 for T_cp = T_M at every T_M > T_A: {} (seed 6)",
                    p.min_m1
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
                outln!(
                    "critical path {} = {} ({})",
                    cp.symbolic,
                    cp.time,
                    cp.nodes.join(" -> ")
                );
                outln!(
                    "latency {} = {}; throughput {}",
                    lat.symbolic,
                    lat.time,
                    cp.symbolic.throughput()
                );
                outln!("min M1 for T_cp = T_M at T_M = {t_m}, T_A = {t_a}: {min_m1:?}");
                if dot {
                    outln!("{}", g.to_dot());
                    if let Some(rg) = rg {
                        outln!("{}", rg.to_dot());
                    }
                }
            }
        }
        Ok(())
    })
}
