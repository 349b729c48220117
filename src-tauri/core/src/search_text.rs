//! Text preparation for full-text search, in English and Chinese alike.
//!
//! SQLite's `unicode61` tokenizer keeps a run of CJK characters as one token,
//! so "库存" would never match "库存告警", and the trigram tokenizer cannot
//! match the one- and two-character queries that are the common case in
//! Chinese. Instead, every CJK run is indexed as its overlapping bigrams
//! followed by its last character on its own ("库存告警" → "库存 存告 告警 警").
//! Each character then starts exactly one token, so:
//! - a query of two or more CJK characters becomes a phrase of its bigrams,
//!   which matches exactly where the characters appear in a row;
//! - a one-character query becomes a prefix query (`"库"*`), which matches
//!   every token that starts with that character.
//!
//! Text without CJK characters passes through untouched (no allocation), so
//! English ingest pays nothing for this.

use std::borrow::Cow;

/// True for characters written without spaces between words: Han ideographs,
/// kana and Hangul syllables.
pub fn is_cjk(character: char) -> bool {
    matches!(character as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B–F, compatibility supplement
}

/// Rewrites `text` for the index: CJK runs become bigrams plus their last
/// character; everything else is left for `unicode61` to tokenize.
pub fn fold_for_index(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_cjk) {
        return Cow::Borrowed(text);
    }
    let mut folded = String::with_capacity(text.len() * 3);
    let mut run: Vec<char> = Vec::new();
    for character in text.chars() {
        if is_cjk(character) {
            run.push(character);
        } else {
            push_run(&mut folded, &run);
            run.clear();
            folded.push(character);
        }
    }
    push_run(&mut folded, &run);
    Cow::Owned(folded)
}

fn push_run(out: &mut String, run: &[char]) {
    let Some(last) = run.last() else { return };
    out.push(' ');
    for pair in run.windows(2) {
        out.push(pair[0]);
        out.push(pair[1]);
        out.push(' ');
    }
    out.push(*last);
    out.push(' ');
}

/// A user's search, turned into an FTS5 MATCH expression and the plain
/// needles used to highlight snippets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub fts_match: String,
    pub needles: Vec<String>,
}

/// Builds a MATCH expression from free text. Every word must match (AND),
/// as a whole word; a Latin word ending in `*` (`deplo*`) matches as a
/// prefix. Prefixes are opt-in because FTS5 answers a prefix by merging the
/// doclists of every matching term, which over a million messages costs tens
/// of milliseconds for a common prefix, while a whole word is read newest
/// first and stops after the page it needs (see the README's search figures).
/// Returns `None` when nothing searchable is left (only punctuation).
pub fn build_query(input: &str) -> Option<SearchQuery> {
    let mut segments: Vec<(String, bool)> = Vec::new();
    let mut prefixes: Vec<bool> = Vec::new();
    for word in input.split_whitespace() {
        let wants_prefix = word.len() > 1 && word.ends_with('*');
        let word = word.trim_end_matches('*');
        let mut current = String::new();
        let mut current_is_cjk = false;
        for character in word.chars() {
            let cjk = is_cjk(character);
            if !current.is_empty() && cjk != current_is_cjk {
                segments.push((std::mem::take(&mut current), current_is_cjk));
            }
            current_is_cjk = cjk;
            current.push(character);
        }
        if !current.is_empty() {
            segments.push((current, current_is_cjk));
        }
        // Only the word's last segment carries its `*`.
        prefixes.resize(segments.len(), false);
        if let Some(last) = prefixes.last_mut() {
            *last = wants_prefix;
        }
    }
    let kept: Vec<((String, bool), bool)> = segments
        .into_iter()
        .zip(prefixes)
        .filter(|((text, cjk), _)| *cjk || text.chars().any(char::is_alphanumeric))
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut parts = Vec::with_capacity(kept.len());
    let mut needles = Vec::with_capacity(kept.len());
    for ((text, cjk), prefix) in kept {
        if cjk {
            let characters: Vec<char> = text.chars().collect();
            if characters.len() == 1 {
                parts.push(format!("\"{}\"*", characters[0]));
            } else {
                let bigrams: Vec<String> = characters
                    .windows(2)
                    .map(|pair| pair.iter().collect())
                    .collect();
                parts.push(format!("\"{}\"", bigrams.join(" ")));
            }
        } else {
            let quoted = text.replace('"', "\"\"");
            let star = if prefix { "*" } else { "" };
            parts.push(format!("\"{quoted}\"{star}"));
        }
        needles.push(text.to_lowercase());
    }
    Some(SearchQuery {
        fts_match: parts.join(" "),
        needles,
    })
}

/// A short excerpt around the first match, with the matched ranges.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snippet {
    pub text: String,
    /// `[start, end)` ranges in characters (not bytes) of `text`.
    pub highlights: Vec<(usize, usize)>,
}

impl Snippet {
    /// The snippet with each highlight wrapped in `open` and `close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let characters: Vec<char> = self.text.chars().collect();
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut position = 0;
        for &(start, end) in &self.highlights {
            out.extend(&characters[position..start]);
            out.push_str(open);
            out.extend(&characters[start..end]);
            out.push_str(close);
            position = end;
        }
        out.extend(&characters[position..]);
        out
    }
}

/// Cuts `text` to about `max_chars` characters around the first match of any
/// needle and marks every match inside. Works on characters, so a CJK
/// character is never cut in half. Whitespace runs collapse to one space.
pub fn snippet(text: &str, needles: &[String], max_chars: usize) -> Snippet {
    let characters: Vec<char> = collapse_whitespace(text).chars().collect();
    let lowered: Vec<char> = characters.iter().map(|&c| lower_one(c)).collect();
    let needle_chars: Vec<Vec<char>> = needles
        .iter()
        .filter(|needle| !needle.is_empty())
        .map(|needle| needle.chars().map(lower_one).collect())
        .collect();
    let matches = find_matches(&lowered, &needle_chars);
    let first = matches.first().map(|&(start, _)| start).unwrap_or(0);
    let lead = max_chars / 4;
    let mut start = first.saturating_sub(lead);
    let end = (start + max_chars).min(characters.len());
    if end - start < max_chars {
        start = end.saturating_sub(max_chars);
    }
    let mut out = String::new();
    let offset = if start > 0 {
        out.push('…');
        1
    } else {
        0
    };
    out.extend(&characters[start..end]);
    if end < characters.len() {
        out.push('…');
    }
    let highlights = matches
        .into_iter()
        .filter(|&(match_start, match_end)| match_start >= start && match_end <= end)
        .map(|(match_start, match_end)| (match_start - start + offset, match_end - start + offset))
        .collect();
    Snippet {
        text: out,
        highlights,
    }
}

fn lower_one(character: char) -> char {
    let mut lowered = character.to_lowercase();
    match (lowered.next(), lowered.next()) {
        (Some(single), None) => single,
        _ => character,
    }
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for character in text.trim().chars() {
        if character.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(character);
            in_space = false;
        }
    }
    out
}

/// Non-overlapping matches, leftmost first; at one position the longest needle wins.
fn find_matches(haystack: &[char], needles: &[Vec<char>]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut position = 0;
    while position < haystack.len() {
        let longest = needles
            .iter()
            .filter(|needle| haystack[position..].starts_with(needle))
            .map(Vec::len)
            .max();
        match longest {
            Some(length) => {
                found.push((position, position + length));
                position += length;
            }
            None => position += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_text_is_not_copied() {
        assert!(matches!(
            fold_for_index("Order #42 shipped"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn cjk_runs_become_bigrams_and_last_character() {
        assert_eq!(fold_for_index("库存告警").trim(), "库存 存告 告警 警");
        let tokens: Vec<String> = fold_for_index("订单A12已发货")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(tokens, ["订单", "单", "A12", "已发", "发货", "货"]);
    }

    #[test]
    fn single_cjk_character_is_kept_alone() {
        assert_eq!(
            fold_for_index("库存")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["库存", "存"]
        );
    }

    #[test]
    fn queries_become_phrases_and_prefixes() {
        let check = |input: &str, expected: &str| {
            let query = build_query(input).expect("query has searchable text");
            assert_eq!(query.fts_match, expected, "query {input:?}");
        };
        check("订单", "\"订单\"");
        check("库存告警", "\"库存 存告 告警\"");
        check("库", "\"库\"*");
        check("disk full", "\"disk\" \"full\"");
        check("deplo* full", "\"deplo\"* \"full\"");
        check("say \"hi\"", "\"say\" \"\"\"hi\"\"\"");
        check("订单A12", "\"订单\" \"A12\"");
        assert_eq!(
            build_query("  ... !! "),
            None,
            "punctuation alone searches nothing"
        );
    }

    #[test]
    fn snippets_mark_matches_without_splitting_characters() {
        let body = "仓库 A3 的库存告警:SKU-1142 库存低于安全线,请尽快补货。";
        let whole = snippet(body, &["库存".to_string()], 40);
        assert_eq!(
            whole.marked("[", "]"),
            "仓库 A3 的[库存]告警:SKU-1142 [库存]低于安全线,请尽快补货。"
        );
        let cut = snippet(body, &["库存".to_string()], 20);
        assert_eq!(
            cut.marked("[", "]"),
            "… A3 的[库存]告警:SKU-1142 库…",
            "a match cut by the window is not marked"
        );
    }

    #[test]
    fn snippet_centres_on_a_late_match_case_insensitively() {
        let body = format!("{} Disk FULL on db-1", "filler ".repeat(40));
        let found = snippet(&body, &["full".to_string()], 24);
        let marked = found.marked("<", ">");
        assert!(
            marked.starts_with('…'),
            "a late match cuts the start: {marked}"
        );
        assert!(
            marked.contains("<FULL>"),
            "the match is marked in its own case: {marked}"
        );
    }
}
