// SPDX-License-Identifier: GPL-2.0
//! vm-memory 0.10's lookups and region set-up for the benchmark (same
//! constants, splitmix64 sequences and CSV as ../common.h). Its copies are
//! timed by vmmem-bench.c through the library in lib.rs instead.

use std::ptr::read_volatile;
use std::slice;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{GuestAddress, GuestMemory, GuestMemoryMmap, GuestMemoryRegion, GuestRegionMmap};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const PAGE: u64 = 4096;

const SETUP_SIZE: u64 = 256 * MIB;

const REPS: usize = 5;
const MAX_OPS: u64 = 2048;
const SEED: u64 = 0x766d6d656d;

const NR_REGIONS: [u64; 5] = [1, 8, 64, 512, 32767];

type Mem = GuestMemoryMmap<()>;

fn rng_next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e3779b97f4a7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

fn gen_gpas(base: u64, span: u64, size: u64, n: usize) -> Vec<u64> {
    let align = size.min(PAGE);
    let slots = (span - size) / align + 1;
    let mut s = SEED ^ size ^ span;
    (0..n).map(|_| base + rng_next(&mut s) % slots * align).collect()
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// See tlb_flush() in common.h: > 33 pages unmapped flush the whole TLB.
fn tlb_flush() {
    let len = 64 * PAGE as usize;
    // SAFETY: maps and unmaps a scratch range of our own.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            -1,
            0,
        );
        if p != libc::MAP_FAILED {
            libc::munmap(p, len);
        }
    }
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

/// RUN() of common.h; generic, so `f` is inlined as the C body is.
#[inline(always)]
fn run<F: FnMut(u64)>(path: &str, wl: &str, op: &str, size: u64, n: usize, g: &[u64], mut f: F) {
    let mut t = [0u64; REPS];
    for r in 0..=REPS {
        let gp = &g[r * n..(r + 1) * n];
        tlb_flush();
        let t0 = now_ns();
        for &gpa in gp {
            f(gpa);
        }
        if r > 0 {
            t[r - 1] = now_ns() - t0;
        }
    }
    emit(path, wl, op, size, n, median(&mut t));
}

/// print_copy_routine() of common.h: the memcpy the IFUNC resolver picked
/// (std's copies and vm-memory's copy_from_slice call it), for run.sh to
/// name with nm. Built non-PIE (run.sh), so addresses match the ELF file.
fn print_copy_routine() {
    let f: unsafe extern "C" fn(*mut libc::c_void, *const libc::c_void, usize) -> *mut libc::c_void =
        libc::memcpy;
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

fn bench_lookup() {
    for &nr in NR_REGIONS.iter() {
        let n = MAX_OPS as usize;
        let g = gen_gpas(0, nr * PAGE, 8, (REPS + 1) * n);
        let ranges: Vec<_> = (0..nr).map(|i| (GuestAddress(i * PAGE), PAGE as usize)).collect();
        let mem = Mem::from_ranges(&ranges).expect("from_ranges");
        let mut sink = 0u64;
        run("find_region", &format!("lookup-{}", nr), "find", 8, n, &g, |gpa| {
            sink = sink.wrapping_add(mem.find_region(GuestAddress(gpa)).unwrap().len());
        });
        // SAFETY: a local; keeps the lookups alive.
        unsafe { read_volatile(&sink) };
    }
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
    bench_lookup();
    bench_setup();
}
