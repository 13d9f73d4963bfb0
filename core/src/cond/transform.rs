//! Field transformers (docs/rules-language.md §4.5), as the Python path computes
//! them (scaptools/engine/condition/transformers.py and getopt.py).

use std::borrow::Cow;

use super::data::Data;

/// A transformer taking one operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Single {
    ToLower,
    ToUpper,
    Basename,
    B64,
    Len,
}

impl Single {
    /// The transformer of this name, if it takes one operand.
    pub fn named(name: &str) -> Option<Single> {
        Some(match name {
            "tolower" => Single::ToLower,
            "toupper" => Single::ToUpper,
            "basename" => Single::Basename,
            "b64" => Single::B64,
            "len" => Single::Len,
            _ => return None,
        })
    }

    /// The transformed value; `None` is "no value".
    pub fn apply<'r>(self, value: Option<Data<'r>>) -> Option<Data<'r>> {
        let value = value?;
        match self {
            Single::ToLower | Single::ToUpper | Single::Basename => text_map(self, value),
            Single::B64 => b64(value.bytes()?).map(|raw| Data::Bytes(Cow::Owned(raw))),
            Single::Len => length(&value),
        }
    }
}

fn text_map(op: Single, value: Data) -> Option<Data> {
    match value {
        Data::Str(text) => Some(Data::Str(Cow::Owned(text_op(op, &text)))),
        Data::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(Data::Str(Cow::Owned(text_op(op, item.text()?))));
            }
            Some(Data::List(out))
        }
        _ => None,
    }
}

fn text_op(op: Single, text: &str) -> String {
    match op {
        Single::ToLower => text.to_ascii_lowercase(),
        Single::ToUpper => text.to_ascii_uppercase(),
        _ => text.rsplit('/').next().unwrap_or("").to_string(),
    }
}

fn length(value: &Data) -> Option<Data<'static>> {
    let n = match value {
        Data::Str(s) => s.len(),
        Data::Bytes(b) => b.len(),
        Data::List(items) if !items.is_empty() => items.len(),
        _ => return None,
    };
    Some(Data::Int(n as i128))
}

/// Base64 as Python's `b64decode(validate=True)` reads it after the trailing `=`
/// are stripped and put back: only the 64 letters, a length that is not one more
/// than a multiple of four, leftover bits ignored.
pub fn b64(input: &[u8]) -> Option<Vec<u8>> {
    let mut end = input.len();
    while end > 0 && input[end - 1] == b'=' {
        end -= 1;
    }
    let text = &input[..end];
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `concat(a, b, ...)`: the parts' texts joined; no value when a part has none.
pub fn concat<'r>(parts: Vec<Option<Data<'r>>>) -> Option<Data<'r>> {
    let mut out = String::new();
    for part in parts {
        out.push_str(&part?.python_str()?);
    }
    Some(Data::Str(Cow::Owned(out)))
}

/// `join(sep, list)`: the elements joined by `sep` (a single value counts as a list of one).
pub fn join<'r>(sep: Option<Data<'r>>, list: Option<Data<'r>>) -> Option<Data<'r>> {
    let sep = sep?;
    let sep = sep.text()?;
    let list = list?;
    let items = match &list {
        Data::List(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        texts.push(item.python_str()?);
    }
    Some(Data::Str(Cow::Owned(texts.join(sep))))
}

/// `getopt(args, optstring)[selector]` (getopt(3) style scan; §4.5).
pub fn getopt<'r>(
    args: Option<Data<'r>>,
    optstring: Option<Data<'r>>,
    selector: Option<char>,
) -> Option<Data<'r>> {
    let (args, optstring) = (args?, optstring?);
    let optstring: Vec<char> = optstring.text()?.chars().collect();
    let list: Vec<&str> = match &args {
        Data::List(items) => items.iter().map(Data::text).collect::<Option<_>>()?,
        single => vec![single.text()?],
    };
    let pairs = scan(&list, &optstring);
    match selector {
        None if pairs.is_empty() => None,
        None => Some(Data::List(
            pairs
                .into_iter()
                .map(|(o, v)| Data::Str(Cow::Owned(format!("-{o}{v}"))))
                .collect(),
        )),
        Some(sel) => {
            let value = pairs.into_iter().rev().find(|(o, _)| *o == sel)?.1;
            Some(Data::Str(Cow::Owned(value)))
        }
    }
}

/// The (option, value) pairs of `args` under `optstring`, as Python's `scan_options`.
fn scan(args: &[&str], optstring: &[char]) -> Vec<(char, String)> {
    let (mut out, mut i) = (Vec::new(), 0);
    while i < args.len() {
        let arg: Vec<char> = args[i].chars().collect();
        i += 1;
        if args[i - 1] == "--" {
            break;
        }
        if arg.first() != Some(&'-') || arg.len() == 1 {
            continue;
        }
        let mut j = 1;
        while j < arg.len() {
            let opt = arg[j];
            let pos = optstring.iter().position(|c| *c == opt);
            let Some(pos) = pos.filter(|_| opt != ':') else {
                j += 1;
                continue;
            };
            if pos + 1 < optstring.len() && optstring[pos + 1] == ':' {
                let mut value: String = arg[j + 1..].iter().collect();
                if value.is_empty() && i < args.len() {
                    value = args[i].to_string();
                    i += 1;
                }
                out.push((opt, value));
                break;
            }
            out.push((opt, String::new()));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Data<'static> {
        Data::Str(Cow::Owned(text.to_string()))
    }

    #[test]
    fn base64_as_python_reads_it() {
        assert_eq!(b64(b"YWJj").unwrap(), b"abc");
        assert_eq!(b64(b"QR==").unwrap(), b"A");
        assert_eq!(b64(b"YR").unwrap(), b"a");
        assert!(b64(b"Q").is_none());
        assert!(b64(b"ab=c").is_none());
        assert!(b64(b"YW Jj").is_none());
        assert_eq!(b64(b"").unwrap(), b"");
    }

    #[test]
    fn single_transformers() {
        assert_eq!(Single::ToUpper.apply(Some(s("aé-b"))), Some(s("Aé-B")));
        assert_eq!(Single::Basename.apply(Some(s("/a/b"))), Some(s("b")));
        assert_eq!(Single::Basename.apply(Some(s("/a/"))), Some(s("")));
        assert_eq!(Single::Len.apply(Some(s("é"))), Some(Data::Int(2)));
        assert_eq!(Single::Len.apply(Some(Data::List(vec![]))), None);
        assert_eq!(Single::Len.apply(None), None);
    }

    #[test]
    fn join_concat_getopt() {
        let list = Data::List(vec![s("a"), Data::Int(2), Data::Bool(true)]);
        assert_eq!(join(Some(s(",")), Some(list)), Some(s("a,2,True")));
        assert_eq!(
            concat(vec![Some(s("a")), Some(Data::Int(1))]),
            Some(s("a1"))
        );
        assert_eq!(concat(vec![Some(s("a")), None]), None);
        let args = Data::List(vec![s("-ab"), s("-c"), s("x"), s("--"), s("-d")]);
        let got = getopt(Some(args.clone()), Some(s("ac:d")), None);
        assert_eq!(got, Some(Data::List(vec![s("-a"), s("-cx")])));
        assert_eq!(getopt(Some(args), Some(s("ac:d")), Some('c')), Some(s("x")));
    }
}
