//! The report: one section per problem, assembled into REPORT.md and results.json.
//!
//! Each problem writes its section (`sections/pN.md`, `sections/pN.json`) as soon as it is
//! done; REPORT.md and results.json are then rebuilt from every section present, so
//! `cargo xtask p4` refreshes Problem 4 and keeps the others. All files are written atomically.
use fxp_core::io::{atomic_write, write_json};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Error type of the xtask binary.
pub type XResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What a problem's run gets: where to write, how thorough to be.
pub struct Ctx {
    /// Output folder (`target/homework` by default).
    pub out: PathBuf,
    /// Fast smoke configuration (small data, few samples).
    pub quick: bool,
    /// The `--data` folder, if given; `cifar_infer::data::resolve_data_dir` applies the defaults.
    pub data_dir: Option<PathBuf>,
    /// The `--cifar` folder, if given (default `<data>/cifar10`).
    pub cifar_dir: Option<PathBuf>,
    /// Recompute results that a cache under `out/cache` holds (`--fresh`).
    pub fresh: bool,
    started: Instant,
}

impl Ctx {
    /// A context writing into `out`.
    pub fn new(out: PathBuf, quick: bool, data_dir: Option<PathBuf>) -> Self {
        Self {
            out,
            quick,
            data_dir,
            cifar_dir: None,
            fresh: false,
            started: Instant::now(),
        }
    }

    /// Path of a figure file `out/figures/<name>`.
    pub fn figure(&self, name: &str) -> PathBuf {
        self.out.join("figures").join(name)
    }

    /// A markdown image line for figure `name`.
    pub fn figure_link(&self, name: &str, caption: &str) -> String {
        // Blank lines around the image: an image right after a caption line renders inline.
        format!("\n\n![{caption}](figures/{name})\n\n*{caption}*\n\n")
    }

    /// A progress line on stderr with the elapsed time (and the process's CPU seconds).
    pub fn step(&self, msg: &str) {
        let cpu = fxp_core::progress::process_cpu_seconds()
            .map_or(String::new(), |c| format!(" {c:>7.1} CPU-s"));
        eprintln!(
            "[{:>7.1}s{cpu}] {msg}",
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// One problem's part of the report.
#[derive(Debug, Clone)]
pub struct Section {
    /// Key in results.json and file stem (`p1` … `p7`).
    pub id: String,
    /// Markdown, starting with `## Problem N — …`.
    pub markdown: String,
    /// The numbers of the section: `results.json[id]`.
    pub json: Value,
}

/// Saves a section, then rebuilds REPORT.md and results.json from all saved sections.
pub fn save_section(out: &Path, section: &Section) -> XResult<()> {
    let dir = out.join("sections");
    atomic_write(
        &dir.join(format!("{}.md", section.id)),
        section.markdown.as_bytes(),
    )?;
    write_json(&dir.join(format!("{}.json", section.id)), &section.json)?;
    rebuild(out)
}

fn section_ids(dir: &Path) -> XResult<Vec<String>> {
    let mut ids: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".md"))
                    .map(String::from)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    // p1 < p2 < … < p10; other ids after, alphabetically
    ids.sort_by_key(|id| {
        (
            id.strip_prefix('p')
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX),
            id.clone(),
        )
    });
    Ok(ids)
}

/// Rebuilds REPORT.md and results.json from the saved sections.
pub fn rebuild(out: &Path) -> XResult<()> {
    let dir = out.join("sections");
    let ids = section_ids(&dir)?;
    let mut md = String::from(
        "# fxp-hw — Homework 2 report\n\n\
         Every number below is computed by this workspace (`cargo xtask all`). Seed values are the \
         worked solution's printed numbers, shown beside ours for comparison only. Machine-readable \
         results: `results.json`; figures: `figures/`.\n\n",
    );
    let mut json = Map::new();
    for id in &ids {
        let text = std::fs::read_to_string(dir.join(format!("{id}.md")))?;
        md.push_str(text.trim_end());
        md.push_str("\n\n");
        if let Ok(j) = std::fs::read_to_string(dir.join(format!("{id}.json"))) {
            json.insert(id.clone(), serde_json::from_str(&j)?);
        }
    }
    atomic_write(&out.join("REPORT.md"), md.as_bytes())?;
    write_json(&out.join("results.json"), &Value::Object(json))?;
    Ok(())
}

/// Escapes the `|` of a table cell (one already escaped as `\|` is left alone), so a cell such
/// as `|δ|` cannot split the row.
fn escape_cell(cell: &str) -> String {
    let mut s = String::with_capacity(cell.len());
    let mut prev = None;
    for c in cell.chars() {
        if c == '|' && prev != Some('\\') {
            s.push('\\');
        }
        s.push(c);
        prev = Some(c);
    }
    s
}

/// A markdown table from a header and rows; `|` inside cells is escaped.
pub fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.map(escape_cell).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut s = line(&mut header.iter().copied());
    s.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        s.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    s
}

/// A tuple of numbers with `digits` decimals: `(0.1234, -0.5678)`.
pub fn tuple_str(v: &[f64], digits: usize) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|&x| fxp_core::text::fixed(x, digits))
        .collect();
    format!("({})", parts.join(", "))
}

/// An optional number with `digits` decimals, `—` when absent.
pub fn opt_str(x: Option<f64>, digits: usize) -> String {
    x.map_or("—".into(), |v| format!("{v:.digits$}"))
}

/// A number in scientific notation with 4 significant digits (`1.386e8`).
pub fn sci(x: f64) -> String {
    format!("{x:.3e}")
}

/// A value computed by [`cached`]: from this run or from the cache of an earlier one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Cached<T> {
    /// The value.
    pub value: T,
    /// Seconds of the computation (of the run that made it, when it comes from the cache).
    pub seconds: f64,
    /// Whether this run read it from the cache.
    #[serde(skip)]
    pub from_cache: bool,
}

impl<T> Cached<T> {
    /// "583 s", or "583 s, read from the cache of an earlier run".
    pub fn timing(&self) -> String {
        if self.from_cache {
            format!(
                "{:.0} s, read from the cache of an earlier run",
                self.seconds
            )
        } else {
            format!("{:.0} s", self.seconds)
        }
    }
}

/// Bump when a cached computation's numbers change for the same inputs: old entries are then
/// ignored.
const CACHE_VERSION: u32 = 1;

/// `compute()`, cached in `out/cache/<name>-<hash>.json` under a hash of `key` (which must
/// cover every input of the computation: file contents, parameters); the cache is read unless
/// `--fresh`, and an unreadable or stale entry is recomputed.
pub fn cached<T, K>(
    ctx: &Ctx,
    name: &str,
    key: &K,
    compute: impl FnOnce() -> XResult<T>,
) -> XResult<Cached<T>>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    K: std::hash::Hash + ?Sized,
{
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&(CACHE_VERSION, env!("CARGO_PKG_VERSION")), &mut h);
    key.hash(&mut h);
    let path = ctx
        .out
        .join("cache")
        .join(format!("{name}-{:016x}.json", h.finish()));
    if !ctx.fresh {
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(mut c) = serde_json::from_slice::<Cached<T>>(&bytes) {
                ctx.step(&format!(
                    "{name}: read from the cache ({}; --fresh recomputes)",
                    path.display()
                ));
                c.from_cache = true;
                return Ok(c);
            }
        }
    }
    let t = Instant::now();
    let value = compute()?;
    let c = Cached {
        value,
        seconds: t.elapsed().as_secs_f64(),
        from_cache: false,
    };
    write_json(&path, &c)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Markdown renders an image right after a text line inline: every image has a blank
    /// line before it and its caption a blank line after it.
    #[test]
    fn figures_are_separate_paragraphs() {
        let ctx = Ctx::new(PathBuf::from("/tmp/unused"), false, None);
        let mut md = String::from("Some text.");
        md.push_str(&ctx.figure_link("a.svg", "first"));
        md.push_str(&ctx.figure_link("b.svg", "second"));
        md.push_str("More text.\n");
        let lines: Vec<&str> = md.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with("![") {
                assert_eq!(lines[i - 1], "", "{md}");
            }
            if l.starts_with('*') && l.ends_with('*') {
                assert_eq!(lines[i + 1], "", "{md}");
            }
        }
    }

    #[test]
    fn cache_reuses_only_identical_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = Ctx::new(dir.path().to_path_buf(), false, None);
        let calls = Cell::new(0);
        let run = |ctx: &Ctx, key: &str| {
            cached(ctx, "t", key, || {
                calls.set(calls.get() + 1);
                Ok(vec![0.1f64, 1.0 / 3.0, f64::MAX])
            })
            .unwrap()
        };
        let first = run(&ctx, "a");
        assert!(!first.from_cache);
        let again = run(&ctx, "a");
        assert!(again.from_cache);
        assert_eq!(again.value, first.value, "f64 values round-trip exactly");
        assert_eq!(calls.get(), 1);
        run(&ctx, "b");
        assert_eq!(calls.get(), 2, "another key is another computation");
        ctx.fresh = true;
        assert!(!run(&ctx, "a").from_cache);
        assert_eq!(calls.get(), 3, "--fresh recomputes");
        ctx.fresh = false;
        for e in std::fs::read_dir(dir.path().join("cache")).unwrap() {
            std::fs::write(e.unwrap().path(), b"{ truncated").unwrap();
        }
        assert!(!run(&ctx, "a").from_cache, "a damaged entry is recomputed");
        assert_eq!(calls.get(), 4);
    }
}
