// SPDX-License-Identifier: GPL-2.0

//! nvmock_loadgen: an in-kernel block I/O load generator for `make bench` (`glue/loadgen.rs`).
//!
//! ```text
//! echo "dev=259:0 rw=randread qd=32 jobs=1 secs=5" > /sys/kernel/debug/nvmock_loadgen/run
//! cat /sys/kernel/debug/nvmock_loadgen/run    # nvmock-loadgen: dev=259:0 rw=randread ... iops=..
//! ```
//!
//! A write runs the load to the end before it returns (one run at a time: `EBUSY` while one
//! runs); a bad description or device is refused with `EINVAL` (or the open's error) and a
//! message in the kernel log. Reading shows the last run's line, which is also logged.

use kernel::debugfs::{Dir, File};
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::uaccess::UserSliceReader;

/// The pure models this module uses, the same files the host crate builds.
#[path = "../model"]
pub(crate) mod model {
    #[path = "histogram.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod histogram;
}

/// Kernel glue: the load generator.
#[path = "../glue"]
pub(crate) mod glue {
    #[path = "loadgen.rs"]
    pub(crate) mod loadgen;
}

module! {
    type: LoadGen,
    name: "nvmock_loadgen",
    authors: ["nvmock developers"],
    description: "nvmock: in-kernel block I/O load generator (debugfs nvmock_loadgen/run)",
    license: "GPL",
}

/// The longest description a write may carry.
const MAX_LINE: usize = 512;
/// The longest result line.
const MAX_RESULT: usize = 512;

/// The last result, as the line shown.
struct Last {
    line: [u8; MAX_RESULT],
    len: usize,
}

/// The control file's data: the last result; its lock also keeps runs one at a time.
#[pin_data]
struct Control {
    #[pin]
    last: Mutex<Last>,
}

fn show(c: &Control, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
    let last = c.last.lock();
    if last.len == 0 {
        return f.write_str("no run yet\n");
    }
    let s = core::str::from_utf8(&last.line[..last.len]).map_err(|_| core::fmt::Error)?;
    writeln!(f, "{}", s)
}

fn store(c: &Control, reader: &mut UserSliceReader) -> Result {
    let mut buf = [0u8; MAX_LINE];
    let n = reader.len();
    if n > MAX_LINE {
        pr_err!(
            "nvmock-loadgen: a description of at most {} bytes\n",
            MAX_LINE
        );
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    let text = core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)?;
    let cfg = glue::loadgen::Config::parse(text)?;
    let mut last = c.last.try_lock().ok_or_else(|| {
        pr_err!("nvmock-loadgen: a run is in progress\n");
        EBUSY
    })?;
    let report = glue::loadgen::run(&cfg)?;
    let mut w = kernel::str::Formatter::new(&mut last.line);
    // A line longer than the buffer is cut (it is not: the fields are bounded).
    let _ = core::fmt::Write::write_fmt(&mut w, format_args!("{}", report));
    let len = w.bytes_written();
    last.len = len;
    pr_info!(
        "{}\n",
        core::str::from_utf8(&last.line[..len]).unwrap_or("?")
    );
    Ok(())
}

struct LoadGen {
    _file: Pin<KBox<File<Control>>>,
    _dir: Dir,
}

impl kernel::Module for LoadGen {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new(c"nvmock_loadgen");
        let file = KBox::pin_init(
            dir.read_write_callback_file(
                c"run",
                pin_init!(Control {
                    last <- kernel::new_mutex!(Last { line: [0; MAX_RESULT], len: 0 }),
                }),
                &show,
                &store,
            ),
            GFP_KERNEL,
        )?;
        Ok(LoadGen {
            _file: file,
            _dir: dir,
        })
    }
}
