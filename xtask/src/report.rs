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
    started: Instant,
}

impl Ctx {
    /// A context writing into `out`.
    pub fn new(out: PathBuf, quick: bool, data_dir: Option<PathBuf>) -> Self {
        Self {
            out,
            quick,
            data_dir,
            started: Instant::now(),
        }
    }

    /// Path of a figure file `out/figures/<name>`.
    pub fn figure(&self, name: &str) -> PathBuf {
        self.out.join("figures").join(name)
    }

    /// A markdown image line for figure `name`.
    pub fn figure_link(&self, name: &str, caption: &str) -> String {
        format!("![{caption}](figures/{name})\n\n*{caption}*\n")
    }

    /// A progress line on stderr with the elapsed time.
    pub fn step(&self, msg: &str) {
        eprintln!("[{:>7.1}s] {msg}", self.started.elapsed().as_secs_f64());
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
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.digits$}")).collect();
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
