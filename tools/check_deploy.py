#!/usr/bin/env python3
"""Checks deploy/ with the tools that run here (meson test, suite deploy).

    check_deploy.py --source-root DIR --app BUILD/test/deploy_app
    check_deploy.py --source-root DIR --write-configmaps

docs/deployment.md ("Checks") says what each check runs and what cannot be
run here (Fluent Bit, Loki, kubectl, Grafana). In short:

  yaml        every YAML file of the repository parses (PyYAML) and passes
              yamllint with .yamllint; every JSON file parses
  configmaps  the ConfigMaps' data are byte-identical to the files in deploy/
              (--write-configmaps regenerates them)
  k8s         structure of the manifests: names, selectors, containers,
              volumes and mounts, ConfigMaps, env, probes, ports, the log
              volume at /var/log/agora, and the Fluent Bit containers' view
              (config, parsers, Lua script, DB, tailed paths, ${VARS})
  fluent-bit  the classic config files parsed as Fluent Bit reads them:
              sections, known keys, the parser, the Lua script and function
  app         agora-log itself (deploy_app) run with each application
              container's environment resolved as the kubelet would
              (ConfigMaps written to the mounts, downward API, Secret): the
              ENVIRONMENT it resolves to is accepted, and the seed's
              ENVIRONMENT=<namespace> is refused
  lua         extract_service.lua under LuaJIT on the real entries and on
              made-up records; then the Loki output's labels and line modelled
              on the result
  time        the parser's Time_Format applied to the timestamp of every real
              line (%L as fractional seconds), and every line against the
              schema
  prometheus  promtool check/test of the rules, promtool check config, and a
              real Prometheus scraping deploy_app's admin endpoint: every
              PromQL expression of the dashboard and the rules evaluated
  dashboard   the Grafana JSON model; its PromQL and LogQL names checked
              against the metrics and the labels Fluent Bit sends
  loki        the Loki config's retention and the settings Loki 3 requires
"""

import argparse
import fnmatch
import glob
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover
    sys.exit(f"check_deploy: {e} (Debian: apt-get install python3-yaml python3-jsonschema)")

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_DIR = "/var/log/agora"

# Which file of the repository each ConfigMap key carries.
CONFIGMAPS = {
    "deploy/k8s/common/logging-configmap.yaml": (
        "agora-logging-config", {"logging.yaml": "deploy/logging.yaml"}),
    "deploy/k8s/sidecar/fluent-bit-configmap.yaml": (
        "fluent-bit-config", {
            "fluent-bit.conf": "deploy/fluent-bit/fluent-bit.conf",
            "parsers.conf": "deploy/fluent-bit/parsers.conf",
            "extract_service.lua": "deploy/fluent-bit/extract_service.lua",
        }),
    "deploy/k8s/daemonset/collector/fluent-bit-configmap.yaml": (
        "fluent-bit-daemonset-config", {
            "fluent-bit-daemonset.conf": "deploy/fluent-bit/fluent-bit-daemonset.conf",
            "parsers.conf": "deploy/fluent-bit/parsers.conf",
            "extract_service.lua": "deploy/fluent-bit/extract_service.lua",
        }),
}

# The application workloads: the manifest, its application container, and
# the collector that reads its files (a container of the same pod, or the
# DaemonSet of another manifest).
APPS = [
    {"name": "sidecar", "manifest": "deploy/k8s/sidecar/market-data-deployment.yaml",
     "container": "market-data",
     "collector": ("deploy/k8s/sidecar/market-data-deployment.yaml", "fluent-bit")},
    {"name": "daemonset", "manifest": "deploy/k8s/daemonset/app/market-data-deployment.yaml",
     "container": "market-data",
     "collector": ("deploy/k8s/daemonset/collector/fluent-bit-daemonset.yaml", "fluent-bit")},
]

# The pod the checks pretend the kubelet made. Its namespace is deliberately
# not an environment agora-log accepts: ENVIRONMENT must not come from it.
POD_NAMESPACE = "agora-prod"
POD_SUFFIX = "-7d9f8b6c5-x2k7q"
SECRET_STANDIN = "deploy-check-token"

DASHBOARD = "deploy/grafana/agora-logging-dashboard.json"
RULES = "deploy/prometheus/agora-logging-rules.yml"
RULES_TEST = "deploy/prometheus/agora-logging-rules.test.yml"
PROM_CONFIG = "deploy/prometheus/prometheus.yml"
LOKI_CONFIG = "deploy/loki/loki-config.yml"
SCHEMA = "test/data/log-entry.schema.json"

# Series created only once their event happens: a query on them may answer
# an empty vector on a fresh process.
LAZY_METRICS = {
    "agora_log_sampled_out_total": "created when a logger first samples a record out",
    "agora_log_rate_limited_total": "created when a logger's rate limit first suppresses a record",
    "agora_log_handler_errors_total": "created when a handler first throws",
}

# Keys Fluent Bit accepts, per section / plugin, for what deploy/ uses (from
# the Fluent Bit manual); a typo would otherwise be an error only at start-up.
FLUENT_BIT_KEYS = {
    "SERVICE": {"flush", "daemon", "log_level", "log_file", "parsers_file", "plugins_file",
                "http_server", "http_listen", "http_port", "health_check", "hc_errors_count",
                "hc_retry_failure_count", "hc_period", "grace", "storage.path", "storage.sync",
                "storage.metrics", "storage.backlog.mem_limit"},
    "INPUT:tail": {"name", "tag", "path", "path_key", "exclude_path", "offset_key", "read_from_head",
                   "refresh_interval", "rotate_wait", "db", "db.sync", "db.locking", "db.journal_mode",
                   "mem_buf_limit", "buffer_chunk_size", "buffer_max_size", "skip_long_lines",
                   "skip_empty_lines", "parser", "key", "tag_regex", "ignore_older", "multiline.parser",
                   "docker_mode", "storage.type", "inotify_watcher", "alias", "threaded"},
    "FILTER:lua": {"name", "match", "match_regex", "script", "call", "code", "type_int_key",
                   "type_array_key", "protected_mode", "time_as_table", "alias"},
    "OUTPUT:loki": {"name", "match", "match_regex", "host", "port", "uri", "tls", "tls.verify",
                    "http_user", "http_passwd", "bearer_token", "header", "tenant_id", "tenant_id_key",
                    "labels", "label_keys", "label_map_path", "structured_metadata",
                    "structured_metadata_map_keys", "remove_keys", "drop_single_key", "line_format",
                    "auto_kubernetes_labels", "compress", "buffer_size", "workers", "retry_limit", "alias",
                    "net.keepalive"},
    "PARSER": {"name", "format", "regex", "time_key", "time_format", "time_keep", "time_offset",
               "time_strict", "decode_field", "decode_field_as", "types", "skip_empty_values"},
}

# Root blocks of a Loki 3 configuration file.
LOKI_ROOT_KEYS = {
    "target", "auth_enabled", "ballast_bytes", "server", "distributor", "querier", "query_scheduler",
    "frontend", "query_range", "ruler", "ingester_client", "ingester", "pattern_ingester",
    "index_gateway", "bloom_build", "bloom_gateway", "storage_config", "chunk_store_config",
    "schema_config", "compactor", "limits_config", "frontend_worker", "table_manager",
    "runtime_config", "operational_config", "tracing", "analytics", "common", "memberlist",
    "kafka_config", "ui", "overrides_exporter", "tenant_configs",
}


class Checks:
    """Runs named checks, times them, and collects failures (a check goes on
    after a failed assertion where it can, so one run reports them all)."""

    def __init__(self):
        self.failures = []
        self.current = None
        self.timings = []

    def fail(self, message):
        self.failures.append(f"[{self.current}] {message}")
        print(f"FAIL [{self.current}] {message}", flush=True)

    def expect(self, condition, message):
        if not condition:
            self.fail(message)
        return bool(condition)

    def run(self, name, fn, *args):
        self.current = name
        start = time.monotonic()
        before = len(self.failures)
        try:
            result = fn(*args)
        except CheckError as e:
            self.fail(str(e))
            result = None
        elapsed = time.monotonic() - start
        self.timings.append((name, elapsed))
        status = "ok" if len(self.failures) == before else "FAILED"
        print(f"check {name}: {status} ({elapsed:.2f} s)", flush=True)
        return result


class CheckError(Exception):
    """A check that cannot go on."""


C = Checks()


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def load_yaml_docs(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def repo_files(root, suffixes):
    """Files of the repository with one of the suffixes, outside build
    directories (anything holding meson-private), .git and subprojects."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in (".git", "subprojects", "__pycache__")
                             and not os.path.isdir(os.path.join(dirpath, d, "meson-private")))
        for f in sorted(filenames):
            if f.endswith(suffixes):
                out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8")


def poll(what, fn, deadline_s=20.0):
    """Calls fn until it returns something true, for at most deadline_s
    (for external processes only; each attempt is a real request)."""
    end = time.monotonic() + deadline_s
    last_error = None
    while time.monotonic() < end:
        try:
            value = fn()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as e:
            last_error = e
        time.sleep(0.1)  # pacing between attempts, not synchronisation
    raise CheckError(f"timed out after {deadline_s:.0f} s waiting for {what}"
                     + (f" (last error: {last_error})" if last_error else ""))


# ---------------------------------------------------------------- yaml/json

def check_yaml_json(root):
    yaml_files = repo_files(root, (".yaml", ".yml"))
    C.expect(len(yaml_files) >= 10, f"only {len(yaml_files)} YAML files found: {yaml_files}")
    for rel in yaml_files:
        try:
            load_yaml_docs(root, rel)
        except yaml.YAMLError as e:
            C.fail(f"{rel}: not YAML: {e}")
    config = os.path.join(root, ".yamllint")
    C.expect(os.path.isfile(config), ".yamllint is missing")
    r = subprocess.run(["yamllint", "-f", "parsable", "-c", config] + yaml_files, cwd=root,
                       capture_output=True, text=True)
    C.expect(r.returncode == 0 and not r.stdout.strip(),
             f"yamllint (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    json_files = repo_files(root, (".json",))
    C.expect(DASHBOARD in json_files, f"{DASHBOARD} not found")
    for rel in json_files:
        try:
            json.loads(read(root, rel))
        except ValueError as e:
            C.fail(f"{rel}: not JSON: {e}")
    print(f"  {len(yaml_files)} YAML files (yamllint), {len(json_files)} JSON files")


# ---------------------------------------------------------------- configmaps

def render_configmap(name, files, root, source_note):
    lines = [f"# Generated by tools/check_deploy.py --write-configmaps from {source_note}:",
             "# edit those files and regenerate; the deploy test fails while they differ.",
             "apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}", "  labels:",
             "    app.kubernetes.io/part-of: agora", "data:"]
    for key, rel in files.items():
        text = read(root, rel)
        if not text.endswith("\n") or text.endswith("\n\n") or text[:1].isspace():
            raise CheckError(f"{rel}: must end with exactly one newline and not start with a blank "
                             "(a YAML literal block keeps it byte for byte only then)")
        lines.append(f"  {key}: |")
        for line in text[:-1].split("\n"):
            lines.append(f"    {line}" if line else "")
    return "\n".join(lines) + "\n"


def write_configmaps(root):
    for rel, (name, files) in CONFIGMAPS.items():
        notes = sorted({os.path.dirname(f) + "/" for f in files.values()})
        text = render_configmap(name, files, root, ", ".join(notes))
        with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {rel}")


def check_configmaps(root):
    found = {}
    for rel in repo_files(os.path.join(root, "deploy", "k8s"), (".yaml", ".yml")):
        path = os.path.join("deploy", "k8s", rel)
        for doc in load_yaml_docs(root, path):
            if doc.get("kind") == "ConfigMap":
                found[doc["metadata"]["name"]] = (path, doc)
    expected_names = {name for name, _ in CONFIGMAPS.values()}
    C.expect(set(found) == expected_names,
             f"ConfigMaps in deploy/k8s {sorted(found)} != the ones generated from deploy/ {sorted(expected_names)}")
    for rel, (name, files) in CONFIGMAPS.items():
        if name not in found:
            continue
        path, doc = found[name]
        C.expect(path == rel, f"ConfigMap {name} is in {path}, expected {rel}")
        data = doc.get("data") or {}
        C.expect(set(data) == set(files), f"{rel}: data keys {sorted(data)} != {sorted(files)}")
        for key, src in files.items():
            if key in data:
                C.expect(data[key] == read(root, src),
                         f"{rel}: data[{key!r}] differs from {src} "
                         "(run tools/check_deploy.py --source-root . --write-configmaps)")
        notes = sorted({os.path.dirname(f) + "/" for f in files.values()})
        C.expect(read(root, rel) == render_configmap(name, files, root, ", ".join(notes)),
                 f"{rel} is not what --write-configmaps writes")
    return {name: doc for name, (path, doc) in found.items()}


# ---------------------------------------------------------------- fluent bit

def parse_fluent_bit(text, rel):
    """The classic format as Fluent Bit's own reader takes it
    (src/config_format/flb_cf_fluentbit.c): '#' comments, [SECTION] headers
    at column 0, one indentation for every key, a key and a non-empty value
    separated by blanks. Returns [(SECTION, {key_lower: value}, line)]."""
    sections = []
    indent = None
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise CheckError(f"{rel}:{n}: @INCLUDE/@SET are not used in deploy/")
        if line.startswith("["):
            m = re.fullmatch(r"\[([A-Z_]+)\]\s*", line)
            if not m:
                raise CheckError(f"{rel}:{n}: bad section header {line!r}")
            sections.append((m.group(1), {}, n))
            continue
        if indent is None:
            indent = re.match(r"[ \t]*", line).group(0)
            if not indent:
                raise CheckError(f"{rel}:{n}: a key outside a section or without indentation")
        if not line.startswith(indent) or line[len(indent)] in " \t":
            raise CheckError(f"{rel}:{n}: invalid indentation level")
        body = line[len(indent):]
        if body.startswith("#"):
            continue
        if not sections:
            raise CheckError(f"{rel}:{n}: a key before any section")
        parts = body.split(None, 1)
        if len(parts) != 2 or not parts[1].strip():
            raise CheckError(f"{rel}:{n}: key {parts[0]!r} has no value")
        key = parts[0].lower()
        if key in sections[-1][1]:
            raise CheckError(f"{rel}:{n}: {parts[0]} given twice in [{sections[-1][0]}]")
        sections[-1][1][key] = parts[1].strip()
    return sections


def fluent_bit_env_vars(text):
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def parse_loki_labels(value):
    """Labels of the loki output: 'k=v' pairs or '$key', comma separated.
    Returns [(label, kind, what)] with kind 'literal', 'record' or 'env'."""
    out = []
    for item in [i.strip() for i in value.split(",") if i.strip()]:
        if "=" in item:
            k, v = [x.strip() for x in item.split("=", 1)]
        else:
            k, v = item.lstrip("$"), item
        if v.startswith("${") and v.endswith("}"):
            out.append((k, "env", v[2:-1]))
        elif v.startswith("$"):
            if not re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", v):
                raise CheckError(f"loki label {item!r}: only top-level record keys are used here")
            out.append((k, "record", v[1:]))
        else:
            out.append((k, "literal", v))
    return out


def check_fluent_bit(root):
    parsers = parse_fluent_bit(read(root, "deploy/fluent-bit/parsers.conf"), "parsers.conf")
    parser_defs = {}
    for name, keys, n in parsers:
        C.expect(name == "PARSER", f"parsers.conf:{n}: [{name}] in a parsers file")
        unknown = set(keys) - FLUENT_BIT_KEYS["PARSER"]
        C.expect(not unknown, f"parsers.conf:{n}: unknown keys {sorted(unknown)}")
        parser_defs[keys.get("name")] = keys
    agora = parser_defs.get("agora-json")
    if not C.expect(agora is not None, "parsers.conf has no agora-json parser"):
        raise CheckError("no parser")
    C.expect(agora.get("format") == "json", "agora-json: Format is not json")
    C.expect(agora.get("time_key") == "timestamp", "agora-json: Time_Key is not timestamp")
    C.expect(agora.get("time_format") == "%Y-%m-%dT%H:%M:%S.%LZ", "agora-json: Time_Format is not the seed's")
    C.expect(agora.get("time_keep", "").lower() == "on", "agora-json: Time_Keep is not On")

    confs = {}
    for rel in ("deploy/fluent-bit/fluent-bit.conf", "deploy/fluent-bit/fluent-bit-daemonset.conf"):
        text = read(root, rel)
        sections = parse_fluent_bit(text, rel)
        kinds = [s[0] for s in sections]
        C.expect(kinds.count("SERVICE") == 1, f"{rel}: {kinds.count('SERVICE')} [SERVICE] sections")
        by_plugin = {}
        for name, keys, n in sections:
            if name == "SERVICE":
                allowed = FLUENT_BIT_KEYS["SERVICE"]
                plugin_key = "SERVICE"
            else:
                if not C.expect("name" in keys, f"{rel}:{n}: [{name}] without Name"):
                    continue
                plugin_key = f"{name}:{keys['name']}"
                allowed = FLUENT_BIT_KEYS.get(plugin_key)
                if not C.expect(allowed is not None, f"{rel}:{n}: plugin {plugin_key} is not one deploy/ knows"):
                    continue
            unknown = set(keys) - allowed
            C.expect(not unknown, f"{rel}:{n}: [{name}] unknown keys {sorted(unknown)}")
            by_plugin.setdefault(plugin_key, []).append(keys)
        for p in ("SERVICE", "INPUT:tail", "FILTER:lua", "OUTPUT:loki"):
            C.expect(len(by_plugin.get(p, [])) == 1, f"{rel}: expected one {p}")
        service = by_plugin["SERVICE"][0]
        tail = by_plugin["INPUT:tail"][0]
        lua = by_plugin["FILTER:lua"][0]
        loki = by_plugin["OUTPUT:loki"][0]
        # The seed's tail settings.
        C.expect(tail.get("tag") == "agora.*", f"{rel}: tail Tag")
        C.expect(tail.get("parser") == "agora-json", f"{rel}: tail Parser is not agora-json")
        C.expect(tail.get("refresh_interval") == "5", f"{rel}: Refresh_Interval")
        C.expect(tail.get("rotate_wait") == "30", f"{rel}: Rotate_Wait")
        C.expect(tail.get("mem_buf_limit") == "10MB", f"{rel}: Mem_Buf_Limit")
        C.expect("db" in tail and not tail["db"].startswith(LOG_DIR + "/"),
                 f"{rel}: DB must be set, and not under {LOG_DIR} (mounted read-only for the collector)")
        C.expect(tail.get("skip_long_lines", "").lower() == "on",
                 f"{rel}: Skip_Long_Lines On, or the tail stops following a file at a line over Buffer_Max_Size")
        C.expect(tail.get("path", "").startswith(LOG_DIR + "/") and tail["path"].endswith("*.log"),
                 f"{rel}: tail Path {tail.get('path')!r} is not under {LOG_DIR}")
        C.expect(os.path.basename(service.get("parsers_file", "")) == "parsers.conf",
                 f"{rel}: Parsers_File is not parsers.conf")
        # Match patterns route the tail's records through the filter to the output.
        C.expect(fnmatch.fnmatchcase("agora.var.log.agora.x.log", lua.get("match", "")) and
                 fnmatch.fnmatchcase("agora.var.log.agora.x.log", loki.get("match", "")),
                 f"{rel}: the lua filter and the loki output must Match the tail's tag")
        C.expect(os.path.basename(lua.get("script", "")) == "extract_service.lua", f"{rel}: lua Script")
        C.expect(lua.get("call") == "extract_service", f"{rel}: lua Call")
        labels = parse_loki_labels(loki.get("labels", ""))
        names = [l[0] for l in labels]
        for want in ("job", "service", "environment", "level"):
            C.expect(want in names, f"{rel}: loki Labels lacks the seed's {want}")
        C.expect(("job", "literal", "agora") in labels, f"{rel}: loki Labels job=agora")
        for label, field in (("service", "service"), ("environment", "environment"), ("level", "level")):
            C.expect((label, "record", field) in labels, f"{rel}: loki Labels {label}=${field}")
        C.expect(loki.get("label_keys") == "$correlation_id", f"{rel}: Label_Keys is not the seed's $correlation_id")
        removed = [k.strip() for k in loki.get("remove_keys", "").split(",")]
        for k in ("service", "environment", "level", "host"):
            C.expect(k in removed, f"{rel}: Remove_Keys lacks the seed's {k}")
        C.expect(loki.get("line_format") == "json", f"{rel}: Line_Format is not json")
        confs[rel] = {"text": text, "service": service, "tail": tail, "lua": lua, "loki": loki,
                      "labels": labels, "remove_keys": removed,
                      "env_vars": fluent_bit_env_vars(text)}

    # The Lua script defines the function the filter calls (loaded by LuaJIT).
    script = os.path.join(root, "deploy", "fluent-bit", "extract_service.lua")
    r = subprocess.run(["luajit", "-e",
                        f"dofile({lua_string(script)}) assert(type(extract_service) == 'function', "
                        "'extract_service is not a function')"], capture_output=True, text=True)
    C.expect(r.returncode == 0, f"luajit cannot load {script}: {r.stderr}")
    return confs


# ---------------------------------------------------------------- kubernetes

DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
FIELD_PATHS = {"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
               "spec.serviceAccountName", "status.hostIP", "status.podIP"}


def load_k8s(root):
    objects = []
    kustomizations = []
    for rel in repo_files(os.path.join(root, "deploy", "k8s"), (".yaml", ".yml")):
        path = os.path.join("deploy", "k8s", rel)
        for doc in load_yaml_docs(root, path):
            if doc.get("kind") == "Kustomization":
                kustomizations.append((path, doc))
            else:
                objects.append((path, doc))
    return objects, kustomizations


def label_ref(field_path):
    m = re.fullmatch(r"metadata\.labels\['([^']+)'\]", field_path)
    return m.group(1) if m else None


def check_k8s(root, confs):
    objects, kustomizations = load_k8s(root)
    configmaps = {doc["metadata"]["name"]: doc for _, doc in objects if doc.get("kind") == "ConfigMap"}
    workloads = {}
    for path, doc in objects:
        where = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        C.expect(isinstance(doc.get("apiVersion"), str) and doc.get("kind"), f"{where}: apiVersion/kind")
        name = doc.get("metadata", {}).get("name", "")
        C.expect(DNS1123.fullmatch(name) is not None and len(name) <= 253, f"{where}: bad metadata.name")
        C.expect("namespace" not in doc["metadata"], f"{where}: namespace set in the manifest (kustomize/-n sets it)")
        if doc["kind"] in ("Deployment", "DaemonSet"):
            C.expect(doc["apiVersion"] == "apps/v1", f"{where}: apiVersion")
            check_workload(where, doc, configmaps, confs)
            workloads[path] = doc
        elif doc["kind"] != "ConfigMap":
            C.fail(f"{where}: unexpected kind")
    C.expect(len(workloads) == 3, f"expected 3 workloads, found {sorted(workloads)}")
    # Every manifest belongs to a kustomization, and every resource exists.
    listed = set()
    for path, k in kustomizations:
        base = os.path.dirname(path)
        for res in k.get("resources", []):
            target = os.path.normpath(os.path.join(base, res))
            if C.expect(os.path.exists(os.path.join(root, target)), f"{path}: resource {res} does not exist"):
                listed.add(target)
    for path, _ in objects:
        C.expect(path in listed, f"{path} is in no kustomization.yaml")
    return workloads, configmaps


def check_workload(where, doc, configmaps, confs):
    spec = doc["spec"]
    template = spec["template"]
    labels = template["metadata"].get("labels", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    C.expect(selector and all(labels.get(k) == v for k, v in selector.items()),
             f"{where}: selector.matchLabels {selector} do not match the template's labels")
    pod = template["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    C.expect(len(volumes) == len(pod.get("volumes", [])), f"{where}: duplicate volume names")
    containers = pod.get("initContainers", []) + pod.get("containers", [])
    C.expect(pod.get("containers"), f"{where}: no containers")
    names = [c["name"] for c in containers]
    C.expect(len(set(names)) == len(names), f"{where}: duplicate container names {names}")
    used = set()
    for c in containers:
        cw = f"{where}: container {c['name']}"
        image = c.get("image", "")
        C.expect(re.fullmatch(r"[a-z0-9./-]+:[A-Za-z0-9._-]+", image) is not None and not image.endswith(":latest"),
                 f"{cw}: image {image!r} must name a tag other than latest")
        env_names = [e["name"] for e in c.get("env", [])]
        C.expect(len(set(env_names)) == len(env_names), f"{cw}: duplicate env names")
        for e in c.get("env", []):
            C.expect(ENV_NAME.fullmatch(e["name"]) is not None, f"{cw}: bad env name {e['name']!r}")
            C.expect(("value" in e) != ("valueFrom" in e), f"{cw}: env {e['name']} needs value or valueFrom")
            if "value" in e:
                C.expect(isinstance(e["value"], str), f"{cw}: env {e['name']} value must be a string (quote it)")
            fr = e.get("valueFrom", {}).get("fieldRef")
            if fr:
                fp = fr["fieldPath"]
                key = label_ref(fp)
                if key is not None:
                    C.expect(key in labels, f"{cw}: env {e['name']} reads pod label {key!r}, which the template lacks")
                else:
                    C.expect(fp in FIELD_PATHS, f"{cw}: env {e['name']}: fieldPath {fp!r}")
            if e["name"] == "ENVIRONMENT":
                C.expect(not (fr and fr["fieldPath"] == "metadata.namespace"),
                         f"{cw}: ENVIRONMENT from metadata.namespace: agora-log accepts only its three "
                         "environments (docs/deployment.md)")
        for m in c.get("volumeMounts", []):
            used.add(m["name"])
            if not C.expect(m["name"] in volumes, f"{cw}: mount of undefined volume {m['name']!r}"):
                continue
            C.expect(m["mountPath"].startswith("/"), f"{cw}: mountPath {m['mountPath']!r}")
            for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", m.get("subPathExpr", "")):
                C.expect(var in env_names, f"{cw}: subPathExpr uses $({var}), not in the container's env")
            if m["name"] == "logs":
                C.expect(m["mountPath"] == LOG_DIR, f"{cw}: the logs volume is mounted at {m['mountPath']}, not {LOG_DIR}")
        for p in c.get("ports", []):
            C.expect(1 <= p["containerPort"] <= 65535, f"{cw}: containerPort")
        for probe in ("livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if port is not None and isinstance(port, str):
                C.expect(port in [p.get("name") for p in c.get("ports", [])], f"{cw}: {probe} names port {port!r}")
        if c["name"] == "fluent-bit":
            check_collector_container(cw, c, volumes, configmaps, confs)
    for name, v in volumes.items():
        C.expect(name in used, f"{where}: volume {name} is mounted by no container")
        cm = v.get("configMap")
        if cm:
            C.expect(cm["name"] in configmaps, f"{where}: volume {name}: ConfigMap {cm['name']!r} is not in deploy/k8s")
    ann = template["metadata"].get("annotations", {})
    if "prometheus.io/port" in ann:
        app = next(c for c in pod["containers"] if c["name"] != "fluent-bit")
        env = {e["name"]: e.get("value") for e in app.get("env", [])}
        ports = [p["containerPort"] for p in app.get("ports", [])]
        C.expect(ann["prometheus.io/port"] == env.get("LOG_ADMIN_PORT") and int(ann["prometheus.io/port"]) in ports,
                 f"{where}: prometheus.io/port, LOG_ADMIN_PORT and the containerPort differ")
        C.expect(env.get("LOG_ADMIN_BIND") == "0.0.0.0", f"{where}: scraped from the pod IP: LOG_ADMIN_BIND 0.0.0.0")
        C.expect(any(e["name"] == "LOG_ADMIN_TOKEN" and "secretKeyRef" in e.get("valueFrom", {})
                     for e in app.get("env", [])),
                 f"{where}: an endpoint bound to 0.0.0.0 takes level changes only with LOG_ADMIN_TOKEN from a Secret")


def mount_at(container, volumes, path):
    """The (mount, volume) under which path lies in the container."""
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best[0]["mountPath"].rstrip("/")):
                best = (m, volumes.get(m["name"]))
    return best


def check_collector_container(cw, c, volumes, configmaps, confs):
    args = c.get("command", []) + c.get("args", [])
    if not C.expect("-c" in args, f"{cw}: no -c CONFIG in command/args"):
        return
    conf_path = args[args.index("-c") + 1]
    found = mount_at(c, volumes, conf_path)
    if not C.expect(found and found[1] and "configMap" in found[1], f"{cw}: {conf_path} is not on a ConfigMap mount"):
        return
    mount, volume = found
    cm = configmaps.get(volume["configMap"]["name"])
    if not C.expect(cm is not None, f"{cw}: ConfigMap {volume['configMap']['name']} missing"):
        return
    files = {os.path.join(mount["mountPath"], k): v for k, v in cm["data"].items()}
    C.expect(conf_path in files, f"{cw}: {conf_path} is no key of ConfigMap {cm['metadata']['name']}")
    conf = next((v for v in confs.values() if v["text"] == files.get(conf_path)), None)
    if not C.expect(conf is not None, f"{cw}: {conf_path} is not one of deploy/fluent-bit's configs"):
        return
    C.expect(conf["service"]["parsers_file"] in files,
             f"{cw}: {conf['service']['parsers_file']} is not in the mounted ConfigMap")
    C.expect(conf["lua"]["script"] in files, f"{cw}: {conf['lua']['script']} is not in the mounted ConfigMap")
    db = mount_at(c, volumes, conf["tail"]["db"])
    C.expect(db and not db[0].get("readOnly") and db[1] and ("emptyDir" in db[1] or "hostPath" in db[1]),
             f"{cw}: the tail DB {conf['tail']['db']} is not on a writable volume")
    logs = mount_at(c, volumes, LOG_DIR)
    C.expect(logs and logs[0]["name"] == "logs" and logs[0].get("readOnly") is True,
             f"{cw}: the logs volume must be mounted read-only at {LOG_DIR}")
    env = {e["name"] for e in c.get("env", [])}
    missing = conf["env_vars"] - env
    C.expect(not missing, f"{cw}: the config uses ${{{', '.join(sorted(missing))}}}, not in the container's env "
             "(Fluent Bit would substitute an empty string)")


# ---------------------------------------------------------------- the app

class Pod:
    """A pod as the kubelet would make it from a workload's template, with
    its volumes as directories under a scratch directory (node paths for
    hostPath volumes, shared by every pod)."""

    def __init__(self, workload, scratch, configmaps):
        self.workload = workload
        self.name = workload["metadata"]["name"] + POD_SUFFIX
        self.namespace = POD_NAMESPACE
        self.labels = workload["spec"]["template"]["metadata"].get("labels", {})
        self.spec = workload["spec"]["template"]["spec"]
        self.volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        self.scratch = scratch
        self.node = os.path.join(scratch, "node")
        self.dir = os.path.join(scratch, "pods", self.name)
        self.configmaps = configmaps

    def container(self, name):
        for c in self.spec.get("initContainers", []) + self.spec["containers"]:
            if c["name"] == name:
                return c
        raise CheckError(f"no container {name}")

    def env(self, container):
        out = {}
        for e in container.get("env", []):
            if "value" in e:
                out[e["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: out.get(m.group(1), m.group(0)),
                                        e["value"])
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                fp = vf["fieldRef"]["fieldPath"]
                key = label_ref(fp)
                if key is not None:
                    out[e["name"]] = self.labels[key]
                elif fp == "metadata.name":
                    out[e["name"]] = self.name
                elif fp == "metadata.namespace":
                    out[e["name"]] = self.namespace
                else:
                    out[e["name"]] = "10.0.0.7"
            elif "secretKeyRef" in vf:
                out[e["name"]] = SECRET_STANDIN
            elif "configMapKeyRef" in vf:
                ref = vf["configMapKeyRef"]
                out[e["name"]] = self.configmaps[ref["name"]]["data"][ref["key"]]
            else:
                raise CheckError(f"env {e['name']}: unsupported valueFrom {sorted(vf)}")
        return out

    def mounts(self, container):
        """[(mountPath, local directory, node-side path or None)]."""
        env = self.env(container)
        out = []
        for m in container.get("volumeMounts", []):
            v = self.volumes[m["name"]]
            sub = m.get("subPath") or re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda x: env[x.group(1)],
                                             m.get("subPathExpr", ""))
            node_path = None
            if "hostPath" in v:
                base = os.path.join(self.node, v["hostPath"]["path"].lstrip("/"))
                node_path = os.path.join(v["hostPath"]["path"], sub) if sub else v["hostPath"]["path"]
            else:
                base = os.path.join(self.dir, "volumes", m["name"])
            local = os.path.join(base, sub) if sub else base
            os.makedirs(local, exist_ok=True)
            if "configMap" in v:
                for k, text in self.configmaps[v["configMap"]["name"]]["data"].items():
                    with open(os.path.join(local, k), "w", encoding="utf-8") as f:
                        f.write(text)
            out.append((m["mountPath"].rstrip("/"), local, node_path))
        return out

    def local_path(self, container, path):
        for mp, local, _ in sorted(self.mounts(container), key=lambda t: -len(t[0])):
            if path == mp or path.startswith(mp + "/"):
                return local + path[len(mp):]
        return None

    def node_path(self, container, path):
        for mp, _, node in sorted(self.mounts(container), key=lambda t: -len(t[0])):
            if node and (path == mp or path.startswith(mp + "/")):
                return node + path[len(mp):]
        return None


class App:
    """deploy_app running with a container's environment; its stderr read
    by a thread into a queue so that waiting for a line has a deadline."""

    def __init__(self, binary, env, cwd):
        self.stdout_path = os.path.join(cwd, "deploy_app.stdout")
        self.stdout = open(self.stdout_path, "w")
        self.proc = subprocess.Popen([binary], env=env, cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=self.stdout, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        self.calls = 0  # log calls deploy_app reported flushed
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, prefix, deadline_s=20.0):
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise CheckError(f"deploy_app: no {prefix!r} line in {deadline_s:.0f} s; stderr:\n"
                                 + "".join(self.stderr))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait()
                raise CheckError(f"deploy_app exited ({self.proc.returncode}) before {prefix!r}; stderr:\n"
                                 + "".join(self.stderr))
            if line.startswith("deploy_app: " + prefix):
                return line[len("deploy_app: " + prefix):].strip()

    def burst(self):
        """One more burst; returns once deploy_app says it is flushed (the
        count it reports is the calls made so far, so an earlier line cannot
        be taken for this one)."""
        before = self.calls
        self.proc.stdin.write("burst\n")
        self.proc.stdin.flush()
        while self.calls <= before:
            self.calls = int(self.wait_for("flushed"))
        return self.calls

    def stop(self):
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.stdout.close()
        return rc


def accepted_environments(root):
    text = read(root, "src/config/config_parse.hpp")
    m = re.search(r"bool valid_environment\(std::string_view e\) \{(.*?)\}", text, re.S)
    found = re.findall(r'e == "([a-z]+)"', m.group(1)) if m else []
    if not found:
        raise CheckError("valid_environment() not found in src/config/config_parse.hpp")
    return found


def passthrough_env():
    """What a sanitizer build needs from the test's environment."""
    return {k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS") or k == "LD_LIBRARY_PATH"}


def run_app(root, binary, scratch, configmaps, workloads, spec, keep_running):
    """Starts deploy_app as the application container of spec. Returns a dict
    with the pod, the process (still running when keep_running), the
    resolved configuration, and the paths of its log file."""
    workload = workloads[spec["manifest"]]
    pod = Pod(workload, os.path.join(scratch, spec["name"]), configmaps)
    container = pod.container(spec["container"])
    env = pod.env(container)
    for init in pod.spec.get("initContainers", []):
        pod.mounts(init)  # what an init container mounts exists before the application starts
    mounts = pod.mounts(container)
    file_path = env.get("LOG_FILE_PATH")
    C.expect(file_path and file_path.startswith(LOG_DIR + "/"),
             f"{spec['manifest']}: LOG_FILE_PATH {file_path!r} is not under {LOG_DIR}")
    environments = accepted_environments(root)
    C.expect(env.get("ENVIRONMENT") in environments,
             f"{spec['manifest']}: ENVIRONMENT resolves to {env.get('ENVIRONMENT')!r}, not one of {environments}")
    # What the check changes: paths into the scratch directory, and the admin
    # endpoint on loopback and a free port instead of 0.0.0.0:9464.
    run_env = dict(passthrough_env())
    for k, v in env.items():
        for mp, local, _ in sorted(mounts, key=lambda t: -len(t[0])):
            if v == mp or v.startswith(mp + "/"):
                v = local + v[len(mp):]
                break
        run_env[k] = v
    run_env["LOG_ADMIN_BIND"] = "127.0.0.1"
    run_env["LOG_ADMIN_PORT"] = "0"
    os.makedirs(pod.dir, exist_ok=True)
    app = App(binary, run_env, pod.dir)
    configured = json.loads(app.wait_for("configured"))
    app.calls = int(app.wait_for("flushed"))
    local_file = pod.local_path(container, file_path)
    C.expect(configured["file_path"] == local_file, f"the log file is {configured['file_path']}, expected {local_file}")
    C.expect(configured["environment"] == env["ENVIRONMENT"], f"environment {configured['environment']}")
    C.expect(configured["host"] == pod.name, f"host {configured['host']!r} is not the pod name (HOSTNAME)")
    C.expect(os.path.basename(file_path) == configured["service"] + ".log",
             f"{file_path} does not follow {LOG_DIR}/<service>.log for service {configured['service']!r}")
    C.expect(configured["admin_port"] > 0, "the admin endpoint is not serving")
    result = {"pod": pod, "app": app, "env": env, "configured": configured, "file_path": file_path,
              "local_file": local_file, "node_file": pod.node_path(container, file_path), "spec": spec}
    if not keep_running:
        finish_app(result)
    return result


def finish_app(result):
    rc = result["app"].stop()
    C.expect(rc == 0, f"deploy_app exited {rc}:\n{''.join(result['app'].stderr)}")
    with open(result["local_file"], encoding="utf-8") as f:
        result["lines"] = f.read().splitlines()
    C.expect(len(result["lines"]) >= 6, f"{result['local_file']}: only {len(result['lines'])} lines")
    with open(result["app"].stdout_path, encoding="utf-8") as f:
        result["console"] = f.read().splitlines()


def check_environment_refusal(root, binary, scratch):
    """The seed's ENVIRONMENT (the namespace) against the real validation."""
    env = dict(passthrough_env())
    env.update({"ENVIRONMENT": POD_NAMESPACE, "LOG_FILE_ENABLED": "false", "LOG_CONSOLE_ENABLED": "false"})
    r = subprocess.run([binary], env=env, cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=20)
    C.expect(r.returncode == 2 and f"ENVIRONMENT='{POD_NAMESPACE}' is not accepted" in r.stderr,
             f"ENVIRONMENT={POD_NAMESPACE} (a namespace) should be refused with exit 2; got {r.returncode}: {r.stderr}")
    for e in accepted_environments(root):
        env["ENVIRONMENT"] = e
        r = subprocess.run([binary], env=env, cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20)
        C.expect(r.returncode == 0, f"ENVIRONMENT={e} refused: {r.stderr}")


def check_collector_sees(root, result, workloads, configmaps, confs):
    """The collector's tail Path, seen through its own mounts, finds the file
    the application wrote; the tag and Path_Key it would give it."""
    manifest, cname = result["spec"]["collector"]
    collector = Pod(workloads[manifest], result["pod"].scratch, configmaps)
    if manifest == result["spec"]["manifest"]:
        collector = result["pod"]
    c = collector.container(cname)
    conf_file = c["args"][c["args"].index("-c") + 1]
    text = collector_file(collector, c, conf_file)
    conf = next((v for v in confs.values() if v["text"] == text), None)
    if conf is None:
        raise CheckError(f"{manifest}: {conf_file} is none of deploy/fluent-bit's configs")
    pattern = conf["tail"]["path"]
    local_glob = collector.local_path(c, pattern)
    matches = [os.path.realpath(p) for p in glob.glob(local_glob)]
    C.expect(os.path.realpath(result["local_file"]) in matches,
             f"{manifest}: tail Path {pattern} does not find {result['file_path']} of {result['spec']['manifest']}")
    # The path the collector sees the file at.
    seen = result["node_file"] if result["node_file"] else result["file_path"]
    C.expect(fnmatch.fnmatchcase(seen, pattern), f"{seen} does not match {pattern}")
    return {"conf": conf, "path": seen, "tag": "agora." + seen.lstrip("/").replace("/", "."),
            "env": collector.env(c)}


def collector_file(pod, container, path):
    local = pod.local_path(container, path)
    with open(local, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------- lua

def lua_string(s):
    out = []
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def lua_literal(v):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return lua_string(v)
    if isinstance(v, list):
        return "{" + ", ".join(lua_literal(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"[{lua_string(k)}] = {lua_literal(x)}" for k, x in v.items() if x is not None) + "}"
    raise TypeError(type(v))


LUA_HARNESS = r"""
local function is_array(t)
    local n = 0
    for k, _ in pairs(t) do
        if type(k) ~= "number" then return false end
        n = n + 1
    end
    for i = 1, n do if t[i] == nil then return false end end
    return n > 0
end
local function encode(v)
    local t = type(v)
    if t == "nil" then return "null"
    elseif t == "boolean" then return tostring(v)
    elseif t == "number" then
        if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
        return string.format("%.17g", v)
    elseif t == "string" then
        return '"' .. (v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)) .. '"'
    elseif t == "table" then
        local parts = {}
        if is_array(v) then
            for _, x in ipairs(v) do parts[#parts + 1] = encode(x) end
            return "[" .. table.concat(parts, ",") .. "]"
        end
        local keys = {}
        for k, _ in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys)
        for _, k in ipairs(keys) do parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(v[k]) end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    error("cannot encode " .. t)
end
dofile(SCRIPT)
for i, c in ipairs(CASES) do
    local code, ts, record = extract_service(c.tag, c.ts, c.record)
    io.write(encode({case = i, code = code, ts = ts, record = record}), "\n")
end
"""


def run_lua(root, scratch, cases, environment):
    """Runs extract_service over cases ({tag, ts, record}) under LuaJIT with
    ENVIRONMENT set to environment (None: unset). Returns the results."""
    script = os.path.join(root, "deploy", "fluent-bit", "extract_service.lua")
    body = (f"SCRIPT = {lua_string(script)}\nCASES = {{\n"
            + ",\n".join("{tag = %s, ts = %s, record = %s}" % (lua_literal(c["tag"]), repr(c["ts"]),
                                                               lua_literal(c["record"])) for c in cases)
            + "\n}\n" + LUA_HARNESS)
    path = os.path.join(scratch, f"lua_cases_{environment or 'unset'}.lua")
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)
    env = {k: v for k, v in os.environ.items() if k != "ENVIRONMENT"}
    if environment is not None:
        env["ENVIRONMENT"] = environment
    r = subprocess.run(["luajit", path], env=env, capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise CheckError(f"luajit {path}: exit {r.returncode}: {r.stderr}")
    out = [json.loads(line) for line in r.stdout.splitlines()]
    if len(out) != len(cases):
        raise CheckError(f"luajit returned {len(out)} results for {len(cases)} cases")
    return out


def same_json(a, b):
    """Equal as JSON values, numbers compared by value (Lua has one type)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b


def check_lua_synthetic(root, scratch):
    """Records that lack what the output needs, with the expected result."""
    ts = 1764780956.669655
    node = f"{LOG_DIR}/agora-staging_analysis-engine-5f6d9-abcde/analysis-engine.log"
    cases = [
        # (ENVIRONMENT of the collector, tag, record, code, fields expected after)
        ("staging", "agora.var.log.agora.portfolio-manager.log", {"message": "m", "level": "info"}, 2,
         {"service": "portfolio-manager", "environment": "staging", "level": "INFO"}),
        (None, "agora.var.log.agora.notification-service.log", {"log": "not a JSON line"}, 2,
         {"service": "notification-service", "environment": "unknown", "level": "UNKNOWN", "log": "not a JSON line"}),
        (None, "agora.var.log.agora.x.log",
         {"message": "m", "level": "WARNING", "environment": "production", "log_file": node}, 2,
         {"service": "analysis-engine", "namespace": "agora-staging", "pod": "analysis-engine-5f6d9-abcde",
          "environment": "production", "level": "WARNING"}),
        (None, "agora.var.log.agora.agora-staging_ts-1.timeseries-analysis.log", {"level": "ERROR"}, 2,
         {"service": "timeseries-analysis", "environment": "unknown"}),
        (None, "other.tag", {}, 2, {"service": "unknown", "environment": "unknown", "level": "UNKNOWN"}),
        ("staging", "agora.var.log.agora.other.log",
         {"service": "market-data", "environment": "production", "level": "DEBUG", "context": {"a": [1, 2]}}, 0,
         {"service": "market-data", "environment": "production", "level": "DEBUG", "context": {"a": [1, 2]}}),
        (None, "agora.var.log.agora.other.log",
         {"service": "", "environment": "", "level": "critical", "pod": "kept"}, 2,
         {"service": "other", "environment": "unknown", "level": "CRITICAL", "pod": "kept"}),
    ]
    by_env = {}
    for i, (env, tag, record, code, want) in enumerate(cases):
        by_env.setdefault(env, []).append((i, tag, record, code, want))
    n = 0
    for env, group in by_env.items():
        results = run_lua(root, scratch, [{"tag": t, "ts": ts, "record": r} for _, t, r, _, _ in group], env)
        for (i, tag, record, code, want), got in zip(group, results):
            n += 1
            C.expect(got["code"] == code, f"case {i} ({tag}): code {got['code']}, expected {code}")
            C.expect(same_json(got["ts"], ts), f"case {i}: timestamp changed")
            for k, v in want.items():
                C.expect(same_json(got["record"].get(k), v), f"case {i} ({tag}): {k}={got['record'].get(k)!r}, expected {v!r}")
            if code == 0:
                C.expect(same_json(got["record"], record), f"case {i}: an unchanged record came back different")
    print(f"  {n} made-up records")


def loki_stream(conf, collector_env, record):
    """What the loki output makes of a record: its labels and its line.
    Labels come from the record before Remove_Keys; the keys the labels read
    leave the line too (the plugin's remove_keys_derived, recent versions)."""
    labels = {}
    missing = []
    for name, kind, what in conf["labels"]:
        if kind == "literal":
            value = what
        elif kind == "env":
            value = collector_env.get(what, "")
        else:
            value = record.get(what)
        if value in (None, ""):
            missing.append(name)
        else:
            labels[name] = str(value)
    for key in [k.lstrip("$") for k in conf["loki"].get("label_keys", "").split(",") if k.strip()]:
        if record.get(key) not in (None, ""):
            labels[key] = str(record[key])
    removed = set(conf["remove_keys"]) | {w for _, kind, w in conf["labels"] if kind == "record"}
    line = {k: v for k, v in record.items() if k not in removed}
    return labels, missing, line


def check_lua_real(root, scratch, runs, accepted):
    """extract_service on every real entry, as the collector would call it,
    then the labels and line the loki output would send."""
    streams = []
    total = 0
    for result in runs:
        seen = result["seen"]
        records = [json.loads(line) for line in result["lines"]]
        cases = []
        for rec in records:
            r = dict(rec)
            if "path_key" in seen["conf"]["tail"]:
                r[seen["conf"]["tail"]["path_key"]] = seen["path"]
            cases.append({"tag": seen["tag"], "ts": 1764780956.5, "record": r})
        outs = run_lua(root, scratch, cases, seen["env"].get("ENVIRONMENT"))
        daemonset = "path_key" in seen["conf"]["tail"]
        for case, out in zip(cases, outs):
            total += 1
            rec = case["record"]
            got = out["record"]
            if daemonset:
                C.expect(out["code"] == 2, f"{seen['path']}: code {out['code']} (namespace and pod are added)")
                C.expect(got.get("namespace") == result["pod"].namespace and got.get("pod") == result["pod"].name,
                         f"{seen['path']}: namespace/pod {got.get('namespace')}/{got.get('pod')}")
                extra = {k: got[k] for k in ("namespace", "pod")}
                C.expect(same_json(got, {**rec, **extra}), f"{seen['path']}: the record changed beyond namespace/pod")
            else:
                C.expect(out["code"] == 0, f"{seen['path']}: a complete entry came back with code {out['code']}")
                C.expect(same_json(got, rec), f"{seen['path']}: an entry came back different")
            labels, missing, line = loki_stream(seen["conf"], seen["env"], got)
            C.expect(not missing, f"{seen['path']}: labels {missing} would be empty, so missing from the stream")
            C.expect(labels.get("job") == "agora", "job label")
            C.expect(labels.get("service") == result["configured"]["service"]
                     == os.path.basename(result["file_path"])[:-4], f"service label {labels.get('service')}")
            C.expect(labels.get("environment") in accepted, f"environment label {labels.get('environment')}")
            C.expect(labels.get("level") in LEVELS, f"level label {labels.get('level')}")
            C.expect(labels.get("namespace") == result["pod"].namespace, f"namespace label {labels.get('namespace')}")
            C.expect(labels.get("pod") == result["pod"].name == rec.get("host"),
                     f"pod label {labels.get('pod')} != the entry's host {rec.get('host')}")
            C.expect(("correlation_id" in labels) == ("correlation_id" in rec), "correlation_id label")
            for name in labels:
                C.expect(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) is not None, f"label name {name!r}")
            C.expect("timestamp" in line and "message" in line, "Time_Keep: the line keeps timestamp and message")
            streams.append((labels, line))
    print(f"  {total} real entries through extract_service and the modelled loki output")
    return streams


# ---------------------------------------------------------------- time format

def check_time_format(root, runs):
    parsers = parse_fluent_bit(read(root, "deploy/fluent-bit/parsers.conf"), "parsers.conf")
    agora = next(k for _, k, _ in parsers if k.get("name") == "agora-json")
    fmt = agora["time_format"]
    key = agora["time_key"]
    # Fluent Bit's %L is the fraction of a second (up to nanoseconds);
    # Python's %f takes 1 to 6 digits: the schema says microseconds.
    py_fmt = fmt.replace("%L", "%f")
    schema = json.loads(read(root, SCHEMA))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=jsonschema.FormatChecker())
    n = 0
    for result in runs:
        for label, lines in (("file", result["lines"]), ("console", result["console"])):
            C.expect(lines, f"{result['spec']['name']}: no {label} lines")
            for line in lines:
                n += 1
                try:
                    entry = json.loads(line)
                except ValueError as e:
                    C.fail(f"{label} line is not JSON ({e}): {line[:200]}")
                    continue
                C.expect(isinstance(entry, dict), "a line that is not an object")
                errors = [e.message for e in validator.iter_errors(entry)]
                C.expect(not errors, f"{label} line fails the schema: {errors[:3]}: {line[:200]}")
                stamp = entry.get(key)
                frac = re.search(r"\.(\d+)Z$", stamp or "")
                if not C.expect(frac and len(frac.group(1)) == 6, f"{key} {stamp!r} has no 6-digit fraction"):
                    continue
                try:
                    parsed = datetime.strptime(stamp, py_fmt).replace(tzinfo=timezone.utc)
                except ValueError as e:
                    C.fail(f"Time_Format {fmt} does not parse {stamp!r}: {e}")
                    continue
                C.expect(parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == stamp, f"{stamp} does not round-trip")
                C.expect(abs((datetime.now(timezone.utc) - parsed).total_seconds()) < 3600,
                         f"{stamp} is not now: the Z is not UTC?")
    print(f"  {n} lines parsed with {fmt}")


# ---------------------------------------------------------------- prometheus

def relabel(configs, labels):
    """Prometheus relabelling (keep, drop, replace) on a target's labels;
    None when the target is dropped."""
    labels = dict(labels)
    for rc in configs:
        action = rc.get("action", "replace")
        src = ";".join(labels.get(s, "") for s in rc.get("source_labels", []))
        regex = re.compile("^(?:" + str(rc.get("regex", "(.*)")) + ")$")
        m = regex.match(src)
        if action == "keep":
            if not m:
                return None
        elif action == "drop":
            if m:
                return None
        elif action == "replace":
            if m:
                repl = re.sub(r"\$\{?(\d+)\}?", lambda x: m.group(int(x.group(1))) or "",
                              str(rc.get("replacement", "$1")))
                if repl:
                    labels[rc["target_label"]] = repl
                else:
                    labels.pop(rc["target_label"], None)
        else:
            raise CheckError(f"relabel action {action} is not modelled")
    return labels


def scrape_target(root, pod):
    """The target deploy/prometheus/prometheus.yml's kubernetes_sd job makes
    of the pod: its address and labels."""
    config = load_yaml_docs(root, PROM_CONFIG)[0]
    job = config["scrape_configs"][0]
    meta = {"__address__": "10.0.0.7", "__metrics_path__": "/metrics", "__meta_kubernetes_namespace": pod.namespace,
            "__meta_kubernetes_pod_name": pod.name, "job": job["job_name"]}
    for k, v in pod.labels.items():
        meta["__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
    for k, v in pod.workload["spec"]["template"]["metadata"].get("annotations", {}).items():
        meta["__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", k)] = v
    labels = relabel(job.get("relabel_configs", []), meta)
    if labels is None:
        raise CheckError(f"{PROM_CONFIG} does not scrape the pod of {pod.workload['metadata']['name']}")
    return labels


def check_promtool(root, scratch):
    for args in (["check", "rules", RULES], ["test", "rules", RULES_TEST]):
        r = subprocess.run(["promtool"] + args, cwd=root, capture_output=True, text=True, timeout=60)
        C.expect(r.returncode == 0, f"promtool {' '.join(args)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    # Debian 12's Prometheus is built without Kubernetes discovery: the config
    # is checked with static_configs in its place (the relabelling, the rule
    # files and everything else as written).
    config = load_yaml_docs(root, PROM_CONFIG)[0]
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["10.0.0.7:9464"]}]
    config["rule_files"] = [os.path.join(root, os.path.dirname(PROM_CONFIG), f) for f in config["rule_files"]]
    path = os.path.join(scratch, "prometheus-check.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f)
    r = subprocess.run(["promtool", "check", "config", path], capture_output=True, text=True, timeout=60)
    C.expect(r.returncode == 0, f"promtool check config {PROM_CONFIG} (kubernetes_sd as static): "
             f"exit {r.returncode}\n{r.stdout}{r.stderr}")


def metric_names(root):
    """The metrics the library registers (src/backend/metrics.cpp), with
    their type and labels from docs/operations.md's table."""
    names = set(re.findall(r'\.Name\("(agora_log_[a-z_]+)"\)', read(root, "src/backend/metrics.cpp")))
    documented = {}
    for m in re.finditer(r"^\| `(agora_log_[a-z_]+)` \| (\w+) \| ([a-z_, ]+) \|", read(root, "docs/operations.md"), re.M):
        documented[m.group(1)] = (m.group(2), [x.strip() for x in m.group(3).split(",")])
    C.expect(set(documented) == names, f"docs/operations.md documents {sorted(documented)}, metrics.cpp registers {sorted(names)}")
    return documented


def promql_names(expr):
    """Metric names, and label names used in matchers and by/without."""
    metrics = set(re.findall(r"\b(agora_log_[a-z_]+)\b", expr))
    labels = set()
    for body in re.findall(r"\{([^{}]*)\}", expr):
        labels |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"", body))
    for _, body in re.findall(r"\b(by|without)\s*\(([^)]*)\)", expr):
        labels |= {x.strip() for x in body.split(",") if x.strip()}
    return metrics, labels


def dashboard_targets(dashboard):
    out = []
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            out.append((p, t))
    return out


def substitute(expr, values):
    for k in sorted(values, key=len, reverse=True):
        expr = expr.replace("$" + k, values[k]).replace("${" + k + "}", values[k])
    return expr


class Prometheus:
    def __init__(self, scratch, target, target_labels, rule_files):
        self.port = free_port()
        self.dir = os.path.join(scratch, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        labels = {k: v for k, v in target_labels.items() if not k.startswith("__") and k != "job"}
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "rule_files": rule_files,
                  "scrape_configs": [{"job_name": target_labels.get("job", "agora"),
                                      "metrics_path": target_labels.get("__metrics_path__", "/metrics"),
                                      "static_configs": [{"targets": [target], "labels": labels}]}]}
        with open(os.path.join(self.dir, "prometheus.yml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f)
        self.log_path = os.path.join(self.dir, "prometheus.out")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["prometheus", "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        try:
            status, body = http_get(url)
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8")
        return json.loads(body)

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)

    def output(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def exposition_sum(text, metric):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(metric + "{") or line.startswith(metric + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def exposition_labels(text):
    """Label names per metric family in a text exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} ", line)
        if m:
            out.setdefault(m.group(1), set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(2)))
    return out


def check_prometheus(root, scratch, run, dashboard, documented, accepted):
    """A real Prometheus scrapes the running deploy_app; every PromQL
    expression of the dashboard and of the rules is evaluated on it."""
    admin = f"127.0.0.1:{run['configured']['admin_port']}"
    target_labels = scrape_target(root, run["pod"])
    C.expect(target_labels.get("__address__", "").endswith(":9464") and target_labels.get("__metrics_path__") == "/metrics",
             f"the scrape config's relabelling gives {target_labels.get('__address__')}{target_labels.get('__metrics_path__')}")
    C.expect(target_labels.get("environment") in accepted, f"environment target label {target_labels.get('environment')}")
    rules = [os.path.join(root, RULES)]
    prom = Prometheus(scratch, admin, target_labels, rules)
    try:
        t0 = time.monotonic()
        poll("Prometheus ready", lambda: http_get(prom.base + "/-/ready")[0] == 200)
        t_ready = time.monotonic() - t0
        first = poll("a first scrape", lambda: prom.query("sum(agora_log_entries_total)")["data"]["result"])
        # A second burst between two scrapes, so every rate() has an increase.
        run["app"].burst()
        _, exposition = http_get(f"http://{admin}/metrics")
        want = exposition_sum(exposition, "agora_log_entries_total")
        C.expect(want > float(first[0]["value"][1]), f"entries_total {want} after a burst, {first} before")
        t_scraped = time.monotonic() - t0
        poll(f"a scrape with {want:.0f} entries",
             lambda: any(abs(float(r["value"][1]) - want) < 0.5
                         for r in prom.query("sum(agora_log_entries_total)")["data"]["result"]))
        # The documented labels are the exposed ones.
        exposed = exposition_labels(exposition)
        for metric, (mtype, labels) in documented.items():
            family = metric + "_bucket" if mtype == "histogram" else metric
            if family in exposed:
                C.expect(exposed[family] - {"le"} == set(labels),
                         f"{metric}: exposed labels {sorted(exposed[family] - {'le'})}, documented {labels}")
            else:
                C.expect(metric in LAZY_METRICS, f"{metric} is not exposed by a fresh process")
        target_names = {k for k in target_labels if not k.startswith("__")} | {"instance"}
        with open(run["local_file"], encoding="utf-8") as f:
            correlation_id = next(json.loads(l)["correlation_id"] for l in f if '"correlation_id"' in l)
        values_sets = [
            {"service": ".*", "environment": ".*"},
            {"service": run["configured"]["service"], "environment": run["configured"]["environment"]},
        ]
        n = 0
        exprs = []
        for panel, t in dashboard_targets(dashboard):
            if t.get("datasource", panel.get("datasource", {})).get("type") == "prometheus":
                exprs.append((f"panel {panel['title']!r} {t['refId']}", t["expr"], True))
        for group in load_yaml_docs(root, RULES)[0]["groups"]:
            for rule in group["rules"]:
                exprs.append((f"rule {rule.get('alert') or rule.get('record')}", rule["expr"], False))
        for where, expr, from_dashboard in exprs:
            metrics, labels = promql_names(expr)
            C.expect(metrics, f"{where}: no agora_log_ metric in {expr}")
            allowed = set(target_names) | {"le"}
            for metric in metrics:
                base = re.sub(r"_(bucket|sum|count)$", "", metric) if metric not in documented else metric
                if C.expect(base in documented, f"{where}: {metric} is not a metric of agora-log"):
                    allowed |= set(documented[base][1])
            C.expect(labels <= allowed, f"{where}: labels {sorted(labels - allowed)} are on none of {sorted(metrics)}")
            lazy = [m for m in metrics if m in LAZY_METRICS]
            for values in (values_sets if from_dashboard else [{}]):
                q = substitute(expr, {**values, "__rate_interval": "1m", "__interval": "15s", "__range": "5m",
                                      "correlation_id": correlation_id})
                C.expect("$" not in q, f"{where}: unsubstituted variable in {q}")
                answer = prom.query(q)
                n += 1
                if not C.expect(answer.get("status") == "success", f"{where}: {q}: {answer}"):
                    continue
                result = answer["data"]["result"]
                if lazy:
                    print(f"  {where}: {len(result)} series (may be empty: {LAZY_METRICS[lazy[0]]})")
                elif from_dashboard:
                    C.expect(result, f"{where}: {q} answered no series")
                    for r in result:
                        C.expect(r["value"][1] != "NaN", f"{where}: {q} answered NaN for {r['metric']}")
        # The dashboard's service variable.
        answer = prom.api("/api/v1/label/service/values", **{"match[]": "agora_log_entries_total"})
        C.expect(run["configured"]["service"] in answer.get("data", []), f"label_values(service): {answer}")
        # Every alert rule evaluated without error.
        def rules_ok():
            groups = prom.api("/api/v1/rules")["data"]["groups"]
            rs = [r for g in groups for r in g["rules"]]
            return rs and all(r.get("health") == "ok" for r in rs) and rs
        rs = poll("every rule evaluated", rules_ok)
        C.expect(len(rs) == sum(len(g["rules"]) for g in load_yaml_docs(root, RULES)[0]["groups"]),
                 "Prometheus loaded another number of rules")
        print(f"  Prometheus ready after {t_ready:.1f} s, two scrapes after {t_scraped:.1f} s, "
              f"every rule evaluated after {time.monotonic() - t0:.1f} s")
        print(f"  {n} PromQL queries answered by Prometheus on {admin}'s metrics")
    except CheckError as e:
        raise CheckError(f"{e}\nprometheus output:\n{prom.output()}")
    finally:
        prom.stop()


# ---------------------------------------------------------------- dashboard

def check_dashboard(root, accepted):
    d = json.loads(read(root, DASHBOARD))
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        C.expect(key in d, f"dashboard lacks {key}")
    C.expect(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36, "schemaVersion")
    C.expect(re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", d.get("uid", "")) is not None, "uid")
    C.expect(d.get("id") is None, "an importable model has id null")
    variables = {v["name"]: v for v in d["templating"]["list"]}
    ds_vars = {n: v["query"] for n, v in variables.items() if v["type"] == "datasource"}
    C.expect(sorted(ds_vars.values()) == ["loki", "prometheus"], f"datasource variables {ds_vars}")
    env_var = variables.get("environment", {})
    C.expect(env_var.get("type") == "custom" and env_var.get("query", "").split(",") == accepted,
             f"the environment variable offers {env_var.get('query')}, agora-log accepts {accepted}")
    builtin = {"__rate_interval", "__interval", "__range", "__auto"}
    ids = [p["id"] for p in d["panels"]]
    C.expect(len(set(ids)) == len(ids), "duplicate panel ids")
    titles = [p["title"] for p in d["panels"]]
    for seed in ("Log Volume by Service", "Error Rate", "Queue Overflow Events", "Log Processing Latency (p99)"):
        C.expect(seed in titles, f"the seed's panel {seed!r} is missing")
    kinds = {"prometheus": 0, "loki": 0}
    for p in d["panels"]:
        gp = p.get("gridPos", {})
        C.expect(all(k in gp for k in "hwxy") and gp["x"] + gp["w"] <= 24, f"panel {p['title']}: gridPos {gp}")
        if p["type"] == "row":
            continue
        C.expect(p["type"] in ("timeseries", "stat", "logs", "table"), f"panel {p['title']}: type {p['type']}")
        refs = [t["refId"] for t in p.get("targets", [])]
        C.expect(refs and len(set(refs)) == len(refs), f"panel {p['title']}: refIds {refs}")
        for t in p["targets"]:
            ds = t.get("datasource", p.get("datasource"))
            m = re.fullmatch(r"\$\{(\w+)\}", ds.get("uid", ""))
            if not C.expect(m and ds_vars.get(m.group(1)) == ds.get("type"),
                            f"panel {p['title']}: datasource {ds} is not one of the datasource variables"):
                continue
            kinds[ds["type"]] += 1
            for var in re.findall(r"\$\{?(\w+)\}?", t["expr"]):
                C.expect(var in variables or var in builtin, f"panel {p['title']}: ${var} is not a variable")
    C.expect(kinds["prometheus"] >= 4 and kinds["loki"] >= 4, f"queries per datasource {kinds}")
    return d


def json_keys(entry, prefix=""):
    """Field names Loki's `| json` makes of an entry (nested keys joined by _)."""
    out = set()
    for k, v in entry.items():
        name = prefix + re.sub(r"[^a-zA-Z0-9_]", "_", k)
        if isinstance(v, dict):
            out |= json_keys(v, name + "_")
        else:
            out.add(name)
    return out


def check_logql(dashboard, confs, streams):
    """LogQL cannot run here (no Loki): its stream selectors must use the
    labels Fluent Bit sends, and the fields after | json must be fields of
    the lines it sends."""
    stream_labels = set()
    job = set()
    for conf in confs.values():
        for name, kind, what in conf["labels"]:
            stream_labels.add(name)
            if name == "job":
                job.add(what)
        stream_labels |= {k.strip().lstrip("$") for k in conf["loki"]["label_keys"].split(",")}
    line_fields = set()
    for _, line in streams:
        line_fields |= json_keys(line)
    n = 0
    for panel, t in dashboard_targets(dashboard):
        if t.get("datasource", {}).get("type") != "loki":
            continue
        n += 1
        expr = t["expr"]
        where = f"panel {panel['title']!r}"
        selectors = re.findall(r"\{([^{}]*)\}", expr)
        C.expect(selectors, f"{where}: no stream selector in {expr}")
        for sel in selectors:
            matchers = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"', sel)
            for name, op, value in matchers:
                C.expect(name in stream_labels, f"{where}: stream label {name} is not sent by Fluent Bit ({sorted(stream_labels)})")
                if name == "job":
                    C.expect(op == "=" and value in job, f"{where}: job {value} is not the collector's {job}")
            C.expect(any(op in ("=", "=~") and not re.fullmatch(value, "") for _, op, value in matchers
                         if "$" not in value), f"{where}: Loki needs a matcher that does not match empty: {sel}")
        pipeline = expr.split("}", 1)[1] if "}" in expr else ""
        parsed = "| json" in pipeline
        before_json = pipeline.split("| json")[0]
        for name in re.findall(r"\|\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|>=|<=|=|>|<)", before_json):
            C.expect(name in stream_labels, f"{where}: label filter on {name} before | json: not a stream label")
        if parsed:
            after = pipeline.split("| json", 1)[1]
            for name in re.findall(r"\|\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|>=|<=|=|>|<)", after):
                C.expect(name in line_fields or name in stream_labels or name == "__error__",
                         f"{where}: field {name} is in no line Fluent Bit sends")
        for _, body in re.findall(r"\b(by|without)\s*\(([^)]*)\)", expr):
            for name in [x.strip() for x in body.split(",") if x.strip()]:
                C.expect(name in stream_labels or (parsed and name in line_fields),
                         f"{where}: grouping by {name}, which the stream does not have")
    print(f"  {n} LogQL expressions checked against the labels and fields sent (not run: no Loki here)")


# ---------------------------------------------------------------- loki

def parse_duration_h(s):
    m = re.fullmatch(r"(\d+)([hd])", str(s))
    if not m:
        raise CheckError(f"duration {s!r}: expected <n>h or <n>d")
    return int(m.group(1)) * (24 if m.group(2) == "d" else 1)


def check_loki(root, confs):
    c = load_yaml_docs(root, LOKI_CONFIG)[0]
    unknown = set(c) - LOKI_ROOT_KEYS
    C.expect(not unknown, f"{LOKI_CONFIG}: unknown top-level keys {sorted(unknown)}")
    limits = c.get("limits_config", {})
    comp = c.get("compactor", {})
    C.expect(limits.get("retention_period") == "720h", "limits_config.retention_period is not 720h")
    C.expect(limits.get("allow_structured_metadata") is True, "allow_structured_metadata")
    C.expect(comp.get("retention_enabled") is True, "compactor.retention_enabled")
    C.expect(comp.get("retention_delete_delay") == "2h", "compactor.retention_delete_delay")
    C.expect("shared_store" not in comp, "compactor.shared_store was removed in Loki 3")
    C.expect(comp.get("working_directory"), "compactor.working_directory")
    periods = c.get("schema_config", {}).get("configs", [])
    if C.expect(periods, "schema_config.configs"):
        last = periods[-1]
        C.expect(last.get("store") == "tsdb" and last.get("schema") == "v13",
                 "structured metadata needs schema v13 on the tsdb store")
        C.expect(last.get("index", {}).get("period") == "24h", "retention needs a 24h index period")
        stores = {p.get("object_store") for p in periods}
        C.expect(comp.get("delete_request_store") in stores,
                 f"Loki 3 refuses retention without compactor.delete_request_store (one of {stores})")
        C.expect("filesystem" not in stores or c.get("common", {}).get("storage", {}).get("filesystem"),
                 "filesystem object store without common.storage.filesystem")
    C.expect(parse_duration_h(limits.get("retention_period")) % 24 == 0, "retention_period is not whole days")
    labels = set()
    for conf in confs.values():
        labels |= {n for n, _, _ in conf["labels"]} | {"correlation_id"}
    C.expect(limits.get("max_label_names_per_series", 15) >= len(labels),
             f"max_label_names_per_series below the {len(labels)} labels Fluent Bit sends")


# ---------------------------------------------------------------- main

def require_tools():
    missing = [t for t in ("yamllint", "luajit", "promtool", "prometheus") if shutil.which(t) is None]
    if missing:
        sys.exit(f"check_deploy: missing {', '.join(missing)} (bash scripts/install-deps.sh installs them)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--app", help="the built test/deploy_app")
    ap.add_argument("--write-configmaps", action="store_true")
    args = ap.parse_args()
    root = os.path.abspath(args.source_root)
    if args.write_configmaps:
        write_configmaps(root)
        return 0
    if not args.app:
        ap.error("--app is required")
    require_tools()
    args.app = os.path.abspath(args.app)
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="agora-log-check-deploy-")
    runs = []
    try:
        accepted = C.run("environments", accepted_environments, root) or []
        C.run("yaml", check_yaml_json, root)
        configmaps = C.run("configmaps", check_configmaps, root) or {}
        confs = C.run("fluent-bit", check_fluent_bit, root)
        if confs is None:
            raise CheckError("the Fluent Bit configuration cannot be read")
        k8s = C.run("k8s", check_k8s, root, confs)
        if k8s is None:
            raise CheckError("the manifests cannot be read")
        workloads, configmaps = k8s
        C.run("loki", check_loki, root, confs)
        dashboard = C.run("dashboard", check_dashboard, root, accepted)
        C.run("promtool", check_promtool, root, scratch)
        documented = C.run("metrics", metric_names, root) or {}
        C.run("app: ENVIRONMENT", check_environment_refusal, root, args.app, scratch)
        for i, spec in enumerate(APPS):
            run = C.run(f"app: {spec['name']}", run_app, root, args.app, scratch, configmaps, workloads, spec,
                        i == 0)
            if run is None:
                continue
            runs.append(run)
            if i == 0 and dashboard is not None:
                C.run("prometheus", check_prometheus, root, scratch, run, dashboard, documented, accepted)
            if run["app"].proc.poll() is None or "lines" not in run:
                C.run(f"app: {spec['name']} exit", finish_app, run)
            run["seen"] = C.run(f"collector: {spec['name']}", check_collector_sees, root, run, workloads,
                                configmaps, confs)
        runs = [r for r in runs if r.get("seen") and r.get("lines")]
        C.run("time", check_time_format, root, runs)
        C.run("lua: made-up records", check_lua_synthetic, root, scratch)
        streams = C.run("lua: real entries", check_lua_real, root, scratch, runs, accepted) or []
        if dashboard is not None:
            C.run("logql", check_logql, dashboard, confs, streams)
    except CheckError as e:
        C.fail(str(e))
    finally:
        for r in runs:
            if r["app"].proc.poll() is None:
                r["app"].proc.kill()
                r["app"].proc.wait()
        if os.environ.get("AGORA_TEST_KEEP") is None:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch}")
    print(f"check_deploy: {len(C.timings)} checks, {len(C.failures)} failures, {time.monotonic() - start:.1f} s")
    for f in C.failures:
        print("  " + f.replace("\n", "\n    "))
    return 1 if C.failures else 0


if __name__ == "__main__":
    sys.exit(main())
