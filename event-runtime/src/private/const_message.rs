//! Compile-time error messages with numbers in them.
//!
//! A budget check runs in a `const` item, where `panic!` accepts only a `&str`. This
//! builds that `&str` from pieces so the compiler error can print both numbers.

/// A message assembled in a `const` context.
pub struct ConstMessage {
    buf: [u8; 512],
    len: usize,
}

impl ConstMessage {
    /// An empty message.
    pub const fn new() -> Self {
        ConstMessage {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Appends text, truncating at 512 bytes.
    pub const fn text(mut self, text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < self.buf.len() {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// Appends a number in decimal.
    pub const fn number(mut self, mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.buf.len() {
            count -= 1;
            self.buf[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// The message so far.
    pub const fn as_str(&self) -> &str {
        // Truncation can only split a multi-byte character at the very end.
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(text) => text,
            Err(_) => "(message truncated)",
        }
    }
}

impl Default for ConstMessage {
    fn default() -> Self {
        Self::new()
    }
}
