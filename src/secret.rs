//! Secrets (passwords, tokens, AUTH responses) in a newtype that cannot be printed.
//!
//! `Debug` and `Display` print `<redacted>`; the only way to the bytes is [`Secret::expose`], which
//! the code calls exactly where a secret goes onto the wire. The buffer is wiped on drop by the
//! `zeroize` crate (issue 11), whose writes the compiler may not optimise away, which a hand-written
//! loop of stores does not promise. A secret is not `Clone`: each copy would be one more buffer to
//! wipe, so callers borrow it or move it.

use std::fmt;

use zeroize::Zeroizing;

/// A secret string. Printing it in any form yields `<redacted>`.
#[derive(PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(Zeroizing::new(s.into()))
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2");
    }
}
