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
