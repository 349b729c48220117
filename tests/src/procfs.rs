//! What Linux's /proc says about a process: CPU time and memory, for the
//! scale test and the benchmark's idle and window figures.

/// Clock ticks (USER_HZ, 100 a second) the process has run, user and
/// system, from `/proc/PID/stat`; `None` once it is gone.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) close with ')';
    // utime and stime are fields 14 and 15, and `fields` starts at field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// One field of `/proc/PID/smaps_rollup` in KiB, e.g. `"Rss:"` or `"Pss:"`.
pub fn rollup_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
