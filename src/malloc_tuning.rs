//! glibc malloc settings for a process that allocates megabyte tensors in a
//! loop.
//!
//! Every CPU tensor op allocates its output; at ember's sizes (a 1,000 × 400
//! f32 activation is 1.6 MB) glibc serves those with `mmap` and gives them
//! back with `munmap` (or trims the heap top), so each op pays fresh page
//! faults. Raising the mmap and trim thresholds keeps the pages in the heap
//! for reuse. Measured on the 2-core machine, same binary, runs with and
//! without the tuning interleaved (the machine's speed drifts between
//! minutes): fine ranking of 1,000 frappe candidates p50 18.6–23.5 ms →
//! 11.7–12.1 ms; criteo-synth row-sparse flex training (batch 4096)
//! 7,959–8,034 → 11,988–13,554 samples/s, inference 27–32 k → 51–55 k
//! samples/s, peak RSS 1,308 → 1,325 MB. No allocator crate is in the
//! offline registry, and this is three calls, so it is done by hand.
//!
//! Environment variables still win: glibc reads `MALLOC_MMAP_THRESHOLD_`
//! and friends itself, so this only applies when none is set.

/// Applies the settings (a no-op off glibc).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set_by_user = [
            "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_",
            "MALLOC_TOP_PAD_",
        ]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
        if set_by_user {
            return;
        }
        // 32 MB is the largest mmap threshold glibc accepts on 64-bit.
        // SAFETY: mallopt only changes allocator parameters; it is called
        // once, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            libc::mallopt(libc::M_TOP_PAD, 64 << 20);
        }
    }
}
