#!/usr/bin/env python3
"""Kubernetes API test server: speaks the Kubernetes API (discovery, CRUD, patch, server-side
apply, paging, selectors, watch, errors) over HTTPS on 127.0.0.1 for end-to-end tests.

  python3 hack/kube-api-server/server.py --listen 127.0.0.1:0 --dir STATEDIR \
      [--seed DIR_OR_FILE ...] [--samples]

Writes STATEDIR/{kubeconfig,kubeconfig-cert,port,token,ca.crt,env,pid}, prints
"listening on https://127.0.0.1:PORT" and serves until SIGTERM. Python 3 standard library only;
see README.md."""
import argparse
import gzip
import hmac
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import rbac  # noqa: E402
import seed  # noqa: E402
import snapshots  # noqa: E402
from admin import Admin  # noqa: E402
from discovery import Registry  # noqa: E402
from errors import ApiError, bad_request, internal, unauthorized  # noqa: E402
from handlers import Api, Request  # noqa: E402
from store import Store  # noqa: E402

GIT_VERSION = "v1.31.4"
GZIP_THRESHOLD = 128 * 1024
PUBLIC = ("/healthz", "/livez", "/readyz", "/version")


class Options:
    controllers = True
    namespace_delay = 0.0
    stopping = False
    ca_pem = ""
    address = "127.0.0.1:0"
    git_version = GIT_VERSION
    version_info = {}


# -- certificates and kubeconfigs ---------------------------------------------------------------

def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _key(path, key_type):
    if key_type == "rsa":
        _openssl("genrsa", "-traditional", "-out", path, "2048")
    else:
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path)
    os.chmod(path, 0o600)


def make_certs(d, key_type):
    """A CA, a server certificate for 127.0.0.1/localhost, and a kind-style admin client
    certificate, all with openssl."""
    p = lambda n: os.path.join(d, n)  # noqa: E731
    _key(p("ca.key"), key_type)
    _openssl("req", "-x509", "-new", "-key", p("ca.key"), "-subj", "/CN=kubernetes", "-days",
             "3650", "-out", p("ca.crt"), "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign")
    sans = ("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1")
    for name, subj, ext in (("server", "/CN=kube-apiserver",
                             sans + "\nextendedKeyUsage=serverAuth\n"),
                            ("client", "/O=kubeadm:cluster-admins/CN=kubernetes-admin",
                             "extendedKeyUsage=clientAuth\n")):
        _key(p(f"{name}.key"), key_type)
        _openssl("req", "-new", "-key", p(f"{name}.key"), "-subj", subj, "-out", p(f"{name}.csr"))
        with open(p(f"{name}.ext"), "w") as f:
            f.write("keyUsage=critical,digitalSignature,keyEncipherment\n" + ext)
        _openssl("x509", "-req", "-in", p(f"{name}.csr"), "-CA", p("ca.crt"), "-CAkey",
                 p("ca.key"), "-CAcreateserial", "-days", "365", "-out", p(f"{name}.crt"),
                 "-extfile", p(f"{name}.ext"))
        os.remove(p(f"{name}.csr"))
        os.remove(p(f"{name}.ext"))


def _b64file(path):
    import base64
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_file(path, content, mode=0o644):
    """Writes atomically (temporary file, then rename): readers never see half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_kubeconfigs(d, url, token):
    ca = _b64file(os.path.join(d, "ca.crt"))
    name = "cairn-test"
    cluster = (f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n"
               f"    server: {url}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n"
               f"    user: {name}\n  name: {name}\ncurrent-context: {name}\nkind: Config\n"
               f"preferences: {{}}\nusers:\n- name: {name}\n  user:\n")
    write_file(os.path.join(d, "kubeconfig"), cluster + f"    token: {token}\n", 0o600)
    write_file(os.path.join(d, "kubeconfig-cert"), cluster +
               f"    client-certificate-data: {_b64file(os.path.join(d, 'client.crt'))}\n"
               f"    client-key-data: {_b64file(os.path.join(d, 'client.key'))}\n", 0o600)


# -- HTTP -----------------------------------------------------------------------------------------

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300

    def setup(self):
        super().setup()
        self.request.settimeout(30)
        self.request.do_handshake()
        self.request.settimeout(self.timeout)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authenticate(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            if hmac.compare_digest(auth[7:].strip().encode(), self.server.token.encode()):
                self.groups = ["system:masters"]
                return self.server.user
            sa = self.server.api.sa_tokens.get(auth[7:].strip())
            if sa:  # a TokenRequest token: RBAC applies (rbac.py)
                self.groups = rbac.sa_groups(sa[0])
                return f"{rbac.SA_PREFIX}{sa[0]}:{sa[1]}"
        try:
            cert = self.request.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert:
            subject = [kv for rdn in cert.get("subject", ()) for kv in rdn]
            self.groups = [v for k, v in subject if k == "organizationName"]
            for k, v in subject:
                if k == "commonName":
                    return v
        return None

    def serve(self):
        start = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path) or "/"
        query = {k: v[0] for k, v in urllib.parse.parse_qs(split.query,
                                                           keep_blank_values=True).items()}
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        admin = self.server.admin
        user = self.authenticate()
        entry = None
        try:
            if user is None and not (path in PUBLIC or path.split("/")[1] in
                                     ("healthz", "livez", "readyz")) or \
                    (user is None and "authorization" in headers):
                raise unauthorized()
            if path.startswith("/__admin"):
                return self.reply_admin(path, query, body)
            entry = admin.record(self.command, path, query, user, headers.get("user-agent", ""))
            target = path + ("?" + split.query if split.query else "")
            admin.delay(self.command, target)
            fault = admin.fault(self.command, target)
            if fault == "abort":
                self.close_connection = True
                self.request.close()
                entry["status"] = 0
                return
            if fault is not None:
                raise fault
            req = Request(self.command, path, query, headers, body, user or "system:anonymous",
                          getattr(self, "groups", []) if user else ["system:unauthenticated"])
            resp = self.server.api.dispatch(req)
            if resp.stream is not None:
                entry["status"] = resp.code
                return self.reply_stream(resp)
            self.reply(resp.code, resp.body, resp.ctype, resp.headers, query, headers)
            entry["status"] = resp.code
        except ApiError as e:
            if entry is not None:
                entry["status"] = e.code
            self.reply(e.code, e.status(), "application/json", e.headers, query, headers)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - answered as a 500 like the real server
            import traceback
            traceback.print_exc()
            err = internal(f"{type(e).__name__}: {e}")
            if entry is not None:
                entry["status"] = 500
            self.reply(500, err.status(), "application/json", {}, query, headers)
        finally:
            if entry is not None:
                entry["durationMs"] = round((time.monotonic() - start) * 1000, 1)

    def reply_admin(self, path, query, body):
        admin = self.server.admin
        try:
            if path.rstrip("/") == "/__admin/requests":
                if self.command == "DELETE":
                    admin.configure({"clear_requests": True}, self.server.store)
                    return self.reply(200, {"cleared": True})
                since = int(query.get("since") or 0)
                return self.reply(200, {"requests": admin.requests(since)})
            if path.rstrip("/") == "/__admin/state":
                return self.reply(200, dict(admin.state(),
                                            **snapshots.physical_state(self.server.api)))
            if self.command != "POST":
                raise ApiError(405, "MethodNotAllowed", "POST a JSON body to /__admin/", {})
            try:
                cfg = json.loads(body or b"{}")
            except ValueError as e:
                raise bad_request(f"admin body is not JSON: {e}") from None
            if isinstance(cfg, dict) and "snapshot" in cfg:  # snapshots.py's controller
                return self.reply(200, {"snapshot": snapshots.act(self.server.api,
                                                                  cfg["snapshot"]),
                                        **snapshots.physical_state(self.server.api)})
            self.reply(200, admin.configure(cfg, self.server.store))
        except ApiError as e:
            self.reply(e.code, e.status())

    def reply(self, code, body, ctype="application/json", headers=None, query=None,
              req_headers=None):
        if isinstance(body, (dict, list)):
            pretty = (query or {}).get("pretty") in ("true", "1") or \
                (req_headers or {}).get("user-agent", "").lower().startswith(("curl", "wget"))
            text = (json.dumps(body, indent=2, ensure_ascii=False) if pretty else
                    json.dumps(body, separators=(",", ":"), ensure_ascii=False))
            data = text.encode("utf-8", "replace") + b"\n"
        else:
            data = (body or "").encode() if isinstance(body, str) else (body or b"")
        gz = len(data) > GZIP_THRESHOLD and "gzip" in (req_headers or {}).get(
            "accept-encoding", "")
        if gz:
            data = gzip.compress(data, 1)
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        if gz:
            self.send_header("Content-Encoding", "gzip")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        # Headers and body in one write: no small segments waiting on delayed ACKs.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        out = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(out)

    def reply_stream(self, resp):
        self.send_response(resp.code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", resp.ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in resp.stream:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            resp.stream.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: a free one)")
    ap.add_argument("--dir", required=True, help="state directory (certificates, kubeconfig)")
    ap.add_argument("--seed", action="append", default=[], help="manifest file or directory")
    ap.add_argument("--samples", action="store_true", help="load the sample workload set")
    ap.add_argument("--token", help="bearer token (default: random)")
    ap.add_argument("--user", default="cairn-test-admin", help="user name of the token")
    ap.add_argument("--key-type", choices=["ec", "rsa"], default="ec")
    ap.add_argument("--no-controllers", action="store_true",
                    help="no namespace defaults, volume binding, workload status or events")
    ap.add_argument("--bare", action="store_true", help="no baseline objects at startup")
    ap.add_argument("--zones", default="",
                    help="ZONE,...: one worker Node per zone (a multi-zone cluster)")
    ap.add_argument("--namespace-deletion-delay", type=float, default=0.0,
                    help="seconds a deleted namespace stays Terminating")
    ap.add_argument("--client-ca", action="store_true",
                    help="accepted for compatibility; client certificates are always accepted")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    make_certs(args.dir, args.key_type)
    host, _, port = args.listen.rpartition(":")
    options = Options()
    options.controllers = not args.no_controllers
    options.namespace_delay = args.namespace_deletion_delay
    with open(os.path.join(args.dir, "ca.crt")) as f:
        options.ca_pem = f.read()
    registry, store, admin = Registry(), Store(), Admin()
    api = Api(registry, store, admin, options)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.crt"), os.path.join(args.dir, "server.key"))
    ctx.load_verify_locations(os.path.join(args.dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    server = Server((host or "127.0.0.1", int(port or 0)), Handler)
    server.ssl_context = ctx
    server.verbose = args.verbose
    server.api, server.admin, server.store = api, admin, store
    server.token = args.token or secrets.token_hex(24)
    server.user = args.user
    actual = server.server_address[1]
    options.address = f"{host or '127.0.0.1'}:{actual}"
    minor = GIT_VERSION.split(".")[1]
    options.version_info = {"major": "1", "minor": minor, "gitVersion": GIT_VERSION,
                            "gitCommit": "a89f7ca4ec0f5b5d4e4a3e0e3a7bd2c1f1b3e4d5",
                            "gitTreeState": "clean", "buildDate": "2024-12-10T11:37:25Z",
                            "goVersion": "go1.22.9", "compiler": "gc",
                            "platform": "linux/amd64"}

    if not args.bare:
        seed.baseline(api, actual, GIT_VERSION)
    if args.zones:
        seed.zone_nodes(api, [z for z in args.zones.split(",") if z], GIT_VERSION)
    paths = list(args.seed) + ([seed.SAMPLES] if args.samples else [])
    docs = []
    for p in paths:
        docs.extend(seed.read_manifests(p))
    seed.load_objects(api, docs, "seed")
    store.history.clear()

    url = f"https://{options.address}"
    d = args.dir
    write_kubeconfigs(d, url, server.token)
    # `port` last: once it exists, every other state file is complete.
    for name, content in (("token", server.token), ("pid", str(os.getpid())),
                          ("env", f"export KUBECONFIG={os.path.abspath(d)}/kubeconfig\n"
                                  f"export KUBE_API_SERVER={url}\n"
                                  f"export KUBE_API_TOKEN={server.token}\n"
                                  f"export KUBE_API_CA={os.path.abspath(d)}/ca.crt"),
                          ("port", str(actual))):
        write_file(os.path.join(d, name), content + "\n", 0o600 if name == "token" else 0o644)

    def stop(signum, frame):
        options.stopping = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {url}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
