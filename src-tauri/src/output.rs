//! Output for people and for scripts. Message text comes from remote
//! servers, so everything printed to a terminal goes through
//! [`terminal_safe`] first: an escape sequence in a title must not be able to
//! rewrite the user's screen.

use herald_core::model::Message;
use serde::Serialize;
use unicode_width::UnicodeWidthChar;

/// Replaces control characters (ANSI escapes included) and bidirectional
/// overrides with visible stand-ins, and newlines with spaces.
pub fn terminal_safe(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '\n' | '\r' | '\t' => ' ',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                '\u{FFFD}'
            }
            control if control.is_control() => '\u{FFFD}',
            other => other,
        })
        .collect()
}

/// At most `max` characters, with an ellipsis when cut; never splits a character.
pub fn truncate(text: &str, max: usize) -> String {
    let mut characters = text.chars();
    let head: String = characters.by_ref().take(max).collect();
    if characters.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// How many terminal columns `text` takes (two for a Chinese character).
pub fn width(text: &str) -> usize {
    text.chars()
        .map(|character| character.width().unwrap_or(0))
        .sum()
}

/// `text` in exactly `columns` terminal columns: cut (with an ellipsis)
/// when wider, padded with spaces when narrower. A Chinese character takes
/// two columns, so tables of Chinese and English names line up; a cut
/// never falls inside a character.
pub fn column(text: &str, columns: usize) -> String {
    let width = |character: char| character.width().unwrap_or(0);
    let total = self::width(text);
    if total <= columns {
        return format!("{text}{}", " ".repeat(columns - total));
    }
    let mut out = String::new();
    let mut used = 0;
    for character in text.chars() {
        // Room for the ellipsis, which takes one column.
        if used + width(character) + 1 > columns {
            break;
        }
        used += width(character);
        out.push(character);
    }
    out.push('…');
    format!("{out}{}", " ".repeat(columns.saturating_sub(used + 1)))
}

/// `2026-11-28 14:03` in local time.
pub fn local_time(unix_ms: i64) -> String {
    let Some(local) = herald_core::clock::local_datetime(unix_ms) else {
        return "?".into();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// One line for a new message in `run --headless`.
pub fn message_line(
    source_name: &str,
    message: &herald_core::model::NewMessage,
    sent_at: i64,
) -> String {
    let first_line = message
        .body
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let title = if message.title.is_empty() {
        first_line
    } else {
        message.title.as_str()
    };
    let mut line = format!(
        "{}  {}  P{}  {}",
        local_time(sent_at),
        terminal_safe(&truncate(source_name, 24)),
        message.priority.get(),
        terminal_safe(&truncate(title, 80))
    );
    if !message.title.is_empty() && !first_line.is_empty() {
        line.push_str(" — ");
        line.push_str(&terminal_safe(&truncate(first_line, 100)));
    }
    line
}

/// One row of `messages list`.
pub fn message_row(message: &Message) -> String {
    let flags = format!(
        "{}{}",
        if message.read { ' ' } else { '●' },
        if message.starred { '★' } else { ' ' }
    );
    let title = if message.title.is_empty() {
        &message.body
    } else {
        &message.title
    };
    format!(
        "{:>7} {} {}  {}  P{}  {}",
        message.id.0,
        flags,
        local_time(message.sent_at),
        column(&terminal_safe(&message.source_name), 16),
        message.priority.get(),
        terminal_safe(&truncate(title, 90))
    )
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_overrides_cannot_reach_the_terminal() {
        let hostile = "Pay\u{1b}[2J\u{1b}]0;pwned\u{7}now\u{202E}gnp.exe\nnext";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(!safe.contains('\u{202E}'));
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("库存告警通知", 4), "库存告警…");
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn columns_count_chinese_as_two_and_cut_between_characters() {
        assert_eq!(column("Orders", 8), "Orders  ");
        assert_eq!(column("订单", 8), "订单    ");
        assert_eq!(width(&column("订单", 8)), width(&column("Orders", 8)));
        // Five columns: two characters and the ellipsis, then a space where
        // half a character would have gone.
        assert_eq!(column("仓库库存告警", 6), "仓库… ");
        assert_eq!(width(&column("仓库库存告警", 6)), 6);
        assert_eq!(column("Build passed", 6), "Build…");
    }
}
