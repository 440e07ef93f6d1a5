#!/usr/bin/env python3
"""Polls a NATS port until it accepts a connection, then sends one JetStream publish and waits for its ack.

Prints the seconds (since the epoch time given as argv[4]) at which the port accepted and the ack arrived, so the
caller can relate both to the moment it started the server. Plain sockets: no client library start-up in the figure.
"""
import socket, sys, time

host, port, subject, started = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.time() + 120
while True:
    try:
        sock = socket.create_connection((host, port), timeout=1)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the server never accepted a connection")
        time.sleep(0.005)
accepted = time.time()
sock.settimeout(120)
buf = b""
while b"\r\n" not in buf:
    buf += sock.recv(65536)
sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
             b"SUB _INBOX.probe 1\r\nPUB " + subject.encode() + b" _INBOX.probe 5\r\nprobe\r\nPING\r\n")
buf = b""
while b"MSG _INBOX.probe" not in buf:
    chunk = sock.recv(65536)
    if not chunk:
        sys.exit("connection closed before the ack")
    buf += chunk
acked = time.time()
while b"\r\n" not in buf[buf.index(b"MSG _INBOX.probe"):] or buf.count(b"\r\n", buf.index(b"MSG _INBOX.probe")) < 2:
    buf += sock.recv(65536)
body = buf[buf.index(b"MSG _INBOX.probe"):].split(b"\r\n")[1]
print(f"accepted {accepted - started:.3f} acked {acked - started:.3f} (+{acked - accepted:.3f} after accepting) ack {body.decode(errors='replace')}")
