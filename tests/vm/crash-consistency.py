#!/usr/bin/python3
# Crash consistency of NV writes (see crash-consistency.vm): start
# "vtpmctl create --state-dir", let a client increment an NV counter, write
# a sequence number to an ordinary NV index and extend a PCR as fast as it
# can, SIGKILL the server at a random moment, restart it on the same state
# directory and check that every NV write the client saw acknowledged is
# there.  Prints "PASS:"/"FAIL:" lines and a summary; exit status 0 or 1.
#
# TPM 2.0 command encodings: TPM 2.0 Library Part 3 (commands) and Part 2
# (structures); handles and constants are named where defined.
import json, os, random, signal, struct, subprocess, sys, threading, time

TPM_ST_NO_SESSIONS = 0x8001     # Part 2, 6.9 TPM_ST
TPM_ST_SESSIONS = 0x8002
TPM_CC_NV_DEFINE_SPACE = 0x12A  # Part 2, 6.5 TPM_CC
TPM_CC_NV_INCREMENT = 0x134
TPM_CC_NV_WRITE = 0x137
TPM_CC_NV_READ = 0x14E
TPM_CC_PCR_EXTEND = 0x182
TPM_RH_OWNER = 0x40000001       # Part 2, 7.4 TPM_RH
TPM_RS_PW = 0x40000009
TPM_ALG_SHA256 = 0x000B
TPM_RC_SUCCESS = 0
TPM_RC_NV_DEFINED = 0x14C       # Part 2, 6.6.3: index already defined
TPM_RC_NV_UNINITIALIZED = 0x14A
# TPMA_NV bits, Part 2, 13.4
TPMA_NV_AUTHWRITE = 1 << 2
TPM_NT_COUNTER = 1 << 4
TPMA_NV_AUTHREAD = 1 << 18
TPMA_NV_NO_DA = 1 << 25

COUNTER_INDEX = 0x01500010
SEQ_INDEX = 0x01500011
PCR = 16


def pw_session():
    # TPMS_AUTH_COMMAND: TPM_RS_PW, empty nonce, continueSession, empty auth
    s = struct.pack('>IHBH', TPM_RS_PW, 0, 1, 0)
    return struct.pack('>I', len(s)) + s


def command(cc, handles, params, sessions=True):
    body = b''.join(struct.pack('>I', h) for h in handles)
    if sessions:
        body += pw_session()
    body += params
    tag = TPM_ST_SESSIONS if sessions else TPM_ST_NO_SESSIONS
    return struct.pack('>HII', tag, 10 + len(body), cc) + body


class Gone(Exception):
    pass


def transact(fd, cmd):
    try:
        os.write(fd, cmd)
        resp = os.read(fd, 4096)
    except OSError as e:
        raise Gone(str(e))
    if len(resp) < 10:
        raise Gone('short response')
    tag, size, rc = struct.unpack('>HII', resp[:10])
    return rc, resp


def nv_define(fd, index, attrs, size):
    pub = struct.pack('>IHIHH', index, TPM_ALG_SHA256, attrs, 0, size)
    params = struct.pack('>H', 0) + struct.pack('>H', len(pub)) + pub
    rc, _ = transact(fd, command(TPM_CC_NV_DEFINE_SPACE, [TPM_RH_OWNER], params))
    if rc not in (TPM_RC_SUCCESS, TPM_RC_NV_DEFINED):
        raise RuntimeError('NV_DefineSpace 0x%x: rc 0x%x' % (index, rc))


def nv_read_u64(fd, index):
    rc, resp = transact(fd, command(TPM_CC_NV_READ, [index, index], struct.pack('>HH', 8, 0)))
    if rc == TPM_RC_NV_UNINITIALIZED:
        return 0
    if rc != TPM_RC_SUCCESS:
        raise RuntimeError('NV_Read 0x%x: rc 0x%x' % (index, rc))
    # parameterSize, then TPM2B_MAX_NV_BUFFER
    size = struct.unpack('>H', resp[14:16])[0]
    if size != 8:
        raise RuntimeError('NV_Read 0x%x: %d bytes' % (index, size))
    return struct.unpack('>Q', resp[16:24])[0]


def nv_increment(fd):
    return transact(fd, command(TPM_CC_NV_INCREMENT, [COUNTER_INDEX, COUNTER_INDEX], b''))[0]


def nv_write_u64(fd, value):
    params = struct.pack('>H', 8) + struct.pack('>Q', value) + struct.pack('>H', 0)
    return transact(fd, command(TPM_CC_NV_WRITE, [SEQ_INDEX, SEQ_INDEX], params))[0]


def pcr_extend(fd, n):
    digest = struct.pack('>Q', n) * 4
    params = struct.pack('>IH', 1, TPM_ALG_SHA256) + digest
    return transact(fd, command(TPM_CC_PCR_EXTEND, [PCR], params))[0]


def start_server(vtpmctl, state_dir, log):
    p = subprocess.Popen([vtpmctl, 'create', '--tpm2', '--json', '--state-dir', state_dir],
                         stdout=subprocess.PIPE, stderr=log)
    text = ''
    while True:
        line = p.stdout.readline().decode()
        if not line:
            raise RuntimeError('vtpmctl create exited: %s' % p.wait())
        text += line
        try:
            desc = json.loads(text)
            break
        except ValueError:
            continue
    return p, desc['tpm']['path']


def main():
    vtpmctl, state_dir, rounds, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    log = open(os.path.join(os.environ.get('VM_OUT', '/tmp'), 'crash-server.err'), 'ab')
    acked_counter = acked_seq = 0
    total_inc = total_write = total_extend = lost_unacked = 0
    max_restart = 0.0
    t0 = time.monotonic()

    for rnd in range(rounds + 1):
        t = time.monotonic()
        server, path = start_server(vtpmctl, state_dir, log)
        max_restart = max(max_restart, time.monotonic() - t)
        fd = os.open(path, os.O_RDWR)
        try:
            if rnd == 0:
                nv_define(fd, COUNTER_INDEX, TPM_NT_COUNTER | TPMA_NV_AUTHWRITE |
                          TPMA_NV_AUTHREAD | TPMA_NV_NO_DA, 8)
                nv_define(fd, SEQ_INDEX, TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD |
                          TPMA_NV_NO_DA, 8)
            counter = nv_read_u64(fd, COUNTER_INDEX)
            seq = nv_read_u64(fd, SEQ_INDEX)
            tmp = [f for f in os.listdir(state_dir) if '.tmp' in f]
        except Gone as e:
            print('FAIL: round %d: server gone while checking: %s' % (rnd, e))
            return 1
        if counter < acked_counter or seq < acked_seq:
            print('FAIL: round %d: counter %d (acknowledged %d), sequence %d (acknowledged %d)'
                  % (rnd, counter, acked_counter, seq, acked_seq))
            return 1
        if tmp:
            print('FAIL: round %d: temporary files in the state directory: %s' % (rnd, tmp))
            return 1
        # Executed but unacknowledged writes survive too: that is allowed.
        lost_unacked += (counter - acked_counter) + (1 if seq > acked_seq else 0)
        acked_counter, acked_seq = counter, seq
        if rnd == rounds:
            os.close(fd)
            server.send_signal(signal.SIGTERM)
            server.wait()
            break

        killer = threading.Timer(rng.uniform(0.0, 0.25), server.send_signal, [signal.SIGKILL])
        killer.start()
        n = 0
        try:
            while True:
                n += 1
                if nv_increment(fd) == TPM_RC_SUCCESS:
                    acked_counter += 1
                    total_inc += 1
                if nv_write_u64(fd, acked_seq + 1) == TPM_RC_SUCCESS:
                    acked_seq += 1
                    total_write += 1
                if pcr_extend(fd, n) == TPM_RC_SUCCESS:
                    total_extend += 1
        except Gone:
            pass
        killer.join()
        os.close(fd)
        if server.wait() != -signal.SIGKILL:
            print('FAIL: round %d: server ended with %s, not SIGKILL' % (rnd, server.returncode))
            return 1

    tmp = [f for f in os.listdir(state_dir) if '.tmp' in f]
    if tmp:
        print('FAIL: temporary files after the clean stop: %s' % tmp)
        return 1
    print('PASS: %d SIGKILLs during NV writes (seed %d), state loaded after each restart'
          % (rounds, seed))
    print('PASS: acknowledged: %d NV_Increment, %d NV_Write, %d PCR_Extend; final counter %d, '
          'sequence %d; all present after every restart' % (total_inc, total_write,
                                                           total_extend, acked_counter, acked_seq))
    print('info: writes executed but not acknowledged before the kill (kept): %d' % lost_unacked)
    print('info: %.1f s total, slowest start %.2f s' % (time.monotonic() - t0, max_restart))
    return 0


if __name__ == '__main__':
    sys.exit(main())
