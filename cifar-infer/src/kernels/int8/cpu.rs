//! CPU detection and the kernel values: [`SimdLevel`], [`IntKernel`] (obtainable only where the
//! CPU runs it), [`simd_level`] (the level in use, capped by `FXP_HW_INT_KERNEL`).
#[cfg(target_arch = "x86_64")]
use super::amx::gemm_amx;
use super::portable::{gemm_portable, Kernel};
#[cfg(target_arch = "x86_64")]
use super::vnni::gemm_vnni;
use super::MAX_BITS;
use fxp_core::{Quantizer, Signedness};

/// The SIMD level of the integer kernel, from slowest to fastest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimdLevel {
    /// Portable scalar code.
    Portable,
    /// AVX-512 F/BW/DQ/VL + VNNI.
    Avx512Vnni,
    /// AMX-INT8 tiles (with AVX-512 VNNI for the leftover positions).
    Amx,
}

/// An integer kernel this CPU can run. It can only be obtained through [`IntKernel::new`],
/// which checks the CPU, or [`IntKernel::best`], so no safe call can reach an instruction the
/// CPU lacks (the pattern of rten-gemm's kernel values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntKernel {
    level: SimdLevel,
}

impl IntKernel {
    /// The kernel of `level`, or `None` when this CPU cannot run it.
    pub fn new(level: SimdLevel) -> Option<Self> {
        (level <= detected_level()).then_some(Self { level })
    }

    /// The kernel the integer path uses: [`simd_level`] (the best of this CPU, capped by
    /// `FXP_HW_INT_KERNEL`).
    pub fn best() -> Self {
        Self {
            level: simd_level(),
        }
    }

    /// Every kernel this CPU can run, slowest first (for tests and benchmarks).
    pub fn available() -> Vec<Self> {
        [SimdLevel::Portable, SimdLevel::Avx512Vnni, SimdLevel::Amx]
            .into_iter()
            .filter_map(Self::new)
            .collect()
    }

    /// Its SIMD level.
    pub fn level(self) -> SimdLevel {
        self.level
    }

    pub(super) fn gemm(self) -> Kernel {
        match self.level {
            SimdLevel::Portable => gemm_portable,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => gemm_vnni,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Amx => gemm_amx,
            #[cfg(not(target_arch = "x86_64"))]
            _ => gemm_portable,
        }
    }
}

/// The level the integer path uses: the best this CPU supports, capped by the environment
/// variable `FXP_HW_INT_KERNEL` (`amx`, `vnni`, `portable`) when it is set.
pub fn simd_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let best = detected_level();
        let cap = match std::env::var("FXP_HW_INT_KERNEL").as_deref() {
            Ok("portable") => SimdLevel::Portable,
            Ok("vnni") => SimdLevel::Avx512Vnni,
            _ => SimdLevel::Amx,
        };
        best.min(cap)
    })
}

/// Checks the environment variable `FXP_HW_INT_KERNEL`: unset, empty, `amx`, `vnni` or
/// `portable`. Anything else is an error (it used to be ignored silently).
pub fn check_kernel_env() -> Result<(), crate::InferError> {
    crate::kernels::check_env_choice("FXP_HW_INT_KERNEL", &["amx", "vnni", "portable"], "kernel")
}

/// The best level of this CPU, whatever the environment says (detected once).
pub(super) fn detected_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
            {
                if super::amx::enable() {
                    return SimdLevel::Amx;
                }
                return SimdLevel::Avx512Vnni;
            }
        }
        SimdLevel::Portable
    })
}

/// Whether the integer path applies to a layer (B_A ≤ 16, B_W ≤ 16, signed weights, D ≤ 65,536)
/// *and* is fast on this CPU (a SIMD kernel exists).
pub fn applies(act: &Quantizer, weight: &Quantizer, d: usize) -> bool {
    act.bits() <= MAX_BITS
        && weight.bits() <= MAX_BITS
        && weight.signedness() == Signedness::Signed
        && d <= 1 << 16
        && simd_level() != SimdLevel::Portable
}
