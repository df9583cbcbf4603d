//! Transfer rate over a sliding window, sampled once per second by the swarm's tick.

use std::collections::VecDeque;

const WINDOW: usize = 5;

#[derive(Debug, Default, Clone)]
pub struct Rate {
    total: u64,
    last_total: u64,
    samples: VecDeque<u64>,
}

impl Rate {
    pub fn add(&mut self, bytes: u64) {
        self.total = self.total.saturating_add(bytes);
    }

    /// Called once per second.
    pub fn tick(&mut self) {
        self.samples.push_back(self.total - self.last_total);
        self.last_total = self.total;
        if self.samples.len() > WINDOW {
            self.samples.pop_front();
        }
    }

    /// Bytes per second, averaged over the window.
    pub fn per_second(&self) -> u64 {
        if self.samples.is_empty() {
            return 0;
        }
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_window() {
        let mut r = Rate::default();
        for _ in 0..10 {
            r.add(100);
            r.tick();
        }
        assert_eq!(r.per_second(), 100);
        r.tick();
        assert_eq!(r.per_second(), 80);
        assert_eq!(r.total, 1000);
    }
}
