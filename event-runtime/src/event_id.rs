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

/// A uniform random number in `[0, 1)`, for sampling.
pub(crate) fn random_unit() -> f64 {
    (next_random() >> 11) as f64 / (1u64 << 53) as f64
}

impl EventId {
    /// A new id for an event published at `at`.
    pub fn new(at: SystemTime) -> Self {
        let millis = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
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

    /// The canonical hyphenated form, written to a stack buffer.
    pub fn to_hyphenated(self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        // Byte by byte: two digits each, and a hyphen before bytes 4, 6, 8 and 10.
        for (i, byte) in self.0.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        out
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The buffer holds only ASCII hex digits and hyphens.
        f.write_str(std::str::from_utf8(&self.to_hyphenated()).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_hyphenated_form_is_the_canonical_one() {
        let id = EventId(0x0123_4567_89ab_7def_8123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "01234567-89ab-7def-8123-456789abcdef");
    }
}
