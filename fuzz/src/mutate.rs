//! A small deterministic mutator for the smoke runner: the byte-level havoc stages of
//! AFL (flips, interesting bytes, inserts, deletes, block copies, dictionary tokens,
//! splicing), driven by a seeded SplitMix64 so a failure replays from its seed.

/// Inputs never grow past this: the limits under test (8192 baggage bytes, 32
/// `tracestate` members) are well inside it.
pub const MAX_LEN: usize = 16 * 1024;

/// Bytes that split or end the grammars under test.
const INTERESTING: &[u8] = b"\x00\xff\x7f\x80-_=,;%&?#@:/\\ \t\r\n+[].*\"'0fF";

/// Deterministic input mutations.
///
/// ```
/// use otel_fuzz::Mutator;
///
/// let mut a = Mutator::new(7);
/// let mut b = Mutator::new(7);
/// let (mut x, mut y) = (b"token=abc".to_vec(), b"token=abc".to_vec());
/// a.mutate(&mut x, &[], &[]);
/// b.mutate(&mut y, &[], &[]);
/// assert_eq!(x, y); // same seed, same mutations
/// ```
#[derive(Debug, Clone)]
pub struct Mutator {
    state: u64,
}

impl Mutator {
    /// A mutator whose choices all follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next pseudo-random number (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Applies one to eight stacked mutations to `data`, drawing tokens from
    /// `dictionary` and splice partners from `pool`.
    pub fn mutate(&mut self, data: &mut Vec<u8>, dictionary: &[&[u8]], pool: &[Vec<u8>]) {
        let rounds = 1 << self.below(4);
        for _ in 0..rounds {
            self.mutate_once(data, dictionary, pool);
        }
        data.truncate(MAX_LEN);
    }

    fn mutate_once(&mut self, data: &mut Vec<u8>, dictionary: &[&[u8]], pool: &[Vec<u8>]) {
        match self.below(10) {
            0 if !data.is_empty() => {
                let i = self.below(data.len());
                data[i] ^= 1 << self.below(8);
            }
            1 if !data.is_empty() => {
                let i = self.below(data.len());
                data[i] = INTERESTING[self.below(INTERESTING.len())];
            }
            2 if !data.is_empty() => {
                let i = self.below(data.len());
                data[i] = self.next_u64() as u8;
            }
            3 => {
                let at = self.below(data.len() + 1);
                let byte = INTERESTING[self.below(INTERESTING.len())];
                data.insert(at, byte);
            }
            4 if !data.is_empty() => {
                let start = self.below(data.len());
                let len = 1 + self.below((data.len() - start).min(16));
                data.drain(start..start + len);
            }
            5 if !data.is_empty() => {
                // Repeats a block: how lists cross their member and byte limits.
                let start = self.below(data.len());
                let len = 1 + self.below((data.len() - start).min(64));
                let block = data[start..start + len].to_vec();
                let most = if self.below(8) == 0 { 200 } else { 4 };
                let times = 1 + self.below(most);
                let at = self.below(data.len() + 1);
                let copies: Vec<u8> = block.iter().copied().cycle().take(len * times).collect();
                data.splice(at..at, copies);
            }
            6 | 7 if !dictionary.is_empty() => {
                let token = dictionary[self.below(dictionary.len())];
                let at = self.below(data.len() + 1);
                if self.below(2) == 0 && at + token.len() <= data.len() {
                    data[at..at + token.len()].copy_from_slice(token);
                } else {
                    data.splice(at..at, token.iter().copied());
                }
            }
            8 if !pool.is_empty() => {
                // Splice: our head, another input's tail.
                let other = &pool[self.below(pool.len())];
                let cut = self.below(data.len() + 1);
                let from = self.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ if !data.is_empty() => {
                let cut = self.below(data.len());
                data.truncate(cut);
            }
            _ => data.push(self.next_u64() as u8),
        }
    }
}
