//! Markdown, rendered to HTML and then sanitised, so text can be formatted
//! and link but never run script or load anything: internal notes on the
//! case page, and the HTML part of updates sent by email. HTML written in
//! the text is shown as typed: agents paste logs and code.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, html};

/// Safe HTML for a note written in Markdown.
pub fn note_html(markdown: &str) -> String {
    render(markdown, false)
}

/// The HTML part of an update written in Markdown (its text part is the
/// text as typed): line breaks stay, as the customer saw them typed.
pub fn email_html(markdown: &str) -> String {
    // "Thanks,\n--\nAmy" is a signature, not a heading: a line of only
    // dashes or equals signs stays text.
    let text: Vec<String> = markdown
        .lines()
        .map(|line| {
            let bare = line.trim();
            if bare.len() >= 2 && (bare.chars().all(|c| c == '-') || bare.chars().all(|c| c == '='))
            {
                format!("\\{line}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    render(&text.join("\n"), true)
}

fn render(markdown: &str, keep_line_breaks: bool) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    // Markup in the text is text: `<title>Error 500</title>` stays readable.
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(markup) | Event::InlineHtml(markup) => Event::Text(markup),
        Event::SoftBreak if keep_line_breaks => Event::HardBreak,
        other => other,
    });
    html::push_html(&mut rendered, events);
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
            // What is left of an attack is text, never a tag or a link.
            assert!(
                !html.contains("<script")
                    && !html.contains("<img")
                    && !html.contains("href=\"javascript")
                    && !html.contains("<a href=\"#\""),
                "{attack} → {html}"
            );
        }
    }

    #[test]
    fn markup_in_a_note_is_shown_as_typed() {
        let html = note_html("The page said <title>Error 500</title> and <b>x</b>.");
        assert!(
            html.contains("&lt;title&gt;Error 500&lt;/title&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
        let block = note_html("<div>\n<script>alert(1)</script>\n</div>");
        assert!(
            !block.contains("<script") && block.contains("&lt;script&gt;"),
            "{block}"
        );
    }

    #[test]
    fn a_signature_is_not_a_heading() {
        let html = email_html("Thanks,\n--\nAmy");
        assert!(!html.contains("<h2>"), "{html}");
        assert!(
            html.contains("Thanks,<br>") && html.contains("Amy"),
            "{html}"
        );
    }

    #[test]
    fn an_update_keeps_its_line_breaks() {
        let html = email_html("Hello **Jane**,\nline two\n\n<b>kept</b>");
        assert!(html.contains("Hello <strong>Jane</strong>,<br>"), "{html}");
        assert!(html.contains("line two"), "{html}");
        assert!(html.contains("&lt;b&gt;kept&lt;/b&gt;"), "{html}");
    }

    #[test]
    fn fenced_code_keeps_its_layout() {
        let html = note_html("```\nfn main() {\n    <T>::go();\n}\n```");
        assert!(html.contains("<pre><code>"), "{html}");
        assert!(html.contains("    &lt;T&gt;::go();\n"), "{html}");
    }
}
