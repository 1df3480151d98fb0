"""A bad link between two network namespaces, as DESIGN §5 says can be built on these machines:
a veth pair, `tc … tbf` for 384 kbit/s, nftables `numgen random mod 100 < 2 drop` for 2 % loss on
input at both ends, a delaying TCP proxy (delay_proxy.py) for the latency, and `ip link set …
down/up` for cuts. Needs root; `available()` says why not when it cannot be built."""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

HUB_IP, NODE_IP = "10.77.0.1", "10.77.0.2"


def run(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, input=stdin)


def available() -> str | None:
    """None when namespaces, veth, tbf and nftables can be used; otherwise why not."""
    for tool in ("ip", "tc", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 nftables)"
    probe = f"bhprobe{uuid.uuid4().hex[:6]}"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    run("ip", "netns", "del", probe, check=False)
    return None


class BadLink:
    def __init__(self, rate: str = "384kbit", loss_percent: int = 2):
        tag = uuid.uuid4().hex[:6]
        self.hub_ns, self.node_ns = f"bh-hub-{tag}", f"bh-node-{tag}"
        self.hub_if, self.node_if = f"vh{tag}", f"vn{tag}"
        self.rate, self.loss = rate, loss_percent
        self._stop = threading.Event()
        self._cutter: threading.Thread | None = None
        self.cuts = 0

    def up(self) -> "BadLink":
        try:
            return self._up()
        except BaseException:
            self.down()
            raise

    def _up(self) -> "BadLink":
        for ns in (self.hub_ns, self.node_ns):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", self.hub_if, "netns", self.hub_ns, "type", "veth", "peer", "name", self.node_if,
            "netns", self.node_ns)
        for ns, dev, ip in ((self.hub_ns, self.hub_if, HUB_IP), (self.node_ns, self.node_if, NODE_IP)):
            run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", self.rate,
                "burst", "8kb", "latency", "500ms")
            rules = (f"table inet badlink {{\n chain in {{\n  type filter hook input priority 0;\n"
                     f'  iifname "{dev}" numgen random mod 100 < {self.loss} drop\n }}\n}}\n')
            run("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=rules)
        return self

    def exec_args(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def start_cuts(self, every: float = 30.0, down_for: float = 10.0, first_after: float = 20.0) -> None:
        def cut() -> None:
            if self._stop.wait(first_after):
                return
            while True:
                run("ip", "-n", self.node_ns, "link", "set", self.node_if, "down", check=False)
                self.cuts += 1
                self._stop.wait(down_for)
                run("ip", "-n", self.node_ns, "link", "set", self.node_if, "up", check=False)
                if self._stop.wait(every - down_for):
                    return
        self._cutter = threading.Thread(target=cut, daemon=True, name="link-cutter")
        self._cutter.start()

    def stop_cuts(self) -> None:
        self._stop.set()
        if self._cutter is not None:
            self._cutter.join(timeout=15)
        run("ip", "-n", self.node_ns, "link", "set", self.node_if, "up", check=False)

    def wire_bytes(self) -> int:
        """Bytes the node's interface sent and received, IP headers included."""
        out = run("ip", "-n", self.node_ns, "-s", "-j", "link", "show", self.node_if).stdout
        import json
        stats = json.loads(out)[0]["stats64"]
        return stats["rx"]["bytes"] + stats["tx"]["bytes"]

    def down(self) -> None:
        self.stop_cuts()
        for ns in (self.hub_ns, self.node_ns):
            run("ip", "netns", "del", ns, check=False)


def proxy_command(listen: str, port: int, target: str, target_port: int, delay_ms: int, count_file: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("delay_proxy.py")), listen, str(port), target,
            str(target_port), str(delay_ms), str(count_file)]


def wait_for(predicate, timeout: float, every: float = 0.5) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
