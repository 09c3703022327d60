// SPDX-License-Identifier: GPL-2.0
//! vm-memory 0.10's region set-up for the benchmark (same constants and CSV
//! as ../common.h). Its copies and lookups are timed by vmmem-bench.c,
//! through the library in lib.rs, beside vmmem's.

use std::slice;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{GuestAddress, GuestMemoryMmap, GuestRegionMmap};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

const SETUP_SIZE: u64 = 256 * MIB;

const REPS: usize = 5;

type Mem = GuestMemoryMmap<()>;

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn emit(path: &str, wl: &str, op: &str, size: u64, ops: usize, ns: u64) {
    let ns_op = ns as f64 / ops as f64;
    println!(
        "vm-memory,{},{},{},{},{},{:.1},{:.1}",
        path,
        wl,
        op,
        size,
        ops,
        ns_op,
        size as f64 * 1e3 / ns_op
    );
}

/// print_copy_routine() of common.h: the memcpy the IFUNC resolver picked
/// (std's copies and vm-memory's copy_from_slice call it), for run.sh to
/// name with nm. Built non-PIE (run.sh), so addresses match the ELF file.
fn print_copy_routine() {
    let f: unsafe extern "C" fn(
        *mut libc::c_void,
        *const libc::c_void,
        usize,
    ) -> *mut libc::c_void = libc::memcpy;
    let mut p = f as *const u8;
    // SAFETY: reads the code bytes of a stub (or the function) we can call.
    unsafe {
        if slice::from_raw_parts(p, 4) == [0xf3, 0x0f, 0x1e, 0xfa] {
            p = p.add(4);
        }
        if *p == 0xf2 {
            p = p.add(1);
        }
        if *p == 0xff && *p.add(1) == 0x25 {
            let disp = (p.add(2) as *const i32).read_unaligned();
            p = *(p.offset(6 + disp as isize) as *const *const u8);
        }
    }
    println!("# vm-memory: memcpy={:p}", p);
}

/// Populated like the others: vm-memory's own from_ranges() maps lazily
/// (MAP_NORESERVE), which would time nothing but the mmap() call.
fn bench_setup() {
    let mut t = [0u64; REPS];
    for r in 0..=REPS {
        let t0 = now_ns();
        let region = MmapRegionBuilder::new(SETUP_SIZE as usize)
            .with_mmap_prot(libc::PROT_READ | libc::PROT_WRITE)
            .with_mmap_flags(
                libc::MAP_ANONYMOUS | libc::MAP_PRIVATE | libc::MAP_NORESERVE | libc::MAP_POPULATE,
            )
            .build()
            .expect("MmapRegion");
        let mem = Mem::from_regions(vec![
            GuestRegionMmap::new(region, GuestAddress(0)).expect("GuestRegionMmap")
        ])
        .expect("from_regions");
        if r > 0 {
            t[r - 1] = now_ns() - t0;
        }
        drop(mem);
    }
    emit("populate", "setup", "setup", SETUP_SIZE, 1, median(&mut t));
}

fn main() {
    print_copy_routine();
    bench_setup();
}
