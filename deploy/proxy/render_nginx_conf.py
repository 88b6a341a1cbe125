#!/usr/bin/env python3
"""Renders the session-affine nginx proxy's configuration.

deploy/proxy/nginx.conf.template is filled in for one listen address and a
list of replicas, each an instance id (the server's --instance_id) and the
host:port of its gRPC address. Standard library only.

    deploy/proxy/render_nginx_conf.py --listen 127.0.0.1:8443 --prefix /tmp/sam2-proxy \\
        --replica sam2-0=10.0.0.5:50051 --replica sam2-1=10.0.0.6:50051 \\
        --out /tmp/sam2-proxy/nginx.conf
    nginx -p /tmp/sam2-proxy -c /tmp/sam2-proxy/nginx.conf -e stderr

The prefix directory holds everything nginx writes (pid file, temp
directories, the access log when asked for), so nginx runs unprivileged.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"

# The server's instance id format (session/session_id.h).
INSTANCE_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?")
# host:port, host a name, an IPv4 address or a bracketed IPv6 address.
HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})")
# What nginx's size directives take.
SIZE = re.compile(r"[0-9]+[kKmMgG]?")

# One request message: the server's 32 MiB limit + gRPC's 5-byte header.
DEFAULT_MAX_BODY = "33m"
# A video upload stream: the server's --max_video_upload_mb default, 2 GiB.
DEFAULT_MAX_UPLOAD = "2100m"
# Words an nginx map reads as its own parameters unless escaped.
MAP_PARAMETERS = ("default", "hostnames", "include", "volatile")
ERROR_LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit")


class ConfigError(ValueError):
    """A replica, address or option that cannot go into the configuration."""


def parse_replica(text: str) -> tuple[str, str]:
    """"INSTANCE_ID=HOST:PORT" -> (instance id, host:port)."""
    instance, sep, address = text.partition("=")
    if not sep:
        raise ConfigError(f"a replica is INSTANCE_ID=HOST:PORT, not {text!r}")
    return instance, address


def map_key(instance: str) -> str:
    """An instance id as a key of an nginx map: the words that are map
    parameters (default, hostnames, include, volatile) take a backslash."""
    return "\\" + instance if instance in MAP_PARAMETERS else instance


def _check_address(what: str, address: str) -> None:
    m = HOST_PORT.fullmatch(address)
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise ConfigError(f"{what} must be HOST:PORT with a port in 1..65535, not {address!r}")


def render(listen: str, replicas: Sequence[tuple[str, str]], prefix: str, *,
           workers: int = 1, access_log: str | None = None,
           error_log_level: str = "notice", max_body: str = DEFAULT_MAX_BODY,
           max_upload: str = DEFAULT_MAX_UPLOAD, template: Path = TEMPLATE) -> str:
    """The configuration text. `replicas`: (instance id, host:port) pairs;
    `access_log`: a file for the access log (None: off)."""
    _check_address("the listen address", listen)
    if not replicas:
        raise ConfigError("at least one replica is needed")
    seen: set[str] = set()
    for instance, address in replicas:
        if INSTANCE_ID.fullmatch(instance) is None:
            raise ConfigError(
                f"instance id {instance!r} is not 1 to 32 of [a-z0-9-] without a dash at "
                "either end (the server's --instance_id format)")
        if instance in seen:
            raise ConfigError(f"instance id {instance!r} is given twice")
        seen.add(instance)
        _check_address(f"the address of replica {instance}", address)
    if not Path(prefix).is_absolute() or re.search(r"[\s;{}'\"$#]", prefix):
        raise ConfigError(f"the prefix must be an absolute path without spaces, quotes, "
                          f"';', '{{', '}}', '$' or '#', not {prefix!r}")
    if access_log is not None and re.search(r"[\s;{}'\"$#]", access_log):
        raise ConfigError(f"unusable access log path {access_log!r}")
    if workers < 1:
        raise ConfigError("workers must be at least 1")
    if error_log_level not in ERROR_LOG_LEVELS:
        raise ConfigError(f"the error log level is one of {', '.join(ERROR_LOG_LEVELS)}")
    for name, size in (("max_body", max_body), ("max_upload", max_upload)):
        if SIZE.fullmatch(size) is None:
            raise ConfigError(f"{name} must be an nginx size such as 33m, not {size!r}")

    # Upstream names are indexes: instance ids are data, not nginx syntax.
    instance_map = "\n".join(f"        {map_key(instance)} sam2_replica_{i};"
                             for i, (instance, _) in enumerate(replicas))
    any_servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=10s;  # {instance}"
                            for instance, address in replicas)
    upstreams = "\n".join(
        f"    upstream sam2_replica_{i} {{  # {instance}\n"
        f"        server {address};\n"
        f"        keepalive 8;\n"
        f"    }}"
        for i, (instance, address) in enumerate(replicas))
    values = {
        "LISTEN": listen,
        "PREFIX": prefix.rstrip("/") or "/",
        "WORKERS": str(workers),
        "ERROR_LOG_LEVEL": error_log_level,
        "ACCESS_LOG": "off" if access_log is None else f"{access_log} sam2",
        "MAX_BODY": max_body,
        "MAX_UPLOAD": max_upload,
        "INSTANCE_MAP": instance_map,
        "ANY_SERVERS": any_servers,
        "REPLICA_UPSTREAMS": upstreams,
    }
    text = template.read_text()
    for name, value in values.items():
        token = f"@{name}@"
        if token not in text:
            raise ConfigError(f"{template} has no {token}")
        text = text.replace(token, value)
    left = re.search(r"@[A-Z_]+@", text)
    if left is not None:
        raise ConfigError(f"{template}: {left.group(0)} was not filled in")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Render the session-affine nginx proxy configuration for SAM 2 replicas.")
    parser.add_argument("--listen", required=True, help="HOST:PORT nginx listens on (h2c gRPC)")
    parser.add_argument("--replica", action="append", default=[], metavar="ID=HOST:PORT",
                        help="a replica: its --instance_id and gRPC address (repeat)")
    parser.add_argument("--prefix", required=True,
                        help="absolute directory for nginx's pid file and temp files")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--access-log", help="access log file (default: none)")
    parser.add_argument("--error-log-level", default="notice", choices=ERROR_LOG_LEVELS)
    parser.add_argument("--max-body", default=DEFAULT_MAX_BODY,
                        help="largest request of a unary call (default 33m)")
    parser.add_argument("--max-upload", default=DEFAULT_MAX_UPLOAD,
                        help="largest CreateVideoSession upload stream (default 2100m)")
    parser.add_argument("--out", help="write here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text = render(args.listen, [parse_replica(r) for r in args.replica], args.prefix,
                      workers=args.workers, access_log=args.access_log,
                      error_log_level=args.error_log_level, max_body=args.max_body,
                      max_upload=args.max_upload)
    except ConfigError as e:
        print(f"render_nginx_conf.py: {e}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
