//! Process CPU, memory, thread and file-descriptor instruments (process semantic
//! conventions), read from procfs on Linux.

use opentelemetry::metrics::Meter;

use crate::Error;

/// What [`register_process_metrics`] registered.
///
/// The instruments are observable: the SDK calls their callbacks at each collection for
/// as long as the meter provider lives, so this value does not need to be kept alive.
/// It tells which instruments exist on this platform.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// let process = otel_core::metrics::register_process_metrics()?;
/// if cfg!(target_os = "linux") {
///     assert!(process.instrument_names().contains(&"process.memory.usage"));
/// } else {
///     assert!(process.instrument_names().is_empty());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMetrics {
    names: Vec<&'static str>,
}

impl ProcessMetrics {
    /// The names of the instruments registered (empty on platforms without support).
    ///
    /// ```
    /// # fn main() -> Result<(), otel_core::Error> {
    /// for name in otel_core::metrics::register_process_metrics()?.instrument_names() {
    ///     println!("reporting {name}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn instrument_names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Registers process metrics on the global meter provider (scope `otel-core`).
///
/// On Linux, following the OpenTelemetry process semantic conventions:
///
/// | Instrument | Kind | Unit | Source |
/// |:-|:-|:-|:-|
/// | `process.cpu.time` (`cpu.mode` = `user` / `system`) | counter | `s` | `/proc/self/stat` |
/// | `process.cpu.utilization` (`cpu.mode` = `user` / `system`) | gauge | `1` | CPU time since the previous collection ÷ (elapsed time × CPUs available to the process) |
/// | `process.memory.usage` (resident set size) | up-down counter | `By` | `/proc/self/statm` |
/// | `process.memory.virtual` | up-down counter | `By` | `/proc/self/statm` |
/// | `process.thread.count` | up-down counter | `{thread}` | `/proc/self/stat` |
/// | `process.unix.file_descriptor.count` | up-down counter | `{file_descriptor}` | entries of `/proc/self/fd` |
/// | `process.uptime` | gauge | `s` | `/proc/uptime` minus the start time in `/proc/self/stat` |
///
/// CPU times are converted from clock ticks with the kernel's real tick rate and
/// memory from pages with the real page size (both from `sysconf`), not assumed
/// constants. The kernel counts CPU time in ticks (usually 10 ms), so utilization over a
/// very short collection interval is coarse. The file-descriptor count uses the current
/// name of what older conventions called `process.open_file_descriptor.count`.
///
/// On other operating systems nothing is registered (the result lists no instruments).
/// Call it once: calling it again registers a second set of callbacks.
///
/// # Errors
///
/// [`crate::ErrorKind::Io`] on Linux when procfs cannot be read (not mounted, or
/// hidden by a sandbox) or `sysconf` cannot tell the tick rate or page size.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// let _process = otel_core::metrics::register_process_metrics()?;
/// # Ok(())
/// # }
/// ```
pub fn register_process_metrics() -> Result<ProcessMetrics, Error> {
    register_process_metrics_on(&super::meter())
}

/// Like [`register_process_metrics`], on a [`Meter`] you choose.
///
/// ```
/// # fn main() -> Result<(), otel_core::Error> {
/// let meter = otel_core::opentelemetry::global::meter("my-service");
/// let _process = otel_core::metrics::register_process_metrics_on(&meter)?;
/// # Ok(())
/// # }
/// ```
pub fn register_process_metrics_on(meter: &Meter) -> Result<ProcessMetrics, Error> {
    imp::register(meter)
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use opentelemetry::metrics::Meter;

    use super::ProcessMetrics;
    use crate::Error;

    pub(super) fn register(_meter: &Meter) -> Result<ProcessMetrics, Error> {
        Ok(ProcessMetrics { names: Vec::new() })
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::sync::Mutex;
    use std::time::Instant;

    use opentelemetry::metrics::Meter;
    use opentelemetry::KeyValue;
    use opentelemetry_semantic_conventions::attribute::CPU_MODE;
    use opentelemetry_semantic_conventions::metric::{
        PROCESS_CPU_TIME, PROCESS_CPU_UTILIZATION, PROCESS_MEMORY_USAGE, PROCESS_MEMORY_VIRTUAL,
        PROCESS_THREAD_COUNT, PROCESS_UNIX_FILE_DESCRIPTOR_COUNT, PROCESS_UPTIME,
    };

    use super::ProcessMetrics;
    use crate::{Error, ErrorKind};

    /// The `cpu.mode` attribute sets, built once per registration (static strings, so
    /// cloning them allocates nothing).
    fn modes() -> ([KeyValue; 1], [KeyValue; 1]) {
        (
            [KeyValue::new(CPU_MODE, "user")],
            [KeyValue::new(CPU_MODE, "system")],
        )
    }

    mod sys {
        fn positive(name: libc::c_int) -> Option<u64> {
            // SAFETY: sysconf only reads a configuration value; any `name` is allowed
            // (an unknown one returns -1).
            let value = unsafe { libc::sysconf(name) };
            u64::try_from(value).ok().filter(|v| *v > 0)
        }

        pub(crate) fn clock_ticks_per_second() -> Option<u64> {
            positive(libc::_SC_CLK_TCK)
        }

        pub(crate) fn page_size() -> Option<u64> {
            positive(libc::_SC_PAGESIZE)
        }
    }

    /// The fields of `/proc/self/stat` these instruments use.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Stat {
        /// Clock ticks in user mode.
        pub(super) utime: u64,
        /// Clock ticks in kernel mode.
        pub(super) stime: u64,
        pub(super) threads: i64,
        /// Clock ticks after boot when the process started.
        pub(super) start_ticks: u64,
    }

    /// Parses `/proc/[pid]/stat` (see proc(5)).
    pub(super) fn parse_stat(text: &str) -> Option<Stat> {
        // The command name (field 2) is in parentheses and may itself contain spaces
        // and parentheses, so the numeric fields start after the *last* `)`.
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `fields[0]` is field 3 (state) of proc(5).
        let field = |n: usize| fields.get(n - 3).copied();
        Some(Stat {
            utime: field(14)?.parse().ok()?,
            stime: field(15)?.parse().ok()?,
            threads: field(20)?.parse().ok()?,
            start_ticks: field(22)?.parse().ok()?,
        })
    }

    /// Parses `/proc/[pid]/statm`: (virtual size, resident set size), in pages.
    pub(super) fn parse_statm(text: &str) -> Option<(u64, u64)> {
        let mut fields = text.split_whitespace();
        let size = fields.next()?.parse().ok()?;
        let resident = fields.next()?.parse().ok()?;
        Some((size, resident))
    }

    fn invalid(path: &str) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("unexpected format of {path}"))
    }

    pub(super) fn read_stat() -> io::Result<Stat> {
        parse_stat(&std::fs::read_to_string("/proc/self/stat")?).ok_or_else(|| invalid("/proc/self/stat"))
    }

    fn read_statm() -> io::Result<(u64, u64)> {
        parse_statm(&std::fs::read_to_string("/proc/self/statm")?).ok_or_else(|| invalid("/proc/self/statm"))
    }

    /// Seconds since boot, the clock `Stat::start_ticks` counts on.
    fn read_uptime() -> io::Result<f64> {
        std::fs::read_to_string("/proc/uptime")?
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid("/proc/uptime"))
    }

    fn count_fds() -> io::Result<i64> {
        let mut count: i64 = 0;
        for entry in std::fs::read_dir("/proc/self/fd")? {
            entry?;
            count += 1;
        }
        // The directory handle used to list the entries is itself one of them.
        Ok((count - 1).max(0))
    }

    fn saturating_i64(v: u64) -> i64 {
        i64::try_from(v).unwrap_or(i64::MAX)
    }

    #[derive(Debug)]
    struct CpuSample {
        at: Instant,
        utime: u64,
        stime: u64,
    }

    fn procfs_error(path: &str, err: &io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "process metrics cannot read {path} ({err}); they need procfs mounted at /proc \
                 and readable by this process"
            ),
        )
    }

    pub(super) fn register(meter: &Meter) -> Result<ProcessMetrics, Error> {
        // Fail at registration, where the caller can react, rather than report nothing
        // at every collection.
        let stat = read_stat().map_err(|e| procfs_error("/proc/self/stat", &e))?;
        read_statm().map_err(|e| procfs_error("/proc/self/statm", &e))?;
        read_uptime().map_err(|e| procfs_error("/proc/uptime", &e))?;
        count_fds().map_err(|e| procfs_error("/proc/self/fd", &e))?;
        let ticks = sys::clock_ticks_per_second()
            .ok_or_else(|| Error::new(ErrorKind::Io, "process metrics: sysconf(_SC_CLK_TCK) failed"))?
            as f64;
        let page_size = sys::page_size()
            .ok_or_else(|| Error::new(ErrorKind::Io, "process metrics: sysconf(_SC_PAGESIZE) failed"))?;

        let (user, system) = modes();
        meter
            .f64_observable_counter(PROCESS_CPU_TIME)
            .with_unit("s")
            .with_description("Total CPU seconds broken down by different CPU modes")
            .with_callback(move |observer| {
                if let Ok(stat) = read_stat() {
                    observer.observe(stat.utime as f64 / ticks, &user);
                    observer.observe(stat.stime as f64 / ticks, &system);
                }
            })
            .build();

        let (user, system) = modes();
        let last = Mutex::new(CpuSample {
            at: Instant::now(),
            utime: stat.utime,
            stime: stat.stime,
        });
        meter
            .f64_observable_gauge(PROCESS_CPU_UTILIZATION)
            .with_unit("1")
            .with_description(
                "Difference in process.cpu.time since the last measurement, divided by the \
                 elapsed time and number of CPUs available to the process",
            )
            .with_callback(move |observer| {
                let Ok(stat) = read_stat() else { return };
                let now = Instant::now();
                // A poisoned lock only means a previous callback panicked mid-update;
                // the sample is still a valid baseline.
                let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let elapsed = now.duration_since(last.at).as_secs_f64();
                if elapsed <= 0.0 {
                    return;
                }
                let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
                let capacity = elapsed * cpus * ticks;
                let user_share = stat.utime.saturating_sub(last.utime) as f64 / capacity;
                let system_share = stat.stime.saturating_sub(last.stime) as f64 / capacity;
                observer.observe(user_share, &user);
                observer.observe(system_share, &system);
                *last = CpuSample {
                    at: now,
                    utime: stat.utime,
                    stime: stat.stime,
                };
            })
            .build();

        meter
            .i64_observable_up_down_counter(PROCESS_MEMORY_USAGE)
            .with_unit("By")
            .with_description("The amount of physical memory in use")
            .with_callback(move |observer| {
                if let Ok((_, resident)) = read_statm() {
                    observer.observe(saturating_i64(resident.saturating_mul(page_size)), &[]);
                }
            })
            .build();

        meter
            .i64_observable_up_down_counter(PROCESS_MEMORY_VIRTUAL)
            .with_unit("By")
            .with_description("The amount of committed virtual memory")
            .with_callback(move |observer| {
                if let Ok((size, _)) = read_statm() {
                    observer.observe(saturating_i64(size.saturating_mul(page_size)), &[]);
                }
            })
            .build();

        meter
            .i64_observable_up_down_counter(PROCESS_THREAD_COUNT)
            .with_unit("{thread}")
            .with_description("Process threads count")
            .with_callback(|observer| {
                if let Ok(stat) = read_stat() {
                    observer.observe(stat.threads, &[]);
                }
            })
            .build();

        meter
            .i64_observable_up_down_counter(PROCESS_UNIX_FILE_DESCRIPTOR_COUNT)
            .with_unit("{file_descriptor}")
            .with_description("Number of unix file descriptors in use by the process")
            .with_callback(|observer| {
                if let Ok(count) = count_fds() {
                    observer.observe(count, &[]);
                }
            })
            .build();

        let started_after_boot = stat.start_ticks as f64 / ticks;
        meter
            .f64_observable_gauge(PROCESS_UPTIME)
            .with_unit("s")
            .with_description("The time the process has been running")
            .with_callback(move |observer| {
                if let Ok(uptime) = read_uptime() {
                    observer.observe((uptime - started_after_boot).max(0.0), &[]);
                }
            })
            .build();

        Ok(ProcessMetrics {
            names: vec![
                PROCESS_CPU_TIME,
                PROCESS_CPU_UTILIZATION,
                PROCESS_MEMORY_USAGE,
                PROCESS_MEMORY_VIRTUAL,
                PROCESS_THREAD_COUNT,
                PROCESS_UNIX_FILE_DESCRIPTOR_COUNT,
                PROCESS_UPTIME,
            ],
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use opentelemetry::metrics::MeterProvider;
    use opentelemetry::{Key, KeyValue, Value};
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};

    use super::imp::{parse_stat, parse_statm, read_stat, Stat};
    use super::register_process_metrics_on;
    use crate::metrics::test_support::TestMeter;

    #[test]
    fn stat_parsing_survives_hostile_command_names() {
        // Fields 3..=24 of proc(5); the command name contains `) (` and spaces.
        let line = "4242 (evil) (name x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 \
                    731 52 0 0 20 0 9 0 123456 104857600 2560 18446744073709551615\n";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                utime: 731,
                stime: 52,
                threads: 9,
                start_ticks: 123456,
            })
        );
        assert_eq!(parse_stat("4242 (truncated) S 1 2 3"), None);
        assert_eq!(parse_stat("no parenthesis at all"), None);
    }

    #[test]
    fn statm_parsing() {
        assert_eq!(parse_statm("25600 2560 512 100 0 3000 0\n"), Some((25600, 2560)));
        assert_eq!(parse_statm("25600"), None);
        assert_eq!(parse_statm("x 1"), None);
    }

    fn attrs(points: impl Iterator<Item = (f64, Vec<KeyValue>)>) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = points
            .map(|(value, attributes)| {
                assert_eq!(attributes.len(), 1, "{attributes:?}");
                assert_eq!(attributes[0].key, Key::new("cpu.mode"));
                let Value::String(mode) = &attributes[0].value else {
                    panic!("cpu.mode is a string");
                };
                (mode.to_string(), value)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn process_metrics_report_real_values() {
        // Make sure this process has used at least one clock tick of CPU.
        let mut spin = 0_u64;
        for _ in 0..100_000 {
            let stat = read_stat().unwrap();
            if stat.utime + stat.stime > 0 {
                break;
            }
            for i in 0..10_000_u64 {
                spin = std::hint::black_box(spin.wrapping_mul(31).wrapping_add(i));
            }
        }
        let _held = std::fs::File::open("/proc/self/stat").unwrap();

        let test = TestMeter::new();
        let registered = register_process_metrics_on(&test.provider.meter("test")).unwrap();
        let metrics = test.collect();
        let mut exported = metrics.names();
        exported.sort();
        let mut expected: Vec<String> = registered
            .instrument_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        expected.sort();
        assert_eq!(exported, expected);
        assert_eq!(expected.len(), 7);

        let up_down = |name: &str| -> i64 {
            let metric = &metrics[name];
            let AggregatedMetrics::I64(MetricData::Sum(sum)) = metric.data() else {
                panic!("{name}: an i64 sum, got {:?}", metric.data());
            };
            assert!(!sum.is_monotonic(), "{name} is an up-down counter");
            let points: Vec<_> = sum.data_points().collect();
            assert_eq!(points.len(), 1, "{name}");
            assert_eq!(points[0].attributes().count(), 0, "{name}");
            points[0].value()
        };
        let rss = up_down("process.memory.usage");
        let virt = up_down("process.memory.virtual");
        assert!(rss > 0, "rss {rss}");
        assert!(virt >= rss, "virtual {virt} < rss {rss}");
        assert_eq!(metrics["process.memory.usage"].unit(), "By");
        assert_eq!(metrics["process.memory.virtual"].unit(), "By");
        assert!(up_down("process.thread.count") >= 1);
        assert_eq!(metrics["process.thread.count"].unit(), "{thread}");
        assert!(up_down("process.unix.file_descriptor.count") >= 1);

        let cpu = &metrics["process.cpu.time"];
        assert_eq!(cpu.unit(), "s");
        let AggregatedMetrics::F64(MetricData::Sum(sum)) = cpu.data() else {
            panic!("cpu time: an f64 sum, got {:?}", cpu.data());
        };
        assert!(sum.is_monotonic());
        let modes = attrs(
            sum.data_points()
                .map(|p| (p.value(), p.attributes().cloned().collect())),
        );
        assert_eq!(
            modes.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
            ["system", "user"]
        );
        assert!(modes.iter().all(|(_, v)| *v >= 0.0));
        assert!(modes.iter().map(|(_, v)| v).sum::<f64>() > 0.0, "{modes:?}");

        let utilization = &metrics["process.cpu.utilization"];
        assert_eq!(utilization.unit(), "1");
        let AggregatedMetrics::F64(MetricData::Gauge(gauge)) = utilization.data() else {
            panic!("utilization: an f64 gauge");
        };
        let modes = attrs(
            gauge
                .data_points()
                .map(|p| (p.value(), p.attributes().cloned().collect())),
        );
        assert_eq!(modes.len(), 2);
        assert!(modes.iter().all(|(_, v)| v.is_finite() && *v >= 0.0), "{modes:?}");

        let AggregatedMetrics::F64(MetricData::Gauge(uptime)) = metrics["process.uptime"].data() else {
            panic!("uptime: an f64 gauge");
        };
        let uptime: Vec<f64> = uptime.data_points().map(|p| p.value()).collect();
        assert_eq!(uptime.len(), 1);
        assert!(uptime[0].is_finite() && uptime[0] >= 0.0, "{uptime:?}");
    }
}
