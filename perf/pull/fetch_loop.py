# A nats.go-shaped pull loop over a raw socket, so the wire is what a Go worker's Fetch(n) + msg.Ack() loop sends,
# without a Go toolchain: each iteration writes the previous messages' acks (plain PUBs, which nats.go buffers) together
# with the next CONSUMER.MSG.NEXT request {"batch":n,"expires":5s} on a fresh reply subject under the subscription's
# wildcard inbox (as Fetch does), then reads n messages. Prints microseconds per fetch+ack.
#   fetch_loop.py PORT MESSAGES [BATCH]      FRESH=0 asks on one reply subject instead
# It creates stream F (subject f, file storage) and durable C (explicit acks) if missing, and publishes MESSAGES
# 16-byte messages for itself, so a server can be reused between runs.
import json
import os
import socket
import sys
import time

port, total = int(sys.argv[1]), int(sys.argv[2])
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
fresh = os.environ.get("FRESH", "1") == "1"

sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lines = sock.makefile("rb")
lines.readline()


def ping():
    sock.sendall(b"PING\r\n")
    while lines.readline() != b"PONG\r\n":
        pass


def request(subject, body):
    sock.sendall(b"SUB _R.x 1\r\nPUB %s _R.x %d\r\n%s\r\n" % (subject, len(body), body))
    while True:
        line = lines.readline()
        if line.startswith(b"MSG"):
            lines.read(int(line.split()[-1]) + 2)
            sock.sendall(b"UNSUB 1\r\n")
            return


sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n')
ping()
request(b"$JS.API.STREAM.CREATE.F", b'{"name":"F","subjects":["f"],"storage":"file"}')
request(b"$JS.API.CONSUMER.CREATE.F.C", b'{"stream_name":"F","config":{"durable_name":"C","ack_policy":"explicit"}}')
thousand = b"".join(b"PUB f 16\r\n0123456789abcdef\r\n" for _ in range(1000))
for _ in range(total // 1000 + 1):
    sock.sendall(thousand)
ping()
time.sleep(1)

sock.sendall(b"SUB _I.> 2\r\n")
body = json.dumps({"batch": batch, "expires": 5_000_000_000}).encode()
asked = 0


def next_request():
    global asked
    asked += 1
    reply = b"_I.%08d" % asked if fresh else b"_I.a"
    return b"PUB $JS.API.CONSUMER.MSG.NEXT.F.C %s %d\r\n%s\r\n" % (reply, len(body), body)


def loop(iterations):
    started = time.perf_counter()
    acks = []
    for _ in range(iterations):
        sock.sendall(b"".join(acks) + next_request())
        acks = []
        while len(acks) < batch:
            line = lines.readline()
            if line.startswith(b"MSG") or line.startswith(b"HMSG"):
                parts = line.split()
                lines.read(int(parts[-1]) + 2)
                if line.startswith(b"MSG"):  # HMSG here is a status (408, 100), not a message
                    acks.append(b"PUB %s 0\r\n\r\n" % parts[3])
    sock.sendall(b"".join(acks))
    return (time.perf_counter() - started) / iterations * 1e6


warm = max(2, 200 // batch)
loop(warm)
print("%.0f us per fetch(%d)+ack" % (loop((total - warm * batch) // batch - 1), batch))
