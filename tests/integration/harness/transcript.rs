//! What the scripted server saw: every byte from the client (decrypted after TLS), the command lines, and each
//! message body as received between the 354 and the terminating dot line (RFC 5321 §4.1.1.4), still stuffed.

/// One AUTH exchange as the server judged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthAttempt {
    pub mechanism: String,
    pub success: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// Whether a client connected at all.
    pub connected: bool,
    /// Every byte the client sent, in order (after TLS: the decrypted bytes).
    pub received: Vec<u8>,
    /// Every byte the server sent (before encryption).
    pub sent: Vec<u8>,
    /// Each line the client sent outside message data, without its line ending (SASL responses included).
    pub commands: Vec<String>,
    /// Each complete DATA message, as received (dot-stuffing still in, terminating `.` line removed).
    pub data: Vec<Vec<u8>>,
    /// Body bytes of a DATA message whose terminating dot never arrived.
    pub unterminated_data: Option<Vec<u8>>,
    /// Each complete BDAT message (RFC 3030), the chunks joined.
    pub bdat: Vec<Vec<u8>>,
    /// Whether a TLS handshake completed, and the client certificate count it carried.
    pub tls_established: bool,
    pub client_certificates: usize,
    /// Why the handshake failed, when it did.
    pub tls_error: Option<String>,
    /// Bytes the client sent after `STARTTLS` before the handshake (a client-side injection bug).
    pub plaintext_after_starttls: Vec<u8>,
    pub auth: Vec<AuthAttempt>,
    /// How the session ended (client EOF, reset, a scripted close, the lifetime running out, …).
    pub end: String,
}

impl Transcript {
    /// Whether some command starts with `prefix` (ASCII case-insensitive).
    pub fn saw(&self, prefix: &str) -> bool {
        self.position(prefix).is_some()
    }

    /// How many commands start with `prefix` (ASCII case-insensitive).
    pub fn count(&self, prefix: &str) -> usize {
        self.commands
            .iter()
            .filter(|c| starts_with_ci(c, prefix))
            .count()
    }

    /// Index of the first command starting with `prefix` (ASCII case-insensitive).
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.commands.iter().position(|c| starts_with_ci(c, prefix))
    }

    /// The commands that start with `prefix`, in order.
    pub fn matching(&self, prefix: &str) -> Vec<&str> {
        self.commands
            .iter()
            .filter(|c| starts_with_ci(c, prefix))
            .map(String::as_str)
            .collect()
    }

    /// The verbs of all commands, upper-cased (`["EHLO", "MAIL", …]`), for order checks.
    pub fn verbs(&self) -> Vec<String> {
        self.commands
            .iter()
            .map(|c| c.split(' ').next().unwrap_or("").to_ascii_uppercase())
            .collect()
    }

    /// Message `index` with the transparency dots removed (RFC 5321 §4.5.2).
    pub fn unstuffed(&self, index: usize) -> Vec<u8> {
        self.data.get(index).map(|d| unstuff(d)).unwrap_or_default()
    }

    /// `received` as text, lossily, for assertion messages.
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// Remove one leading dot from every line that starts with a dot (the receiver's side of RFC 5321 §4.5.2).
pub fn unstuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut line_start = true;
    let mut i = 0;
    while i < data.len() {
        let byte = data[i];
        if !(line_start && byte == b'.') {
            out.push(byte);
        }
        line_start = byte == b'\n' && i > 0 && data[i - 1] == b'\r';
        i += 1;
    }
    out
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}
