//! `glob`, `iglob` and `pmatch` (docs/rules-language.md §6.2).
//!
//! The Python path turns a pattern into a regular expression (`glob_regex` in
//! scaptools/engine/condition/values.py); this is the same translation, token by
//! token, matched over the characters of the value: `*` any run of characters
//! (slashes too), `?` one character, `[...]` a bracket expression with ranges,
//! `!`/`^` negation and the POSIX classes, `\` quoting the next character.

/// One piece of a translated pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Star,
    Any,
    Char(char),
    Class(Class),
}

/// A bracket expression: what it holds, and whether it is negated.
#[derive(Debug, Clone, PartialEq)]
struct Class {
    negate: bool,
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Char(char),
    Range(char, char),
    Named(&'static str),
}

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob {
    pieces: Vec<Piece>,
}

/// The POSIX classes a bracket expression may name, as the Python translation knows them.
const CLASSES: [&str; 12] = [
    "alpha", "digit", "alnum", "upper", "lower", "space", "xdigit", "punct", "blank", "cntrl",
    "print", "graph",
];

fn in_named(name: &str, c: char) -> bool {
    match name {
        "alpha" => c.is_ascii_alphabetic(),
        "digit" => c.is_ascii_digit(),
        "alnum" => c.is_ascii_alphanumeric(),
        "upper" => c.is_ascii_uppercase(),
        "lower" => c.is_ascii_lowercase(),
        "space" => matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b'),
        "xdigit" => c.is_ascii_hexdigit(),
        "punct" => c.is_ascii_punctuation(),
        "blank" => matches!(c, ' ' | '\t'),
        "cntrl" => (c as u32) < 0x20 || c == '\x7f',
        "print" => (' '..='~').contains(&c),
        "graph" => ('!'..='~').contains(&c),
        _ => false,
    }
}

impl Class {
    fn matches(&self, c: char) -> bool {
        let hit = self.items.iter().any(|item| match item {
            Item::Char(x) => *x == c,
            Item::Range(a, b) => (*a..=*b).contains(&c),
            Item::Named(name) => in_named(name, c),
        });
        hit != self.negate
    }
}

impl Glob {
    /// The pattern's translation; `None` for a range whose ends are reversed (the
    /// Python translation cannot compile those either).
    pub fn new(pattern: &str, fold: bool) -> Option<Glob> {
        let text: Vec<char> = if fold {
            pattern.chars().map(|c| c.to_ascii_lowercase()).collect()
        } else {
            pattern.chars().collect()
        };
        let (mut pieces, mut i, n) = (Vec::new(), 0, text.len());
        while i < n {
            let c = text[i];
            i += 1;
            match c {
                '*' => pieces.push(Piece::Star),
                '?' => pieces.push(Piece::Any),
                '\\' if i < n => {
                    pieces.push(Piece::Char(text[i]));
                    i += 1;
                }
                '[' => match bracket(&text, i)? {
                    Some((class, next)) => {
                        pieces.push(Piece::Class(class));
                        i = next;
                    }
                    None => pieces.push(Piece::Char('[')),
                },
                other => pieces.push(Piece::Char(other)),
            }
        }
        Some(Glob { pieces })
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().collect();
        let (mut p, mut v) = (0, 0);
        let mut back: Option<(usize, usize)> = None; // the last star and where it resumes
        while v < chars.len() {
            match self.pieces.get(p) {
                Some(Piece::Star) => {
                    back = Some((p, v));
                    p += 1;
                    continue;
                }
                Some(piece) if one(piece, chars[v]) => {
                    p += 1;
                    v += 1;
                    continue;
                }
                _ => {}
            }
            match back {
                Some((star, from)) => {
                    p = star + 1;
                    v = from + 1;
                    back = Some((star, from + 1));
                }
                None => return false,
            }
        }
        self.pieces[p..].iter().all(|piece| *piece == Piece::Star)
    }
}

fn one(piece: &Piece, c: char) -> bool {
    match piece {
        Piece::Any => true,
        Piece::Char(x) => *x == c,
        Piece::Class(class) => class.matches(c),
        Piece::Star => false,
    }
}

/// A bracket expression starting after `[` (Python's `_bracket`): the class and the
/// position after it, `Some(None)` when it never closes (the `[` is then literal),
/// `None` for a reversed range.
#[allow(clippy::type_complexity)]
fn bracket(text: &[char], start: usize) -> Option<Option<(Class, usize)>> {
    let n = text.len();
    let mut j = start;
    let negate = j < n && (text[j] == '!' || text[j] == '^');
    if negate {
        j += 1;
    }
    let (mut items, mut first) = (Vec::new(), true);
    while j < n && (text[j] != ']' || first) {
        first = false;
        if text[j] == '[' && j + 1 < n && text[j + 1] == ':' {
            if let Some((name, next)) = named(text, j + 2) {
                items.push(Item::Named(name));
                j = next;
                continue;
            }
        }
        if text[j] == '\\' && j + 1 < n {
            j += 1;
        }
        if j + 2 < n && text[j + 1] == '-' && text[j + 2] != ']' {
            if text[j] > text[j + 2] {
                return None;
            }
            items.push(Item::Range(text[j], text[j + 2]));
            j += 3;
            continue;
        }
        items.push(Item::Char(text[j]));
        j += 1;
    }
    if j >= n {
        return Some(None);
    }
    Some(Some((Class { negate, items }, j + 1)))
}

/// `name:]` at `from` for a known class name: the name and the position after `:]`.
fn named(text: &[char], from: usize) -> Option<(&'static str, usize)> {
    // Python's pattern.find(":]", j + 2): the first `:]` after the `[:`
    let end =
        (from..text.len().saturating_sub(1)).find(|&k| text[k] == ':' && text[k + 1] == ']')?;
    let name: String = text[from..end].iter().collect();
    let known = CLASSES.iter().find(|c| **c == name)?;
    Some((known, end + 2))
}

/// `pmatch`: a path equal to, or below, one of the patterns; a component with `*`,
/// `?` or `[` is a glob (Python's `PathMatcher`).
#[derive(Debug, Clone)]
pub struct PathMatch {
    patterns: Vec<Vec<Component>>,
}

#[derive(Debug, Clone)]
enum Component {
    Plain(String),
    Glob(Glob),
}

impl PathMatch {
    /// The matcher of `patterns`; `None` when a component is not a valid glob.
    pub fn new(patterns: &[String]) -> Option<PathMatch> {
        let mut out = Vec::new();
        for pattern in patterns {
            let mut comps = Vec::new();
            for comp in pattern.split('/').filter(|c| !c.is_empty()) {
                if comp.contains(['*', '?', '[']) {
                    comps.push(Component::Glob(Glob::new(comp, false)?));
                } else {
                    comps.push(Component::Plain(comp.to_string()));
                }
            }
            out.push(comps);
        }
        Some(PathMatch { patterns: out })
    }

    /// Whether `value` is one of the paths or below one.
    pub fn matches(&self, value: &str) -> bool {
        let comps: Vec<&str> = value.split('/').filter(|c| !c.is_empty()).collect();
        self.patterns.iter().any(|pattern| {
            pattern.len() <= comps.len()
                && pattern.iter().zip(&comps).all(|(p, c)| match p {
                    Component::Plain(text) => text == c,
                    Component::Glob(glob) => glob.matches(c),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, value: &str) -> bool {
        Glob::new(pattern, false).unwrap().matches(value)
    }

    #[test]
    fn stars_cross_slashes() {
        assert!(glob("/etc/*", "/etc/a/b"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYbc"));
        assert!(!glob("a*b", "aXbY"));
        assert!(glob("?", "é"));
        assert!(!glob("?", ""));
    }

    #[test]
    fn brackets_ranges_classes_and_negation() {
        assert!(glob("[a-c]x", "bx"));
        assert!(!glob("[!a-c]x", "bx"));
        assert!(glob("[^a-c]x", "dx"));
        assert!(glob("[[:digit:]]*", "7up"));
        assert!(glob("[]]", "]"));
        assert!(glob("[a-]", "-"));
        assert!(glob("a[", "a["));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "x"));
        assert!(Glob::new("[z-a]", false).is_none());
    }

    #[test]
    fn iglob_folds_the_pattern_only() {
        let g = Glob::new("ABC*", true).unwrap();
        assert!(g.matches("abcd"));
        assert!(!g.matches("ABCD")); // the caller folds the value
    }

    #[test]
    fn pmatch_prefixes_by_component() {
        let m = PathMatch::new(&["/var/run".to_string(), "/opt/*/bin".to_string()]).unwrap();
        assert!(m.matches("/var/run"));
        assert!(m.matches("/var//run/x"));
        assert!(!m.matches("/var/running"));
        assert!(m.matches("/opt/tool/bin/x"));
        assert!(!m.matches("/opt/bin"));
    }
}
