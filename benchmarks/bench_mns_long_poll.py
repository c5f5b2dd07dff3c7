"""How fast a long-polling ReceiveMessage answers after a SendMessage, as a ratio against a plain
send + receive round trip measured in the same process (aliyun-mns-sdk, live emulator).

    python benchmarks/bench_mns_long_poll.py [rounds]

A ratio near 1 means the long poll wakes as soon as the message lands (no polling interval).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

from mns.account import Account
from mns.queue import Message, QueueMeta

from emulator.testing.server import LiveServer


def main(rounds: int = 30) -> None:
    with LiveServer() as server:
        account = Account(server.url, server.access_key_id, server.access_key_secret)
        producer = account.get_queue("bench")
        producer.create(QueueMeta())
        consumer = Account(server.url, server.access_key_id, server.access_key_secret).get_queue("bench")

        baseline = []
        for _ in range(rounds):
            start = time.perf_counter()
            producer.send_message(Message("x"))
            got = consumer.receive_message(0)
            baseline.append(time.perf_counter() - start)
            consumer.delete_message(got.receipt_handle)

        woken = []
        for _ in range(rounds):
            done: dict[str, float] = {}

            def poll(done: dict[str, float] = done) -> None:
                got = consumer.receive_message(10)
                done["at"] = time.perf_counter()
                consumer.delete_message(got.receipt_handle)

            thread = threading.Thread(target=poll)
            thread.start()
            deadline = time.monotonic() + 5
            while (server.admin("GET", "health")["services"]["mns"]["long_polls"] == 0
                   and time.monotonic() < deadline):
                time.sleep(0.001)
            start = time.perf_counter()
            producer.send_message(Message("x"))
            thread.join()
            woken.append(done["at"] - start)

    base, wake = statistics.median(baseline), statistics.median(woken)
    print(f"send+receive round trip: {base * 1000:.2f} ms (median of {rounds})")
    print(f"send -> long poll answered: {wake * 1000:.2f} ms (median of {rounds})")
    print(f"ratio: {wake / base:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
