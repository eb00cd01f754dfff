//! The C allocator's handling of freed memory, for the binaries (a library never changes it).

/// Keeps freed memory in the process for reuse instead of handing it back to the system: large
/// blocks come from the heap rather than from their own `mmap`, and the heap is never trimmed.
/// The profiler and the evaluations allocate and free buffers of tens of megabytes per chunk of
/// images; returned to the system, each one came back as fresh pages, zeroed by the kernel on
/// first touch (page faults: about a tenth of the course estimator's CPU time on an AMD EPYC).
/// Peak memory is unchanged; memory freed at the end of a phase stays with the process. Only
/// glibc has these settings; elsewhere this does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes two allocator parameters; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}
