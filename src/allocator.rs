//! The process's allocator: glibc malloc with ember's tuning
//! (`malloc_tuning.rs`) by default, jemalloc with `--features jemalloc`.
//!
//! Why two: ember allocates megabyte tensors in a loop (every CPU op's
//! output) and, when serving, loads and drops whole model versions. Tuned
//! glibc keeps freed blocks in its heap, which is what makes the hot loop
//! fast, and for the same reason keeps much of the memory of every
//! unloaded version: the 600-s soak (118 swaps) grew +62 % after warm-up,
//! even with a `malloc_trim` after each swap. jemalloc returns extents left
//! unused for its decay time (10 s) from a background thread, so a
//! server's memory stays flat over swaps, but it trains and scores slower
//! here. Measured on the 2-core machine, interleaved, same sources
//! (`reports/serving/soak.md`): criteo-synth row-sparse flex training
//! 19.1–19.3 k samples/s with jemalloc against 25.7–25.8 k with glibc,
//! inference 63–64 k against 103–105 k; the 40-s soak 54–56 k requests
//! against 60 k; fine ranking of 1,000 candidates p50 1.71–1.74 ms
//! against 1.74 ms. Hence glibc by default (training is what ember's
//! users wait for) and jemalloc for a long-running serving build.

#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A C string pointer jemalloc reads as its options at its first
/// allocation (`malloc_conf`, under tikv-jemalloc-sys's `_rjem_` prefix;
/// `$_RJEM_MALLOC_CONF` overrides it at run time).
#[cfg(feature = "jemalloc")]
#[repr(transparent)]
pub struct MallocConf(*const std::ffi::c_char);

// SAFETY: a pointer to a static, immutable C string.
#[cfg(feature = "jemalloc")]
unsafe impl Sync for MallocConf {}

/// - `background_thread`: purging by a thread of its own; without it
///   jemalloc purges only when a thread allocates, so an idle server would
///   keep a dropped version's pages until its next request.
/// - `tcache_max` 4 MB and no oversize arena: the megabyte activations are
///   cached per thread like small objects instead of going through the
///   arena (and, above 8 MB, an arena that purges at once); with
///   jemalloc's defaults the fine-ranking p50 was 2.32–2.34 ms against
///   1.71–1.74 ms.
#[cfg(feature = "jemalloc")]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: MallocConf =
    MallocConf(c"background_thread:true,oversize_threshold:0,tcache_max:4194304".as_ptr());

/// Applies glibc's tuning when jemalloc is not the allocator.
pub fn init() {
    #[cfg(not(feature = "jemalloc"))]
    crate::malloc_tuning::tune();
}
