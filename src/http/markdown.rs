//! Markdown for internal notes: rendered to HTML, then sanitised, so a
//! note can format text and link but never run script or load anything.

use std::collections::HashSet;

use pulldown_cmark::{Options, Parser, html};

/// Safe HTML for a note written in Markdown.
pub fn note_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut rendered, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        // No remote content: images could track who read the note.
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&rendered)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_survives_and_script_does_not() {
        let html = note_html("**bold** and [a link](https://example.com)\n\n- one\n- two");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(
            html.contains("<a href=\"https://example.com\" rel=\"noopener noreferrer nofollow\">"),
            "{html}"
        );
        assert!(html.contains("<li>one</li>"), "{html}");
        for attack in [
            "<script>alert(1)</script>",
            "[x](javascript:alert(1))",
            "<img src=x onerror=alert(1)>",
            "![tracker](https://evil.example/pixel.gif)",
            "<a href=\"#\" onclick=\"alert(1)\">x</a>",
        ] {
            let html = note_html(attack);
            assert!(
                !html.contains("script")
                    && !html.contains("onerror")
                    && !html.contains("onclick")
                    && !html.contains("javascript")
                    && !html.contains("<img"),
                "{attack} → {html}"
            );
        }
    }
}
