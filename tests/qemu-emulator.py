#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""QEMU guests whose TPM is libvtpm, as QEMU's tpm-emulator backend sees it.

Runs on the host, no /dev/vtpmx needed: 'vtpmctl create --socket' serves
the TPM on a control socket, QEMU (TCG, never KVM) connects with
-chardev socket -tpmdev emulator -device tpm-tis, and a small guest (the VM
cache's Debian kernel, an initramfs with busybox and tpm2-tools from this
host) uses it.

1. Side by side with 'swtpm socket', both from copies of one manufactured
   state: the guest sees /dev/tpm0 and /dev/tpmrm0, SeaBIOS measured into
   PCR 0..7, tpm2-tools read PCRs and random bytes and create a primary key;
   PCRs and the key's name must be the same for both servers.  The guest
   also measures TPM2_GetRandom per second and its uptime at the first TPM
   answer (printed as FIGURE lines).
2. Live migration between two QEMU processes, each with its own libvtpm
   instance: a PCR extended and an NV index written before migrating read
   back the same in the guest afterwards.
3. A TPM 1.2 served the same way.
4. 'vtpmctl create --name X --socket PATH' through 'vtpmctl daemon': the
   instance serves a guest, ends on QEMU's CMD_SHUTDOWN, is restarted with
   its state and serves the next QEMU.

Exit status: 0 pass, 77 skip (a tool is missing; never under CI=true),
99 broken environment, 1 failure.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("abs_top_srcdir", os.path.dirname(HERE))
BUILDDIR = os.environ.get("abs_top_builddir", os.getcwd())
VTPMCTL = os.environ.get("VTPMCTL", os.path.join(BUILDDIR, "cli", "vtpmctl"))
BENCH = os.path.join(BUILDDIR, "tests", "qemu", "getrandom-bench")
QEMU = os.environ.get("VM_QEMU", "qemu-system-x86_64")
# Generous: TCG on a loaded two-core host boots in ~10 s; see the README.
BOOT_TIMEOUT = int(os.environ.get("QEMU_TEST_TIMEOUT", "150"))

failures = []


def log(msg):
    print(msg, flush=True)


def check(ok, what):
    log(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)
    return ok


def skip_or_error(why):
    """A missing tool: skip, but never silently under CI."""
    if os.environ.get("CI") == "true":
        log("ERROR: " + why + " (CI=true: a required check must not skip)")
        sys.exit(99)
    log("SKIP: " + why)
    sys.exit(77)


# ------------------------------------------------------------------ guest

GUEST_INIT = r"""#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
export PATH=/bin:/usr/bin TPM2TOOLS_TCTI=device:/dev/tpmrm0 HOME=/tmp
cd /tmp
job=$(sed -n 's/.*vtpmjob=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
/bin/sh /job-$job.sh 2>&1
echo "JOBEXIT $?"
poweroff -f
"""

GUEST_COMMON = r"""
say() { echo "$*"; }
for i in $(seq 100); do [ -c /dev/tpmrm0 ] && break; sleep 0.1; done
for n in /dev/tpm0 /dev/tpmrm0; do
	[ -c "$n" ] && say "RESULT node $n" || say "RESULT missing $n"
done
tpm2 getrandom --hex 8 >/dev/null && say "FIGURE first_answer_uptime_s $(cut -d' ' -f1 /proc/uptime)"
"""

GUEST_SIDE = GUEST_COMMON + r"""
pcrs=$(tpm2 pcrread sha256:0,1,2,3,4,5,6,7)
echo "$pcrs" | sed -n 's/^ *\([0-7]\) *: 0x\(.*\)/RESULT pcr\1 \2/p'
rnd=$(tpm2 getrandom --hex 32) && say "RESULT random_len ${#rnd}"
tpm2 createprimary -Q -C o -G ecc256 -c prim.ctx && tpm2 readpublic -Q -c prim.ctx -n prim.name &&
	say "RESULT primary_name $(od -An -tx1 prim.name | tr -d ' \n')"
/getrandom-bench /dev/tpmrm0 3 | sed 's/^getrandom_ops_s=/FIGURE getrandom_ops_s /'
"""

GUEST_MIGRATE = GUEST_COMMON + r"""
digest=7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069
tpm2 pcrextend 16:sha256=$digest
tpm2 nvdefine -Q 0x1500016 -C o -s 16 -a "ownerread|ownerwrite|authread|authwrite"
printf 'libvtpm-migrate!' > nv.in
tpm2 nvwrite -Q 0x1500016 -C o -i nv.in
pcr=$(tpm2 pcrread sha256:16 | sed -n 's/^ *16 *: 0x//p')
nv=$(tpm2 nvread -C o -s 16 0x1500016 | od -An -tx1 | tr -d ' \n')
say "BEFORE pcr16=$pcr nv=$nv"
# Wait for the host to say that the guest runs on the other side now.
read -r line
pcr=$(tpm2 pcrread sha256:16 | sed -n 's/^ *16 *: 0x//p')
nv=$(tpm2 nvread -C o -s 16 0x1500016 | od -An -tx1 | tr -d ' \n')
say "AFTER pcr16=$pcr nv=$nv"
"""


GUEST_NVREAD = GUEST_COMMON + r"""
say "RESULT nv nv=$(tpm2 nvread -C o -s 16 0x1500016 | od -An -tx1 | tr -d ' \n')"
"""

GUEST_TPM12 = r"""
say() { echo "$*"; }
for i in $(seq 100); do [ -c /dev/tpm0 ] && break; sleep 0.1; done
[ -c /dev/tpm0 ] && say "RESULT node /dev/tpm0" || say "RESULT missing /dev/tpm0"
say "RESULT major $(cat /sys/class/tpm/tpm0/tpm_version_major)"
# The TPM 1.2 driver lists the PCRs in sysfs; SeaBIOS measured into PCR 0.
say "RESULT $(sed -n 's/^PCR-00: */pcr0 /p' /sys/class/tpm/tpm0/pcrs | tr -d ' ' | sed 's/pcr0/pcr0 /')"
"""


def ldd_deps(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    deps = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
            if target.startswith("/"):
                deps.append(target)
        elif parts and parts[0].startswith("/"):
            deps.append(parts[0])  # the dynamic loader
    return deps


def build_initramfs(tmp):
    """busybox, tpm2-tools with its libraries, the benchmark, the jobs."""
    root = os.path.join(tmp, "initramfs")
    for d in ("bin", "dev", "proc", "sys", "tmp", "usr/bin"):
        os.makedirs(os.path.join(root, d), exist_ok=True)

    def put(src, dst=None, mode=None):
        dst = os.path.join(root, (dst or src).lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, mode or 0o755)

    busybox = shutil.which("busybox")
    put(busybox, "/bin/busybox")
    tpm2 = shutil.which("tpm2")
    put(tpm2, "/usr/bin/tpm2")
    put(BENCH, "/getrandom-bench")
    libdir = os.path.dirname(ldd_deps(tpm2)[0])
    # The TCTI is loaded at run time (tss2-tctildr), ldd does not see it.
    tcti = os.path.join("/usr/lib/x86_64-linux-gnu", "libtss2-tcti-device.so.0")
    if not os.path.exists(tcti):
        tcti = os.path.join(libdir, "libtss2-tcti-device.so.0")
    libs = set(ldd_deps(tpm2) + ldd_deps(BENCH) + ldd_deps(tcti) + [tcti])
    for lib in libs:
        put(os.path.realpath(lib), lib, 0o755)
    for name, text in (("init", GUEST_INIT), ("job-side.sh", GUEST_SIDE),
                       ("job-migrate.sh", GUEST_MIGRATE), ("job-tpm12.sh", GUEST_TPM12),
                       ("job-nvread.sh", GUEST_NVREAD)):
        with open(os.path.join(root, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(root, name), 0o755)
    os.symlink("busybox", os.path.join(root, "bin", "sh"))
    out = os.path.join(tmp, "guest.cpio")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                       stdout=f, check=True)
    return out


# ------------------------------------------------------------------ QEMU

class Qemu:
    """One QEMU process with its serial console and QMP on Unix sockets."""

    def __init__(self, tmp, name, kernel, initrd, tpm_sock, job, incoming=None):
        self.name = name
        self.serial_path = os.path.join(tmp, name + ".serial")
        self.qmp_path = os.path.join(tmp, name + ".qmp")
        self.logf = open(os.path.join(tmp, name + ".qemu.log"), "w")
        args = [QEMU, "-accel", "tcg", "-M", "pc", "-cpu", "max", "-m", "256M", "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", kernel, "-initrd", initrd,
                # tpm_tis.force: probe the TIS at its fixed address; the
                # ACPI tables do not survive QEMU 7.2's PVH boot intact.
                "-append", "console=ttyS0 panic=-1 quiet loglevel=1 tpm_tis.force=1 "
                "vtpmjob=" + job,
                "-chardev", "socket,id=ser,path=%s,server=on,wait=on" % self.serial_path,
                "-serial", "chardev:ser",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-chardev", "socket,id=chrtpm,path=" + tpm_sock,
                "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                "-device", "tpm-tis,tpmdev=tpm0"]
        if incoming:
            args += ["-incoming", incoming]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        # wait=on: QEMU waits for the console's reader before it runs.
        self.serial = connect_unix(self.serial_path, self.proc)
        self.buf = b""
        self.lines = []

    def read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s: no console line in time" % self.name)
            self.serial.settimeout(left)
            try:
                data = self.serial.recv(4096)
            except socket.timeout:
                continue
            if not data:
                raise EOFError("%s: console closed" % self.name)
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode(errors="replace").rstrip("\r")
        self.lines.append(text)
        return text

    def wait_for(self, prefix, deadline):
        while True:
            line = self.read_line(deadline)
            if line.startswith(prefix):
                return line

    def qmp(self, cmd, **args):
        if not hasattr(self, "qmp_sock"):
            self.qmp_sock = connect_unix(self.qmp_path, self.proc)
            self.qmp_file = self.qmp_sock.makefile("rw")
            json.loads(self.qmp_file.readline())  # greeting
            self.qmp("qmp_capabilities")
        self.qmp_file.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        self.qmp_file.flush()
        while True:
            reply = json.loads(self.qmp_file.readline())
            if "return" in reply or "error" in reply:
                return reply

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def quit(self, timeout=30):
        """End QEMU as a management tool does; it sends CMD_SHUTDOWN then.
        (Without usable ACPI the guest halts rather than powering off.)"""
        try:
            self.qmp("quit")
        except (OSError, ValueError):
            pass
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def connect_unix(path, proc=None, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc is not None and proc.poll() is not None:
                raise RuntimeError("%s exited with %s" % (path, proc.returncode))
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ------------------------------------------------------------------ servers

class Server:
    """A TPM on a control socket: libvtpm's or swtpm's."""

    def __init__(self, tmp, name, kind, state_dir, family="--tpm2"):
        self.sock = os.path.join(tmp, name + ".sock")
        self.kind = kind
        self.logf = open(os.path.join(tmp, name + ".log"), "w")
        if kind == "libvtpm":
            args = [VTPMCTL, "create", "-v", family, "--socket", self.sock,
                    "--state-dir", state_dir]
        else:
            args = ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state_dir,
                    "--ctrl", "type=unixio,path=" + self.sock]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("%s server did not come up (see %s.log)" % (kind, name))
            time.sleep(0.05)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def expect_shutdown(self, who):
        """QEMU sends CMD_SHUTDOWN as its TPM backend is finalized, which it
        does not always do on 'quit' (seen after an incoming migration);
        then the server must end on swtpm_ioctl's CMD_SHUTDOWN instead."""
        if self.wait_exit(15) is not None:
            return check(self.proc.returncode == 0, "%s ends on QEMU's CMD_SHUTDOWN" % who)
        log("note: QEMU quit without CMD_SHUTDOWN to %s" % who)
        subprocess.run(["swtpm_ioctl", "--unix", self.sock, "-s"], capture_output=True, timeout=30)
        return check(self.wait_exit(15) == 0, "%s ends on CMD_SHUTDOWN" % who)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(10) is None:
                self.proc.kill()
                self.proc.wait()


def manufacture(tmp, kernel_unused=None):
    """One TPM state both servers start from: INIT, then SHUTDOWN."""
    state = os.path.join(tmp, "state-template")
    os.mkdir(state)
    srv = Server(tmp, "manufacture", "libvtpm", state)
    subprocess.run(["swtpm_ioctl", "--unix", srv.sock, "-i"], check=True, capture_output=True)
    subprocess.run(["swtpm_ioctl", "--unix", srv.sock, "-s"], check=True, capture_output=True)
    if srv.wait_exit(10) is None:
        raise RuntimeError("the server did not end on CMD_SHUTDOWN")
    return state


def run_side(tmp, kernel, initrd, kind, template):
    state = os.path.join(tmp, "state-" + kind)
    shutil.copytree(template, state)
    srv = Server(tmp, kind, "libvtpm" if kind == "libvtpm" else "swtpm", state)
    vm = None
    results, figures = {}, {}
    try:
        vm = Qemu(tmp, "side-" + kind, kernel, initrd, srv.sock, "side")
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            line = vm.read_line(deadline)
            if line.startswith("FIGURE first_answer"):
                figures["first_answer_host_s"] = "%.2f" % (time.monotonic() - vm.started)
            if line.startswith("RESULT ") or line.startswith("FIGURE "):
                tag, key, value = (line.split(" ", 2) + [""])[:3]
                (results if tag == "RESULT" else figures)[key] = value
            if line.startswith("JOBEXIT"):
                break
        check(vm.quit() is not None, "%s: QEMU quits" % kind)
        srv.expect_shutdown("%s: the server" % kind)
    except Exception as e:  # noqa: BLE001 - report and go on with the next part
        check(False, "%s guest: %s" % (kind, e))
        if vm:
            log("\n".join("  console: " + l for l in vm.lines[-30:]))
    finally:
        if vm:
            vm.kill()
        srv.stop()
    return results, figures


def part_side_by_side(tmp, kernel, initrd):
    template = manufacture(tmp)
    got = {}
    for kind in ("libvtpm", "swtpm"):
        res, fig = run_side(tmp, kernel, initrd, kind, template)
        got[kind] = (res, fig)
        check("node" in res and "missing" not in res,
              "%s: the guest sees /dev/tpm0 and /dev/tpmrm0" % kind)
        pcrs = [res.get("pcr%d" % i, "") for i in range(8)]
        check(all(pcrs) and any(p.strip("0") for p in pcrs),
              "%s: tpm2 pcrread reads PCR 0..7 with the firmware's measurements" % kind)
        check(res.get("random_len") == "64", "%s: tpm2 getrandom gives 32 bytes" % kind)
        check(len(res.get("primary_name", "")) > 64, "%s: tpm2 createprimary makes a key" % kind)
        for k, v in sorted(fig.items()):
            log("FIGURE %s %s %s" % (kind, k, v))
    lib, sw = got["libvtpm"][0], got["swtpm"][0]
    for i in range(8):
        key = "pcr%d" % i
        check(lib.get(key) and lib.get(key) == sw.get(key),
              "PCR %d is the same with libvtpm and swtpm" % i)
    check(lib.get("primary_name") and lib.get("primary_name") == sw.get("primary_name"),
          "the primary key from one manufactured state is the same with both servers")


def part_tpm12(tmp, kernel, initrd):
    """A TPM 1.2 served the same way: QEMU probes the family itself."""
    state = os.path.join(tmp, "state-tpm12")
    os.mkdir(state)
    srv = Server(tmp, "tpm12", "libvtpm", state, family="--tpm12")
    vm = None
    res = {}
    try:
        vm = Qemu(tmp, "tpm12", kernel, initrd, srv.sock, "tpm12")
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            line = vm.read_line(deadline)
            if line.startswith("RESULT "):
                tag, key, value = (line.split(" ", 2) + [""])[:3]
                res[key] = value
            if line.startswith("JOBEXIT"):
                break
        check("node" in res and res.get("major") == "1", "TPM 1.2: the guest sees a 1.2 /dev/tpm0")
        check(res.get("pcr0", "").strip("0") != "", "TPM 1.2: SeaBIOS measured into PCR 0")
        check(vm.quit() is not None, "TPM 1.2: QEMU quits")
        srv.expect_shutdown("TPM 1.2: the server")
    except Exception as e:  # noqa: BLE001
        check(False, "TPM 1.2 guest: %s" % e)
        if vm:
            log("\n".join("  console: " + l for l in vm.lines[-30:]))
    finally:
        if vm:
            vm.kill()
        srv.stop()


def part_migration(tmp, kernel, initrd):
    sa = os.path.join(tmp, "mig-a")
    sb = os.path.join(tmp, "mig-b")
    os.mkdir(sa)
    os.mkdir(sb)
    a = Server(tmp, "mig-a", "libvtpm", sa)
    b = Server(tmp, "mig-b", "libvtpm", sb)
    src = dst = None
    mig = os.path.join(tmp, "migration.sock")
    try:
        src = Qemu(tmp, "mig-src", kernel, initrd, a.sock, "migrate")
        before = src.wait_for("BEFORE ", time.monotonic() + BOOT_TIMEOUT)
        log("source guest: " + before)
        dst = Qemu(tmp, "mig-dst", kernel, initrd, b.sock, "migrate", incoming="unix:" + mig)
        # QEMU takes one connection there: wait for the socket, do not probe it.
        deadline = time.monotonic() + 30
        while not os.path.exists(mig) and time.monotonic() < deadline and dst.proc.poll() is None:
            time.sleep(0.05)
        reply = src.qmp("migrate", uri="unix:" + mig)
        check("return" in reply, "QMP migrate accepted: %s" % reply)
        deadline = time.monotonic() + 120
        status = ""
        while time.monotonic() < deadline:
            status = src.qmp("query-migrate")["return"].get("status", "")
            if status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.2)
        check(status == "completed", "live migration completed (%s)" % status)
        st = dst.qmp("query-status")["return"]
        check(st.get("status") == "running", "the guest runs on the destination (%s)" % st)
        dst.serial.sendall(b"go\n")
        after = dst.wait_for("AFTER ", time.monotonic() + 60)
        log("destination guest: " + after)
        pcr_before = before.split()[1]
        check(pcr_before != "pcr16=" and pcr_before.strip("pcr16=0") != "",
              "PCR 16 was extended before migrating")
        check(after.split()[1] == pcr_before, "PCR 16 reads the same after migration")
        check(after.split()[2] == before.split()[2] and before.split()[2] != "nv=",
              "the NV index reads the same after migration")
        src.qmp("quit")
        check(src.wait_exit(30) is not None, "the source QEMU quits")
        a.expect_shutdown("the source instance")
        dst.wait_for("JOBEXIT", time.monotonic() + 60)
        check(dst.quit() is not None, "the destination QEMU quits")
        b.expect_shutdown("the destination instance")
    except Exception as e:  # noqa: BLE001
        check(False, "migration: %s" % e)
        for vm in (src, dst):
            if vm:
                log("\n".join("  %s console: %s" % (vm.name, l) for l in vm.lines[-20:]))
    finally:
        for vm in (src, dst):
            if vm:
                vm.kill()
        a.stop()
        b.stop()


def part_daemon(tmp, kernel, initrd):
    """'vtpmctl create --name X --socket PATH': named, supervised, restarted
    with its state after QEMU ends it."""
    run_dir = os.path.join(tmp, "run")
    state_base = os.path.join(tmp, "daemon-state")
    sock = os.path.join(tmp, "named.sock")
    logf = open(os.path.join(tmp, "daemon.log"), "w")
    d = subprocess.Popen([VTPMCTL, "daemon", "-v", "--run-dir", run_dir, "--state-dir", state_base,
                          "--no-spares"], stdin=subprocess.DEVNULL, stdout=logf,
                         stderr=subprocess.STDOUT)
    vm = None

    def ctl(*args):
        return subprocess.run([VTPMCTL] + list(args), capture_output=True, text=True, timeout=120)

    def boot(name, job):
        vm = Qemu(tmp, name, kernel, initrd, sock, job)
        res = {}
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            line = vm.read_line(deadline)
            if line.startswith("RESULT "):
                tag, key, value = (line.split(" ", 2) + [""])[:3]
                res[key] = value
            if line.startswith("BEFORE ") or line.startswith("JOBEXIT"):
                break
        return vm, res

    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(run_dir, "vtpmd.sock")):
            if d.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the daemon did not come up")
            time.sleep(0.05)
        r = ctl("create", "--run-dir", run_dir, "--name", "vm1", "--socket", sock, "--json")
        check(r.returncode == 0, "create --name vm1 --socket: %s" % (r.stderr.strip() or "ok"))
        if r.returncode != 0:
            return
        desc = json.loads(r.stdout)
        check(desc.get("socket") == sock and desc.get("tpm") is None,
              "the instance serves the socket, no device")
        pid1 = desc.get("pid")
        # First boot: the guest extends PCR 16 and writes an NV index.
        vm, res = boot("named-1", "migrate")
        before = vm.lines[-1]
        check("node" in res, "a named instance serves the guest")
        vm.serial.sendall(b"go\n")
        vm.wait_for("JOBEXIT", time.monotonic() + 60)
        vm.quit()
        vm = None
        # QEMU's CMD_SHUTDOWN ended it; the daemon starts it again, on its state.
        deadline = time.monotonic() + 60
        desc = {}
        while time.monotonic() < deadline:
            r = ctl("status", "--run-dir", run_dir, "vm1", "--json")
            if r.returncode == 0:
                desc = json.loads(r.stdout)
                if desc.get("pid") not in (None, 0, pid1) and desc.get("status") == "running":
                    break
            time.sleep(0.5)
        check(desc.get("pid") not in (None, 0, pid1) and desc.get("status") == "running",
              "the daemon restarted the instance after QEMU ended it (%s)" % desc.get("status"))
        # Second boot, a fresh QEMU: NV survived in the instance's state.
        vm, res = boot("named-2", "nvread")
        check(res.get("nv") == before.split()[2] and before.split()[2] != "nv=",
              "a second QEMU reads the NV index the first wrote (%s)" % res.get("nv"))
        vm.quit()
        vm = None
        r = ctl("destroy", "--run-dir", run_dir, "vm1")
        check(r.returncode == 0 and not os.path.exists(sock),
              "destroy removes the instance and its socket")
        log("first boot: " + before)
    except Exception as e:  # noqa: BLE001
        check(False, "daemon: %s" % e)
    finally:
        if vm:
            vm.kill()
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()


def main():
    for tool in (QEMU, "swtpm", "swtpm_ioctl", "tpm2", "busybox", "cpio", "ldd"):
        if not shutil.which(tool):
            skip_or_error("%s not found" % tool)
    if not os.access(BENCH, os.X_OK):
        log("ERROR: %s is not built" % BENCH)
        return 99
    r = subprocess.run([os.path.join(SRCDIR, "tests", "vm", "fetch-kernel")])
    if r.returncode != 0:
        skip_or_error("no guest kernel (tests/vm/fetch-kernel failed)")
    cache = os.environ.get("VTPM_VM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ["HOME"], ".cache"),
        "libvtpm-vm")
    # The ELF kernel (PVH entry) boots ~20 s faster under TCG than the
    # bzImage, whose decompression is slow; SeaBIOS runs and measures either way.
    kernel = os.path.join(cache, "kernel", "vmlinux")
    if not os.path.exists(kernel):
        kernel = os.path.join(cache, "kernel", "vmlinuz")
    tmp = tempfile.mkdtemp(prefix="qemu-emulator.")
    keep = os.environ.get("VM_KEEP") == "1"
    try:
        initrd = build_initramfs(tmp)
        parts = sys.argv[1:] or ["side", "tpm12", "migrate", "daemon"]
        t0 = time.monotonic()
        if "side" in parts:
            part_side_by_side(tmp, kernel, initrd)
        if "tpm12" in parts:
            part_tpm12(tmp, kernel, initrd)
        if "migrate" in parts:
            part_migration(tmp, kernel, initrd)
        if "daemon" in parts:
            part_daemon(tmp, kernel, initrd)
        log("qemu-emulator: %.1f s" % (time.monotonic() - t0))
        if failures:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    with open(os.path.join(tmp, name), errors="replace") as f:
                        text = f.read()[-3000:]
                    if text.strip():
                        log("----- %s -----\n%s" % (name, text))
    finally:
        if keep:
            log("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
