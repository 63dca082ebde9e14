//! The page's section "On-path attacks" (only when the scenario has on-path components): per
//! component, what it attempted, what succeeded silently, what an endpoint detected and how.

use std::fmt::Write;

use super::escape;
use crate::rows;
use crate::score::Report;

pub(super) fn section_on_path(o: &mut String, r: &Report) {
    if r.on_path.is_empty() {
        return;
    }
    o.push_str(
        "<section id=\"on-path\">\n<h2>On-path attacks</h2>\n<p>What the adversary's active \
                components at a compromised core tried, and whether an endpoint noticed: \
                <em>silent</em> attacks achieved something without anyone noticing.</p>\n",
    );
    o.push_str("<table>\n<thead><tr><th scope=\"col\">app</th><th scope=\"col\">protocol</th><th scope=\"col\">mode</th>\
                <th scope=\"col\" class=\"num\">attempted</th><th scope=\"col\" class=\"num\">silent</th>\
                <th scope=\"col\" class=\"num\">detected</th><th scope=\"col\" class=\"num\">failed</th>\
                <th scope=\"col\" class=\"num\">messages read</th><th scope=\"col\">detected by</th></tr></thead>\n<tbody>\n");
    for a in rows::on_path(r) {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(a.app),
            escape(a.protocol),
            escape(a.mode),
            a.attempted,
            a.silent,
            a.detected,
            a.failed,
            a.read,
            a.detected_by.as_deref().map_or_else(|| "–".into(), escape)
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}
