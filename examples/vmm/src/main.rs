// SPDX-License-Identifier: GPL-2.0

//! A small VMM on the rust-vmm crates (`kvm-ioctls`, `vm-memory`) whose guest's only memory is a
//! guest_memfd, converted in place between shared and private as Linux 7.4 does it: the way a Rust
//! VMM such as Firecracker or Cloud Hypervisor uses rust_gmem.
//!
//! 1. It checks the capabilities a VMM written for Linux 7.4 checks: `KVM_CAP_VM_TYPES` has
//!    `KVM_X86_SW_PROTECTED_VM`, `KVM_CAP_GUEST_MEMFD_FLAGS` has `GUEST_MEMFD_FLAG_MMAP` and
//!    `GUEST_MEMFD_FLAG_INIT_SHARED`, `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES` has
//!    `KVM_MEMORY_ATTRIBUTE_PRIVATE`.
//! 2. It creates a `KVM_X86_SW_PROTECTED_VM`, one 64 KiB guest_memfd (`MMAP | INIT_SHARED`) as all of
//!    the guest's memory, maps it with `vm-memory` (`MAP_SHARED`) and binds it with
//!    `KVM_SET_USER_MEMORY_REGION2` (`KVM_MEM_GUEST_MEMFD`, the mapping as `userspace_addr`).
//! 3. It loads a real-mode guest into that memory. The guest reads a message the VMM left in a
//!    shared page, asks for the page to become private (`KVM_HC_MAP_GPA_RANGE`, as a CoCo guest
//!    does), writes its answer there, and asks for it to become shared again; it reports each step
//!    on an I/O port.
//! 4. The VMM serves the hypercalls with `KVM_SET_MEMORY_ATTRIBUTES2` on the guest_memfd, then
//!    checks that the page was private meanwhile (a host read of it raises `SIGBUS`) and that the
//!    guest's answer is in the very same page once it is shared again: nothing was copied.
//!
//! `kvm-bindings` 0.14 has none of the 6.18/7.4 guest_memfd items, so they are defined here.

use kvm_bindings::{
    kvm_create_guest_memfd, kvm_enable_cap, kvm_userspace_memory_region2, KVM_MEM_GUEST_MEMFD,
};
use kvm_ioctls::{Kvm, VcpuExit, VmFd};
use std::fs::File;
use std::os::fd::FromRawFd;
use std::process::exit;
use vm_memory::{Bytes, FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

/// Linux 6.18's and 7.4's guest_memfd uAPI (`include/uapi/linux/kvm.h`).
const KVM_CAP_VM_TYPES: u64 = 235;
const KVM_CAP_EXIT_HYPERCALL: u32 = 201;
const KVM_CAP_GUEST_MEMFD_FLAGS: u64 = 244;
const KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES: u64 = 250;
const KVM_X86_SW_PROTECTED_VM: u64 = 1;
const GUEST_MEMFD_FLAG_MMAP: u64 = 1 << 0;
const GUEST_MEMFD_FLAG_INIT_SHARED: u64 = 1 << 1;
const KVM_MEMORY_ATTRIBUTE_PRIVATE: u64 = 1 << 3;
const KVM_HC_MAP_GPA_RANGE: u64 = 12;
/// `KVM_MAP_GPA_RANGE_ENCRYPTED` (`include/uapi/linux/kvm_para.h`): the guest asks for private.
const KVM_MAP_GPA_RANGE_ENCRYPTED: u64 = 1 << 4;

/// `struct kvm_memory_attributes2`, the argument of `KVM_SET_MEMORY_ATTRIBUTES2` (Linux 7.4).
#[repr(C)]
#[derive(Default)]
struct KvmMemoryAttributes2 {
    offset: u64,
    size: u64,
    attributes: u64,
    flags: u64,
    error_offset: u64,
    reserved: [u64; 11],
}

/// `KVM_SET_MEMORY_ATTRIBUTES2` = `_IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2)`.
const KVM_SET_MEMORY_ATTRIBUTES2: libc::c_ulong = (3 << 30) | (128 << 16) | (0xae << 8) | 0xd2;

const MEM_SIZE: usize = 64 << 10;
const CODE_GPA: u64 = 0x1000;
const DATA_GPA: u64 = 0x2000;
const PAGE: u64 = 4096;
const PORT_READ: u16 = 0x10;
const PORT_WROTE: u16 = 0x11;
const PORT_DONE: u16 = 0x12;
const HOST_MESSAGE: &[u8] = b"hello from the host";
const GUEST_ANSWER: u8 = 0x77;

fn fail(what: &str) -> ! {
    eprintln!("vmm: FAILED: {what}");
    exit(1);
}

/// The guest, 16-bit real mode, loaded at `CODE_GPA`. `hypercall` is `vmcall` or `vmmcall`.
fn guest_code(hypercall: [u8; 3]) -> Vec<u8> {
    let mut code = vec![
        0x31, 0xc0, // xor ax, ax
        0x8e, 0xd8, // mov ds, ax
        0xa0, 0x00, 0x20, // mov al, [0x2000]: first byte of the host's message
        0xe6, PORT_READ as u8, // out PORT_READ, al
        // KVM_HC_MAP_GPA_RANGE(DATA_GPA, 1 page, private)
        0x66, 0xb8, 12, 0, 0, 0, // mov eax, KVM_HC_MAP_GPA_RANGE
        0x66, 0xbb, 0x00, 0x20, 0, 0, // mov ebx, DATA_GPA
        0x66, 0xb9, 1, 0, 0, 0, // mov ecx, 1
        0x66, 0xba, 0x10, 0, 0, 0, // mov edx, KVM_MAP_GPA_RANGE_ENCRYPTED
    ];
    code.extend_from_slice(&hypercall);
    code.extend_from_slice(&[
        0xc6, 0x06, 0x00, 0x20, GUEST_ANSWER, // mov byte [0x2000], GUEST_ANSWER (private now)
        0xa0, 0x00, 0x20, // mov al, [0x2000]
        0xe6, PORT_WROTE as u8, // out PORT_WROTE, al
        // KVM_HC_MAP_GPA_RANGE(DATA_GPA, 1 page, shared)
        0x66, 0xb8, 12, 0, 0, 0, // mov eax, KVM_HC_MAP_GPA_RANGE
        0x66, 0xbb, 0x00, 0x20, 0, 0, // mov ebx, DATA_GPA
        0x66, 0xb9, 1, 0, 0, 0, // mov ecx, 1
        0x66, 0xba, 0, 0, 0, 0, // mov edx, 0 (decrypted)
    ]);
    code.extend_from_slice(&hypercall);
    code.extend_from_slice(&[
        0xe6, PORT_DONE as u8, // out PORT_DONE, al
        0xf4, // hlt
    ]);
    code
}

/// `vmmcall` on AMD, `vmcall` elsewhere (KVM would patch the wrong one, but need not).
fn hypercall_instruction() -> [u8; 3] {
    let id = core::arch::x86_64::__cpuid(0);
    let mut vendor = Vec::new();
    for r in [id.ebx, id.edx, id.ecx] {
        vendor.extend_from_slice(&r.to_le_bytes());
    }
    if vendor == b"AuthenticAMD" || vendor == b"HygonGenuine" {
        [0x0f, 0x01, 0xd9]
    } else {
        [0x0f, 0x01, 0xc1]
    }
}

/// Converts bytes `offset..offset + size` of the guest_memfd with `KVM_SET_MEMORY_ATTRIBUTES2`,
/// retrying while a page is busy for a moment (`EAGAIN`).
fn convert(gmem: &File, offset: u64, size: u64, private: bool) -> Result<(), std::io::Error> {
    use std::os::fd::AsRawFd;
    loop {
        let mut args = KvmMemoryAttributes2 {
            offset,
            size,
            attributes: if private { KVM_MEMORY_ATTRIBUTE_PRIVATE } else { 0 },
            ..Default::default()
        };
        // SAFETY: The request takes a pointer to a `struct kvm_memory_attributes2`, which `args`
        // is, valid for the call.
        let r = unsafe { libc::ioctl(gmem.as_raw_fd(), KVM_SET_MEMORY_ATTRIBUTES2, &mut args) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
        eprintln!("vmm: page at {:#x} busy, retrying", args.error_offset);
    }
}

/// Whether reading the byte at `p` raises `SIGBUS`, found out in a child process.
fn host_read_sigbuses(p: *const u8) -> bool {
    // SAFETY: The child only reads one byte and exits; the parent waits for it.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let _ = core::ptr::read_volatile(p);
            libc::_exit(0);
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS
    }
}

fn check_caps(kvm: &Kvm) {
    let types = kvm.check_extension_raw(KVM_CAP_VM_TYPES) as u64;
    if types & (1 << KVM_X86_SW_PROTECTED_VM) == 0 {
        fail("KVM_X86_SW_PROTECTED_VM is not supported (KVM_CAP_VM_TYPES)");
    }
    let flags = kvm.check_extension_raw(KVM_CAP_GUEST_MEMFD_FLAGS) as u64;
    let want = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
    if flags & want != want {
        fail(&format!("KVM_CAP_GUEST_MEMFD_FLAGS is {flags:#x}: no MMAP | INIT_SHARED"));
    }
    let attrs = kvm.check_extension_raw(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) as u64;
    if attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE == 0 {
        fail("no in-place conversion (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)");
    }
    println!(
        "vmm: KVM_CAP_GUEST_MEMFD_FLAGS {flags:#x}, KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES {attrs:#x}"
    );
}

fn create_vm(kvm: &Kvm) -> (VmFd, File, GuestMemoryMmap) {
    let vm = kvm
        .create_vm_with_type(KVM_X86_SW_PROTECTED_VM)
        .unwrap_or_else(|e| fail(&format!("KVM_CREATE_VM: {e}")));
    let args = kvm_create_guest_memfd {
        size: MEM_SIZE as u64,
        flags: GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
        ..Default::default()
    };
    let fd = vm
        .create_guest_memfd(args)
        .unwrap_or_else(|e| fail(&format!("KVM_CREATE_GUEST_MEMFD: {e}")));
    // SAFETY: `create_guest_memfd` returned a new descriptor, owned by nobody else.
    let gmem = unsafe { File::from_raw_fd(fd) };
    let file = gmem
        .try_clone()
        .unwrap_or_else(|e| fail(&format!("dup: {e}")));
    let mem = GuestMemoryMmap::<()>::from_ranges_with_files([(
        GuestAddress(0),
        MEM_SIZE,
        Some(FileOffset::new(file, 0)),
    )])
    .unwrap_or_else(|e| fail(&format!("mapping the guest_memfd: {e}")));
    let host = mem
        .get_host_address(GuestAddress(0))
        .unwrap_or_else(|e| fail(&format!("host address: {e}")));
    let region = kvm_userspace_memory_region2 {
        slot: 0,
        flags: KVM_MEM_GUEST_MEMFD,
        guest_phys_addr: 0,
        memory_size: MEM_SIZE as u64,
        userspace_addr: host as u64,
        guest_memfd_offset: 0,
        guest_memfd: fd as u32,
        ..Default::default()
    };
    // SAFETY: The region is the mapping made above, which outlives the VM (both live in `main`).
    unsafe { vm.set_user_memory_region2(region) }
        .unwrap_or_else(|e| fail(&format!("KVM_SET_USER_MEMORY_REGION2: {e}")));
    let cap = kvm_enable_cap {
        cap: KVM_CAP_EXIT_HYPERCALL,
        args: [1 << KVM_HC_MAP_GPA_RANGE, 0, 0, 0],
        ..Default::default()
    };
    vm.enable_cap(&cap)
        .unwrap_or_else(|e| fail(&format!("KVM_CAP_EXIT_HYPERCALL: {e}")));
    println!(
        "vmm: KVM_X86_SW_PROTECTED_VM, all memory one guest_memfd of {} KiB (MMAP | INIT_SHARED), mapped by vm-memory",
        MEM_SIZE >> 10
    );
    (vm, gmem, mem)
}

fn main() {
    let kvm = Kvm::new().unwrap_or_else(|e| fail(&format!("/dev/kvm: {e}")));
    check_caps(&kvm);
    let (vm, gmem, mem) = create_vm(&kvm);
    let data = mem
        .get_host_address(GuestAddress(DATA_GPA))
        .unwrap_or_else(|e| fail(&format!("host address: {e}")));

    mem.write_slice(&guest_code(hypercall_instruction()), GuestAddress(CODE_GPA))
        .unwrap_or_else(|e| fail(&format!("loading the guest: {e}")));
    mem.write_slice(HOST_MESSAGE, GuestAddress(DATA_GPA))
        .unwrap_or_else(|e| fail(&format!("writing the message: {e}")));

    let mut vcpu = vm
        .create_vcpu(0)
        .unwrap_or_else(|e| fail(&format!("KVM_CREATE_VCPU: {e}")));
    let mut sregs = vcpu.get_sregs().unwrap_or_else(|e| fail(&format!("sregs: {e}")));
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    vcpu.set_sregs(&sregs)
        .unwrap_or_else(|e| fail(&format!("sregs: {e}")));
    let mut regs = vcpu.get_regs().unwrap_or_else(|e| fail(&format!("regs: {e}")));
    regs.rip = CODE_GPA;
    regs.rflags = 2;
    vcpu.set_regs(&regs)
        .unwrap_or_else(|e| fail(&format!("regs: {e}")));

    let mut conversions = 0;
    loop {
        let exit = vcpu
            .run()
            .unwrap_or_else(|e| fail(&format!("KVM_RUN: {e}")));
        match exit {
            VcpuExit::IoOut(PORT_READ, value) => {
                if value[0] != HOST_MESSAGE[0] {
                    fail(&format!("the guest read {:#x}", value[0]));
                }
                println!(
                    "vmm: the guest read {:?} from the shared page the host wrote",
                    value[0] as char
                );
            }
            VcpuExit::Hypercall(call) => {
                if call.nr != KVM_HC_MAP_GPA_RANGE {
                    fail(&format!("hypercall {}", call.nr));
                }
                let (gpa, pages) = (call.args[0], call.args[1]);
                let private = call.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED != 0;
                match convert(&gmem, gpa, pages * PAGE, private) {
                    Ok(()) => *call.ret = 0,
                    Err(e) => fail(&format!("KVM_SET_MEMORY_ATTRIBUTES2: {e}")),
                }
                conversions += 1;
                println!(
                    "vmm: the guest asked for {gpa:#x}+{pages} page(s) {}: KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd",
                    if private { "private" } else { "shared" }
                );
                if private && !host_read_sigbuses(data) {
                    fail("the host could still read the page the guest made private");
                }
            }
            VcpuExit::IoOut(PORT_WROTE, value) => {
                if value[0] != GUEST_ANSWER {
                    fail(&format!("the guest reads back {:#x}", value[0]));
                }
                println!(
                    "vmm: the guest wrote {GUEST_ANSWER:#x} into the page while private; a host read of it raises SIGBUS"
                );
            }
            VcpuExit::IoOut(PORT_DONE, _) => {
                let byte: u8 = mem
                    .read_obj(GuestAddress(DATA_GPA))
                    .unwrap_or_else(|e| fail(&format!("reading the answer: {e}")));
                let rest = mem
                    .read_obj::<[u8; 18]>(GuestAddress(DATA_GPA + 1))
                    .unwrap_or_else(|e| fail(&format!("reading the answer: {e}")));
                if byte != GUEST_ANSWER || rest[..] != HOST_MESSAGE[1..] {
                    fail(&format!("the shared page holds {byte:#x} {rest:?}"));
                }
                println!(
                    "vmm: shared again, the host reads the guest's {byte:#x} and the rest of its message in the same page: converted in place"
                );
            }
            VcpuExit::Hlt => break,
            e => fail(&format!("unexpected exit {e:?}")),
        }
    }
    if conversions != 2 {
        fail(&format!("{conversions} conversions, 2 expected"));
    }
    println!("vmm: the guest ran from guest_memfd memory and halted: ok");
}
