//! Message bodies for display. Content from a feed is untrusted: markdown is
//! rendered to HTML and then sanitised with an allow-list (ammonia), so no
//! script, event handler, style, frame or `javascript:` URL survives. Links
//! keep only http, https and mailto. Images are dropped unless the source
//! allows remote images.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::model::BodyFormat;

/// Bodies longer than this are cut before rendering, so a hostile 10 MB
/// message cannot stall the UI; the full text stays in the store.
pub const MAX_RENDERED_CHARS: usize = 200_000;

/// Whether a body is longer than what [`body_html`] and [`plain_text`] show.
pub fn is_cut(body: &str) -> bool {
    // Bytes bound characters from above, so most bodies skip the count.
    body.len() > MAX_RENDERED_CHARS && body.chars().nth(MAX_RENDERED_CHARS).is_some()
}

/// Text from a feed made safe to display: the bidirectional embedding,
/// override and isolate controls (U+202A–U+202E, U+2066–U+2069), which can
/// make "invoice\u{202E}fdp.exe" read as "invoiceexe.pdf", and other
/// control characters but line breaks and tabs, become U+FFFD. One
/// character for one, so character offsets into the text stay valid.
pub fn display_safe(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\n' | '\t' => character,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            control if control.is_control() => '\u{FFFD}',
            other => other,
        })
        .collect()
}

/// Sanitised HTML for a message body.
pub fn body_html(body: &str, format: BodyFormat, allow_images: bool) -> String {
    let body = display_safe(cut(body, MAX_RENDERED_CHARS));
    let raw = match format {
        BodyFormat::Markdown => {
            let mut html = String::with_capacity(body.len() * 3 / 2);
            let options =
                Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
            // Task-list boxes become characters, so no <input> is ever allowed.
            let events = Parser::new_ext(&body, options).map(|event| match event {
                Event::TaskListMarker(done) => Event::Text(if done { "☑ " } else { "☐ " }.into()),
                other => other,
            });
            pulldown_cmark::html::push_html(&mut html, events);
            html
        }
        BodyFormat::Text => text_html(&body),
    };
    sanitizer(allow_images).clean(&raw).to_string()
}

/// Plain text escaped for HTML, with line breaks kept.
fn text_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    html.push_str("<p>");
    for character in text.chars() {
        match character {
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '&' => html.push_str("&amp;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '\n' => html.push_str("<br>"),
            other => html.push(other),
        }
    }
    html.push_str("</p>");
    html
}

fn sanitizer(allow_images: bool) -> ammonia::Builder<'static> {
    let mut tags: HashSet<&'static str> = [
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
    .into_iter()
    .collect();
    if allow_images {
        tags.insert("img");
    }
    let mut builder = ammonia::Builder::default();
    builder
        .tags(tags)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .generic_attributes(HashSet::new())
        .tag_attributes(
            [
                ("a", ["href", "title"].into_iter().collect()),
                ("img", ["src", "alt", "title"].into_iter().collect()),
                ("th", ["align"].into_iter().collect()),
                ("td", ["align"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .url_relative(ammonia::UrlRelative::Deny);
    builder
}

/// The body as plain text (markdown syntax removed), at most `max_chars`
/// characters: for notifications, list previews and the terminal.
pub fn plain_text(body: &str, format: BodyFormat, max_chars: usize) -> String {
    let body = cut(body, MAX_RENDERED_CHARS);
    let text = match format {
        BodyFormat::Text => body.to_string(),
        BodyFormat::Markdown => {
            let mut text = String::with_capacity(body.len());
            for event in Parser::new_ext(
                body,
                Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS,
            ) {
                match event {
                    Event::TaskListMarker(done) => {
                        text.push_str(if done { "☑ " } else { "☐ " })
                    }
                    Event::Text(piece) | Event::Code(piece) => text.push_str(&piece),
                    Event::SoftBreak
                    | Event::HardBreak
                    | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                        text.push('\n')
                    }
                    Event::Start(Tag::Item) => text.push_str("• "),
                    _ => {}
                }
            }
            text
        }
    };
    let squeezed: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let joined = display_safe(&squeezed.join("\n"));
    let mut characters = joined.chars();
    let mut out: String = characters.by_ref().take(max_chars).collect();
    if characters.next().is_some() {
        out.push('…');
    }
    out
}

fn cut(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// The emoji for an ntfy tag that is an emoji short code (`warning` → ⚠️).
pub fn tag_emoji(tag: &str) -> Option<&'static str> {
    emojis::get_by_shortcode(tag).map(emojis::Emoji::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markdown(text: &str) -> String {
        body_html(text, BodyFormat::Markdown, false)
    }

    #[test]
    fn markdown_renders_the_usual_things() {
        let html = markdown("**bold** _it_ `code`\n\n- one\n- two\n\n[site](https://example.com)");
        for expected in [
            "<strong>bold</strong>",
            "<em>it</em>",
            "<code>code</code>",
            "<li>one</li>",
            "href=\"https://example.com\"",
        ] {
            assert!(html.contains(expected), "{expected} missing from {html}");
        }
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "links cannot reach the opener: {html}"
        );
    }

    #[test]
    fn hostile_markup_is_inert() {
        let vectors = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<svg><script>alert(1)</script></svg>",
            "<svg onload=alert(1)>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<p style=\"background:url(javascript:alert(1))\">styled</p>",
            "<style>body{display:none}</style>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
            "<form action=https://evil.example><input name=p></form>",
            "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>",
            "Log in: <input type=password name=pw> <input type=file>",
            "- [ ] <input type=text value=phish>",
        ];
        for vector in vectors {
            for format in [BodyFormat::Markdown, BodyFormat::Text] {
                let html = body_html(vector, format, true).to_lowercase();
                // Escaped text may still *say* "onerror"; what matters is what is inside tags.
                let tags: Vec<&str> = html
                    .split('<')
                    .skip(1)
                    .filter_map(|rest| rest.split('>').next())
                    .collect();
                for tag in &tags {
                    for forbidden in [
                        "script",
                        "iframe",
                        "svg",
                        "form",
                        "math",
                        "style",
                        "input",
                        "onerror",
                        "onload",
                        "javascript:",
                        "data:",
                    ] {
                        assert!(
                            !tag.contains(forbidden),
                            "{forbidden} survived in <{tag}> of {html} (from {vector})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn images_only_when_the_source_allows_them() {
        let text = "![chart](https://example.com/c.png)";
        assert!(!body_html(text, BodyFormat::Markdown, false).contains("<img"));
        assert!(body_html(text, BodyFormat::Markdown, true)
            .contains("<img src=\"https://example.com/c.png\""));
    }

    #[test]
    fn text_bodies_are_escaped_and_keep_lines() {
        assert_eq!(
            body_html("a < b\nc & d", BodyFormat::Text, false),
            "<p>a &lt; b<br>c &amp; d</p>"
        );
    }

    #[test]
    fn plain_text_strips_markdown_and_bounds_length() {
        assert_eq!(
            plain_text(
                "**Disk** at _99%_\n\n- db-1\n- db-2",
                BodyFormat::Markdown,
                100
            ),
            "Disk at 99%\n• db-1\n• db-2"
        );
        assert_eq!(plain_text("库存告警通知", BodyFormat::Text, 4), "库存告警…");
        let huge = "x".repeat(10 * 1024 * 1024);
        assert_eq!(
            plain_text(&huge, BodyFormat::Markdown, 10).chars().count(),
            11
        );
    }

    #[test]
    fn ntfy_tags_become_emoji() {
        assert_eq!(tag_emoji("warning"), Some("⚠️"));
        assert_eq!(tag_emoji("rotating_light"), Some("🚨"));
        assert_eq!(tag_emoji("backup-prod"), None);
    }

    #[test]
    fn task_lists_render_as_characters_not_inputs() {
        let html = markdown("- [x] shipped\n- [ ] invoiced");
        assert!(
            html.contains("☑ shipped") && html.contains("☐ invoiced"),
            "{html}"
        );
        assert!(!html.contains("<input"), "{html}");
        let text = plain_text("- [x] shipped", BodyFormat::Markdown, 100);
        assert_eq!(text, "• ☑ shipped");
    }

    #[test]
    fn bidi_controls_cannot_disguise_text() {
        let spoof = "invoice\u{202E}fdp.exe";
        assert_eq!(display_safe(spoof), "invoice\u{FFFD}fdp.exe");
        assert_eq!(
            display_safe("a\u{2066}b\u{0007}c\nd"),
            "a\u{FFFD}b\u{FFFD}c\nd"
        );
        // One character for one: highlight offsets stay valid.
        assert_eq!(display_safe(spoof).chars().count(), spoof.chars().count());
        assert!(!body_html(spoof, BodyFormat::Text, false).contains('\u{202E}'));
        assert!(!plain_text(spoof, BodyFormat::Markdown, 100).contains('\u{202E}'));
        // Right-to-left text itself is untouched.
        assert_eq!(display_safe("שלום مرحبا"), "שלום مرحبا");
    }

    #[test]
    fn long_bodies_know_they_were_cut() {
        assert!(!is_cut("short"));
        assert!(!is_cut(&"é".repeat(MAX_RENDERED_CHARS)));
        assert!(is_cut(&"a".repeat(MAX_RENDERED_CHARS + 1)));
    }
}
