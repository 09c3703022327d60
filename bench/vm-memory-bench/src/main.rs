// SPDX-License-Identifier: GPL-2.0
//! vm-memory 0.10's side of the benchmark: the workloads of ../common.h
//! (same constants, same splitmix64 sequences, same CSV) through
//! GuestMemoryMmap's read_slice/write_slice/read_obj/write_obj/find_region.

use std::ptr::{read_volatile, write_volatile};
use std::slice;
use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{
    Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, GuestMemoryRegion, GuestRegionMmap,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const PAGE: u64 = 4096;

const MAIN_SIZE: u64 = 256 * MIB;
const HOT_SIZE: u64 = 2 * MIB;
const BND_BASE: u64 = GIB;
const BND_HALF: u64 = 2 * MIB;
const BND_EDGE: u64 = BND_BASE + BND_HALF;
const SETUP_SIZE: u64 = 256 * MIB;

const REPS: usize = 5;
const BATCH: u64 = 64;
const MAX_OPS: u64 = 2048;
const BATCH_BYTES: u64 = 8 * MIB;
const SEED: u64 = 0x766d6d656d;

const SIZES: [u64; 6] = [8, 64, 512, 4096, 65536, 1048576];
const NR_REGIONS: [u64; 5] = [1, 8, 64, 512, 32767];

type Mem = GuestMemoryMmap<()>;

fn rng_next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e3779b97f4a7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

fn batch_ops(size: u64) -> usize {
    (BATCH_BYTES / size).clamp(BATCH, MAX_OPS) as usize
}

fn gen_gpas(base: u64, span: u64, size: u64, n: usize) -> Vec<u64> {
    let align = size.min(PAGE);
    let slots = (span - size) / align + 1;
    let mut s = SEED ^ size ^ span;
    (0..n).map(|_| base + rng_next(&mut s) % slots * align).collect()
}

fn gen_edge(size: u64, n: usize) -> Vec<u64> {
    vec![BND_EDGE - size / 2; n]
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Page-aligned, pre-faulted buffer that lives as long as the process.
fn xmap(len: u64) -> &'static mut [u8] {
    // SAFETY: a fresh anonymous mapping, never unmapped.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            -1,
            0,
        );
        assert!(p != libc::MAP_FAILED, "mmap");
        let b = slice::from_raw_parts_mut(p as *mut u8, len as usize);
        b.fill(0x5a);
        b
    }
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

fn bench_io(mem: &Mem, buf: &mut [u8]) {
    for (w, wl) in ["cold", "hot", "boundary"].iter().enumerate() {
        for &sz in SIZES.iter() {
            let n = batch_ops(sz);
            let g = match w {
                0 => gen_gpas(0, MAIN_SIZE, sz, (REPS + 1) * n),
                1 => gen_gpas(0, HOT_SIZE, sz, (REPS + 1) * n),
                _ => gen_edge(sz, (REPS + 1) * n),
            };
            let b = &mut buf[..sz as usize];
            run("slice", wl, "read", sz, n, &g, |gpa| {
                mem.read_slice(b, GuestAddress(gpa)).unwrap()
            });
            run("slice", wl, "write", sz, n, &g, |gpa| {
                mem.write_slice(b, GuestAddress(gpa)).unwrap()
            });
        }
    }
}

fn bench_obj(mem: &Mem) {
    let n = MAX_OPS as usize;
    let g = gen_gpas(0, HOT_SIZE, 8, (REPS + 1) * n);
    let mut sink = 0u64;
    run("obj", "obj", "read", 8, n, &g, |gpa| {
        let v: u64 = mem.read_obj(GuestAddress(gpa)).unwrap();
        // SAFETY: a local.
        unsafe { write_volatile(&mut sink, v) };
    });
    run("obj", "obj", "write", 8, n, &g, |gpa| {
        // SAFETY: a local.
        let v = unsafe { read_volatile(&sink) };
        mem.write_obj(v, GuestAddress(gpa)).unwrap();
    });
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
    let buf = xmap(MIB);
    let mem = Mem::from_ranges(&[
        (GuestAddress(0), MAIN_SIZE as usize),
        (GuestAddress(BND_BASE), BND_HALF as usize),
        (GuestAddress(BND_EDGE), BND_HALF as usize),
    ])
    .expect("from_ranges");
    // from_ranges() maps lazily: fault every page in before timing.
    for (base, len) in [(0, MAIN_SIZE), (BND_BASE, 2 * BND_HALF)] {
        for off in (0..len).step_by(MIB as usize) {
            mem.write_slice(buf, GuestAddress(base + off)).unwrap();
        }
    }
    bench_io(&mem, buf);
    bench_obj(&mem);
    drop(mem);
    bench_lookup();
    bench_setup();
}
