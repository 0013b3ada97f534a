//! The process allocator for binaries that decode untrusted Kafka requests.
//!
//! Generated decoders (the `kafka-protocol` crate) reserve `Vec` capacity for the element
//! count a peer declares before decoding any element. A 14-byte request declaring 2^31 topics
//! then asks for a 150 GB reservation; the system allocator refuses it and Rust aborts the
//! whole process, which a catchable error cannot prevent. [`SparseLargeAlloc`] serves every
//! allocation of at least [`SPARSE_THRESHOLD_BYTES`] from an anonymous `MAP_NORESERVE` mapping
//! instead: the reservation costs address space, not memory, only the pages actually written
//! are ever backed, and the decoder fails on the missing bytes as it should. Smaller
//! allocations, which are nearly all of them, go to the system allocator unchanged.
//!
//! Install it in every binary that serves the Kafka protocol (the `fjord` binary and the
//! broker's integration tests):
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Once;

/// Largest request the system allocator serves from its arenas rather than a fresh mapping
/// (glibc's `M_MMAP_THRESHOLD`; 32 MiB is its maximum on 64-bit).
const ARENA_MAX_REQUEST_BYTES: i32 = 32 << 20;
/// Free memory at the top of an arena kept rather than returned to the kernel
/// (glibc's `M_TRIM_THRESHOLD`).
const ARENA_KEEP_FREE_BYTES: i32 = 64 << 20;

/// Keeps glibc from handing the data path's buffers back to the kernel between requests.
///
/// A fetch reads each partition's records into a buffer of up to `max.partition.fetch.bytes`
/// that lives until the response is on the socket. With glibc's defaults those buffers came
/// from fresh mappings or from arena tops that were trimmed (`madvise`/`munmap`) as soon as
/// they were freed, and every fetch paid page faults and kernel page clearing for its buffers
/// again (~20% of fetch CPU in `bench/profile`). Fixing the mapping threshold and raising the
/// trim threshold lets the arenas keep and reuse that memory. The cost is bounded: at most
/// [`ARENA_KEEP_FREE_BYTES`] of free memory per arena stays resident after a burst. Idempotent;
/// a no-op where the C library is not glibc.
pub fn tune_system_allocator() {
    static TUNED: Once = Once::new();
    TUNED.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets allocator parameters; it is called before or between
        // allocations like any other libc call and does not touch memory we own.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, ARENA_MAX_REQUEST_BYTES);
            libc::mallopt(libc::M_TRIM_THRESHOLD, ARENA_KEEP_FREE_BYTES);
        }
    });
}

/// Allocations of this size or more are served by sparse mappings.
pub const SPARSE_THRESHOLD_BYTES: usize = 64 << 20;

/// Mappings are page aligned; stricter alignments stay with the system allocator.
const PAGE_BYTES: usize = 4096;

/// See the module documentation.
pub struct SparseLargeAlloc;

fn is_sparse(layout: Layout) -> bool {
    layout.size() >= SPARSE_THRESHOLD_BYTES && layout.align() <= PAGE_BYTES
}

// SAFETY: every pointer handed out comes either from `System` or from a fresh private anonymous
// mapping of at least `layout.size()` bytes, page aligned (>= `layout.align()`); `dealloc`
// routes by the same layout test, so each pointer goes back to the allocator that made it.
unsafe impl GlobalAlloc for SparseLargeAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_sparse(layout) {
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: a new anonymous mapping touches no existing memory.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout.size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            ptr.cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_sparse(layout) {
            return unsafe { System.alloc_zeroed(layout) };
        }
        // Fresh anonymous mappings read as zeros.
        unsafe { self.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !is_sparse(layout) {
            return unsafe { System.dealloc(ptr, layout) };
        }
        // SAFETY: `ptr` is the start of a mapping of `layout.size()` bytes made by `alloc`.
        unsafe {
            libc::munmap(ptr.cast(), layout.size());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_reservations_cost_address_space_only() {
        let layout = Layout::from_size_align(100 << 30, 8).unwrap();
        let alloc = SparseLargeAlloc;
        // SAFETY: the pointer is checked, written within bounds and freed with its layout.
        unsafe {
            let ptr = alloc.alloc(layout);
            assert!(!ptr.is_null(), "a 100 GiB sparse reservation was refused");
            ptr.write(7);
            ptr.add(layout.size() - 1).write(9);
            assert_eq!(ptr.read(), 7);
            alloc.dealloc(ptr, layout);
        }
    }

    #[test]
    fn small_allocations_round_trip_through_the_system_allocator() {
        let layout = Layout::from_size_align(64, 16).unwrap();
        let alloc = SparseLargeAlloc;
        // SAFETY: as above.
        unsafe {
            let ptr = alloc.alloc_zeroed(layout);
            assert!(!ptr.is_null());
            assert_eq!(ptr.read(), 0);
            alloc.dealloc(ptr, layout);
        }
    }
}
