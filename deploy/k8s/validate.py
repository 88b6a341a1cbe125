#!/usr/bin/env python3
"""Renders deploy/k8s with kustomize and checks every object, offline.

Usage: validate.py --kustomize KUSTOMIZE [--nginx NGINX] [K8S_DIR]
(deploy/k8s/validate.sh finds the tools and runs this with the Python of
.venv-deploy, which scripts/install.sh fills from requirements/deploy.txt).

For each of base, overlays/cpu, overlays/gpu and overlays/cpu with
components/servicemonitor:
  1. `kustomize build` must succeed;
  2. every object must validate, strictly (an unknown field is an error),
     against the Kubernetes JSON schemas that PyPI's kubernetes-validate
     bundles, for the oldest Kubernetes these manifests support (1.30: the
     native preStop sleep action is on by default from 1.30) and the newest
     the package knows; the ServiceMonitor (a CRD, no schema offline) gets
     structural checks instead;
  3. the checks below: what matters for this service (gRPC probes on the
     gRPC port, a termination grace period that covers preStop +
     --drain_delay + --shutdown_grace, the instance id from the pod name, the
     HPA's metric and the Prometheus adapter rule, GPU requests, sizes,
     non-root pods, the proxy's nginx configuration).
With --nginx (or an `nginx` on PATH), the proxy's nginx.conf is also checked
by `nginx -t`, with the cluster's resolver and paths replaced by local ones.
Prints each failure; exits 1 when there is any, 0 otherwise.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

try:
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils
except ImportError:  # reported in main()
    kubernetes_validate = None

# The oldest Kubernetes these manifests are for; the newest is the newest
# schema kubernetes-validate bundles.
OLDEST_KUBERNETES = "1.30.0"
# What the checks expect.
GRPC_PORT = 50051
METRICS_PORT = 9090
HPA_METRIC = "sam2_worker_queue_depth"
# Host memory beyond --session_memory_mb: the model's weights, activations,
# buffers (see overlays/cpu/server-resources.yaml).
MODEL_ALLOWANCE_MIB = 4096
# Model load + warm-up may take a minute on CPU: the startup probe must allow
# at least this long.
MIN_STARTUP_SECONDS = 300
SESSION_REGEX_NGINX = "~^sessions/(?<inst>[a-z0-9-]+)-[0-9a-f]{32}$"
RENDERS = {
    "base": "base",
    "cpu": "overlays/cpu",
    "gpu": "overlays/gpu",
    "cpu+servicemonitor": None,  # written into a temporary kustomization
}
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


class Checker:
    def __init__(self):
        self.failures = []
        self.context = ""

    def fail(self, message):
        self.failures.append(f"{self.context}: {message}" if self.context else message)

    def expect(self, condition, message):
        if not condition:
            self.fail(message)
        return condition


# ---------------------------------------------------------------- parsing --

def parse_duration(text):
    """Seconds of an absl duration flag value: 90s, 1m30s, 1.5s, 250ms, 2h."""
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    if text in ("0", "-0", "+0"):
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def parse_cpu(quantity):
    """CPUs of a Kubernetes CPU quantity: 4, "4", "2500m", "0.5"."""
    text = str(quantity)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text)


def parse_memory_mib(quantity):
    """MiB of a Kubernetes memory quantity: 12Gi, 512Mi, 12G, 1e9, 1073741824."""
    text = str(quantity)
    binary = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    decimal = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    for suffix, factor in binary.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor / 2**20
    for suffix, factor in decimal.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor / 2**20
    return float(text) / 2**20


# Hosts sam2_server listens on without --insecure_listen_any
# (server/listen_policy.h; the 127.0.0.0/8 range beyond 127.0.0.1 is left out).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def flags_of(args):
    """--name=value flags of a container's args; the last one of a name wins
    (as with absl flags)."""
    flags = {}
    for arg in args or []:
        m = re.fullmatch(r"--([a-z_]+)(?:=(.*))?", str(arg))
        if m:
            flags[m.group(1)] = m.group(2) if m.group(2) is not None else "true"
    return flags


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def resolve_env(text, container, c):
    """Expands $(VAR) the way the kubelet does for args, from the container's
    env: a literal value, or limits.cpu through resourceFieldRef (divisor 1:
    rounded up). Returns None when it cannot be known offline."""
    env = {e["name"]: e for e in container.get("env", [])}

    def value(m):
        e = env.get(m.group(1))
        if e is None:
            c.fail(f"$({m.group(1)}) in args is not in the container's env")
            return m.group(0)
        if "value" in e:
            return e["value"]
        ref = e.get("valueFrom", {}).get("resourceFieldRef")
        if ref and ref.get("resource") == "limits.cpu" and str(ref.get("divisor", "1")) == "1":
            limit = container.get("resources", {}).get("limits", {}).get("cpu")
            if limit is None:
                return "<node cpus>"
            return str(math.ceil(parse_cpu(limit)))
        return "<" + m.group(1) + ">"

    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value, text)


def prestop_seconds(container):
    hook = container.get("lifecycle", {}).get("preStop")
    if not hook:
        return 0
    if "sleep" in hook:
        return int(hook["sleep"]["seconds"])
    command = hook.get("exec", {}).get("command", [])
    if len(command) == 2 and os.path.basename(command[0]) == "sleep":
        return int(command[1])
    return None


def nginx_directive(conf, name):
    m = re.search(r"^\s*" + re.escape(name) + r"\s+([^;]*);", conf, re.M)
    return m.group(1).strip() if m else None


# ------------------------------------------------------------------ checks --

def by_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def one(c, objects, kind, name=None):
    found = [o for o in by_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    c.expect(len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {len(found)}")
    return found[0] if found else None


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_schemas(c, objects):
    versions = [OLDEST_KUBERNETES, kv_utils.latest_version()]
    for obj in objects:
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in CRD_KINDS:
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                c.fail(f"{obj['kind']} {obj['metadata'].get('name')}: Kubernetes {e.version} "
                       f"schema: {path}: {e.message}")
            except (kubernetes_validate.SchemaNotFoundError,
                    kubernetes_validate.VersionNotSupportedError) as e:
                c.fail(f"{obj['kind']} {obj['metadata'].get('name')}: {e.message}")


def check_common(c, objects):
    namespaces = by_kind(objects, "Namespace")
    if not c.expect(len(namespaces) == 1, f"expected one Namespace, found {len(namespaces)}"):
        return
    ns = namespaces[0]["metadata"]["name"]
    for obj in objects:
        meta = obj["metadata"]
        what = f"{obj['kind']} {meta.get('name')}"
        if obj["kind"] != "Namespace":
            c.expect(meta.get("namespace") == ns, f"{what} is not in namespace {ns}")
        labels = meta.get("labels", {})
        c.expect(labels.get("app.kubernetes.io/part-of") == "sam2",
                 f"{what} lacks the label app.kubernetes.io/part-of: sam2")
    for kind in ("StatefulSet", "Deployment"):
        for w in by_kind(objects, kind):
            selector = w["spec"]["selector"].get("matchLabels", {})
            c.expect(labels_match(selector, w["spec"]["template"]["metadata"].get("labels", {})),
                     f"{kind} {w['metadata']['name']}: selector does not match its pod labels")
            check_pod_security(c, f"{kind} {w['metadata']['name']}", w["spec"]["template"]["spec"])
    pods = [w["spec"]["template"]["metadata"].get("labels", {})
            for w in by_kind(objects, "StatefulSet") + by_kind(objects, "Deployment")]
    for s in by_kind(objects, "Service"):
        c.expect(any(labels_match(s["spec"].get("selector"), p) for p in pods),
                 f"Service {s['metadata']['name']}: selector matches no pods")
    for p in by_kind(objects, "PodDisruptionBudget"):
        c.expect(any(labels_match(p["spec"]["selector"].get("matchLabels"), l) for l in pods),
                 f"PodDisruptionBudget {p['metadata']['name']}: selector matches no pods")


def check_pod_security(c, what, pod):
    """The "restricted" Pod Security Standard, and a read-only root FS."""
    psc = pod.get("securityContext", {})
    c.expect(pod.get("automountServiceAccountToken") is False,
             f"{what}: automountServiceAccountToken should be false")
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        sc = container.get("securityContext", {})
        name = f"{what} container {container['name']}"
        c.expect(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{name}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        c.expect(uid is None or uid != 0, f"{name}: runs as uid 0")
        c.expect(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation is not false")
        c.expect(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem is not true")
        c.expect("ALL" in sc.get("capabilities", {}).get("drop", []), f"{name}: capabilities do not drop ALL")
        c.expect(not sc.get("capabilities", {}).get("add"), f"{name}: adds capabilities")
        c.expect(not sc.get("privileged"), f"{name}: privileged")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        c.expect(seccomp in ("RuntimeDefault", "Localhost"), f"{name}: seccompProfile is not RuntimeDefault")


def mounted(container, path):
    return any(path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")
               for m in container.get("volumeMounts", []))


def check_server(c, objects, variant):
    ss = one(c, objects, "StatefulSet", "sam2")
    if ss is None:
        return
    spec = ss["spec"]
    pod = spec["template"]["spec"]
    containers = {x["name"]: x for x in pod["containers"]}
    if not c.expect("server" in containers, "StatefulSet sam2 has no container `server`"):
        return
    server = containers["server"]
    flags = flags_of(server.get("args"))

    # Services: the headless one governs the StatefulSet (per-pod DNS) and
    # keeps draining pods resolvable; the normal one has ready pods only.
    headless = [s for s in by_kind(objects, "Service") if s["metadata"]["name"] == spec.get("serviceName")]
    if c.expect(len(headless) == 1, f"serviceName {spec.get('serviceName')!r} is not a Service here"):
        h = headless[0]["spec"]
        c.expect(h.get("clusterIP") == "None", "the StatefulSet's Service is not headless (clusterIP: None)")
        c.expect(h.get("publishNotReadyAddresses") is True,
                 "the headless Service must publish not-ready pods (draining replicas keep their DNS name)")
        c.expect(labels_match(h.get("selector"), spec["template"]["metadata"]["labels"]),
                 "the headless Service does not select the server pods")
    normal = [s for s in by_kind(objects, "Service")
              if s["spec"].get("clusterIP") != "None"
              and labels_match(s["spec"].get("selector"), spec["template"]["metadata"]["labels"])]
    c.expect(len(normal) == 1, f"expected one non-headless Service over the server pods, found {len(normal)}")
    c.expect("replicas" not in spec, "StatefulSet sets replicas: the HorizontalPodAutoscaler owns the count")

    # Addresses and ports.
    grpc_port = port_of(flags.get("address", ":0"))
    http_port = port_of(flags.get("http_address", ":0"))
    c.expect(grpc_port == GRPC_PORT, f"--address port is {grpc_port}, not {GRPC_PORT}")
    c.expect(http_port == METRICS_PORT, f"--http_address port is {http_port}, not {METRICS_PORT}")
    for flag in ("address", "http_address"):
        host = flags.get(flag, "127.0.0.1:0").rsplit(":", 1)[0].strip("[]")
        c.expect(host in LOOPBACK_HOSTS or "insecure_listen_any" in flags,
                 f"--{flag} {flags.get(flag)} is off the loopback interface without "
                 "--insecure_listen_any: sam2_server would refuse to start")
    ports = {p["containerPort"] for p in server.get("ports", [])}
    c.expect({grpc_port, http_port} <= ports, f"container ports {sorted(ports)} lack {grpc_port}/{http_port}")

    # Instance id = pod name (the proxy routes on it).
    c.expect(flags.get("instance_id") == "$(POD_NAME)", "--instance_id is not $(POD_NAME)")
    env = {e["name"]: e for e in server.get("env", [])}
    c.expect(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
             "POD_NAME is not the downward API's metadata.name")

    # Probes: Kubernetes' gRPC probes on the gRPC port.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = server.get(probe)
        if c.expect(p is not None, f"server has no {probe}"):
            c.expect(p.get("grpc", {}).get("port") == grpc_port,
                     f"{probe} is not a gRPC probe on port {grpc_port}: {p}")
            c.expect(not p.get("grpc", {}).get("service"),
                     f"{probe} names a health service; the server reports the overall one (\"\")")
    sp = server.get("startupProbe") or {}
    startup = sp.get("periodSeconds", 10) * sp.get("failureThreshold", 3) + sp.get("initialDelaySeconds", 0)
    c.expect(startup >= MIN_STARTUP_SECONDS,
             f"startupProbe allows {startup} s for model load + warm-up; want >= {MIN_STARTUP_SECONDS}")

    # Graceful shutdown.
    pre = prestop_seconds(server)
    grace_period = pod.get("terminationGracePeriodSeconds", 30)
    try:
        drain = parse_duration(flags["drain_delay"])
        shutdown = parse_duration(flags["shutdown_grace"])
    except (KeyError, ValueError) as e:
        c.fail(f"--drain_delay and --shutdown_grace must be set explicitly as durations ({e})")
    else:
        if c.expect(pre is not None and pre > 0, "server has no preStop sleep"):
            c.expect(grace_period >= pre + drain + shutdown,
                     f"terminationGracePeriodSeconds {grace_period} < preStop {pre} + --drain_delay "
                     f"{drain:g} + --shutdown_grace {shutdown:g}")
        c.expect(shutdown > drain, f"--shutdown_grace {shutdown:g} s must exceed --drain_delay {drain:g} s "
                                   "(the delay is part of the grace)")

    # Metrics discovery.
    ann = spec["template"]["metadata"].get("annotations", {})
    c.expect(ann.get("prometheus.io/scrape") == "true", "pods lack prometheus.io/scrape: \"true\"")
    c.expect(ann.get("prometheus.io/port") == str(http_port), f"prometheus.io/port is not \"{http_port}\"")
    c.expect(ann.get("prometheus.io/path") == "/metrics", "prometheus.io/path is not /metrics")

    # Read-only root FS: what the server writes and reads is mounted.
    for flag in ("checkpoint", "upload_dir"):
        if c.expect(flag in flags, f"--{flag} is not set"):
            c.expect(mounted(server, flags[flag]), f"--{flag}={flags[flag]} is on no volume")
    c.expect(mounted(server, "/tmp"), "/tmp is on no volume (read-only root file system)")

    # Sizes: the overlays set them.
    if variant == "base":
        return
    c.expect(not server["image"].endswith("sam2-server") and ":" in server["image"],
             f"server image {server['image']!r} has no tag")
    resources = server.get("resources", {})
    limits, requests = resources.get("limits", {}), resources.get("requests", {})
    for res in ("cpu", "memory"):
        c.expect(res in limits and res in requests, f"server resources lack {res} requests and limits")
    if "cpu" in limits:
        threads = resolve_env(flags.get("intra_op_threads", "0"), server, c)
        c.expect(threads == str(math.ceil(parse_cpu(limits["cpu"]))),
                 f"--intra_op_threads is {threads}, not the CPU limit {limits['cpu']}")
    if "memory" in limits:
        budget = int(flags.get("session_memory_mb", "8192"))
        c.expect(parse_memory_mib(limits["memory"]) >= budget + MODEL_ALLOWANCE_MIB,
                 f"memory limit {limits['memory']} < --session_memory_mb {budget} + {MODEL_ALLOWANCE_MIB} MiB "
                 "for the model")
        c.expect(requests.get("memory") == limits["memory"],
                 "memory request != limit (an OOM kill loses the replica's sessions)")
    gpus = limits.get("nvidia.com/gpu")
    if variant == "gpu":
        c.expect(gpus is not None and int(gpus) >= 1, "the gpu overlay does not request nvidia.com/gpu")
        c.expect(requests.get("nvidia.com/gpu", gpus) == gpus, "nvidia.com/gpu request != limit")
        c.expect(pod.get("nodeSelector") or pod.get("affinity"), "the gpu overlay places pods nowhere in particular")
        c.expect(any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])),
                 "the gpu overlay does not tolerate the nvidia.com/gpu taint")
        c.expect(server["image"].endswith(":cuda"), f"the gpu overlay's image {server['image']!r} is not :cuda")
    else:
        c.expect(gpus is None, "the cpu overlay requests GPUs")


def check_hpa(c, objects, adapter_rules):
    hpa = one(c, objects, "HorizontalPodAutoscaler", "sam2")
    if hpa is None:
        return
    c.expect(hpa["apiVersion"] == "autoscaling/v2", "HPA is not autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    c.expect(ref.get("kind") == "StatefulSet" and
             any(s["metadata"]["name"] == ref.get("name") for s in by_kind(objects, "StatefulSet")),
             f"HPA targets {ref}, not the server StatefulSet")
    metrics = hpa["spec"].get("metrics", [])
    names = [m["pods"]["metric"]["name"] for m in metrics if m.get("type") == "Pods"]
    c.expect(names == [HPA_METRIC], f"HPA Pods metrics are {names}, not [{HPA_METRIC}]")
    served = set()
    for rule in adapter_rules.get("rules", []):
        if HPA_METRIC not in rule.get("seriesQuery", ""):
            continue
        overrides = rule.get("resources", {}).get("overrides", {})
        c.expect(overrides.get("pod", {}).get("resource") == "pod" and
                 overrides.get("namespace", {}).get("resource") == "namespace",
                 "the adapter rule does not map the pod and namespace labels to their resources")
        c.expect("<<.GroupBy>>" in rule.get("metricsQuery", ""), "the adapter rule's query does not group by pod")
        served.add(rule.get("name", {}).get("as") or HPA_METRIC)
    for name in names:
        c.expect(name in served, f"no Prometheus adapter rule serves the HPA's metric {name}")


def check_proxy(c, objects):
    deploy = one(c, objects, "Deployment", "sam2-proxy")
    if deploy is None:
        return
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # Its ConfigMap, through the (hashed) name of its volume.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    maps = {m["metadata"]["name"]: m for m in by_kind(objects, "ConfigMap")}
    config_mount = next((m for m in container.get("volumeMounts", [])
                         if "configMap" in volumes.get(m["name"], {})), None)
    if not c.expect(config_mount is not None, "the proxy mounts no ConfigMap"):
        return
    cm = maps.get(volumes[config_mount["name"]]["configMap"]["name"])
    if not c.expect(cm is not None, "the proxy's ConfigMap is not rendered"):
        return
    data = cm.get("data", {})
    if not c.expect({"nginx.conf", "cluster.conf"} <= set(data), "the proxy's ConfigMap lacks nginx.conf/cluster.conf"):
        return
    conf, cluster = data["nginx.conf"], data["cluster.conf"]
    mount = config_mount["mountPath"].rstrip("/")
    command = "\n".join(container.get("command", []) + container.get("args", []))
    c.expect(f"-c {mount}/nginx.conf" in command, f"the proxy does not start nginx with {mount}/nginx.conf")
    c.expect(f"include {mount}/cluster.conf;" in conf, f"nginx.conf does not include {mount}/cluster.conf")
    ns_file = re.search(r"include (/\S+namespace\.conf);", conf)
    if c.expect(ns_file is not None, "nginx.conf includes no namespace.conf"):
        c.expect(f"> {ns_file.group(1)}" in command and "$POD_NAMESPACE" in command,
                 "the proxy's start command does not write the namespace nginx.conf includes")
        env = {e["name"]: e for e in container.get("env", [])}
        c.expect(env.get("POD_NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                 == "metadata.namespace", "POD_NAMESPACE is not the downward API's metadata.namespace")
        c.expect(mounted(container, os.path.dirname(ns_file.group(1))), f"{ns_file.group(1)} is on no volume")

    # Routing: the session's instance id -> that pod's DNS name through the
    # headless Service; none -> the normal Service.
    c.expect(f'"{SESSION_REGEX_NGINX}" $inst;' in conf, "nginx.conf lacks the session-name map")
    pattern = re.compile(SESSION_REGEX_NGINX[1:].replace("(?<", "(?P<"))
    for session, instance in (("sessions/sam2-0-" + "0123456789abcdef" * 2, "sam2-0"),
                              ("sessions/sam2-12-" + "f" * 32, "sam2-12"),
                              ("sessions/b0f6f717701e423b-" + "a" * 32, "b0f6f717701e423b"),
                              ("sessions/sam2-0-" + "a" * 31, None),
                              ("sessions/Sam2-0-" + "a" * 32, None),
                              ("sam2-0-" + "a" * 32, None)):
        m = pattern.match(session)
        c.expect((m.group("inst") if m else None) == instance, f"the session map reads {session!r} wrong")
    c.expect("grpc_pass grpc://$sam2_upstream;" in conf, "nginx.conf does not grpc_pass to $sam2_upstream")
    upstream = re.search(r"map \$sam2_instance \$sam2_upstream \{(.*?)\}", conf, re.S)
    if c.expect(upstream is not None, "nginx.conf lacks the $sam2_upstream map"):
        body = re.sub(r"\s+", " ", upstream.group(1))
        c.expect(f'"" $sam2_service.$sam2_namespace.svc.$sam2_cluster_domain:{GRPC_PORT};' in body,
                 "calls without a session do not go to the Service")
        c.expect(f"default $sam2_instance.$sam2_headless_service.$sam2_namespace.svc.$sam2_cluster_domain:"
                 f"{GRPC_PORT};" in body, "calls with a session do not go to their pod's DNS name")
    names = dict(re.findall(r"map \$host \$(\w+) \{ default ([^;]+); \}", cluster))
    sts = by_kind(objects, "StatefulSet")
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    if sts:
        headless = sts[0]["spec"].get("serviceName")
        c.expect(names.get("sam2_headless_service") == headless,
                 f"cluster.conf names the headless Service {names.get('sam2_headless_service')!r}, not {headless!r}")
        svc = services.get(names.get("sam2_service"))
        c.expect(svc is not None and svc["spec"].get("clusterIP") != "None" and
                 labels_match(svc["spec"].get("selector"), sts[0]["spec"]["template"]["metadata"]["labels"]),
                 f"cluster.conf's Service {names.get('sam2_service')!r} is not the server's Service")
    c.expect(nginx_directive(cluster, "resolver") is not None, "cluster.conf sets no resolver")

    # The gRPC listener and the unreachable replica's answer.
    c.expect(re.search(rf"^\s*listen {GRPC_PORT}( http2)?;", conf, re.M) is not None,
             f"nginx does not listen on {GRPC_PORT}")
    c.expect(re.search(r"^\s*http2 on;|listen \d+ http2;", conf, re.M) is not None, "nginx does not speak h2c")
    gone = re.search(r"error_page 502 = (@\w+);", conf)
    if c.expect(gone is not None, "nginx.conf does not map 502 to a named location"):
        loc = re.search(r"location " + re.escape(gone.group(1)) + r" \{(.*?)\}", conf, re.S)
        body = loc.group(1) if loc else ""
        # HTTP 200 + the status in trailers: what every gRPC client reads
        # (grpc-go refuses a 204 whatever its headers say).
        c.expect("return 200;" in body, f"{gone.group(1)} does not answer HTTP 200")
        c.expect("default_type application/grpc;" in body, f"{gone.group(1)}: content-type is not application/grpc")
        c.expect("add_trailer grpc-status $sam2_gone_status always;" in body, f"{gone.group(1)}: no grpc-status")
        c.expect("add_trailer grpc-message $sam2_gone_message always;" in body, f"{gone.group(1)}: no grpc-message")
        status = re.search(r"map \$sam2_instance \$sam2_gone_status \{(.*?)\}", conf, re.S)
        c.expect(status is not None and re.search(r"default 5;", status.group(1)) is not None,
                 "a session whose replica is gone does not get NOT_FOUND (5)")
        c.expect(conf.count("error_page 502 = " + gone.group(1)) == conf.count("grpc_pass "),
                 "a grpc_pass location lacks the error_page 502")
    large = re.search(r"error_page 413 = (@\w+);", conf)
    if c.expect(large is not None, "nginx.conf does not map 413 (body too large) to a named location"):
        loc = re.search(r"location " + re.escape(large.group(1)) + r" \{(.*?)\}", conf, re.S)
        c.expect(loc is not None and "add_trailer grpc-status 8 always;" in loc.group(1),
                 f"{large.group(1)} does not answer RESOURCE_EXHAUSTED (8)")
        c.expect(conf.count("error_page 413 = " + large.group(1)) == conf.count("grpc_pass "),
                 "a grpc_pass location lacks the error_page 413")
    c.expect(nginx_directive(conf, "grpc_read_timeout") == "1h", "grpc_read_timeout is not 1h")
    # A unary call's body: one message of up to the server's 32 MiB + 5 bytes
    # of framing must pass.
    body = nginx_directive(conf, "client_max_body_size") or "0"
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    limit = int(body[:-1]) * units[body[-1].lower()] if body[-1].lower() in units else int(body)
    c.expect(32 * 2**20 + 5 <= limit <= 64 * 2**20,
             f"client_max_body_size {body} is not between 32 MiB + 5 bytes and 64 MiB")

    # Sizes and shutdown.
    cpu = container.get("resources", {}).get("limits", {}).get("cpu")
    workers = nginx_directive(conf, "worker_processes")
    c.expect(cpu is not None and workers == str(math.ceil(parse_cpu(cpu))),
             f"nginx worker_processes {workers} != the proxy's CPU limit {cpu}")
    pre = prestop_seconds(container) or 0
    shutdown = parse_duration(nginx_directive(conf, "worker_shutdown_timeout") or "0")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    c.expect(grace >= pre + shutdown,
             f"proxy terminationGracePeriodSeconds {grace} < preStop {pre} + worker_shutdown_timeout {shutdown:g}")
    c.expect(mounted(container, "/tmp"), "the proxy's /tmp is on no volume (read-only root file system)")
    c.expect(all(p.startswith("/tmp/") for p in re.findall(r"_temp_path (\S+);", conf)) and
             len(re.findall(r"_temp_path (\S+);", conf)) == 5, "nginx's temp paths are not all under /tmp")
    c.expect(nginx_directive(conf, "pid") == "/tmp/nginx.pid", "nginx's pid file is not under /tmp")
    for probe in ("readinessProbe", "livenessProbe"):
        c.expect(probe in container, f"the proxy has no {probe}")


def check_servicemonitor(c, objects):
    monitors = by_kind(objects, "ServiceMonitor")
    if not c.expect(len(monitors) == 1, f"expected one ServiceMonitor, found {len(monitors)}"):
        return
    sm = monitors[0]
    c.expect(sm["apiVersion"] == "monitoring.coreos.com/v1", "ServiceMonitor is not monitoring.coreos.com/v1")
    c.expect(set(sm).issubset({"apiVersion", "kind", "metadata", "spec"}), "ServiceMonitor has unknown top-level fields")
    spec = sm.get("spec", {})
    c.expect(set(spec).issubset({"selector", "endpoints", "namespaceSelector", "jobLabel"}),
             f"ServiceMonitor spec has unexpected fields {sorted(spec)}")
    selected = [s for s in by_kind(objects, "Service")
                if labels_match(spec.get("selector", {}).get("matchLabels"), s["metadata"].get("labels", {}))
                and s["metadata"].get("namespace") == sm["metadata"].get("namespace")]
    endpoints = spec.get("endpoints", [])
    c.expect(endpoints, "ServiceMonitor has no endpoints")
    for ep in endpoints:
        c.expect(set(ep).issubset({"port", "path", "interval", "scrapeTimeout", "scheme"}),
                 f"ServiceMonitor endpoint has unexpected fields {sorted(ep)}")
        scraped = [s for s in selected if any(p.get("name") == ep.get("port") for p in s["spec"]["ports"])]
        c.expect(len(scraped) == 1, f"ServiceMonitor port {ep.get('port')!r} is on {len(scraped)} of the selected "
                                    "Services, not exactly one" + (" (each pod would be scraped twice)" if scraped else ""))
        for s in scraped:
            port = next(p for p in s["spec"]["ports"] if p.get("name") == ep.get("port"))
            c.expect(port["port"] == METRICS_PORT, f"ServiceMonitor scrapes port {port['port']}, not {METRICS_PORT}")
        c.expect(ep.get("path", "/metrics") == "/metrics", "ServiceMonitor path is not /metrics")


def nginx_test(c, nginx, k8s_dir):
    """`nginx -t` on the proxy's configuration, with the cluster's resolver,
    the mount paths and the namespace file replaced by local ones."""
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    if not c.expect(m is not None, f"{nginx} -v says {version!r}"):
        return
    work = tempfile.mkdtemp(prefix="sam2-nginx-")
    try:
        conf = open(os.path.join(k8s_dir, "base/proxy/nginx.conf")).read()
        cluster = open(os.path.join(k8s_dir, "base/proxy/cluster.conf")).read()
        conf = re.sub(r"(/etc/sam2-proxy|/tmp)/", lambda _: work + "/", conf)
        if tuple(map(int, m.groups())) < (1, 25, 1):  # before `http2 on;`
            conf = re.sub(r"listen (\d+);\n(\s*)http2 on;\n", r"listen \1 http2;\n", conf)
        cluster = re.sub(r"resolver \S+", "resolver 127.0.0.1", cluster)
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(work, "cluster.conf"), "w") as f:
            f.write(cluster)
        with open(os.path.join(work, "namespace.conf"), "w") as f:
            f.write("map $host $sam2_namespace { default sam2; }\n")
        r = subprocess.run([nginx, "-t", "-p", work, "-c", os.path.join(work, "nginx.conf"),
                            "-e", os.path.join(work, "error.log")], capture_output=True, text=True)
        print(f"nginx -t ({m.group(0)}): " + r.stderr.strip().replace("\n", "\n  "))
        c.expect(r.returncode == 0, f"nginx -t failed: {r.stderr.strip()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -------------------------------------------------------------------- main --

def render(c, kustomize, k8s_dir, path):
    with tempfile.TemporaryDirectory(prefix="sam2-kustomize-") as tmp:
        target = os.path.join(k8s_dir, path) if path else tmp
        if path is None:  # the cpu overlay with the ServiceMonitor component
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                        f"resources:\n- {os.path.relpath(os.path.join(k8s_dir, 'overlays/cpu'), tmp)}\n"
                        f"components:\n- {os.path.relpath(os.path.join(k8s_dir, 'components/servicemonitor'), tmp)}\n")
            path = "overlays/cpu + components/servicemonitor"
        r = subprocess.run([kustomize, "build", target], capture_output=True, text=True)
    if r.returncode != 0:
        c.fail(f"kustomize build {path} failed: {r.stderr.strip()}")
        return None
    try:
        objects = [o for o in yaml.safe_load_all(r.stdout) if o]
    except yaml.YAMLError as e:
        c.fail(f"kustomize build {path} printed no YAML: {e}")
        return None
    return objects


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kustomize", required=True)
    parser.add_argument("--nginx", help="an nginx binary for `nginx -t` (default: nginx on PATH, if any)")
    parser.add_argument("k8s_dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    if kubernetes_validate is None:
        print("validate.py: kubernetes-validate is not installed in this Python", file=sys.stderr)
        return 2
    k8s_dir = os.path.abspath(args.k8s_dir)
    c = Checker()
    with open(os.path.join(k8s_dir, "prometheus-adapter-rules.yaml")) as f:
        adapter_rules = yaml.safe_load(f)
    print(f"kubernetes-validate {kubernetes_validate.__version__}: schemas of Kubernetes "
          f"{OLDEST_KUBERNETES} and {kv_utils.latest_version()}, strict")
    for name, path in RENDERS.items():
        c.context = name
        before = len(c.failures)
        objects = render(c, args.kustomize, k8s_dir, path)
        if objects is None:
            continue
        check_schemas(c, objects)
        check_common(c, objects)
        check_server(c, objects, name.split("+")[0])
        check_hpa(c, objects, adapter_rules)
        check_proxy(c, objects)
        if name.endswith("+servicemonitor"):
            check_servicemonitor(c, objects)
        else:
            c.expect(not by_kind(objects, "ServiceMonitor"), "renders a ServiceMonitor (CRD) outside the component")
        kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        status = "ok" if len(c.failures) == before else f"{len(c.failures) - before} failure(s)"
        print(f"{name}: {len(objects)} objects ({', '.join(kinds)}): {status}")
    c.context = "nginx"
    nginx = args.nginx or shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if nginx:
        nginx_test(c, nginx, k8s_dir)
    else:
        print("nginx -t: skipped (no nginx here; the checks above still read nginx.conf)")
    for failure in c.failures:
        print("FAIL: " + failure)
    print(f"deploy/k8s: {'FAILED, ' + str(len(c.failures)) + ' failure(s)' if c.failures else 'all checks passed'}")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
