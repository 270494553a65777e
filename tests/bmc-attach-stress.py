#!/usr/bin/env python3
# Consistency stress for BMC against a real memcached: writers over TCP
# (with replies, and noreply followed by a no-op) and over UDP set keys to
# increasing versions; after each acknowledged write the writer reads the
# key back over UDP (BMC or memcached answers) and must see its own write or
# a later one; readers keep GETs flowing so fills race the writes.
#   bmc-attach-stress.py HOST PORT SECONDS
# Prints "read-backs N stale M"; exits 1 if any read-back was stale.
import random
import socket
import sys
import threading
import time

HOST, PORT, SECS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
KEYS = ['stress%d' % i for i in range(8)]
stop = False
stale = []
readbacks = [0]


def hdr(rid):
    return bytes([rid >> 8, rid & 255, 0, 0, 0, 1, 0, 0])


def udp_call(u, text, until=b'END\r\n'):
    rid = random.randrange(65536)
    u.sendto(hdr(rid) + text, (HOST, PORT))
    data = b''
    while not data.endswith(until):
        d = u.recv(4096)
        if d[:2] == hdr(rid)[:2]:
            data += d[8:]
    return data


def writer(idx, mode):
    fam = socket.AF_INET6 if ':' in HOST else socket.AF_INET
    s = socket.create_connection((HOST, PORT))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile('rb')
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(1)
    v = idx * 10**9
    while not stop:
        k = random.choice(KEYS)
        v += 1
        val = b'%012d' % v
        cmd = b'set %s 0 0 12' % k.encode()
        try:
            if mode == 'tcp':
                s.sendall(cmd + b'\r\n' + val + b'\r\n')
                assert f.readline() == b'STORED\r\n'
            elif mode == 'tcp-noreply':
                s.sendall(cmd + b' noreply\r\n' + val + b'\r\nmn\r\n')
                assert f.readline() == b'MN\r\n'
            else:
                r = udp_call(u, cmd + b'\r\n' + val + b'\r\n', b'\r\n')
                assert r == b'STORED\r\n'
            data = udp_call(u, b'get %s\r\n' % k.encode())
        except socket.timeout:
            continue
        readbacks[0] += 1
        lines = data.split(b'\r\n')
        got = int(lines[1]) if len(lines) > 2 else -1
        # Another writer may have written since; our own must not go back.
        if got == -1 or (got // 10**9 == idx and got < v):
            stale.append((k, v, got))


def reader():
    fam = socket.AF_INET6 if ':' in HOST else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(1)
    while not stop:
        try:
            udp_call(u, b'get %s\r\n' % random.choice(KEYS).encode())
        except socket.timeout:
            pass


threads = [threading.Thread(target=writer, args=(1, 'tcp')),
           threading.Thread(target=writer, args=(2, 'udp')),
           threading.Thread(target=writer, args=(3, 'tcp-noreply'))]
threads += [threading.Thread(target=reader) for _ in range(3)]
for t in threads:
    t.start()
time.sleep(SECS)
stop = True
for t in threads:
    t.join()
print('read-backs %d stale %d %s' % (readbacks[0], len(stale), stale[:5]))
sys.exit(1 if stale or readbacks[0] == 0 else 0)
