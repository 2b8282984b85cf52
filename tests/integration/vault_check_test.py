"""vault-check as a user runs it: real processes against the S3 test server, a local directory,
an unreachable endpoint, and the fault proxy. Ends with the secrets scan of its outputs and
vaults."""
import hashlib
import json
import os
import shutil
import socket
import tempfile
import unittest

from cairn_test_support import SECRETS, FaultProxy, run, s3_env, unique
from vault_access import S3Vault


def s3_args(env, prefix, endpoint=None):
    return ["--url", f"s3://{env['S3_BUCKET']}/{prefix}",
            "--endpoint", endpoint or env["S3_ENDPOINT"], "--path-style"]


def canonical(value):
    """FORMAT.md §1.1 for ASCII-safe documents."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sealed_manifest(name, objects, created="2026-11-01T00:00:00Z"):
    """manifest.json bytes (FORMAT.md §6) for `objects` {key: bytes}, checksum included."""
    entries = []
    for key in sorted(objects):
        digest = hashlib.sha256(objects[key]).hexdigest()
        entries.append({"key": key, "stored_size": len(objects[key]), "stored_sha256": digest,
                        "logical_size": len(objects[key]), "logical_sha256": digest,
                        "compression": "none", "content_type": "application/x-tar"})
    m = {"format_version": "1.0", "kind": "Backup", "name": name, "created": created,
         "completed": created, "objects": entries,
         "totals": {"object_count": len(entries),
                    "stored_size": sum(e["stored_size"] for e in entries),
                    "logical_size": sum(e["logical_size"] for e in entries)}}
    c = canonical(m)
    return (c[:-1] + ',"checksum":"sha256:' + hashlib.sha256(c.encode()).hexdigest()
            + '"}\n').encode()


def forge(manifest):
    """The manifest with one recorded size changed and its old checksum kept."""
    return manifest.replace(b'"stored_size":3000', b'"stored_size":3001', 1)


def status_doc(name, phase, start):
    return {"apiVersion": "cairn.io/v1", "kind": "Backup", "name": name, "vault": "v",
            "policy": "", "phase": phase, "message": "", "startTime": start,
            "heartbeatTime": start, "durationSeconds": 1, "job": {}, "counts": {},
            "sizes": {}, "errors": {"count": 0, "byScope": {}, "items": []},
            "warnings": {"count": 0, "byScope": {}, "items": []}}


class S3VaultCheck(unittest.TestCase):
    def setUp(self):
        self.env = s3_env()
        self.prefix = unique("vc")
        self.addCleanup(SECRETS.collect_s3, self.prefix)

    def test_available_and_initialised(self):
        r = run("vault-check", *s3_args(self.env, self.prefix), "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        # A second check reads the vault identity it created and reports JSON.
        r = run("vault-check", *s3_args(self.env, self.prefix), "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertEqual(status["kind"], "VaultCheck")
        self.assertEqual(status["phase"], "Available")
        self.assertIn("lastValidated", status)
        names = {c["name"]: c["result"] for c in status["checks"]}
        for check in ["endpoint", "bucket", "credentials", "write", "read", "list", "delete",
                      "vault-format", "clock-skew", "storage-class"]:
            self.assertEqual(names.get(check), "passed", f"{check}: {status['checks']}")

    def test_wrong_secret_is_unavailable_and_never_printed(self):
        secret = "WRONG" + unique("secret").upper()
        SECRETS.needle(secret, "the wrong secret key")
        r = run("vault-check", *s3_args(self.env, self.prefix),
                env={"AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("VaultError: backup vault is unavailable", r.all)
        self.assertIn("StatusCode=403", r.all)
        self.assertIn("ErrorCode=SignatureDoesNotMatch", r.all)
        self.assertRegex(r.all, r"RequestId=\S+")
        self.assertNotIn(secret, r.all)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)
        self.assertNotIn("Signature=", r.all)

    def test_session_token_never_printed(self):
        token = "SESSIONTOKEN" + unique("t").upper()
        SECRETS.needle(token, "the session token")
        r = run("vault-check", *s3_args(self.env, self.prefix), "--output", "json",
                "--log-format", "json", env={"AWS_SESSION_TOKEN": token})
        self.assertIn(r.code, (0, 1), r)
        self.assertNotIn(token, r.all)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)

    def test_secret_never_appears_in_output_or_status(self):
        r = run("vault-check", *s3_args(self.env, self.prefix), "--init", "--output", "json",
                "--log-format", "json")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)
        self.assertNotIn("Signature=", r.all)

    def test_missing_bucket(self):
        r = run("vault-check", "--url", f"s3://{unique('nobucket')}/x",
                "--endpoint", self.env["S3_ENDPOINT"], "--path-style")
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("ErrorCode=NoSuchBucket", r.all)

    def test_unreachable_endpoint(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = run("vault-check", *s3_args(self.env, self.prefix, f"http://127.0.0.1:{port}"),
                "--timeout", "5s")
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("tcp connect failed", r.all)

    def test_unreachable_endpoint_without_timeout_answers_within_the_check_budget(self):
        # No --timeout: vault-check's own 30 s retry budget ends the check, and says so.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = run("vault-check", *s3_args(self.env, self.prefix, f"http://127.0.0.1:{port}"),
                timeout=90)
        self.assertEqual(r.code, 1, r)
        self.assertIn("retry_timeout 30s", r.all)

    def test_probe_read_returning_different_bytes(self):
        with FaultProxy(self.env["S3_ENDPOINT"],
                        {"corrupt_get_rate": 1.0, "path_regex": r"\.cairn-probe/"}) as proxy:
            r = run("vault-check", *s3_args(self.env, self.prefix, proxy.url), "--output", "json")
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Unavailable")
        read = [c for c in status["checks"] if c["name"] == "read"][0]
        self.assertEqual(read["result"], "failed")
        self.assertIn("different bytes", read["message"])

    def put(self, key, data):
        S3Vault(self.env, self.prefix).write(key, data)

    def test_list_shows_a_forged_manifest_as_unreadable(self):
        self.assertEqual(run("vault-check", *s3_args(self.env, self.prefix), "--init").code, 0)
        data = b"x" * 3000
        for name, manifest in [("good", sealed_manifest("good", {"resources.tar.zst": data})),
                               ("forged", forge(sealed_manifest("forged",
                                                                {"resources.tar.zst": data})))]:
            self.put(f"backups/{name}/status.json",
                     json.dumps(status_doc(name, "Completed", "2026-11-01T00:00:00Z")).encode())
            self.put(f"backups/{name}/resources.tar.zst", data)
            self.put(f"backups/{name}/manifest.json", manifest)
        r = run("vault-check", *s3_args(self.env, self.prefix), "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        backups = {b["name"]: b for b in r.json()["backups"]}
        self.assertEqual(backups["good"]["state"], "Complete")
        self.assertTrue(backups["good"]["restorable"])
        forged = backups["forged"]
        self.assertEqual(forged["state"], "Unreadable")
        self.assertEqual(forged["phase"], "Completed")  # what its status claims
        self.assertFalse(forged["restorable"])
        self.assertIn("manifest checksum mismatch for backup 'forged'", forged["reason"])
        r = run("vault-check", *s3_args(self.env, self.prefix), "--list")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"\ngood\s+Complete\s+Completed\s")
        self.assertRegex(r.out, r"\nforged\s+Unreadable\s+Completed\s.*manifest unreadable: "
                                r"manifest checksum mismatch")

    def test_list_counts_pending_multipart_uploads_with_their_bytes(self):
        vault = S3Vault(self.env, self.prefix)
        rel = "backups/leaky/resources.tar.zst"
        key = f"{self.prefix}/{rel}"
        upload_id = vault.start_upload(rel)
        for number, size in [(1, 5 << 20), (2, 12345)]:
            vault.upload_part(rel, upload_id, number, b"p" * size)
        self.put("backups/leaky/status.json",
                 json.dumps(status_doc("leaky", "InProgress", "2026-11-01T00:00:00Z")).encode())
        r = run("vault-check", *s3_args(self.env, self.prefix), "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        listing = r.json()
        pending = listing["pendingUploads"]
        self.assertEqual(pending["prefix"], self.prefix + "/")
        self.assertEqual(pending["count"], 1, pending)
        self.assertEqual(pending["bytes"], (5 << 20) + 12345)
        self.assertEqual(pending["uploads"][0]["key"], key)
        self.assertEqual(pending["uploads"][0]["uploadId"], upload_id)
        self.assertEqual(pending["uploads"][0]["backup"], "leaky")
        leaky = listing["backups"][0]
        self.assertEqual(leaky["state"], "Incomplete")
        self.assertIn("abandoned: InProgress", leaky["reason"])
        self.assertEqual(leaky["pendingUploads"], {"count": 1, "bytes": (5 << 20) + 12345})
        r = run("vault-check", *s3_args(self.env, self.prefix), "--list")
        self.assertEqual(r.code, 0, r)
        self.assertIn(f"pending uploads under '{self.prefix}/': 1 holding 5.0MiB", r.out)
        self.assertIn(f"  {key}  5.0MiB  started", r.out)
        # Once aborted, nothing is pending.
        vault.abort_upload(rel, upload_id)
        r = run("vault-check", *s3_args(self.env, self.prefix), "--list", "--output", "json")
        self.assertEqual(r.json()["pendingUploads"]["count"], 0)

    def test_retries_through_transient_faults(self):
        with FaultProxy(self.env["S3_ENDPOINT"], {"error_rate": 0.3, "errors": ["SlowDown", 500],
                                                  "seed": 7}) as proxy:
            r = run("vault-check", *s3_args(self.env, self.prefix, proxy.url), "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)


class FileVaultCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-vc-")
        self.vault = os.path.join(self.dir, "vault")

    def tearDown(self):
        SECRETS.collect_dir(self.vault)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_init_without_any_server(self):
        r = run("vault-check", "--url", f"file://{self.vault}", "--init",
                env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        with open(os.path.join(self.vault, "cairn-vault.json")) as f:
            info = json.load(f)
        self.assertEqual(info["format_version"], "1.0")
        with open(os.path.join(self.vault, "vault-status.json")) as f:
            self.assertEqual(json.load(f)["phase"], "Available")
        self.assertFalse(os.listdir(os.path.join(self.vault, ".cairn-probe"))
                         if os.path.isdir(os.path.join(self.vault, ".cairn-probe")) else [])

    def test_unusable_directory_is_unavailable_not_a_usage_error(self):
        r = run("vault-check", "--url", "file:///proc/cairn-cannot-create", "--output", "json")
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Unavailable")
        self.assertEqual(status["checks"][0]["name"], "endpoint")
        self.assertIn("/proc/cairn-cannot-create", status["message"])

    def test_file_vault_is_private(self):
        r = run("vault-check", "--url", f"file://{self.vault}", "--init")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(os.stat(self.vault).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(self.vault, "cairn-vault.json")).st_mode & 0o777,
                         0o600)

    def test_newer_format_is_refused(self):
        os.makedirs(self.vault)
        with open(os.path.join(self.vault, "cairn-vault.json"), "w") as f:
            json.dump({"format_version": "2.0", "vault_id": "x", "created": "2026-01-01T00:00:00Z",
                       "created_by": "cairn 9", "encryption": {"mode": "none"}}, f)
        r = run("vault-check", "--url", f"file://{self.vault}")
        self.assertEqual(r.code, 1, r)
        self.assertIn("vault format 2.0 is newer than this cairn understands (1.x)", r.all)

    def test_foreign_prefixes_are_warnings(self):
        os.makedirs(os.path.join(self.vault, "someone-else"))
        with open(os.path.join(self.vault, "someone-else", "data"), "w") as f:
            f.write("x")
        r = run("vault-check", "--url", f"file://{self.vault}", "--init", "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        foreign = [c for c in status["checks"] if c["name"] == "foreign-prefixes"][0]
        self.assertEqual(foreign["result"], "warning")
        self.assertIn("someone-else/", foreign["message"])

    def test_bad_invocation_exits_2(self):
        r = run("vault-check", "--edpoint", "http://x")
        self.assertEqual(r.code, 2, r)
        self.assertIn("did you mean '--endpoint'", r.err)
        r = run("vault-check")
        self.assertEqual(r.code, 2, r)
        self.assertIn("no vault given", r.err)

    def test_bad_config_names_file_and_line(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write('[vaults.main]\nurl = "file:///tmp/x"\nregion = 5\n')
        r = run("vault-check", "--config", cfg)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f"{cfg}:3:", r.err)
        self.assertIn("vaults.main.region", r.err)

    def test_config_vault_by_name(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.local]\nurl = "file://{self.vault}"\n')
        r = run("vault-check", "--config", cfg, "--vault", "local", "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)

    def write_backup(self, name, phase, complete, start, forged=False):
        d = os.path.join(self.vault, "backups", name)
        os.makedirs(d)
        with open(os.path.join(d, "status.json"), "w") as f:
            json.dump(status_doc(name, phase, start), f)
        data = b"x" * 3000
        with open(os.path.join(d, "resources.tar.zst"), "wb") as f:
            f.write(data)
        if complete:
            manifest = sealed_manifest(name, {"resources.tar.zst": data}, start)
            with open(os.path.join(d, "manifest.json"), "wb") as f:
                f.write(forge(manifest) if forged else manifest)

    def test_list_shows_complete_and_incomplete_backups(self):
        self.assertEqual(run("vault-check", "--url", f"file://{self.vault}", "--init").code, 0)
        self.write_backup("shop-20261101000000", "Completed", True, "2026-11-01T00:00:00Z")
        self.write_backup("shop-20261102000000", "InProgress", False, "2026-11-02T00:00:00Z")
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        backups = {b["name"]: b for b in r.json()["backups"]}
        self.assertEqual(set(backups), {"shop-20261101000000", "shop-20261102000000"})
        done = backups["shop-20261101000000"]
        self.assertTrue(done["complete"])
        self.assertTrue(done["restorable"])
        self.assertEqual(done["state"], "Complete")
        self.assertEqual(done["phase"], "Completed")
        self.assertGreaterEqual(done["size"], 3000)
        partial = backups["shop-20261102000000"]
        self.assertFalse(partial["complete"])
        self.assertFalse(partial["restorable"])
        self.assertEqual(partial["state"], "Incomplete")
        self.assertEqual(partial["phase"], "InProgress")
        self.assertRegex(partial["reason"], r"^abandoned: InProgress, last heartbeat \d+h")
        r = run("vault-check", "--url", f"file://{self.vault}", "--list")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"shop-20261101000000\s+Complete\s+Completed\s")
        self.assertRegex(r.out, r"shop-20261102000000\s+Incomplete\s+InProgress\s.*abandoned")
        self.assertIn("no pending uploads under the bucket", r.out)
        # vault-check counts the backups it sees.
        r = run("vault-check", "--url", f"file://{self.vault}", "--output", "json")
        self.assertEqual(r.json()["counts"]["backups"], 2)

    def test_list_shows_a_forged_manifest_as_unreadable(self):
        self.assertEqual(run("vault-check", "--url", f"file://{self.vault}", "--init").code, 0)
        self.write_backup("shop-20261103000000", "Completed", True, "2026-11-03T00:00:00Z",
                          forged=True)
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        [b] = r.json()["backups"]
        self.assertEqual(b["state"], "Unreadable")
        self.assertFalse(b["restorable"])
        self.assertIn("manifest checksum mismatch for backup 'shop-20261103000000'", b["reason"])

    def test_list_counts_an_abandoned_upload_with_its_bytes(self):
        self.assertEqual(run("vault-check", "--url", f"file://{self.vault}", "--init").code, 0)
        # What a file vault's interrupted stream leaves: the data so far and its key's sidecar.
        tmp = os.path.join(self.vault, ".cairn-tmp")
        os.makedirs(tmp, exist_ok=True)
        with open(os.path.join(tmp, "abc123"), "wb") as f:
            f.write(b"d" * 4096)
        with open(os.path.join(tmp, "abc123.key"), "w") as f:
            f.write("backups/gone/resources.tar.zst")
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        pending = r.json()["pendingUploads"]
        self.assertEqual((pending["count"], pending["bytes"]), (1, 4096), pending)
        self.assertEqual(pending["uploads"][0]["backup"], "gone")

    def test_malformed_endpoint_is_an_invocation_error(self):
        url = ["--url", "s3://bucket/x"]
        r = run("vault-check", *url, "--endpoint", "http://minio:99999")
        self.assertEqual(r.code, 2, r)
        self.assertIn("--endpoint: invalid endpoint url 'http://minio:99999': port 99999 is not "
                      "from 1 to 65535", r.err)
        r = run("vault-check", *url, env={"AWS_ENDPOINT_URL": "http://minio:9000/s3"})
        self.assertEqual(r.code, 2, r)
        self.assertIn("AWS_ENDPOINT_URL: invalid endpoint url 'http://minio:9000/s3': an "
                      "endpoint has no path, query or fragment", r.err)
        r = run("vault-check", *url, env={"AWS_ENDPOINT_URL": "http://key:s3cr3t@minio:9000"})
        self.assertEqual(r.code, 2, r)
        self.assertIn("AWS_ENDPOINT_URL: invalid endpoint url: it carries credentials", r.err)
        self.assertNotIn("s3cr3t", r.all)
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write('[vaults.main]\nurl = "s3://bucket/x"\nendpoint = "https://minio:9000?x=1"\n')
        r = run("vault-check", "--config", cfg)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f"{cfg}:3:1: vaults.main.endpoint: invalid endpoint url", r.err)

    def test_unreadable_kubeconfig_key_is_an_invocation_error(self):
        kubeconfig = os.path.join(self.dir, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: https://k:6443}\n"
                    "users:\n- name: u\n  user:\n    client-certificate-data: LS0tLS1CRUdJTg==\n"
                    "    client-key: /x/y\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n"
                    "current-context: c\n")
        r = run("vault-check", "--url", f"file://{self.vault}", "--kubeconfig", kubeconfig)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f"kubeconfig '{kubeconfig}': users[0].user.client-key: cannot read '/x/y': "
                      "No such file or directory", r.err)
        r = run("backup-run", "--url", f"file://{self.vault}", "--name", "b1",
                "--kubeconfig", kubeconfig)
        self.assertEqual(r.code, 2, r)
        self.assertIn("users[0].user.client-key: cannot read '/x/y'", r.err)

    def test_config_values_that_cannot_work_are_refused_where_written(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        long_policy = "p" * 49
        with open(cfg, "w") as f:
            f.write(f'[vaults.main]\nurl = "file://{self.vault}"\n\n[policies.{"p" * 48}]\n'
                    f'ttl = "99999999999h"\n\n[policies.{long_policy}]\n')
        r = run("vault-check", "--config", cfg)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f'{cfg}:5:1: policies.{"p" * 48}.ttl: invalid duration \'99999999999h\': '
                      "too large", r.err)
        self.assertNotIn("positive", r.err)
        self.assertIn(f"{cfg}:7:11: policies.{long_policy}: invalid policy name '{long_policy}': "
                      "49 characters is too long (at most 48)", r.err)

    def test_help_and_version(self):
        r = run("vault-check", "--help")
        self.assertEqual(r.code, 0, r)
        for flag in ["--url", "--vault", "--endpoint", "--init", "--list", "--output"]:
            self.assertIn(flag, r.out)
        r = run("vault-check", "--version")
        self.assertEqual(r.code, 0, r)
        self.assertIn("cairn", r.out)


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("vault_check_test")


if __name__ == "__main__":
    unittest.main()
