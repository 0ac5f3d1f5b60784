// SPDX-License-Identifier: GPL-2.0

//! The `none` timing model: every command completes when it is submitted.

use super::{Command, Counters, Model, Op};

/// Zero latency, unlimited bandwidth: the controller's behaviour without a timing model, and
/// the default for the functional suites. It still counts commands.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDelay {
    counters: Counters,
}

impl NoDelay {
    /// A model with zeroed counters.
    pub const fn new() -> NoDelay {
        NoDelay {
            counters: Counters {
                reads: 0,
                writes: 0,
                flushes: 0,
                host_pages_written: 0,
                nand_pages_written: 0,
                gc_runs: 0,
                wb_stalls: 0,
            },
        }
    }
}

impl Model for NoDelay {
    fn complete(&mut self, cmd: &Command) -> u64 {
        let c = &mut self.counters;
        match cmd.op {
            Op::Read => c.reads = c.reads.saturating_add(1),
            Op::Write => {
                let units = super::units(cmd.offset, cmd.len);
                c.writes = c.writes.saturating_add(1);
                c.host_pages_written = c.host_pages_written.saturating_add(units);
                c.nand_pages_written = c.nand_pages_written.saturating_add(units);
            }
            Op::Flush => c.flushes = c.flushes.saturating_add(1),
            Op::Other | Op::ZoneReset | Op::ZoneFinish => {}
        }
        cmd.submit
    }

    fn min_latency(&self, _op: Op) -> u64 {
        0
    }

    fn counters(&self) -> Counters {
        self.counters
    }
}
