//! A message body through the markdown (and plain text) to HTML renderer,
//! whose output the window inserts as HTML. Beyond not crashing, the output
//! must hold no script, no event handler and no link or image that is not
//! http, https or mailto: whatever the input, nothing in it can run.
#![no_main]

use herald_core::model::BodyFormat;
use herald_core::render;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let body = String::from_utf8_lossy(body);
    let format = if flags & 1 == 0 {
        BodyFormat::Markdown
    } else {
        BodyFormat::Text
    };
    let html = render::body_html(&body, format, flags & 2 != 0);
    assert_harmless(&html);
    let plain = render::plain_text(&body, format, 300);
    assert!(plain.chars().count() <= 301, "plain text is bounded");
});

/// Walks every tag of sanitised output (text `<` is always escaped as
/// `&lt;`; attribute values are always double-quoted, `"` as `&quot;`).
fn assert_harmless(html: &str) {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let closing = rest.starts_with('/');
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = if closing {
            &rest[1..name_end.max(1)]
        } else {
            &rest[..name_end]
        };
        assert!(
            !matches!(
                name,
                "script"
                    | "style"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "svg"
                    | "math"
                    | "form"
                    | "input"
                    | "button"
                    | "base"
                    | "meta"
                    | "link"
            ),
            "tag <{name}> in {html}"
        );
        rest = &rest[name_end..];
        // Attributes: key, or key="value", until an unquoted '>'.
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
            if rest.is_empty() || rest.starts_with('>') {
                break;
            }
            let key_end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
                .unwrap_or(rest.len());
            let key = &rest[..key_end];
            rest = &rest[key_end..];
            let mut value = "";
            if let Some(after) = rest.strip_prefix("=\"") {
                let end = after.find('"').expect("a closed attribute value");
                value = &after[..end];
                rest = &after[end + 1..];
            }
            assert!(!key.starts_with("on"), "handler {key} in {html}");
            assert!(key != "style", "style attribute in {html}");
            if key == "href" || key == "src" {
                // Relative URLs are denied, so every one has a scheme.
                let scheme = value.split_once(':').map(|(scheme, _)| scheme);
                assert!(
                    matches!(scheme, Some("http" | "https" | "mailto")),
                    "{key}={value} in {html}"
                );
            }
        }
    }
}
