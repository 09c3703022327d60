// SPDX-License-Identifier: GPL-2.0
//! vm-memory 0.10 behind a C ABI (a static library), so that vmmem-bench.c
//! can time read_slice/write_slice/read_obj/write_obj/find_region in the
//! same process as vmmem's paths, batch by batch in turn (../../README.md).

use std::slice;
use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, GuestMemoryRegion};

type Mem = GuestMemoryMmap<()>;

/// The guest of ../common.h: `main_size` bytes at 0 and two adjacent
/// regions of `bnd_half` bytes at `bnd_base`, every page written once
/// (from_ranges() maps lazily). NULL on failure.
#[no_mangle]
pub extern "C" fn vmm_new(main_size: u64, bnd_base: u64, bnd_half: u64) -> *mut Mem {
    let Ok(mem) = Mem::from_ranges(&[
        (GuestAddress(0), main_size as usize),
        (GuestAddress(bnd_base), bnd_half as usize),
        (GuestAddress(bnd_base + bnd_half), bnd_half as usize),
    ]) else {
        return std::ptr::null_mut();
    };
    let zeros = vec![0u8; 4096];
    for (base, len) in [(0, main_size), (bnd_base, 2 * bnd_half)] {
        for off in (0..len).step_by(zeros.len()) {
            if mem.write_slice(&zeros, GuestAddress(base + off)).is_err() {
                return std::ptr::null_mut();
            }
        }
    }
    Box::into_raw(Box::new(mem))
}

/// # Safety
/// `m` is NULL or came from vmm_new() and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vmm_free(m: *mut Mem) {
    if !m.is_null() {
        drop(Box::from_raw(m));
    }
}

/// GuestMemory::read_slice: 0, or -1 if not all `len` bytes were read.
///
/// # Safety
/// `m` came from vmm_new(); `buf` is valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vmm_read_slice(m: *const Mem, gpa: u64, buf: *mut u8, len: usize) -> i32 {
    let b = slice::from_raw_parts_mut(buf, len);
    match (*m).read_slice(b, GuestAddress(gpa)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// GuestMemory::write_slice: 0, or -1 if not all `len` bytes were written.
///
/// # Safety
/// `m` came from vmm_new(); `buf` is valid for `len` bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn vmm_write_slice(
    m: *const Mem,
    gpa: u64,
    buf: *const u8,
    len: usize,
) -> i32 {
    let b = slice::from_raw_parts(buf, len);
    match (*m).write_slice(b, GuestAddress(gpa)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// GuestMemory::read_obj::<u64>: 0 and `*out`, or -1.
///
/// # Safety
/// `m` came from vmm_new(); `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn vmm_read_obj_u64(m: *const Mem, gpa: u64, out: *mut u64) -> i32 {
    match (*m).read_obj::<u64>(GuestAddress(gpa)) {
        Ok(v) => {
            *out = v;
            0
        }
        Err(_) => -1,
    }
}

/// GuestMemory::write_obj::<u64>: 0, or -1.
///
/// # Safety
/// `m` came from vmm_new().
#[no_mangle]
pub unsafe extern "C" fn vmm_write_obj_u64(m: *const Mem, gpa: u64, v: u64) -> i32 {
    match (*m).write_obj(v, GuestAddress(gpa)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// `n` adjacent regions of `page` bytes from GPA 0, for the lookups.
#[no_mangle]
pub extern "C" fn vmm_new_pages(n: u64, page: u64) -> *mut Mem {
    let ranges: Vec<_> = (0..n)
        .map(|i| (GuestAddress(i * page), page as usize))
        .collect();
    match Mem::from_ranges(&ranges) {
        Ok(mem) => Box::into_raw(Box::new(mem)),
        Err(_) => std::ptr::null_mut(),
    }
}

/// GuestMemory::find_region: the region's length, or 0 for none.
///
/// # Safety
/// `m` came from vmm_new() or vmm_new_pages().
#[no_mangle]
pub unsafe extern "C" fn vmm_find_region_len(m: *const Mem, gpa: u64) -> u64 {
    (*m).find_region(GuestAddress(gpa)).map_or(0, |r| r.len())
}

// --- the dirty log: GuestMemoryMmap<AtomicBitmap>, for dirty-bench.c -------

use std::hint::black_box;
use vm_memory::bitmap::{AtomicBitmap, Bitmap};

type BMem = GuestMemoryMmap<AtomicBitmap>;

/// One region of `size` bytes at GPA 0 with an AtomicBitmap (one bit per
/// page); with `touch`, every page written once (then the bitmap reset), so
/// that no timed access is the first to its page. NULL on failure.
#[no_mangle]
pub extern "C" fn vmm_bm_new(size: u64, touch: bool) -> *mut BMem {
    let Ok(mem) = BMem::from_ranges(&[(GuestAddress(0), size as usize)]) else {
        return std::ptr::null_mut();
    };
    if touch {
        let zeros = vec![0u8; 4096];
        for off in (0..size).step_by(zeros.len()) {
            if mem.write_slice(&zeros, GuestAddress(off)).is_err() {
                return std::ptr::null_mut();
            }
        }
    }
    if let Some(r) = mem.find_region(GuestAddress(0)) {
        r.bitmap().reset();
    }
    Box::into_raw(Box::new(mem))
}

/// # Safety
/// `m` is NULL or came from vmm_bm_new() and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_free(m: *mut BMem) {
    if !m.is_null() {
        drop(Box::from_raw(m));
    }
}

/// GuestMemory::write_slice, which marks the pages it writes: 0 or -1.
///
/// # Safety
/// `m` came from vmm_bm_new(); `buf` is valid for `len` bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_write_slice(
    m: *const BMem,
    gpa: u64,
    buf: *const u8,
    len: usize,
) -> i32 {
    let b = slice::from_raw_parts(buf, len);
    match (*m).write_slice(b, GuestAddress(gpa)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// A guest-to-guest copy as a vm-memory VMM writes it: read_slice into the
/// bounce buffer `buf`, then write_slice (which marks). 0 or -1.
///
/// # Safety
/// `m` came from vmm_bm_new(); `buf` is valid for `len` bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_copy_bounce(
    m: *const BMem,
    dst: u64,
    src: u64,
    buf: *mut u8,
    len: usize,
) -> i32 {
    let b = slice::from_raw_parts_mut(buf, len);
    let mem = &*m;
    if mem.read_slice(b, GuestAddress(src)).is_err() {
        return -1;
    }
    match mem.write_slice(b, GuestAddress(dst)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Bitmap::mark_dirty of `len` bytes at `gpa` of the region there: 0, or
/// -1 if no region holds `gpa`.
///
/// # Safety
/// `m` came from vmm_bm_new().
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_mark(m: *const BMem, gpa: u64, len: usize) -> i32 {
    match (*m).to_region_addr(GuestAddress(gpa)) {
        Some((r, off)) => {
            r.bitmap().mark_dirty(off.0 as usize, len);
            0
        }
        None => -1,
    }
}

/// AtomicBitmap::get_and_reset of the region at GPA 0, as a VMM harvests
/// it: the words come back in a new Vec. Returns the dirty pages (a
/// popcount of the Vec, which vmmem's harvest reports too), or -1.
///
/// # Safety
/// `m` came from vmm_bm_new().
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_get_and_reset(m: *const BMem) -> i64 {
    match (*m).find_region(GuestAddress(0)) {
        Some(r) => {
            let v = black_box(r.bitmap().get_and_reset());
            v.iter().map(|w| w.count_ones() as i64).sum()
        }
        None => -1,
    }
}

/// AtomicBitmap::reset of the region at GPA 0.
///
/// # Safety
/// `m` came from vmm_bm_new().
#[no_mangle]
pub unsafe extern "C" fn vmm_bm_reset(m: *const BMem) {
    if let Some(r) = (*m).find_region(GuestAddress(0)) {
        r.bitmap().reset();
    }
}
