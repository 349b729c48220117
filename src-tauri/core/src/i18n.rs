//! Text people read, in English and Simplified Chinese.
//!
//! Each crate keeps its strings in a [`Catalog`] built from two JSON files
//! (`locales/en.json`, `locales/zh-CN.json`), flat maps from a dotted key to
//! a template with `{name}` placeholders. A key ending in `_one` is the
//! singular of the key without it, used by [`Catalog::count`] where the
//! language has a singular (English) and ignored where it does not
//! (Chinese).
//!
//! The language is one process-wide choice: the user's, stored in the
//! settings table under [`SETTING`], or the OS locale's when they chose
//! "system". The window, the tray, notifications and the command line all
//! read it from here, so they always agree; changing it takes effect on the
//! next text made, without a restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The settings key the user's choice is stored under.
pub const SETTING: &str = "language";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Chinese,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::Chinese];

    /// The BCP 47 tag the UI and the locale files use.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Chinese => "zh-CN",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.tag() == tag)
    }

    /// The language for an OS locale (`zh_CN.UTF-8`, `zh-Hans-CN`, `en-GB`):
    /// every Chinese locale reads Simplified Chinese, everything else English.
    pub fn for_locale(locale: &str) -> Language {
        if locale.trim().to_ascii_lowercase().starts_with("zh") {
            Language::Chinese
        } else {
            Language::English
        }
    }

    fn index(self) -> usize {
        match self {
            Language::English => 0,
            Language::Chinese => 1,
        }
    }
}

/// What the user picked in settings: a language, or whatever the OS says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    System,
    Fixed(Language),
}

impl Choice {
    /// `system`, `en` or `zh-CN`, as stored and as the UI sends it.
    pub fn parse(text: &str) -> Option<Choice> {
        match text {
            "system" => Some(Choice::System),
            tag => Language::from_tag(tag).map(Choice::Fixed),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::System => "system",
            Choice::Fixed(language) => language.tag(),
        }
    }

    pub fn resolve(self) -> Language {
        match self {
            Choice::System => os_language(),
            Choice::Fixed(language) => language,
        }
    }
}

/// 0: follow the OS; otherwise 1 + the chosen language's index.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// Makes `choice` the language of every text made from now on.
pub fn choose(choice: Choice) {
    let value = match choice {
        Choice::System => 0,
        Choice::Fixed(language) => 1 + language.index() as u8,
    };
    CHOSEN.store(value, Ordering::Relaxed);
}

/// The choice made with [`choose`] (the OS's until then).
pub fn choice() -> Choice {
    match CHOSEN.load(Ordering::Relaxed) {
        1 => Choice::Fixed(Language::English),
        2 => Choice::Fixed(Language::Chinese),
        _ => Choice::System,
    }
}

/// The language text is made in now.
pub fn language() -> Language {
    choice().resolve()
}

/// The OS locale's language, read once: `LC_ALL`, `LC_MESSAGES`, `LANG` on
/// Linux, the user's preferred language on macOS and Windows.
pub fn os_language() -> Language {
    static OS: OnceLock<Language> = OnceLock::new();
    *OS.get_or_init(|| Language::for_locale(&sys_locale::get_locale().unwrap_or_default()))
}

/// One crate's strings in every language.
pub struct Catalog {
    sources: [&'static str; 2],
    tables: OnceLock<[HashMap<String, String>; 2]>,
}

impl Catalog {
    /// The JSON texts of `locales/en.json` and `locales/zh-CN.json`
    /// (`include_str!`). [`Catalog::problems`] checks them; a crate's test
    /// calls it, so a broken file never ships.
    pub const fn new(english: &'static str, chinese: &'static str) -> Catalog {
        Catalog {
            sources: [english, chinese],
            tables: OnceLock::new(),
        }
    }

    fn table(&self, language: Language) -> &HashMap<String, String> {
        let tables = self.tables.get_or_init(|| {
            self.sources
                .map(|source| serde_json::from_str(source).unwrap_or_default())
        });
        &tables[language.index()]
    }

    /// The text for `key` in the current language with `{name}` filled in.
    pub fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.text_in(language(), key, args)
    }

    /// English when `language` lacks the key; the key itself when both do,
    /// so a missing string shows up as a visible key, never as nothing.
    pub fn text_in(&self, language: Language, key: &str, args: &[(&str, &str)]) -> String {
        let template = self
            .table(language)
            .get(key)
            .or_else(|| self.table(Language::English).get(key))
            .map_or(key, String::as_str);
        fill(template, args)
    }

    /// `text` for a sentence about `count` things: `{count}` is filled in,
    /// and where the language has a singular and `count` is 1, `key_one`.
    pub fn count(&self, key: &str, count: u64, args: &[(&str, &str)]) -> String {
        self.count_in(language(), key, count, args)
    }

    pub fn count_in(
        &self,
        language: Language,
        key: &str,
        count: u64,
        args: &[(&str, &str)],
    ) -> String {
        let number = count.to_string();
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(("count", number.as_str()));
        all.extend_from_slice(args);
        let singular = format!("{key}_one");
        let key = if count == 1
            && language == Language::English
            && self.table(language).contains_key(&singular)
        {
            singular.as_str()
        } else {
            key
        };
        self.text_in(language, key, &all)
    }

    /// Everything wrong with the files: unparsable JSON, a key missing from
    /// a language, a placeholder a translation dropped or renamed, an empty
    /// text, a `_one` form without its plural.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut tables = Vec::new();
        for (language, source) in Language::ALL.iter().zip(self.sources) {
            match serde_json::from_str::<HashMap<String, String>>(source) {
                Ok(table) => tables.push(table),
                Err(error) => {
                    problems.push(format!("{}.json: {error}", language.tag()));
                    return problems;
                }
            }
        }
        let english = &tables[0];
        for (language, table) in Language::ALL.iter().zip(&tables).skip(1) {
            let tag = language.tag();
            for key in sorted_keys(english) {
                match table.get(key) {
                    None => problems.push(format!("{tag}.json lacks {key}")),
                    Some(text) if placeholders(text) != placeholders(&english[key]) => problems
                        .push(format!(
                            "{tag}.json: {key} has other placeholders than en.json"
                        )),
                    Some(_) => {}
                }
            }
            for key in sorted_keys(table) {
                if !english.contains_key(key) {
                    problems.push(format!("{tag}.json has {key}, which en.json lacks"));
                }
            }
        }
        for (language, table) in Language::ALL.iter().zip(&tables) {
            for key in sorted_keys(table) {
                if table[key].trim().is_empty() {
                    problems.push(format!("{}.json: {key} is empty", language.tag()));
                }
                if let Some(plural) = key.strip_suffix("_one") {
                    if !table.contains_key(plural) {
                        problems.push(format!("{}.json: {key} without {plural}", language.tag()));
                    }
                }
            }
        }
        problems
    }

    /// Every key, sorted (English's, which every language must match).
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self
            .table(Language::English)
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        keys
    }
}

fn sorted_keys(table: &HashMap<String, String>) -> Vec<&String> {
    let mut keys: Vec<&String> = table.keys().collect();
    keys.sort();
    keys
}

fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if args.iter().any(|(arg, _)| *arg == name) => {
                let value = args.iter().find(|(arg, _)| *arg == name).map(|(_, v)| *v);
                out.push_str(value.unwrap_or_default());
                rest = &after[close + 1..];
            }
            // Not one of ours (or unclosed): keep the brace as text.
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn placeholders(template: &str) -> Vec<&str> {
    let mut found: Vec<&str> = template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    found.sort_unstable();
    found
}

/// Checks over a crate's source, for its tests: that the keys it names
/// exist and the keys it has are named, and that no text people read is
/// written into the code instead of a catalog.
pub mod audit {
    use std::path::{Path, PathBuf};

    use super::Catalog;

    /// The `.rs` files under `dir`, with their text.
    pub fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        found.push((path, text));
                    }
                }
            }
        }
        found.sort();
        found
    }

    /// Everything the checks below find in a crate whose source is under
    /// `src` and whose text is `catalog`, each line saying which check
    /// found it: what a crate's test asserts is empty.
    pub fn crate_problems(catalog: &Catalog, src: &Path) -> Vec<String> {
        let files = sources(src);
        let labelled = |check: &str, found: Vec<String>| {
            found
                .into_iter()
                .map(|problem| format!("{check}: {problem}"))
                .collect::<Vec<_>>()
        };
        [
            labelled("locale files", catalog.problems()),
            labelled("key not in the locale files", unknown_keys(catalog, &files)),
            labelled("key the code never names", unused_keys(catalog, &files)),
            labelled("text written into the code", hard_coded(&files)),
        ]
        .concat()
    }

    /// Rust source read once: its code with the `//` comments dropped and
    /// each string literal replaced by [`STRING`] (newlines kept, so line
    /// numbers hold), and the literals' text in order with the line each
    /// starts on. Raw strings and escapes are read well enough for keys and
    /// messages.
    struct Scanned {
        code: String,
        strings: Vec<(usize, String)>,
    }

    /// Where a string literal stood in [`Scanned::code`].
    const STRING: char = '\u{0}';

    fn scan(source: &str) -> Scanned {
        let mut code = String::with_capacity(source.len());
        let mut strings = Vec::new();
        let mut line = 1;
        let mut chars = source.chars().peekable();
        let mut previous = ' ';
        while let Some(character) = chars.next() {
            match character {
                '/' if chars.peek() == Some(&'/') => {
                    // A comment runs to the end of the line.
                    if chars.by_ref().any(|next| next == '\n') {
                        code.push('\n');
                        line += 1;
                    }
                    previous = '\n';
                    continue;
                }
                '\'' => {
                    // A char literal ('"' included) or a lifetime: copy a
                    // char literal whole so its quote starts no string.
                    code.push(character);
                    let ahead: Vec<char> = chars.clone().take(3).collect();
                    let length = match ahead.as_slice() {
                        ['\\', _, '\'', ..] => 3,
                        [_, '\'', ..] => 2,
                        _ => 0,
                    };
                    code.extend(chars.by_ref().take(length));
                }
                '"' => {
                    let raw = previous == 'r' || previous == '#';
                    let start = line;
                    let mut text = String::new();
                    while let Some(next) = chars.next() {
                        match next {
                            '\\' if !raw => match chars.next() {
                                // A line continuation.
                                Some('\n') => line += 1,
                                Some(escaped) => text.push(escaped),
                                None => {}
                            },
                            '"' => break,
                            other => {
                                if other == '\n' {
                                    line += 1;
                                }
                                text.push(other);
                            }
                        }
                    }
                    strings.push((start, text));
                    code.push(STRING);
                    code.extend(std::iter::repeat_n('\n', line - start));
                }
                other => {
                    if other == '\n' {
                        line += 1;
                    }
                    code.push(other);
                }
            }
            previous = character;
        }
        Scanned { code, strings }
    }

    /// The string literals in Rust source (not in comments), with their
    /// line numbers.
    pub fn literals(source: &str) -> Vec<(usize, String)> {
        scan(source).strings
    }

    fn looks_like_key(text: &str) -> bool {
        let mut parts = text.split('.');
        let first = parts.next().unwrap_or_default();
        let word = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        word(first) && text.contains('.') && text.split('.').all(word)
    }

    /// Literals shaped like a key of the catalog (`tray.open`, under one of
    /// its top-level names) that it does not have.
    pub fn unknown_keys(catalog: &Catalog, files: &[(PathBuf, String)]) -> Vec<String> {
        let keys = catalog.keys();
        let prefixes: Vec<&str> = keys
            .iter()
            .filter_map(|key| key.split('.').next())
            .collect();
        let mut unknown = Vec::new();
        for (path, source) in files {
            for (line, literal) in literals(source) {
                let prefix = literal.split('.').next().unwrap_or_default();
                if looks_like_key(&literal)
                    && prefixes.contains(&prefix)
                    && keys.binary_search(&literal.as_str()).is_err()
                {
                    unknown.push(format!("{}:{line}: {literal}", path.display()));
                }
            }
        }
        unknown
    }

    /// Keys of the catalog no literal names (a `_one` form counts as named
    /// with its plural).
    pub fn unused_keys(catalog: &Catalog, files: &[(PathBuf, String)]) -> Vec<String> {
        let named: std::collections::HashSet<String> = files
            .iter()
            .flat_map(|(_, source)| literals(source))
            .map(|(_, literal)| literal)
            .collect();
        catalog
            .keys()
            .into_iter()
            .filter(|key| !named.contains(key.strip_suffix("_one").unwrap_or(key)))
            .map(str::to_string)
            .collect()
    }

    /// Macros and calls whose string arguments people read: the pattern,
    /// how many leading arguments are not text (`field_error`'s field
    /// name), and whether to read literals nested inside the arguments too
    /// (`with_context(|| format!(…))`, `ConfigError(format!(…))`).
    const SPOKEN: [(&str, usize, bool); 13] = [
        ("println!(", 0, false),
        ("eprintln!(", 0, false),
        ("print!(", 0, false),
        ("eprint!(", 0, false),
        ("bail!(", 0, false),
        ("anyhow!(", 0, false),
        (".context(", 0, false),
        ("with_context(", 0, true),
        ("field_error(", 1, false),
        ("#[error(", 0, false),
        ("ConfigError(", 0, true),
        ("Invalid(", 0, true),
        ("Network(", 0, true),
    ];

    /// Text with letters written straight into a spoken macro or call:
    /// `println!("removed {id}")` is reported, `println!("{id}")` and
    /// `println!("{}", text("cli.removed", …))` are not (a key passed on
    /// to a catalog is one level deeper, and key-shaped). Code after
    /// `#[cfg(test)]` is tests and skipped. This reads source text, not a
    /// syntax tree: it is a guard against forgetting, not a proof.
    pub fn hard_coded(files: &[(PathBuf, String)]) -> Vec<String> {
        let mut found = std::collections::BTreeSet::new();
        for (path, source) in files {
            let scanned = scan(source);
            let code = scanned
                .code
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default();
            for (pattern, skip, whole) in SPOKEN {
                for (index, _) in code.match_indices(pattern) {
                    let before = &code[..index];
                    // `eprintln!(` also holds `println!(`: read each call once.
                    if pattern.starts_with(char::is_alphabetic)
                        && before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    {
                        continue;
                    }
                    let open = index + pattern.len() - 1;
                    let strings = &scanned.strings[before.matches(STRING).count()..];
                    for (argument, literal) in arguments(&code[open..], strings, whole) {
                        let name_or_key = whole
                            && (looks_like_key(literal)
                                || literal.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                        if argument >= skip && has_words(literal) && !name_or_key {
                            let line = before.matches('\n').count() + 1;
                            found.insert(format!("{}:{line}: {literal:?}", path.display()));
                        }
                    }
                }
            }
        }
        found.into_iter().collect()
    }

    /// The string literals of a call's argument list (`call` is scanned
    /// code starting at its `(`; `strings` the literals from there on), with
    /// the index of the argument each is in: only those written directly as
    /// an argument, or every one inside when `whole`.
    fn arguments<'s>(
        call: &str,
        strings: &'s [(usize, String)],
        whole: bool,
    ) -> Vec<(usize, &'s str)> {
        let mut found = Vec::new();
        let mut strings = strings.iter();
        let mut depth = 0usize;
        let mut argument = 0;
        for character in call.chars() {
            match character {
                STRING => {
                    if let Some((_, text)) = strings.next() {
                        if depth == 1 || whole {
                            found.push((argument, text.as_str()));
                        }
                    }
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                ',' if depth == 1 => argument += 1,
                _ => {}
            }
        }
        found
    }

    /// Letters outside `{placeholders}`.
    fn has_words(literal: &str) -> bool {
        let mut depth = 0;
        for character in literal.chars() {
            match character {
                '{' => depth += 1,
                '}' => depth -= 1,
                letter if depth == 0 && letter.is_alphabetic() => return true,
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = r#"{"a.count": "{count} new from {source}", "a.count_one": "1 new from {source}", "a.plain": "Open"}"#;
    const ZH: &str = r#"{"a.count": "来自 {source} 的 {count} 条新消息", "a.count_one": "来自 {source} 的 1 条新消息", "a.plain": "打开"}"#;

    #[test]
    fn fills_placeholders_and_picks_the_singular_only_where_the_language_has_one() {
        let catalog = Catalog::new(EN, ZH);
        assert!(catalog.problems().is_empty(), "{:?}", catalog.problems());
        let source = [("source", "Orders")];
        assert_eq!(
            catalog.count_in(Language::English, "a.count", 12, &source),
            "12 new from Orders"
        );
        assert_eq!(
            catalog.count_in(Language::English, "a.count", 1, &source),
            "1 new from Orders"
        );
        assert_eq!(
            catalog.count_in(Language::Chinese, "a.count", 1, &[("source", "订单")]),
            "来自 订单 的 1 条新消息"
        );
        assert_eq!(catalog.text_in(Language::Chinese, "a.plain", &[]), "打开");
        // A missing key shows itself; text in braces that is not a
        // placeholder stays as written, and so does a value's own braces.
        assert_eq!(
            catalog.text_in(Language::Chinese, "no.such", &[]),
            "no.such"
        );
        assert_eq!(fill("{json} {x}", &[("x", "{count}")]), "{json} {count}");
    }

    #[test]
    fn finds_missing_keys_dropped_placeholders_and_empty_texts() {
        let catalog = Catalog::new(
            r#"{"a": "{count} left", "b": "x", "c_one": "one"}"#,
            r#"{"a": "剩下", "b": " ", "d": "多"}"#,
        );
        let problems = catalog.problems().join("\n");
        for expected in [
            "zh-CN.json: a has other placeholders",
            "zh-CN.json lacks c_one",
            "zh-CN.json has d, which en.json lacks",
            "zh-CN.json: b is empty",
            "en.json: c_one without c",
        ] {
            assert!(problems.contains(expected), "{expected} in\n{problems}");
        }
        assert_eq!(Catalog::new("{", "{}").problems().len(), 1);
    }

    #[test]
    fn chinese_locales_of_every_shape_read_chinese() {
        for locale in ["zh_CN.UTF-8", "zh-Hans-CN", "zh_TW", "ZH"] {
            assert_eq!(Language::for_locale(locale), Language::Chinese, "{locale}");
        }
        for locale in ["en_GB.UTF-8", "C", "", "fr-FR"] {
            assert_eq!(Language::for_locale(locale), Language::English, "{locale}");
        }
        assert_eq!(
            Choice::parse("zh-CN"),
            Some(Choice::Fixed(Language::Chinese))
        );
        assert_eq!(Choice::parse("system"), Some(Choice::System));
        assert_eq!(Choice::parse("fr"), None);
        for choice in [Choice::System, Choice::Fixed(Language::English)] {
            assert_eq!(Choice::parse(choice.as_str()), Some(choice));
        }
    }

    #[test]
    fn the_audit_reads_literals_keys_and_hard_coded_text() {
        let source = r##"
            fn f() {
                let c = '"';
                // println!("a comment is not code");
                println!("{}", text("a.plain", &[]));
                println!("{id}");
                eprintln!("removed {id} from {}", x);
                let raw = r#"a.gone"#;
                anyhow!(text("a.count", &[]));
            }
        "##;
        let files = vec![(std::path::PathBuf::from("f.rs"), source.to_string())];
        let catalog = Catalog::new(EN, ZH);
        assert_eq!(audit::unknown_keys(&catalog, &files), ["f.rs:8: a.gone"]);
        assert!(audit::unused_keys(&catalog, &files).is_empty());
        assert_eq!(
            audit::hard_coded(&files),
            [r#"f.rs:7: "removed {id} from {}""#]
        );
    }
}

/// herald-core's own text: validation messages and errors.
static CORE: Catalog = Catalog::new(
    include_str!("../locales/en.json"),
    include_str!("../locales/zh-CN.json"),
);

/// herald-core's text for `key` in the current language.
pub(crate) fn text(key: &str, args: &[(&str, &str)]) -> String {
    CORE.text(key, args)
}

/// herald-core's sentence about `count` things.
pub(crate) fn count(key: &str, count: u64, args: &[(&str, &str)]) -> String {
    CORE.count(key, count, args)
}

#[cfg(test)]
mod core_catalog {
    use std::path::Path;

    use super::{audit, CORE};

    #[test]
    fn every_text_is_in_both_locale_files_and_only_there() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(audit::crate_problems(&CORE, &src), Vec::<String>::new());
    }
}
