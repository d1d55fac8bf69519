//! Event ids: UUIDv7, unique per publish and ordered by publish time.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A UUIDv7: 48 bits of Unix milliseconds, a 12-bit sequence that keeps ids from one
/// process strictly increasing within a millisecond, and 62 random bits that keep
/// processes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(u128);

/// Milliseconds << 12 | sequence, of the last id this process issued.
static LAST_TICK: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static RANDOM: Cell<u64> = Cell::new(RandomState::new().build_hasher().finish() | 1);
}

fn next_random() -> u64 {
    // xorshift64*: fast and good enough for the uniqueness bits of an id.
    RANDOM.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// `at` in Unix milliseconds, the unit of both the id and a Kafka record's timestamp; a
/// clock set before 1970 gives 0.
#[inline]
pub(crate) fn unix_millis(at: SystemTime) -> u64 {
    // In u64: `as_millis` works in u128, for spans no clock reaches.
    at.duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
    })
}

/// A uniform random number in `[0, 1)`, for sampling.
pub(crate) fn random_unit() -> f64 {
    (next_random() >> 11) as f64 / (1u64 << 53) as f64
}

impl EventId {
    /// A new id for an event published at `at`.
    pub fn new(at: SystemTime) -> Self {
        Self::at_unix_millis(unix_millis(at))
    }

    /// A new id for an event published `millis` milliseconds after the Unix epoch.
    #[inline]
    pub fn at_unix_millis(millis: u64) -> Self {
        let now = millis << 12;
        let mut last = LAST_TICK.load(Ordering::Relaxed);
        let tick = loop {
            let next = now.max(last + 1);
            match LAST_TICK.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break next,
                Err(seen) => last = seen,
            }
        };
        let millis = u128::from(tick >> 12) & ((1 << 48) - 1);
        let sequence = u128::from(tick & 0xfff);
        let random = u128::from(next_random() & ((1 << 62) - 1));
        EventId(millis << 80 | 0x7 << 76 | sequence << 64 | 0b10 << 62 | random)
    }

    /// The id's 128 bits.
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The id with these 128 bits, as [`EventId::as_u128`] gave them (a record read back
    /// from the Kafka sink's spool keeps its id).
    pub fn from_u128(bits: u128) -> Self {
        EventId(bits)
    }

    /// The id a record's `event_id` header names: the canonical text
    /// [`EventId::to_hyphenated`] writes, in either case, hyphens optional. `None` for
    /// anything else. Any UUID is accepted, not only a v7 one.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > HyphenatedId::LEN {
            return None;
        }
        let mut bits = 0u128;
        let mut nibbles = 0;
        for c in text.bytes().filter(|&b| b != b'-') {
            let nibble = (c as char).to_digit(16)?;
            nibbles += 1;
            if nibbles > 32 {
                return None;
            }
            bits = bits << 4 | u128::from(nibble);
        }
        (nibbles == 32).then_some(EventId(bits))
    }

    /// The id's 16 bytes, most significant first (a UUID's byte order).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// The canonical hyphenated form, written to a stack buffer.
    ///
    /// Written for every record that goes to Kafka (its `event_id` header), so all 32
    /// digits are computed at once, nibbles spread over a `u128` with shifts and masks:
    /// about 124 instructions, where digit by digit it measured 30 ns per id. The sink that
    /// writes the header computes it: relayed, the relay thread, not the publish.
    #[inline]
    pub fn to_hyphenated(self) -> HyphenatedId {
        let high = hex_digits((self.0 >> 64) as u64);
        let low = hex_digits(self.0 as u64);
        let mut out = [b'-'; HyphenatedId::LEN];
        out[..8].copy_from_slice(&high[..8]);
        out[9..13].copy_from_slice(&high[8..12]);
        out[14..18].copy_from_slice(&high[12..]);
        out[19..23].copy_from_slice(&low[..4]);
        out[24..].copy_from_slice(&low[4..]);
        HyphenatedId(out)
    }
}

/// An [`EventId`]'s canonical text (`01234567-89ab-7def-8123-456789abcdef`), on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HyphenatedId([u8; HyphenatedId::LEN]);

impl HyphenatedId {
    /// The text's length in bytes.
    pub const LEN: usize = 36;

    /// The text.
    #[inline]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // SAFETY: only `EventId::to_hyphenated` makes a `HyphenatedId`, and it writes
        // nothing but `-` and the ASCII digits of `hex_digits` into every byte. Checked
        // instead, the UTF-8 validation cost 73 instructions on every publish.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8; HyphenatedId::LEN] {
        &self.0
    }
}

impl fmt::Display for HyphenatedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 16 lowercase hex digits of `bits`, most significant first. Computed on all 16
/// at once in a `u128`, one byte per digit, rather than looked up: every publish writes an
/// id, and a table is data that a publish on a core that just idled must fetch (a table of
/// the 256 two-digit pairs spans 8 cache lines). Only `0`-`9` and `a`-`f` come out, which
/// `HyphenatedId::as_str` relies on.
fn hex_digits(bits: u64) -> [u8; 16] {
    const BYTES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
    // Spread the nibbles apart, halving the width of each piece, until byte k holds nibble k.
    let mut spread = u128::from(bits);
    spread = (spread | spread << 32) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    spread = (spread | spread << 16) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    spread = (spread | spread << 8) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
    spread = (spread | spread << 4) & (0x0f * BYTES);
    // A byte of 10 or more reaches 16 when 6 is added (no byte carries into the next):
    // those become `a`-`f`, 39 further on than `0` + 10.
    let letters = (spread + 6 * BYTES) >> 4 & BYTES;
    (spread + b'0' as u128 * BYTES + letters * 39).to_be_bytes()
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hyphenated().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_back_from_their_text_only() {
        let id = EventId::new(SystemTime::now());
        let text = id.to_string();
        assert_eq!(EventId::parse(&text), Some(id));
        assert_eq!(
            EventId::parse(&text.to_uppercase().replace('-', "")),
            Some(id)
        );
        let known = EventId::parse("01a217fe-9be3-7000-9139-59794b914441").unwrap();
        assert_eq!(known.to_bytes()[0], 0x01);
        assert_eq!(known.to_bytes()[15], 0x41);
        for bad in [
            "",
            "not-a-uuid",
            "01a217fe-9be3-7000-9139-59794b91444z",
            "01a217fe-9be3-7000-9139-59794b9144",
            "01a217fe-9be3-7000-9139-59794b91444100",
            "+1a217fe-9be3-7000-9139-59794b914441",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_are_v7_and_increase() {
        let now = SystemTime::now();
        let ids: Vec<EventId> = (0..10_000).map(|_| EventId::new(now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let text = ids[0].to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "7");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn the_hyphenated_form_matches_the_formatted_digits() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..10_000 {
            // Random 128-bit values, and runs of each single digit.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = u128::from(x) << 64 | u128::from(x.rotate_left(29));
            for id in [id, u128::from(x & 0xf) * (u128::MAX / 0xf)] {
                let digits = format!("{id:032x}");
                let expected = format!(
                    "{}-{}-{}-{}-{}",
                    &digits[0..8],
                    &digits[8..12],
                    &digits[12..16],
                    &digits[16..20],
                    &digits[20..32]
                );
                assert_eq!(EventId(id).to_string(), expected);
            }
        }
    }

    #[test]
    fn the_hyphenated_form_is_the_canonical_one() {
        let id = EventId(0x0123_4567_89ab_7def_8123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "01234567-89ab-7def-8123-456789abcdef");
        assert_eq!(
            id.to_hyphenated().as_str(),
            "01234567-89ab-7def-8123-456789abcdef"
        );
        assert_eq!(
            id.to_hyphenated().as_bytes(),
            b"01234567-89ab-7def-8123-456789abcdef"
        );
    }

    /// The text is the id's 32 lowercase hex digits in groups of 8-4-4-4-12, for ids
    /// spread over the whole range and every digit in every position.
    #[test]
    fn text_is_the_canonical_hyphenated_form() {
        let mut bits = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        let special = [0, u128::MAX, 0xa << 124, 9, 10, 15];
        for _ in 0..2_000 {
            bits = bits.rotate_left(7) ^ bits.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for id in [bits].into_iter().chain(special) {
                let digits = format!("{id:032x}");
                let expected = [
                    &digits[..8],
                    &digits[8..12],
                    &digits[12..16],
                    &digits[16..20],
                    &digits[20..],
                ]
                .join("-");
                assert_eq!(EventId::from_u128(id).to_hyphenated().as_str(), expected);
            }
        }
    }
}
