//! The `wiretap` binary's memory allocator: mimalloc, told to give freed memory back to the
//! operating system at once.
//!
//! A run's memory has two peaks (BENCHMARKING.md § "Where the memory and the time go"): the
//! world at the end of the simulation, then the adversary's analysis, whose large tables are
//! new allocations made after the world is freed. With glibc's malloc the world's memory stayed
//! resident as free chunks beside the analysis' new mappings, so the resident peak was about
//! 30 % above the heap's. mimalloc with immediate purging and lazily committed arenas returns
//! the world's pages before the analysis grows, and the resident peak follows the heap's
//! (BENCHMARKING.md § "The allocator"). Allocation addresses never reach an output, so the
//! allocator cannot change a report.
//!
//! This module holds the binary's only `unsafe` code: two calls that store integers in
//! mimalloc's option table. The library crates forbid `unsafe` and do not choose an allocator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc 3's `include/mimalloc.h` (`enum mi_option_e`, the
/// fifth entry). libmimalloc-sys 0.1.49, pinned in Cargo.toml, builds that header.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// `mi_option_purge_delay` in the same enum (the sixteenth entry).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets mimalloc's options for a long, allocation-heavy run: arenas are committed as they are
/// used (not all at once, which on Linux let purged pages stay resident) and freed pages are
/// purged at once instead of after a delay. Called first thing in `main`, while the process has
/// one thread (mimalloc's option setters are not thread-safe). Environment variables
/// (`MIMALLOC_PURGE_DELAY=...`) still override these for experiments: they are read when
/// mimalloc starts, before `main`, and an option set here replaces them, so this function
/// leaves an option alone when its variable is set.
pub(crate) fn tune() {
    for (option, var, value) in [
        (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
    ] {
        if std::env::var_os(var).is_none() {
            set(option, value);
        }
    }
}

#[allow(unsafe_code)]
fn set(option: libmimalloc_sys::mi_option_t, value: std::ffi::c_long) {
    // SAFETY: `mi_option_set` stores `value` in mimalloc's static option table; it takes no
    // pointers. It is not thread-safe, and `tune` runs before `main` starts any thread.
    unsafe { libmimalloc_sys::mi_option_set(option, value) }
}

#[cfg(test)]
mod tests {
    #[allow(unsafe_code)]
    fn get(option: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        // SAFETY: reads one integer of mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    #[test]
    fn the_option_numbers_are_mimallocs() {
        // mimalloc's defaults for these two on Linux: arena_eager_commit 2 ("on overcommit
        // systems"), purge_delay 1000 ms. If the header's enum moved, the numbers would read
        // other options, whose defaults differ.
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(get(super::ARENA_EAGER_COMMIT), 2);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(super::PURGE_DELAY), 1000);
        }
    }
}
