// SPDX-License-Identifier: GPL-2.0
//! Unmodified vm-memory 0.10 as a vmmem client: a VMM keeps its
//! `GuestMemoryMmap` code and puts its guest memory in /dev/vmmem through
//! `from_ranges_with_files`, one `FileOffset` per region's mmap offset.
//! Writes by vm-memory must be seen by the ioctls and the other way round.
//! Prints TAP with the kselftest harness's "# Totals:" line.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use vm_memory::{
    Bytes, FileOffset, GuestAddress, GuestMemory, GuestMemoryMmap, GuestMemoryRegion,
};

const MIB: u64 = 1 << 20;

#[repr(C)]
#[derive(Default)]
struct RegionAdd {
    guest_addr: u64,
    size: u64,
    user_addr: u64,
    flags: u32,
    id: u32,
    mmap_offset: u64,
    reserved: [u64; 2],
}

#[repr(C)]
#[derive(Default)]
struct Io {
    guest_addr: u64,
    user_addr: u64,
    len: u64,
    done: u64,
    flags: u32,
    reserved: u32,
}

/// _IOWR(0xBA, nr, size), as <linux/vmmem.h> defines them.
const fn iowr(nr: u64, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | (0xBA << 8) | nr
}
const VMMEM_ADD_REGION: u64 = iowr(1, std::mem::size_of::<RegionAdd>());
const VMMEM_READ: u64 = iowr(5, std::mem::size_of::<Io>());
const VMMEM_WRITE: u64 = iowr(6, std::mem::size_of::<Io>());
const VMMEM_IO_EXACT: u32 = 1;

fn add_region(dev: &File, gpa: u64, size: u64) -> std::io::Result<RegionAdd> {
    let mut a = RegionAdd { guest_addr: gpa, size, ..Default::default() };
    // SAFETY: the argument is a live, correctly sized #[repr(C)] struct.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), VMMEM_ADD_REGION as _, &mut a) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(a)
}

fn io(dev: &File, cmd: u64, gpa: u64, buf: *mut u8, len: usize) -> std::io::Result<u64> {
    let mut op = Io {
        guest_addr: gpa,
        user_addr: buf as u64,
        len: len as u64,
        flags: VMMEM_IO_EXACT,
        ..Default::default()
    };
    // SAFETY: as above; the kernel accesses only `len` bytes at `buf`.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), cmd as _, &mut op) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(op.done)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

struct Tap {
    n: u32,
    pass: u32,
    fail: u32,
}

impl Tap {
    fn check(&mut self, name: &str, r: Result<(), String>) {
        self.n += 1;
        match r {
            Ok(()) => {
                self.pass += 1;
                println!("ok {} {}", self.n, name);
            }
            Err(e) => {
                self.fail += 1;
                println!("# {}: {}", name, e);
                println!("not ok {} {}", self.n, name);
            }
        }
    }
}

fn main() {
    let mut t = Tap { n: 0, pass: 0, fail: 0 };
    println!("TAP version 13");
    println!("1..6");

    let dev = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/vmmem")
        .expect("open /dev/vmmem");
    // Low RAM split in two adjacent regions, a hole, then high RAM.
    let layout = [(0, 2 * MIB), (2 * MIB, MIB), (4096 * MIB, MIB)];
    let regions: Vec<RegionAdd> = layout
        .iter()
        .map(|&(gpa, size)| add_region(&dev, gpa, size).expect("VMMEM_ADD_REGION"))
        .collect();

    let ranges: Vec<(GuestAddress, usize, Option<FileOffset>)> = regions
        .iter()
        .map(|r| {
            let f = dev.try_clone().expect("dup");
            (GuestAddress(r.guest_addr), r.size as usize, Some(FileOffset::new(f, r.mmap_offset)))
        })
        .collect();
    let mem = GuestMemoryMmap::<()>::from_ranges_with_files(&ranges);
    t.check(
        "from_ranges_with_files_accepts_vmmem_mmap_offsets",
        mem.as_ref().map(|_| ()).map_err(|e| format!("{:?}", e)),
    );
    let mem = match mem {
        Ok(m) => m,
        Err(_) => {
            println!("# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:0 error:0", t.pass, t.fail + 5);
            std::process::exit(1);
        }
    };

    // vm-memory writes across the region boundary; the ioctl reads them.
    t.check("vm_memory_write_slice_is_seen_by_vmmem_read", (|| {
        let data = pattern(8192, 7);
        let gpa = 2 * MIB - 4096;
        mem.write_slice(&data, GuestAddress(gpa)).map_err(|e| format!("{:?}", e))?;
        let mut back = vec![0u8; data.len()];
        let done = io(&dev, VMMEM_READ, gpa, back.as_mut_ptr(), back.len())
            .map_err(|e| e.to_string())?;
        if done != data.len() as u64 || back != data {
            return Err(format!("done {} or data differs", done));
        }
        Ok(())
    })());

    t.check("vmmem_write_is_seen_by_vm_memory_read_slice", (|| {
        let mut data = pattern(12288, 99);
        let gpa = 2 * MIB - 8192;
        io(&dev, VMMEM_WRITE, gpa, data.as_mut_ptr(), data.len()).map_err(|e| e.to_string())?;
        let mut back = vec![0u8; data.len()];
        mem.read_slice(&mut back, GuestAddress(gpa)).map_err(|e| format!("{:?}", e))?;
        if back != data {
            return Err("data differs".into());
        }
        Ok(())
    })());

    t.check("objects_round_trip_both_ways_in_high_ram", (|| {
        let gpa = 4096 * MIB + 64;
        mem.write_obj(0x1122_3344_5566_7788u64, GuestAddress(gpa)).map_err(|e| format!("{:?}", e))?;
        let mut v = 0u64;
        io(&dev, VMMEM_READ, gpa, &mut v as *mut u64 as *mut u8, 8).map_err(|e| e.to_string())?;
        if v != 0x1122_3344_5566_7788 {
            return Err(format!("ioctl read {:#x}", v));
        }
        let mut w = 0xdead_beef_u64;
        io(&dev, VMMEM_WRITE, gpa + 8, &mut w as *mut u64 as *mut u8, 8).map_err(|e| e.to_string())?;
        let r: u64 = mem.read_obj(GuestAddress(gpa + 8)).map_err(|e| format!("{:?}", e))?;
        if r != 0xdead_beef {
            return Err(format!("read_obj {:#x}", r));
        }
        Ok(())
    })());

    t.check("vm_memory_sees_the_same_layout", (|| {
        let n = mem.num_regions();
        let last = mem.last_addr().0;
        let hole = mem.address_in_range(GuestAddress(3 * MIB));
        let r = mem.find_region(GuestAddress(2 * MIB)).ok_or("no region at 2 MiB")?;
        if n != 3 || last != 4097 * MIB - 1 || hole || r.start_addr().0 != 2 * MIB {
            return Err(format!("regions {} last {:#x} hole {}", n, last, hole));
        }
        Ok(())
    })());

    // The file's size is the end of the mmap offset space: past it, no.
    t.check("file_offset_past_the_mmap_offset_space_is_refused", (|| {
        let end = regions.iter().map(|r| r.mmap_offset + r.size).max().unwrap();
        let f = dev.try_clone().map_err(|e| e.to_string())?;
        let bad = [(GuestAddress(0x1000_0000), MIB as usize, Some(FileOffset::new(f, end)))];
        match GuestMemoryMmap::<()>::from_ranges_with_files(&bad) {
            Ok(_) => Err("mapping past the end was accepted".into()),
            Err(_) => Ok(()),
        }
    })());

    println!("# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:0 error:0", t.pass, t.fail);
    std::process::exit(if t.fail == 0 { 0 } else { 1 });
}
