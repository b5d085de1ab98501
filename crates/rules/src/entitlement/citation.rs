//! The rule a decision cites, e.g. "cn-general-1995 art. 9". Kept inline up to 62 bytes —
//! every built-in citation fits — so an evaluation allocates nothing per decision.

use std::fmt;
use std::ops::Deref;

use serde::{Serialize, Serializer};

const INLINE: usize = 62;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(String),
}

/// A citation: policy label and clause. Reads as a `&str` (`Deref`, `Display`, `as_str`) and
/// serialises as a JSON string.
#[derive(Clone)]
pub struct Citation(Repr);

impl Citation {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only whole `&str`s are ever copied in, so the bytes are valid UTF-8.
            Repr::Inline { len, buf } => std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }

    pub(crate) fn builder() -> CitationBuilder {
        CitationBuilder(Repr::Inline { len: 0, buf: [0; INLINE] })
    }
}

/// Accumulates pieces of a citation, spilling to the heap only past `INLINE` bytes.
pub(crate) struct CitationBuilder(Repr);

impl CitationBuilder {
    pub(crate) fn push(&mut self, s: &str) {
        match &mut self.0 {
            Repr::Inline { len, buf } => {
                let used = usize::from(*len);
                let total = used + s.len();
                match u8::try_from(total) {
                    Ok(total_u8) if total <= INLINE => {
                        buf[used..total].copy_from_slice(s.as_bytes());
                        *len = total_u8;
                    }
                    _ => {
                        let mut heap = String::with_capacity(total + 16);
                        heap.push_str(std::str::from_utf8(&buf[..used]).unwrap_or_default());
                        heap.push_str(s);
                        self.0 = Repr::Heap(heap);
                    }
                }
            }
            Repr::Heap(h) => h.push_str(s),
        }
    }

    /// Decimal digits of `n`, without going through `fmt`.
    pub(crate) fn push_u32(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(std::str::from_utf8(&digits[i..]).unwrap_or_default());
    }

    pub(crate) fn finish(self) -> Citation {
        Citation(self.0)
    }
}

impl From<&str> for Citation {
    fn from(s: &str) -> Self {
        let mut b = Citation::builder();
        b.push(s);
        b.finish()
    }
}

impl From<Citation> for String {
    fn from(c: Citation) -> String {
        match c.0 {
            Repr::Heap(s) => s,
            inline @ Repr::Inline { .. } => Citation(inline).as_str().to_owned(),
        }
    }
}

impl Deref for Citation {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Citation {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Citation {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Citation {}

impl std::hash::Hash for Citation {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Citation {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Citation {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Citation {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl Serialize for Citation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_spilled() {
        let c = Citation::from("cn-general-1995 art. 9");
        assert_eq!(c, "cn-general-1995 art. 9");
        assert!(matches!(c.0, Repr::Inline { .. }));
        let mut b = Citation::builder();
        for _ in 0..20 {
            b.push("第十八条");
        }
        let long = b.finish();
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(long.as_str(), "第十八条".repeat(20));
        assert_eq!(String::from(long.clone()), long.as_str());
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"cn-general-1995 art. 9\"");
        let mut b = Citation::builder();
        b.push("acme v");
        b.push_u32(0);
        b.push("/");
        b.push_u32(4_294_967_295);
        assert_eq!(b.finish(), "acme v0/4294967295");
    }
}
