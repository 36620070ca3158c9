//! The risk management plan as a PDF that the people holding the plan can take to a meeting.
//!
//! Written with `pdf-writer` in Helvetica, one of the PDF base-14 fonts every reader has, so no
//! font file is embedded or committed. Text is WinAnsi-encoded (Latin-1 plus typographic quotes
//! and dashes); anything else shows as `?`. Lines are wrapped with Helvetica's published
//! character widths; pages are A4.

use crate::plans::PlanBlock;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Helvetica and Helvetica-Bold advance widths (1/1000 em) for ASCII 32..=126 (Adobe AFM).
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Regular,
    Bold,
}

/// One character in WinAnsiEncoding (`?` when it has none).
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        _ => b'?',
    }
}

fn width(text: &str, style: Style, size: f32) -> f32 {
    let table = if style == Style::Bold {
        &BOLD
    } else {
        &REGULAR
    };
    let units: u32 = text
        .chars()
        .map(|c| {
            let b = win_ansi(c);
            if (32..=126).contains(&b) {
                u32::from(table[usize::from(b - 32)])
            } else {
                556
            }
        })
        .sum();
    units as f32 * size / 1000.0
}

/// Break `text` into lines no wider than `max` (long words are split).
fn wrap(text: &str, style: Style, size: f32, max: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, style, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width(&piece, style, size) > max {
                    piece.pop();
                    out.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// A line placed on a page: x, y, style, size, text.
type Line = (f32, f32, Style, f32, String);

/// Pages of positioned lines.
struct Layout {
    pages: Vec<Vec<Line>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: PAGE_H - MARGIN,
        }
    }

    fn space(&mut self, h: f32) {
        self.y -= h;
    }

    fn text(&mut self, text: &str, style: Style, size: f32, indent: f32) {
        let leading = size * 1.35;
        for line in wrap(text, style, size, PAGE_W - 2.0 * MARGIN - indent) {
            if self.y - leading < MARGIN {
                self.pages.push(Vec::new());
                self.y = PAGE_H - MARGIN;
            }
            self.y -= leading;
            if let Some(page) = self.pages.last_mut() {
                page.push((MARGIN + indent, self.y, style, size, line));
            }
        }
    }

    fn heading(&mut self, text: &str, size: f32) {
        self.space(size * 0.6);
        self.text(text, Style::Bold, size, 0.0);
        self.space(2.0);
    }

    fn field(&mut self, label: &str, value: &str) {
        self.text(label, Style::Bold, 10.0, 0.0);
        self.text(
            if value.is_empty() {
                "Not recorded"
            } else {
                value
            },
            Style::Regular,
            10.5,
            12.0,
        );
        self.space(3.0);
    }
}

/// The plan as a PDF document.
pub(crate) fn plan(child: &str, b: &PlanBlock, printed: &str) -> Vec<u8> {
    let mut l = Layout::new();
    l.text("OFFICIAL-SENSITIVE", Style::Bold, 9.0, 0.0);
    l.heading(&format!("Risk management plan: {child}"), 18.0);
    l.text(
        &format!(
            "Printed {printed}. Keep it safe and share it only with the people holding the plan."
        ),
        Style::Regular,
        9.0,
        0.0,
    );
    l.space(6.0);
    l.field("Risk level at agreement", b.risk);
    l.field("Lead professional", &format!("{} ({})", b.lead, b.lead_org));
    l.field("Agreed", &b.agreed);
    let mut review = b.next_review.clone();
    if let Some((tag, _)) = &b.review_tag {
        review = format!("{review} ({tag})");
    }
    l.field("Next review", &review);
    l.field("Danger statement", &b.danger);
    l.field("Safety goal", &b.goal);
    for s in &b.sections {
        l.heading(s.label, 13.0);
        if s.actions.is_empty() {
            l.text("No actions in this section.", Style::Regular, 10.5, 0.0);
        }
        for a in &s.actions {
            l.text(&a.description, Style::Bold, 10.5, 0.0);
            let overdue = if a.overdue { " – overdue" } else { "" };
            l.text(
                &format!(
                    "Owner: {}. Due {}{overdue}. Status: {}.",
                    a.owner, a.due, a.status
                ),
                Style::Regular,
                10.0,
                12.0,
            );
            if !a.outcome.is_empty() {
                l.text(
                    &format!("Outcome: {}", a.outcome),
                    Style::Regular,
                    10.0,
                    12.0,
                );
            }
            l.space(4.0);
        }
    }
    l.heading("Plan meetings", 13.0);
    if b.meetings.is_empty() {
        l.text("None recorded.", Style::Regular, 10.5, 0.0);
    }
    for m in &b.meetings {
        l.text(&m.held, Style::Bold, 10.5, 0.0);
        l.text(
            &format!("Attended: {}", m.attendees),
            Style::Regular,
            10.0,
            12.0,
        );
        if !m.orgs.is_empty() {
            l.text(
                &format!("Organisations: {}", m.orgs),
                Style::Regular,
                10.0,
                12.0,
            );
        }
        l.text(
            &format!("Decisions: {}", m.decisions),
            Style::Regular,
            10.0,
            12.0,
        );
        l.space(4.0);
    }
    l.heading("Plan reviews", 13.0);
    if b.reviews.is_empty() {
        l.text("None recorded.", Style::Regular, 10.5, 0.0);
    }
    for r in &b.reviews {
        l.text(&format!("{}: {}", r.on, r.decision), Style::Bold, 10.5, 0.0);
        l.text(&r.changes, Style::Regular, 10.0, 12.0);
        if !r.next.is_empty() {
            l.text(
                &format!("Next review {}", r.next),
                Style::Regular,
                10.0,
                12.0,
            );
        }
        l.space(4.0);
    }
    render(&format!("Risk management plan: {child}"), &l.pages)
}

fn render(title: &str, pages: &[Vec<Line>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut next = 6;
    let mut ids = Vec::new();
    for _ in pages {
        ids.push((Ref::new(next), Ref::new(next + 1)));
        next += 2;
    }
    pdf.catalog(catalog).pages(tree).lang(TextStr("en-GB"));
    pdf.document_info(info)
        .title(TextStr(title))
        .producer(TextStr("mace"));
    pdf.pages(tree)
        .kids(ids.iter().map(|(p, _)| *p))
        .count(i32::try_from(ids.len()).unwrap_or(i32::MAX));
    for (n, lines) in pages.iter().enumerate() {
        let Some((page_id, content_id)) = ids.get(n).copied() else {
            continue;
        };
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        {
            let mut res = page.resources();
            let mut fonts = res.fonts();
            fonts.pair(Name(b"F1"), regular);
            fonts.pair(Name(b"F2"), bold);
        }
        page.finish();
        let mut c = Content::new();
        for (x, y, style, size, text) in lines {
            let font = if *style == Style::Bold {
                Name(b"F2")
            } else {
                Name(b"F1")
            };
            let bytes: Vec<u8> = text.chars().map(win_ansi).collect();
            c.begin_text();
            c.set_font(font, *size);
            c.next_line(*x, *y);
            c.show(Str(&bytes));
            c.end_text();
        }
        let footer = format!("Page {} of {}", n + 1, pages.len());
        c.begin_text();
        c.set_font(Name(b"F1"), 8.0);
        c.next_line(MARGIN, MARGIN / 2.0);
        c.show(Str(footer.as_bytes()));
        c.end_text();
        pdf.stream(content_id, &c.finish());
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_within_the_page_and_encode_win_ansi() {
        let long = "word ".repeat(200);
        for line in wrap(&long, Style::Regular, 10.0, 300.0) {
            assert!(width(&line, Style::Regular, 10.0) <= 300.0, "{line}");
        }
        assert_eq!(wrap("a\nb", Style::Regular, 10.0, 300.0), ["a", "b"]);
        assert_eq!(win_ansi('–'), 0x96);
        assert_eq!(win_ansi('é'), 0xe9);
        assert_eq!(win_ansi('字'), b'?');
        let pdf = render(
            "t",
            &[vec![(10.0, 10.0, Style::Bold, 10.0, "Hello".into())]],
        );
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
