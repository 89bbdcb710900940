"""Load test: many concurrent readers against gunicorn on the demo data, loopback only, bounded.

    .venv/bin/python benchmarks/load.py                       # PostGIS scratch database (default)
    .venv/bin/python benchmarks/load.py --database spatialite # the embedded default
    .venv/bin/python benchmarks/load.py --users 200 --duration 60 --skip-writers

What it does, in order (nothing leaves 127.0.0.1; it stops by itself):
1. a scratch database (PostGIS: ``karte_load_<pid>`` beside ``DATABASE_URL``, dropped at the end;
   SpatiaLite: a file in a temporary folder): migrate, load_demo, compute_indicators, a workshop
   created, warm_cache — what a deployment does after a change;
2. gunicorn in production mode (``gunicorn.conf.py``) on 127.0.0.1 with a scratch cache;
3. readers (locust, in this process): ``--users`` clients for ``--duration`` seconds, each waiting
   1–3 s between requests (about users / 2 requests per second offered), mixing the map page, its
   districts and resources layers, a district page, a district's printed karte and the indicator
   catalogue; one in eleven is a resident who joins a workshop with its code and sends voices;
4. the same again while writers run: a census table loaded (with changed figures), then
   ``compute_indicators`` and ``warm_cache`` — readers must see the old figures or the new, never a
   mix, and get no error; the writers must succeed.

It prints requests, errors and p50/p95/p99 per endpoint, and goal lines ``goal …: met`` /
``goal …: missed (…)``: no errors; the offered rate served (≥ 90 % of what the users ask);
p95 < 300 ms for pages and API; p95 < 3 s for a PDF; and while the writers run (their rate and
latencies printed as figures): no errors, writers succeed, no mixed answer.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything opens a socket (locust does the same on import)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
import urllib.request  # noqa: E402
from urllib.parse import urlencode, urlsplit, urlunsplit  # noqa: E402

import re  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, between, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PAGE_GOAL_S = 0.300
PDF_GOAL_S = 3.0
RAMP_S = 5.0  # all users have started after this many seconds
DISTRICT_CODES: list[str] = []
LAYER_URLS: dict = {}
DISTRICTS_SEEN: dict[str, int] = {}  # hash of the districts layer's features -> times seen
WORKSHOP: dict = {}  # {"code", "id", "lon", "lat"} of the workshop residents join
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SETUP_WORKSHOP = """
import datetime, json
from django.contrib.auth.models import User
from karte.models import District
from participation import services
district = District.objects.order_by("code").first()
user = User.objects.create_user("load-facilitator", password=None, is_staff=True)
workshop = services.create_workshop(user, district=district, title="負荷試験のワークショップ",
                                    held_on=datetime.date.today(), licence="CC BY 4.0")
point = district.geom.point_on_surface.transform(4326, clone=True)
print(json.dumps({"code": workshop.join_code, "id": workshop.pk, "lon": point.x, "lat": point.y}))
"""


def log(message: str) -> None:
    print(f"load: {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# The scratch deployment
# ---------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(url: str, sql: str) -> None:
    parts = urlsplit(url.replace("postgis://", "postgresql://", 1))
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    subprocess.run(["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U",
                    parts.username or "postgres", "-d", parts.path.lstrip("/") or "postgres", "-qAtc", sql],
                   check=True, env=env, capture_output=True, text=True)


def scratch_database(kind: str, folder: Path) -> tuple[str, callable]:
    """A database URL for this run and a function that removes it."""
    if kind == "spatialite":
        return f"spatialite:///{folder / 'load.sqlite3'}", lambda: None
    base = os.environ.get("DATABASE_URL", "postgis://karte:karte-ci@127.0.0.1:5432/karte")
    name = f"karte_load_{os.getpid()}"
    _psql(base, f"create database {name}")
    parts = urlsplit(base)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    _psql(url, "create extension if not exists postgis")
    return url, lambda: _psql(base, f"drop database if exists {name} with (force)")


def manage(env: dict, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True,
                          capture_output=quiet)


def server_environment(database_url: str, folder: Path, port: int, workers: int) -> dict:
    return {
        **os.environ,
        "KARTE_MODE": "production", "DJANGO_DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": database_url, "KARTE_VAR_DIR": str(folder / "var"),
        "STATIC_ROOT": str(folder / "static"), "KARTE_CACHE_URL": f"file://{folder / 'cache'}",
        "KARTE_HTTPS": "0", "KARTE_TILES": "none", "KARTE_PRINT_TILES": "none",
        "KARTE_BIND": f"127.0.0.1:{port}", "KARTE_WEB_WORKERS": str(workers), "KARTE_ACCESS_LOG": "",
        "PYTHONUNBUFFERED": "1",
    }


def start_server(env: dict, port: int, folder: Path) -> subprocess.Popen:
    command = [PYTHON, "-m", "gunicorn", "karte.wsgi:application"]
    if (ROOT / "gunicorn.conf.py").exists():
        command += ["-c", str(ROOT / "gunicorn.conf.py")]
    else:
        command += ["--bind", f"127.0.0.1:{port}", "--workers", env["KARTE_WEB_WORKERS"], "--worker-class",
                    "gthread", "--threads", "4", "--timeout", "120"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(folder / "server.log", "w"),
                              stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            gevent.sleep(0.2)
    server.kill()
    log_tail = (folder / "server.log").read_text(errors="replace").strip().splitlines()[-15:]
    raise SystemExit("load: gunicorn did not start within 60 s; its log ends:\n" + "\n".join(log_tail))


# ---------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------

def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _features_hash(body: bytes) -> str:
    """The figures of one districts layer answer: its features only, since the metadata (provenance,
    data version) also changes between the load and the compute while the figures do not."""
    return hashlib.sha256(json.dumps(json.loads(body)["features"], sort_keys=True).encode()).hexdigest()[:16]


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Reader(FastHttpUser):
    """A planner or resident browsing: the map and its layers, a district, its printed karte."""

    wait_time = between(1, 3)
    weight = 10

    @task(3)
    def map_page(self):
        self.client.get("/", name="map page")

    @task(3)
    def districts_layer(self):
        with self.client.get(LAYER_URLS["districts"], name="/api/districts/", catch_response=True) as response:
            if response.status_code == 200:
                digest = _features_hash(response.content)
                DISTRICTS_SEEN[digest] = DISTRICTS_SEEN.get(digest, 0) + 1

    @task(2)
    def resources_layer(self):
        url = random.choice(list(LAYER_URLS["resources"].values()))
        self.client.get(url, name="/api/resources/")

    @task(1)
    def indicators(self):
        self.client.get("/api/indicators/", name="/api/indicators/")

    @task(3)
    def district_page(self):
        self.client.get(f"/districts/{random.choice(DISTRICT_CODES)}/", name="district page")

    @task(1)
    def district_pdf(self):
        self.client.get(f"/districts/{random.choice(DISTRICT_CODES)}/karte.pdf", name="district PDF")


class Resident(FastHttpUser):
    """A resident in a workshop hall: joins with the code once, then now and then sends a voice
    (typing takes a while: a few submissions a minute stay well under the per-participant limit)."""

    wait_time = between(15, 30)
    weight = 1  # one resident for every ten readers (Reader.weight)

    def on_start(self):
        page = self.client.get(f"/participation/join/{WORKSHOP['code']}/", name="workshop join page")
        token = CSRF.search(page.text)
        self.client.post(f"/participation/join/{WORKSHOP['code']}/", name="workshop join", headers=FORM,
                         data=urlencode({"csrfmiddlewaretoken": token.group(1) if token else "",
                                         "code": WORKSHOP["code"], "nickname": f"resident-{id(self) % 100000}"}))

    @task
    def send_a_voice(self):
        url = f"/participation/w/{WORKSHOP['id']}/"
        page = self.client.get(url, name="workshop form")
        token = CSRF.search(page.text)
        self.client.post(url, name="workshop submission", headers=FORM, data=urlencode({
            "csrfmiddlewaretoken": token.group(1) if token else "", "type": "voice", "voice_category": "idea",
            "text": "集会所で朝の体操をしたい", "lon": WORKSHOP["lon"], "lat": WORKSHOP["lat"]}))


def run_readers(host: str, users: int, duration: float, writers: callable | None = None) -> tuple[dict, list]:
    environment = Environment(user_classes=[Reader, Resident], host=host)
    started = time.monotonic()
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=max(users / RAMP_S, 1))
    writer_results = []
    if writers is not None:
        gevent.sleep(min(10, duration / 4))
        writer_results = writers()
    remaining = duration - (time.monotonic() - started)
    gevent.sleep(max(remaining, 0))
    runner.quit()
    if runner.cpu_warning_emitted:
        # Its clients then wait for their own process, and those waits count as response time.
        log("the load generator itself used over 90 % of a core: the latencies below include its own delays")
    return environment.stats, writer_results


# ---------------------------------------------------------------------------------------------
# Writers: a census table with changed figures, then compute and warm
# ---------------------------------------------------------------------------------------------

def changed_census_table(folder: Path) -> Path:
    """The demo's 2020 household table with one more elderly person living alone in every area, so
    the recomputed figures differ from the old ones."""
    source = ROOT / "fixtures/census/2020/tblT001087C14130.csv"
    lines = source.read_bytes().decode("cp932").splitlines()
    header, labels, rows = lines[0], lines[1], lines[2:]
    names = header.split(",")
    changed = []
    for row in rows:
        cells = row.split(",")
        for i, name in enumerate(names):
            if i >= 7 and cells[i].isdigit():
                cells[i] = str(int(cells[i]) + 1)
        changed.append(",".join(cells))
    target = folder / "tblT001087C14130.csv"
    target.write_bytes("\r\n".join([header, labels, *changed, ""]).encode("cp932"))
    return target


def run_writers(env: dict, folder: Path) -> list[tuple[str, float, int, str]]:
    """Each writer's (command, seconds, exit status, last line of its output)."""
    results = []
    table = changed_census_table(folder)
    for args in (["load", "census_table", str(table), "--year", "2020", "--city", "14130", "--quiet"],
                 ["compute_indicators"], ["warm_cache"]):
        started = time.monotonic()
        done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
        output = (done.stdout + done.stderr).strip().splitlines()
        results.append((" ".join(args[:2]), time.monotonic() - started, done.returncode, output[-1] if output else ""))
    return results


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def report(title: str, stats, duration: float, users: int, *, speed_goals: bool = True) -> list[tuple[str, bool, str]]:
    """Print the table of one phase and return its goal lines. ``speed_goals=False`` (while writers
    run): rate and latency are printed as figures only — a compute takes the same 2 cores, so the goals
    there are no error, whole answers and writers that succeed."""
    print(f"\n== {title}")
    print(f"{'endpoint':<22}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    goals = []
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        p50, p95, p99 = (entry.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99))
        print(f"{entry.name:<22}{entry.num_requests:>9}{entry.num_failures:>8}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}")
        limit = PDF_GOAL_S if "PDF" in entry.name else PAGE_GOAL_S
        goals.append((f"p95 {entry.name} < {limit * 1000:.0f} ms", p95 <= limit * 1000, f"{p95:.0f} ms"))
    total = stats.total
    rate = total.num_requests / duration
    # A reader waits 2 s on average between requests; a resident sends a form and its page every
    # 22.5 s on average; users start over the first 5 s.
    residents = users * Resident.weight / (Reader.weight + Resident.weight)
    offered = ((users - residents) / 2 + residents * 2 / 22.5) * (duration - RAMP_S / 2) / duration
    print(f"{'all':<22}{total.num_requests:>9}{total.num_failures:>8}"
          f"{total.get_response_time_percentile(0.5):>9.0f}{total.get_response_time_percentile(0.95):>9.0f}"
          f"{total.get_response_time_percentile(0.99):>9.0f}   {rate:.1f} requests/s (offered ≈ {offered:.0f}/s)")
    for error in list(stats.errors.values())[:5]:
        print(f"  error: {error.method} {error.name}: {error.error} ×{error.occurrences}")
    if not speed_goals:
        print("(rate and p95 above are figures, not goals, while a load and a compute share the cores)")
        return [("0 errors", total.num_failures == 0, f"{total.num_failures} errors")]
    goals.insert(0, ("0 errors", total.num_failures == 0, f"{total.num_failures} errors"))
    goals.insert(1, ("the offered rate served (≥ 90 %)", rate >= 0.9 * offered, f"{rate:.1f}/s of {offered:.0f}/s"))
    return goals


def print_goals(goals: list[tuple[str, bool, str]]) -> None:
    for name, met, figure in goals:
        print(f"goal {name}: {'met' if met else f'missed ({figure})'}" + (f" [{figure}]" if met else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["postgis", "spatialite"], default="postgis")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--skip-writers", action="store_true")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="karte-load-"))
    database_url, drop_database = scratch_database(options.database, folder)
    port = _free_port()
    env = server_environment(database_url, folder, port, options.workers)
    server = None
    try:
        log(f"{options.database} scratch database; migrate, load_demo, compute_indicators, collectstatic, warm_cache")
        for args in (["migrate", "--noinput"], ["load_demo", "--quiet"], ["compute_indicators"],
                     ["collectstatic", "--noinput"]):
            manage(env, *args)
        # A workshop is public (its join code is printed on the district's karte): creating it is a
        # new data version, so the cache is warmed after it, as a deployment warms after any change.
        WORKSHOP.update(json.loads(manage(env, "shell", "-c", SETUP_WORKSHOP).stdout.strip().splitlines()[-1]))
        manage(env, "warm_cache")
        server = start_server(env, port, folder)
        host = f"http://127.0.0.1:{port}"
        html = fetch(f"{host}/").decode("utf-8")
        config = json.loads(html.split('id="karte-map-config" type="application/json">')[1].split("</script>")[0])
        LAYER_URLS.update(config["layer_urls"])
        DISTRICT_CODES[:] = [feature["id"] for feature in json.loads(fetch(f"{host}/api/districts/"))["features"]]
        log(f"gunicorn on {host} ({options.workers} workers); {len(DISTRICT_CODES)} districts; "
            f"{options.users} users for {options.duration:.0f} s")

        stats, _ = run_readers(host, options.users, options.duration)
        goals = report("readers", stats, options.duration, options.users)
        print_goals(goals)

        if not options.skip_writers:
            DISTRICTS_SEEN.clear()
            old = _features_hash(fetch(host + LAYER_URLS["districts"]))
            stats, writers = run_readers(host, options.users, options.duration, writers=lambda: run_writers(env, folder))
            new = _features_hash(fetch(host + LAYER_URLS["districts"]))
            goals = report("readers while a census table is loaded and the indicators recomputed", stats,
                           options.duration, options.users, speed_goals=False)
            for command, seconds, status, last in writers:
                print(f"writer {command}: exit {status} in {seconds:.1f} s — {last}")
            goals.append(("writers succeed", all(status == 0 for _, _, status, _ in writers),
                          "; ".join(f"{c}: exit {s}" for c, _, s, _ in writers)))
            mixed = {digest: n for digest, n in DISTRICTS_SEEN.items() if digest not in (old, new)}
            print(f"districts layer answers: {sum(DISTRICTS_SEEN.values())}, old figures "
                  f"{DISTRICTS_SEEN.get(old, 0)}, new figures {DISTRICTS_SEEN.get(new, 0)}, other {sum(mixed.values())}"
                  + ("" if old != new else " (old and new equal: the change did not move the figures)"))
            goals.append(("readers see old or new figures, never a mix", not mixed and old != new,
                          "the figures did not change" if old == new else
                          f"{DISTRICTS_SEEN.get(old, 0)} old, {DISTRICTS_SEEN.get(new, 0)} new, "
                          f"{sum(mixed.values())} other answers"))
            print_goals(goals)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
