"""Webhooks against hostile receivers: one that drips its answer a byte at a time is cut off
at the attempt's deadline and retried, never sent the same delivery twice at once, and never
holds up another webhook; 6to4 and Teredo addresses that lead inside are refused."""

from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from test_webhooks import FAST, HOOKS, Receiver, add_webhook, deliveries, token, types, write

from cms.content.identity import Person
from cms.store import ArticleStore
from cms.webhooks.dispatcher import Dispatcher
from cms.webhooks.outbox import Outbox
from harness import article
from harness.launch import cms_server

PUBLIC_URL = "https://93.184.216.34/hooks/cms"


class Dripper:
    """A receiver on 127.0.0.1 that reads each request whole, then sends its status line one
    byte every `every` seconds (with a reason phrase long enough never to end in a test) until
    the sender hangs up. It records each request's `webhook-id` and counts the connections
    open at once."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.ids: list[str] = []  # one per connection, in the order they came
        self.open = 0
        self.most_open = 0
        self.hung_up = 0  # connections the sender closed before the status line was whole
        self.lock = threading.Condition()
        self.closing = threading.Event()
        self.threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:  # the listener was closed
                return
            self._spawn(self._serve, connection)

    def _serve(self, connection: socket.socket) -> None:
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        try:
            with connection:
                # poll, not select: a test process may hold more than 1,024 descriptors
                poller = select.poll()
                poller.register(connection, select.POLLIN)
                headers = self._read_request(connection)
                with self.lock:
                    self.ids.append(headers.get("webhook-id", ""))
                    self.lock.notify_all()
                for byte in b"HTTP/1.1 200 " + b"o" * 2000:
                    readable = poller.poll(self.every * 1000)
                    if self.closing.is_set():
                        return
                    if readable and not connection.recv(1):
                        self._hung_up()
                        return
                    connection.sendall(bytes([byte]))
        except OSError:  # reset by the sender
            self._hung_up()
        finally:
            with self.lock:
                self.open -= 1
                self.lock.notify_all()

    def _hung_up(self) -> None:
        with self.lock:
            self.hung_up += 1
            self.lock.notify_all()

    @staticmethod
    def _read_request(connection: socket.socket) -> dict[str, str]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionResetError("closed before the request was whole")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, v in (li.split(":", 1) for li in lines)}
        while len(body) < int(headers.get("content-length", 0)):
            body += connection.recv(65536)
        return headers

    def wait(self, what: Any, timeout: float) -> None:
        """Wait until `what()` (called under the lock) is true."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not what():
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.ids)} connections, {self.hung_up} hung up"
                self.lock.wait(left)

    def close(self) -> None:
        if self.closing.is_set():
            return
        self.closing.set()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (a close would not)
        self.listener.close()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def dripper() -> Any:
    d = Dripper()
    yield d
    d.close()


def test_a_dripping_receiver_is_cut_off_at_the_deadline_and_retried(
    repo: Path, tmp_path: Path, dripper: Dripper
) -> None:
    env = {**FAST, "CMS_WEBHOOK_TIMEOUT": "1", "CMS_WEBHOOK_RETRY_DELAYS": "0.3," * 9 + "0.3"}
    admin, editor = token(repo, "admin"), token(repo, "editor")
    with cms_server(repo, tmp_path / "server.log", env, workers=2) as base:
        hook = add_webhook(base, admin, dripper.url)
        write(base, editor, "Slow news")
        deadline = time.monotonic() + 12
        while not (items := deliveries(base, admin, hook)) or items[0]["attempts"] < 2:
            assert time.monotonic() < deadline, items
            time.sleep(0.1)
        # each attempt ended at its deadline, though bytes kept coming, and was retried
        assert items[0] == {
            **items[0],
            "status": "pending",
            "response_status": None,
            "error": "No complete answer within 1 s.",
        }
        dripper.wait(lambda: dripper.hung_up >= 2, 5)
    assert len(dripper.ids) >= 2 and set(dripper.ids) == {items[0]["id"]}
    assert dripper.most_open == 1


def test_a_delivery_is_never_sent_twice_at_once(store: ArticleStore, dripper: Dripper) -> None:
    # two workers' outboxes with a lease far shorter than an attempt: only the sender's worker
    # renewing it keeps the other from taking the delivery over while it is being sent
    outboxes = [
        Outbox(store.repo, store.committer.email, retry_delays=(0.2,) * 5, lease=2.0)
        for _ in range(2)
    ]
    outboxes[0].create(dripper.url, ["article.created"], "")
    workers = [Dispatcher(o, interval=0.05, timeout=4, allow_private=True) for o in outboxes]
    for worker in workers:
        worker.start()
    try:
        store.create(article("Held up"), Person("Eve Editor", "eve@example.org"))
        dripper.wait(lambda: len(dripper.ids) >= 2, 12)  # the attempt, then its retry
    finally:
        dripper.close()  # hangs up on whatever is in flight, so the senders end at once
        for worker in workers:
            worker.stop()
    assert dripper.most_open == 1
    assert len(set(dripper.ids)) == 1
    hook = outboxes[0].webhooks(page=1, per_page=1)[0][0]
    [delivery], _ = outboxes[1].deliveries(hook["id"], page=1, per_page=10)
    assert delivery["attempts"] >= 2 and delivery["id"] == dripper.ids[0]


def test_a_healthy_webhook_is_served_while_another_drips(
    repo: Path, tmp_path: Path, dripper: Dripper
) -> None:
    env = {**FAST, "CMS_WEBHOOK_TIMEOUT": "2", "CMS_WEBHOOK_RETRY_DELAYS": "0.3," * 9 + "0.3"}
    admin, editor = token(repo, "admin"), token(repo, "editor")
    healthy = Receiver()
    try:
        with cms_server(repo, tmp_path / "server.log", env, workers=2) as base:
            slow = add_webhook(base, admin, dripper.url, events=["article.created"])
            add_webhook(base, admin, healthy, events=["article.created"])
            for n in range(8):
                write(base, editor, f"Story number {n}")
            healthy.wait(8)
            deadline = time.monotonic() + 10
            while len(queued := deliveries(base, admin, slow)) < 8:
                assert time.monotonic() < deadline, queued
                time.sleep(0.1)
            # all eight due at once, as an admin asking for them again makes them: the slow
            # webhook still gets one sender at a time, not all eight of both workers
            for delivery in queued:
                again = requests.post(
                    f"{base}{HOOKS}/{slow['id']}/deliveries/{delivery['id']}/redeliver",
                    headers=admin,
                )
                assert again.status_code == 202
            dripper.wait(lambda: len(dripper.ids) >= 3, 10)
            slug = write(base, editor, "After the pile-up")
            # arrives well under a second when nothing drips; it used to wait for minutes:
            # the bound is far from both
            calls = healthy.wait(9, timeout=10)
            assert types(calls)[-1] == ("article.created", slug)
        assert dripper.most_open == 1
    finally:
        healthy.close()


@pytest.mark.parametrize(
    "url,why",
    [
        ("http://[2002:7f00:1::1]/", "6to4 address embedding 127.0.0.1"),
        ("http://[2002:a9fe:a9fe::1]/latest/meta-data/", "6to4 address embedding 169.254.169.254"),
        ("http://[2002:c0a8:1::1]:8080/", "6to4 address embedding 192.168.0.1"),
        (
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
            "Teredo address (its client is 127.0.0.1)",
        ),
        ("http://[2001:0:5db8:d822::a247:27cb]/", "Teredo address (its client is 93.184.216.52)"),
    ],
)
def test_6to4_and_teredo_addresses_are_refused(client, admin_token, url, why) -> None:
    response = client.post(HOOKS, json={"url": url}, headers=admin_token)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["url"]
    assert why in response.get_json()["errors"]["url"][0]
    hook = client.post(HOOKS, json={"url": PUBLIC_URL}, headers=admin_token).get_json()
    changed = client.patch(f"{HOOKS}/{hook['id']}", json={"url": url}, headers=admin_token)
    assert changed.status_code == 422 and list(changed.get_json()["errors"]) == ["url"]
    assert client.get(HOOKS, headers=admin_token).get_json()["meta"]["total"] == 1


def test_a_6to4_address_of_a_public_one_is_accepted(client, admin_token) -> None:
    created = client.post(HOOKS, json={"url": "http://[2002:5db8:d822::1]/"}, headers=admin_token)
    assert created.status_code == 201, created.get_json()


def test_a_6to4_webhook_saved_before_the_check_is_refused_at_send_time(store: ArticleStore) -> None:
    # as a webhook stored by an earlier version would be: the library does not check URLs
    outbox = Outbox(store.repo, store.committer.email, retry_delays=(60,))
    hook = outbox.create("http://[2002:7f00:1::1]:8080/hook", ["article.created"], "")
    worker = Dispatcher(outbox, interval=0.05, timeout=2, allow_private=False)
    worker.start()
    try:
        store.create(article("Not for inside"), Person("Eve Editor", "eve@example.org"))
        deadline = time.monotonic() + 10
        while (
            not (items := outbox.deliveries(hook["id"], page=1, per_page=10)[0])
            or not items[0]["attempts"]
        ):
            assert time.monotonic() < deadline, items
            time.sleep(0.05)
    finally:
        worker.stop()
    assert items[0]["status"] == "pending" and items[0]["response_status"] is None
    assert "6to4 address embedding 127.0.0.1" in items[0]["error"]
