"""python -m dvpsim --listen 127.0.0.1:PORT --kubeconfig PATH [--demo] [--state PATH] [--speed FACTOR]
[--feature-gate USB]"""

import argparse
import asyncio
import importlib
import inspect
import logging
import signal
import sys

from aiohttp import web

from . import bootstrap, kubeconfig, state, tls
from .cluster import Cluster
from .faults import Fault
from .registry_server import RegistryAuth
from .server import build_app


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m dvpsim", description="A simulated DVP cluster on loopback.")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 picks a free one)")
    p.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    p.add_argument("--demo", action="store_true", help="seed demo projects, users and virtual machines")
    p.add_argument("--state", help="JSON file to restore from and save to")
    p.add_argument("--speed", type=float, default=1.0, help="simulated time runs this many times faster")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help='inject a fault, e.g. "verb=list,resource=virtualmachines,status=500" or '
                        '"resource=virtualimages,latency=0.5" or "verb=watch,drop_after=5" (repeatable)')
    p.add_argument("--registry-auth", metavar="USER:PASSWORD",
                   help="the built-in container registry (/v2/) demands these credentials")
    p.add_argument("--registry-auth-scheme", choices=("bearer", "basic"), default="bearer",
                   help="how the built-in registry asks for them: a Bearer token flow (default) or Basic")
    p.add_argument("--feature-gate", action="append", default=[], choices=("USB",),
                   help="turn on an Enterprise Edition feature of DVP (repeatable): USB = USB device passthrough")
    p.add_argument("--watch-history", type=int, default=20000, help="watch events kept for resuming (410 after)")
    return p.parse_args(argv)


async def run(args):
    host, _, port = args.listen.rpartition(":")
    cluster = Cluster(speed=args.speed, history_size=args.watch_history)
    cluster.feature_gates.update(args.feature_gate)
    for spec in args.fault:
        cluster.faults.add(Fault.parse(spec))
    cluster.registry_auth = RegistryAuth(args.registry_auth, args.registry_auth_scheme)
    restored = state.load(cluster, args.state)
    saver = state.Saver(cluster, args.state) if args.state else None
    bootstrap.install(cluster)

    runner = web.AppRunner(build_app(cluster), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or "127.0.0.1", int(port or 0))
    await site.start()
    bound = site._server.sockets[0].getsockname()
    cluster.url = f"http://{bound[0]}:{bound[1]}"
    cluster.oidc.url = f"{cluster.url}/dex"
    # kubectl sends credentials only over TLS: serve HTTPS too and point the kubeconfig at it.
    cert_pem, key_pem = tls.self_signed(bound[0])
    tls_site = web.TCPSite(runner, bound[0], 0, ssl_context=tls.server_context(cert_pem, key_pem))
    await tls_site.start()
    tls_port = tls_site._server.sockets[0].getsockname()[1]
    cluster.tls_url = f"https://{bound[0]}:{tls_port}"

    cluster.start_controllers()
    if args.demo and not restored:
        seed = importlib.import_module("dvpsim.demo").seed
        result = seed(cluster)
        if inspect.isawaitable(result):
            await result
    if args.demo:
        importlib.import_module("dvpsim.demo").oidc_accounts(cluster.oidc)
        importlib.import_module("dvpsim.demo").usb_devices(cluster)
    kubeconfig.write(cluster, args.kubeconfig, server=cluster.tls_url, ca_pem=cert_pem)
    print(f"dvpsim ready: {cluster.url} kubeconfig={args.kubeconfig}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    await cluster.stop()
    if saver:
        saver.flush()
    await runner.cleanup()


def main(argv=None):
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
