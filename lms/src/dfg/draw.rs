//! Drawings of a graph: Graphviz DOT text and a simple SVG.
use super::{Dfg, Node, OpKind};

impl Dfg {
    /// Graphviz DOT text (delays as edge labels "kD").
    pub fn to_dot(&self) -> String {
        let mut s = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n",
            self.title
        );
        for v in &self.nodes {
            let shape = match v.kind {
                OpKind::Mul => "circle",
                OpKind::Add => "circle",
                OpKind::Io => "plaintext",
            };
            s += &format!("  {} [label=\"{}\", shape={shape}];\n", v.name, v.label);
        }
        for e in &self.edges {
            let (a, b) = (&self.nodes[e.from].name, &self.nodes[e.to].name);
            if e.delays > 0 {
                s += &format!("  {a} -> {b} [label=\"{}D\"];\n", e.delays);
            } else {
                s += &format!("  {a} -> {b};\n");
            }
        }
        s + "}\n"
    }

    /// A simple SVG drawing from the nodes' positions; delays are written on the edges and the
    /// `highlight` nodes (e.g. the critical path) are drawn in red.
    pub fn to_svg(&self, highlight: &[String]) -> String {
        let (sx, sy, pad) = (110.0, 90.0, 60.0);
        let maxx = self.nodes.iter().map(|v| v.pos.0).fold(0.0, f64::max);
        let maxy = self.nodes.iter().map(|v| v.pos.1).fold(0.0, f64::max);
        let margin = 0.06 * maxx * sx + 40.0; // room for the bent edges above and below
        let (wd, ht) = (
            maxx * sx + 2.0 * pad,
            maxy * sy + 2.0 * pad + 40.0 + 2.0 * margin,
        );
        let xy = |v: &Node| (pad + v.pos.0 * sx, pad + 30.0 + margin + v.pos.1 * sy);
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{wd:.0}\" height=\"{ht:.0}\" viewBox=\"0 0 {wd:.0} {ht:.0}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
             <defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{:.0}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
            wd / 2.0,
            xml_escape(&self.title)
        );
        let rad = 18.0;
        for e in &self.edges {
            let (a, b) = (xy(&self.nodes[e.from]), xy(&self.nodes[e.to]));
            let on_cp = highlight.contains(&self.nodes[e.from].name)
                && highlight.contains(&self.nodes[e.to].name)
                && e.delays == 0;
            let color = if on_cp { "#c00" } else { "#333" };
            let (label_x, label_y, path) = if e.from == e.to {
                let (x, y) = a;
                (
                    x,
                    y - 2.6 * rad,
                    format!(
                        "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                        x - 8.0,
                        y - rad,
                        x - 40.0,
                        y - 70.0,
                        x + 40.0,
                        y - 70.0,
                        x + 8.0,
                        y - rad
                    ),
                )
            } else {
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let len = (dx * dx + dy * dy).sqrt().max(1e-9);
                let (ux, uy) = (dx / len, dy / len);
                // feedback edges bend below, long forward edges above, short ones are straight
                let back = dx < 0.0;
                if back || dx.abs() > 2.5 * sx {
                    let bend = if back {
                        0.22 * len + 30.0
                    } else {
                        -(0.22 * len + 30.0)
                    };
                    let c = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0 + bend);
                    let toward = |p: (f64, f64)| {
                        let (vx, vy) = (c.0 - p.0, c.1 - p.1);
                        let l = (vx * vx + vy * vy).sqrt().max(1e-9);
                        (p.0 + rad * vx / l, p.1 + rad * vy / l)
                    };
                    let (p0, p1) = (toward(a), toward(b));
                    (
                        (p0.0 + 2.0 * c.0 + p1.0) / 4.0,
                        (p0.1 + 2.0 * c.1 + p1.1) / 4.0 - 4.0,
                        format!(
                            "M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
                            p0.0, p0.1, c.0, c.1, p1.0, p1.1
                        ),
                    )
                } else {
                    let (p0, p1) = (
                        (a.0 + ux * rad, a.1 + uy * rad),
                        (b.0 - ux * rad, b.1 - uy * rad),
                    );
                    (
                        (p0.0 + p1.0) / 2.0,
                        (p0.1 + p1.1) / 2.0 - 6.0,
                        format!("M{:.1},{:.1} L{:.1},{:.1}", p0.0, p0.1, p1.0, p1.1),
                    )
                }
            };
            s += &format!("<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.4\" marker-end=\"url(#arr)\"/>\n");
            if e.delays > 0 {
                s += &format!("<text x=\"{label_x:.1}\" y=\"{label_y:.1}\" font-size=\"12\" fill=\"#06c\" text-anchor=\"middle\">{}D</text>\n", e.delays);
            }
        }
        for v in &self.nodes {
            let (x, y) = xy(v);
            let stroke = if highlight.contains(&v.name) {
                "#c00"
            } else {
                "#333"
            };
            match v.kind {
                OpKind::Io => {
                    s += &format!("<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"14\" text-anchor=\"middle\">{}</text>\n", y + 5.0, xml_escape(&v.label));
                }
                _ => {
                    let fill = if v.kind == OpKind::Mul {
                        "#fff4d6"
                    } else {
                        "#e3f0ff"
                    };
                    s += &format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{rad}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.6\"/>\n");
                    s += &format!("<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n", y + 5.0, xml_escape(&v.label));
                    s += &format!("<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\" text-anchor=\"middle\">{}</text>\n", y + rad + 12.0, xml_escape(&v.name));
                }
            }
        }
        s + "</svg>\n"
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
