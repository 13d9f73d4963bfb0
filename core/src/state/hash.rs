//! The hash of the state's tables (threads by tid, fds by number): a multiply-xorshift
//! mix of the integer with a random key per table, several times cheaper than the
//! standard SipHash on the `i128` keys, looked up a few times per event. The random key
//! keeps a capture from choosing tids that all fall in one bucket.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use super::Int;

/// A map keyed by tid or fd number.
pub type IntMap<V> = HashMap<Int, V, IntHash>;

/// Builds the hashers of one table (its own random key).
#[derive(Debug, Clone)]
pub struct IntHash {
    key: u64,
}

impl Default for IntHash {
    fn default() -> Self {
        IntHash {
            key: RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

impl BuildHasher for IntHash {
    type Hasher = IntHasher;

    fn build_hasher(&self) -> IntHasher {
        IntHasher(self.key)
    }
}

/// splitmix64's finalizer: every bit of the input moves every bit of the output.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = mix(self.0 ^ u64::from_le_bytes(word));
        }
    }

    fn write_i128(&mut self, value: i128) {
        let value = value as u128;
        self.0 = mix(self.0 ^ value as u64) ^ (value >> 64) as u64;
    }

    fn finish(&self) -> u64 {
        mix(self.0)
    }
}
