#!/usr/bin/env python3
"""Execute Jupyter notebooks headlessly with the Deno kernel and export them.

For each notebook: run every cell with nbclient (kernel "deno", cwd = the notebook's folder), stop at
the first cell error, and ALWAYS write the executed notebook and an HTML export (lab template, inputs
hidden unless --with-input) into --out, even when a cell failed. Parameters reach the notebook through
environment variables (its `parameters` cell reads them with zod); -e KEY=VALUE sets one.

Deno kernel traps handled here (shared/reference/deno-notebooks.md):
  * a syntax error replies status "error" but publishes no error output: a visible one is added;
  * outputs published just after a cell reports idle (the output race, section 1a) are drained for a
    short grace period and kept in their own cell.

Prints one line per notebook and a final "N passed, N failed"; exits 1 on any failure, 130 when
interrupted (SIGINT or SIGTERM: the running kernel is killed, the partial notebook still exported).

  python tools/run_notebooks.py --out reports/test-1 [--timeout 600] [--with-input] \\
      [--json summary.json] [-e SERVELAB_SIZE=test] notebooks/01_ttft.ipynb ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import signal
import threading
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

SYNTAX_HINT = (
    "The Deno kernel reported an error without details; this is usually a syntax error "
    "(the kernel shows none). Run `deno task nbcheck` to see it with its line."
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Execute notebooks with the Deno kernel and export HTML.")
    p.add_argument("notebooks", nargs="+", type=Path, help="notebook files (.ipynb)")
    p.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    p.add_argument("--kernel", default="deno", help="kernel name (default deno)")
    p.add_argument("--with-input", action="store_true", help="show code cells in the HTML export")
    p.add_argument("--json", type=Path, help="write a JSON summary to this file")
    p.add_argument(
        "-e", "--env", action="append", default=[], metavar="KEY=VALUE",
        help="environment variable for the kernel (repeatable)",
    )
    p.add_argument(
        "--drain-ms", type=float, default=25,
        help="grace period after each cell for late outputs (default 25; 0 disables)",
    )
    return p.parse_args(argv)


def error_output(ename: str, evalue: str, traceback: list[str] | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=traceback or [f"{ename}: {evalue}"]
    )


def has_error_output(cell: nbformat.NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


class Runner:
    """Runs one notebook; keeps what happened for the summary."""

    def __init__(self, path: Path, args: argparse.Namespace):
        self.path = path
        self.args = args
        self.nb = nbformat.read(path, as_version=4)
        self.failed_cell: int | None = None
        self.interrupted = False
        self.current_cell: int | None = None
        self.client = NotebookClient(
            self.nb,
            kernel_name=args.kernel,
            timeout=args.timeout,
            startup_timeout=120,
            record_timing=False,
            allow_errors=False,
            resources={"metadata": {"path": str(path.parent.resolve())}},
            on_cell_executed=self.on_cell_executed,
            on_cell_error=self.on_cell_error,
            on_notebook_start=self.on_notebook_start,
            on_cell_execute=self.on_cell_execute,
        )

    def on_cell_execute(self, cell, cell_index):
        self.current_cell = cell_index

    def on_notebook_start(self, notebook):
        # nbclient's own SIGINT/SIGTERM handlers shut the kernel down without telling us; take them over.
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            try:
                loop.add_signal_handler(sig, interrupt, sig, None)
            except (RuntimeError, NotImplementedError):
                pass

    async def on_cell_executed(self, cell, cell_index, execute_reply):
        await self.drain(cell, cell_index, execute_reply)
        content = execute_reply.get("content", {})
        if content.get("status") == "error" and not has_error_output(cell):
            ename = content.get("ename") or "SyntaxError"
            evalue = content.get("evalue") or SYNTAX_HINT
            if evalue.strip() in ("Execution failed", "Error: Execution failed"):
                evalue = f"{evalue.strip()}. {SYNTAX_HINT}"
            cell.outputs.append(error_output(ename, evalue, content.get("traceback")))

    def on_cell_error(self, cell, cell_index, execute_reply):
        self.failed_cell = cell_index

    async def drain(self, cell, cell_index, execute_reply):
        """Keeps outputs the kernel publishes for this cell just after reporting it idle."""
        if self.args.drain_ms <= 0:
            return
        msg_id = execute_reply.get("parent_header", {}).get("msg_id")
        deadline = time.monotonic() + self.args.drain_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.client.kc.iopub_channel.get_msg(timeout=left)
            except (queue.Empty, asyncio.TimeoutError, TimeoutError):
                return
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] in ("status", "execute_input"):
                continue
            self.client.process_message(msg, cell, cell_index)

    def run(self) -> dict:
        t0 = time.monotonic()
        status, kind, message = "ok", None, None
        try:
            self.client.execute()
        except CellTimeoutError as e:
            status, kind = "failed", "CellTimeoutError"
            message = f"cell did not finish within {self.args.timeout:g} s (raise --timeout)"
            self.mark(error_output("CellTimeoutError", message))
        except DeadKernelError as e:
            status, kind, message = "failed", "DeadKernelError", f"the kernel died: {e}"
            if not self.interrupted:
                self.mark(error_output("DeadKernelError", message))
        except CellExecutionError as e:
            status, kind = "failed", "CellExecutionError"
            fallback = f"{e.ename}: {e.evalue}".strip() if (e.ename or e.evalue) else "cell failed"
            message = self.cell_error_text() or fallback
        except Exception as e:  # kernel could not start, bad notebook ...
            status, kind, message = "failed", type(e).__name__, str(e).strip().splitlines()[0] if str(e) else ""
        if self.interrupted:
            status, kind, message = "failed", "Interrupted", "interrupted by a signal; the kernel was stopped"
            self.mark(error_output("Interrupted", message))
        seconds = time.monotonic() - t0
        if status == "failed" and self.failed_cell is None:
            self.failed_cell = self.first_error_cell()
        return {
            "notebook": str(self.path),
            "status": status,
            "error_kind": kind,
            "error": message,
            "cell": None if self.failed_cell is None else self.failed_cell + 1,
            "seconds": round(seconds, 2),
        }

    def kill_kernel(self, grace_s: float = 15):
        """Stops the kernel's process group: SIGTERM (the lab's engine registry then stops the engines
        it started, vLLM's grace being 10 s), SIGKILL after `grace_s`. nbclient starts kernels in their
        own session, so a signal to this process does not reach them."""
        prov = getattr(self.client.km, "provisioner", None)
        pgid = getattr(prov, "pgid", None)
        proc = getattr(prov, "process", None)
        if proc is None:
            return
        try:
            os.killpg(pgid, signal.SIGTERM) if pgid else proc.terminate()
        except (OSError, ProcessLookupError):
            pass
        deadline = time.monotonic() + grace_s
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            os.killpg(pgid, signal.SIGKILL) if pgid else proc.kill()
        except (OSError, ProcessLookupError):
            pass

    def mark(self, output):
        i = self.failed_cell if self.failed_cell is not None else self.current_cell
        if i is not None:
            self.failed_cell = i
            cell = self.nb.cells[i]
            if not has_error_output(cell):
                cell.setdefault("outputs", []).append(output)

    def cell_error_text(self) -> str | None:
        """The failed cell's error output as "ename: evalue" (with the syntax-error hint when added)."""
        if self.failed_cell is None:
            return None
        for o in self.nb.cells[self.failed_cell].get("outputs", []):
            if o.get("output_type") == "error":
                return f"{o.get('ename', '')}: {o.get('evalue', '')}".strip()
        return None

    def first_error_cell(self) -> int | None:
        for i, c in enumerate(self.nb.cells):
            if has_error_output(c):
                return i
        return None


# The lab template without its CDN scripts (require.js, MathJax) and favicon request: reports open offline.
REPORT_TEMPLATE = Path(__file__).resolve().parent / "nbconvert" / "report.html.j2"


def report_title(nb: nbformat.NotebookNode, stem: str) -> str:
    """The page title: the first level-1 heading in a markdown cell or a markdown output, else the file stem."""
    for c in nb.cells:
        if c.cell_type == "markdown":
            texts = [c.source]
        else:
            texts = [o.get("data", {}).get("text/markdown", "") for o in c.get("outputs", [])]
        for t in texts:
            t = "".join(t) if isinstance(t, list) else t
            for line in t.splitlines():
                if line.startswith("# "):
                    return line[2:].replace("*", "").replace("`", "").strip() or stem
    return stem


def export(nb, out_dir: Path, stem: str, with_input: bool) -> tuple[Path, Path, str | None]:
    ipynb = out_dir / f"{stem}.ipynb"
    html = out_dir / f"{stem}.html"
    nbformat.write(nb, ipynb)
    try:
        exporter = HTMLExporter(
            template_name="lab", template_file=str(REPORT_TEMPLATE),
            exclude_input=not with_input, exclude_input_prompt=not with_input,
        )
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": report_title(nb, stem)}})
        html.write_text(body, encoding="utf-8")
        return ipynb, html, None
    except Exception as e:  # an export failure is reported, the notebook is kept
        return ipynb, html, f"HTML export failed: {type(e).__name__}: {e}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    watch_parent()
    for kv in args.env:
        if "=" not in kv:
            print(f"run_notebooks: -e '{kv}' needs KEY=VALUE", file=sys.stderr)
            return 2
        k, v = kv.split("=", 1)
        os.environ[k] = v
    stems = [p.stem for p in args.notebooks]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        print(f"run_notebooks: notebooks share a name ({', '.join(dup)}); outputs would collide in {args.out}",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for path in args.notebooks:
        if not path.is_file():
            r = {"notebook": str(path), "status": "failed", "error_kind": "NotFound",
                 "error": "no such notebook", "cell": None, "seconds": 0}
            print(f"{path}: FAILED (NotFound) no such notebook", flush=True)
            results.append(r)
            continue
        install_signal_handlers()  # an event loop of the previous notebook may have replaced them
        runner = Runner(path, args)
        CURRENT[:] = [runner]
        r = runner.run()
        install_signal_handlers()
        ipynb, html, export_error = export(runner.nb, args.out, path.stem, args.with_input)
        if export_error:
            r.update(status="failed", error_kind=r["error_kind"] or "ExportError",
                     error=r["error"] or export_error)
        r.update(ipynb=str(ipynb), html=str(html))
        if r["status"] == "ok":
            print(f"{path}: ok ({r['seconds']:.1f} s) -> {html}", flush=True)
        else:
            where = f" in cell {r['cell']}" if r["cell"] else ""
            first = (r["error"] or "").strip().splitlines()[0] if r["error"] else ""
            print(f"{path}: FAILED ({r['error_kind']}{where}) {first} -> {html}", flush=True)
        results.append(r)
        if runner.interrupted or INTERRUPTED:
            break
    passed = sum(1 for r in results if r["status"] == "ok")
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"passed": passed, "failed": failed, "notebooks": results}, indent=2) + "\n")
    if INTERRUPTED:
        return 130
    return 1 if failed else 0


CURRENT: list[Runner] = []
INTERRUPTED = False


def interrupt(signum, frame):
    """SIGINT/SIGTERM: kill the running kernel (the cell then fails), export, and stop."""
    global INTERRUPTED
    INTERRUPTED = True
    for r in CURRENT:
        r.interrupted = True
        r.kill_kernel()


# SIGHUP (the terminal closed) stops a run like Ctrl-C: Python's default would exit at once and leave
# the kernel (in its own session) running.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def install_signal_handlers():
    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)


def watch_parent(poll_s: float = 0.25):
    """Stops the run when the process that started this runner dies, even by SIGKILL (which it cannot
    handle): Linux's parent-death signal (prctl PR_SET_PDEATHSIG) sends SIGTERM at once, and a thread
    that polls getppid() covers the rest (the signal follows the parent's *thread*, and not every OS
    has it). Either way SIGTERM runs interrupt(): the kernel is stopped, what ran is exported."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent or parent == 1:
        return  # started by init, or the parent is already gone: nothing to watch

    def loop():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=loop, name="watch-parent", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
