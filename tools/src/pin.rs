//! Pinning a whole server process to a set of CPUs, for the tools' `--pin CPU-LIST` flags
//! (`http-hello`, `hyper-hello`): the list is read the way `taskset -c` reads it, and the
//! calling thread's affinity is set before the runtime starts, so every thread the runtime
//! creates afterwards inherits it.

/// Parses a CPU list: `0`, `0-1`, `0,2-3`. The error names the `--pin` flag.
///
/// ```
/// use goro_tools::pin::parse_cpu_list;
/// assert_eq!(parse_cpu_list("0,2-3").unwrap(), vec![0, 2, 3]);
/// assert!(parse_cpu_list("3-1").is_err());
/// ```
pub fn parse_cpu_list(s: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("--pin expects a CPU list such as 1 or 0-1, got `{s}`");
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part.trim(), part.trim()),
        };
        let lo: usize = lo.parse().map_err(|_| bad())?;
        let hi: usize = hi.parse().map_err(|_| bad())?;
        if lo > hi || hi >= libc::CPU_SETSIZE as usize {
            return Err(bad());
        }
        cpus.extend(lo..=hi);
    }
    Ok(cpus)
}

/// Restricts the calling thread (and every thread it creates from now on) to `cpus`.
///
/// ```no_run
/// goro_tools::pin::pin_process(&[1]).unwrap();
/// ```
pub fn pin_process(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write inside it (indices were
    // checked against CPU_SETSIZE by parse_cpu_list; others are refused below), and
    // sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in cpus {
            if c >= libc::CPU_SETSIZE as usize {
                return Err(std::io::Error::other(format!("CPU {c} is out of range")));
            }
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
